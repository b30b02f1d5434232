//! Branch comparison and merging.
//!
//! Both work on the *visible state* of whole branches (every space, every primitive).
//! The common ancestor of two branches is found in the fork tree: the nearest branch on
//! both read chains, at the lower of the two fork versions. A key "changed on a side"
//! when its visible value there differs from its value at the ancestor point.

use crate::engine::Database;
use crate::error::{Result, StorageError};
use crate::primitive::ChangedKey;
use crate::record::Record;
use crate::store::{BranchId, CommitVersion, PrimitiveTag, Scope};
use std::collections::{BTreeMap, BTreeSet};

/// How a key differs between two branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffKind {
    /// Present on the second branch only.
    Added,
    /// Present on the first branch only.
    Removed,
    /// Present on both with different values.
    Modified,
}

/// One differing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffEntry {
    /// The space of the key.
    pub space: String,
    /// The primitive owning the key.
    pub tag: PrimitiveTag,
    /// The raw key.
    pub key: Vec<u8>,
    /// How it differs.
    pub kind: DiffKind,
}

/// The result of [`Database::diff_branches`].
#[derive(Debug, Clone, Default)]
pub struct BranchDiff {
    /// Differing keys ordered by space, primitive and key.
    pub entries: Vec<DiffEntry>,
}

impl BranchDiff {
    /// Number of entries of a kind.
    pub fn count(&self, kind: DiffKind) -> usize {
        self.entries.iter().filter(|e| e.kind == kind).count()
    }
}

/// How [`Database::merge_branches`] resolves keys changed on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeStrategy {
    /// The side whose last write to the key committed later wins.
    #[default]
    LastWriterWins,
    /// Any key changed on both sides (to different values) is a conflict: nothing is
    /// applied and the error lists the keys.
    Strict,
}

impl std::str::FromStr for MergeStrategy {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "last_writer_wins" | "lww" => Ok(MergeStrategy::LastWriterWins),
            "strict" => Ok(MergeStrategy::Strict),
            other => Err(StorageError::InvalidInput(format!(
                "unknown merge strategy {other:?}: expected \"last_writer_wins\" or \"strict\""
            ))),
        }
    }
}

/// The result of a merge.
#[derive(Debug, Clone, Default)]
pub struct MergeOutcome {
    /// Keys written to the target.
    pub applied: usize,
    /// Keys changed on both sides (resolved by last-writer-wins).
    pub conflicts: Vec<DiffEntry>,
    /// The merge commit's version (the target's current version if nothing applied).
    pub version: CommitVersion,
}

type SpaceState = BTreeMap<(String, PrimitiveTag, Vec<u8>), Record>;

fn same(a: Option<&Record>, b: Option<&Record>) -> bool {
    let va = a.and_then(|r| r.value.as_ref());
    let vb = b.and_then(|r| r.value.as_ref());
    match (va, vb) {
        (None, None) => true,
        (Some(x), Some(y)) => x.encode() == y.encode(),
        _ => false,
    }
}

impl Database {
    fn branch_state(&self, branch: BranchId, version: CommitVersion) -> Result<SpaceState> {
        let spaces = self.list_spaces(branch);
        let mut out = BTreeMap::new();
        for space in spaces {
            let scope = Scope::new(branch, space.clone());
            for (tag, keys) in self.visible_space_state(&scope, version)? {
                for (k, r) in keys {
                    out.insert((space.clone(), tag, k), r);
                }
            }
        }
        Ok(out)
    }

    /// Compares the visible data of branch `a` with branch `b`: `Added` keys exist only
    /// on `b`, `Removed` only on `a`, `Modified` on both with different values.
    /// Cost: a scan of the latest keys of both branches (and their fork ancestors).
    pub fn diff_branches(&self, a: &str, b: &str) -> Result<BranchDiff> {
        let (ia, ib) = (self.branch_id(a)?, self.branch_id(b)?);
        let v = self.committed_version();
        let sa = self.branch_state(ia, v)?;
        let sb = self.branch_state(ib, v)?;
        let keys: BTreeSet<_> = sa.keys().chain(sb.keys()).cloned().collect();
        let mut entries = Vec::new();
        for k in keys {
            let (ra, rb) = (sa.get(&k), sb.get(&k));
            let live_a = ra.is_some_and(|r| r.value.is_some());
            let live_b = rb.is_some_and(|r| r.value.is_some());
            let kind = match (live_a, live_b) {
                (false, true) => DiffKind::Added,
                (true, false) => DiffKind::Removed,
                (true, true) if !same(ra, rb) => DiffKind::Modified,
                _ => continue,
            };
            entries.push(DiffEntry {
                space: k.0,
                tag: k.1,
                key: k.2,
                kind,
            });
        }
        Ok(BranchDiff { entries })
    }

    /// The nearest common ancestor point of two branches: (branch, version).
    fn ancestor(&self, a: BranchId, b: BranchId) -> Option<(BranchId, CommitVersion)> {
        let cat = self.inner.catalog.read();
        let max = CommitVersion(u64::MAX);
        let ca = cat.chain(a, max);
        let cb = cat.chain(b, max);
        for (x, la) in &ca {
            if let Some((_, lb)) = cb.iter().find(|(y, _)| y == x) {
                return Some((*x, (*la).min(*lb)));
            }
        }
        None
    }

    /// Merges `source` into `target` as one atomic commit on `target`.
    ///
    /// Keys changed on `source` since the common ancestor are applied to `target`
    /// (values and deletes). Keys changed on both sides to different values are
    /// conflicts: with [`MergeStrategy::Strict`] nothing is applied and a
    /// [`StorageError::Conflict`] lists them; with [`MergeStrategy::LastWriterWins`] the
    /// side whose last write committed later wins. Unrelated branches merge as if their
    /// ancestor were empty. Cost: a scan of both branches' visible keys.
    pub fn merge_branches(
        &self,
        source: &str,
        target: &str,
        strategy: MergeStrategy,
    ) -> Result<MergeOutcome> {
        let (is, it) = (self.branch_id(source)?, self.branch_id(target)?);
        if is == it {
            return Err(StorageError::InvalidInput(format!(
                "cannot merge branch {source:?} into itself"
            )));
        }
        let v = self.committed_version();
        let ss = self.branch_state(is, v)?;
        let st = self.branch_state(it, v)?;
        let anc = self.ancestor(is, it);
        let mut writes = Vec::new();
        let mut conflicts = Vec::new();
        let keys: BTreeSet<_> = ss.keys().chain(st.keys()).cloned().collect();
        for k in keys {
            let (rs, rt) = (ss.get(&k), st.get(&k));
            let ra = match anc {
                Some((ab, av)) => {
                    let scope = Scope::new(ab, k.0.clone());
                    self.read_visible(&scope, k.1, &k.2, av, None)?
                }
                None => None,
            };
            let changed_s = !same(rs, ra.as_ref());
            let changed_t = !same(rt, ra.as_ref());
            if !changed_s || same(rs, rt) {
                continue;
            }
            let entry = DiffEntry {
                space: k.0.clone(),
                tag: k.1,
                key: k.2.clone(),
                kind: DiffKind::Modified,
            };
            if changed_t {
                conflicts.push(entry);
                let s_ver = rs.map_or(CommitVersion(0), |r| r.version);
                let t_ver = rt.map_or(CommitVersion(0), |r| r.version);
                if strategy == MergeStrategy::Strict || s_ver <= t_ver {
                    continue;
                }
            }
            writes.push(ChangedKey {
                scope: Scope::new(it, k.0),
                tag: k.1,
                key: k.2,
                value: rs.and_then(|r| r.value.clone()),
            });
        }
        if strategy == MergeStrategy::Strict && !conflicts.is_empty() {
            let list: Vec<String> = conflicts
                .iter()
                .take(50)
                .map(|c| {
                    format!(
                        "{}/{}/{}",
                        c.space,
                        c.tag.0,
                        String::from_utf8_lossy(&c.key)
                    )
                })
                .collect();
            return Err(StorageError::Conflict(format!(
                "merge of {source:?} into {target:?} has {} conflicting key(s) (space/primitive/key): {}",
                conflicts.len(),
                list.join(", ")
            )));
        }
        let applied = writes.len();
        let version = self.apply_commit(Some(v), writes)?;
        Ok(MergeOutcome {
            applied,
            conflicts,
            version,
        })
    }
}
