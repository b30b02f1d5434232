//! Python bindings for StrataDB: the native module `stratadb._stratadb`.
//!
//! The Python package `stratadb` (in `python/stratadb`) re-exports everything here;
//! users never import `_stratadb` directly. This crate only converts values and
//! errors and releases the GIL: database behaviour lives in the Rust crates.
//!
//! Modules: [`strata`] (the `Strata` class), [`convert`] (Python <-> `Value`),
//! [`errors`] (exception classes).

mod convert;
mod errors;
mod strata;

use pyo3::prelude::*;

/// StrataDB's native module. Import `stratadb`, not this.
#[pymodule]
fn _stratadb(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<strata::Strata>()?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
