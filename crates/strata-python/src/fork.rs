//! Handles inherited through `fork()`.
//!
//! A forked child gets a copy of the parent's memory but only the thread that forked:
//! fjall's flush and compaction threads, the commit path's apply thread and any lock
//! another thread held are gone, and the files are the parent's, still open and
//! written by it. An inherited handle that worked in the child would write the
//! parent's journal behind its back; one that was dropped would wait forever for
//! threads that do not exist (a child that exited normally hung at exit). So every
//! handle records the process's fork count when it is opened; a child's fork handler
//! bumps the count, and a handle from before the fork then refuses every call
//! (`ClosedError`) and, when dropped, is forgotten without closing anything. A
//! child opens the database again if it needs it (it gets `LockedError` while the
//! parent has it open).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

/// How many times this process is a fork child of a process that loaded the module.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// The fork count to record in a handle opened now. Cost: an atomic load.
pub(crate) fn generation() -> u64 {
    FORKS.load(Ordering::Relaxed)
}

/// Whether a handle opened at `generation` was inherited through a fork.
pub(crate) fn inherited(generation: u64) -> bool {
    FORKS.load(Ordering::Relaxed) != generation
}

#[cfg(unix)]
extern "C" fn in_child() {
    // Async-signal-safe: one atomic add.
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// Registers the fork handler (once per process).
pub(crate) fn watch() {
    static WATCH: Once = Once::new();
    WATCH.call_once(|| {
        #[cfg(unix)]
        // SAFETY: registers a handler that only increments an atomic; nothing else
        // is passed.
        #[allow(unsafe_code)]
        unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        }
    });
}
