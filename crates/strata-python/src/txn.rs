//! `db.transaction()`: a context manager over `begin` / `commit` / `rollback`.

use crate::strata::Strata;
use pyo3::prelude::*;

/// A transaction on a handle, as a context manager (from `Strata.transaction()`).
///
/// Entering begins the transaction and returns the handle; leaving commits it when the
/// block ended normally (ConflictError if a concurrent commit got in the way: nothing
/// is written) or rolls it back when the block raised (the exception propagates).
#[pyclass(module = "stratadb", name = "Transaction", frozen)]
pub(crate) struct Transaction {
    db: Py<Strata>,
    read_only: bool,
}

impl Transaction {
    pub(crate) fn new(db: Py<Strata>, read_only: bool) -> Self {
        Transaction { db, read_only }
    }
}

#[pymethods]
impl Transaction {
    /// Begin the transaction; returns the database handle.
    fn __enter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Strata>> {
        let db = self.db.bind(py);
        db.get().txn_begin(py, self.read_only)?;
        Ok(db.clone())
    }

    /// Commit (no exception) or roll back (exception, which then propagates).
    #[pyo3(signature = (exc_type=None, _exc_value=None, _traceback=None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc_value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let db = self.db.bind(py).get();
        match exc_type {
            Some(t) if !t.is_none() => {
                // The block's own exception matters more than a failed rollback (the
                // transaction may already be over, e.g. after a manual commit).
                let _ = db.txn_rollback(py);
            }
            _ => {
                db.txn_commit(py)?;
            }
        }
        Ok(false)
    }

    /// Whether the transaction refuses writes.
    #[getter]
    fn read_only(&self) -> bool {
        self.read_only
    }

    fn __repr__(&self) -> String {
        format!(
            "<Transaction read_only={}>",
            if self.read_only { "True" } else { "False" }
        )
    }
}
