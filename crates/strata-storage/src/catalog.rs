//! The branch and space catalog: names, ids, fork points and per-branch statistics.
//!
//! Kept in memory (it is small) and persisted in the `meta` keyspace in the same atomic
//! batch as the commit that changes it:
//!
//! ```text
//! meta "head"                      -> fixed: format u8, version, ts  last commit
//! meta "bseq"                      -> Value int                    next branch id
//! meta "branch/" name              -> Value {id, parent, fork_version, created_at}
//! meta "bstat/" id(u64 BE)         -> fixed: format u8, live, oldest, latest, version
//! meta "space/" id(u64 BE) name    -> Value int (created_at)
//! meta "layout"                    -> u8: the key layout version (KEY_LAYOUT)
//! latest FF | id (compact) | version u64 BE -> FF | ts | (shared, len, suffix)*
//!                                    change log: one entry per commit and branch
//!
//! `head` and `bstat/` are written at close, by catalog operations and every 4096
//! commits; open derives the head from the change logs and recounts stale stats.
//! ```

use crate::error::{Result, StorageError};
use crate::store::{BranchId, CommitVersion, Timestamp};
use crate::value::Value;
use crate::varint;
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Name of the branch that always exists.
pub const DEFAULT_BRANCH: &str = "default";
/// Name of the space that always exists in every branch.
pub const DEFAULT_SPACE: &str = "default";
/// Longest accepted branch or space name, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// What the catalog knows about one branch.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchInfo {
    /// The branch name.
    pub name: String,
    /// Its internal id.
    pub id: BranchId,
    /// The branch it was forked from, if any.
    pub parent: Option<BranchId>,
    /// The parent's commit version the fork shares (0 when not forked).
    pub fork_version: CommitVersion,
    /// Creation time (µs since epoch).
    pub created_at: Timestamp,
}

/// Cheap statistics kept per branch, updated by every commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BranchStats {
    /// Live (non-deleted) keys visible on the branch, over all spaces and primitives,
    /// inherited ones included. Counts primitive-internal keys too.
    pub live_keys: u64,
    /// Oldest commit timestamp of data visible on the branch (0 = none).
    pub oldest_ts: Timestamp,
    /// Newest commit timestamp of data visible on the branch (0 = none).
    pub latest_ts: Timestamp,
    /// Newest commit version that wrote to the branch (or its fork point).
    pub version: CommitVersion,
}

/// Validates a branch or space name: non-empty, at most [`MAX_NAME_LEN`] bytes, no control
/// characters, no path separators.
pub fn validate_name(kind: &str, name: &str) -> Result<()> {
    let bad = if name.is_empty() {
        Some("must not be empty".to_string())
    } else if name.len() > MAX_NAME_LEN {
        Some(format!(
            "is {} bytes, longer than the maximum {MAX_NAME_LEN}",
            name.len()
        ))
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters".to_string())
    } else if name.contains('/') || name.contains('\\') {
        Some("must not contain path separators ('/' or '\\')".to_string())
    } else {
        None
    };
    match bad {
        Some(why) => Err(StorageError::InvalidInput(format!(
            "{kind} name {name:?} {why}"
        ))),
        None => Ok(()),
    }
}

/// A map keyed by branch id, with foldhash instead of std's SipHash: every commit looks
/// its branches up here (SipHash was ~0.5% of a put).
pub(crate) type BranchMap<V> = HashMap<BranchId, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub branches: BTreeMap<String, BranchInfo>,
    pub names: BranchMap<String>,
    pub next_branch_id: u64,
    pub spaces: BTreeSet<(BranchId, String)>,
    pub stats: BranchMap<BranchStats>,
    /// Per parent, the fork versions of the branches forked from it (kept by
    /// `insert`/`remove`, so `newest_fork_of` costs the parent's forks, not the
    /// catalog's size).
    fork_points: BranchMap<Vec<(BranchId, CommitVersion)>>,
}

impl Catalog {
    pub fn by_name(&self, name: &str) -> Result<&BranchInfo> {
        self.branches
            .get(name)
            .ok_or_else(|| StorageError::NotFound(format!("branch {name:?} not found")))
    }

    pub fn by_id(&self, id: BranchId) -> Option<&BranchInfo> {
        self.names.get(&id).and_then(|n| self.branches.get(n))
    }

    pub fn insert(&mut self, info: BranchInfo) {
        if let Some(parent) = info.parent {
            self.fork_points
                .entry(parent)
                .or_default()
                .push((info.id, info.fork_version));
        }
        self.names.insert(info.id, info.name.clone());
        if let Some(old) = self.branches.insert(info.name.clone(), info) {
            self.forget_fork(&old);
        }
    }

    fn forget_fork(&mut self, info: &BranchInfo) {
        if let Some(points) = info.parent.and_then(|p| self.fork_points.get_mut(&p)) {
            if let Some(i) = points.iter().position(|(id, _)| *id == info.id) {
                points.swap_remove(i);
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<BranchInfo> {
        let info = self.branches.remove(name)?;
        self.forget_fork(&info);
        self.names.remove(&info.id);
        self.stats.remove(&info.id);
        self.spaces.retain(|(b, _)| *b != info.id);
        Some(info)
    }

    /// The read chain of a branch: itself with `limit`, then each ancestor with the
    /// fork version (clamped by the limit so far).
    pub fn chain(&self, branch: BranchId, limit: CommitVersion) -> Vec<(BranchId, CommitVersion)> {
        let mut out = vec![(branch, limit)];
        let mut cur = branch;
        let mut lim = limit;
        while let Some(info) = self.by_id(cur) {
            match info.parent {
                Some(p) => {
                    lim = lim.min(info.fork_version);
                    out.push((p, lim));
                    cur = p;
                }
                None => break,
            }
            if out.len() > 10_000 {
                break;
            }
        }
        out
    }

    /// Whether `space` exists on `branch`. The default space exists on every branch
    /// and is answered without a lookup (which would copy the name). Cost: a set
    /// lookup for any other space.
    pub fn has_space(&self, branch: BranchId, space: &str) -> bool {
        space == DEFAULT_SPACE || self.spaces.contains(&(branch, space.to_string()))
    }

    /// The newest fork point among the branches forked from `branch` (`None` if it has
    /// no forks). Cost: one pass over that branch's forks.
    pub fn newest_fork_of(&self, branch: BranchId) -> Option<CommitVersion> {
        self.fork_points.get(&branch)?.iter().map(|(_, v)| *v).max()
    }

    pub fn children(&self, branch: BranchId) -> Vec<String> {
        self.branches
            .values()
            .filter(|b| b.parent == Some(branch))
            .map(|b| b.name.clone())
            .collect()
    }

    pub fn spaces_of(&self, branch: BranchId) -> Vec<String> {
        self.spaces
            .iter()
            .filter(|(b, _)| *b == branch)
            .map(|(_, s)| s.clone())
            .collect()
    }
}

// ---- meta keys and record encodings ----

pub(crate) const HEAD_KEY: &[u8] = b"head";
/// Meta key written `1` when a database on disk opens and `0` by its clean close: `1`
/// at open means the change log may lack the entries of the last commits (they wait
/// in memory, see `engine.rs`'s `LogTail`), so open rebuilds them from the records.
pub(crate) const OPEN_KEY: &[u8] = b"open";
pub(crate) const BSEQ_KEY: &[u8] = b"bseq";

pub(crate) fn branch_key(name: &str) -> Vec<u8> {
    let mut k = b"branch/".to_vec();
    k.extend_from_slice(name.as_bytes());
    k
}

pub(crate) fn stat_key(id: BranchId) -> Vec<u8> {
    let mut k = b"bstat/".to_vec();
    k.extend_from_slice(&id.0.to_be_bytes());
    k
}

/// Meta key present while a branch's live-key count may not match its data: written
/// before a physical removal of its keys and removed with the recounted statistics.
/// Open recounts a branch that has it (a crash came in between), whatever the
/// statistics' version says.
pub(crate) fn recount_key(id: BranchId) -> Vec<u8> {
    let mut k = b"brecount/".to_vec();
    k.extend_from_slice(&id.0.to_be_bytes());
    k
}

pub(crate) fn space_key(id: BranchId, space: &str) -> Vec<u8> {
    let mut k = b"space/".to_vec();
    k.extend_from_slice(&id.0.to_be_bytes());
    k.extend_from_slice(space.as_bytes());
    k
}

/// Change-log key, in the `latest` keyspace: `FF | branch (compact, as in record
/// keys) | version u64 BE`. A commit writes one entry per branch it touches, listing
/// every latest key it wrote there. Lets diff, merge and index catch-up visit only
/// what changed after a version. Record keys never start with `FF` (a branch id's
/// first byte is below `F8`), and the key is short enough (10 bytes for the first 240
/// branches) for fjall to keep it inline in its memtable.
pub(crate) fn change_key(branch: BranchId, version: CommitVersion) -> Vec<u8> {
    let mut k = change_prefix(branch);
    k.extend_from_slice(&version.0.to_be_bytes());
    k
}

/// First byte of a change-log value in the compact format. Values of the first
/// format start with the commit timestamp (u64 BE, µs since the epoch), whose first
/// byte is 0 until the year 2540, so the two cannot be mistaken for each other.
const COMPACT_CHANGE: u8 = 0xFF;

/// Builds one change-log value in the compact format: `0xFF | timestamp u64 BE`, then
/// for each written latest key `shared varint | suffix_len varint | suffix`, where
/// `shared` is how many leading bytes it has in common with the previous key (the
/// keys of one commit share their branch, space and tag, and sort close together).
/// An event append's three keys take about 65 bytes instead of 110 in the first
/// format (`timestamp | (len u32 BE | key)*`), which [`decode_change`] still reads.
#[derive(Debug)]
pub(crate) struct ChangeEntry {
    bytes: Vec<u8>,
    /// The previous key (a `Slice`: short keys are kept inline, no allocation).
    last: fjall::Slice,
}

impl ChangeEntry {
    /// An entry for a commit at `ts` with no keys yet.
    pub(crate) fn new(ts: Timestamp) -> Self {
        let mut bytes = Vec::with_capacity(64);
        bytes.push(COMPACT_CHANGE);
        bytes.extend_from_slice(&ts.to_be_bytes());
        ChangeEntry {
            bytes,
            last: fjall::Slice::empty(),
        }
    }

    /// Adds one written latest key.
    pub(crate) fn push(&mut self, latest_key: &[u8]) {
        let shared = self
            .last
            .iter()
            .zip(latest_key)
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = &latest_key[shared..];
        varint::write(&mut self.bytes, shared as u64);
        varint::write(&mut self.bytes, suffix.len() as u64);
        self.bytes.extend_from_slice(suffix);
        self.last = fjall::Slice::from(latest_key);
    }

    /// The encoded value.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Decodes a change-log value of either format into (timestamp, latest keys);
/// `None` if malformed.
pub(crate) fn decode_change(v: &[u8]) -> Option<(Timestamp, Vec<Vec<u8>>)> {
    let ts = change_timestamp(v)?;
    let mut keys: Vec<Vec<u8>> = Vec::new();
    if v.first() == Some(&COMPACT_CHANGE) {
        let mut rest = v.get(9..)?;
        while !rest.is_empty() {
            let shared = usize::try_from(varint::read(&mut rest)?).ok()?;
            let len = usize::try_from(varint::read(&mut rest)?).ok()?;
            let suffix = rest.get(..len)?;
            rest = &rest[len..];
            let mut key = keys
                .last()
                .map_or(&[][..], |k| k.as_slice())
                .get(..shared)?
                .to_vec();
            key.extend_from_slice(suffix);
            keys.push(key);
        }
        return Some((ts, keys));
    }
    let mut rest = v.get(8..)?;
    while !rest.is_empty() {
        let len: [u8; 4] = rest.get(..4)?.try_into().ok()?;
        let len = u32::from_be_bytes(len) as usize;
        keys.push(rest.get(4..4 + len)?.to_vec());
        rest = rest.get(4 + len..)?;
    }
    Some((ts, keys))
}

/// First byte of a change-log value that holds several commits' entries (a group):
/// `0xFE | (version u64 BE | length varint | entry)*`, versions ascending, each
/// `entry` a value of the compact format. Its key carries the last version. Temporary
/// databases write their change log in groups (see `engine.rs`, `LogTail`).
const CHANGE_GROUP: u8 = 0xFE;

/// Encodes a group of change-log entries (`(version, entry)` in ascending versions).
pub(crate) fn encode_change_group(entries: &[(CommitVersion, &[u8])]) -> Vec<u8> {
    let len: usize = entries.iter().map(|(_, e)| e.len() + 10).sum();
    let mut out = Vec::with_capacity(1 + len);
    out.push(CHANGE_GROUP);
    for (v, e) in entries {
        out.extend_from_slice(&v.0.to_be_bytes());
        varint::write(&mut out, e.len() as u64);
        out.extend_from_slice(e);
    }
    out
}

/// The commits a change-log value stores, as `(version, entry)` in ascending
/// versions: a group's entries, or the single entry of `key_version`. `None` if
/// malformed.
pub(crate) fn change_entries(
    key_version: CommitVersion,
    v: &[u8],
) -> Option<Vec<(CommitVersion, &[u8])>> {
    if v.first() != Some(&CHANGE_GROUP) {
        return Some(vec![(key_version, v)]);
    }
    let mut rest = &v[1..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let version: [u8; 8] = rest.get(..8)?.try_into().ok()?;
        rest = &rest[8..];
        let len = usize::try_from(varint::read(&mut rest)?).ok()?;
        out.push((CommitVersion(u64::from_be_bytes(version)), rest.get(..len)?));
        rest = &rest[len..];
    }
    Some(out)
}

/// Reads only the timestamp of a change-log value (either format).
pub(crate) fn change_timestamp(v: &[u8]) -> Option<Timestamp> {
    let at = usize::from(v.first() == Some(&COMPACT_CHANGE));
    Some(u64::from_be_bytes(v.get(at..at + 8)?.try_into().ok()?))
}

/// The version of a change-log key.
pub(crate) fn decode_change_key(k: &[u8]) -> Option<CommitVersion> {
    let v: [u8; 8] = k.get(k.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(CommitVersion(u64::from_be_bytes(v)))
}

/// First byte of every change-log key.
pub(crate) const CHANGE_LOG_MARK: u8 = 0xFF;

/// Prefix of one branch's change log.
pub(crate) fn change_prefix(branch: BranchId) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + 9 + 8);
    k.push(CHANGE_LOG_MARK);
    crate::keys::push_branch(&mut k, branch);
    k
}

/// Meta key of the key layout version.
pub(crate) const LAYOUT_KEY: &[u8] = b"layout";

/// The key layout this build writes. Layout 1 (development builds before
/// 2026-12-02) wrote branch ids as 8 bytes, the default space by name and the change
/// log in `meta`; it is refused at open with a clear error. Layout 3 (2026-12-04)
/// added inline history and history chunks (`record.rs`); a layout-2 database is read
/// as it is and marked layout 3 at open.
pub(crate) const KEY_LAYOUT: u8 = 3;

fn obj(fields: &[(&str, Value)]) -> Vec<u8> {
    let m: IndexMap<String, Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    Value::Object(m).encode()
}

fn int_field(v: &Value, name: &str) -> Result<u64> {
    match v {
        Value::Object(m) => match m.get(name) {
            Some(Value::Int(i)) => Ok(*i as u64),
            Some(Value::Null) => Ok(0),
            _ => Err(StorageError::corrupt(
                "catalog",
                format!("missing field {name}"),
            )),
        },
        _ => Err(StorageError::corrupt("catalog", "record is not an object")),
    }
}

/// Format byte of the fixed-width `head` and `bstat` records.
const FIXED_FORMAT: u8 = 1;

fn encode_u64s(fields: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 8 * fields.len());
    out.push(FIXED_FORMAT);
    for f in fields {
        out.extend_from_slice(&f.to_be_bytes());
    }
    out
}

fn decode_u64s<const N: usize>(what: &str, b: &[u8]) -> Result<[u64; N]> {
    if b.first() != Some(&FIXED_FORMAT) || b.len() != 1 + 8 * N {
        return Err(StorageError::corrupt(what, "bad fixed-width record"));
    }
    let mut out = [0u64; N];
    for (i, chunk) in b[1..].chunks_exact(8).enumerate() {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        out[i] = u64::from_be_bytes(a);
    }
    Ok(out)
}

/// `head`: format byte, last commit version, last commit timestamp (u64 BE each).
pub(crate) fn encode_head(version: CommitVersion, ts: Timestamp) -> Vec<u8> {
    encode_u64s(&[version.0, ts])
}

pub(crate) fn decode_head(b: &[u8]) -> Result<(CommitVersion, Timestamp)> {
    let [v, ts] = decode_u64s::<2>("head record", b)?;
    Ok((CommitVersion(v), ts))
}

pub(crate) fn encode_branch(info: &BranchInfo) -> Vec<u8> {
    obj(&[
        ("id", Value::Int(info.id.0 as i64)),
        (
            "parent",
            info.parent.map_or(Value::Null, |p| Value::Int(p.0 as i64)),
        ),
        ("fork_version", Value::Int(info.fork_version.0 as i64)),
        ("created_at", Value::Int(info.created_at as i64)),
    ])
}

pub(crate) fn decode_branch(name: &str, b: &[u8]) -> Result<BranchInfo> {
    let v = Value::decode(b)?;
    let parent = match &v {
        Value::Object(m) => match m.get("parent") {
            Some(Value::Int(p)) => Some(BranchId(*p as u64)),
            _ => None,
        },
        _ => None,
    };
    Ok(BranchInfo {
        name: name.to_string(),
        id: BranchId(int_field(&v, "id")?),
        parent,
        fork_version: CommitVersion(int_field(&v, "fork_version")?),
        created_at: int_field(&v, "created_at")?,
    })
}

/// `bstat/<id>`: format byte, live keys, oldest ts, latest ts, version (u64 BE each).
pub(crate) fn encode_stats(s: &BranchStats) -> Vec<u8> {
    encode_u64s(&[s.live_keys, s.oldest_ts, s.latest_ts, s.version.0])
}

pub(crate) fn decode_stats(b: &[u8]) -> Result<BranchStats> {
    let [live_keys, oldest_ts, latest_ts, version] = decode_u64s::<4>("branch stats", b)?;
    Ok(BranchStats {
        live_keys,
        oldest_ts,
        latest_ts,
        version: CommitVersion(version),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(validate_name("branch", "feature-1").is_ok());
        assert!(validate_name("branch", "").is_err());
        assert!(validate_name("branch", "a/b").is_err());
        assert!(validate_name("branch", "a\nb").is_err());
        assert!(validate_name("branch", &"x".repeat(256)).is_err());
        assert!(validate_name("space", "ünïcode 空间").is_ok());
    }

    /// A value in the first change-log format (`ts | (len u32 BE | key)*`), which
    /// databases written before the compact format hold.
    fn first_format(ts: Timestamp, keys: &[Vec<u8>]) -> Vec<u8> {
        let mut v = ts.to_be_bytes().to_vec();
        for k in keys {
            v.extend_from_slice(&(k.len() as u32).to_be_bytes());
            v.extend_from_slice(k);
        }
        v
    }

    proptest::proptest! {
        #[test]
        fn change_entries_round_trip_in_both_formats(
            ts in 0u64..(1 << 56),
            keys in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..40), 0..8),
        ) {
            let mut entry = ChangeEntry::new(ts);
            for k in &keys {
                entry.push(k);
            }
            let compact = entry.into_bytes();
            proptest::prop_assert_eq!(decode_change(&compact), Some((ts, keys.clone())));
            proptest::prop_assert_eq!(change_timestamp(&compact), Some(ts));
            let old = first_format(ts, &keys);
            proptest::prop_assert_eq!(decode_change(&old), Some((ts, keys.clone())));
            proptest::prop_assert_eq!(change_timestamp(&old), Some(ts));
            // Any truncation decodes to a shorter list or None, never a panic.
            for cut in 0..compact.len() {
                let _ = decode_change(&compact[..cut]);
            }
        }

        #[test]
        fn arbitrary_change_values_never_panic(v in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = decode_change(&v);
            let mut tagged = vec![COMPACT_CHANGE];
            tagged.extend_from_slice(&v);
            let _ = decode_change(&tagged);
        }
    }

    fn branch(name: &str, id: u64, parent: Option<u64>, fork: u64) -> BranchInfo {
        BranchInfo {
            name: name.into(),
            id: BranchId(id),
            parent: parent.map(BranchId),
            fork_version: CommitVersion(fork),
            created_at: 0,
        }
    }

    #[test]
    fn newest_fork_follows_forks_made_replaced_and_deleted() {
        let mut cat = Catalog::default();
        cat.insert(branch("default", 1, None, 0));
        assert_eq!(cat.newest_fork_of(BranchId(1)), None);
        cat.insert(branch("a", 2, Some(1), 10));
        cat.insert(branch("b", 3, Some(1), 30));
        cat.insert(branch("c", 4, Some(2), 50));
        assert_eq!(cat.newest_fork_of(BranchId(1)), Some(CommitVersion(30)));
        assert_eq!(cat.newest_fork_of(BranchId(2)), Some(CommitVersion(50)));
        cat.remove("b");
        assert_eq!(cat.newest_fork_of(BranchId(1)), Some(CommitVersion(10)));
        // Re-inserting a name (an import over a deleted branch) replaces its fork.
        cat.insert(branch("a", 2, Some(1), 20));
        assert_eq!(cat.newest_fork_of(BranchId(1)), Some(CommitVersion(20)));
        cat.remove("a");
        assert_eq!(cat.newest_fork_of(BranchId(1)), None);
    }

    #[test]
    fn an_event_append_entry_is_compact() {
        // The three latest keys of an event append share branch, space and tag.
        let scope = |tail: &[u8]| {
            let mut k = 1u64.to_be_bytes().to_vec();
            k.extend_from_slice(b"default\x00\x01\x03");
            k.extend_from_slice(tail);
            k
        };
        let keys = [
            scope(b"e\x00\xff\x00\xff\x00\xff\x00\xff\x00\xff\x01\x02\x03\x00\x01"),
            scope(b"h\x00\x01"),
            scope(b"tclick\x00\xff\x00\xff\x00\xff\x00\xff\x00\xff\x00\xff\x01\x02\x03\x00\x01"),
        ];
        let mut entry = ChangeEntry::new(1_700_000_000_000_000);
        for k in &keys {
            entry.push(k);
        }
        let compact = entry.into_bytes().len();
        let old = first_format(1_700_000_000_000_000, &keys).len();
        assert!(compact * 3 < old * 2, "{compact} bytes against {old}");
    }
}
