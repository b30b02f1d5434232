//! Branch comparison and merging.
//!
//! Both work on the *visible state* of whole branches (every space, every primitive).
//! The common ancestor of two branches is found in the fork tree: the nearest branch on
//! both read chains, at the lower of the two fork versions. A key "changed on a side"
//! when its visible value there differs from its value at the ancestor point.

use crate::engine::{Database, PendingWrite};
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

/// A key of a branch: (space, primitive, raw key).
type BranchKey = (String, PrimitiveTag, Vec<u8>);
/// A key with its visible record on two branches.
type KeyPair = (BranchKey, Option<Record>, Option<Record>);

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

    /// Keys that may differ between two related branches: everything written on
    /// either side after their common ancestor point, read from the branches' change
    /// logs. `None` for unrelated branches. Cost: proportional to those writes.
    fn changed_since_ancestor(
        &self,
        a: BranchId,
        b: BranchId,
    ) -> Result<Option<BTreeSet<BranchKey>>> {
        let Some((anc, anc_version)) = self.ancestor(a, b) else {
            return Ok(None);
        };
        let mut out = BTreeSet::new();
        for x in [a, b] {
            let chain = self.inner.catalog.read().chain(x, CommitVersion(u64::MAX));
            for (z, limit) in chain {
                let after = if z == anc {
                    anc_version
                } else {
                    CommitVersion(0)
                };
                out.extend(self.changes_between(z, after, limit)?);
                if z == anc {
                    break;
                }
            }
        }
        Ok(Some(out))
    }

    /// Every key worth comparing between `a` and `b`, with its visible record on each.
    /// Related branches compare only keys changed since their common ancestor;
    /// unrelated ones compare their whole visible state.
    fn paired_state(
        &self,
        a: BranchId,
        b: BranchId,
        version: CommitVersion,
    ) -> Result<Vec<KeyPair>> {
        if let Some(keys) = self.changed_since_ancestor(a, b)? {
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                let ra =
                    self.read_visible(&Scope::new(a, k.0.clone()), k.1, &k.2, version, None)?;
                let rb =
                    self.read_visible(&Scope::new(b, k.0.clone()), k.1, &k.2, version, None)?;
                out.push((k, ra, rb));
            }
            return Ok(out);
        }
        let sa = self.branch_state(a, version)?;
        let mut sb = self.branch_state(b, version)?;
        let mut out = Vec::with_capacity(sa.len().max(sb.len()));
        for (k, ra) in sa {
            let rb = sb.remove(&k);
            out.push((k, Some(ra), rb));
        }
        for (k, rb) in sb {
            out.push((k, None, Some(rb)));
        }
        out.sort_by(|x, y| x.0.cmp(&y.0));
        Ok(out)
    }

    /// Compares the visible data of branch `a` with branch `b`: `Added` keys exist only
    /// on `b`, `Removed` only on `a`, `Modified` on both with different values.
    /// Cost: for branches related by forking, proportional to what was written on
    /// either side since the fork point (read from the change logs); for unrelated
    /// branches, a scan of both branches' keys.
    pub fn diff_branches(&self, a: &str, b: &str) -> Result<BranchDiff> {
        let (ia, ib) = (self.branch_id(a)?, self.branch_id(b)?);
        let v = self.committed_version();
        let mut entries = Vec::new();
        for (k, ra, rb) in self.paired_state(ia, ib, v)? {
            let live_a = ra.as_ref().is_some_and(|r| r.value.is_some());
            let live_b = rb.as_ref().is_some_and(|r| r.value.is_some());
            let kind = match (live_a, live_b) {
                (false, true) => DiffKind::Added,
                (true, false) => DiffKind::Removed,
                (true, true) if !same(ra.as_ref(), rb.as_ref()) => DiffKind::Modified,
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
    /// ancestor were empty. Cost: like [`Database::diff_branches`].
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
        let anc = self.ancestor(is, it);
        let mut writes = Vec::new();
        let mut conflicts = Vec::new();
        for (k, rs, rt) in self.paired_state(is, it, v)? {
            let (rs, rt) = (rs.as_ref(), rt.as_ref());
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
            writes.push(PendingWrite::new(ChangedKey {
                scope: Scope::new(it, k.0),
                tag: k.1,
                key: k.2,
                value: rs.and_then(|r| r.value.clone()),
            }));
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
