//! The HNSW graph (hnsw_rs) behind large collections, and its on-disk dump files.
//!
//! Invariants:
//! - Graph data ids are the owning [`crate::VectorIndex`]'s point ids.
//! - For cosine, inserted vectors and queries are unit-normalised, so the graph
//!   distance is `1 - a·b`, clamped at 0 (hnsw_rs asserts distances are `>= 0`, and
//!   rounding on self-queries can give `-1e-7`; this is why we do not use `DistDot`).
//! - Euclidean uses the squared distance (same order, no square root).
//! - Dot product is not a distance; the graph uses a strictly decreasing map of the
//!   inner product onto `(0, inf)`, i.e. a plain inner-product graph (ip-NSW).
//! - hnsw_rs has no delete: the index hides deleted points with a search filter.

use crate::error::{Result, VectorError};
use crate::flat::FlatGraph;
use crate::kernels;
use crate::metric::Metric;
use hnsw_rs::api::AnnT;
use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::{Distance, Hnsw};
use std::path::Path;

/// The graph's distance: see the module docs. Its type name is recorded in dumps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GraphDistance(pub(crate) Metric);

impl Distance<f32> for GraphDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        let d = match self.0 {
            Metric::Cosine => (1.0 - kernels::dot(a, b)).max(0.0),
            Metric::Euclidean => kernels::l2_sq(a, b),
            Metric::DotProduct => {
                let ip = kernels::dot(a, b);
                if ip >= 0.0 {
                    1.0 / (1.0 + ip)
                } else {
                    1.0 - ip
                }
            }
        };
        if d.is_nan() {
            f32::MAX
        } else {
            d
        }
    }
}

/// HNSW build and search parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswParams {
    /// Neighbours per node and layer (`M`). Must be at most 256 (hnsw_rs exits the
    /// process above that; we clamp).
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

const MAX_LAYERS: usize = 16;
/// Basename of the dump files inside a collection's dump directory.
pub(crate) const DUMP_BASENAME: &str = "graph";

pub(crate) struct Graph {
    hnsw: Hnsw<'static, f32, GraphDistance>,
}

impl Graph {
    pub(crate) fn new(metric: Metric, capacity: usize, params: &HnswParams) -> Graph {
        let m = params.m.clamp(2, 256);
        let hnsw = Hnsw::new(
            m,
            capacity.max(1),
            MAX_LAYERS,
            params.ef_construction.max(m),
            GraphDistance(metric),
        );
        Graph { hnsw }
    }

    /// Inserts prepared (for cosine: normalised) vectors; parallel (rayon) for
    /// batches. Cost: about `ef_construction * M` distance evaluations per point.
    pub(crate) fn insert(&self, items: &[(&[f32], usize)]) {
        if items.len() >= 64 {
            self.hnsw.parallel_insert_slice(&items.to_vec());
        } else {
            for &(v, id) in items {
                self.hnsw.insert_slice((v, id));
            }
        }
    }

    /// Copies the graph's neighbour lists into a [`FlatGraph`] over point ids
    /// `< slot_count` (every data id in the graph must be below it). The entry point
    /// is the first point hnsw_rs stores on its top layer. Cost: one pass over all
    /// points and edges (hnsw_rs hands out each point's lists as fresh vectors);
    /// about 0.25 s per 100k points at M=16 (measured, under load).
    pub(crate) fn extract(&self, slot_count: usize) -> FlatGraph {
        let index = self.hnsw.get_point_indexation();
        let mut points = Vec::with_capacity(self.point_count());
        let mut entry: Option<(u8, u32)> = None;
        for p in index {
            let level = p.get_point_id().0;
            let pid = p.get_origin_id() as u32;
            if entry.is_none_or(|(l, _)| level > l) {
                entry = Some((level, pid));
            }
            let mut lists: Vec<Vec<u32>> = p
                .get_neighborhood_id()
                .into_iter()
                .take(usize::from(level) + 1)
                .map(|layer| layer.into_iter().map(|n| n.d_id as u32).collect())
                .collect();
            lists.resize(usize::from(level) + 1, Vec::new());
            points.push((pid, lists));
        }
        FlatGraph::from_lists(slot_count, entry.map_or(0, |e| e.1), points)
    }

    pub(crate) fn point_count(&self) -> usize {
        self.hnsw.get_nb_point()
    }

    /// Rough heap size: each point keeps its own vector copy plus neighbour lists
    /// (about `2M` entries on layer 0, ~40 bytes each with their `Arc`s).
    pub(crate) fn memory_bytes(&self, dim: usize) -> usize {
        let m = usize::from(self.hnsw.get_max_nb_connection());
        self.point_count() * (dim * 4 + 2 * m * 40 + 96)
    }

    /// Writes `graph.hnsw.graph` and `graph.hnsw.data` into `dir` (which must exist).
    pub(crate) fn dump(&self, dir: &Path) -> Result<()> {
        let name = self
            .hnsw
            .file_dump(dir, DUMP_BASENAME)
            .map_err(|e| VectorError::Dump(format!("writing graph in {}: {e}", dir.display())))?;
        if name != DUMP_BASENAME {
            return Err(VectorError::Dump(format!(
                "hnsw_rs wrote the dump as {name:?} in {}",
                dir.display()
            )));
        }
        Ok(())
    }

    /// Loads a graph dumped by [`Graph::dump`]. The caller has already verified the
    /// files' checksums; hnsw_rs's loader panics on some malformed input, so the load
    /// also runs under `catch_unwind`.
    ///
    /// The loaded graph borrows its `HnswIo` loader for its whole life, so the loader
    /// (a path, a name and a few flags, ~100 bytes, no mapped data) is leaked. This
    /// happens once per collection load.
    pub(crate) fn load(dir: &Path, metric: Metric) -> Result<Graph> {
        let dir = dir.to_path_buf();
        let loaded = std::panic::catch_unwind(move || {
            let io: &'static HnswIo = Box::leak(Box::new(HnswIo::new(&dir, DUMP_BASENAME)));
            io.load_hnsw_with_dist::<f32, GraphDistance>(GraphDistance(metric))
                .map_err(|e| e.to_string())
        });
        match loaded {
            Ok(Ok(hnsw)) => Ok(Graph { hnsw }),
            Ok(Err(e)) => Err(VectorError::Dump(format!("loading graph: {e}"))),
            Err(_) => Err(VectorError::Dump(
                "loading graph: hnsw_rs rejected the dump files".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_non_negative_and_ordered() {
        let a = [0.6f32, 0.8];
        assert_eq!(GraphDistance(Metric::Cosine).eval(&a, &a), 0.0);
        assert_eq!(
            GraphDistance(Metric::Euclidean).eval(&a, &[0.6, 0.0]),
            0.64000005
        );
        let dot = GraphDistance(Metric::DotProduct);
        let big = dot.eval(&[1.0, 0.0], &[10.0, 0.0]);
        let small = dot.eval(&[1.0, 0.0], &[1.0, 0.0]);
        let neg = dot.eval(&[1.0, 0.0], &[-3.0, 0.0]);
        assert!(0.0 < big && big < small && small < neg);
    }
}
