//! The in-memory index of one collection: a dense arena of vectors addressed by point
//! id, exact (flat) search, and an HNSW graph once the collection is large.
//!
//! The HNSW graph exists twice: the builder's graph (`graph`, see `graph.rs`), which
//! builds it and takes further insertions, and a flat copy of its neighbour lists
//! (`flat`, see `flat.rs`), which answers every search. Both read their vectors from
//! this index's own arena. After a load from a dump only the flat copy exists; the
//! builder's graph is rebuilt from it when the first insertion needs it.
//!
//! Invariants:
//! - Point ids index `slots`, `data` (`dim` floats each) and `inv_norm`.
//! - Flat mode (no graph): every slot is live; a delete moves the last slot into the
//!   hole, so there are no tombstones.
//! - HNSW mode (`flat` is `Some`): slots are append-only; an update or delete marks
//!   the old slot dead (a tombstone the search walks through but never returns) and
//!   an update appends a new slot. Slots not yet in the graph are listed in
//!   `pending` and scored exactly at search time until [`VectorIndex::maintain`]
//!   inserts them into the graph and extracts a new flat copy. When tombstones
//!   exceed [`IndexConfig::max_tombstone_ratio`] of all slots, the graph is rebuilt
//!   from the live slots, so recall does not decay under churn.
//! - `half` (cosine and dot product, 128+ dimensions, CPUs with F16C) is a
//!   half-precision copy of the vectors of `flat`'s slots, walked instead of `data`;
//!   results are rescored from `data`. It is extended at each extraction and dropped
//!   with the graph.
//! - `unit` (cosine without a half copy) is the same for a unit-normalised f32 copy
//!   of the vectors (see `unit.rs`).
//! - `flat` is always a copy of the current graph: extracted from `graph` when that
//!   is in memory, else read from a dump (then `flat_source` names it, until the
//!   next extraction).

use crate::dump::{self, FlatSource, Manifest, ManifestEntry};
use crate::error::{Result, VectorError};
use crate::filter::MetadataFilter;
use crate::flat::FlatGraph;
use crate::graph::{Graph, HnswParams, Points};
use crate::half::HalfVectors;
use crate::kernels;
use crate::metric::Metric;
use crate::topk::TopK;
use crate::unit::UnitVectors;
use std::collections::HashMap;
use std::path::Path;
use strata_storage::Value;

/// Collections with at least this many live vectors are searched through an HNSW
/// graph; smaller ones by exact scan.
///
/// Measured with `examples/vector_bench.rs` (release, 2 shared cores, 20k x 384,
/// cosine, 100 clusters): exact scan 425 queries/s (memory-bound: 31 MB read per
/// query); HNSW (M=16, ef_construction=200) builds in 10-20 s and answers 1150
/// queries/s at ef=64 and 930 at ef=128, recall@10 1.00. On uniform random data
/// (crates.md) HNSW at ef=128 was *slower* than the exact scan with recall 0.68. So
/// around 20k the graph starts to pay for its build time and memory (~90 MB here,
/// triple the raw vectors) only on favourable data; below it the exact scan is fast
/// enough and always exact.
pub const DEFAULT_HNSW_THRESHOLD: usize = 20_000;

/// Tuning of one index. `Default` gives the documented production values; tests
/// lower the thresholds to exercise HNSW on small data.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexConfig {
    /// Live vectors at which the index switches from exact scan to HNSW
    /// ([`DEFAULT_HNSW_THRESHOLD`]). It switches back below half of this.
    pub hnsw_threshold: usize,
    /// Rebuild the graph when dead slots exceed this fraction of all slots (0.2).
    pub max_tombstone_ratio: f64,
    /// With a filter matching at most this fraction of live vectors (0.05), search
    /// scans the matches exactly instead of walking the graph: cheap (few matches)
    /// and returns exactly the true top-k.
    pub selective_filter_ratio: f64,
    /// Vectors waiting for graph insertion above which maintenance inserts them
    /// (1024). Waiting vectors are still found, by exact scoring.
    pub max_pending: usize,
    /// Graph parameters.
    pub hnsw: HnswParams,
}

/// Environment variable that, when set to a positive integer, overrides
/// `hnsw.ef_search` in [`IndexConfig::default`]. Read when a database opens; it exists
/// for the ef sweeps of `cargo xtask bench vector` and is not a tuning API.
pub const EF_SEARCH_ENV: &str = "STRATA_HNSW_EF_SEARCH";

impl Default for IndexConfig {
    fn default() -> Self {
        let mut hnsw = HnswParams::default();
        if let Some(ef) = std::env::var(EF_SEARCH_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&ef| ef > 0)
        {
            hnsw.ef_search = ef;
        }
        IndexConfig {
            hnsw_threshold: DEFAULT_HNSW_THRESHOLD,
            max_tombstone_ratio: 0.2,
            selective_filter_ratio: 0.05,
            max_pending: 1024,
            hnsw,
        }
    }
}

/// How an index answers searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexType {
    /// Exact scan over all vectors.
    Flat,
    /// Approximate search through an HNSW graph.
    Hnsw,
}

impl IndexType {
    /// `"flat"` or `"hnsw"`.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexType::Flat => "flat",
            IndexType::Hnsw => "hnsw",
        }
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchMatch {
    /// The vector's key.
    pub key: String,
    /// Similarity; higher is better (see [`Metric`] for each metric's definition).
    pub score: f32,
    /// The vector's metadata, if any.
    pub metadata: Option<Value>,
}

/// A vector to load into an index (from a store scan).
#[derive(Debug, Clone)]
pub struct IndexRecord {
    /// The key.
    pub key: String,
    /// The embedding.
    pub vector: Vec<f32>,
    /// Optional metadata object.
    pub metadata: Option<Value>,
    /// The commit version that wrote the record (used to validate dumps).
    pub version: u64,
}

/// What happened to an on-disk dump when an index was loaded.
#[derive(Debug, Clone, PartialEq)]
pub enum DumpStatus {
    /// The index is flat, or no dump directory was given: dumps are not used.
    NotUsed,
    /// No dump existed; the graph was built from the records.
    Missing,
    /// A dump existed but was unusable (damaged, other metric or dimension); the
    /// graph was built from the records.
    Rejected(String),
    /// The dump was loaded. `stale` counts records that differed from the dump (new,
    /// changed or deleted since it was written) and were patched in; `rebuilt` says
    /// whether the patches were many enough to trigger a rebuild.
    Loaded {
        /// The commit version the dump was stamped with.
        dump_version: u64,
        /// Records taken from the dump unchanged.
        reused: usize,
        /// Records that differed from the dump.
        stale: usize,
        /// Whether the index was rebuilt after patching.
        rebuilt: bool,
    },
}

#[derive(Debug, Clone)]
struct Slot {
    key: String,
    metadata: Option<Value>,
    version: u64,
    in_graph: bool,
}

/// Checks a vector against a collection's shape: non-empty, the right dimension,
/// finite components, and (for cosine) a non-zero norm. `what` names the vector in
/// messages ("vector", "query").
pub(crate) fn check_vector(
    collection: &str,
    dim: usize,
    metric: Metric,
    v: &[f32],
    what: &str,
) -> Result<()> {
    if v.is_empty() {
        return Err(VectorError::InvalidInput(format!(
            "{what} for collection {collection:?} is empty"
        )));
    }
    if v.len() != dim {
        return Err(VectorError::DimensionMismatch {
            collection: collection.to_owned(),
            expected: dim,
            got: v.len(),
        });
    }
    if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(VectorError::InvalidInput(format!(
            "{what} component {i} is {x}; NaN and infinite values are not allowed"
        )));
    }
    if metric == Metric::Cosine && kernels::norm(v) == 0.0 {
        return Err(VectorError::InvalidInput(format!(
            "{what} is all zeros: cosine similarity is undefined for collection {collection:?}"
        )));
    }
    Ok(())
}

/// A rough size in bytes of a metadata value in memory.
fn value_bytes(v: &Value) -> usize {
    let base = std::mem::size_of::<Value>();
    match v {
        Value::String(s) => base + s.capacity(),
        Value::Bytes(b) => base + b.capacity(),
        Value::Array(a) => base + a.iter().map(value_bytes).sum::<usize>(),
        Value::Object(o) => {
            base + o
                .iter()
                .map(|(k, v)| k.capacity() + 16 + value_bytes(v))
                .sum::<usize>()
        }
        _ => base,
    }
}

/// The in-memory index of one collection. See the module docs for its invariants.
///
/// Not internally synchronised: [`crate::VectorIndexes`] wraps it in a lock.
pub struct VectorIndex {
    name: String,
    dim: usize,
    metric: Metric,
    config: IndexConfig,
    data: Vec<f32>,
    inv_norm: Vec<f32>,
    slots: Vec<Slot>,
    /// `alive[pid]`: whether slot `pid` is live (not a tombstone). Kept apart from
    /// `slots` so the graph search's check reads one byte, not a 100-byte slot.
    alive: Vec<bool>,
    by_key: HashMap<String, u32>,
    live: usize,
    /// The builder's graph, when in memory.
    graph: Option<Graph>,
    /// The dump `flat` was read from, while `flat` is unchanged since.
    flat_source: Option<FlatSource>,
    /// The searchable copy of the graph; `Some` exactly in HNSW mode.
    flat: Option<FlatGraph>,
    /// Half-precision vectors of the graph's points, walked instead of `data` when
    /// the metric and CPU allow (see `half.rs`); covers `flat`'s slots when `Some`.
    half: Option<HalfVectors>,
    /// A unit-normalised copy walked instead of `data` by cosine collections without
    /// `half` (see `unit.rs`); covers `flat`'s slots when `Some`.
    unit: Option<UnitVectors>,
    pending: Vec<u32>,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("name", &self.name)
            .field("dim", &self.dim)
            .field("metric", &self.metric)
            .field("live", &self.live)
            .field("slots", &self.slots.len())
            .field("index_type", &self.index_type())
            .finish()
    }
}

impl VectorIndex {
    /// An empty index. `name` is only used in error messages. Fails if `dim` is 0.
    pub fn new(
        name: impl Into<String>,
        dim: usize,
        metric: Metric,
        config: IndexConfig,
    ) -> Result<Self> {
        let name = name.into();
        if dim == 0 {
            return Err(VectorError::InvalidInput(format!(
                "collection {name:?}: dimension must be at least 1"
            )));
        }
        Ok(VectorIndex {
            name,
            dim,
            metric,
            config,
            data: Vec::new(),
            inv_norm: Vec::new(),
            slots: Vec::new(),
            alive: Vec::new(),
            by_key: HashMap::new(),
            live: 0,
            graph: None,
            flat_source: None,
            flat: None,
            half: None,
            unit: None,
            pending: Vec::new(),
        })
    }

    /// The vector dimension.
    pub fn dimension(&self) -> usize {
        self.dim
    }

    /// The collection's metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Number of live vectors.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True if there are no live vectors.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Dead slots waiting for the next rebuild (always 0 in flat mode).
    pub fn tombstones(&self) -> usize {
        self.slots.len() - self.live
    }

    /// Whether `key` is indexed.
    pub fn contains(&self, key: &str) -> bool {
        self.by_key.contains_key(key)
    }

    /// Whether the builder's graph is in memory. It is only needed to insert into the
    /// graph: an index loaded from a dump searches its flat copy, and rebuilds the
    /// builder's graph from it at the first insertion (more than
    /// [`IndexConfig::max_pending`] new vectors, or a maintenance pass).
    pub fn graph_builder_loaded(&self) -> bool {
        self.graph.is_some()
    }

    /// Flat or HNSW.
    pub fn index_type(&self) -> IndexType {
        if self.flat.is_some() {
            IndexType::Hnsw
        } else {
            IndexType::Flat
        }
    }

    /// An estimate of the heap memory held: vectors, norms, keys, metadata, the key
    /// map, the flat graph, and the builder's graph when in memory (its neighbour
    /// lists; it holds no vectors). Cost: walks all keys and metadata.
    pub fn memory_bytes(&self) -> usize {
        let slots: usize = self
            .slots
            .iter()
            .map(|s| {
                std::mem::size_of::<Slot>()
                    + s.key.capacity()
                    + s.metadata.as_ref().map_or(0, value_bytes)
            })
            .sum();
        let map: usize = self
            .by_key
            .keys()
            .map(|k| k.capacity() + std::mem::size_of::<(String, u32)>() + 8)
            .sum();
        self.data.capacity() * 4
            + self.inv_norm.capacity() * 4
            + slots
            + map
            + self.pending.capacity() * 4
            + self.graph.as_ref().map_or(0, Graph::memory_bytes)
            + self.flat.as_ref().map_or(0, FlatGraph::memory_bytes)
            + self.half.as_ref().map_or(0, HalfVectors::memory_bytes)
            + self.unit.as_ref().map_or(0, UnitVectors::memory_bytes)
    }

    fn vector(&self, pid: u32) -> &[f32] {
        let start = pid as usize * self.dim;
        &self.data[start..start + self.dim]
    }

    fn push_slot(
        &mut self,
        key: &str,
        vector: &[f32],
        metadata: Option<Value>,
        version: u64,
    ) -> u32 {
        let pid = self.slots.len() as u32;
        crate::huge::reserve(&mut self.data, vector.len());
        self.data.extend_from_slice(vector);
        let n = kernels::norm(vector);
        self.inv_norm.push(if n > 0.0 { 1.0 / n } else { 0.0 });
        self.slots.push(Slot {
            key: key.to_owned(),
            metadata,
            version,
            in_graph: false,
        });
        self.alive.push(true);
        self.by_key.insert(key.to_owned(), pid);
        self.live += 1;
        pid
    }

    /// Inserts or replaces `key`. `version` is the commit that wrote it (0 outside a
    /// store). Validates the vector (see the crate docs) and that `metadata`, if
    /// given, is an object. Cost: O(dim); in HNSW mode the graph insertion is
    /// deferred to [`VectorIndex::maintain`], which this calls when due.
    pub fn upsert(
        &mut self,
        key: &str,
        vector: &[f32],
        metadata: Option<Value>,
        version: u64,
    ) -> Result<()> {
        check_vector(&self.name, self.dim, self.metric, vector, "vector")?;
        if let Some(m) = &metadata {
            if !matches!(m, Value::Object(_)) {
                return Err(VectorError::InvalidInput(format!(
                    "metadata must be an object (dict), got {}",
                    m.type_name()
                )));
            }
        }
        self.upsert_unchecked(key, vector, metadata, version);
        Ok(())
    }

    pub(crate) fn upsert_unchecked(
        &mut self,
        key: &str,
        vector: &[f32],
        metadata: Option<Value>,
        version: u64,
    ) {
        if self.flat.is_none() {
            if let Some(&pid) = self.by_key.get(key) {
                let start = pid as usize * self.dim;
                self.data[start..start + self.dim].copy_from_slice(vector);
                let n = kernels::norm(vector);
                self.inv_norm[pid as usize] = if n > 0.0 { 1.0 / n } else { 0.0 };
                let slot = &mut self.slots[pid as usize];
                slot.metadata = metadata;
                slot.version = version;
                return;
            }
            self.push_slot(key, vector, metadata, version);
        } else {
            self.kill(key);
            let pid = self.push_slot(key, vector, metadata, version);
            self.pending.push(pid);
        }
        self.maintain_if_due();
    }

    /// Marks `key`'s slot dead (HNSW mode). Returns whether it existed.
    fn kill(&mut self, key: &str) -> bool {
        let Some(pid) = self.by_key.remove(key) else {
            return false;
        };
        self.alive[pid as usize] = false;
        self.slots[pid as usize].metadata = None;
        self.live -= 1;
        true
    }

    /// Removes `key`; returns whether it was present. Cost: O(dim) in flat mode (the
    /// last vector moves into the hole), O(1) in HNSW mode (a tombstone).
    pub fn remove(&mut self, key: &str) -> bool {
        if self.flat.is_some() {
            let existed = self.kill(key);
            self.maintain_if_due();
            return existed;
        }
        let Some(pid) = self.by_key.remove(key) else {
            return false;
        };
        let pid = pid as usize;
        let last = self.slots.len() - 1;
        if pid != last {
            let (head, tail) = self.data.split_at_mut(last * self.dim);
            head[pid * self.dim..(pid + 1) * self.dim].copy_from_slice(&tail[..self.dim]);
            self.inv_norm[pid] = self.inv_norm[last];
            self.slots.swap(pid, last);
            self.alive.swap(pid, last);
            let moved = self.slots[pid].key.clone();
            self.by_key.insert(moved, pid as u32);
        }
        self.slots.pop();
        self.alive.pop();
        self.inv_norm.pop();
        self.data.truncate(last * self.dim);
        self.live -= 1;
        self.maintain_if_due();
        true
    }

    /// Whether [`VectorIndex::maintain`] has work to do.
    pub fn needs_maintenance(&self) -> bool {
        let c = &self.config;
        match &self.flat {
            None => self.live >= c.hnsw_threshold,
            Some(_) => {
                self.live < c.hnsw_threshold / 2
                    || self.tombstones() as f64 > c.max_tombstone_ratio * self.slots.len() as f64
                    || self.pending.len() > c.max_pending
            }
        }
    }

    fn maintain_if_due(&mut self) {
        if self.needs_maintenance() {
            self.maintain();
        }
    }

    /// Does due work: builds the graph when the collection reaches the HNSW
    /// threshold, drops it below half the threshold, rebuilds it when tombstones
    /// exceed the ratio, and inserts pending vectors (rebuilding the builder's graph
    /// from the flat copy first if it is not in memory, then extracting a new flat
    /// copy). Cost: a graph build is about `n * ef_construction * 2M` distance
    /// evaluations on all cores (seconds for 100k x 384); an extraction is O(points
    /// + edges), tens of milliseconds per 100k points.
    pub fn maintain(&mut self) {
        let c = &self.config;
        match &self.flat {
            None if self.live >= c.hnsw_threshold => self.rebuild(true),
            None => {}
            Some(_) if self.live < c.hnsw_threshold / 2 => self.rebuild(false),
            Some(_)
                if self.tombstones() as f64 > c.max_tombstone_ratio * self.slots.len() as f64 =>
            {
                self.rebuild(true)
            }
            Some(_) => self.flush_pending(),
        }
    }

    /// Inserts all pending live vectors into the graph and re-extracts the flat copy.
    fn flush_pending(&mut self) {
        if self.flat.is_none() {
            return;
        }
        let pids: Vec<u32> = std::mem::take(&mut self.pending)
            .into_iter()
            .filter(|&p| self.alive[p as usize])
            .collect();
        if pids.is_empty() {
            return;
        }
        if self.graph.is_none() {
            if let Some(flat) = &self.flat {
                let points = Points {
                    data: &self.data,
                    inv_norm: &self.inv_norm,
                    dim: self.dim,
                    metric: self.metric,
                };
                self.graph = Some(Graph::from_flat(flat, points, &self.config.hnsw));
            }
        }
        self.insert_into_graph(&pids);
        self.extract();
    }

    /// Inserts `pids` (live, not yet in the graph) into the builder's graph, which
    /// reads their vectors from the arena.
    fn insert_into_graph(&mut self, pids: &[u32]) {
        let Some(graph) = &mut self.graph else { return };
        let points = Points {
            data: &self.data,
            inv_norm: &self.inv_norm,
            dim: self.dim,
            metric: self.metric,
        };
        graph.insert(points, pids);
        for &p in pids {
            self.slots[p as usize].in_graph = true;
        }
    }

    /// Replaces the flat copy with a fresh extraction of the loaded graph.
    fn extract(&mut self) {
        if let Some(graph) = &self.graph {
            self.flat = Some(graph.extract(self.slots.len()));
            self.flat_source = None;
            self.refresh_walk_copies();
        }
    }

    /// Extends the copy the walk reads (half precision, or unit f32 for cosine) to
    /// the flat graph's slots (slots are append-only while the graph exists).
    /// Cost: O(new slots * dim).
    fn refresh_walk_copies(&mut self) {
        let Some(n) = self.flat.as_ref().map(FlatGraph::slot_count) else {
            self.half = None;
            self.unit = None;
            return;
        };
        if HalfVectors::supported(self.dim, self.metric) {
            let half = self.half.get_or_insert_with(|| HalfVectors::new(self.dim));
            if half.slots() > n {
                *half = HalfVectors::new(self.dim);
            }
            half.extend(&self.data, &self.inv_norm, self.metric, n);
        } else if self.metric == Metric::Cosine {
            let unit = self.unit.get_or_insert_with(|| UnitVectors::new(self.dim));
            if unit.slots() > n {
                *unit = UnitVectors::new(self.dim);
            }
            unit.extend(&self.data, &self.inv_norm, n);
        }
    }

    /// Moves the live slots to dense ids `0..live`, dropping tombstones. Cost: a copy
    /// of the live vectors.
    fn compact(&mut self) {
        let old_slots = std::mem::take(&mut self.slots);
        let old_data = std::mem::take(&mut self.data);
        let old_norm = std::mem::take(&mut self.inv_norm);
        let old_alive = std::mem::take(&mut self.alive);
        self.by_key.clear();
        self.data = crate::huge::with_capacity(self.live * self.dim);
        for (pid, slot) in old_slots.into_iter().enumerate() {
            if !old_alive[pid] {
                continue;
            }
            let new = self.slots.len() as u32;
            self.data
                .extend_from_slice(&old_data[pid * self.dim..(pid + 1) * self.dim]);
            self.inv_norm.push(old_norm[pid]);
            self.by_key.insert(slot.key.clone(), new);
            self.slots.push(slot);
            self.alive.push(true);
        }
    }

    /// Compacts live slots to dense ids (skipped when there is no tombstone, e.g. on
    /// a first build) and, if `with_graph`, builds a new graph.
    fn rebuild(&mut self, with_graph: bool) {
        self.pending.clear();
        self.graph = None;
        self.flat_source = None;
        self.flat = None;
        self.half = None;
        self.unit = None;
        if self.tombstones() > 0 {
            self.compact();
        }
        for slot in &mut self.slots {
            slot.in_graph = false;
        }
        if with_graph {
            self.graph = Some(Graph::new(self.slots.len(), &self.config.hnsw));
            let pids: Vec<u32> = (0..self.slots.len() as u32).collect();
            self.insert_into_graph(&pids);
            self.extract();
        }
    }

    /// The `k` most similar live vectors under the collection's metric, best first,
    /// keeping only those whose metadata matches `filter`. Exact in flat mode and for
    /// selective filters; approximate (HNSW) otherwise. Cost: O(n * dim) for exact
    /// scans; about `ef * M * log n` distance evaluations through the graph.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&MetadataFilter>,
    ) -> Result<Vec<SearchMatch>> {
        self.search_with_metric(query, k, filter, self.metric)
    }

    /// Like [`VectorIndex::search`] with another metric. A metric other than the
    /// collection's always uses the exact scan (the graph is built for one metric).
    pub fn search_with_metric(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&MetadataFilter>,
        metric: Metric,
    ) -> Result<Vec<SearchMatch>> {
        check_vector(&self.name, self.dim, metric, query, "query")?;
        let filter = filter.filter(|f| !f.is_empty());
        let q = prepare_query(query, metric);
        if k == 0 || self.live == 0 {
            return Ok(Vec::new());
        }
        let flat = match &self.flat {
            Some(g) if metric == self.metric => g,
            _ => return Ok(self.exact(&q, k, filter, metric, None)),
        };
        let mut eligible = self.live;
        if let Some(f) = filter {
            let limit = (self.config.selective_filter_ratio * self.live as f64) as usize;
            let mut matches = Vec::new();
            for (pid, s) in self.slots.iter().enumerate() {
                if self.alive[pid] && f.matches(s.metadata.as_ref()) {
                    matches.push(pid as u32);
                }
            }
            if matches.len() <= limit {
                return Ok(self.exact(&q, k, filter, metric, Some(&matches)));
            }
            eligible = matches.len();
        }
        // Deleted and filtered-out points are walked through but never returned.
        let keep = |id: u32| {
            self.alive[id as usize]
                && filter.is_none_or(|f| f.matches(self.slots[id as usize].metadata.as_ref()))
        };
        // The walk reads the half-precision or unit copy when there is one; its
        // results are rescored exactly.
        let half = self
            .half
            .as_ref()
            .filter(|h| h.slots() >= flat.slot_count());
        let unit = self
            .unit
            .as_ref()
            .filter(|u| u.slots() >= flat.slot_count());
        // The walk's scores from a copy differ from the arena's by rounding only, at
        // most `bound(id)`: f32 rounding of a `dim`-term dot product (under
        // dim * 2^-23 of |q||v|, once in the walk and once in the arena) plus, for the
        // half copy, 2^-11 per component (taken twice). So the exact top k are among
        // the approximate top k and the points whose score could still reach the
        // k-th's; only those are rescored from the arena (on GloVe about 10-12 points
        // instead of a fixed 2k + 8, each a cache miss).
        let rounding = self.dim as f32 * 2f32.powi(-22);
        let q_norm = kernels::norm(&q);
        let bound = |id: u32, half: bool| -> f32 {
            let rel = if half {
                rounding + 2f32.powi(-10)
            } else {
                rounding
            };
            match metric {
                // Unit query, unit (or unit-scaled) vector.
                Metric::Cosine => rel,
                _ => {
                    let inv = self.inv_norm[id as usize];
                    if inv > 0.0 {
                        rel * q_norm / inv
                    } else {
                        0.0
                    }
                }
            }
        };
        let rescore = |found: Vec<(f32, u32)>, top: &mut TopK, half: bool| {
            let chosen: Vec<u32> = if found.len() <= k {
                found.iter().map(|&(_, id)| id).collect()
            } else {
                let worst = found[..k]
                    .iter()
                    .map(|&(_, id)| bound(id, half))
                    .fold(0.0f32, f32::max);
                let floor = -found[k - 1].0 - worst;
                found
                    .iter()
                    .enumerate()
                    .filter(|&(i, &(d, id))| i < k || -d + bound(id, half) >= floor)
                    .map(|(_, &(_, id))| id)
                    .collect()
            };
            for &id in &chosen {
                kernels::prefetch_all(self.vector(id));
            }
            for &id in &chosen {
                top.push(self.raw_score(&q, id, metric), id);
            }
        };
        let mut ef = self.config.hnsw.ef_search.max(k);
        loop {
            let mut top = TopK::new(k);
            // The three walks differ only in the copy they read. They stay written out:
            // a shared helper taking the score and row as closures measured 0-10%
            // slower on GloVe (one more level of captured references in the loop).
            // Every visited point's vector is prefetched whole before it is scored:
            // even a 50-d vector spans four lines, and leaving the last two to the
            // hardware cost about 8% of the queries per second on GloVe.
            if let Some(h) = half {
                let found = kernels::with_simd_half(
                    #[inline(always)]
                    || {
                        flat.search(
                            ef,
                            #[inline(always)]
                            |id| -h.score(&q, id),
                            keep,
                            |id| kernels::prefetch_all(h.row(id)),
                        )
                    },
                );
                rescore(found, &mut top, true);
            } else if let Some(u) = unit {
                let found = kernels::with_simd(
                    #[inline(always)]
                    || {
                        flat.search(
                            ef,
                            #[inline(always)]
                            |id| -u.score(&q, id),
                            keep,
                            |id| kernels::prefetch_all(u.vector(id)),
                        )
                    },
                );
                rescore(found, &mut top, false);
            } else {
                let found = kernels::with_simd(
                    #[inline(always)]
                    || {
                        flat.search(
                            ef,
                            #[inline(always)]
                            |id| -self.raw_score(&q, id, metric),
                            keep,
                            |id| kernels::prefetch_all(self.vector(id)),
                        )
                    },
                );
                for (d, id) in found {
                    top.push(-d, id);
                }
            }
            for &pid in &self.pending {
                let s = &self.slots[pid as usize];
                if self.alive[pid as usize] && filter.is_none_or(|f| f.matches(s.metadata.as_ref()))
                {
                    top.push(self.raw_score(&q, pid, metric), pid);
                }
            }
            let hits = top.into_sorted();
            if hits.len() >= k.min(eligible) {
                return Ok(self.to_matches(hits, metric));
            }
            if ef >= self.slots.len() {
                return Ok(self.exact(&q, k, filter, metric, None));
            }
            ef = (ef * 4).min(self.slots.len());
        }
    }

    /// Exact top-k over all live vectors (or only `candidates`), for any metric.
    /// Cost: O(n * dim). Used directly by tests and benchmarks to measure recall.
    pub fn search_exact(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&MetadataFilter>,
        metric: Metric,
    ) -> Result<Vec<SearchMatch>> {
        check_vector(&self.name, self.dim, metric, query, "query")?;
        let q = prepare_query(query, metric);
        Ok(self.exact(&q, k, filter.filter(|f| !f.is_empty()), metric, None))
    }

    fn exact(
        &self,
        q: &[f32],
        k: usize,
        filter: Option<&MetadataFilter>,
        metric: Metric,
        candidates: Option<&[u32]>,
    ) -> Vec<SearchMatch> {
        let mut top = TopK::new(k);
        match candidates {
            Some(c) => {
                for &pid in c {
                    top.push(self.raw_score(q, pid, metric), pid);
                }
            }
            None => {
                for (pid, s) in self.slots.iter().enumerate() {
                    if self.alive[pid] && filter.is_none_or(|f| f.matches(s.metadata.as_ref())) {
                        top.push(self.raw_score(q, pid as u32, metric), pid as u32);
                    }
                }
            }
        }
        self.to_matches(top.into_sorted(), metric)
    }

    /// Ranking score: the final score, except squared distance for euclidean.
    #[inline]
    fn raw_score(&self, q: &[f32], pid: u32, metric: Metric) -> f32 {
        let v = self.vector(pid);
        match metric {
            Metric::Cosine => kernels::dot(q, v) * self.inv_norm[pid as usize],
            Metric::Euclidean => -kernels::l2_sq(q, v),
            Metric::DotProduct => kernels::dot(q, v),
        }
    }

    fn to_matches(&self, hits: Vec<crate::topk::Scored>, metric: Metric) -> Vec<SearchMatch> {
        hits.into_iter()
            .map(|h| {
                let s = &self.slots[h.id as usize];
                let score = match metric {
                    Metric::Euclidean => -(-h.score).max(0.0).sqrt(),
                    _ => h.score,
                };
                SearchMatch {
                    key: s.key.clone(),
                    score,
                    metadata: s.metadata.clone(),
                }
            })
            .collect()
    }

    /// Writes the graph to `dir` (replacing any dump there), stamped with
    /// `commit_version` and each record's version. Returns `false` and writes nothing
    /// in flat mode. Vectors still pending are left out; a load re-inserts them.
    /// Cost: the graph's size in sequential I/O (~45 MB for 20k x 384).
    pub fn dump(&self, dir: &Path, commit_version: u64) -> Result<bool> {
        let Some(flat) = &self.flat else {
            return Ok(false);
        };
        let entries = self
            .slots
            .iter()
            .enumerate()
            .filter(|&(pid, s)| self.alive[pid] && s.in_graph)
            .map(|(pid, s)| ManifestEntry {
                pid: pid as u32,
                version: s.version,
                key: s.key.clone(),
            })
            .collect();
        let manifest = Manifest {
            commit_version,
            metric: self.metric,
            dim: self.dim,
            slot_count: self.slots.len(),
            entries,
        };
        dump::write(dir, self.flat_source.as_ref(), flat, &manifest)?;
        Ok(true)
    }

    /// Builds an index from `records` (e.g. a store scan). If the result is large
    /// enough for HNSW and `dump_dir` holds a dump for the same metric and dimension,
    /// the dump's graph is reused: records whose key and version match the dump keep
    /// their graph node; others are patched in (stale dump detection), and the index
    /// rebuilds if the patches exceed the tombstone ratio. Records are trusted
    /// (validated when written). Cost: O(n * dim) plus a graph build if no dump is
    /// usable.
    pub fn load(
        name: impl Into<String>,
        dim: usize,
        metric: Metric,
        config: IndexConfig,
        records: Vec<IndexRecord>,
        dump_dir: Option<&Path>,
    ) -> Result<(VectorIndex, DumpStatus)> {
        let mut index = VectorIndex::new(name, dim, metric, config)?;
        if let Some(r) = records.iter().find(|r| r.vector.len() != dim) {
            return Err(VectorError::Corrupt(format!(
                "stored vector {:?} has {} components, collection {:?} has dimension {dim}",
                r.key,
                r.vector.len(),
                index.name
            )));
        }
        let dump_dir = match dump_dir {
            Some(d) if records.len() >= index.config.hnsw_threshold => d,
            _ => {
                index.fill_and_build(records);
                return Ok((index, DumpStatus::NotUsed));
            }
        };
        let status = match dump::read(dump_dir, metric, dim) {
            Ok(Some((manifest, flat, source))) => index.adopt_dump(manifest, flat, source, records),
            Ok(None) => {
                index.fill_and_build(records);
                DumpStatus::Missing
            }
            Err(e) => {
                index.fill_and_build(records);
                DumpStatus::Rejected(e.to_string())
            }
        };
        Ok((index, status))
    }

    fn fill_and_build(&mut self, records: Vec<IndexRecord>) {
        crate::huge::reserve(&mut self.data, records.len() * self.dim);
        for r in records {
            if self.by_key.contains_key(&r.key) {
                self.upsert_unchecked(&r.key, &r.vector, r.metadata, r.version);
            } else {
                self.push_slot(&r.key, &r.vector, r.metadata, r.version);
            }
        }
        // One graph build over everything, rather than a build at the threshold
        // followed by pending insertions.
        if self.live >= self.config.hnsw_threshold {
            self.rebuild(true);
        }
    }

    fn adopt_dump(
        &mut self,
        manifest: Manifest,
        flat: FlatGraph,
        source: FlatSource,
        records: Vec<IndexRecord>,
    ) -> DumpStatus {
        let n = manifest.slot_count;
        self.data = crate::huge::zeroed(n * self.dim);
        self.inv_norm = vec![0.0; n];
        self.slots = vec![
            Slot {
                key: String::new(),
                metadata: None,
                version: 0,
                in_graph: true,
            };
            n
        ];
        self.alive = vec![false; n];
        let dumped: HashMap<String, (u32, u64)> = manifest
            .entries
            .into_iter()
            .map(|e| (e.key, (e.pid, e.version)))
            .collect();
        self.flat = Some(flat);
        self.flat_source = Some(source);
        let mut reused = 0;
        let mut stale = 0;
        let mut fresh = Vec::new();
        for r in records {
            match dumped.get(&r.key) {
                Some(&(pid, version)) if version == r.version => {
                    let p = pid as usize;
                    self.data[p * self.dim..(p + 1) * self.dim].copy_from_slice(&r.vector);
                    let norm = kernels::norm(&r.vector);
                    self.inv_norm[p] = if norm > 0.0 { 1.0 / norm } else { 0.0 };
                    self.slots[p] = Slot {
                        key: r.key.clone(),
                        metadata: r.metadata,
                        version: r.version,
                        in_graph: true,
                    };
                    self.alive[p] = true;
                    self.by_key.insert(r.key, pid);
                    self.live += 1;
                    reused += 1;
                }
                _ => fresh.push(r),
            }
        }
        stale += dumped.len() - reused;
        self.refresh_walk_copies();
        for r in fresh {
            if !dumped.contains_key(&r.key) {
                stale += 1;
            }
            let pid = self.push_slot(&r.key, &r.vector, r.metadata, r.version);
            self.pending.push(pid);
        }
        let rebuilt = self.needs_maintenance() && {
            let before = self.slots.len();
            self.maintain();
            self.slots.len() != before || self.graph.is_none()
        };
        DumpStatus::Loaded {
            dump_version: manifest.commit_version,
            reused,
            stale,
            rebuilt,
        }
    }
}

fn prepare_query(query: &[f32], metric: Metric) -> Vec<f32> {
    match metric {
        Metric::Cosine => {
            let n = kernels::norm(query);
            query.iter().map(|x| x / n).collect()
        }
        _ => query.to_vec(),
    }
}
