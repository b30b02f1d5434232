//! The versioned-store trait every primitive is written against, and its vocabulary.
//!
//! # Contract
//!
//! A [`VersionedStore`] is a transactional view of the database:
//!
//! - **Reads** see one consistent snapshot (all commits up to the view's snapshot
//!   version) plus the view's own uncommitted writes (read-your-writes).
//! - **Writes** are buffered and become visible to others only when the enclosing
//!   transaction commits, all at once, under a single [`CommitVersion`].
//! - **Time travel** (`*_as_of`) ignores the view's own writes and reads committed
//!   history: the newest version whose commit timestamp is `<= ts`.
//! - A **delete** writes a tombstone: later reads see nothing, time travel to before the
//!   delete still sees the old value, and [`VersionedStore::history`] lists the tombstone.
//! - Keys are opaque bytes owned by one primitive ([`PrimitiveTag`]) inside one
//!   [`Scope`] (branch + space); different tags or scopes never collide.
//! - A write with [`VersionedStore::put_new`] is the caller's promise that the key is
//!   new (and that racing creators conflict on another key): the commit skips that
//!   key's existence read. Use [`VersionedStore::put`] unless the key is new by
//!   construction, as an event log's next sequence number is.
//!
//! Implementations: [`crate::Transaction`] (read-write or read-only).

use crate::error::Result;
use crate::value::Value;
use std::fmt;

/// A commit's position in the database's total order of commits. Strictly increasing,
/// never reused. `0` means "before any commit".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CommitVersion(pub u64);

impl fmt::Display for CommitVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Microseconds since the Unix epoch. Commit timestamps are strictly increasing per
/// database, even if the wall clock steps back.
pub type Timestamp = u64;

/// Internal identity of a branch. Names map to ids in the branch catalog; an id is never
/// reused, so a deleted and re-created branch never sees old data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BranchId(pub u64);

/// The key space owned by one primitive (KV, state, events, JSON, vectors, ...).
/// Registered tags must be unique; see [`crate::PrimitiveRegistry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PrimitiveTag(pub u8);

/// Where a record lives: a branch and a space inside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The branch.
    pub branch: BranchId,
    /// The space name (validated by the catalog; `"default"` always exists).
    pub space: String,
}

impl Scope {
    /// Builds a scope from a branch id and space name.
    pub fn new(branch: BranchId, space: impl Into<String>) -> Self {
        Scope {
            branch,
            space: space.into(),
        }
    }
}

/// A value together with the commit that wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    /// The stored value.
    pub value: Value,
    /// The commit version that wrote it (`0` for a write not yet committed).
    pub version: CommitVersion,
    /// The commit timestamp in microseconds (`0` for a write not yet committed).
    pub timestamp: Timestamp,
}

/// One entry of a key's history: a value or a tombstone.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The value written, or `None` for a delete (tombstone).
    pub value: Option<Value>,
    /// The commit version.
    pub version: CommitVersion,
    /// The commit timestamp in microseconds.
    pub timestamp: Timestamp,
}

/// One page of a prefix scan.
#[derive(Debug, Clone, Default)]
pub struct ScanPage {
    /// Live entries in ascending key order.
    pub entries: Vec<(Vec<u8>, Versioned)>,
    /// Pass as `after` to continue; `None` when the scan is exhausted.
    pub next_after: Option<Vec<u8>>,
}

/// A value as a read found it: still encoded when it came straight from a stored
/// record ([`VersionedStore::get_value`]), so a caller that builds its own
/// representation (the Python binding) decodes it once, with
/// [`Value::decode_with`]; decoded when it came from elsewhere (an uncommitted write,
/// an older version).
#[derive(Debug, Clone)]
pub enum StoredValue {
    /// The value's encoding, borrowed from the record that holds it.
    Encoded(EncodedValue),
    /// A decoded value.
    Decoded(Value),
}

impl StoredValue {
    /// The value, decoding it if needed. Cost: one decode of an encoded value.
    pub fn into_value(self) -> Result<Value> {
        match self {
            StoredValue::Encoded(e) => Ok(Value::decode(e.bytes())?),
            StoredValue::Decoded(v) => Ok(v),
        }
    }
}

/// An encoded [`Value`] held inside a stored record (a reference-counted buffer: cheap
/// to move across threads, no copy made).
#[derive(Clone)]
pub struct EncodedValue {
    pub(crate) record: fjall::Slice,
    pub(crate) start: usize,
}

impl EncodedValue {
    /// The encoding, as [`Value::encode`] wrote it.
    pub fn bytes(&self) -> &[u8] {
        self.record.get(self.start..).unwrap_or_default()
    }
}

impl fmt::Debug for EncodedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncodedValue({} bytes)", self.bytes().len())
    }
}

/// Transactional, versioned access to one database. See the module docs for the contract.
pub trait VersionedStore {
    /// The latest visible value of `key`, or `None` if missing or deleted.
    /// Cost: one or two point lookups (more on deep fork chains).
    fn get(&self, scope: &Scope, tag: PrimitiveTag, key: &[u8]) -> Result<Option<Versioned>>;

    /// [`VersionedStore::get`] for the value alone, left encoded where the store can
    /// hand out the stored bytes (see [`StoredValue`]). Cost: as `get`, without the
    /// decode. The default decodes through `get`.
    fn get_value(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
    ) -> Result<Option<StoredValue>> {
        Ok(self
            .get(scope, tag, key)?
            .map(|v| StoredValue::Decoded(v.value)))
    }

    /// The commit version of the latest visible value of `key`, or `None` if missing
    /// or deleted: [`VersionedStore::get`]'s version without reading the value (a
    /// write pending in the transaction reports version 0, as `get` does). Cost: as
    /// `get`, without the decode. The default goes through `get`.
    fn get_version(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
    ) -> Result<Option<CommitVersion>> {
        Ok(self.get(scope, tag, key)?.map(|v| v.version))
    }

    /// The value of `key` as of commit timestamp `ts` (newest version with timestamp
    /// `<= ts`), ignoring uncommitted writes. Cost: a short range scan over the key's
    /// versions.
    fn get_as_of(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        ts: Timestamp,
    ) -> Result<Option<Versioned>>;

    /// Every committed version of `key` visible from this view, newest first,
    /// tombstones included (value `None`). Empty if the key was never written.
    fn history(&self, scope: &Scope, tag: PrimitiveTag, key: &[u8]) -> Result<Vec<HistoryEntry>>;

    /// Live entries whose key starts with `prefix`, ascending, strictly after `after`
    /// (if given), at most `limit` (all if `None`). Includes this view's own writes.
    /// Cost: proportional to the keys scanned (live keys of the scope, plus inherited
    /// ones on forked branches).
    fn scan(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: Option<usize>,
    ) -> Result<ScanPage>;

    /// Like [`VersionedStore::scan`] without pagination, but as of commit timestamp
    /// `ts`. Cost: proportional to all versions under the prefix.
    fn scan_as_of(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        prefix: &[u8],
        ts: Timestamp,
    ) -> Result<Vec<(Vec<u8>, Versioned)>>;

    /// Buffers a write of `value` at `key`. Fails in read-only views.
    fn put(&mut self, scope: &Scope, tag: PrimitiveTag, key: &[u8], value: Value) -> Result<()>;

    /// Buffers the write of a key the caller knows has never been written on this
    /// branch (nor is visible from its fork ancestors), for keys that are new by
    /// construction, such as the next sequence number of a log whose head record the
    /// same transaction reads and rewrites. The commit then skips the key's existence
    /// read, which costs more as the store grows (a missing key is looked up in every
    /// table that might hold it).
    ///
    /// Contract: the caller guarantees the key is new, and that a concurrent
    /// transaction creating the same key would conflict on another key both write
    /// (the log head). The commit still reads a key that the absent-key filter cannot
    /// rule out (so a key that did exist, such as a log's record left as a tombstone
    /// by a deleted space, keeps its versions in history); it skips the read of fork
    /// ancestors. The default implementation is [`VersionedStore::put`], which is
    /// always correct.
    fn put_new(
        &mut self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        value: Value,
    ) -> Result<()> {
        self.put(scope, tag, key, value)
    }

    /// Buffers a write of `value` at `key` that replaces the key's newest version
    /// without keeping the one it supersedes, for records a primitive can rebuild from
    /// other, fully versioned keys (the event log's head, a summary of its tail).
    /// Saves the history insert of most writes; conflict detection is the same as for
    /// [`VersionedStore::put`].
    ///
    /// Contract: once a key is written this way, every later write of it (a `put`, a
    /// delete, a merge) also discards the version it supersedes, except a version that
    /// a fork of the branch can see (made after it was written: forks keep their view
    /// exactly) and the key's last ordinary version. A read that a discarded version
    /// would answer (a transaction whose snapshot is older than the key's newest
    /// version, a read as of an earlier time) finds no version of the key: `get`,
    /// `get_as_of` and scans return none for it (never an older one, nor a fork
    /// ancestor's), and [`VersionedStore::history`] holds only the version visible from
    /// this view. The caller rebuilds the record from its sources in that case. Such
    /// keys are not counted as live keys in branch statistics. Cost of a write: a
    /// pass over the branch's own forks in the catalog. The default implementation is
    /// [`VersionedStore::put`], which keeps history and is always correct.
    fn put_without_history(
        &mut self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        value: Value,
    ) -> Result<()> {
        self.put(scope, tag, key, value)
    }

    /// Buffers a delete (tombstone) of `key`; returns whether a live value was visible.
    fn delete(&mut self, scope: &Scope, tag: PrimitiveTag, key: &[u8]) -> Result<bool>;

    /// The snapshot version this view reads at.
    fn snapshot_version(&self) -> CommitVersion;
}
