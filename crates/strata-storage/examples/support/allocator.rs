//! The allocator the benchmark examples run on: the Python wheel's. mimalloc (glibc's
//! malloc spent a third of a commit consolidating its free lists; in `storage_bench`
//! StrataDB and raw fjall both run on it), with transparent huge pages turned off for
//! its heap as the extension does at import (see `crates/strata-python/src/lib.rs`
//! and docs/benchmarks.md): with them, memtable memory was faulted in 2 MiB at a time
//! and commits got up to twice as slow.
//!
//! A binary's runtime allocates before `main`, and mimalloc decides about huge pages
//! when it first maps memory, so the option is set by the allocator itself on its
//! first call rather than in `main`.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};

#[global_allocator]
static GLOBAL: WheelAllocator = WheelAllocator;

/// `mi_option_allow_thp` in the `mimalloc.h` (v3) of libmimalloc-sys 0.1.49 (pinned).
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

static OPTIONS_SET: AtomicBool = AtomicBool::new(false);

/// mimalloc with its options set before its first allocation.
struct WheelAllocator;

fn set_options_once() {
    if !OPTIONS_SET.load(Ordering::Relaxed) {
        OPTIONS_SET.store(true, Ordering::Relaxed);
        // SAFETY: stores an integer in mimalloc's option table; the index is valid for
        // the pinned version.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
        }
    }
}

// SAFETY: every call is forwarded unchanged to mimalloc's allocator.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for WheelAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        set_options_once();
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        set_options_once();
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}
