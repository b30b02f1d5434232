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

/// StrataDB's native module. Import `stratadb`, not this.
#[pymodule]
fn _stratadb(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<strata::Strata>()?;
    m.add_class::<txn::Transaction>()?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
