//! A unit-normalised f32 copy of a cosine index's vectors, read while walking the
//! HNSW graph when there is no half-precision copy (see `half.rs`).
//!
//! The arena keeps vectors as given, so a cosine score there is
//! `dot(q, v) * inv_norm[pid]`: two memory reads per visited point, the vector and,
//! from a separate array, its inverse norm. With the vector prefetched, the inverse
//! norm was the walk's most frequent cache miss (11% of the query loop's samples on
//! 50-d GloVe). Here each vector is stored already divided by its norm, so a visit
//! reads one contiguous row and scores it with one dot product. The walk's results
//! are rescored from the arena, so returned scores are exactly the arena's.
//!
//! Invariant: point ids `0..slots()` mirror the owning index's slots at the time they
//! were copied. Slots are append-only while the graph exists, so the copy is extended
//! as the graph grows and dropped whenever the graph is.

use crate::kernels;

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct UnitVectors {
    dim: usize,
    data: Vec<f32>,
}

impl UnitVectors {
    /// An empty copy for vectors of `dim` components.
    pub(crate) fn new(dim: usize) -> Self {
        UnitVectors {
            dim,
            data: Vec::new(),
        }
    }

    /// Number of points copied.
    pub(crate) fn slots(&self) -> usize {
        self.data.len() / self.dim.max(1)
    }

    /// Copies points `slots()..n` from the f32 arena `data` (`dim` floats per point),
    /// scaled by their inverse norms. Cost: O((n - slots()) * dim).
    pub(crate) fn extend(&mut self, data: &[f32], inv_norm: &[f32], n: usize) {
        let dim = self.dim;
        let from = self.slots();
        crate::huge::reserve(&mut self.data, n.saturating_sub(from) * dim);
        for pid in from..n {
            let s = inv_norm[pid];
            self.data
                .extend(data[pid * dim..(pid + 1) * dim].iter().map(|x| x * s));
        }
    }

    /// Point `pid`'s unit vector. Panics if `pid >= slots()`.
    #[inline(always)]
    pub(crate) fn vector(&self, pid: u32) -> &[f32] {
        let start = pid as usize * self.dim;
        &self.data[start..start + self.dim]
    }

    /// The cosine similarity of `pid` with the unit query `q` (up to rounding).
    /// Cost: one dot product over one row.
    #[inline(always)]
    pub(crate) fn score(&self, q: &[f32], pid: u32) -> f32 {
        kernels::dot(q, self.vector(pid))
    }

    /// Heap bytes held.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.data.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_unit_and_extend_appends() {
        let data = [3.0f32, 4.0, 0.0, 2.0, 1.0, 1.0];
        let inv: Vec<f32> = data.chunks(2).map(|v| 1.0 / kernels::norm(v)).collect();
        let mut u = UnitVectors::new(2);
        u.extend(&data, &inv, 2);
        assert_eq!(u.slots(), 2);
        assert_eq!(u.vector(0), &[0.6, 0.8]);
        u.extend(&data, &inv, 3);
        assert_eq!(u.slots(), 3);
        assert_eq!(u.vector(1), &[0.0, 1.0]);
        assert!((u.score(&[0.6, 0.8], 0) - 1.0).abs() < 1e-6);
        assert!((kernels::norm(u.vector(2)) - 1.0).abs() < 1e-6);
    }
}
