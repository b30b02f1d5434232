//! A compact, read-only copy of an HNSW graph, and the search that walks it.
//!
//! The builder (`graph.rs`) keeps a lock per point, since threads insert into it
//! concurrently; searches need none of that. [`FlatGraph`] copies the
//! neighbour lists out into plain `u32` arrays (layer 0 as one fixed-size row per
//! point, found without a lookup; the sparse upper layers in CSR form: one offset
//! array and one id array each), and [`FlatGraph::search`] walks them with a reused,
//! generation-stamped visited array and two reused heaps (thread-local, so
//! concurrent searches never share or lock anything). Distances are computed by the
//! caller's closure over the index's own vector arena: no vector is copied here.
//!
//! Invariants:
//! - Ids are the owning [`crate::VectorIndex`]'s point ids, all `< slot_count`.
//! - Layer 0 is indexed directly by point id (points outside the graph have an
//!   empty list). Layers above hold only their members, sorted by id; a neighbour on
//!   layer `l` that is not a member of layer `l` is skipped (cannot happen for an
//!   extracted graph; a decoded file is checked).
//! - The entry point is a member of the top layer.
//!
//! On-disk format (little-endian, written and read whole):
//!
//! ```text
//! b"STRVFLAT" | format u32 = 1 | slot count u64 | entry u32 | layer count u32
//! | per layer: member count u64 | members u32 * count (layers >= 1 only)
//!              | offsets u32 * (count + 1) | neighbour count u64 | neighbours u32 * n
//! | crc32 of all preceding bytes u32
//! ```

use crate::error::{Result, VectorError};
use crate::framing;
use crate::kernels;
use crate::topk::{Cand, Visited};
use std::cell::RefCell;
use std::collections::BinaryHeap;

const MAGIC: &[u8; 8] = b"STRVFLAT";
const FORMAT: u32 = 1;
/// The longest layer-0 list a file may hold (the builder keeps at most `2M`, M <= 256;
/// graphs hnsw_rs built, before 2026-12-03, the same).
const MAX_LIST: usize = 1024;

/// One layer's adjacency in CSR form (the form of every layer in files, and of the
/// upper layers in memory).
#[derive(Debug, Clone, PartialEq)]
struct Layer {
    /// Sorted point ids of this layer's members; empty on layer 0, whose local index
    /// is the point id itself.
    members: Vec<u32>,
    /// `offsets[i]..offsets[i + 1]` is member `i`'s slice of `neighbours`.
    offsets: Vec<u32>,
    neighbours: Vec<u32>,
}

impl Layer {
    /// Member `pid`'s index on an upper layer.
    #[inline]
    fn local(&self, pid: u32) -> Option<usize> {
        self.members.binary_search(&pid).ok()
    }

    #[inline]
    fn list(&self, local: usize) -> &[u32] {
        &self.neighbours[self.offsets[local] as usize..self.offsets[local + 1] as usize]
    }
}

/// Layer 0 in memory: one fixed-size row per point id, `[count | ids | unused]`, so a
/// point's list is found by multiplication alone. (In CSR form, finding a list
/// first read its offset, a cache miss of its own on every expansion, before the
/// list's address was even known.) Files keep the CSR form; see the module docs.
#[derive(Debug, Clone, PartialEq)]
struct Rows {
    /// Words per row: one more than the longest list.
    stride: usize,
    words: Vec<u32>,
}

impl Rows {
    fn from_csr(layer: &Layer) -> Rows {
        let count = layer.offsets.len().saturating_sub(1);
        let longest = (0..count).map(|i| layer.list(i).len()).max().unwrap_or(0);
        let stride = longest + 1;
        let mut words = crate::huge::zeroed(count * stride);
        for i in 0..count {
            let list = layer.list(i);
            let row = &mut words[i * stride..(i + 1) * stride];
            row[0] = list.len() as u32;
            row[1..=list.len()].copy_from_slice(list);
        }
        Rows { stride, words }
    }

    fn to_csr(&self) -> Layer {
        let count = self.len();
        let mut offsets = Vec::with_capacity(count + 1);
        let mut neighbours = Vec::new();
        offsets.push(0);
        for i in 0..count {
            neighbours.extend_from_slice(self.list(i));
            offsets.push(neighbours.len() as u32);
        }
        Layer {
            members: Vec::new(),
            offsets,
            neighbours,
        }
    }

    fn len(&self) -> usize {
        self.words.len() / self.stride
    }

    /// Point `i`'s whole row (to prefetch it).
    #[inline]
    fn row(&self, i: usize) -> &[u32] {
        &self.words[i * self.stride..(i + 1) * self.stride]
    }

    #[inline]
    fn list(&self, i: usize) -> &[u32] {
        let row = self.row(i);
        &row[1..1 + row[0] as usize]
    }
}

/// A point id and its neighbour ids per layer (`lists[l]` on layer `l`).
pub(crate) type PointLists = (u32, Vec<Vec<u32>>);

/// A flat copy of an HNSW graph's neighbour lists. See the module docs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FlatGraph {
    slot_count: usize,
    entry: u32,
    /// Layer 0, by point id.
    rows: Rows,
    /// Layers 1 and up (CSR over their sorted members).
    upper: Vec<Layer>,
}

/// Per-thread search state, reused across searches of any collection.
#[derive(Default)]
struct Scratch {
    /// Points visited in the current search.
    visited: Visited,
    /// Min-heap of candidates to expand (through `Reverse`).
    candidates: BinaryHeap<std::cmp::Reverse<Cand>>,
    /// Max-heap of the best kept points (the worst on top).
    results: BinaryHeap<Cand>,
    /// Unvisited neighbours of the point being expanded.
    fresh: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch {
            visited: Visited::new(),
            candidates: BinaryHeap::new(),
            results: BinaryHeap::new(),
            fresh: Vec::new(),
        })
    };
}

impl Scratch {
    /// Starts a new search over ids `< n`: O(1), except O(n) when the array grows or
    /// the stamp wraps (once per 4 billion searches).
    fn begin(&mut self, n: usize) {
        self.visited.begin(n);
        self.candidates.clear();
        self.results.clear();
    }

    /// Marks `pid` visited; returns whether it was new.
    #[inline]
    fn visit(&mut self, pid: u32) -> bool {
        self.visited.visit(pid)
    }
}

impl FlatGraph {
    /// Builds the flat graph from per-point records `(pid, lists)` where `lists[l]`
    /// is the point's neighbour ids on layer `l` (its level is `lists.len() - 1`),
    /// and `entry` is a point of the top level. Ids must be `< slot_count`.
    /// Cost: O(points + edges), plus a sort of each upper layer's members.
    pub(crate) fn from_lists(
        slot_count: usize,
        entry: u32,
        mut points: Vec<(u32, Vec<Vec<u32>>)>,
    ) -> FlatGraph {
        points.sort_unstable_by_key(|p| p.0);
        let top = points.iter().map(|p| p.1.len()).max().unwrap_or(1).max(1);
        let mut layers = Vec::with_capacity(top);
        for l in 0..top {
            let mut layer = Layer {
                members: Vec::new(),
                offsets: Vec::new(),
                neighbours: Vec::new(),
            };
            if l == 0 {
                layer.offsets.reserve(slot_count + 1);
                layer.offsets.push(0);
                let mut next = 0usize;
                for (pid, lists) in &points {
                    while next < *pid as usize {
                        layer.offsets.push(layer.neighbours.len() as u32);
                        next += 1;
                    }
                    if let Some(list) = lists.first() {
                        layer.neighbours.extend_from_slice(list);
                    }
                    layer.offsets.push(layer.neighbours.len() as u32);
                    next += 1;
                }
                while next < slot_count {
                    layer.offsets.push(layer.neighbours.len() as u32);
                    next += 1;
                }
            } else {
                layer.offsets.push(0);
                for (pid, lists) in points.iter().filter(|p| p.1.len() > l) {
                    layer.members.push(*pid);
                    layer.neighbours.extend_from_slice(&lists[l]);
                    layer.offsets.push(layer.neighbours.len() as u32);
                }
            }
            layers.push(layer);
        }
        let rows = Rows::from_csr(&layers.remove(0));
        FlatGraph {
            slot_count,
            entry,
            rows,
            upper: layers,
        }
    }

    /// The entry point and every point id's lists, `lists[l]` on layer `l` (so
    /// `lists.len() - 1` is the point's level; points outside the graph have one
    /// empty list): the input of [`FlatGraph::from_lists`], to rebuild a mutable
    /// graph from. Cost: O(points + edges), plus a binary search per upper-layer
    /// membership.
    pub(crate) fn lists(&self) -> (u32, Vec<PointLists>) {
        let mut points: Vec<PointLists> = (0..self.rows.len())
            .map(|i| (i as u32, vec![self.rows.list(i).to_vec()]))
            .collect();
        for layer in &self.upper {
            for (local, &pid) in layer.members.iter().enumerate() {
                if let Some(p) = points.get_mut(pid as usize) {
                    p.1.push(layer.list(local).to_vec());
                }
            }
        }
        (self.entry, points)
    }

    /// Number of point ids the graph was extracted over (its layer-0 length).
    pub(crate) fn slot_count(&self) -> usize {
        self.slot_count
    }

    /// Heap bytes held: the id arrays of every layer.
    pub(crate) fn memory_bytes(&self) -> usize {
        4 * self.rows.words.capacity()
            + self
                .upper
                .iter()
                .map(|l| {
                    4 * (l.members.capacity() + l.offsets.capacity() + l.neighbours.capacity())
                })
                .sum::<usize>()
    }

    /// Up to `ef` points passing `keep`, nearest first, as `(distance, id)`.
    ///
    /// `dist(id)` is the distance from the query to point `id` (lower is nearer); it
    /// is called once per visited point. `touch(id)` is called just before, for all
    /// of a point's unvisited neighbours at once, so the caller can prefetch their
    /// vectors. The upper layers are descended greedily;
    /// layer 0 is searched with a candidate queue and a result set of size `ef`, and
    /// the search stops when the nearest unexpanded candidate is farther than the
    /// worst of `ef` results (the HNSW early exit). Points failing `keep` (deleted,
    /// or rejected by a metadata filter) are still traversed, so they keep the graph
    /// connected, but never returned. Cost: about `ef * M * log n` distance
    /// evaluations; no allocation once the thread's scratch space has grown.
    /// Always inlined, so that it runs in the caller's `kernels::with_simd` frame.
    #[inline(always)]
    pub(crate) fn search(
        &self,
        ef: usize,
        dist: impl Fn(u32) -> f32,
        keep: impl Fn(u32) -> bool,
        touch: impl Fn(u32),
    ) -> Vec<(f32, u32)> {
        if self.slot_count == 0 {
            return Vec::new();
        }
        // The scratch leaves the thread-local for the walk, so that the walk is
        // straight-line code in the caller's frame (which `kernels::with_simd`
        // compiles for the CPU's SIMD features, so the distance kernel inlines into
        // the walk instead of being a call per evaluation).
        let mut s = SCRATCH.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
        let out = self.walk(&mut s, ef, dist, keep, touch);
        SCRATCH.with(|cell| *cell.borrow_mut() = s);
        out
    }

    /// The body of [`FlatGraph::search`], over the thread's scratch space.
    #[inline(always)]
    fn walk(
        &self,
        s: &mut Scratch,
        ef: usize,
        dist: impl Fn(u32) -> f32,
        keep: impl Fn(u32) -> bool,
        touch: impl Fn(u32),
    ) -> Vec<(f32, u32)> {
        let ef = ef.max(1);
        let mut ep = self.entry;
        let mut d_ep = dist(ep);
        for layer in self.upper.iter().rev() {
            loop {
                let mut moved = false;
                if let Some(local) = layer.local(ep) {
                    for &n in layer.list(local) {
                        let d = dist(n);
                        if d < d_ep {
                            d_ep = d;
                            ep = n;
                            moved = true;
                        }
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        let rows = &self.rows;
        s.begin(self.slot_count);
        s.visit(ep);
        s.candidates
            .push(std::cmp::Reverse(Cand { d: d_ep, id: ep }));
        if keep(ep) {
            s.results.push(Cand { d: d_ep, id: ep });
        }
        while let Some(std::cmp::Reverse(c)) = s.candidates.pop() {
            let full = s.results.len() >= ef;
            let bound = s.results.peek().map_or(f32::INFINITY, |w| w.d);
            if full && c.d > bound {
                break;
            }
            let local = c.id as usize;
            if local >= rows.len() {
                continue;
            }
            // The next candidate to expand is most likely the current best: start
            // loading its neighbour list while this one is scored.
            if let Some(next) = s.candidates.peek().map(|n| n.0.id as usize) {
                if next < rows.len() {
                    kernels::prefetch(rows.row(next));
                }
            }
            let mut fresh = std::mem::take(&mut s.fresh);
            fresh.clear();
            for &n in rows.list(local) {
                if s.visit(n) {
                    fresh.push(n);
                }
            }
            for &n in &fresh {
                touch(n);
            }
            for &n in &fresh {
                let d = dist(n);
                let bound = s.results.peek().map_or(f32::INFINITY, |w| w.d);
                if s.results.len() < ef || d < bound {
                    s.candidates.push(std::cmp::Reverse(Cand { d, id: n }));
                    if keep(n) {
                        s.results.push(Cand { d, id: n });
                        if s.results.len() > ef {
                            s.results.pop();
                        }
                    }
                }
            }
            s.fresh = fresh;
        }
        let mut out: Vec<(f32, u32)> = s.results.drain().map(|c| (c.d, c.id)).collect();
        out.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        out
    }

    /// The on-disk bytes (see the module docs). Cost: O(size), one buffer.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let layer0 = self.rows.to_csr();
        let layers: Vec<&Layer> = std::iter::once(&layer0).chain(&self.upper).collect();
        let words: usize = layers
            .iter()
            .map(|l| l.members.len() + l.offsets.len() + l.neighbours.len() + 4)
            .sum();
        let mut out = framing::begin(MAGIC, FORMAT, 16 + 4 * words);
        out.extend_from_slice(&(self.slot_count as u64).to_le_bytes());
        out.extend_from_slice(&self.entry.to_le_bytes());
        out.extend_from_slice(&(layers.len() as u32).to_le_bytes());
        let put = |out: &mut Vec<u8>, xs: &[u32]| {
            for x in xs {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
        for (l, layer) in layers.iter().enumerate() {
            let count = layer.offsets.len() - 1;
            out.extend_from_slice(&(count as u64).to_le_bytes());
            if l > 0 {
                put(&mut out, &layer.members);
            }
            put(&mut out, &layer.offsets);
            out.extend_from_slice(&(layer.neighbours.len() as u64).to_le_bytes());
            put(&mut out, &layer.neighbours);
        }
        framing::finish(out)
    }

    /// Parses and fully validates bytes written by [`FlatGraph::encode`]: checksum,
    /// magic, format, and every id, offset and member list, so a search over the
    /// result can never index out of bounds. Cost: O(size).
    pub(crate) fn decode(bytes: &[u8]) -> Result<FlatGraph> {
        let bad = |m: &str| VectorError::Dump(format!("flat graph: {m}"));
        let mut r = framing::open(bytes, MAGIC, FORMAT, "flat graph")?;
        let slot_count = usize::try_from(r.u64()?).map_err(|_| bad("slot count"))?;
        if slot_count > u32::MAX as usize {
            return Err(bad("slot count out of range"));
        }
        let entry = r.u32()?;
        let layer_count = r.u32()? as usize;
        if layer_count == 0 || layer_count > 64 {
            return Err(bad("layer count out of range"));
        }
        let mut layers = Vec::with_capacity(layer_count);
        for l in 0..layer_count {
            let count = usize::try_from(r.u64()?).map_err(|_| bad("member count"))?;
            if count > slot_count || (l == 0 && count != slot_count) {
                return Err(bad("member count out of range"));
            }
            let members = if l > 0 { r.u32s(count)? } else { Vec::new() };
            if members.windows(2).any(|w| w[0] >= w[1])
                || members.last().is_some_and(|&m| m as usize >= slot_count)
            {
                return Err(bad("members not sorted or out of range"));
            }
            let offsets = r.u32s(count + 1)?;
            let n = usize::try_from(r.u64()?).map_err(|_| bad("neighbour count"))?;
            if offsets[0] != 0
                || offsets.windows(2).any(|w| w[0] > w[1])
                || offsets[count] as usize != n
            {
                return Err(bad("offsets inconsistent"));
            }
            let neighbours = r.u32s(n)?;
            if neighbours.iter().any(|&id| id as usize >= slot_count) {
                return Err(bad("neighbour id out of range"));
            }
            layers.push(Layer {
                members,
                offsets,
                neighbours,
            });
        }
        if r.remaining() != 0 {
            return Err(bad("trailing bytes"));
        }
        let top = &layers[layer_count - 1];
        let entry_ok = if layer_count == 1 {
            (entry as usize) < slot_count
        } else {
            top.members.binary_search(&entry).is_ok()
        };
        if !entry_ok {
            return Err(bad("entry point is not on the top layer"));
        }
        let layer0 = layers.remove(0);
        if (0..slot_count).any(|i| layer0.list(i).len() > MAX_LIST) {
            // Rows are as wide as the longest list: refuse widths no build makes.
            return Err(bad("a layer-0 list is implausibly long"));
        }
        Ok(FlatGraph {
            slot_count,
            entry,
            rows: Rows::from_csr(&layer0),
            upper: layers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points on a line at 0, 1, ..., 9; layer 0 links each to its two neighbours on
    /// each side, layer 1 holds 0, 4, 8 linked in a chain.
    fn line() -> FlatGraph {
        let mut points = Vec::new();
        for p in 0u32..10 {
            let l0: Vec<u32> = (p.saturating_sub(2)..(p + 3).min(10))
                .filter(|&q| q != p)
                .collect();
            let mut lists = vec![l0];
            if p % 4 == 0 {
                lists.push([0u32, 4, 8].into_iter().filter(|&q| q != p).collect());
            }
            points.push((p, lists));
        }
        FlatGraph::from_lists(12, 8, points)
    }

    #[test]
    fn search_finds_nearest_and_respects_keep() {
        let g = line();
        let dist = |q: f32| move |id: u32| (id as f32 - q).abs();
        let got = g.search(3, dist(2.2), |_| true, |_| {});
        assert_eq!(got.iter().map(|x| x.1).collect::<Vec<_>>(), vec![2, 3, 1]);
        // Odd points rejected: still traversed, never returned.
        let got = g.search(2, dist(2.2), |id| id % 2 == 0, |_| {});
        assert_eq!(got.iter().map(|x| x.1).collect::<Vec<_>>(), vec![2, 4]);
        // Ids 10 and 11 are outside the graph: never reached.
        let got = g.search(20, dist(11.0), |_| true, |_| {});
        assert_eq!(got.len(), 10);
        assert_eq!(got[0].1, 9);
    }

    #[test]
    fn layer0_rows_hold_every_list_and_files_refuse_absurd_widths() {
        let g = line();
        for p in 0..10usize {
            let expect: Vec<u32> = (p.saturating_sub(2)..(p + 3).min(10))
                .filter(|&q| q != p)
                .map(|q| q as u32)
                .collect();
            assert_eq!(g.rows.list(p), expect.as_slice());
        }
        assert!(g.rows.list(10).is_empty() && g.rows.list(11).is_empty());
        // A list longer than any build makes would make every row that wide.
        let wide: Vec<u32> = (0..=MAX_LIST as u32).map(|i| i % 2000).collect();
        let g = FlatGraph::from_lists(2000, 0, vec![(0, vec![wide])]);
        assert!(FlatGraph::decode(&g.encode()).is_err());
    }

    #[test]
    fn encoding_round_trips_and_detects_damage() {
        let g = line();
        let bytes = g.encode();
        assert_eq!(FlatGraph::decode(&bytes).ok(), Some(g));
        for i in 0..bytes.len() {
            let mut broken = bytes.clone();
            broken[i] ^= 0x10;
            assert!(FlatGraph::decode(&broken).is_err(), "flip at {i} missed");
        }
        assert!(FlatGraph::decode(&bytes[..bytes.len() - 5]).is_err());
    }
}
