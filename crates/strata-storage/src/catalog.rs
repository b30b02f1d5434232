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
//! meta "chg/" id version idx (BE)  -> ts (u64 BE) | (len u32 BE | latest key)*
//!                                    change log: one entry per commit and branch
//!
//! `head` and `bstat/` are written at close, by catalog operations and every 4096
//! commits; open derives the head from the change logs and recounts stale stats.
//! ```

use crate::error::{Result, StorageError};
use crate::store::{BranchId, CommitVersion, Timestamp};
use crate::value::Value;
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

#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub branches: BTreeMap<String, BranchInfo>,
    pub names: HashMap<BranchId, String>,
    pub next_branch_id: u64,
    pub spaces: BTreeSet<(BranchId, String)>,
    pub stats: HashMap<BranchId, BranchStats>,
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
        self.names.insert(info.id, info.name.clone());
        self.branches.insert(info.name.clone(), info);
    }

    pub fn remove(&mut self, name: &str) -> Option<BranchInfo> {
        let info = self.branches.remove(name)?;
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

pub(crate) fn space_key(id: BranchId, space: &str) -> Vec<u8> {
    let mut k = b"space/".to_vec();
    k.extend_from_slice(&id.0.to_be_bytes());
    k.extend_from_slice(space.as_bytes());
    k
}

/// Change log key: `chg/ | branch u64 BE | version u64 BE | index u32 BE`. A commit
/// writes one entry per branch it touches, at index 0, listing every latest key it
/// wrote there. Lets diff, merge and index catch-up visit only what changed after a
/// version.
pub(crate) fn change_key(branch: BranchId, version: CommitVersion, index: u32) -> Vec<u8> {
    let mut k = change_prefix(branch);
    k.extend_from_slice(&version.0.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// Builds one change-log value: commit timestamp (u64 BE), then each written latest
/// key as `len u32 BE | key`.
#[derive(Debug)]
pub(crate) struct ChangeEntry(Vec<u8>);

impl ChangeEntry {
    /// An entry for a commit at `ts` with no keys yet.
    pub(crate) fn new(ts: Timestamp) -> Self {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(&ts.to_be_bytes());
        ChangeEntry(v)
    }

    /// Adds one written latest key.
    pub(crate) fn push(&mut self, latest_key: &[u8]) {
        let len = u32::try_from(latest_key.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(latest_key);
    }

    /// The encoded value.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Decodes a change-log value into (timestamp, latest keys); `None` if malformed.
pub(crate) fn decode_change(v: &[u8]) -> Option<(Timestamp, Vec<&[u8]>)> {
    let ts: [u8; 8] = v.get(..8)?.try_into().ok()?;
    let mut rest = v.get(8..)?;
    let mut keys = Vec::new();
    while !rest.is_empty() {
        let len: [u8; 4] = rest.get(..4)?.try_into().ok()?;
        let len = u32::from_be_bytes(len) as usize;
        keys.push(rest.get(4..4 + len)?);
        rest = rest.get(4 + len..)?;
    }
    Some((u64::from_be_bytes(ts), keys))
}

/// Reads only the timestamp of a change-log value.
pub(crate) fn change_timestamp(v: &[u8]) -> Option<Timestamp> {
    Some(u64::from_be_bytes(v.get(..8)?.try_into().ok()?))
}

/// (version, index) of a change-log key.
pub(crate) fn decode_change_key(k: &[u8]) -> Option<(CommitVersion, u32)> {
    let rest = k.get(4 + 8..)?;
    let v: [u8; 8] = rest.get(..8)?.try_into().ok()?;
    let i: [u8; 4] = rest.get(8..12)?.try_into().ok()?;
    Some((CommitVersion(u64::from_be_bytes(v)), u32::from_be_bytes(i)))
}

pub(crate) fn change_prefix(branch: BranchId) -> Vec<u8> {
    let mut k = b"chg/".to_vec();
    k.extend_from_slice(&branch.0.to_be_bytes());
    k
}

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
}
