//! Python bindings for StrataDB: the native module `stratadb._stratadb`.
//!
//! The Python package `stratadb` (in `python/stratadb`) re-exports everything here;
//! users never import `_stratadb` directly. This crate only converts values and
//! errors and releases the GIL: database behaviour lives in the Rust crates.
//!
//! Modules: [`strata`] (the `Strata` class), [`txn`] (the `transaction()` context
//! manager), [`convert`] (Python <-> `Value`), [`vectors`] (NumPy in and out),
//! [`results`] and [`search`] (the dicts methods return), [`models`] (Python
//! callables as search models), [`errors`] (exception classes).

mod convert;
mod errors;
mod fork;
mod models;
mod results;
mod search;
mod strata;
mod txn;
mod vectors;

use pyo3::prelude::*;

/// Rust allocations of the extension go through mimalloc: fjall's memtables make many
/// small allocations, and glibc's malloc spent about a third of a commit consolidating
/// its free lists (perf, `crates/strata-events/examples/events_append_rate.rs`).
/// Python's own objects still use Python's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_allow_thp` in the `mimalloc.h` (v3) of libmimalloc-sys 0.1.49, which
/// Cargo.toml pins exactly.
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// Stops mimalloc from asking for transparent huge pages for the memory it maps from
/// now on. With them, its heap behind fjall's memtables was faulted in 2 MiB at a time
/// again and again (memory it had returned to the kernel, reused a few KiB at a time):
/// in some runs three quarters of an event append was the kernel zeroing huge pages
/// (`perf`: `clear_page_erms` under `do_huge_pmd_anonymous_page`), and appends to
/// `Strata.cache()` fell from ~165k/s to ~60k/s. Only this heap is affected: unlike
/// mimalloc's `no_thp` build option, this does not turn huge pages off for the rest of
/// the Python process (NumPy's arrays keep them).
fn no_huge_pages_for_our_heap() {
    // SAFETY: `mi_option_set` only stores an integer in mimalloc's option table; the
    // index is valid for the pinned version (see `MI_OPTION_ALLOW_THP`).
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
    }
}

/// StrataDB's native module. Import `stratadb`, not this.
#[pymodule]
fn _stratadb(m: &Bound<'_, PyModule>) -> PyResult<()> {
    no_huge_pages_for_our_heap();
    fork::watch();
    m.add_class::<strata::Strata>()?;
    m.add_class::<txn::Transaction>()?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
