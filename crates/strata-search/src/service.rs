//! The search service: keyword (and vector) indexes per branch and space, kept up to
//! date from the engine's commits.
//!
//! # How freshness works
//!
//! - The commit hook ([`SearchIndex::on_commit`], under the engine's commit lock) only
//!   copies the changed records of *tracked* scopes (those a query has asked for) into
//!   a queue. No text analysis runs on the commit path.
//! - A query first drains the queue into the built indexes (in commit order, skipping
//!   changes already covered by an index's build snapshot), then builds the asked-for
//!   scope's index if it has none, by scanning a fresh snapshot.
//! - A scope is marked tracked *before* its build snapshot is taken. The engine
//!   publishes a commit's version before calling observers, so every commit is either
//!   in the snapshot or queued (or both; the version check dedups).
//! - Catalog events (branch deleted/imported, space deleted, fork) untrack the scopes
//!   and queue a drop, so the next query rebuilds them from the store.
//! - If the queue grows past [`SearchConfig::max_pending`] without a query draining it,
//!   everything is dropped and rebuilt lazily: memory stays bounded.
//!
//! # Surviving reopen
//!
//! With a dump directory ([`SearchIndex::attach_with_dumps`]), [`SearchIndex::persist`]
//! (called by the facade's flush, and on drop, i.e. when the database closes) writes
//! every index changed since its last dump to a file (layout in `persist.rs`),
//! stamped with the commit version it covers. A scope's first query then loads,
//! in this order of preference:
//!
//! 1. the scope's own dump at version `D`, then re-reads only the keys the branch's
//!    change log ([`Database::changed_keys`]) shows written in `(D, now]`, deletes
//!    included: writes made after the dump, even by a process that was killed, are
//!    caught up;
//! 2. for a fork without a dump of its own, the nearest ancestor's dump of the same
//!    space, then re-reads the keys written on each branch of the chain between the
//!    ancestor's dump and the fork's view (its own writes, and the ancestor's writes
//!    between the dump and the fork point, in whichever order they lie);
//! 3. a full scan, when there is no usable dump: missing, damaged, of another format
//!    or analyzer, of a branch that was deleted and recreated (identity = id and
//!    creation time), or covering versions the store does not have.
//!
//! The dump is written after the store has synced the versions it covers (the
//! facade flushes the store first; on close the store syncs before observers are
//! dropped), so a dump never claims commits a crash could lose.
//! [`SearchIndex::load_report`] says which path the last load took and how many
//! documents it read from the store.

use crate::analyzer::Analyzer;
use crate::error::{Result, SearchError};
use crate::extract::{extract, SearchPrimitive};
use crate::fusion::{reciprocal_rank_fusion, DEFAULT_RRF_K};
use crate::keyword::{Bm25Config, KeywordIndex};
use crate::models::ModelConfig;
use crate::persist::{self, Identity};
use crate::request::{SearchHit, SearchMode, SearchRequest};
use crate::vectors::{embed_checked, VectorIndex};
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_storage::{
    BranchId, BranchInfo, CatalogEvent, CommitObserver, CommitVersion, CommittedChange, Database,
    Scope, Timestamp, Transaction, Value, VersionedStore,
};

/// Tuning of the search service. The defaults are StrataDB's documented search
/// defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchConfig {
    /// BM25 parameters (k1 = 0.9, b = 0.4).
    pub bm25: Bm25Config,
    /// Reciprocal Rank Fusion constant (60).
    pub rrf_k: f64,
    /// Snippet length in characters (160).
    pub snippet_chars: usize,
    /// Minimum candidates taken from each ranked list before fusion or reranking (50;
    /// at least `3·k` are taken).
    pub candidates: usize,
    /// Most expansions of one query that are searched (4).
    pub max_expansions: usize,
    /// Queued changes kept before all indexes are dropped for a lazy rebuild (100 000).
    pub max_pending: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            bm25: Bm25Config::default(),
            rrf_k: DEFAULT_RRF_K,
            snippet_chars: 160,
            candidates: 50,
            max_expansions: 4,
            max_pending: 100_000,
        }
    }
}

/// A document inside one scope's index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct DocKey {
    pub(crate) prim: SearchPrimitive,
    pub(crate) key: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct DocMeta {
    pub(crate) entity: String,
    pub(crate) timestamp: Timestamp,
}

/// Where a scope's index came from when it was last loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadSource {
    /// A full scan of the scope's records (no usable dump).
    Scan,
    /// The scope's own dump, caught up with the changes since.
    Dump,
    /// A dump of the same space on an ancestor branch (the fork had none of its own),
    /// caught up with the changes between it and the fork's view.
    AncestorDump(BranchId),
}

/// How a scope's index was last loaded; see [`SearchIndex::load_report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Where the index came from.
    pub source: LoadSource,
    /// The commit version of the dump used (`None` for a scan).
    pub dump_version: Option<CommitVersion>,
    /// Records read from the store and analysed by the load: every record of the scope
    /// for a scan, only the keys changed since the dump otherwise.
    pub docs_read: usize,
    /// Documents in the index once loaded.
    pub docs: usize,
    /// Why a dump that exists was not used (damaged, stale, another branch identity,
    /// ...), if one was rejected.
    pub rejected: Option<String>,
}

/// The indexes of one (branch, space).
struct ScopeIndex {
    /// The snapshot the index was built from; queued changes at or below it are
    /// already included.
    built_at: CommitVersion,
    keyword: KeywordIndex<DocKey>,
    meta: HashMap<DocKey, DocMeta>,
    vectors: VectorIndex<DocKey>,
    /// The branch and space it belongs to (`None` if the branch vanished during the
    /// load: never dumped).
    identity: Option<Identity>,
    /// Changed since it was last dumped (or loaded from its own up-to-date dump).
    dirty: bool,
    report: LoadReport,
}

impl ScopeIndex {
    fn apply(&mut self, prim: SearchPrimitive, key: Vec<u8>, value: Option<&Value>, ts: Timestamp) {
        self.dirty = true;
        let extracted = value.and_then(|v| extract(prim, &key, v));
        let doc = DocKey { prim, key };
        self.vectors.remove(&doc);
        match extracted {
            Some(e) if !e.text.trim().is_empty() => {
                self.keyword.upsert(doc.clone(), &e.text);
                self.meta.insert(
                    doc,
                    DocMeta {
                        entity: e.entity,
                        timestamp: ts,
                    },
                );
            }
            _ => {
                self.keyword.remove(&doc);
                self.meta.remove(&doc);
            }
        }
    }
}

enum PendingOp {
    Write {
        scope: Scope,
        version: CommitVersion,
        timestamp: Timestamp,
        prim: SearchPrimitive,
        key: Vec<u8>,
        value: Option<Value>,
    },
    DropBranch(BranchId),
    DropScope(Scope),
    DropAll,
}

#[derive(Default)]
struct Pending {
    tracked: HashSet<Scope>,
    ops: Vec<PendingOp>,
    /// The newest commit delivered to the observer. Commits arrive in order, so every
    /// commit up to it has been seen.
    seen: CommitVersion,
}

/// Cross-primitive search over one [`Database`]: BM25 keyword search, and hybrid
/// search when an embedder is configured.
///
/// Attach it once per database with [`SearchIndex::attach`] (memory only) or
/// [`SearchIndex::attach_with_dumps`] (indexes saved on flush and close, reloaded and
/// caught up after a reopen); it then observes every commit. Indexes are loaded per
/// (branch, space) on the first query.
///
/// ```
/// use strata_search::{SearchIndex, SearchRequest};
/// use strata_storage::{tags, Database, Value, VersionedStore};
///
/// let db = Database::open_temporary()?;
/// let search = SearchIndex::attach(&db);
/// let scope = db.default_scope();
/// db.transact(|t| t.put(&scope, tags::KV, b"incident-1", Value::from("deployment failed on staging")))?;
/// db.transact(|t| t.put(&scope, tags::KV, b"lunch", Value::from("pizza on friday")))?;
///
/// let hits = search.search(&db, &scope, &SearchRequest::new("deployment failures"))?;
/// assert_eq!(hits[0].entity, "incident-1");
/// assert_eq!((hits[0].primitive.as_str(), hits[0].rank), ("kv", 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SearchIndex {
    config: SearchConfig,
    analyzer: Analyzer,
    db_path: PathBuf,
    dump_dir: Option<PathBuf>,
    pending: Mutex<Pending>,
    indexes: Mutex<HashMap<Scope, ScopeIndex>>,
    /// The models and a generation number bumped on every change (vectors from older
    /// generations are recomputed).
    models: RwLock<(ModelConfig, u64)>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("db_path", &self.db_path)
            .field("dump_dir", &self.dump_dir)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Creates a search index with default settings and registers it as `db`'s commit
    /// observer. Cheap: nothing is indexed until the first query.
    pub fn attach(db: &Database) -> Arc<SearchIndex> {
        Self::attach_with(db, SearchConfig::default())
    }

    /// Like [`SearchIndex::attach`] with explicit settings.
    pub fn attach_with(db: &Database, config: SearchConfig) -> Arc<SearchIndex> {
        Self::attach_with_dumps(db, config, None)
    }

    /// Like [`SearchIndex::attach_with`], saving indexes as files in `dump_dir` (one
    /// per branch and space) on [`SearchIndex::persist`] and when dropped, and loading
    /// them at a scope's first query (see the module docs). `None` keeps everything in
    /// memory. Cheap: nothing is read until the first query.
    pub fn attach_with_dumps(
        db: &Database,
        config: SearchConfig,
        dump_dir: Option<PathBuf>,
    ) -> Arc<SearchIndex> {
        let index = Arc::new(SearchIndex {
            config,
            analyzer: Analyzer::english(),
            db_path: db.path().to_path_buf(),
            dump_dir,
            pending: Mutex::new(Pending::default()),
            indexes: Mutex::new(HashMap::new()),
            models: RwLock::new((ModelConfig::default(), 0)),
        });
        db.add_observer(index.clone());
        index
    }

    /// The settings in use.
    pub fn config(&self) -> &SearchConfig {
        &self.config
    }

    /// Replaces the models. Stored document vectors are recomputed on the next hybrid
    /// query; vectors loaded from a dump are kept only if the model in use at that
    /// query reproduces them on a few probe documents (see `vectors.rs`).
    pub fn set_models(&self, models: ModelConfig) {
        let mut m = self.models.write();
        m.0 = models;
        m.1 += 1;
    }

    /// The models in use.
    pub fn models(&self) -> ModelConfig {
        self.models.read().0.clone()
    }

    /// Number of documents in `scope`'s index, or `None` if it is not built (yet, or
    /// any more). Applies queued changes first.
    pub fn indexed_docs(&self, scope: &Scope) -> Option<usize> {
        let mut indexes = self.indexes.lock();
        self.drain(&mut indexes);
        indexes.get(scope).map(|ix| ix.keyword.len())
    }

    /// How `scope`'s index in memory was loaded (from a dump or a scan, and how many
    /// records that read from the store), or `None` if it is not loaded.
    pub fn load_report(&self, scope: &Scope) -> Option<LoadReport> {
        self.indexes.lock().get(scope).map(|ix| ix.report.clone())
    }

    /// The directory dumps are written to, if any.
    pub fn dump_dir(&self) -> Option<&Path> {
        self.dump_dir.as_deref()
    }

    /// Writes the dump of every index changed since its last dump (after applying
    /// queued changes) and returns how many were written; does nothing without a dump
    /// directory. `db` (the database this index is attached to) is synced first when
    /// anything is to be written, so a dump never covers commits a crash could lose.
    /// Cost: one store sync, then encoding and writing each changed index (about its
    /// documents' text size plus 8 bytes per term occurrence) with one fsync per file;
    /// holds the index lock, so queries wait meanwhile.
    ///
    /// Errors: [`SearchError::Dump`] when a file cannot be written (the index stays
    /// marked changed, so the next call retries), a storage error if the sync fails,
    /// [`SearchError::InvalidRequest`] for another database.
    pub fn persist(&self, db: &Database) -> Result<usize> {
        if db.path() != self.db_path {
            return Err(SearchError::InvalidRequest(format!(
                "this search index belongs to the database at {}, not {}",
                self.db_path.display(),
                db.path().display()
            )));
        }
        self.persist_with(|| Ok(db.flush()?))
    }

    /// [`SearchIndex::persist`] with `sync` making every commit delivered so far
    /// durable; called only if some index is to be written.
    fn persist_with(&self, sync: impl FnOnce() -> Result<()>) -> Result<usize> {
        let Some(dir) = &self.dump_dir else {
            return Ok(0);
        };
        let mut indexes = self.indexes.lock();
        let seen = self.drain(&mut indexes);
        if !indexes.values().any(|ix| ix.dirty && ix.identity.is_some()) {
            return Ok(0);
        }
        // Every commit the indexes reflect was delivered before the drain above.
        sync()?;
        let mut written: Vec<(Scope, PathBuf)> = Vec::new();
        let mut failure = None;
        for (scope, ix) in indexes.iter_mut() {
            let Some(identity) = ix.identity.as_ref().filter(|_| ix.dirty) else {
                continue;
            };
            let covered = ix.built_at.max(seen);
            let bytes =
                persist::encode(covered, identity, &ix.keyword, &ix.meta, ix.vectors.saved());
            let path = persist::scope_file(dir, scope.branch, &scope.space);
            match persist::write_file(&path, &bytes) {
                Ok(()) => {
                    ix.dirty = false;
                    written.push((scope.clone(), path));
                }
                Err(e) => {
                    failure.get_or_insert(SearchError::Dump(format!(
                        "writing {}: {e}",
                        path.display()
                    )));
                }
            }
        }
        // A branch or space deleted while the files were written: its event removed the
        // file before or will after this check, or queued a drop that this check sees.
        let pending = self.pending.lock();
        for op in &pending.ops {
            let gone = |s: &Scope| match op {
                PendingOp::DropBranch(b) => s.branch == *b,
                PendingOp::DropScope(d) => s == d,
                _ => false,
            };
            for (scope, path) in &written {
                if gone(scope) {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(written.len()),
        }
    }

    /// Searches `scope` of `db` (which must be the database this index is attached to).
    ///
    /// Sees every commit made before the call. The first query for a scope scans its
    /// records (cost proportional to the scope's size); later ones cost the queued
    /// changes plus the query itself (well under a millisecond for keyword search over
    /// 50 000 short records). Hybrid queries also embed any records not embedded yet.
    ///
    /// Errors: unknown primitive names, an empty query, `k == 0`, an inverted time
    /// range, a failing model, or a storage failure during a build.
    pub fn search(
        &self,
        db: &Database,
        scope: &Scope,
        req: &SearchRequest,
    ) -> Result<Vec<SearchHit>> {
        if db.path() != self.db_path {
            return Err(SearchError::InvalidRequest(format!(
                "this search index belongs to the database at {}, not {}",
                self.db_path.display(),
                db.path().display()
            )));
        }
        let prims = resolve_primitives(req.primitives.as_deref())?;
        if req.query.trim().is_empty() {
            return Err(SearchError::InvalidRequest("the query is empty".into()));
        }
        if req.k == 0 {
            return Err(SearchError::InvalidRequest("k must be at least 1".into()));
        }
        if let Some((start, end)) = req.time_range {
            if start > end {
                return Err(SearchError::InvalidRequest(format!(
                    "time range start {start} is after its end {end}"
                )));
            }
        }
        let (models, generation) = self.models.read().clone();
        let mut indexes = self.indexes.lock();
        self.drain(&mut indexes);
        if !indexes.contains_key(scope) {
            let loaded = self.load(db, scope)?;
            indexes.insert(scope.clone(), loaded);
        }
        let ix = indexes
            .get_mut(scope)
            .expect("the scope's index was just ensured");
        self.run(ix, req, &prims, &models, generation)
    }

    /// Applies queued changes and drops, in commit order. Returns the newest commit
    /// the observer had delivered when the queue was taken: every index then reflects
    /// every commit up to it (or up to its build snapshot, if newer).
    fn drain(&self, indexes: &mut HashMap<Scope, ScopeIndex>) -> CommitVersion {
        let (ops, seen) = {
            let mut p = self.pending.lock();
            (std::mem::take(&mut p.ops), p.seen)
        };
        for op in ops {
            match op {
                PendingOp::Write {
                    scope,
                    version,
                    timestamp,
                    prim,
                    key,
                    value,
                } => {
                    if let Some(ix) = indexes.get_mut(&scope) {
                        if version > ix.built_at {
                            ix.apply(prim, key, value.as_ref(), timestamp);
                        }
                    }
                }
                PendingOp::DropBranch(b) => indexes.retain(|s, _| s.branch != b),
                PendingOp::DropScope(s) => {
                    indexes.remove(&s);
                }
                PendingOp::DropAll => indexes.clear(),
            }
        }
        seen
    }

    /// Loads `scope`'s index as of a fresh snapshot: from a dump plus the changes
    /// since, or by a full scan (see the module docs). Cost: a dump load costs reading
    /// the file plus the changed keys; a scan costs reading and analysing every record.
    fn load(&self, db: &Database, scope: &Scope) -> Result<ScopeIndex> {
        // Track first, then snapshot: see the module docs.
        self.pending.lock().tracked.insert(scope.clone());
        let snap = db.read();
        let chain = branch_chain(db, scope.branch, snap.snapshot_version());
        let identity = match chain.first() {
            Some((info, _)) => identity_of(db, info, &scope.space)?,
            None => None,
        };
        let mut rejected = None;
        // A scope whose branch or space does not exist (any more) never uses a dump.
        if let (Some(dir), Some(_)) = (&self.dump_dir, &identity) {
            match self.load_dump(dir, &snap, scope, &chain)? {
                Ok(mut ix) => {
                    ix.identity = identity;
                    return Ok(ix);
                }
                Err(reason) => rejected = reason,
            }
        }
        let mut ix = self.empty(snap.snapshot_version(), identity);
        let mut read = 0;
        for prim in SearchPrimitive::INDEXED {
            let page = snap.scan(scope, prim.tag(), prim.key_prefix(), None, None)?;
            read += page.entries.len();
            for (key, record) in page.entries {
                ix.apply(prim, key, Some(&record.value), record.timestamp);
            }
        }
        ix.dirty = true;
        ix.report = LoadReport {
            source: LoadSource::Scan,
            dump_version: None,
            docs_read: read,
            docs: ix.keyword.len(),
            rejected,
        };
        Ok(ix)
    }

    fn empty(&self, built_at: CommitVersion, identity: Option<Identity>) -> ScopeIndex {
        ScopeIndex {
            built_at,
            keyword: KeywordIndex::with_config(self.config.bm25, self.analyzer.clone()),
            meta: HashMap::new(),
            vectors: VectorIndex::new(),
            identity,
            dirty: false,
            report: LoadReport {
                source: LoadSource::Scan,
                dump_version: None,
                docs_read: 0,
                docs: 0,
                rejected: None,
            },
        }
    }

    /// Tries the dumps of `scope`'s branch, then of its ancestors (`chain`: each
    /// branch of the fork chain with the newest version of it the scope sees). Returns
    /// the loaded and caught-up index, or why no dump was usable (`None`: there was
    /// none). Storage errors while catching up are errors.
    fn load_dump(
        &self,
        dir: &Path,
        snap: &Transaction,
        scope: &Scope,
        chain: &[(BranchInfo, CommitVersion)],
    ) -> Result<std::result::Result<ScopeIndex, Option<String>>> {
        let now = snap.snapshot_version();
        let mut rejected: Option<String> = None;
        for (j, (info, limit)) in chain.iter().enumerate() {
            let path = persist::scope_file(dir, info.id, &scope.space);
            let dump = match persist::read_file(&path, self.config.bm25, &self.analyzer) {
                Ok(Some(d)) => d,
                Ok(None) => continue,
                Err(reason) => {
                    rejected.get_or_insert(format!("{}: {reason}", path.display()));
                    continue;
                }
            };
            let expect = identity_of(snap.database(), info, &scope.space)?;
            if expect.as_ref() != Some(&dump.identity) {
                rejected.get_or_insert(format!(
                    "{}: made for branch {} created at {}, space {:?} created at {}, not this one",
                    path.display(),
                    dump.identity.branch.0,
                    dump.identity.branch_created,
                    dump.identity.space,
                    dump.identity.space_created
                ));
                continue;
            }
            if dump.covered > now {
                rejected.get_or_insert(format!(
                    "{}: covers version {}, the store has only {}",
                    path.display(),
                    dump.covered.0,
                    now.0
                ));
                continue;
            }
            // Keys whose visible record may differ between the dump and the snapshot.
            let mut ranges: Vec<(BranchId, CommitVersion, CommitVersion)> = chain[..j]
                .iter()
                .map(|(b, lim)| (b.id, CommitVersion(0), *lim))
                .collect();
            ranges.push((info.id, dump.covered.min(*limit), dump.covered.max(*limit)));
            let mut changed: BTreeSet<(SearchPrimitive, Vec<u8>)> = BTreeSet::new();
            for (b, after, upto) in ranges {
                for (space, tag, key) in snap_changes(snap, b, after, upto)? {
                    let Some(prim) = SearchPrimitive::indexed_from_tag(tag) else {
                        continue;
                    };
                    if space == scope.space && key.starts_with(prim.key_prefix()) {
                        changed.insert((prim, key));
                    }
                }
            }
            let mut ix = self.empty(now, None);
            ix.keyword = dump.keyword;
            ix.meta = dump.meta;
            if let Some((dim, vecs)) = dump.vectors {
                ix.vectors.restore(dim, vecs);
            }
            let read = changed.len();
            for (prim, key) in changed {
                match snap.get(scope, prim.tag(), &key)? {
                    Some(rec) => ix.apply(prim, key, Some(&rec.value), rec.timestamp),
                    None => ix.apply(prim, key, None, 0),
                }
            }
            // Loaded from its own dump with nothing to catch up: the file is current.
            ix.dirty = j > 0 || read > 0;
            ix.report = LoadReport {
                source: if j == 0 {
                    LoadSource::Dump
                } else {
                    LoadSource::AncestorDump(info.id)
                },
                dump_version: Some(dump.covered),
                docs_read: read,
                docs: ix.keyword.len(),
                rejected: rejected.clone(),
            };
            return Ok(Ok(ix));
        }
        Ok(Err(rejected))
    }

    fn run(
        &self,
        ix: &mut ScopeIndex,
        req: &SearchRequest,
        prims: &HashSet<SearchPrimitive>,
        models: &ModelConfig,
        generation: u64,
    ) -> Result<Vec<SearchHit>> {
        let ScopeIndex {
            keyword,
            meta,
            vectors,
            dirty,
            ..
        } = ix;
        let meta = &*meta;
        let filter = |doc: &DocKey| {
            prims.contains(&doc.prim)
                && req.time_range.is_none_or(|(start, end)| {
                    meta.get(doc)
                        .is_some_and(|m| (start..=end).contains(&m.timestamp))
                })
        };
        let query = req.query.trim();
        let k = req.k;
        let mut queries = vec![query.to_owned()];
        if let Some(expander) = models
            .expander
            .as_ref()
            .filter(|_| req.expand != Some(false))
        {
            let extra = expander
                .expand(query)
                .map_err(|detail| SearchError::Model {
                    model: "expander",
                    detail,
                })?;
            for q in extra {
                let q = q.trim();
                if queries.len() > self.config.max_expansions {
                    break;
                }
                if !q.is_empty() && !queries.iter().any(|e| e == q) {
                    queries.push(q.to_owned());
                }
            }
        }
        let embedder = models
            .embedder
            .as_ref()
            .filter(|_| req.mode == SearchMode::Hybrid);
        let reranker = models
            .reranker
            .as_ref()
            .filter(|_| req.rerank != Some(false));
        let fuse = embedder.is_some() || queries.len() > 1;
        let depth = if fuse || reranker.is_some() {
            (k.saturating_mul(3)).max(self.config.candidates)
        } else {
            k
        };

        let mut ranked: Vec<(DocKey, f64)> = if fuse {
            let mut lists: Vec<Vec<DocKey>> = queries
                .iter()
                .map(|q| {
                    keyword
                        .search_filtered(q, depth, filter)
                        .into_iter()
                        .map(|h| h.key)
                        .collect()
                })
                .collect();
            if let Some(embedder) = embedder {
                if vectors.ensure(generation, embedder.as_ref(), keyword.iter())? > 0 {
                    // New vectors are worth saving with the next dump.
                    *dirty = true;
                }
                let qvecs = embed_checked(embedder.as_ref(), &queries, vectors.dim())?;
                for qv in qvecs {
                    lists.push(
                        vectors
                            .search(&qv, depth, filter)
                            .into_iter()
                            .filter(|(_, sim)| *sim > 0.0)
                            .map(|(doc, _)| doc)
                            .collect(),
                    );
                }
            }
            let mut fused = reciprocal_rank_fusion(&lists, self.config.rrf_k);
            fused.truncate(depth);
            fused
        } else {
            keyword
                .search_filtered(query, depth, filter)
                .into_iter()
                .map(|h| (h.key, h.score))
                .collect()
        };

        if let Some(reranker) = reranker.filter(|_| !ranked.is_empty()) {
            let texts: Vec<String> = ranked
                .iter()
                .map(|(doc, _)| keyword.text(doc).unwrap_or_default().to_owned())
                .collect();
            let scores = reranker
                .rerank(query, &texts)
                .map_err(|detail| SearchError::Model {
                    model: "reranker",
                    detail,
                })?;
            if scores.len() != texts.len() || scores.iter().any(|s| !s.is_finite()) {
                return Err(SearchError::Model {
                    model: "reranker",
                    detail: format!(
                        "returned {} scores for {} documents (all must be finite)",
                        scores.len(),
                        texts.len()
                    ),
                });
            }
            // Stable sort: equal reranker scores keep the fused order.
            let mut rescored: Vec<(DocKey, f64)> = ranked
                .into_iter()
                .zip(scores)
                .map(|((doc, _), s)| (doc, f64::from(s)))
                .collect();
            rescored.sort_by(|a, b| b.1.total_cmp(&a.1));
            ranked = rescored;
        }

        ranked.truncate(k);
        let snippet_query = queries.join(" ");
        Ok(ranked
            .into_iter()
            .enumerate()
            .map(|(i, (doc, score))| SearchHit {
                entity: meta.get(&doc).map(|m| m.entity.clone()).unwrap_or_default(),
                primitive: doc.prim.name().to_owned(),
                score,
                rank: i + 1,
                snippet: keyword
                    .snippet(&doc, &snippet_query, self.config.snippet_chars)
                    .unwrap_or_default(),
            })
            .collect())
    }
}

/// The set of indexed primitives named by `names` (all when `None`).
fn resolve_primitives(names: Option<&[String]>) -> Result<HashSet<SearchPrimitive>> {
    match names {
        None => Ok(SearchPrimitive::INDEXED.into_iter().collect()),
        Some(names) => names.iter().map(|n| SearchPrimitive::parse(n)).collect(),
    }
}

impl CommitObserver for SearchIndex {
    /// Queues the commit's changes to tracked scopes. Cost: a lock, a hash lookup per
    /// written key, and a copy of each indexed record.
    fn on_commit(&self, change: &CommittedChange) {
        let mut pending = self.pending.lock();
        pending.seen = pending.seen.max(change.version);
        if pending.tracked.is_empty() {
            return;
        }
        for w in &change.writes {
            let Some(prim) = SearchPrimitive::indexed_from_tag(w.tag) else {
                continue;
            };
            if !w.key.starts_with(prim.key_prefix()) || !pending.tracked.contains(&w.scope) {
                continue;
            }
            pending.ops.push(PendingOp::Write {
                scope: w.scope.clone(),
                version: change.version,
                timestamp: change.timestamp,
                prim,
                key: w.key.clone(),
                value: w.value.clone(),
            });
        }
        if pending.ops.len() > self.config.max_pending {
            pending.tracked.clear();
            pending.ops.clear();
            pending.ops.push(PendingOp::DropAll);
        }
    }

    /// Untracks the affected scopes, queues a drop of their indexes and removes their
    /// dumps (a deleted space's keys may be removed physically, leaving nothing in the
    /// change log to catch up with).
    fn on_catalog_event(&self, event: &CatalogEvent) {
        let mut pending = self.pending.lock();
        match event {
            CatalogEvent::Forked { child: b, .. }
            | CatalogEvent::BranchDeleted(b)
            | CatalogEvent::BranchImported(b) => {
                pending.tracked.retain(|s| s.branch != *b);
                pending.ops.push(PendingOp::DropBranch(*b));
                drop(pending);
                if let Some(dir) = &self.dump_dir {
                    let _ = std::fs::remove_dir_all(persist::branch_dir(dir, *b));
                }
            }
            // Keys are about to be removed without change-log entries: remove the
            // dump first, so a crash in the middle leaves no dump to trust (the next
            // load scans), then drop the index when the deletion completes.
            CatalogEvent::SpaceDeleting(scope) => {
                drop(pending);
                if let Some(dir) = &self.dump_dir {
                    let _ =
                        std::fs::remove_file(persist::scope_file(dir, scope.branch, &scope.space));
                }
            }
            CatalogEvent::SpaceDeleted(scope) => {
                pending.tracked.remove(scope);
                pending.ops.push(PendingOp::DropScope(scope.clone()));
                drop(pending);
                if let Some(dir) = &self.dump_dir {
                    let _ =
                        std::fs::remove_file(persist::scope_file(dir, scope.branch, &scope.space));
                }
            }
        }
    }
}

impl Drop for SearchIndex {
    /// Saves changed indexes. Best effort: a missing or stale dump only costs a scan
    /// at the next load. The engine has synced the store by now (it drops its
    /// observers after closing).
    fn drop(&mut self) {
        let _ = self.persist_with(|| Ok(()));
    }
}

/// The identity of `space` on the branch `info`, or `None` if the space does not exist
/// there. Cost: one catalog read.
fn identity_of(db: &Database, info: &BranchInfo, space: &str) -> Result<Option<Identity>> {
    Ok(db
        .space_created_at(info.id, space)?
        .map(|space_created| Identity {
            branch: info.id,
            branch_created: info.created_at,
            space: space.to_owned(),
            space_created,
        }))
}

/// `branch` and its ancestors, each with the newest of its versions visible from
/// `branch` at `now` (fork points cap the ancestors'). Empty if the branch is unknown.
fn branch_chain(
    db: &Database,
    branch: BranchId,
    now: CommitVersion,
) -> Vec<(BranchInfo, CommitVersion)> {
    let mut chain = Vec::new();
    let mut next = Some(branch);
    let mut limit = now;
    while let Some(id) = next {
        let Some(info) = db.branch_name(id).and_then(|n| db.branch_info(&n)) else {
            break;
        };
        next = info.parent;
        let fork = info.fork_version;
        chain.push((info, limit));
        limit = limit.min(fork);
    }
    chain
}

/// The change-log entries of `branch` in `(after, upto]` (see
/// [`Database::changed_keys`]), read through the database that `snap` belongs to.
fn snap_changes(
    snap: &Transaction,
    branch: BranchId,
    after: CommitVersion,
    upto: CommitVersion,
) -> Result<Vec<(String, strata_storage::PrimitiveTag, Vec<u8>)>> {
    Ok(snap.database().changed_keys(branch, after, upto)?)
}
