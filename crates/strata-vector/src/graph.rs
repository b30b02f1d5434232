//! The HNSW graph builder behind large collections: our own insertion over flat
//! neighbour rows, run on all cores, reading vectors from the owning index's arena.
//!
//! Until 2026-12-03 hnsw_rs built the graph. Its insertion loads an `Arc<Point>` per
//! neighbour just to read the neighbour's id, keeps a fresh `HashMap` as the visited
//! set of every insertion and a copy of every vector, and its neighbour lists are
//! private, so none of that could be changed from outside: a 50k x 50 build took
//! about 47 s of CPU against hnswlib's 7 (docs/benchmarks.md). This builder follows
//! the algorithm of the HNSW paper (Malkov and Yashunin, 2016) as hnswlib implements
//! it: random levels with `mL = 1 / ln M`, a greedy descent through the layers above
//! the new point's level, an `ef_construction` beam search on each of its layers, and
//! the neighbour-selection heuristic for the new point's own lists (keep a candidate
//! only if it is nearer to the new point than to every neighbour already kept; up to
//! `M` per layer and `2M` on layer 0). The reverse links are kept as hnsw_rs kept
//! them: the new point joins each neighbour's list in distance order and an
//! overflowing list drops its farthest entry, which needs no distance evaluation (the
//! lists keep their distances) and keeps lists full. Measured against hnswlib's
//! variant (the heuristic again on overflow): better recall per evaluation on GloVe,
//! and it keeps sets of near-duplicates reachable that hnswlib's pruning cuts off
//! (the near-ties test in `tests/flat_graph.rs`).
//!
//! Invariants:
//! - Ids are the owning [`crate::VectorIndex`]'s point ids; the graph never holds a
//!   vector. [`Points`] hands it the arena for each insertion.
//! - Layer 0 is one fixed-size row per point id (`[header | ids | distances]`,
//!   `4M + 1` words), in atomics so that threads can share it without `unsafe`; every
//!   list is sorted by distance to its owner. The header (count, version, lock bit)
//!   is a sequence lock in the row's own cache line: writers take the bit, readers
//!   copy the list without writing and retry if the version moved, so a search never
//!   uses a half-written list. Upper-layer lists (few points) sit behind a mutex per
//!   point.
//! - A point is in the graph once its level is set (`levels[pid] = level + 1`, `0`
//!   for ids outside the graph); it becomes reachable only when a neighbour's list
//!   names it, which happens after its own lists on all its layers are written.
//! - At most one row lock or point mutex is held at a time, so insertions cannot
//!   deadlock; an insertion that raises the top level holds `grow` throughout, as
//!   hnswlib does.
//! - Distances (lower is nearer): cosine `1 - cos`, euclidean the squared distance,
//!   dot product `1 - a·b` (a plain inner-product graph, ip-NSW, like hnswlib's).
//!
//! The graph has no delete: the index hides deleted points with a search filter and
//! rebuilds when tombstones pile up.

use crate::flat::FlatGraph;
use crate::kernels;
use crate::metric::Metric;
use crate::topk::{Cand, Visited};
use parking_lot::Mutex;
use std::collections::BinaryHeap;
use std::sync::atomic::{
    fence, AtomicU32, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};

/// HNSW build and search parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswParams {
    /// Neighbours per node on the upper layers (`M`); layer 0 keeps up to `2M`.
    /// Clamped to `2..=256`.
    pub m: usize,
    /// Candidate list size while building (`ef_construction`).
    pub ef_construction: usize,
    /// Candidate list size while searching (`ef`); raised to `k` when smaller.
    pub ef_search: usize,
}

impl Default for HnswParams {
    /// `M = 16, ef_construction = 200, ef_search = 128`.
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            ef_search: 128,
        }
    }
}

/// Levels are capped here (a level above 15 needs about `M^15` points).
const MAX_LEVEL: usize = 15;
/// A layer-0 row's header word: entry count (bits 0-9; at most `2M` = 512), version
/// (bits 10-30, bumped by every write) and a lock bit (31). See [`Graph::read_list`].
const ROW_COUNT: u32 = (1 << 10) - 1;
const ROW_VERSION_SHIFT: u32 = 10;
const ROW_VERSION: u32 = ((1 << 21) - 1) << ROW_VERSION_SHIFT;
const ROW_LOCKED: u32 = 1 << 31;

/// Waits a little before retrying a row that is being written: spins first, then
/// yields (a writer preempted while holding a row would otherwise be spun against for
/// a whole time slice).
#[inline]
fn backoff(spins: u32) -> u32 {
    if spins < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
    spins + 1
}

/// Batches at least this large are inserted by several threads.
const PARALLEL_BATCH: usize = 256;

/// The vectors a graph is built over: the owning index's arena, by point id.
#[derive(Clone, Copy)]
pub(crate) struct Points<'a> {
    /// `dim` floats per point id.
    pub(crate) data: &'a [f32],
    /// `1 / |v|` per point id (0 for a zero vector).
    pub(crate) inv_norm: &'a [f32],
    pub(crate) dim: usize,
    pub(crate) metric: Metric,
}

impl Points<'_> {
    #[inline(always)]
    fn vector(&self, pid: u32) -> &[f32] {
        let start = pid as usize * self.dim;
        &self.data[start..start + self.dim]
    }

    /// The graph distance between points `a` and `b` (see the module docs).
    #[inline(always)]
    fn dist(&self, a: u32, b: u32) -> f32 {
        let (va, vb) = (self.vector(a), self.vector(b));
        let d = match self.metric {
            Metric::Cosine => {
                1.0 - kernels::dot(va, vb) * self.inv_norm[a as usize] * self.inv_norm[b as usize]
            }
            Metric::Euclidean => kernels::l2_sq(va, vb),
            Metric::DotProduct => 1.0 - kernels::dot(va, vb),
        };
        if d.is_nan() {
            f32::MAX
        } else {
            d
        }
    }

    fn len(&self) -> usize {
        self.data.len() / self.dim.max(1)
    }
}

/// One inserting thread's reusable state.
#[derive(Default)]
struct Scratch {
    /// Points visited in the current search.
    visited: Visited,
    candidates: BinaryHeap<std::cmp::Reverse<Cand>>,
    results: BinaryHeap<Cand>,
    /// A copy of the list being expanded.
    list: Vec<u32>,
    fresh: Vec<u32>,
}

impl Scratch {
    fn begin(&mut self, n: usize) {
        self.visited.begin(n);
        self.candidates.clear();
        self.results.clear();
    }

    #[inline]
    fn visit(&mut self, pid: u32) -> bool {
        self.visited.visit(pid)
    }
}

/// An HNSW graph under construction (and growth). See the module docs.
pub(crate) struct Graph {
    m: usize,
    m0: usize,
    ef_construction: usize,
    level_mult: f64,
    /// Words per layer-0 row: `2 * m0 + 1`.
    stride: usize,
    /// Layer-0 rows by point id: count, `m0` ids, `m0` distances (f32 bits).
    rows: Vec<AtomicU32>,
    /// Per point id: its lock, which guards its row, and its lists on layers
    /// `1..=level` (`upper[l - 1]`).
    nodes: Vec<Mutex<Vec<Vec<Cand>>>>,
    /// `level + 1` per point id; 0 for ids outside the graph. Set before the
    /// insertions of a batch start, read-only while they run.
    levels: Vec<u8>,
    /// Entry point and top level; `None` while the graph is empty.
    top: Mutex<Option<(u32, u8)>>,
    /// Held by an insertion that raises the top level, for its whole duration.
    grow: Mutex<()>,
    count: usize,
}

impl Graph {
    /// An empty graph. `capacity` is a hint for the number of point ids.
    pub(crate) fn new(capacity: usize, params: &HnswParams) -> Graph {
        let m = params.m.clamp(2, 256);
        let mut g = Graph {
            m,
            m0: 2 * m,
            ef_construction: params.ef_construction.max(m),
            level_mult: 1.0 / (m as f64).ln(),
            stride: 4 * m + 1,
            rows: Vec::new(),
            nodes: Vec::new(),
            levels: Vec::new(),
            top: Mutex::new(None),
            grow: Mutex::new(()),
            count: 0,
        };
        g.reserve_ids(capacity);
        g
    }

    /// Rebuilds the mutable graph from a flat copy (after a reopen, before the first
    /// insertion), computing each edge's distance from `points`. A point is taken to
    /// be in the graph if it has neighbours on any layer or is the entry point; lists
    /// longer than this graph's limits keep their nearest entries (longer lists can
    /// only come from a graph built with a larger `M`). Cost: O(points) plus one
    /// distance evaluation per edge (~0.2 s for 100k x 384 at M=16).
    pub(crate) fn from_flat(flat: &FlatGraph, points: Points<'_>, params: &HnswParams) -> Graph {
        let mut g = Graph::new(flat.slot_count().max(points.len()), params);
        let (entry, lists) = flat.lists();
        let mut top_level = 0u8;
        let edges = |pid: u32, list: &[u32], limit: usize| -> Vec<Cand> {
            let mut out: Vec<Cand> = list
                .iter()
                .map(|&id| Cand {
                    d: points.dist(pid, id),
                    id,
                })
                .collect();
            out.sort_unstable();
            out.truncate(limit);
            out
        };
        kernels::with_simd(|| {
            for (pid, lists) in lists {
                let level = lists.len().min(MAX_LEVEL + 1) - 1;
                let is_entry = pid == entry;
                if !is_entry && lists.iter().all(Vec::is_empty) {
                    continue;
                }
                let p = pid as usize;
                g.levels[p] = level as u8 + 1;
                let row0 = edges(pid, &lists[0], g.m0);
                g.write_row(pid, &row0);
                let upper: Vec<Vec<Cand>> = lists[1..=level]
                    .iter()
                    .map(|l| edges(pid, l, g.m))
                    .collect();
                *g.nodes[p].get_mut() = upper;
                g.count += 1;
                if is_entry {
                    top_level = level as u8;
                }
            }
        });
        if g.levels.get(entry as usize).is_some_and(|&l| l > 0) {
            *g.top.get_mut() = Some((entry, top_level));
        }
        g
    }

    fn reserve_ids(&mut self, n: usize) {
        if self.levels.len() < n {
            self.levels.resize(n, 0);
            self.nodes.resize_with(n, || Mutex::new(Vec::new()));
            self.rows.resize_with(n * self.stride, || AtomicU32::new(0));
        }
    }

    /// The level of a new point: `floor(-ln(u) * mL)` for a `u` drawn from the point
    /// id (so rebuilding the same ids gives the same levels).
    fn draw_level(&self, pid: u32) -> usize {
        let mut z = (u64::from(pid) ^ 0x05EE_D0F5_7A7A).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64; // (0, 1]
        ((-u.ln() * self.level_mult) as usize).min(MAX_LEVEL)
    }

    /// Inserts points `pids` (in the graph's id space, not yet inserted, all below
    /// `points`' length). Batches of 256 and more are inserted by one thread per core.
    /// Cost: about `ef_construction * 2M` distance evaluations per point (a 50k x 50
    /// build: a few seconds per core).
    pub(crate) fn insert(&mut self, points: Points<'_>, pids: &[u32]) {
        self.reserve_ids(points.len());
        for &p in pids {
            debug_assert_eq!(self.levels[p as usize], 0, "point {p} inserted twice");
            let level = self.draw_level(p);
            self.levels[p as usize] = level as u8 + 1;
            *self.nodes[p as usize].get_mut() = vec![Vec::new(); level];
        }
        self.count += pids.len();
        let mut rest = pids;
        if self.top.get_mut().is_none() {
            let Some((&first, tail)) = pids.split_first() else {
                return;
            };
            *self.top.get_mut() = Some((first, self.levels[first as usize] - 1));
            rest = tail;
        }
        let threads = if rest.len() >= PARALLEL_BATCH {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(16))
        } else {
            1
        };
        let graph = &*self;
        let next = AtomicUsize::new(0);
        let work = || {
            kernels::with_simd(
                #[inline(always)]
                || {
                    let mut scratch = Scratch::default();
                    loop {
                        let i = next.fetch_add(1, Relaxed);
                        let Some(&p) = rest.get(i) else { break };
                        graph.insert_one(points, p, &mut scratch);
                    }
                },
            )
        };
        if threads <= 1 {
            work();
        } else {
            std::thread::scope(|s| {
                for _ in 1..threads {
                    s.spawn(work);
                }
                work();
            });
        }
    }

    /// Point `pid`'s layer-0 row.
    #[inline]
    fn row(&self, pid: u32) -> &[AtomicU32] {
        &self.rows[pid as usize * self.stride..][..self.stride]
    }

    /// Copies the ids of point `pid`'s list on `layer` into `out`. Layer 0 is read
    /// without writing anything (the row's header is a sequence lock: a read that
    /// overlaps a write sees the version change and retries); upper layers under the
    /// point's mutex.
    #[inline]
    fn read_list(&self, pid: u32, layer: usize, out: &mut Vec<u32>) {
        out.clear();
        if layer > 0 {
            if let Some(list) = self.nodes[pid as usize].lock().get(layer - 1) {
                out.extend(list.iter().map(|c| c.id));
            }
            return;
        }
        let row = self.row(pid);
        let mut spins = 0u32;
        loop {
            let head = row[0].load(Acquire);
            if head & ROW_LOCKED == 0 {
                let n = (head & ROW_COUNT) as usize;
                out.extend(row[1..=n].iter().map(|w| w.load(Relaxed)));
                fence(Acquire);
                if row[0].load(Relaxed) == head {
                    return;
                }
                out.clear();
            }
            spins = backoff(spins);
        }
    }

    /// Locks point `pid`'s layer-0 row for a write; returns its header as it was.
    /// Writers hold it for a copy of at most `2M` entries.
    fn lock_row(&self, pid: u32) -> u32 {
        let head = &self.row(pid)[0];
        let mut spins = 0u32;
        loop {
            let h = head.load(Relaxed);
            if h & ROW_LOCKED == 0
                && head
                    .compare_exchange_weak(h, h | ROW_LOCKED, Acquire, Relaxed)
                    .is_ok()
            {
                // Readers must see the lock before any of the writes that follow.
                fence(Release);
                return h;
            }
            spins = backoff(spins);
        }
    }

    /// Unlocks a row locked by [`Graph::lock_row`] (which returned `old`), with
    /// `count` entries and the next version.
    fn unlock_row(&self, pid: u32, old: u32, count: usize) {
        let version = (old & ROW_VERSION).wrapping_add(1 << ROW_VERSION_SHIFT) & ROW_VERSION;
        self.row(pid)[0].store(version | count as u32, Release);
    }

    /// Point `pid`'s layer-0 list with distances, given its header (the caller holds
    /// the row's lock, or `&self` while no insertion runs).
    fn row_edges(&self, pid: u32, head: u32) -> Vec<Cand> {
        let row = self.row(pid);
        let n = (head & ROW_COUNT) as usize;
        (0..n)
            .map(|i| Cand {
                id: row[1 + i].load(Relaxed),
                d: f32::from_bits(row[1 + self.m0 + i].load(Relaxed)),
            })
            .collect()
    }

    /// Writes `pid`'s layer-0 entries (the caller holds the row's lock); returns how
    /// many were written.
    #[inline]
    fn write_entries(&self, pid: u32, list: &[Cand]) -> usize {
        let row = self.row(pid);
        let n = list.len().min(self.m0);
        for (i, c) in list[..n].iter().enumerate() {
            row[1 + i].store(c.id, Relaxed);
            row[1 + self.m0 + i].store(c.d.to_bits(), Relaxed);
        }
        n
    }

    /// Replaces `pid`'s layer-0 list.
    fn write_row(&self, pid: u32, list: &[Cand]) {
        let old = self.lock_row(pid);
        let n = self.write_entries(pid, list);
        self.unlock_row(pid, old, n);
    }

    fn insert_one(&self, points: Points<'_>, q: u32, s: &mut Scratch) {
        let level = usize::from(self.levels[q as usize]) - 1;
        let Some((mut ep, mut top_level)) = *self.top.lock() else {
            return;
        };
        let _grow = if level > usize::from(top_level) {
            let guard = self.grow.lock();
            if let Some((e, t)) = *self.top.lock() {
                (ep, top_level) = (e, t);
            }
            Some(guard)
        } else {
            None
        };
        let top_level = usize::from(top_level);
        let mut d_ep = points.dist(q, ep);
        // Greedy descent through the layers above the new point's level.
        for layer in (level + 1..=top_level).rev() {
            loop {
                let mut moved = false;
                let mut list = std::mem::take(&mut s.list);
                self.read_list(ep, layer, &mut list);
                for &n in &list {
                    let d = points.dist(q, n);
                    if d < d_ep {
                        (d_ep, ep) = (d, n);
                        moved = true;
                    }
                }
                s.list = list;
                if !moved {
                    break;
                }
            }
        }
        // The new point's lists on each of its layers, top down. Nothing links to it
        // until all of them are written, so a concurrent insertion never finds it
        // half-connected (and starts a search from a list not written yet, or links
        // into a list that is then overwritten).
        let mut chosen = Vec::with_capacity(level.min(top_level) + 1);
        for layer in (0..=level.min(top_level)).rev() {
            let found = self.search_layer(points, q, ep, d_ep, layer, s);
            let limit = if layer == 0 { self.m0 } else { self.m };
            chosen.push((layer, select(points, &found, limit)));
            if let Some(best) = found.first() {
                (d_ep, ep) = (best.d, best.id);
            }
        }
        for (layer, list) in &chosen {
            if *layer == 0 {
                self.write_row(q, list);
            } else {
                self.nodes[q as usize].lock()[layer - 1].clone_from(list);
            }
        }
        for (layer, list) in &chosen {
            let limit = if *layer == 0 { self.m0 } else { self.m };
            for c in list {
                self.link(c.id, q, c.d, *layer, limit);
            }
        }
        if level > top_level {
            *self.top.lock() = Some((q, level as u8));
        }
    }

    /// Adds `q` (at distance `d` from it) to `n`'s list on `layer` in distance order;
    /// a list longer than `limit` drops its farthest entry. Cost: O(limit), no
    /// distance evaluation.
    fn link(&self, n: u32, q: u32, d: f32, layer: usize, limit: usize) {
        let new = Cand { d, id: q };
        if layer == 0 {
            let old = self.lock_row(n);
            let mut list = self.row_edges(n, old);
            let count = list.len();
            let at = list.partition_point(|c| *c < new);
            if at >= limit || list.iter().any(|c| c.id == q) {
                return self.unlock_row(n, old, count);
            }
            list.insert(at, new);
            list.truncate(limit);
            let count = self.write_entries(n, &list);
            self.unlock_row(n, old, count);
        } else if let Some(list) = self.nodes[n as usize].lock().get_mut(layer - 1) {
            if list.iter().any(|c| c.id == q) {
                return;
            }
            let at = list.partition_point(|c| *c < new);
            if at >= limit {
                return;
            }
            list.insert(at, new);
            list.truncate(limit);
        }
    }

    /// The `ef_construction` nearest points to `q` on `layer` reachable from `ep`,
    /// nearest first.
    fn search_layer(
        &self,
        points: Points<'_>,
        q: u32,
        ep: u32,
        d_ep: f32,
        layer: usize,
        s: &mut Scratch,
    ) -> Vec<Cand> {
        let ef = self.ef_construction;
        s.begin(self.levels.len());
        s.visit(ep);
        s.visit(q);
        s.candidates
            .push(std::cmp::Reverse(Cand { d: d_ep, id: ep }));
        s.results.push(Cand { d: d_ep, id: ep });
        let mut list = std::mem::take(&mut s.list);
        let mut fresh = std::mem::take(&mut s.fresh);
        while let Some(std::cmp::Reverse(c)) = s.candidates.pop() {
            let bound = s.results.peek().map_or(f32::INFINITY, |w| w.d);
            if c.d > bound && s.results.len() >= ef {
                break;
            }
            // The next candidate to expand is most likely the current best: start
            // loading its row while this one is scored.
            if layer == 0 {
                if let Some(next) = s.candidates.peek() {
                    kernels::prefetch(self.row(next.0.id));
                }
            }
            self.read_list(c.id, layer, &mut list);
            fresh.clear();
            for &n in &list {
                if s.visit(n) {
                    fresh.push(n);
                }
            }
            for &n in &fresh {
                kernels::prefetch_all(points.vector(n));
            }
            for &n in &fresh {
                let d = points.dist(q, n);
                let bound = s.results.peek().map_or(f32::INFINITY, |w| w.d);
                if s.results.len() < ef || d < bound {
                    s.candidates.push(std::cmp::Reverse(Cand { d, id: n }));
                    s.results.push(Cand { d, id: n });
                    if s.results.len() > ef {
                        s.results.pop();
                    }
                }
            }
        }
        s.list = list;
        s.fresh = fresh;
        let mut out: Vec<Cand> = s.results.drain().collect();
        out.sort_unstable();
        out
    }

    /// Copies the graph into a [`FlatGraph`] over point ids `< slot_count` (every
    /// point in the graph must be below it). Cost: O(points + edges); a few
    /// milliseconds per 100k points at M=16.
    pub(crate) fn extract(&self, slot_count: usize) -> FlatGraph {
        let mut points = Vec::with_capacity(self.count);
        for (pid, &l) in self.levels.iter().enumerate().take(slot_count) {
            if l == 0 {
                continue;
            }
            let pid = pid as u32;
            let mut lists = Vec::with_capacity(usize::from(l));
            let node = self.nodes[pid as usize].lock();
            let mut row = Vec::new();
            self.read_list(pid, 0, &mut row);
            lists.push(row);
            lists.extend(node.iter().map(|l| l.iter().map(|c| c.id).collect()));
            points.push((pid, lists));
        }
        let entry = self.top.lock().map_or(0, |t| t.0);
        FlatGraph::from_lists(slot_count, entry, points)
    }

    /// Points in the graph.
    #[cfg(test)]
    pub(crate) fn point_count(&self) -> usize {
        self.count
    }

    /// Heap bytes held: the layer-0 rows, the per-point locks and level bytes, and
    /// the upper-layer lists. Cost: O(points).
    pub(crate) fn memory_bytes(&self) -> usize {
        let upper: usize = self
            .nodes
            .iter()
            .map(|n| {
                n.lock()
                    .iter()
                    .map(|l| 24 + 8 * l.capacity())
                    .sum::<usize>()
            })
            .sum();
        self.rows.capacity() * 4
            + self.nodes.capacity() * std::mem::size_of::<Mutex<Vec<Vec<Cand>>>>()
            + self.levels.capacity()
            + upper
    }
}

/// The HNSW neighbour-selection heuristic: from `cands` (sorted nearest first), keep
/// a candidate only if it is nearer to the new point than to every candidate kept
/// so far, up to `limit`. Lists no longer than `limit` are kept whole.
fn select(points: Points<'_>, cands: &[Cand], limit: usize) -> Vec<Cand> {
    if cands.len() <= limit {
        return cands.to_vec();
    }
    let mut out: Vec<Cand> = Vec::with_capacity(limit);
    for &c in cands {
        if out.len() >= limit {
            break;
        }
        if out.iter().all(|k| points.dist(c.id, k.id) >= c.d) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` random points in 8 dimensions (SplitMix64), and their inverse norms.
    fn random_points(n: usize) -> (Vec<f32>, Vec<f32>) {
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
        };
        let data: Vec<f32> = (0..n * 8).map(|_| next()).collect();
        let inv = data.chunks(8).map(|v| 1.0 / kernels::norm(v)).collect();
        (data, inv)
    }

    #[test]
    fn builds_a_connected_graph_within_its_degree_limits() {
        let n = 2000;
        let (data, inv) = random_points(n);
        let points = Points {
            data: &data,
            inv_norm: &inv,
            dim: 8,
            metric: Metric::Euclidean,
        };
        let params = HnswParams {
            m: 8,
            ef_construction: 64,
            ef_search: 64,
        };
        let mut g = Graph::new(n, &params);
        let pids: Vec<u32> = (0..n as u32).collect();
        g.insert(points, &pids[..100]);
        g.insert(points, &pids[100..]);
        assert_eq!(g.point_count(), n);
        let mut list = Vec::new();
        for p in 0..n as u32 {
            g.read_list(p, 0, &mut list);
            assert!(!list.is_empty() && list.len() <= 16, "point {p}: {list:?}");
            let d: Vec<f32> = list.iter().map(|&x| points.dist(p, x)).collect();
            assert!(d.windows(2).all(|w| w[0] <= w[1]), "unsorted: {d:?}");
            assert!(list.iter().all(|&x| x != p && (x as usize) < n));
        }
        // Nearly every point is reachable from the entry point on layer 0 (HNSW's
        // pruning can orphan a few points, in hnswlib as here).
        let entry = g.top.lock().unwrap().0;
        let mut seen = vec![false; n];
        let mut stack = vec![entry];
        seen[entry as usize] = true;
        while let Some(p) = stack.pop() {
            g.read_list(p, 0, &mut list);
            for &x in &list {
                if !std::mem::replace(&mut seen[x as usize], true) {
                    stack.push(x);
                }
            }
        }
        let unreachable = seen.iter().filter(|&&s| !s).count();
        assert!(unreachable <= n / 200, "{unreachable} unreachable");
        // Nearly every point links to its true nearest neighbour.
        let mut linked = 0;
        for p in 0..n as u32 {
            let nearest = (0..n as u32)
                .filter(|&x| x != p)
                .min_by(|&a, &b| points.dist(p, a).total_cmp(&points.dist(p, b)));
            g.read_list(p, 0, &mut list);
            linked += usize::from(nearest.is_some_and(|x| list.contains(&x)));
        }
        assert!(linked >= n * 97 / 100, "{linked} of {n}");
        // The flat copy and a graph rebuilt from it hold the same lists.
        let flat = g.extract(n);
        let again = Graph::from_flat(&flat, points, &params);
        assert_eq!(again.point_count(), n);
        assert_eq!(again.extract(n), flat);
    }

    #[test]
    fn levels_follow_the_geometric_distribution() {
        let g = Graph::new(0, &HnswParams::default());
        let n = 100_000;
        let above: usize = (0..n).filter(|&p| g.draw_level(p) >= 1).count();
        // P(level >= 1) = 1 / M = 1/16.
        let expect = n as f64 / 16.0;
        assert!((above as f64 - expect).abs() < expect * 0.1, "{above}");
    }
}
