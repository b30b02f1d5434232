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

use crate::analyzer::Analyzer;
use crate::error::{Result, SearchError};
use crate::extract::{extract, SearchPrimitive};
use crate::fusion::{reciprocal_rank_fusion, DEFAULT_RRF_K};
use crate::keyword::{Bm25Config, KeywordIndex};
use crate::models::ModelConfig;
use crate::request::{SearchHit, SearchMode, SearchRequest};
use crate::vectors::{embed_checked, VectorIndex};
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use strata_storage::{
    BranchId, CatalogEvent, CommitObserver, CommitVersion, CommittedChange, Database, Scope,
    Timestamp, Value, VersionedStore,
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
struct DocKey {
    prim: SearchPrimitive,
    key: Vec<u8>,
}

#[derive(Debug)]
struct DocMeta {
    entity: String,
    timestamp: Timestamp,
}

/// The indexes of one (branch, space).
struct ScopeIndex {
    /// The snapshot the index was built from; queued changes at or below it are
    /// already included.
    built_at: CommitVersion,
    keyword: KeywordIndex<DocKey>,
    meta: HashMap<DocKey, DocMeta>,
    vectors: VectorIndex<DocKey>,
}

impl ScopeIndex {
    fn apply(&mut self, prim: SearchPrimitive, key: Vec<u8>, value: Option<&Value>, ts: Timestamp) {
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
}

/// Cross-primitive search over one [`Database`]: BM25 keyword search, and hybrid
/// search when an embedder is configured.
///
/// Attach it once per database with [`SearchIndex::attach`]; it then observes every
/// commit. Indexes are built per (branch, space) on the first query and live in
/// memory only (rebuilt after reopen).
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
        let index = Arc::new(SearchIndex {
            config,
            analyzer: Analyzer::english(),
            db_path: db.path().to_path_buf(),
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
    /// query.
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
            let built = self.build(db, scope)?;
            indexes.insert(scope.clone(), built);
        }
        let ix = indexes
            .get_mut(scope)
            .expect("the scope's index was just ensured");
        self.run(ix, req, &prims, &models, generation)
    }

    /// Applies queued changes and drops, in commit order.
    fn drain(&self, indexes: &mut HashMap<Scope, ScopeIndex>) {
        let ops = std::mem::take(&mut self.pending.lock().ops);
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
    }

    /// Builds `scope`'s index from a fresh snapshot. Cost: a scan of the scope's
    /// records plus analysing their text.
    fn build(&self, db: &Database, scope: &Scope) -> Result<ScopeIndex> {
        // Track first, then snapshot: see the module docs.
        self.pending.lock().tracked.insert(scope.clone());
        let snap = db.read();
        let mut ix = ScopeIndex {
            built_at: snap.snapshot_version(),
            keyword: KeywordIndex::with_config(self.config.bm25, self.analyzer.clone()),
            meta: HashMap::new(),
            vectors: VectorIndex::new(),
        };
        for prim in SearchPrimitive::INDEXED {
            let page = snap.scan(scope, prim.tag(), prim.key_prefix(), None, None)?;
            for (key, record) in page.entries {
                ix.apply(prim, key, Some(&record.value), record.timestamp);
            }
        }
        Ok(ix)
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
                vectors.ensure(generation, embedder.as_ref(), keyword.iter())?;
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

    /// Untracks the affected scopes and queues a drop of their indexes.
    fn on_catalog_event(&self, event: &CatalogEvent) {
        let mut pending = self.pending.lock();
        match event {
            CatalogEvent::Forked { child: b, .. }
            | CatalogEvent::BranchDeleted(b)
            | CatalogEvent::BranchImported(b) => {
                pending.tracked.retain(|s| s.branch != *b);
                pending.ops.push(PendingOp::DropBranch(*b));
            }
            CatalogEvent::SpaceDeleted(scope) => {
                pending.tracked.remove(scope);
                pending.ops.push(PendingOp::DropScope(scope.clone()));
            }
        }
    }
}
