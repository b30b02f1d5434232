//! The KV operations, written against [`VersionedStore`] only.
//!
//! Layout (fixed; other crates such as search read it): tag [`tags::KV`], storage key =
//! the UTF-8 bytes of the user key, stored value = the user's [`Value`] unchanged.

use crate::error::{KvError, Result};
use crate::key::validate_key;
use strata_storage::{
    tags, CommitVersion, Database, HistoryEntry, Scope, StoredValue, Timestamp, Value, Versioned,
    VersionedStore,
};

/// One page of keys from [`list_paginated`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPage {
    /// Keys in ascending byte order.
    pub keys: Vec<String>,
    /// Pass back as `cursor` to get the next page; `None` when there are no more keys.
    /// The cursor is the last key of this page, so the next page starts strictly after
    /// it: keys inserted or deleted meanwhile never make a page repeat or skip a key
    /// that existed through both calls.
    pub cursor: Option<String>,
}

fn key_string(raw: Vec<u8>) -> Result<String> {
    String::from_utf8(raw).map_err(|e| {
        KvError::Corrupt(format!(
            "stored key is not UTF-8: {:?}",
            String::from_utf8_lossy(e.as_bytes())
        ))
    })
}

/// Stores `value` under `key`, replacing any previous value (the old one stays in
/// [`history`]). The write is buffered in `store` and gets its version when the
/// enclosing transaction commits. Cost: one buffered write.
pub fn put(store: &mut dyn VersionedStore, scope: &Scope, key: &str, value: Value) -> Result<()> {
    validate_key(key)?;
    store.put(scope, tags::KV, key.as_bytes(), value)?;
    Ok(())
}

/// Sets `key` to `value` as a commit of its own, without a transaction (see
/// [`Database::put_committed`]: the write wins over concurrent ones, as a
/// transaction holding only this put would), and returns the commit's version.
/// Cost: one commit, a little less than [`put`] in a transaction of its own.
pub fn put_committed(
    db: &Database,
    scope: &Scope,
    key: &str,
    value: Value,
) -> Result<CommitVersion> {
    validate_key(key)?;
    Ok(db.put_committed(scope, tags::KV, key.as_bytes(), value)?)
}

/// The current value of `key`, or `None` if it is missing or deleted. Sees the
/// store's own uncommitted writes. Cost: one point lookup.
pub fn get(store: &dyn VersionedStore, scope: &Scope, key: &str) -> Result<Option<Value>> {
    Ok(get_versioned(store, scope, key)?.map(|v| v.value))
}

/// The current value of `key` as the store holds it: still encoded when it comes
/// straight from the stored record (see [`StoredValue`]), for callers that build their
/// own representation of it, such as the Python binding. Cost: one point lookup, no
/// decode.
pub fn get_value(
    store: &dyn VersionedStore,
    scope: &Scope,
    key: &str,
) -> Result<Option<StoredValue>> {
    validate_key(key)?;
    Ok(store.get_value(scope, tags::KV, key.as_bytes())?)
}

/// The current value of `key` with the version and timestamp of the commit that wrote
/// it, or `None`. A value written earlier in the same uncommitted transaction reports
/// version 0 and timestamp 0. Cost: one point lookup.
pub fn get_versioned(
    store: &dyn VersionedStore,
    scope: &Scope,
    key: &str,
) -> Result<Option<Versioned>> {
    validate_key(key)?;
    Ok(store.get(scope, tags::KV, key.as_bytes())?)
}

/// The value `key` had at commit timestamp `ts` (µs since the epoch): the newest
/// committed version with timestamp `<= ts`, or `None` if the key did not exist or was
/// deleted then. Ignores uncommitted writes. Cost: a short range scan over the key's
/// versions.
pub fn get_as_of(
    store: &dyn VersionedStore,
    scope: &Scope,
    key: &str,
    ts: Timestamp,
) -> Result<Option<Versioned>> {
    validate_key(key)?;
    Ok(store.get_as_of(scope, tags::KV, key.as_bytes(), ts)?)
}

/// Every committed version of `key`, **newest first**; deletes appear as entries with
/// `value: None`. Empty if the key was never written. Cost: a range scan over all of
/// the key's versions.
pub fn history(store: &dyn VersionedStore, scope: &Scope, key: &str) -> Result<Vec<HistoryEntry>> {
    validate_key(key)?;
    Ok(store.history(scope, tags::KV, key.as_bytes())?)
}

/// Deletes `key`; returns whether it existed (had a live value visible to `store`).
/// Deleting a missing key writes nothing. Cost: one point lookup and one buffered
/// write.
pub fn delete(store: &mut dyn VersionedStore, scope: &Scope, key: &str) -> Result<bool> {
    validate_key(key)?;
    Ok(store.delete(scope, tags::KV, key.as_bytes())?)
}

/// All live keys starting with `prefix` (`""` for all), ascending by bytes. Cost:
/// proportional to the keys under the prefix; use [`list_paginated`] for large sets.
pub fn list(store: &dyn VersionedStore, scope: &Scope, prefix: &str) -> Result<Vec<String>> {
    Ok(list_paginated(store, scope, prefix, None, None)?.keys)
}

/// Up to `limit` live keys starting with `prefix`, ascending, strictly after `cursor`
/// (a [`KeyPage::cursor`] from the previous page, or any key). `limit: None` returns
/// all remaining keys. Cost: proportional to `limit` (plus inherited keys on forked
/// branches, which the engine merges).
///
/// Fails with [`KvError::InvalidArgument`] when `limit` is `Some(0)`.
pub fn list_paginated(
    store: &dyn VersionedStore,
    scope: &Scope,
    prefix: &str,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<KeyPage> {
    if limit == Some(0) {
        return Err(KvError::InvalidArgument(
            "page limit must be at least 1".into(),
        ));
    }
    // A cursor sorting before the prefix means "from the start of the prefix"; the
    // engine's scan expects `after` inside or past the prefix range.
    let after = cursor.filter(|c| *c >= prefix).map(str::as_bytes);
    let page = store.scan(scope, tags::KV, prefix.as_bytes(), after, limit)?;
    let keys = page
        .entries
        .into_iter()
        .map(|(k, _)| key_string(k))
        .collect::<Result<Vec<_>>>()?;
    let cursor = page.next_after.map(key_string).transpose()?;
    Ok(KeyPage { keys, cursor })
}
