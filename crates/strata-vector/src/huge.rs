//! Huge pages behind the large arrays the graph walk reads at random.
//!
//! A walk touches a few thousand random vectors and neighbour rows per query, spread
//! over tens of megabytes; with 4 KiB pages nearly every one of those reads also
//! misses the TLB. So the vector arena, the walk copies and the layer-0 rows get their
//! memory from [`with_capacity`] and grow through [`reserve`], which ask Linux
//! (`MADV_HUGEPAGE`) to back a fresh buffer with 2 MiB pages *before* it is first
//! written: the pages are then faulted in huge, at no extra cost. (Collapsing pages
//! after the fact, `MADV_COLLAPSE`, was measured too: it copies every byte, which
//! took a 100k x 384 reopen from 0.5 s to 1.35 s.) The advice is a hint: where the
//! kernel declines it, or off Linux, nothing changes but speed. Buffers under 4 MiB
//! are left alone.

/// An empty vector with room for `capacity` elements, its buffer advised onto huge
/// pages. Cost: one allocation and, for large buffers, one system call.
pub(crate) fn with_capacity<T>(capacity: usize) -> Vec<T> {
    let v: Vec<T> = Vec::with_capacity(capacity);
    advise(v.as_ptr().cast(), v.capacity() * std::mem::size_of::<T>());
    v
}

/// `n` zeros in a buffer advised onto huge pages.
pub(crate) fn zeroed<T: Copy + Default>(n: usize) -> Vec<T> {
    let mut v = with_capacity(n);
    v.resize(n, T::default());
    v
}

/// Makes room for `additional` more elements in `v`. When the buffer must grow, the
/// contents move to a fresh advised buffer of at least twice the capacity (amortised
/// O(1) per element, like `Vec::reserve`).
pub(crate) fn reserve<T: Copy>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() >= additional {
        return;
    }
    let capacity = (v.len() + additional).max(v.capacity().saturating_mul(2));
    let mut grown = with_capacity(capacity);
    grown.extend_from_slice(v);
    *v = grown;
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn advise(ptr: *const u8, len: usize) {
    const HUGE: usize = 2 << 20;
    if len < 2 * HUGE {
        return;
    }
    let start = (ptr as usize).div_ceil(HUGE) * HUGE;
    let end = (ptr as usize + len) / HUGE * HUGE;
    if end <= start {
        return;
    }
    // SAFETY: `start..end` lies inside the buffer just allocated (the caller owns it
    // and holds it for this call). MADV_HUGEPAGE changes only how the kernel backs
    // those pages, never their contents, and it is advisory: an error (old kernel,
    // huge pages disabled) is ignored.
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_ptr: *const u8, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Advised buffers behave as plain vectors: growth keeps contents in order, and
    /// the advice never touches them (a wrong advice such as `MADV_DONTNEED` would
    /// zero pages).
    #[test]
    fn advised_buffers_keep_contents_through_growth() {
        let mut v: Vec<u32> = with_capacity(1 << 20);
        for i in 0..(6u32 << 20) {
            if v.len() == v.capacity() {
                reserve(&mut v, 1);
            }
            v.push(i.wrapping_mul(2_654_435_761));
        }
        assert!(v
            .iter()
            .enumerate()
            .all(|(i, &x)| x == (i as u32).wrapping_mul(2_654_435_761)));
        let z: Vec<f32> = zeroed(3 << 20);
        assert_eq!(z.len(), 3 << 20);
        assert!(z.iter().all(|&x| x == 0.0));
        let mut small: Vec<u8> = with_capacity(10);
        reserve(&mut small, 100);
        assert!(small.capacity() >= 100 && small.is_empty());
    }
}
