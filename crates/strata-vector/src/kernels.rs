//! f32 distance kernels for exact scans and the HNSW graph.
//!
//! The portable bodies accumulate into 16 independent lanes over fixed-size chunks,
//! which LLVM turns into packed SIMD without `unsafe`. On x86-64 CPUs with AVX2 and
//! FMA, hand-written 8-lane kernels with four accumulators are picked at run time
//! instead (see [`avx2`]; about 4x faster at 384 dimensions than what LLVM made of
//! the portable bodies), and the half-precision dot product has an AVX-512 build too
//! (see [`avx512`]); they and a prefetch hint are the crate's only `unsafe`.
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
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        return avx2::dot(a, b);
    }
    dot_portable(a, b)
}

/// [`dot`] without SIMD dispatch, out of line so that [`dot`] stays small enough to
/// inline into the graph walk.
#[inline(never)]
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
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

/// Runs `f` in a frame compiled for AVX2 and FMA when the CPU has them (else plainly),
/// so the kernels `f` calls can be inlined into it instead of being a call each: the
/// graph walk runs this way. Cost: one cached feature check.
#[inline]
pub fn with_simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        return avx2::run(f);
    }
    f()
}

/// [`with_simd`] for code that scores half-precision vectors: the frame is compiled
/// for AVX-512 (F, BW, VL) as well where the CPU has it, so [`dot_half`] inlines too.
/// Kept apart from [`with_simd`] because the 50-d f32 walk measured slower with
/// AVX-512 code. Cost: one cached feature check.
#[inline]
pub fn with_simd_half<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if avx512::available() {
        return avx512::run(f);
    }
    with_simd(f)
}

/// Hints the CPU to start loading the first two cache lines of `a` (a vector about
/// to be scored, or a neighbour list about to be read), so several memory latencies
/// overlap. A no-op off x86-64. Cost: a few instructions; never faults.
#[inline]
pub fn prefetch<T>(a: &[T]) {
    #[cfg(target_arch = "x86_64")]
    avx2::prefetch(a);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = a;
}

/// Hints the CPU to start loading every cache line of `a` (a vector about to be
/// scored). A no-op off x86-64. Cost: one instruction per 64 bytes; never faults.
#[inline]
pub fn prefetch_all<T>(a: &[T]) {
    #[cfg(target_arch = "x86_64")]
    avx2::prefetch_all(a);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = a;
}

/// Whether this CPU converts and scores half-precision vectors in hardware (x86-64
/// with AVX2, FMA and F16C). [`to_half`] and [`dot_half`] may only be called when it
/// returns true. Cost: a cached load after the first call.
#[inline]
pub fn half_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        avx2::half_available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Appends `src` rounded to IEEE half precision (as raw bits) to `dst`. Values beyond
/// the half range become infinities: callers scale first. Panics unless
/// [`half_available`]. Cost: one pass.
pub fn to_half(src: &[f32], dst: &mut Vec<u16>) {
    #[cfg(target_arch = "x86_64")]
    {
        assert!(avx2::half_available(), "no F16C on this CPU");
        avx2::to_half(src, dst);
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (src, dst);
        unreachable!("half_available() is false off x86-64");
    }
}

/// Dot product of `q` with the half-precision vector `h` (raw bits, as written by
/// [`to_half`]), over their common prefix. Panics unless [`half_available`].
/// Cost: one pass; half the memory traffic of [`dot`] on the vector side.
#[inline(always)]
pub fn dot_half(q: &[f32], h: &[u16]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        debug_assert!(avx2::half_available());
        if avx512::available() {
            return avx512::dot_half(q, h);
        }
        avx2::dot_half(q, h)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (q, h);
        unreachable!("half_available() is false off x86-64");
    }
}

/// Euclidean norm `|a|`. Cost: one pass.
#[inline]
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// Runtime-dispatched AVX2 builds of the portable kernel bodies, and a prefetch hint.
///
/// `unsafe` is denied workspace-wide; it is allowed here only, because calling a
/// `#[target_feature]` function is `unsafe` until the feature is proven present. The
/// proof is `is_x86_feature_detected!` for AVX2 and FMA, checked once and cached
/// (and the slice bounds, for the loads); for the
/// prefetch it is that SSE is part of every x86-64 CPU.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_fmadd_ps,
        _mm256_loadu_ps, _mm256_setzero_ps, _mm256_sub_ps, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32,
        _mm_movehl_ps, _mm_shuffle_ps,
    };
    use std::sync::atomic::{AtomicU8, Ordering};

    /// 0 = not probed yet, 1 = absent, 2 = present.
    static STATE: AtomicU8 = AtomicU8::new(0);
    /// The same for F16C (on top of AVX2 and FMA).
    static HALF: AtomicU8 = AtomicU8::new(0);

    #[inline]
    pub(super) fn half_available() -> bool {
        match HALF.load(Ordering::Relaxed) {
            2 => true,
            1 => false,
            _ => {
                let yes = available() && std::is_x86_feature_detected!("f16c");
                HALF.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
                yes
            }
        }
    }

    #[inline(always)]
    pub(super) fn available() -> bool {
        match STATE.load(Ordering::Relaxed) {
            2 => true,
            1 => false,
            _ => probe(),
        }
    }

    #[cold]
    #[inline(never)]
    fn probe() -> bool {
        let yes = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        STATE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
        yes
    }

    /// Sum of the eight lanes of `v`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn hsum(v: __m256) -> f32 {
        let x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let x = _mm_add_ps(x, _mm_movehl_ps(x, x));
        let x = _mm_add_ss(x, _mm_shuffle_ps::<0x55>(x, x));
        _mm_cvtss_f32(x)
    }

    /// Eight floats of `a` from `i` on. Callers guarantee `i + 8 <= a.len()`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn load(a: &[f32], i: usize) -> __m256 {
        // Bounds-checked: the loops only ask for whole chunks, so this never panics,
        // and a wrong index can never read outside `a`.
        let chunk: &[f32; 8] = a[i..i + 8].try_into().expect("8 floats");
        // SAFETY: `chunk` is 8 valid floats (unaligned load is allowed).
        unsafe { _mm256_loadu_ps(chunk.as_ptr()) }
    }

    // LLVM auto-vectorised the portable bodies into 2-lane operations here (seen
    // in a profile: `vmovsd` + `vmulps xmm`), so these kernels are written with
    // 8-lane intrinsics, four independent FMA accumulators per loop.

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (mut s0, mut s1, mut s2, mut s3) = (
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
        );
        let mut i = 0;
        while i + 32 <= n {
            s0 = _mm256_fmadd_ps(load(a, i), load(b, i), s0);
            s1 = _mm256_fmadd_ps(load(a, i + 8), load(b, i + 8), s1);
            s2 = _mm256_fmadd_ps(load(a, i + 16), load(b, i + 16), s2);
            s3 = _mm256_fmadd_ps(load(a, i + 24), load(b, i + 24), s3);
            i += 32;
        }
        while i + 8 <= n {
            s0 = _mm256_fmadd_ps(load(a, i), load(b, i), s0);
            i += 8;
        }
        let mut sum = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
        for j in i..n {
            sum += a[j] * b[j];
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn l2_sq_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (mut s0, mut s1, mut s2, mut s3) = (
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
        );
        let mut i = 0;
        while i + 32 <= n {
            let d0 = _mm256_sub_ps(load(a, i), load(b, i));
            let d1 = _mm256_sub_ps(load(a, i + 8), load(b, i + 8));
            let d2 = _mm256_sub_ps(load(a, i + 16), load(b, i + 16));
            let d3 = _mm256_sub_ps(load(a, i + 24), load(b, i + 24));
            s0 = _mm256_fmadd_ps(d0, d0, s0);
            s1 = _mm256_fmadd_ps(d1, d1, s1);
            s2 = _mm256_fmadd_ps(d2, d2, s2);
            s3 = _mm256_fmadd_ps(d3, d3, s3);
            i += 32;
        }
        while i + 8 <= n {
            let d = _mm256_sub_ps(load(a, i), load(b, i));
            s0 = _mm256_fmadd_ps(d, d, s0);
            i += 8;
        }
        let mut sum = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
        for j in i..n {
            let d = a[j] - b[j];
            sum += d * d;
        }
        sum
    }

    /// Eight half floats of `h` from `i` on, widened. Callers guarantee
    /// `i + 8 <= h.len()`.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn load_half(h: &[u16], i: usize) -> __m256 {
        use std::arch::x86_64::{__m128i, _mm256_cvtph_ps, _mm_loadu_si128};
        let chunk: &[u16; 8] = h[i..i + 8].try_into().expect("8 halves");
        // SAFETY: `chunk` is 16 valid bytes (unaligned load is allowed).
        _mm256_cvtph_ps(unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) })
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn dot_half_avx2(q: &[f32], h: &[u16]) -> f32 {
        let n = q.len().min(h.len());
        let (mut s0, mut s1, mut s2, mut s3) = (
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
        );
        let mut i = 0;
        while i + 32 <= n {
            s0 = _mm256_fmadd_ps(load(q, i), load_half(h, i), s0);
            s1 = _mm256_fmadd_ps(load(q, i + 8), load_half(h, i + 8), s1);
            s2 = _mm256_fmadd_ps(load(q, i + 16), load_half(h, i + 16), s2);
            s3 = _mm256_fmadd_ps(load(q, i + 24), load_half(h, i + 24), s3);
            i += 32;
        }
        while i + 8 <= n {
            s0 = _mm256_fmadd_ps(load(q, i), load_half(h, i), s0);
            i += 8;
        }
        let mut sum = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
        if i < n {
            // The tail, widened through a zero-padded chunk.
            let mut hq = [0.0f32; 8];
            let mut hh = [0u16; 8];
            hq[..n - i].copy_from_slice(&q[i..n]);
            hh[..n - i].copy_from_slice(&h[i..n]);
            sum += hsum(_mm256_fmadd_ps(
                load(&hq, 0),
                load_half(&hh, 0),
                _mm256_setzero_ps(),
            ));
        }
        sum
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    fn to_half_avx2(src: &[f32], dst: &mut Vec<u16>) {
        use std::arch::x86_64::{
            __m128i, _mm256_cvtps_ph, _mm_storeu_si128, _MM_FROUND_TO_NEAREST_INT,
        };
        dst.reserve(src.len());
        let mut out = [0u16; 8];
        for chunk in src.chunks(8) {
            let mut x = [0.0f32; 8];
            x[..chunk.len()].copy_from_slice(chunk);
            let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(load(&x, 0));
            // SAFETY: `out` is 16 writable bytes (unaligned store is allowed).
            unsafe { _mm_storeu_si128(out.as_mut_ptr().cast::<__m128i>(), h) };
            dst.extend_from_slice(&out[..chunk.len()]);
        }
    }

    #[inline(always)]
    pub(super) fn dot_half(q: &[f32], h: &[u16]) -> f32 {
        assert!(half_available());
        // SAFETY: AVX2, FMA and F16C were confirmed on this CPU just above.
        unsafe { dot_half_avx2(q, h) }
    }

    pub(super) fn to_half(src: &[f32], dst: &mut Vec<u16>) {
        assert!(half_available());
        // SAFETY: AVX2, FMA and F16C were confirmed on this CPU just above.
        unsafe { to_half_avx2(src, dst) }
    }

    /// Prefetches the first two cache lines of `a` (and no further than its end).
    #[inline]
    pub(super) fn prefetch<T>(a: &[T]) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(a);
        if bytes == 0 {
            return;
        }
        let p = a.as_ptr().cast::<i8>();
        // SAFETY: SSE is baseline on x86-64, and a prefetch is only a hint: it never
        // faults and reads nothing into the program's state. Both addresses are
        // inside `a`.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p);
            if bytes > 64 {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
            }
        }
    }

    /// Prefetches every cache line of `a`.
    #[inline]
    pub(super) fn prefetch_all<T>(a: &[T]) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(a);
        let p = a.as_ptr().cast::<i8>();
        let mut offset = 0;
        while offset < bytes {
            // SAFETY: as in `prefetch`: a hint that never faults, inside `a`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(offset)) };
            offset += 64;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    fn run_with_features<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    #[inline]
    pub(super) fn run<R>(f: impl FnOnce() -> R) -> R {
        debug_assert!(available());
        // SAFETY: only called after `available()` confirmed AVX2 and FMA on this CPU.
        unsafe { run_with_features(f) }
    }

    #[inline(always)]
    pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
        debug_assert!(available());
        // SAFETY: only called after `available()` confirmed AVX2 and FMA on this CPU.
        unsafe { dot_avx2(a, b) }
    }

    #[inline]
    pub(super) fn l2_sq(a: &[f32], b: &[f32]) -> f32 {
        debug_assert!(available());
        // SAFETY: only called after `available()` confirmed AVX2 and FMA on this CPU.
        unsafe { l2_sq_avx2(a, b) }
    }
}

/// The half-precision dot product in AVX-512 (16 lanes, a masked tail), used ahead of
/// the AVX2 one where the CPU has AVX-512 F, BW and VL: the 384-d half walk answered
/// about 8% more queries per second with it (clustered 100k, from Python,
/// alternating builds). f32 kernels in AVX-512 were measured too and not kept: 15%
/// slower on the 50-d GloVe walk, no faster for the 384-d graph build or exact scan.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx512 {
    use std::arch::x86_64::{
        __m256i, __m512, __mmask16, _mm256_loadu_si256, _mm256_maskz_loadu_epi16, _mm512_add_ps,
        _mm512_cvtph_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_maskz_loadu_ps,
        _mm512_reduce_add_ps, _mm512_setzero_ps,
    };
    use std::sync::atomic::{AtomicU8, Ordering};

    /// 0 = not probed yet, 1 = absent, 2 = present.
    static STATE: AtomicU8 = AtomicU8::new(0);

    #[inline(always)]
    pub(super) fn available() -> bool {
        match STATE.load(Ordering::Relaxed) {
            2 => true,
            1 => false,
            _ => probe(),
        }
    }

    #[cold]
    #[inline(never)]
    fn probe() -> bool {
        let yes = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && super::avx2::half_available();
        STATE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
        yes
    }

    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl")]
    fn run_with_features<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    #[inline]
    pub(super) fn run<R>(f: impl FnOnce() -> R) -> R {
        assert!(available());
        // SAFETY: AVX-512 F, BW, VL and AVX2, FMA, F16C were confirmed just above.
        unsafe { run_with_features(f) }
    }

    /// Lanes `0..n` set (`n <= 16`).
    #[inline]
    fn mask(n: usize) -> __mmask16 {
        ((1u32 << n) - 1) as __mmask16
    }

    /// Sixteen floats of `a` from `i` on. Callers guarantee `i + 16 <= a.len()`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn load(a: &[f32], i: usize) -> __m512 {
        let chunk: &[f32; 16] = a[i..i + 16].try_into().expect("16 floats");
        // SAFETY: `chunk` is 16 valid floats (unaligned load is allowed).
        unsafe { _mm512_loadu_ps(chunk.as_ptr()) }
    }

    /// The floats of `a` from `i` to its end (fewer than 16), zeros in the other
    /// lanes.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn load_tail(a: &[f32], i: usize) -> __m512 {
        let rest = &a[i..];
        debug_assert!(rest.len() < 16);
        // SAFETY: only the first `rest.len()` lanes are read, all inside `rest`; a
        // masked-off lane is never accessed (AVX-512 masked loads do not fault).
        unsafe { _mm512_maskz_loadu_ps(mask(rest.len()), rest.as_ptr()) }
    }

    /// Sixteen halves of `h` from `i` on, widened. Callers guarantee
    /// `i + 16 <= h.len()`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    #[inline]
    fn load_half(h: &[u16], i: usize) -> __m512 {
        let chunk: &[u16; 16] = h[i..i + 16].try_into().expect("16 halves");
        // SAFETY: `chunk` is 32 valid bytes (unaligned load is allowed).
        _mm512_cvtph_ps(unsafe { _mm256_loadu_si256(chunk.as_ptr().cast::<__m256i>()) })
    }

    /// The halves of `h` from `i` to its end (fewer than 16), widened; zeros in the
    /// other lanes.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    #[inline]
    fn load_half_tail(h: &[u16], i: usize) -> __m512 {
        let rest = &h[i..];
        debug_assert!(rest.len() < 16);
        // SAFETY: as in `load_tail`: only lanes inside `rest` are read.
        _mm512_cvtph_ps(unsafe {
            _mm256_maskz_loadu_epi16(mask(rest.len()), rest.as_ptr().cast::<i16>())
        })
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    #[inline]
    fn dot_half_512(q: &[f32], h: &[u16]) -> f32 {
        let n = q.len().min(h.len());
        let (q, h) = (&q[..n], &h[..n]);
        let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let mut i = 0;
        while i + 32 <= n {
            s0 = _mm512_fmadd_ps(load(q, i), load_half(h, i), s0);
            s1 = _mm512_fmadd_ps(load(q, i + 16), load_half(h, i + 16), s1);
            i += 32;
        }
        if i + 16 <= n {
            s0 = _mm512_fmadd_ps(load(q, i), load_half(h, i), s0);
            i += 16;
        }
        if i < n {
            s1 = _mm512_fmadd_ps(load_tail(q, i), load_half_tail(h, i), s1);
        }
        _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
    }

    #[inline(always)]
    pub(super) fn dot_half(q: &[f32], h: &[u16]) -> f32 {
        assert!(available());
        // SAFETY: AVX-512 F, BW and VL were confirmed on this CPU just above (the
        // half conversions are part of AVX-512 F).
        unsafe { dot_half_512(q, h) }
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
            // Each instruction set's kernels, whichever the dispatch above picked.
            #[cfg(target_arch = "x86_64")]
            {
                if avx2::available() {
                    prop_assert!(close(avx2::dot(&a, &b), naive_dot(&a, &b), scale));
                    prop_assert!(close(avx2::l2_sq(&a, &b), naive_l2(&a, &b), scale));
                }
            }
        }
    }

    proptest! {
        #[test]
        fn half_dot_matches_within_half_precision(pairs in prop::collection::vec((-1.0f32..1.0, -1.0f32..1.0), 0..200)) {
            if half_available() {
                let q: Vec<f32> = pairs.iter().map(|p| p.0).collect();
                let v: Vec<f32> = pairs.iter().map(|p| p.1).collect();
                let mut h = Vec::new();
                to_half(&v, &mut h);
                prop_assert_eq!(h.len(), v.len());
                // Each half rounds with relative error <= 2^-11.
                let bound: f64 = q.iter().zip(&v).map(|(a, b)| f64::from((a * b).abs())).sum::<f64>() / 2048.0 + 1e-5;
                let got = f64::from(dot_half(&q, &h));
                prop_assert!((got - naive_dot(&q, &v)).abs() <= bound, "{} vs {}", got, naive_dot(&q, &v));
                // Both instruction sets, whichever `dot_half` picked.
                let avx2 = f64::from(avx2::dot_half(&q, &h));
                prop_assert!((avx2 - naive_dot(&q, &v)).abs() <= bound, "{} vs {}", avx2, naive_dot(&q, &v));
                if avx512::available() {
                    let wide = f64::from(avx512::dot_half(&q, &h));
                    prop_assert!((wide - naive_dot(&q, &v)).abs() <= bound, "{} vs {}", wide, naive_dot(&q, &v));
                }
            }
        }
    }

    #[test]
    fn half_is_exact_on_small_integers() {
        if !half_available() {
            return;
        }
        let v: Vec<f32> = (0..37).map(|i| (i % 11) as f32).collect();
        let q: Vec<f32> = (0..37).map(|i| (i % 5) as f32).collect();
        let mut h = Vec::new();
        to_half(&v, &mut h);
        assert_eq!(f64::from(dot_half(&q, &h)), naive_dot(&q, &v));
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
