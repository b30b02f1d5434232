//! Python callables as search models: [`Embedder`], [`Expander`] and [`Reranker`]
//! implementations that take the GIL back (`Python::attach`) to call the function.
//!
//! Search runs without the GIL, so these are called from a thread that does not hold
//! it; they must therefore never be called while the GIL is held by the same thread
//! (the binding guarantees that: every engine call is inside `py.detach`). A callback
//! that raises, or returns something of the wrong shape, fails the search with a
//! `StrataError` (code `"model"`) whose message names the callback and the problem.

use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use strata_search::{Embedder, Expander, Reranker};

fn failed(what: &str, err: PyErr) -> String {
    format!("the {what} callback failed: {err}")
}

/// `embed(texts: list[str]) -> array-like of shape (len(texts), d)`.
pub(crate) struct PyEmbedder(pub(crate) Py<PyAny>);

impl Embedder for PyEmbedder {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        Python::attach(|py| {
            let out = self
                .0
                .call1(py, (texts.to_vec(),))
                .map_err(|e| failed("embed", e))?;
            let numpy = py.import("numpy").map_err(|e| failed("embed", e))?;
            let kwargs = PyDict::new(py);
            kwargs
                .set_item("dtype", "float32")
                .map_err(|e| failed("embed", e))?;
            let array = numpy
                .call_method("asarray", (out,), Some(&kwargs))
                .map_err(|e| {
                    format!(
                        "the embed callback must return a (n, d) array or a list of equal-length \
                         lists of numbers: {e}"
                    )
                })?;
            let array: PyReadonlyArray2<'_, f32> = array.extract().map_err(|_| {
                "the embed callback must return a 2-D array (one row per text)".to_owned()
            })?;
            let rows = array.shape()[0];
            if rows != texts.len() {
                return Err(format!(
                    "the embed callback returned {rows} vectors for {} texts",
                    texts.len()
                ));
            }
            let view = array.as_array();
            Ok(view
                .rows()
                .into_iter()
                .map(|row| row.iter().copied().collect())
                .collect())
        })
    }
}

/// `expand(query: str) -> list[str]`.
pub(crate) struct PyExpander(pub(crate) Py<PyAny>);

impl Expander for PyExpander {
    fn expand(&self, query: &str) -> Result<Vec<String>, String> {
        Python::attach(|py| {
            let out = self
                .0
                .call1(py, (query,))
                .map_err(|e| failed("expand", e))?;
            out.extract::<Vec<String>>(py)
                .map_err(|e| format!("the expand callback must return a list of str: {e}"))
        })
    }
}

/// `rerank(query: str, docs: list[str]) -> list[float]` (one score per doc).
pub(crate) struct PyReranker(pub(crate) Py<PyAny>);

impl Reranker for PyReranker {
    fn rerank(&self, query: &str, docs: &[String]) -> Result<Vec<f32>, String> {
        Python::attach(|py| {
            let out = self
                .0
                .call1(py, (query, docs.to_vec()))
                .map_err(|e| failed("rerank", e))?;
            let scores = out
                .extract::<Vec<f32>>(py)
                .map_err(|e| format!("the rerank callback must return a list of numbers: {e}"))?;
            if scores.len() != docs.len() {
                return Err(format!(
                    "the rerank callback returned {} scores for {} documents",
                    scores.len(),
                    docs.len()
                ));
            }
            Ok(scores)
        })
    }
}
