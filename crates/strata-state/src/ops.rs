//! The state-cell operations, written against [`VersionedStore`] only.
//!
//! Layout (fixed; other crates such as search read it): tag [`tags::STATE`], storage
//! key = the UTF-8 bytes of the cell name, stored value = the user's [`Value`]
//! unchanged.
//!
//! # Versions and compare-and-swap
//!
//! A cell's version is the [`CommitVersion`] of the commit that last wrote it, as seen
//! by the store passed in: inside a transaction that is the snapshot's committed
//! version. Conditional writes ([`init`], [`cas`]) read that version and write only if
//! it matches; the engine's write-write conflict detection then guarantees that of two
//! transactions racing on the same cell only one commits. [`Database::transact`]
//! retries the loser from a fresh snapshot, where it sees the winner's version and
//! reports a mismatch or "exists" without writing.
//!
//! A cell written earlier in the same, still uncommitted transaction has no commit
//! version yet and reports version `0` (as [`get_versioned`] shows it); a CAS against
//! it matches only `Some(CommitVersion(0))`.
//!
//! [`Database::transact`]: strata_storage::Database::transact

use crate::error::{Result, StateError};
use crate::name::validate_cell_name;
use strata_storage::{
    tags, CommitVersion, HistoryEntry, Scope, StoredValue, Timestamp, Value, Versioned,
    VersionedStore,
};

/// What [`init`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitOutcome {
    /// The cell did not exist and the value was written; its version is the version
    /// of the commit that carries this write.
    Created,
    /// The cell already existed; nothing was written.
    Exists {
        /// The existing value's version (`0` if written earlier in the same
        /// uncommitted transaction).
        version: CommitVersion,
    },
}

impl InitOutcome {
    /// Whether this call created the cell.
    pub fn created(&self) -> bool {
        matches!(self, InitOutcome::Created)
    }
}

/// What [`cas`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasOutcome {
    /// The version matched and the new value was written; its version is the version
    /// of the commit that carries this write.
    Swapped,
    /// The version did not match; nothing was written.
    Mismatch {
        /// The cell's actual version, `None` if it does not exist.
        current: Option<CommitVersion>,
    },
}

impl CasOutcome {
    /// Whether the swap happened.
    pub fn swapped(&self) -> bool {
        matches!(self, CasOutcome::Swapped)
    }
}

fn name_string(raw: Vec<u8>) -> Result<String> {
    String::from_utf8(raw).map_err(|e| {
        StateError::Corrupt(format!(
            "stored cell name is not UTF-8: {:?}",
            String::from_utf8_lossy(e.as_bytes())
        ))
    })
}

/// Sets `cell` to `value` unconditionally, creating it if needed (the old value stays
/// in [`history`]). Cost: one buffered write.
pub fn set(store: &mut dyn VersionedStore, scope: &Scope, cell: &str, value: Value) -> Result<()> {
    validate_cell_name(cell)?;
    store.put(scope, tags::STATE, cell.as_bytes(), value)?;
    Ok(())
}

/// The current value of `cell`, or `None` if it does not exist. Cost: one point lookup.
pub fn get(store: &dyn VersionedStore, scope: &Scope, cell: &str) -> Result<Option<Value>> {
    Ok(get_versioned(store, scope, cell)?.map(|v| v.value))
}

/// The current value of `cell` as the store holds it: still encoded when it comes
/// straight from the stored record (see [`StoredValue`]), for callers that build their
/// own representation of it, such as the Python binding. Cost: one point lookup, no
/// decode.
pub fn get_value(
    store: &dyn VersionedStore,
    scope: &Scope,
    cell: &str,
) -> Result<Option<StoredValue>> {
    validate_cell_name(cell)?;
    Ok(store.get_value(scope, tags::STATE, cell.as_bytes())?)
}

/// The current value of `cell` with its version and commit timestamp, or `None`. A
/// value written earlier in the same uncommitted transaction reports version 0 and
/// timestamp 0. Cost: one point lookup.
pub fn get_versioned(
    store: &dyn VersionedStore,
    scope: &Scope,
    cell: &str,
) -> Result<Option<Versioned>> {
    validate_cell_name(cell)?;
    Ok(store.get(scope, tags::STATE, cell.as_bytes())?)
}

/// The value `cell` had at commit timestamp `ts` (µs since the epoch): the newest
/// committed version with timestamp `<= ts`, or `None` if it did not exist or was
/// deleted then. Ignores uncommitted writes. Cost: a short range scan over the cell's
/// versions.
pub fn get_as_of(
    store: &dyn VersionedStore,
    scope: &Scope,
    cell: &str,
    ts: Timestamp,
) -> Result<Option<Versioned>> {
    validate_cell_name(cell)?;
    Ok(store.get_as_of(scope, tags::STATE, cell.as_bytes(), ts)?)
}

/// Every committed version of `cell`, **newest first**; deletes appear as entries with
/// `value: None`. Empty if the cell was never written. Cost: a range scan over all of
/// the cell's versions.
pub fn history(store: &dyn VersionedStore, scope: &Scope, cell: &str) -> Result<Vec<HistoryEntry>> {
    validate_cell_name(cell)?;
    Ok(store.history(scope, tags::STATE, cell.as_bytes())?)
}

/// Deletes `cell`; returns whether it existed. Deleting a missing cell writes nothing.
/// After a delete, [`init`] and `cas(.., None)` can create the cell again. Cost: one
/// point lookup and one buffered write.
pub fn delete(store: &mut dyn VersionedStore, scope: &Scope, cell: &str) -> Result<bool> {
    validate_cell_name(cell)?;
    Ok(store.delete(scope, tags::STATE, cell.as_bytes())?)
}

/// Names of all existing cells starting with `prefix` (`""` for all), ascending by
/// bytes. Cost: proportional to the cells under the prefix.
pub fn list(store: &dyn VersionedStore, scope: &Scope, prefix: &str) -> Result<Vec<String>> {
    store
        .scan(scope, tags::STATE, prefix.as_bytes(), None, None)?
        .entries
        .into_iter()
        .map(|(k, _)| name_string(k))
        .collect()
}

/// Creates `cell` with `value` only if it does not exist. Returns
/// [`InitOutcome::Created`] after writing, or [`InitOutcome::Exists`] with the existing
/// version and writes nothing. A deleted cell counts as absent. Two racing inits
/// through [`Database::transact`](strata_storage::Database::transact): exactly one
/// creates, the other sees `Exists`. Cost: one point lookup, at most one buffered
/// write.
pub fn init(
    store: &mut dyn VersionedStore,
    scope: &Scope,
    cell: &str,
    value: Value,
) -> Result<InitOutcome> {
    validate_cell_name(cell)?;
    match store.get(scope, tags::STATE, cell.as_bytes())? {
        Some(existing) => Ok(InitOutcome::Exists {
            version: existing.version,
        }),
        None => {
            store.put(scope, tags::STATE, cell.as_bytes(), value)?;
            Ok(InitOutcome::Created)
        }
    }
}

/// Compare-and-swap: writes `new_value` only if the cell's current version equals
/// `expected_version`, where `None` means "the cell must not exist" (never written, or
/// deleted). On a mismatch nothing is written and [`CasOutcome::Mismatch`] carries the
/// actual version. See the module docs for how versions behave inside a transaction
/// and under races. Cost: one point lookup, at most one buffered write.
pub fn cas(
    store: &mut dyn VersionedStore,
    scope: &Scope,
    cell: &str,
    new_value: Value,
    expected_version: Option<CommitVersion>,
) -> Result<CasOutcome> {
    validate_cell_name(cell)?;
    let current = store.get_version(scope, tags::STATE, cell.as_bytes())?;
    if current != expected_version {
        return Ok(CasOutcome::Mismatch { current });
    }
    store.put(scope, tags::STATE, cell.as_bytes(), new_value)?;
    Ok(CasOutcome::Swapped)
}
