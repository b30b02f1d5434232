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
//!
//! Inline history (key layout 3). Moving every superseded version into the history
//! keyspace cost one more memtable insert per overwrite, about half of a small
//! overwrite's time. So a latest record may carry its key's most recent superseded
//! versions itself: bit 3 of its `flags` announces `inline length u32 BE | entries`
//! between the timestamp and the value, where an entry is `version u64 BE | length
//! u32 BE | history record` (the exact bytes the version would have in history),
//! newest first. At most [`INLINE_MAX_VERSIONS`] - 1 entries and
//! [`INLINE_MAX_BYTES`] bytes ride along; the overwrite that would pass either moves
//! the superseded version and all inline entries into history as one *chunk*: a
//! history value that starts with [`CHUNK`] followed by entries (newest first), under
//! the history key of its oldest version, so "newest version <= V" still starts at
//! `latest key | !V` (the first key there is the chunk or record that holds it).
//! Keys written without history never carry inline entries.

use crate::error::{Result, StorageError};
use crate::store::{CommitVersion, Timestamp};
use crate::value::Value;

const TOMBSTONE: u8 = 1;
const NO_HISTORY: u8 = 2;
/// On a kept history record: the version kept was itself written without history (so
/// it is not counted as a live key); the key's last ordinary version lacks it.
const UNCOUNTED: u8 = 4;
/// On a latest record: an inline history block follows the timestamp.
const INLINE: u8 = 8;
/// First byte of a history value that holds several versions (a chunk).
const CHUNK: u8 = 0x10;
/// A latest record carries at most this many versions: itself and the superseded ones.
pub(crate) const INLINE_MAX_VERSIONS: usize = 8;
/// A latest record's inline entries take at most this many bytes.
pub(crate) const INLINE_MAX_BYTES: usize = 512;

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

/// [`encode_latest_into`] for an ordinary key whose latest record carries inline
/// history entries (`inline`: entries, newest first; see the module docs).
pub(crate) fn encode_latest_inline_into(
    out: &mut Vec<u8>,
    version: CommitVersion,
    timestamp: Timestamp,
    value: Option<&Value>,
    inline: &[u8],
) {
    out.extend_from_slice(&version.0.to_be_bytes());
    out.push(if value.is_some() {
        INLINE
    } else {
        INLINE | TOMBSTONE
    });
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&(inline.len() as u32).to_be_bytes());
    out.extend_from_slice(inline);
    if let Some(v) = value {
        v.encode_into(out);
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

fn read_u32(b: &[u8], at: usize) -> Result<u32> {
    let s: [u8; 4] = b
        .get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| StorageError::corrupt("record", "truncated"))?;
    Ok(u32::from_be_bytes(s))
}

/// Decodes one history record (never a chunk: see [`history_entries`]).
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
    } else if !in_history && flags & INLINE != 0 {
        (None, 13 + read_u32(b, 9)? as usize)
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
) -> Result<Vec<u8>> {
    let own = split_latest(latest)?;
    let part: &[u8] = &own.body;
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
    Ok(out)
}

pub(crate) fn decode_latest(b: &[u8]) -> Result<Record> {
    let version = CommitVersion(read_u64(b, 0)?);
    let mut rec = decode_body(version, b.get(8..).unwrap_or_default(), false)?;
    rec.no_history = latest_without_history(b);
    Ok(rec)
}

/// A latest record taken apart for the commit that supersedes it: its own history
/// record (what the version is stored as in history) and its inline entries.
pub(crate) struct Superseded<'a> {
    /// The record's version.
    pub version: CommitVersion,
    /// `flags | timestamp | value`, the inline flag cleared.
    pub body: std::borrow::Cow<'a, [u8]>,
    /// The inline entries (`version | length | record`, newest first); may be empty.
    pub inline: &'a [u8],
    /// How many entries `inline` holds.
    pub inline_count: usize,
}

impl Superseded<'_> {
    /// Appends this version as an entry, followed by the older inline entries: the
    /// inline block of the record that supersedes it, or a chunk's entries.
    pub(crate) fn entries_into(&self, out: &mut Vec<u8>) {
        push_entry(out, self.version, &self.body);
        out.extend_from_slice(self.inline);
    }

    /// The oldest version among this one and its inline entries.
    pub(crate) fn oldest_version(&self) -> Result<CommitVersion> {
        let mut oldest = self.version;
        for e in Entries(self.inline) {
            oldest = e?.0;
        }
        Ok(oldest)
    }

    /// Bytes this version and its inline entries take as entries.
    pub(crate) fn entries_len(&self) -> usize {
        12 + self.body.len() + self.inline.len()
    }
}

fn push_entry(out: &mut Vec<u8>, version: CommitVersion, body: &[u8]) {
    out.extend_from_slice(&version.0.to_be_bytes());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
}

/// Takes a latest record apart (see [`Superseded`]). Cost: a copy of the record
/// when it carries inline entries, none otherwise.
pub(crate) fn split_latest(latest: &[u8]) -> Result<Superseded<'_>> {
    let version = latest_version(latest)?;
    let part = latest.get(8..).unwrap_or_default();
    let flags = *part
        .first()
        .ok_or_else(|| StorageError::corrupt("record", "truncated"))?;
    if flags & INLINE == 0 {
        return Ok(Superseded {
            version,
            body: std::borrow::Cow::Borrowed(part),
            inline: &[],
            inline_count: 0,
        });
    }
    let len = read_u32(part, 9)? as usize;
    let inline = part
        .get(13..13 + len)
        .ok_or_else(|| StorageError::corrupt("record", "truncated inline history"))?;
    let mut body = Vec::with_capacity(part.len() - 4 - len);
    body.push(flags & !INLINE);
    body.extend_from_slice(&part[1..9]);
    body.extend_from_slice(&part[13 + len..]);
    let mut inline_count = 0;
    for e in Entries(inline) {
        e?;
        inline_count += 1;
    }
    Ok(Superseded {
        version,
        body: std::borrow::Cow::Owned(body),
        inline,
        inline_count,
    })
}

/// A history value holding `s` and its inline entries (newest first), to be stored
/// under the history key of [`Superseded::oldest_version`].
pub(crate) fn encode_chunk(s: &Superseded<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + s.entries_len());
    out.push(CHUNK);
    s.entries_into(&mut out);
    out
}

/// The inline entries of `s` alone as a chunk, with the version to store it under
/// (its oldest); `None` if there are none.
pub(crate) fn inline_chunk(s: &Superseded<'_>) -> Result<Option<(CommitVersion, Vec<u8>)>> {
    let mut oldest = None;
    for e in Entries(s.inline) {
        oldest = Some(e?.0);
    }
    Ok(oldest.map(|v| {
        let mut out = Vec::with_capacity(1 + s.inline.len());
        out.push(CHUNK);
        out.extend_from_slice(s.inline);
        (v, out)
    }))
}

/// Iterates over entries `version u64 | length u32 | record`.
struct Entries<'a>(&'a [u8]);

impl<'a> Iterator for Entries<'a> {
    type Item = Result<(CommitVersion, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let b = self.0;
        let item = (|| {
            let version = CommitVersion(read_u64(b, 0)?);
            let len = read_u32(b, 8)? as usize;
            let body = b
                .get(12..12 + len)
                .ok_or_else(|| StorageError::corrupt("history entry", "truncated"))?;
            Ok((version, body, 12 + len))
        })();
        Some(match item {
            Ok((version, body, used)) => {
                self.0 = &b[used..];
                Ok((version, body))
            }
            Err(e) => {
                self.0 = &[];
                Err(e)
            }
        })
    }
}

/// The inline history entries of a latest record, newest first (none for a record
/// without the inline flag). Each is a history record for [`decode_history`].
pub(crate) fn inline_entries(
    latest: &[u8],
) -> Result<impl Iterator<Item = Result<(CommitVersion, &[u8])>>> {
    let inline = match latest.get(8) {
        Some(f) if f & INLINE != 0 => {
            let len = read_u32(latest, 17)? as usize;
            latest
                .get(21..21 + len)
                .ok_or_else(|| StorageError::corrupt("record", "truncated inline history"))?
        }
        _ => &[][..],
    };
    Ok(Entries(inline))
}

/// The versions a history value holds, newest first: one record stored under
/// `key_version`, or a chunk's entries.
pub(crate) fn history_entries(
    key_version: CommitVersion,
    value: &[u8],
) -> Result<Vec<(CommitVersion, &[u8])>> {
    if value.first() == Some(&CHUNK) {
        Entries(&value[1..]).collect()
    } else {
        Ok(vec![(key_version, value)])
    }
}

/// Where the value's encoding starts in a latest record, or `None` for a tombstone.
pub(crate) fn latest_value_start(b: &[u8]) -> Result<Option<usize>> {
    let flags = *b
        .get(8)
        .ok_or_else(|| StorageError::corrupt("record", "truncated"))?;
    if flags & TOMBSTONE != 0 {
        return Ok(None);
    }
    // version u64 | flags u8 | timestamp u64 | [inline length u32 | entries] | value
    // (see `decode_body`).
    let start = if flags & INLINE != 0 {
        21 + read_u32(b, 17)? as usize
    } else {
        17
    };
    if b.len() <= start {
        return Err(StorageError::corrupt("record", "truncated"));
    }
    Ok(Some(start))
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
