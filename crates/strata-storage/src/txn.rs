//! Transactions: snapshot reads, buffered writes, optimistic commit.

use crate::engine::Database;
use crate::engine::{PendingWrite, WriteKind};
use crate::error::{Result, StorageError};
use crate::keys;
use crate::primitive::ChangedKey;
use crate::record::Record;
use crate::store::{
    CommitVersion, HistoryEntry, PrimitiveTag, ScanPage, Scope, StoredValue, Timestamp, Versioned,
    VersionedStore,
};
use crate::value::Value;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// A transaction: a consistent snapshot plus a buffer of writes, committed atomically.
///
/// Isolation is snapshot isolation with first-committer-wins write-write conflict
/// detection: [`Transaction::commit`] fails with [`StorageError::Conflict`] if any key
/// it writes was committed by someone else after this transaction's snapshot. Reads are
/// not validated, so write skew between two transactions that read each other's keys is
/// possible (as in every snapshot-isolation database); write the keys you depend on to
/// rule it out.
///
/// Dropping a transaction without committing discards its writes.
pub struct Transaction {
    db: Database,
    snapshot: CommitVersion,
    read_only: bool,
    id: u64,
    started_at: Timestamp,
    /// Buffered writes keyed by their encoded latest key (so they sort like the store),
    /// each with how it treats the record it supersedes (`put`, `put_new` or
    /// `put_without_history`, see the trait).
    writes: BTreeMap<Vec<u8>, (ChangedKey, WriteKind)>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("id", &self.id)
            .field("snapshot", &self.snapshot)
            .field("read_only", &self.read_only)
            .field("writes", &self.writes.len())
            .finish()
    }
}

fn to_versioned(r: Record) -> Option<Versioned> {
    r.value.map(|value| Versioned {
        value,
        version: r.version,
        timestamp: r.timestamp,
    })
}

impl Transaction {
    /// A transaction at `snapshot`; `started_at` is its start time, or 0 for a short
    /// read that records none (see [`Database::snapshot`]).
    pub(crate) fn new(
        db: Database,
        snapshot: CommitVersion,
        read_only: bool,
        started_at: Timestamp,
    ) -> Self {
        let id = db.inner.next_txn_id.fetch_add(1, Ordering::Relaxed);
        Transaction {
            db,
            snapshot,
            read_only,
            id,
            started_at,
            writes: BTreeMap::new(),
        }
    }

    /// A process-unique id for this transaction.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// When the transaction began (µs since epoch); 0 for one made by
    /// [`Database::snapshot`].
    pub fn started_at(&self) -> Timestamp {
        self.started_at
    }

    /// Whether writes are refused.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Number of buffered writes.
    pub fn pending_writes(&self) -> usize {
        self.writes.len()
    }

    /// The database this transaction belongs to.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Commits all buffered writes atomically as one new commit version. A transaction
    /// that wrote nothing returns its snapshot version without creating a commit.
    /// Fails with [`StorageError::Conflict`] (and writes nothing) when another commit
    /// changed one of the written keys after the snapshot.
    pub fn commit(self) -> Result<CommitVersion> {
        let writes: Vec<PendingWrite> = self
            .writes
            .into_iter()
            .map(|(latest_key, (change, kind))| PendingWrite {
                latest_key,
                change,
                kind,
            })
            .collect();
        self.db.apply_commit(Some(self.snapshot), writes)
    }

    /// Discards all buffered writes.
    pub fn rollback(self) {}

    fn pending(&self, scope: &Scope, tag: PrimitiveTag, key: &[u8]) -> Option<&ChangedKey> {
        if self.writes.is_empty() {
            return None;
        }
        self.writes
            .get(&keys::latest_key(scope.branch, &scope.space, tag, key))
            .map(|(change, _)| change)
    }

    fn check_writable(&self, scope: &Scope, key: &[u8]) -> Result<()> {
        if self.read_only {
            return Err(StorageError::NotAllowed(
                "cannot write in a read-only transaction".into(),
            ));
        }
        check_key_len(key)?;
        if !self.db.branch_id_exists(scope.branch) {
            return Err(StorageError::NotFound(format!(
                "branch id {} not found",
                scope.branch.0
            )));
        }
        Ok(())
    }

    /// Checks that the write is allowed, then buffers a value of the given kind.
    fn buffer_value(
        &mut self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        value: Value,
        kind: WriteKind,
    ) -> Result<()> {
        self.check_writable(scope, key)?;
        self.buffer(scope, tag, key, Some(value), kind);
        Ok(())
    }

    /// Buffers a write of the given kind (the last write of a key decides).
    fn buffer(
        &mut self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        value: Option<Value>,
        kind: WriteKind,
    ) {
        self.writes.insert(
            keys::latest_key(scope.branch, &scope.space, tag, key),
            (
                ChangedKey {
                    scope: scope.clone(),
                    tag,
                    key: key.to_vec(),
                    value,
                },
                kind,
            ),
        );
    }
}

/// Refuses keys longer than [`MAX_KEY_BYTES`].
pub(crate) fn check_key_len(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(StorageError::InvalidInput(format!(
            "key is {} bytes, longer than the maximum {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    Ok(())
}

/// Largest raw key accepted by the engine, in bytes (fjall's own limit is 64 KiB and the
/// encoded key adds scope and version bytes).
pub const MAX_KEY_BYTES: usize = 32 * 1024;

impl VersionedStore for Transaction {
    fn get(&self, scope: &Scope, tag: PrimitiveTag, key: &[u8]) -> Result<Option<Versioned>> {
        if let Some(w) = self.pending(scope, tag, key) {
            return Ok(w.value.clone().map(|value| Versioned {
                value,
                version: CommitVersion(0),
                timestamp: 0,
            }));
        }
        Ok(self
            .db
            .read_visible(scope, tag, key, self.snapshot, None)?
            .and_then(to_versioned))
    }

    fn get_value(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
    ) -> Result<Option<StoredValue>> {
        if let Some(w) = self.pending(scope, tag, key) {
            return Ok(w.value.clone().map(StoredValue::Decoded));
        }
        self.db.read_visible_value(scope, tag, key, self.snapshot)
    }

    fn get_version(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
    ) -> Result<Option<CommitVersion>> {
        if let Some(w) = self.pending(scope, tag, key) {
            return Ok(w.value.as_ref().map(|_| CommitVersion(0)));
        }
        self.db.read_visible_version(scope, tag, key, self.snapshot)
    }

    fn get_as_of(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        ts: Timestamp,
    ) -> Result<Option<Versioned>> {
        Ok(self
            .db
            .read_visible(scope, tag, key, self.snapshot, Some(ts))?
            .and_then(to_versioned))
    }

    fn history(&self, scope: &Scope, tag: PrimitiveTag, key: &[u8]) -> Result<Vec<HistoryEntry>> {
        Ok(self
            .db
            .read_history(scope, tag, key, self.snapshot)?
            .into_iter()
            .map(|r| HistoryEntry {
                value: r.value,
                version: r.version,
                timestamp: r.timestamp,
            })
            .collect())
    }

    fn scan(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: Option<usize>,
    ) -> Result<ScanPage> {
        let lo = keys::user_prefix(scope.branch, &scope.space, tag, prefix);
        let has_pending = self
            .writes
            .range(lo.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&lo));
        let fetch = limit.map(|l| l.saturating_add(1));
        let mut entries: Vec<(Vec<u8>, Versioned)> = if !has_pending {
            self.db
                .scan_visible_at(scope, tag, prefix, after, fetch, self.snapshot)?
                .into_iter()
                .filter_map(|(k, r)| to_versioned(r).map(|v| (k, v)))
                .collect()
        } else {
            let mut merged: BTreeMap<Vec<u8>, Option<Versioned>> = self
                .db
                .scan_visible_at(scope, tag, prefix, after, None, self.snapshot)?
                .into_iter()
                .map(|(k, r)| (k, to_versioned(r)))
                .collect();
            for (_, (w, _)) in self.writes.range(lo.clone()..) {
                if w.scope != *scope || w.tag != tag || !w.key.starts_with(prefix) {
                    break;
                }
                if after.is_some_and(|a| w.key.as_slice() <= a) {
                    continue;
                }
                merged.insert(
                    w.key.clone(),
                    w.value.clone().map(|value| Versioned {
                        value,
                        version: CommitVersion(0),
                        timestamp: 0,
                    }),
                );
            }
            merged
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .take(fetch.unwrap_or(usize::MAX))
                .collect()
        };
        let mut next_after = None;
        if let Some(l) = limit {
            if entries.len() > l {
                entries.truncate(l);
                next_after = entries.last().map(|(k, _)| k.clone());
            }
        }
        Ok(ScanPage {
            entries,
            next_after,
        })
    }

    fn scan_as_of(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        prefix: &[u8],
        ts: Timestamp,
    ) -> Result<Vec<(Vec<u8>, Versioned)>> {
        Ok(self
            .db
            .scan_as_of_inner(scope, tag, prefix, ts, self.snapshot)?
            .into_iter()
            .filter_map(|(k, r)| to_versioned(r).map(|v| (k, v)))
            .collect())
    }

    fn put(&mut self, scope: &Scope, tag: PrimitiveTag, key: &[u8], value: Value) -> Result<()> {
        self.buffer_value(scope, tag, key, value, WriteKind::Plain)
    }

    fn put_new(
        &mut self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        value: Value,
    ) -> Result<()> {
        self.buffer_value(scope, tag, key, value, WriteKind::New)
    }

    fn put_without_history(
        &mut self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        value: Value,
    ) -> Result<()> {
        self.buffer_value(scope, tag, key, value, WriteKind::WithoutHistory)
    }

    fn delete(&mut self, scope: &Scope, tag: PrimitiveTag, key: &[u8]) -> Result<bool> {
        self.check_writable(scope, key)?;
        let existed = self.get(scope, tag, key)?.is_some();
        if existed {
            self.buffer(scope, tag, key, None, WriteKind::Plain);
        }
        Ok(existed)
    }

    fn snapshot_version(&self) -> CommitVersion {
        self.snapshot
    }
}
