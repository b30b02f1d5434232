//! # strata-storage
//!
//! StrataDB's storage engine: a versioned, transactional, branchable key-value engine on
//! [fjall](https://docs.rs/fjall). Every primitive (KV, state cells, events, JSON,
//! vectors) stores its data through the [`VersionedStore`] trait defined here.
//!
//! - **Versions**: every commit gets a strictly increasing [`CommitVersion`] and a
//!   strictly increasing timestamp (µs). History lives in our own key layout, so it
//!   survives reopen exactly and `as_of` reads work across restarts.
//! - **Transactions**: snapshot isolation, buffered writes, optimistic first-committer-
//!   wins conflict detection ([`Transaction`]).
//! - **Branches** fork in O(1) by sharing the parent's data up to the fork version;
//!   **spaces** partition a branch.
//! - **Durability** is chosen per database ([`Durability`]).
//!
//! ```
//! use strata_storage::{Database, VersionedStore, tags, Value};
//! let db = Database::open_temporary()?;
//! let scope = db.default_scope();
//! let (_, v1) = db.transact(|t| t.put(&scope, tags::KV, b"greeting", Value::from("hi")))?;
//! let (_, _v2) = db.transact(|t| t.put(&scope, tags::KV, b"greeting", Value::from("hello")))?;
//! let snap = db.read();
//! assert_eq!(snap.get(&scope, tags::KV, b"greeting")?.unwrap().value, Value::from("hello"));
//! let first = snap.history(&scope, tags::KV, b"greeting")?.pop().unwrap();
//! assert_eq!(first.version, v1);
//! # Ok::<(), strata_storage::StorageError>(())
//! ```
#![doc = "See `ARCHITECTURE.md` at the repository root for the on-disk layout."]

mod branch;
mod bundle;
mod cache;
mod catalog;
mod changes;
mod engine;
mod error;
mod filter;
mod journal;
mod keys;
mod pending;
mod primitive;
mod record;
mod store;
mod txn;
mod value;
mod varint;

pub use branch::{BranchDiff, DiffEntry, DiffKind, MergeOutcome, MergeStrategy};
pub use bundle::{BundleInfo, ExportSummary, ImportSummary, BUNDLE_FORMAT_VERSION};
pub use catalog::{
    validate_name, BranchInfo, BranchStats, DEFAULT_BRANCH, DEFAULT_SPACE, MAX_NAME_LEN,
};
pub use engine::{
    default_background_threads, now_micros, Database, DatabaseOptions, Durability, TRANSACT_RETRIES,
};
pub use error::{Result, StorageError};
pub use primitive::{
    tags, CatalogEvent, ChangedKey, CommitObserver, CommittedChange, Primitive, PrimitiveRegistry,
};
pub use store::{
    BranchId, CommitVersion, EncodedValue, HistoryEntry, PrimitiveTag, ScanPage, Scope,
    StoredValue, Timestamp, Versioned, VersionedStore,
};
pub use txn::{Transaction, MAX_KEY_BYTES};
pub use value::{Value, ValueBuilder, ValueDecodeError, MAX_NESTING, VALUE_FORMAT_VERSION};
