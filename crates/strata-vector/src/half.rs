//! A half-precision copy of an index's vectors, read while walking the HNSW graph.
//!
//! A graph search at 384 dimensions is bound by loading vectors from memory: each
//! visited point costs 24 cache lines in f32. This copy stores every graph point's
//! vector in IEEE half precision (12 lines at 384 dimensions), scaled per vector so
//! its largest component is 1 (the half range and precision then fit any vector),
//! with the scale folded into one f32 factor per point. The walk ranks candidates by
//! these approximate scores (relative error about 2^-11 per component); the final
//! results are rescored exactly from the f32 arena, so returned scores and their order
//! are exact.
//!
//! Used for cosine and dot-product collections of at least [`MIN_DIMENSION`]
//! components on CPUs with F16C ([`kernels::half_available`]); euclidean distances between near neighbours would
//! lose too much to rounding, so they keep walking the f32 vectors.
//!
//! Invariant: point ids `0..slots()` mirror the owning index's slots at the time they
//! were converted. Slots are append-only while the graph exists, so the copy is
//! extended as the graph grows and dropped whenever the graph is.

use crate::kernels;
use crate::metric::Metric;

/// Vectors shorter than this keep walking f32. Below it a vector is at most eight
/// cache lines and the walk is bound by per-visit bookkeeping, not loads: measured
/// from Python on 50-d GloVe (50k, cosine), the half copy lost about 15% of the
/// queries per second at ef=64, while it gained about 20% on 100k x 384.
pub(crate) const MIN_DIMENSION: usize = 128;

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct HalfVectors {
    dim: usize,
    data: Vec<u16>,
    factor: Vec<f32>,
}

impl HalfVectors {
    /// Whether a collection of `dim`-component vectors with `metric` gets a half copy
    /// on this CPU: from [`MIN_DIMENSION`] components on.
    pub(crate) fn supported(dim: usize, metric: Metric) -> bool {
        dim >= MIN_DIMENSION && metric != Metric::Euclidean && kernels::half_available()
    }

    /// An empty copy for vectors of `dim` components.
    pub(crate) fn new(dim: usize) -> Self {
        HalfVectors {
            dim,
            data: Vec::new(),
            factor: Vec::new(),
        }
    }

    /// Number of points converted.
    pub(crate) fn slots(&self) -> usize {
        self.factor.len()
    }

    /// Converts points `slots()..n` from the f32 arena `data` (`dim` floats per
    /// point) with their inverse norms. Cost: O((n - slots()) * dim).
    pub(crate) fn extend(&mut self, data: &[f32], inv_norm: &[f32], metric: Metric, n: usize) {
        let dim = self.dim;
        self.data.reserve(n.saturating_sub(self.slots()) * dim);
        let mut scaled = vec![0.0f32; dim];
        for pid in self.slots()..n {
            let v = &data[pid * dim..(pid + 1) * dim];
            let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            if max > 0.0 && max.is_finite() {
                for (s, x) in scaled.iter_mut().zip(v) {
                    *s = x / max;
                }
                let f = match metric {
                    Metric::Cosine => max * inv_norm[pid],
                    _ => max,
                };
                kernels::to_half(&scaled, &mut self.data);
                self.factor.push(f);
            } else {
                self.data.resize(self.data.len() + dim, 0);
                self.factor.push(0.0);
            }
        }
    }

    /// Point `pid`'s half vector. Panics if `pid >= slots()`.
    #[inline]
    pub(crate) fn vector(&self, pid: u32) -> &[u16] {
        let start = pid as usize * self.dim;
        &self.data[start..start + self.dim]
    }

    /// The approximate ranking score of `pid` for the prepared query `q` (cosine:
    /// unit query; dot product: as given). Cost: one half-precision dot product.
    #[inline]
    pub(crate) fn score(&self, q: &[f32], pid: u32) -> f32 {
        kernels::dot_half(q, self.vector(pid)) * self.factor[pid as usize]
    }

    /// Heap bytes held.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.data.capacity() * 2 + self.factor.capacity() * 4
    }
}
