//! Python exception classes and the mapping from engine errors to them.
//!
//! Every exception raised by `stratadb` derives from [`StrataError`], itself a
//! `RuntimeError` (the spec promises `RuntimeError` for database errors). Each instance
//! carries `.code`, the engine's stable error code (`"not_found"`, `"locked"`, ...), so
//! callers can branch on kinds that have no class of their own.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

pyo3::create_exception!(
    stratadb,
    StrataError,
    PyRuntimeError,
    "Base class of every StrataDB error (a RuntimeError). `.code` holds the stable error code."
);
pyo3::create_exception!(
    stratadb,
    NotFoundError,
    StrataError,
    "Something named does not exist (a parent directory, branch, space, collection)."
);
pyo3::create_exception!(
    stratadb,
    ConflictError,
    StrataError,
    "A transaction conflicted with a concurrent commit; retry it."
);
pyo3::create_exception!(
    stratadb,
    InvalidInputError,
    StrataError,
    "An argument the database refuses: a value it cannot store, a bad option or path."
);
pyo3::create_exception!(
    stratadb,
    ClosedError,
    StrataError,
    "The database handle was closed (or was opened before this process was forked)."
);
pyo3::create_exception!(
    stratadb,
    TransactionError,
    StrataError,
    "Misuse of transactions: begin() while one is active on the handle, commit() or rollback() without one."
);
pyo3::create_exception!(
    stratadb,
    LockedError,
    StrataError,
    "The database directory is held by another process."
);

/// Error code of [`ClosedError`].
pub(crate) const CLOSED: &str = "closed";
/// Error code of a Rust panic caught at the binding boundary.
pub(crate) const PANIC: &str = "internal";

/// What an engine call can fail with, built without the GIL.
#[derive(Debug)]
pub(crate) enum Failure {
    /// An error returned by the database.
    Db(strata::Error),
    /// A Rust panic caught at the boundary, with its message.
    Panic(String),
}

impl From<strata::Error> for Failure {
    fn from(e: strata::Error) -> Self {
        Failure::Db(e)
    }
}

/// Builds an exception of class `T` with `message` and sets its `.code`.
pub(crate) fn raise<T: pyo3::PyTypeInfo>(py: Python<'_>, code: &str, message: String) -> PyErr {
    let err = PyErr::new::<T, _>(message);
    // Setting an attribute on a fresh exception instance cannot fail in practice; if it
    // did, the exception is still the right class with the right message.
    let _ = err.value(py).setattr("code", code);
    err
}

/// Maps an engine failure to its Python exception.
pub(crate) fn to_py(py: Python<'_>, failure: Failure) -> PyErr {
    match failure {
        Failure::Panic(msg) => raise::<StrataError>(
            py,
            PANIC,
            format!("internal error in the StrataDB engine (a bug, please report it): {msg}"),
        ),
        Failure::Db(e) => {
            let code = e.code();
            let msg = e.to_string();
            match code {
                "not_found" => raise::<NotFoundError>(py, code, msg),
                "conflict" => raise::<ConflictError>(py, code, msg),
                // `invalid_input`, `invalid_key`, `invalid_path`, ...
                c if c.starts_with("invalid_") => raise::<InvalidInputError>(py, code, msg),
                // JSON path/value mismatches are bad arguments too.
                "type_mismatch" | "not_singular" | "index_out_of_range" | "too_deep" => {
                    raise::<InvalidInputError>(py, code, msg)
                }
                "locked" => raise::<LockedError>(py, code, msg),
                "transaction" => raise::<TransactionError>(py, code, msg),
                // Unknown and rarer kinds fall back to the base class; `.code` tells them apart.
                _ => raise::<StrataError>(py, code, msg),
            }
        }
    }
}

/// Runs `f` (an engine call, normally without the GIL), turning a panic into
/// [`Failure::Panic`] so a bug in Rust never aborts the Python process.
pub(crate) fn guarded<T>(f: impl FnOnce() -> strata::Result<T>) -> Result<T, Failure> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(Failure::Db),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-string payload".to_owned());
            Err(Failure::Panic(msg))
        }
    }
}

/// Maps an engine error (from argument parsing done with the GIL held) to Python.
pub(crate) fn db_err(py: Python<'_>, e: impl Into<strata::Error>) -> PyErr {
    to_py(py, Failure::Db(e.into()))
}

/// Registers the exception classes on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("StrataError", py.get_type::<StrataError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("ConflictError", py.get_type::<ConflictError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add("ClosedError", py.get_type::<ClosedError>())?;
    m.add("LockedError", py.get_type::<LockedError>())?;
    m.add("TransactionError", py.get_type::<TransactionError>())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_passes_results_and_errors_through() {
        assert!(matches!(guarded(|| Ok(7)), Ok(7)));
        let err = guarded::<()>(|| Err(strata::Error::NotFound("x".into())));
        assert!(matches!(err, Err(Failure::Db(strata::Error::NotFound(_)))));
    }

    #[test]
    fn guarded_turns_panics_into_failures() {
        let r = guarded::<()>(|| panic!("boom {}", 42));
        match r {
            Err(Failure::Panic(msg)) => assert_eq!(msg, "boom 42"),
            other => panic!("expected a caught panic, got {other:?}"),
        }
        let r = guarded::<()>(|| panic!("static"));
        assert!(matches!(r, Err(Failure::Panic(m)) if m == "static"));
    }
}
