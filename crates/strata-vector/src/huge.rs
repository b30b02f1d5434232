//! Huge pages behind the large arrays the graph walk reads at random.
//!
//! A walk touches a few thousand random vectors and neighbour rows per query, spread
//! over tens of megabytes; with 4 KiB pages nearly every one of those reads also
//! misses the TLB. The walk copies, the neighbour rows and the arena are written once
//! per extraction and then only read, so after each is built [`advise`] asks Linux to
//! back it with 2 MiB pages (`MADV_HUGEPAGE`, then `MADV_COLLAPSE` to do it now rather
//! than whenever khugepaged gets to it). A hint: where the kernel declines or the call
//! does not exist, nothing changes but speed. Arrays under 4 MiB are left alone.

/// Asks for huge pages behind the 2 MiB-aligned interior of `data`. Cost: two system
/// calls, plus the kernel copying the range into huge pages (about 1 ms per 10 MB).
pub(crate) fn advise<T>(data: &[T]) {
    #[cfg(target_os = "linux")]
    linux::advise(data.as_ptr().cast(), std::mem::size_of_val(data));
    #[cfg(not(target_os = "linux"))]
    let _ = data;
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod linux {
    const HUGE: usize = 2 << 20;

    pub(super) fn advise(ptr: *const u8, len: usize) {
        if len < 2 * HUGE {
            return;
        }
        let start = (ptr as usize).div_ceil(HUGE) * HUGE;
        let end = (ptr as usize + len) / HUGE * HUGE;
        if end <= start {
            return;
        }
        // SAFETY: `start..end` lies inside one live allocation (the slice the caller
        // passed, which it keeps borrowed for this call). MADV_HUGEPAGE and
        // MADV_COLLAPSE change only how the kernel backs those pages, never their
        // contents, and both are advisory: an error (old kernel, THP disabled) is
        // ignored.
        unsafe {
            let addr = start as *mut libc::c_void;
            libc::madvise(addr, end - start, libc::MADV_HUGEPAGE);
            libc::madvise(addr, end - start, libc::MADV_COLLAPSE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The advice must never touch contents (a wrong advice such as `MADV_DONTNEED`
    /// would zero the pages): a 16 MiB array reads back the same after it, and so do
    /// a small one and an empty one, which are left alone.
    #[test]
    fn advice_keeps_contents() {
        let big: Vec<u32> = (0..4u32 << 20)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect();
        advise(&big);
        assert!(big
            .iter()
            .enumerate()
            .all(|(i, &x)| x == (i as u32).wrapping_mul(2_654_435_761)));
        let small = vec![7u8; 100];
        advise(&small);
        assert!(small.iter().all(|&x| x == 7));
        advise::<f32>(&[]);
    }
}
