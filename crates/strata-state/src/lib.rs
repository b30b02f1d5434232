//! # strata-state
//!
//! StrataDB's state cells: named, versioned values for coordination — counters, flags,
//! leases — with create-if-absent ([`init`]) and compare-and-swap ([`cas`]) on the
//! cell's commit version. Every function takes a [`VersionedStore`] (`&dyn` to read,
//! `&mut dyn` to write), so the same calls work in an explicit transaction and inside
//! [`Database::transact`] (auto-commit).
//!
//! ```
//! use strata_state::{CasOutcome, InitOutcome};
//! use strata_storage::{Database, Value};
//! let db = Database::open_temporary()?;
//! let scope = db.default_scope();
//!
//! let (created, v1) = db.transact(|t| Ok(strata_state::init(t, &scope, "counter", Value::Int(0))?))?;
//! assert_eq!(created, InitOutcome::Created);
//! let (again, _) = db.transact(|t| Ok(strata_state::init(t, &scope, "counter", Value::Int(9))?))?;
//! assert_eq!(again, InitOutcome::Exists { version: v1 });
//!
//! // Swap only if nobody changed the cell since version v1.
//! let cas = |expected| {
//!     db.transact(|t| Ok(strata_state::cas(t, &scope, "counter", Value::Int(1), expected)?))
//! };
//! let (first, v2) = cas(Some(v1))?;
//! assert_eq!(first, CasOutcome::Swapped);
//! let (stale, _) = cas(Some(v1))?;
//! assert_eq!(stale, CasOutcome::Mismatch { current: Some(v2) });
//! assert_eq!(strata_state::get(&db.read(), &scope, "counter")?, Some(Value::Int(1)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## API at a glance
//!
//! | function | returns | cost |
//! |---|---|---|
//! | [`set`]`(store, scope, cell, value)` | `()` | one buffered write |
//! | [`get`] / [`get_versioned`] | `Option<Value>` / `Option<Versioned>` | one point lookup |
//! | [`get_as_of`]`(.., ts)` | `Option<Versioned>` | short range scan |
//! | [`history`] | `Vec<HistoryEntry>`, newest first, deletes as `value: None` | all versions of the cell |
//! | [`delete`] | `bool`: whether the cell existed | lookup + buffered write |
//! | [`list`]`(.., prefix)` | `Vec<String>` ascending | cells under the prefix |
//! | [`init`]`(.., value)` | [`InitOutcome`]: `Created` or `Exists { version }` | lookup + at most one write |
//! | [`cas`]`(.., new_value, expected_version)` | [`CasOutcome`]: `Swapped` or `Mismatch { current }` | lookup + at most one write |
//!
//! The version of a write is the version of the commit that carries it
//! ([`Database::transact`] returns it). A failed [`cas`] or an `Exists` [`init`] writes
//! nothing, so its `transact` creates no commit. CAS inside transactions: see below.
//!
//! Cell names: non-empty, any Unicode except NUL, at most [`MAX_CELL_NAME_LEN`] bytes
//! ([`validate_cell_name`]); anything else is [`StateError::InvalidCellName`].
//!
//! ## Versions and compare-and-swap
//!
//! A cell's version is the commit version of its last write as seen by the store
//! passed in (inside a transaction: the snapshot's committed version). Two
//! transactions that CAS the same cell from the same version both write the cell, so
//! the engine lets only the first commit; [`Database::transact`] retries the other
//! from a fresh snapshot, where its comparison fails and it writes nothing. A cell
//! written earlier in the same uncommitted transaction reports version `0`.
//!
//! ## Layout
//!
//! Tag [`tags::STATE`]; storage key = the cell name's UTF-8 bytes; stored value = the
//! [`Value`] as given.
//!
//! [`Value`]: strata_storage::Value
//! [`VersionedStore`]: strata_storage::VersionedStore
//! [`Database::transact`]: strata_storage::Database::transact
//! [`Versioned`]: strata_storage::Versioned
//! [`HistoryEntry`]: strata_storage::HistoryEntry
//! [`tags::STATE`]: strata_storage::tags::STATE

mod error;
mod name;
mod ops;
mod primitive;

pub use error::{Result, StateError};
pub use name::{validate_cell_name, MAX_CELL_NAME_LEN};
pub use ops::{
    cas, delete, get, get_as_of, get_value, get_versioned, history, init, list, set, CasOutcome,
    InitOutcome,
};
pub use primitive::{StatePrimitive, PRIMITIVE_NAME};
