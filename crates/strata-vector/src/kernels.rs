//! f32 distance kernels for exact scans and the HNSW graph.
//!
//! The bodies accumulate into 16 independent lanes over fixed-size chunks, which LLVM
//! turns into packed SIMD without `unsafe` (4 SSE registers on baseline x86-64). On
//! x86-64 CPUs with AVX2 the same bodies are compiled a second time with AVX2 enabled
//! and picked at run time (see [`avx2`]); that dispatch is the crate's only `unsafe`.
//!
//! Summation order differs from a naive left-to-right loop, so results match a naive
//! sum to within normal f32 rounding, not bit for bit.

const LANES: usize = 16;

#[inline(always)]
fn dot_body(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((s, &x), &y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    let mut tail = 0.0f32;
    for (&x, &y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    reduce(acc) + tail
}

#[inline(always)]
fn l2_sq_body(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((s, &x), &y) in acc.iter_mut().zip(x).zip(y) {
            let d = x - y;
            *s += d * d;
        }
    }
    let mut tail = 0.0f32;
    for (&x, &y) in ra.iter().zip(rb) {
        let d = x - y;
        tail += d * d;
    }
    reduce(acc) + tail
}

/// Pairwise reduction of the lanes (also vectorised).
#[inline(always)]
fn reduce(acc: [f32; LANES]) -> f32 {
    let mut half = [0.0f32; LANES / 2];
    for (h, (x, y)) in half
        .iter_mut()
        .zip(acc[..LANES / 2].iter().zip(&acc[LANES / 2..]))
    {
        *h = x + y;
    }
    let mut quarter = [0.0f32; LANES / 4];
    for (q, (x, y)) in quarter
        .iter_mut()
        .zip(half[..LANES / 4].iter().zip(&half[LANES / 4..]))
    {
        *q = x + y;
    }
    (quarter[0] + quarter[2]) + (quarter[1] + quarter[3])
}

/// Dot product of the common prefix of `a` and `b` (callers pass equal lengths).
/// Cost: one pass over both slices.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        return avx2::dot(a, b);
    }
    dot_body(a, b)
}

/// Squared Euclidean distance of the common prefix of `a` and `b`.
/// Cost: one pass over both slices.
#[inline]
pub fn l2_sq(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        return avx2::l2_sq(a, b);
    }
    l2_sq_body(a, b)
}

/// Euclidean norm `|a|`. Cost: one pass.
#[inline]
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// Runtime-dispatched AVX2 builds of the portable kernel bodies.
///
/// `unsafe` is denied workspace-wide; it is allowed here only, because calling a
/// `#[target_feature]` function is `unsafe` until the feature is proven present. The
/// proof is `is_x86_feature_detected!("avx2")`, checked once and cached.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::sync::atomic::{AtomicU8, Ordering};

    /// 0 = not probed yet, 1 = absent, 2 = present.
    static STATE: AtomicU8 = AtomicU8::new(0);

    #[inline]
    pub(super) fn available() -> bool {
        match STATE.load(Ordering::Relaxed) {
            2 => true,
            1 => false,
            _ => {
                let yes = std::is_x86_feature_detected!("avx2");
                STATE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
                yes
            }
        }
    }

    #[target_feature(enable = "avx2")]
    fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        super::dot_body(a, b)
    }

    #[target_feature(enable = "avx2")]
    fn l2_sq_avx2(a: &[f32], b: &[f32]) -> f32 {
        super::l2_sq_body(a, b)
    }

    #[inline]
    pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
        debug_assert!(available());
        // SAFETY: only called after `available()` confirmed AVX2 on this CPU.
        unsafe { dot_avx2(a, b) }
    }

    #[inline]
    pub(super) fn l2_sq(a: &[f32], b: &[f32]) -> f32 {
        debug_assert!(available());
        // SAFETY: only called after `available()` confirmed AVX2 on this CPU.
        unsafe { l2_sq_avx2(a, b) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum()
    }

    fn naive_l2(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
            .sum()
    }

    fn close(got: f32, want: f64, scale: f64) -> bool {
        (f64::from(got) - want).abs() <= 1e-4 * scale.max(1.0)
    }

    proptest! {
        #[test]
        fn kernels_match_naive(pairs in prop::collection::vec((-10.0f32..10.0, -10.0f32..10.0), 0..200)) {
            let a: Vec<f32> = pairs.iter().map(|p| p.0).collect();
            let b: Vec<f32> = pairs.iter().map(|p| p.1).collect();
            let scale: f64 = a.iter().chain(&b).map(|x| f64::from(*x).powi(2)).sum();
            prop_assert!(close(dot(&a, &b), naive_dot(&a, &b), scale));
            prop_assert!(close(dot_body(&a, &b), naive_dot(&a, &b), scale));
            prop_assert!(close(l2_sq(&a, &b), naive_l2(&a, &b), scale));
            prop_assert!(close(l2_sq_body(&a, &b), naive_l2(&a, &b), scale));
            prop_assert!(close(norm(&a), naive_dot(&a, &a).sqrt(), scale.sqrt()));
        }
    }

    #[test]
    fn exact_on_small_integers() {
        let a: Vec<f32> = (0..37).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..37).map(|i| (i % 5) as f32).collect();
        assert_eq!(f64::from(dot(&a, &b)), naive_dot(&a, &b));
        assert_eq!(f64::from(l2_sq(&a, &b)), naive_l2(&a, &b));
        assert_eq!(dot(&[], &[]), 0.0);
    }
}
