//! A half-precision copy of an index's vectors, read while walking the HNSW graph.
//!
//! A graph search at 384 dimensions is bound by loading vectors from memory: each
//! visited point costs 24 cache lines in f32. This copy stores every graph point's
//! vector in IEEE half precision (12 lines at 384 dimensions), scaled per vector so
//! its largest component is 1 (the half range and precision then fit any vector),
//! with the scale folded into one f32 factor per point, stored at the head of the
//! point's row (`[factor as two u16 | dim halves]`), so a visit reads one contiguous
//! row: with the factors in an array of their own, loading a point's factor was a
//! cache miss of its own on every visit. The walk ranks candidates by
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

/// u16 words ahead of a row's halves: the factor's f32 bits, low word first.
const HEAD: usize = 2;

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct HalfVectors {
    dim: usize,
    /// `slots()` rows of `HEAD + dim` words.
    data: Vec<u16>,
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
        }
    }

    /// Number of points converted.
    pub(crate) fn slots(&self) -> usize {
        self.data.len() / (HEAD + self.dim)
    }

    /// Converts points `slots()..n` from the f32 arena `data` (`dim` floats per
    /// point) with their inverse norms. Cost: O((n - slots()) * dim).
    pub(crate) fn extend(&mut self, data: &[f32], inv_norm: &[f32], metric: Metric, n: usize) {
        let dim = self.dim;
        let more = n.saturating_sub(self.slots()) * (HEAD + dim);
        crate::huge::reserve(&mut self.data, more);
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
                self.push_factor(f);
                kernels::to_half(&scaled, &mut self.data);
            } else {
                self.push_factor(0.0);
                self.data.resize(self.data.len() + dim, 0);
            }
        }
    }

    fn push_factor(&mut self, f: f32) {
        let bits = f.to_bits();
        self.data.push(bits as u16);
        self.data.push((bits >> 16) as u16);
    }

    /// Point `pid`'s whole row (factor and half vector), e.g. to prefetch it.
    /// Panics if `pid >= slots()`.
    #[inline(always)]
    pub(crate) fn row(&self, pid: u32) -> &[u16] {
        let len = HEAD + self.dim;
        let start = pid as usize * len;
        &self.data[start..start + len]
    }

    /// The approximate ranking score of `pid` for the prepared query `q` (cosine:
    /// unit query; dot product: as given). Cost: one half-precision dot product.
    #[inline(always)]
    pub(crate) fn score(&self, q: &[f32], pid: u32) -> f32 {
        let row = self.row(pid);
        let factor = f32::from_bits(u32::from(row[0]) | (u32::from(row[1]) << 16));
        kernels::dot_half(q, &row[HEAD..]) * factor
    }

    /// Heap bytes held.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.data.capacity() * 2
    }
}
