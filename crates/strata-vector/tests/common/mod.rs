//! Deterministic test data: a tiny PRNG and clustered vectors.
#![allow(dead_code)]

/// SplitMix64: small, deterministic, good enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.f32()).collect()
    }
}

/// `n` vectors around `clusters` random centres (noise 0.15), like real embeddings.
pub fn clustered(rng: &mut Rng, n: usize, dim: usize, clusters: usize) -> Vec<Vec<f32>> {
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| rng.vector(dim)).collect();
    (0..n)
        .map(|_| {
            let c = &centres[rng.below(clusters)];
            c.iter().map(|x| x + 0.15 * rng.f32()).collect()
        })
        .collect()
}

/// `n` vectors around the given centres (noise 0.15). Use the same centres for data
/// and queries: with well-separated clusters, queries drawn around *other* centres
/// need a larger ef (on 4k x 32, hnsw_rs's own search and the flat-graph search both
/// reach recall 0.84 at ef=64 and 1.0 at ef=256), which made recall tests flaky.
pub fn mixture(rng: &mut Rng, centres: &[Vec<f32>], n: usize) -> Vec<Vec<f32>> {
    (0..n)
        .map(|_| {
            let c = &centres[rng.below(centres.len())];
            c.iter().map(|x| x + 0.15 * rng.f32()).collect()
        })
        .collect()
}

/// Fraction of `want` keys found in `got`.
pub fn recall(got: &[strata_vector::SearchMatch], want: &[strata_vector::SearchMatch]) -> f64 {
    if want.is_empty() {
        return 1.0;
    }
    let hits = want
        .iter()
        .filter(|w| got.iter().any(|g| g.key == w.key))
        .count();
    hits as f64 / want.len() as f64
}
