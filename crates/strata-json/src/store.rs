//! JSON documents in a [`VersionedStore`]: one versioned record per document.
//!
//! # Layout (fixed: the search crate reads it)
//!
//! A document lives under tag [`tags::JSON`], in the caller's [`Scope`], at the key's
//! UTF-8 bytes. The stored value is the whole document as a [`Value`]. Every change
//! reads the document, applies the path operation in memory and writes the whole new
//! document as one new version, so history and time travel work per document.
//! Deleting the document (path `$`) writes a tombstone.
//!
//! Concurrency: a path write reads the document and writes it back in the same
//! transaction, so two transactions changing the same document concurrently both
//! write its key and the engine's write-write conflict check rejects the second
//! committer (no lost update); retry it, e.g. with `Database::transact`.

use crate::error::{a_type, JsonError};
use crate::eval;
use strata_storage::{
    tags, CommitVersion, Database, HistoryEntry, Primitive, PrimitiveTag, Scope, Timestamp, Value,
    Versioned, VersionedStore, MAX_NESTING,
};

/// Longest accepted document key, in bytes (UTF-8).
pub const MAX_KEY_LEN: usize = 1024;

/// Checks a document key: non-empty, at most [`MAX_KEY_LEN`] bytes, no NUL byte.
pub fn validate_key(key: &str) -> Result<(), JsonError> {
    if key.is_empty() {
        return Err(JsonError::InvalidKey("the key is empty".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(JsonError::InvalidKey(format!(
            "the key is {} bytes long; the limit is {MAX_KEY_LEN}",
            key.len()
        )));
    }
    if key.contains('\0') {
        return Err(JsonError::InvalidKey("the key contains a NUL byte".into()));
    }
    Ok(())
}

/// A whole document must be an object or an array, nested at most [`MAX_NESTING`]
/// levels.
fn check_root(value: &Value) -> Result<(), JsonError> {
    if !matches!(value, Value::Object(_) | Value::Array(_)) {
        return Err(JsonError::InvalidRoot {
            found: a_type(value),
        });
    }
    if value.depth() > MAX_NESTING {
        return Err(JsonError::TooDeep { path: "$".into() });
    }
    Ok(())
}

/// The JSON document operations. A zero-sized namespace: every function takes the
/// store view (usually a transaction) and the scope.
///
/// Costs: each call reads at most one document; writes encode and store the whole
/// document, so they cost O(document size) whatever the path.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonStore;

impl JsonStore {
    /// Writes `value` at `path` in the document `key`.
    ///
    /// - Path `$` replaces (or creates) the whole document, which must be an object or
    ///   an array ([`JsonError::InvalidRoot`] otherwise).
    /// - Any other path on a missing document first creates an empty object, then
    ///   applies the write (so `$.a` creates `{"a": value}` and `$[0]` is a type
    ///   mismatch).
    /// - Otherwise the rules of [`crate::set`] apply.
    ///
    /// Writes the whole new document as one new version.
    pub fn set(
        store: &mut dyn VersionedStore,
        scope: &Scope,
        key: &str,
        path: &str,
        value: Value,
    ) -> Result<(), JsonError> {
        validate_key(key)?;
        let path = JsonError::parse_path(path)?;
        let doc = if path.is_root() {
            check_root(&value)?;
            value
        } else {
            let mut doc = load(store, scope, key)?
                .map(|v| v.value)
                .unwrap_or_else(|| Value::Object(Default::default()));
            eval::set(&mut doc, &path, value)?;
            doc
        };
        store.put(scope, tags::JSON, key.as_bytes(), doc)?;
        Ok(())
    }

    /// Replaces (or creates) the whole document `key` with `value` as a commit of its
    /// own, without a transaction, and returns the commit's version: `set` at path
    /// `$` needs no read, so it is a blind write (see [`Database::put_committed`]; it
    /// wins over concurrent writes of the document, as a transaction holding only this
    /// write would). `value` must be an object or an array, as for `set`. Cost: one
    /// commit, without a transaction's write buffer or a copy of the document kept
    /// for retries.
    pub fn set_root_committed(
        db: &Database,
        scope: &Scope,
        key: &str,
        value: Value,
    ) -> Result<CommitVersion, JsonError> {
        validate_key(key)?;
        check_root(&value)?;
        Ok(db.put_committed(scope, tags::JSON, key.as_bytes(), value)?)
    }

    /// Reads `path` from the latest version of document `key` (this view's own
    /// uncommitted writes included). `None` when the document does not exist; see
    /// [`crate::get`] for what a path returns.
    pub fn get(
        store: &dyn VersionedStore,
        scope: &Scope,
        key: &str,
        path: &str,
    ) -> Result<Option<Value>, JsonError> {
        validate_key(key)?;
        let path = JsonError::parse_path(path)?;
        Ok(load(store, scope, key)?.and_then(|d| eval::get(&d.value, &path)))
    }

    /// Like [`JsonStore::get`], on the document as it was at commit timestamp `ts`
    /// (microseconds since the Unix epoch): the newest version committed at or before
    /// `ts`. `None` if the document did not exist then (or was deleted).
    pub fn get_as_of(
        store: &dyn VersionedStore,
        scope: &Scope,
        key: &str,
        path: &str,
        ts: Timestamp,
    ) -> Result<Option<Value>, JsonError> {
        validate_key(key)?;
        let path = JsonError::parse_path(path)?;
        let doc = store.get_as_of(scope, tags::JSON, key.as_bytes(), ts)?;
        Ok(doc.and_then(|d| eval::get(&d.value, &path)))
    }

    /// The whole latest document with the version and timestamp of the commit that
    /// wrote it, or `None` if it does not exist.
    pub fn get_versioned(
        store: &dyn VersionedStore,
        scope: &Scope,
        key: &str,
    ) -> Result<Option<Versioned>, JsonError> {
        validate_key(key)?;
        load(store, scope, key)
    }

    /// Every committed version of document `key`, newest first; deletes appear as
    /// entries with `value: None`. Empty if the document was never written.
    pub fn history(
        store: &dyn VersionedStore,
        scope: &Scope,
        key: &str,
    ) -> Result<Vec<HistoryEntry>, JsonError> {
        validate_key(key)?;
        Ok(store.history(scope, tags::JSON, key.as_bytes())?)
    }

    /// Deletes what `path` selects in document `key` and returns how many nodes were
    /// removed (0 when the document or the path is missing; nothing is written then).
    ///
    /// Path `$` deletes the whole document (a tombstone: it disappears from reads and
    /// listings, but stays in history and time travel) and returns 1, or 0 if it did
    /// not exist. Any other path writes the shrunk document as a new version.
    pub fn delete(
        store: &mut dyn VersionedStore,
        scope: &Scope,
        key: &str,
        path: &str,
    ) -> Result<usize, JsonError> {
        validate_key(key)?;
        let path = JsonError::parse_path(path)?;
        if path.is_root() {
            let existed = store.delete(scope, tags::JSON, key.as_bytes())?;
            return Ok(usize::from(existed));
        }
        let Some(mut doc) = load(store, scope, key)?.map(|v| v.value) else {
            return Ok(0);
        };
        let removed = eval::delete(&mut doc, &path)?;
        if removed > 0 {
            store.put(scope, tags::JSON, key.as_bytes(), doc)?;
        }
        Ok(removed)
    }

    /// Lists live document keys starting with `prefix`, in ascending byte order, at
    /// most `limit` of them (which must be at least 1), strictly after `cursor` when
    /// given. Returns the keys and the cursor for the next page: the last key
    /// returned, or `None` when no key is left.
    ///
    /// Cost: a scan of up to `limit + 1` live keys (plus the skipped tombstones).
    pub fn list(
        store: &dyn VersionedStore,
        scope: &Scope,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), JsonError> {
        if limit == 0 {
            return Err(JsonError::InvalidArgument(
                "the list limit must be at least 1".into(),
            ));
        }
        let page = store.scan(
            scope,
            tags::JSON,
            prefix.as_bytes(),
            cursor.map(str::as_bytes),
            Some(limit.saturating_add(1)),
        )?;
        let more = page.entries.len() > limit;
        let mut keys = Vec::with_capacity(page.entries.len().min(limit));
        for (raw, _) in page.entries.into_iter().take(limit) {
            let key = String::from_utf8(raw).map_err(|e| {
                JsonError::Storage(strata_storage::StorageError::Corrupt {
                    what: "JSON document key".into(),
                    detail: e.to_string(),
                })
            })?;
            keys.push(key);
        }
        let next = if more { keys.last().cloned() } else { None };
        Ok((keys, next))
    }
}

fn load(
    store: &dyn VersionedStore,
    scope: &Scope,
    key: &str,
) -> Result<Option<Versioned>, JsonError> {
    Ok(store.get(scope, tags::JSON, key.as_bytes())?)
}

/// The JSON primitive's registration with the engine: name `"json"`, tag
/// [`tags::JSON`]; every key is a user-visible document key.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonPrimitive;

impl Primitive for JsonPrimitive {
    fn name(&self) -> &'static str {
        "json"
    }

    fn tag(&self) -> PrimitiveTag {
        tags::JSON
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_validation() {
        assert!(validate_key("user:1").is_ok());
        assert!(validate_key(&"k".repeat(MAX_KEY_LEN)).is_ok());
        for bad in ["", "a\0b"] {
            assert_eq!(validate_key(bad).map_err(|e| e.code()), Err("invalid_key"));
        }
        let long = "é".repeat(MAX_KEY_LEN / 2 + 1);
        let e = validate_key(&long)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("1026 bytes"), "{e}");
    }

    #[test]
    fn primitive_registration() {
        let mut registry = strata_storage::PrimitiveRegistry::new();
        assert!(registry.register(Box::new(JsonPrimitive)).is_ok());
        assert_eq!(registry.by_tag(tags::JSON).map(|p| p.name()), Some("json"));
        assert!(registry.register(Box::new(JsonPrimitive)).is_err());
    }
}
