//! Encoding of stored records.
//!
//! History record (value of a history key): `flags u8 | timestamp u64 BE | value`.
//! Latest record (value of a latest key): `version u64 BE | history record`.
//!
//! A key's newest version is stored only as its latest record; a commit that
//! supersedes it copies its history part into the history keyspace under the old
//! version (same batch). Databases written before that rule also hold the newest
//! version in history; readers skip such duplicates by version.
//! `flags` bit 0 marks a tombstone (no value bytes follow).

use crate::error::{Result, StorageError};
use crate::store::{CommitVersion, Timestamp};
use crate::value::Value;

const TOMBSTONE: u8 = 1;

/// A decoded record: one version of one key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub version: CommitVersion,
    pub timestamp: Timestamp,
    /// `None` for a tombstone.
    pub value: Option<Value>,
}

pub(crate) fn encode_history(timestamp: Timestamp, value: Option<&Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    write_body(&mut out, timestamp, value);
    out
}

pub(crate) fn encode_latest(
    version: CommitVersion,
    timestamp: Timestamp,
    value: Option<&Value>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(40);
    out.extend_from_slice(&version.0.to_be_bytes());
    write_body(&mut out, timestamp, value);
    out
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
    let flags = *b
        .first()
        .ok_or_else(|| StorageError::corrupt("record", "empty"))?;
    let timestamp = read_u64(b, 1)?;
    let value = if flags & TOMBSTONE != 0 {
        None
    } else {
        Some(Value::decode(b.get(9..).unwrap_or_default())?)
    };
    Ok(Record {
        version,
        timestamp,
        value,
    })
}

pub(crate) fn decode_latest(b: &[u8]) -> Result<Record> {
    let version = CommitVersion(read_u64(b, 0)?);
    decode_history(version, b.get(8..).unwrap_or_default())
}

/// The history record inside a latest record (its bytes after the version): what a
/// superseded version is stored as in the history keyspace, copied without decoding.
pub(crate) fn history_part(latest: &[u8]) -> &[u8] {
    latest.get(8..).unwrap_or_default()
}

/// Reads only the version of a latest record (no value decoding).
pub(crate) fn latest_version(b: &[u8]) -> Result<CommitVersion> {
    Ok(CommitVersion(read_u64(b, 0)?))
}

/// Reads the version and tombstone flag of a latest record (no value decoding).
pub(crate) fn latest_is_live(b: &[u8]) -> bool {
    b.get(8).is_some_and(|f| f & TOMBSTONE == 0)
}
