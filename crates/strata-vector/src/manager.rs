//! [`VectorIndexes`]: the in-memory indexes of every collection, kept current by
//! observing commits.
//!
//! # Consistency protocol
//!
//! - Indexes are built lazily, on the first search (or stats call) of a collection,
//!   from a scan of the searching transaction's snapshot. This covers reopening the
//!   database and forked branches, which start with no index.
//! - The commit observer never touches an index. For collections with a registered
//!   entry it appends the commit's vector writes to the entry's *inbox* (a short
//!   mutex-protected queue) and records the commit version in `last_seen`. It runs
//!   under the engine's commit lock, so it does O(writes) cheap work and no I/O
//!   except when a collection, branch or space is deleted (its dump is removed).
//! - A search at snapshot `s` applies inbox writes with versions `<= s` to the index
//!   (under the index's write lock; HNSW graph insertions are deferred, see
//!   [`crate::VectorIndex`]), so a committed upsert or delete is visible to the next
//!   search. Then it searches under a read lock: many threads search at once.
//! - The observer holds the entry map's lock while it publishes a commit, and an entry
//!   is registered under the same lock, so every commit is either fully in the
//!   registering search's snapshot or delivered to the new entry's inbox.
//! - A search whose snapshot the index cannot represent exactly (a snapshot older than
//!   the index state, a transaction with uncommitted writes, or an observer that has
//!   not caught up within ~2 ms) falls back to an exact scan of the transaction's own
//!   view: always correct, O(collection size).

use crate::error::Result;
use crate::index::{DumpStatus, IndexConfig, IndexRecord, VectorIndex};
use crate::keys::{self, CollectionConfig, ParsedKey};
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use strata_storage::{
    tags, BranchId, CatalogEvent, CommitObserver, CommittedChange, Database, Scope, Transaction,
    Value, VersionedStore,
};

type EntryKey = (BranchId, String, String);

struct Pending {
    version: u64,
    key: String,
    value: Option<Value>,
}

struct State {
    index: Option<VectorIndex>,
    /// The index reflects every commit `<= applied` (and none after).
    applied: u64,
}

struct Entry {
    /// `last_seen` when the entry was registered: commits up to it are not in the
    /// inbox, so the index must be built from a snapshot at least this new.
    registered_at: u64,
    inbox: Mutex<VecDeque<Pending>>,
    state: RwLock<State>,
    /// Changed since the last dump.
    dirty: AtomicBool,
    /// What happened to the dump when the index was last built.
    load_status: Mutex<Option<DumpStatus>>,
}

/// The in-memory vector indexes of one database, one per (branch, space, collection).
/// Register it as a [`CommitObserver`] with [`VectorIndexes::attach`].
///
/// Thread-safe: searches take `&self`, and searches of one collection run in
/// parallel under a read lock.
pub struct VectorIndexes {
    config: IndexConfig,
    dump_dir: Option<PathBuf>,
    map: RwLock<HashMap<EntryKey, Arc<Entry>>>,
    last_seen: AtomicU64,
}

impl std::fmt::Debug for VectorIndexes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndexes")
            .field("indexes", &self.map.read().len())
            .field("last_seen", &self.last_seen.load(Ordering::SeqCst))
            .field("dump_dir", &self.dump_dir)
            .finish()
    }
}

/// How long a search waits for the observer to deliver a commit its snapshot already
/// includes (the engine publishes a version just before notifying observers).
const OBSERVER_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

impl VectorIndexes {
    /// Creates the manager and registers it with `db`. `dump_dir`, if given, is where
    /// HNSW graphs are dumped and reloaded (one subdirectory per index); `None` keeps
    /// everything in memory (use it for temporary databases). Cost: O(1).
    pub fn attach(
        db: &Database,
        config: IndexConfig,
        dump_dir: Option<PathBuf>,
    ) -> Arc<VectorIndexes> {
        let me = Arc::new(VectorIndexes {
            config,
            dump_dir,
            map: RwLock::new(HashMap::new()),
            last_seen: AtomicU64::new(0),
        });
        db.add_observer(me.clone());
        // Commits before registration are in every later snapshot; commits after it
        // reach the observer. fetch_max keeps whichever is newer.
        me.last_seen
            .fetch_max(db.committed_version().0, Ordering::SeqCst);
        me
    }

    /// The tuning used for new indexes.
    pub fn config(&self) -> &IndexConfig {
        &self.config
    }

    /// Number of collections with a registered (possibly not yet built) index.
    pub fn len(&self) -> usize {
        self.map.read().len()
    }

    /// True if no index is registered.
    pub fn is_empty(&self) -> bool {
        self.map.read().is_empty()
    }

    fn dump_path(&self, branch: BranchId, space: &str, collection: &str) -> Option<PathBuf> {
        self.dump_dir.as_ref().map(|d| {
            d.join(format!("b{}", branch.0))
                .join(hex(space))
                .join(hex(collection))
        })
    }

    /// Runs `f` on the index of `collection` as of `tx`'s snapshot, building or
    /// catching it up first (see the module docs). Falls back to a temporary exact
    /// index over `tx`'s view when the shared index cannot represent that snapshot.
    pub(crate) fn with_index<R>(
        &self,
        tx: &Transaction,
        scope: &Scope,
        collection: &str,
        cfg: &CollectionConfig,
        f: impl FnOnce(&VectorIndex) -> Result<R>,
    ) -> Result<R> {
        let s = tx.snapshot_version().0;
        if tx.pending_writes() > 0 || !self.wait_for(s) {
            return f(&fallback_index(tx, scope, collection, cfg)?);
        }
        let entry = self.entry(scope, collection);
        {
            let state = entry.state.read();
            if let Some(index) = &state.index {
                let caught_up = state.applied <= s
                    && entry.inbox.lock().front().is_none_or(|p| p.version > s)
                    && !index.needs_maintenance();
                if caught_up {
                    return f(index);
                }
            }
        }
        let mut state = entry.state.write();
        if state.applied > s || (state.index.is_none() && s < entry.registered_at) {
            drop(state);
            return f(&fallback_index(tx, scope, collection, cfg)?);
        }
        if state.index.is_none() {
            let records = scan_records(tx, scope, collection)?;
            let dump = self.dump_path(scope.branch, &scope.space, collection);
            let (index, status) = VectorIndex::load(
                collection,
                cfg.dimension,
                cfg.metric,
                self.config.clone(),
                records,
                dump.as_deref(),
            )?;
            let fresh_graph = matches!(status, DumpStatus::Missing | DumpStatus::Rejected(_))
                || matches!(status, DumpStatus::Loaded { stale, .. } if stale > 0);
            state.index = Some(index);
            state.applied = s;
            *entry.load_status.lock() = Some(status);
            if fresh_graph {
                entry.dirty.store(true, Ordering::SeqCst);
            }
        }
        let applied = state.applied;
        let mut changed = false;
        if let Some(index) = state.index.as_mut() {
            // Take the due writes out first: the observer must never wait behind an
            // index update (it holds the commit lock).
            let due: Vec<Pending> = {
                let mut inbox = entry.inbox.lock();
                let n = inbox.iter().take_while(|p| p.version <= s).count();
                inbox.drain(..n).collect()
            };
            for p in due {
                if p.version <= applied {
                    continue;
                }
                changed = true;
                match p.value {
                    Some(v) => match keys::decode_record(&p.key, &v) {
                        Ok((vector, metadata)) => {
                            index.upsert_unchecked(&p.key, &vector, metadata, p.version)
                        }
                        Err(e) => {
                            // The index missed a write: drop it so the next search
                            // rebuilds from the store, and report the damage.
                            state.index = None;
                            state.applied = 0;
                            return Err(e);
                        }
                    },
                    None => {
                        index.remove(&p.key);
                    }
                }
            }
            if index.needs_maintenance() {
                index.maintain();
            }
        }
        state.applied = s;
        if changed {
            entry.dirty.store(true, Ordering::SeqCst);
        }
        let state = parking_lot::RwLockWriteGuard::downgrade(state);
        match &state.index {
            Some(index) => f(index),
            None => f(&fallback_index(tx, scope, collection, cfg)?),
        }
    }

    /// Waits (briefly) until the observer has delivered commit `s`.
    fn wait_for(&self, s: u64) -> bool {
        if self.last_seen.load(Ordering::SeqCst) >= s {
            return true;
        }
        let start = std::time::Instant::now();
        while start.elapsed() < OBSERVER_WAIT {
            std::thread::yield_now();
            if self.last_seen.load(Ordering::SeqCst) >= s {
                return true;
            }
        }
        false
    }

    fn entry(&self, scope: &Scope, collection: &str) -> Arc<Entry> {
        let key = (scope.branch, scope.space.clone(), collection.to_owned());
        if let Some(e) = self.map.read().get(&key) {
            return e.clone();
        }
        let mut map = self.map.write();
        let registered_at = self.last_seen.load(Ordering::SeqCst);
        map.entry(key)
            .or_insert_with(|| {
                Arc::new(Entry {
                    registered_at,
                    inbox: Mutex::new(VecDeque::new()),
                    state: RwLock::new(State {
                        index: None,
                        applied: 0,
                    }),
                    dirty: AtomicBool::new(false),
                    load_status: Mutex::new(None),
                })
            })
            .clone()
    }

    /// How the index of `collection` used its dump when it was last built: `None`
    /// if it has not been built since it was registered or invalidated.
    pub fn load_status(&self, scope: &Scope, collection: &str) -> Option<DumpStatus> {
        let key = (scope.branch, scope.space.clone(), collection.to_owned());
        let entry = self.map.read().get(&key).cloned()?;
        let status = entry.load_status.lock().clone();
        status
    }

    /// Dumps every HNSW index changed since its last dump into the dump directory.
    /// Returns how many were written. Flat indexes are never dumped (rebuilding them
    /// is a scan). Cost: the graphs' size in sequential I/O.
    pub fn persist(&self) -> Result<usize> {
        let Some(_) = &self.dump_dir else {
            return Ok(0);
        };
        let entries: Vec<(EntryKey, Arc<Entry>)> = self
            .map
            .read()
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        let mut written = 0;
        for ((branch, space, collection), entry) in entries {
            if !entry.dirty.swap(false, Ordering::SeqCst) {
                continue;
            }
            let state = entry.state.read();
            let (Some(index), Some(path)) =
                (&state.index, self.dump_path(branch, &space, &collection))
            else {
                continue;
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| crate::VectorError::Dump(format!("{}: {e}", parent.display())))?;
            }
            match index.dump(&path, state.applied) {
                Ok(true) => written += 1,
                Ok(false) => {}
                Err(e) => {
                    entry.dirty.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        Ok(written)
    }

    fn drop_where(&self, pred: impl Fn(&EntryKey) -> bool) {
        self.map.write().retain(|k, _| !pred(k));
    }
}

impl Drop for VectorIndexes {
    fn drop(&mut self) {
        // Best effort: a missing or stale dump only costs a rebuild at next load.
        let _ = self.persist();
    }
}

impl CommitObserver for VectorIndexes {
    fn on_commit(&self, change: &CommittedChange) {
        let touches_config = change.writes.iter().any(|w| {
            w.tag == tags::VECTOR && matches!(keys::parse_key(&w.key), Some(ParsedKey::Config(_)))
        });
        let mut map = self.map.write_if(touches_config);
        for w in change.writes.iter().filter(|w| w.tag == tags::VECTOR) {
            match keys::parse_key(&w.key) {
                Some(ParsedKey::Vector { collection, key }) => {
                    let k = (w.scope.branch, w.scope.space.clone(), collection.to_owned());
                    if let Some(e) = map.get(&k) {
                        e.inbox.lock().push_back(Pending {
                            version: change.version.0,
                            key: key.to_owned(),
                            value: w.value.clone(),
                        });
                    }
                }
                Some(ParsedKey::Config(collection)) => {
                    // Created or deleted: any index under this name is obsolete.
                    let k = (w.scope.branch, w.scope.space.clone(), collection.to_owned());
                    map.remove(&k);
                    if w.value.is_none() {
                        if let Some(p) = self.dump_path(w.scope.branch, &w.scope.space, collection)
                        {
                            let _ = std::fs::remove_dir_all(p);
                        }
                    }
                }
                None => {}
            }
        }
        // Only now, with this commit's writes in the inboxes: a reader that sees
        // `last_seen >= v` (`wait_for`) may mark the index applied up to `v`, and a
        // write pushed after that would be skipped as already applied (a vector missing
        // from the index until the next rebuild; seen as a lost upsert under
        // concurrent searches).
        self.last_seen.fetch_max(change.version.0, Ordering::SeqCst);
        drop(map);
    }

    fn on_catalog_event(&self, event: &CatalogEvent) {
        match event {
            CatalogEvent::Forked { child, .. } => self.drop_where(|k| k.0 == *child),
            CatalogEvent::BranchImported(b) => self.drop_where(|k| k.0 == *b),
            CatalogEvent::BranchDeleted(b) => {
                self.drop_where(|k| k.0 == *b);
                if let Some(d) = &self.dump_dir {
                    let _ = std::fs::remove_dir_all(d.join(format!("b{}", b.0)));
                }
            }
            // Vector dumps are checked record by record against the store at load,
            // so a removal interrupted by a crash is caught there.
            CatalogEvent::SpaceDeleting(_) => {}
            CatalogEvent::SpaceDeleted(scope) => {
                self.drop_where(|k| k.0 == scope.branch && k.1 == scope.space);
                if let Some(d) = &self.dump_dir {
                    let _ = std::fs::remove_dir_all(
                        d.join(format!("b{}", scope.branch.0))
                            .join(hex(&scope.space)),
                    );
                }
            }
        }
    }
}

/// Read or write access to the entry map, chosen per commit.
enum MapGuard<'a> {
    Read(parking_lot::RwLockReadGuard<'a, HashMap<EntryKey, Arc<Entry>>>),
    Write(parking_lot::RwLockWriteGuard<'a, HashMap<EntryKey, Arc<Entry>>>),
}

impl MapGuard<'_> {
    fn get(&self, k: &EntryKey) -> Option<&Arc<Entry>> {
        match self {
            MapGuard::Read(m) => m.get(k),
            MapGuard::Write(m) => m.get(k),
        }
    }
    fn remove(&mut self, k: &EntryKey) {
        if let MapGuard::Write(m) = self {
            m.remove(k);
        }
    }
}

trait WriteIf {
    fn write_if(&self, write: bool) -> MapGuard<'_>;
}

impl WriteIf for RwLock<HashMap<EntryKey, Arc<Entry>>> {
    fn write_if(&self, write: bool) -> MapGuard<'_> {
        if write {
            MapGuard::Write(self.write())
        } else {
            MapGuard::Read(self.read())
        }
    }
}

/// A space or collection name as a directory name: its bytes in hex, or for names
/// whose hex would not fit a file name (255 bytes; names may have 255 bytes, i.e. 510
/// hex digits) the first 50 bytes in hex plus a crc32 of the whole name. Two long names
/// that shared a directory would still not share an index: a dump's records and their
/// versions must match the collection's to be used.
fn hex(s: &str) -> String {
    const MAX_HEX: usize = 200;
    let mut out = String::with_capacity((s.len() * 2).min(MAX_HEX + 9));
    for b in s
        .bytes()
        .take(if s.len() * 2 <= MAX_HEX { s.len() } else { 50 })
    {
        out.push_str(&format!("{b:02x}"));
    }
    if s.len() * 2 > MAX_HEX {
        out.push_str(&format!("-{:08x}", crc32fast::hash(s.as_bytes())));
    }
    out
}

/// All vectors of `collection` in `store`'s view (own writes included).
pub(crate) fn scan_records(
    store: &impl VersionedStore,
    scope: &Scope,
    collection: &str,
) -> Result<Vec<IndexRecord>> {
    let prefix = keys::vector_prefix(collection);
    let page = store.scan(scope, tags::VECTOR, &prefix, None, None)?;
    to_records(&prefix, page.entries)
}

pub(crate) fn to_records(
    prefix: &[u8],
    entries: Vec<(Vec<u8>, strata_storage::Versioned)>,
) -> Result<Vec<IndexRecord>> {
    entries
        .into_iter()
        .map(|(raw, v)| {
            let key = String::from_utf8(raw[prefix.len()..].to_vec())
                .map_err(|_| crate::VectorError::Corrupt("vector key is not UTF-8".into()))?;
            let (vector, metadata) = keys::decode_record(&key, &v.value)?;
            Ok(IndexRecord {
                key,
                vector,
                metadata,
                version: v.version.0,
            })
        })
        .collect()
}

/// An exact-only index over `records` (never builds a graph).
pub(crate) fn exact_index(
    collection: &str,
    cfg: &CollectionConfig,
    records: Vec<IndexRecord>,
) -> Result<VectorIndex> {
    let config = IndexConfig {
        hnsw_threshold: usize::MAX,
        ..IndexConfig::default()
    };
    let (index, _) = VectorIndex::load(
        collection,
        cfg.dimension,
        cfg.metric,
        config,
        records,
        None::<&Path>,
    )?;
    Ok(index)
}

fn fallback_index(
    tx: &Transaction,
    scope: &Scope,
    collection: &str,
    cfg: &CollectionConfig,
) -> Result<VectorIndex> {
    exact_index(collection, cfg, scan_records(tx, scope, collection)?)
}

#[cfg(test)]
mod tests {
    use super::hex;

    #[test]
    fn directory_names_fit_a_file_name_and_stay_distinct() {
        assert_eq!(hex("ab"), "6162");
        let long_a = "a".repeat(255);
        let mut long_b = "a".repeat(254);
        long_b.push('b');
        for name in [&long_a, &long_b] {
            assert!(hex(name).len() <= 255, "{}", hex(name).len());
        }
        assert_ne!(hex(&long_a), hex(&long_b));
        assert_eq!(hex(&"x".repeat(100)).len(), 200);
    }
}
