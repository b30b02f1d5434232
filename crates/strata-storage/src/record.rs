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
//! between the timestamp and the value. An entry is `version delta varint | timestamp
//! delta varint | flags u8 (bit 0: tombstone) | value length varint | value`, newest
//! first, each delta taken from the version before it in the list (the first from the
//! record that carries them), so an entry of a small value takes about ten bytes and
//! a record that supersedes this one carries these entries as they are. At most
//! [`INLINE_MAX_VERSIONS`] - 1 entries and [`INLINE_MAX_BYTES`] bytes ride along; the
//! overwrite that would pass either moves the superseded version and all inline
//! entries into history as one *chunk*: a history value `CHUNK | base version u64 BE
//! | base timestamp u64 BE | entries` (the base being the record that superseded the
//! newest entry), under the history key of its oldest version, so "newest version <=
//! V" still starts at `latest key | !V` (the first key there is the chunk or record
//! that holds it). A superseded record with no inline entries that is over the budget
//! goes to history as a plain record, as in layout 2.
//! Keys written without history never carry inline entries.

use crate::error::{Result, StorageError};
use crate::store::{CommitVersion, Timestamp};
use crate::value::Value;
use crate::varint;

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

/// The `N` bytes at `at`, or a "truncated" corruption error.
fn read_bytes<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N]> {
    b.get(at..at.saturating_add(N))
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| StorageError::corrupt("record", "truncated"))
}

fn read_u64(b: &[u8], at: usize) -> Result<u64> {
    read_bytes(b, at).map(u64::from_be_bytes)
}

fn read_u32(b: &[u8], at: usize) -> Result<u32> {
    read_bytes(b, at).map(u32::from_be_bytes)
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

pub(crate) fn decode_latest(b: &[u8]) -> Result<Record> {
    let version = CommitVersion(read_u64(b, 0)?);
    let mut rec = decode_body(version, b.get(8..).unwrap_or_default(), false)?;
    rec.no_history = latest_without_history(b);
    Ok(rec)
}

/// A latest record taken apart for the commit that supersedes it.
pub(crate) struct Superseded<'a> {
    /// The record's version and timestamp.
    pub version: CommitVersion,
    timestamp: Timestamp,
    /// Whether it is a tombstone.
    tombstone: bool,
    /// Its value's encoding (empty for a tombstone).
    value: &'a [u8],
    /// The whole record without its version, when it has no inline entries: exactly
    /// what it is stored as in history.
    plain: Option<&'a [u8]>,
    /// Its inline entries (relative to it, newest first); may be empty.
    inline: &'a [u8],
    /// How many entries `inline` holds.
    pub inline_count: usize,
    /// Whether it was written without history (not counted as a live key).
    without_history: bool,
}

impl Superseded<'_> {
    fn tombstone_flag(&self) -> u8 {
        if self.tombstone {
            TOMBSTONE
        } else {
            0
        }
    }

    /// Appends this version as an entry relative to the record that supersedes it
    /// (`by`, `by_ts`), followed by its own inline entries (which are relative to it,
    /// so they are copied as they are): the inline block of the new record, or a
    /// chunk's entries.
    pub(crate) fn entries_into(&self, out: &mut Vec<u8>, by: CommitVersion, by_ts: Timestamp) {
        varint::write(out, by.0.saturating_sub(self.version.0));
        varint::write(out, by_ts.saturating_sub(self.timestamp));
        out.push(self.tombstone_flag());
        varint::write(out, self.value.len() as u64);
        out.extend_from_slice(self.value);
        out.extend_from_slice(self.inline);
    }

    /// An upper bound of the bytes [`Superseded::entries_into`] appends.
    pub(crate) fn entries_len(&self) -> usize {
        31 + self.value.len() + self.inline.len()
    }

    /// The history value and version to store this version and its inline entries
    /// under, when they leave the latest record (superseded by `by` at `by_ts`): the
    /// plain record when there are no inline entries, else a chunk under the oldest.
    pub(crate) fn to_history(
        &self,
        by: CommitVersion,
        by_ts: Timestamp,
    ) -> Result<(CommitVersion, Vec<u8>)> {
        if let Some(plain) = self.plain {
            return Ok((self.version, plain.to_vec()));
        }
        let chunk = encode_chunk(by, by_ts, |out| self.entries_into(out, by, by_ts))?;
        Ok(chunk.unwrap_or((self.version, Vec::new())))
    }

    /// Its inline entries alone as a chunk, with the version to store it under (the
    /// oldest); `None` if there are none.
    pub(crate) fn inline_chunk(&self) -> Result<Option<(CommitVersion, Vec<u8>)>> {
        if self.inline.is_empty() {
            return Ok(None);
        }
        encode_chunk(self.version, self.timestamp, |out| {
            out.extend_from_slice(self.inline)
        })
    }

    /// The history record that keeps this version of a key written without history
    /// (for a fork that can see it), stamped with the version and timestamp of the
    /// write that superseded it (see the module docs). Cost: one copy of the value.
    pub(crate) fn kept_record(&self, successor: CommitVersion, successor_ts: Timestamp) -> Vec<u8> {
        let mut out = Vec::with_capacity(25 + self.value.len());
        let uncounted = if self.without_history { UNCOUNTED } else { 0 };
        out.push(self.tombstone_flag() | NO_HISTORY | uncounted);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&successor.0.to_be_bytes());
        out.extend_from_slice(&successor_ts.to_be_bytes());
        out.extend_from_slice(self.value);
        out
    }
}

/// A chunk (`CHUNK | base version | base timestamp | entries`) whose entries `write`
/// appends, relative to `base`, with the version to store it under (its oldest
/// entry's); `None` if `write` appended none.
fn encode_chunk(
    base: CommitVersion,
    base_ts: Timestamp,
    write: impl FnOnce(&mut Vec<u8>),
) -> Result<Option<(CommitVersion, Vec<u8>)>> {
    let mut out = Vec::with_capacity(64);
    out.push(CHUNK);
    out.extend_from_slice(&base.0.to_be_bytes());
    out.extend_from_slice(&base_ts.to_be_bytes());
    write(&mut out);
    let oldest = decode_entries(base, base_ts, &out[17..])
        .last()
        .transpose()?
        .map(|e| e.version());
    Ok(oldest.map(|v| (v, out)))
}

/// Takes a latest record apart (see [`Superseded`]). Cost: a parse of its inline
/// entries' headers; nothing is copied.
pub(crate) fn split_latest(latest: &[u8]) -> Result<Superseded<'_>> {
    let version = latest_version(latest)?;
    let timestamp = latest_timestamp(latest)?;
    let flags = *latest
        .get(8)
        .ok_or_else(|| StorageError::corrupt("record", "truncated"))?;
    let tombstone = flags & TOMBSTONE != 0;
    if flags & INLINE == 0 {
        return Ok(Superseded {
            version,
            timestamp,
            tombstone,
            value: latest.get(17..).unwrap_or_default(),
            plain: latest.get(8..),
            inline: &[],
            inline_count: 0,
            without_history: flags & NO_HISTORY != 0,
        });
    }
    let len = read_u32(latest, 17)? as usize;
    let inline = latest
        .get(21..21 + len)
        .ok_or_else(|| StorageError::corrupt("record", "truncated inline history"))?;
    let mut inline_count = 0;
    for e in decode_entries(version, timestamp, inline) {
        e?;
        inline_count += 1;
    }
    Ok(Superseded {
        version,
        timestamp,
        tombstone,
        value: latest.get(21 + len..).unwrap_or_default(),
        plain: None,
        inline,
        inline_count,
        without_history: flags & NO_HISTORY != 0,
    })
}

/// One stored version found in history or in a latest record's inline entries.
pub(crate) enum Stored<'a> {
    /// A plain history record (`flags | timestamp | value`) under its version.
    Record(CommitVersion, &'a [u8]),
    /// An entry of an inline block or a chunk, decoded but for its value.
    Entry {
        version: CommitVersion,
        timestamp: Timestamp,
        /// The value's encoding; `None` for a tombstone.
        value: Option<&'a [u8]>,
    },
}

impl Stored<'_> {
    /// The version this is.
    pub(crate) fn version(&self) -> CommitVersion {
        match self {
            Stored::Record(v, _) | Stored::Entry { version: v, .. } => *v,
        }
    }

    /// Its commit timestamp, without decoding the value.
    pub(crate) fn timestamp(&self) -> Result<Timestamp> {
        match self {
            Stored::Record(_, b) => read_u64(b, 1),
            Stored::Entry { timestamp, .. } => Ok(*timestamp),
        }
    }

    /// Decodes it (the value included).
    pub(crate) fn record(&self) -> Result<Record> {
        match self {
            Stored::Record(v, b) => decode_history(*v, b),
            Stored::Entry {
                version,
                timestamp,
                value,
            } => Ok(Record {
                version: *version,
                timestamp: *timestamp,
                value: value.map(Value::decode).transpose()?,
                no_history: false,
                successor: None,
            }),
        }
    }
}

/// Decodes entries `version delta varint | timestamp delta varint | flags u8 | length
/// varint | value`, each relative to the one before it (the first to `base`).
fn decode_entries(
    base: CommitVersion,
    base_ts: Timestamp,
    mut b: &[u8],
) -> impl Iterator<Item = Result<Stored<'_>>> {
    let (mut version, mut ts) = (base.0, base_ts);
    let bad = |why| StorageError::corrupt("history entry", why);
    std::iter::from_fn(move || {
        if b.is_empty() {
            return None;
        }
        let item = (|| {
            let dv = varint::read(&mut b).ok_or_else(|| bad("truncated"))?;
            let dt = varint::read(&mut b).ok_or_else(|| bad("truncated"))?;
            let (&flags, rest) = b.split_first().ok_or_else(|| bad("truncated"))?;
            b = rest;
            let len = varint::read(&mut b).ok_or_else(|| bad("truncated"))? as usize;
            let value = b.get(..len).ok_or_else(|| bad("truncated"))?;
            b = &b[len..];
            version = version
                .checked_sub(dv)
                .filter(|_| dv > 0)
                .ok_or_else(|| bad("bad version"))?;
            ts = ts.checked_sub(dt).ok_or_else(|| bad("bad timestamp"))?;
            Ok(Stored::Entry {
                version: CommitVersion(version),
                timestamp: ts,
                value: (flags & TOMBSTONE == 0).then_some(value),
            })
        })();
        if item.is_err() {
            b = &[]; // stop after the first error
        }
        Some(item)
    })
}

/// The inline history entries of a latest record, newest first (none for a record
/// without the inline flag).
pub(crate) fn inline_entries(latest: &[u8]) -> Result<impl Iterator<Item = Result<Stored<'_>>>> {
    let (inline, base, base_ts) = match latest.get(8) {
        Some(f) if f & INLINE != 0 => {
            let len = read_u32(latest, 17)? as usize;
            let inline = latest
                .get(21..21 + len)
                .ok_or_else(|| StorageError::corrupt("record", "truncated inline history"))?;
            (inline, latest_version(latest)?, latest_timestamp(latest)?)
        }
        _ => (&[][..], CommitVersion(0), 0),
    };
    Ok(decode_entries(base, base_ts, inline))
}

/// The versions a history value holds, newest first: one record stored under
/// `key_version`, or a chunk's entries (`CHUNK | base version u64 | base timestamp
/// u64 | entries`).
pub(crate) fn history_entries(key_version: CommitVersion, value: &[u8]) -> Result<Vec<Stored<'_>>> {
    if value.first() == Some(&CHUNK) {
        let base = CommitVersion(read_u64(value, 1)?);
        let base_ts = read_u64(value, 9)?;
        decode_entries(base, base_ts, value.get(17..).unwrap_or_default()).collect()
    } else {
        Ok(vec![Stored::Record(key_version, value)])
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the latest record of `versions` (oldest first) the way commits do:
    /// each write carries the previous record and its inline entries.
    fn chain(versions: &[(u64, u64, Option<Value>)]) -> Vec<u8> {
        let mut latest: Option<Vec<u8>> = None;
        for (v, ts, value) in versions {
            let (v, ts) = (CommitVersion(*v), *ts);
            let mut out = Vec::new();
            match &latest {
                None => encode_latest_into(&mut out, v, ts, value.as_ref(), false),
                Some(old) => {
                    let mut inline = Vec::new();
                    split_latest(old)
                        .expect("split")
                        .entries_into(&mut inline, v, ts);
                    encode_latest_inline_into(&mut out, v, ts, value.as_ref(), &inline);
                }
            }
            latest = Some(out);
        }
        latest.expect("at least one version")
    }

    fn versions() -> Vec<(u64, u64, Option<Value>)> {
        vec![
            (3, 1_000, Some(Value::Int(1))),
            (4, 1_001, None),
            (200, 90_000, Some(Value::String("x".repeat(300)))),
            (70_000, 5_000_000_000, Some(Value::Int(-7))),
        ]
    }

    #[test]
    fn inline_entries_and_chunks_decode_to_what_was_written() {
        let all = versions();
        let latest = chain(&all);
        let rec = decode_latest(&latest).expect("latest");
        assert_eq!(
            (rec.version, rec.value),
            (CommitVersion(70_000), Some(Value::Int(-7)))
        );
        assert_eq!(
            latest_value_start(&latest)
                .expect("start")
                .map(|s| latest[s..].to_vec()),
            Some(Value::Int(-7).encode())
        );
        let older: Vec<_> = inline_entries(&latest)
            .expect("entries")
            .map(|e| {
                e.and_then(|e| e.record())
                    .map(|r| (r.version.0, r.timestamp, r.value))
            })
            .collect::<Result<_>>()
            .expect("decode");
        let want: Vec<_> = all[..3].iter().rev().cloned().collect();
        assert_eq!(older, want);
        // Superseded by version 70_001: everything leaves as one chunk under the oldest.
        let (at, chunk) = split_latest(&latest)
            .expect("split")
            .to_history(CommitVersion(70_001), 5_000_000_001)
            .expect("chunk");
        assert_eq!(at, CommitVersion(3));
        let got: Vec<_> = history_entries(at, &chunk)
            .expect("entries")
            .iter()
            .map(|e| e.record().map(|r| (r.version.0, r.timestamp, r.value)))
            .collect::<Result<_>>()
            .expect("decode");
        let want: Vec<_> = all.iter().rev().cloned().collect();
        assert_eq!(got, want);
    }

    #[test]
    fn damaged_inline_entries_are_errors_not_panics() {
        let latest = chain(&versions());
        let len = read_u32(&latest, 17).expect("len") as usize;
        for cut in 0..len {
            // Drop inline bytes but keep the length: every read reports corruption
            // or decodes fewer entries, and none panics.
            let mut b = latest[..21 + cut].to_vec();
            b.extend_from_slice(&latest[21 + len..]);
            let _ = inline_entries(&b)
                .map(|it| it.map(|e| e.and_then(|e| e.record())).collect::<Vec<_>>());
            let _ = split_latest(&b).map(|s| s.to_history(CommitVersion(u64::MAX), u64::MAX));
            let _ = decode_latest(&b);
        }
        // A zero version delta (versions must fall) is refused.
        let chunk = [
            CHUNK, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 0,
        ];
        assert!(history_entries(CommitVersion(5), &chunk).is_err());
    }
}
