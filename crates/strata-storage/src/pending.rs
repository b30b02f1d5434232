//! Deferred commits: what a commit wrote, kept in memory until it is applied to fjall
//! together with the commits around it.
//!
//! A commit used to be one fjall batch: a journal entry and a memtable insert per key.
//! The memtable keeps every version of a key until it is flushed, so a hot key's
//! versions pile up there, and each insert searches a skiplist of hundreds of
//! thousands of entries with a cache miss per level (the insert was 36% of a state
//! cell's compare-and-swap from Python, measured with `perf`). Now a commit's
//! operations wait here, keyed by keyspace and key, so a key written again before they
//! are applied replaces its earlier operation instead of adding a version; every
//! [`DRAIN_COMMITS`] commits or [`DRAIN_BYTES`] bytes they go to fjall as one batch
//! (`Inner::drain`, or a background thread: `Inner::apply_in_background`). The
//! skipped versions lose nothing: a latest record carries its
//! superseded versions (inline history), and history records have keys of their own.
//!
//! Who may defer: databases whose commits do not have to be in fjall's journal when
//! they return, i.e. temporary ones, `Durability::None`, and `Durability::Standard`
//! with the mapped journal (which holds every commit; `journal.rs`). `Durability::Always`
//! syncs fjall's journal per commit and applies at once.
//!
//! Readers: a point read of a latest record looks here after the latest-record cache
//! and before fjall (`Database::latest_record`); every other read of fjall (ranges,
//! prefixes, history, the catalog) applies the deferred operations first, through the
//! engine's keyspace accessors (`Inner::data`, `Inner::latest`, `Inner::meta`), which
//! are the only way to read the keyspaces. Writes other than commits (branch and
//! space deletion, imports) apply them first too, so fjall sees every operation in
//! commit order.

use crate::journal::KeyspaceKind;
use fjall::Slice;
use indexmap::IndexMap;

/// Apply the deferred operations once this many commits wait...
pub(crate) const DRAIN_COMMITS: usize = 4096;
/// ...or once their keys and values take this many bytes.
pub(crate) const DRAIN_BYTES: usize = 2 << 20;

/// In order of first write: applied in that order, inserts land in fjall's skiplist
/// the way the commits wrote them (sequential keys stay sequential), not in hash order.
type OpMap = IndexMap<Slice, Option<Slice>, foldhash::fast::FixedState>;

/// The operations of the commits not yet applied to fjall, newest per key: `Some`
/// value to insert, `None` to remove.
#[derive(Default)]
pub(crate) struct Pending {
    maps: [OpMap; 3],
    commits: usize,
    bytes: usize,
}

fn index(ks: KeyspaceKind) -> usize {
    match ks {
        KeyspaceKind::Data => 0,
        KeyspaceKind::Latest => 1,
        KeyspaceKind::Meta => 2,
    }
}

impl Pending {
    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.maps.iter().all(|m| m.is_empty())
    }

    /// Adds one commit's operations, in order (a later operation on a key replaces an
    /// earlier one). Cost: a hash insert per operation.
    pub(crate) fn add(&mut self, ops: Vec<(KeyspaceKind, Slice, Option<Slice>)>) {
        for (ks, key, value) in ops {
            self.bytes += key.len() + value.as_ref().map_or(0, |v| v.len());
            self.maps[index(ks)].insert(key, value);
        }
        self.commits += 1;
    }

    /// Whether enough waits to apply it.
    pub(crate) fn due(&self) -> bool {
        self.commits >= DRAIN_COMMITS || self.bytes >= DRAIN_BYTES
    }

    /// Whether so much waits (four times [`Pending::due`]) that a commit should wait
    /// for a background apply rather than add more.
    pub(crate) fn overdue(&self) -> bool {
        self.commits >= 4 * DRAIN_COMMITS || self.bytes >= 4 * DRAIN_BYTES
    }

    /// The operation waiting for `key` of `ks`: `Some(Some(value))` for an insert,
    /// `Some(None)` for a removal, `None` if nothing waits for it.
    pub(crate) fn get(&self, ks: KeyspaceKind, key: &[u8]) -> Option<Option<Slice>> {
        self.maps[index(ks)].get(key).cloned()
    }

    /// Every waiting operation, for one fjall batch.
    pub(crate) fn ops(&self) -> impl Iterator<Item = (KeyspaceKind, &Slice, &Option<Slice>)> {
        [KeyspaceKind::Data, KeyspaceKind::Latest, KeyspaceKind::Meta]
            .into_iter()
            .flat_map(move |ks| self.maps[index(ks)].iter().map(move |(k, v)| (ks, k, v)))
    }

    /// Forgets everything (after it was applied).
    pub(crate) fn clear(&mut self) {
        for m in &mut self.maps {
            m.clear();
        }
        self.commits = 0;
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_operation_per_key_waits() {
        let mut p = Pending::default();
        assert!(p.is_empty());
        let s = |b: &[u8]| Slice::from(b);
        p.add(vec![
            (KeyspaceKind::Latest, s(b"k"), Some(s(b"1"))),
            (KeyspaceKind::Data, s(b"k"), Some(s(b"h"))),
        ]);
        p.add(vec![(KeyspaceKind::Latest, s(b"k"), Some(s(b"2")))]);
        p.add(vec![(KeyspaceKind::Meta, s(b"m"), None)]);
        assert_eq!(p.get(KeyspaceKind::Latest, b"k"), Some(Some(s(b"2"))));
        assert_eq!(p.get(KeyspaceKind::Data, b"k"), Some(Some(s(b"h"))));
        assert_eq!(p.get(KeyspaceKind::Meta, b"m"), Some(None));
        assert_eq!(p.get(KeyspaceKind::Meta, b"k"), None);
        assert_eq!(p.ops().count(), 3);
        assert!(!p.due());
        p.clear();
        assert!(p.is_empty() && p.ops().next().is_none());
    }
}
