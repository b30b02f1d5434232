//! Encoding of stored records.
//!
//! History record (value of a history key): `flags u8 | timestamp u64 BE | value`.
//! Latest record (value of a latest key): `version u64 BE | history record`.
//!
//! A key's newest version is stored only as its latest record; a commit that
//! supersedes it copies its history part into the history keyspace under the old
//! version (same batch). Databases written before that rule also hold the newest
//! version in history; readers skip such duplicates by version.
//! `flags` bit 0 marks a tombstone (no value bytes follow). Bit 1 marks a key written
//! with `VersionedStore::put_without_history`, whose superseded versions are discarded
//! unless a fork can see them. On a latest record it means a read at an older version
//! must not trust history blindly; on a history record (a version kept for a fork) the
//! timestamp is followed by the version and timestamp of the write that superseded it
//! (`successor u64 BE | successor timestamp u64 BE`), so a reader can tell whether the
//! record is still the newest version at the point it reads (versions between it and
//! its successor never existed; later ones may have been discarded). Bit 2 of a kept
//! record says the version kept was itself written without history (uncounted).

use crate::error::{Result, StorageError};
use crate::store::{CommitVersion, Timestamp};
use crate::value::Value;

const TOMBSTONE: u8 = 1;
const NO_HISTORY: u8 = 2;
/// On a kept history record: the version kept was itself written without history (so
/// it is not counted as a live key); the key's last ordinary version lacks it.
const UNCOUNTED: u8 = 4;

/// A decoded record: one version of one key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub version: CommitVersion,
    pub timestamp: Timestamp,
    /// `None` for a tombstone.
    pub value: Option<Value>,
    /// A version written without history: a flagged latest record, or a kept history
    /// record of such a version (not counted as a live key).
    pub no_history: bool,
    /// For a kept history record of such a key: the (version, timestamp) of the write
    /// that superseded it.
    pub successor: Option<(CommitVersion, Timestamp)>,
}

impl Record {
    /// Whether the record counts as a live key in branch statistics (see
    /// [`latest_counts_as_live`]).
    pub(crate) fn counts_as_live(&self) -> bool {
        self.value.is_some() && !self.no_history
    }

    /// Whether this record is still the newest version for a read at `limit` (and
    /// `max_ts`): true unless it is a kept record whose successor the read would see.
    pub(crate) fn still_newest_at(&self, limit: CommitVersion, max_ts: Option<Timestamp>) -> bool {
        self.successor
            .is_none_or(|(v, t)| v > limit || max_ts.is_some_and(|m| t > m))
    }
}

pub(crate) fn encode_history(timestamp: Timestamp, value: Option<&Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    write_body(&mut out, timestamp, value);
    out
}

/// A latest record; `no_history` sets the flag of keys whose superseded versions are
/// not kept (see the module docs).
pub(crate) fn encode_latest(
    version: CommitVersion,
    timestamp: Timestamp,
    value: Option<&Value>,
    no_history: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(40);
    encode_latest_into(&mut out, version, timestamp, value, no_history);
    out
}

/// [`encode_latest`] appended to `out` (a buffer the caller reuses, so a commit of
/// many keys does not grow a fresh vector per record).
pub(crate) fn encode_latest_into(
    out: &mut Vec<u8>,
    version: CommitVersion,
    timestamp: Timestamp,
    value: Option<&Value>,
    no_history: bool,
) {
    let start = out.len();
    out.extend_from_slice(&version.0.to_be_bytes());
    write_body(out, timestamp, value);
    if no_history {
        out[start + 8] |= NO_HISTORY;
    }
}

fn write_body(out: &mut Vec<u8>, timestamp: Timestamp, value: Option<&Value>) {
    match value {
        Some(v) => {
            out.push(0);
            out.extend_from_slice(&timestamp.to_be_bytes());
            v.encode_into(out);
        }
        None => {
            out.push(TOMBSTONE);
            out.extend_from_slice(&timestamp.to_be_bytes());
        }
    }
}

fn read_u64(b: &[u8], at: usize) -> Result<u64> {
    let s: [u8; 8] = b
        .get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| StorageError::corrupt("record", "truncated"))?;
    Ok(u64::from_be_bytes(s))
}

pub(crate) fn decode_history(version: CommitVersion, b: &[u8]) -> Result<Record> {
    decode_body(version, b, true)
}

/// Decodes `flags | timestamp | ...`; bit 1 of `flags` announces a successor only in
/// history records (`in_history`).
fn decode_body(version: CommitVersion, b: &[u8], in_history: bool) -> Result<Record> {
    let flags = *b
        .first()
        .ok_or_else(|| StorageError::corrupt("record", "empty"))?;
    let timestamp = read_u64(b, 1)?;
    let (successor, body) = if in_history && flags & NO_HISTORY != 0 {
        let succ = (CommitVersion(read_u64(b, 9)?), read_u64(b, 17)?);
        (Some(succ), 25)
    } else {
        (None, 9)
    };
    let value = if flags & TOMBSTONE != 0 {
        None
    } else {
        Some(Value::decode(b.get(body..).unwrap_or_default())?)
    };
    Ok(Record {
        version,
        timestamp,
        value,
        no_history: in_history && flags & UNCOUNTED != 0,
        successor,
    })
}

/// The history record that keeps a superseded latest record of a key written without
/// history (for a fork that can see it), stamped with the version and timestamp of
/// the write that superseded it. Cost: one copy of the record.
pub(crate) fn kept_history(
    latest: &[u8],
    successor: CommitVersion,
    successor_ts: Timestamp,
) -> Vec<u8> {
    let part = history_part(latest);
    let mut out = Vec::with_capacity(part.len() + 16);
    out.extend_from_slice(part.get(..9).unwrap_or_default());
    let uncounted = if latest_without_history(latest) {
        UNCOUNTED
    } else {
        0
    };
    if let Some(flags) = out.first_mut() {
        *flags = (*flags & TOMBSTONE) | NO_HISTORY | uncounted;
    }
    out.extend_from_slice(&successor.0.to_be_bytes());
    out.extend_from_slice(&successor_ts.to_be_bytes());
    out.extend_from_slice(part.get(9..).unwrap_or_default());
    out
}

pub(crate) fn decode_latest(b: &[u8]) -> Result<Record> {
    let version = CommitVersion(read_u64(b, 0)?);
    let mut rec = decode_body(version, b.get(8..).unwrap_or_default(), false)?;
    rec.no_history = latest_without_history(b);
    Ok(rec)
}

/// The history record inside a latest record (its bytes after the version): what a
/// superseded version is stored as in the history keyspace, copied without decoding.
pub(crate) fn history_part(latest: &[u8]) -> &[u8] {
    latest.get(8..).unwrap_or_default()
}

/// Where the value's encoding starts in a latest record, or `None` for a tombstone.
pub(crate) fn latest_value_start(b: &[u8]) -> Result<Option<usize>> {
    let flags = *b
        .get(8)
        .ok_or_else(|| StorageError::corrupt("record", "truncated"))?;
    if flags & TOMBSTONE != 0 {
        return Ok(None);
    }
    // version u64 | flags u8 | timestamp u64 | value (see `decode_body`).
    if b.len() <= 17 {
        return Err(StorageError::corrupt("record", "truncated"));
    }
    Ok(Some(17))
}

/// Reads only the commit timestamp of a latest record (no value decoding).
pub(crate) fn latest_timestamp(b: &[u8]) -> Result<Timestamp> {
    read_u64(b, 9)
}

/// Reads only the version of a latest record (no value decoding).
pub(crate) fn latest_version(b: &[u8]) -> Result<CommitVersion> {
    Ok(CommitVersion(read_u64(b, 0)?))
}

/// Reads the version and tombstone flag of a latest record (no value decoding).
pub(crate) fn latest_is_live(b: &[u8]) -> bool {
    b.get(8).is_some_and(|f| f & TOMBSTONE == 0)
}

/// Whether a latest record belongs to a key written without history
/// (`put_without_history`): its superseded versions were discarded.
pub(crate) fn latest_without_history(b: &[u8]) -> bool {
    b.get(8).is_some_and(|f| f & NO_HISTORY != 0)
}

/// Whether a latest record counts as a live key in branch statistics: live, and not
/// a key written without history (internal summaries such as a log's head are not
/// counted, so the count is the same however the record was written).
pub(crate) fn latest_counts_as_live(b: &[u8]) -> bool {
    latest_is_live(b) && !latest_without_history(b)
}
