//! # strata-kv
//!
//! StrataDB's key-value primitive: string keys mapped to [`Value`]s, with full version
//! history, time travel and cursor pagination. Every function takes a
//! [`VersionedStore`] (`&dyn` to read, `&mut dyn` to write), so the same calls work in
//! an explicit transaction and inside [`Database::transact`] (auto-commit). Writes
//! return `()` or a semantic result; the commit version comes from the commit.
//!
//! ```
//! use strata_storage::{Database, Value};
//! let db = Database::open_temporary()?;
//! let scope = db.default_scope();
//!
//! let (_, v1) = db.transact(|t| Ok(strata_kv::put(t, &scope, "user:1", Value::from("Ada"))?))?;
//! let (existed, _) = db.transact(|t| Ok(strata_kv::delete(t, &scope, "user:1")?))?;
//! assert!(existed);
//!
//! let snap = db.read();
//! assert_eq!(strata_kv::get(&snap, &scope, "user:1")?, None);
//! let history = strata_kv::history(&snap, &scope, "user:1")?; // newest first
//! assert_eq!(history.len(), 2);
//! assert_eq!(history[0].value, None); // the delete
//! assert_eq!(history[1].version, v1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `transact` closures return [`StorageError`]; `?` converts a [`KvError`] into it
//! (see the `From` impl on [`KvError`]).
//!
//! ## API at a glance
//!
//! | function | returns | cost |
//! |---|---|---|
//! | [`put`]`(store, scope, key, value)` | `()` | one buffered write |
//! | [`get`] / [`get_versioned`] | `Option<Value>` / `Option<Versioned>` | one point lookup |
//! | [`get_as_of`]`(.., ts)` | `Option<Versioned>` | short range scan |
//! | [`history`] | `Vec<HistoryEntry>`, newest first, deletes as `value: None` | all versions of the key |
//! | [`delete`] | `bool`: whether the key existed | lookup + buffered write |
//! | [`list`]`(.., prefix)` | `Vec<String>` ascending | keys under the prefix |
//! | [`list_paginated`]`(.., prefix, limit, cursor)` | [`KeyPage`] `{ keys, cursor }` | `limit` keys |
//!
//! Keys: non-empty, any Unicode except NUL, at most [`MAX_KEY_LEN`] bytes
//! ([`validate_key`]); anything else is [`KvError::InvalidKey`].
//!
//! ## Layout
//!
//! Tag [`tags::KV`]; storage key = the key's UTF-8 bytes; stored value = the [`Value`]
//! as given. The search crate reads this layout directly.
//!
//! ## It is not…
//!
//! - a place for secondary indexes: listing is by key prefix only;
//! - transactional on its own: atomicity and conflicts come from the enclosing
//!   [`strata_storage::Transaction`].
//!
//! [`Value`]: strata_storage::Value
//! [`VersionedStore`]: strata_storage::VersionedStore
//! [`Database::transact`]: strata_storage::Database::transact
//! [`StorageError`]: strata_storage::StorageError
//! [`Versioned`]: strata_storage::Versioned
//! [`HistoryEntry`]: strata_storage::HistoryEntry
//! [`tags::KV`]: strata_storage::tags::KV

mod error;
mod key;
mod ops;
mod primitive;

pub use error::{KvError, Result};
pub use key::{validate_key, MAX_KEY_LEN};
pub use ops::{
    delete, get, get_as_of, get_value, get_versioned, history, list, list_paginated, put,
    put_committed, KeyPage,
};
pub use primitive::{KvPrimitive, PRIMITIVE_NAME};
