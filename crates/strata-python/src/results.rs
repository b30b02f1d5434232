//! The dict shapes methods return, built from the facade's Rust types (with the GIL).
//! `stratadb/types.py` declares each shape as a `TypedDict`; keep the two in sync.

use crate::convert;
use crate::vectors;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use strata::{CollectionInfo, HistoryEntry, SearchMatch, VectorEntry, Versioned};
use strata_storage::{DiffEntry, DiffKind, PrimitiveRegistry};

/// `PyDict` literal: `pydict!(py, {"a": 1, "b": x})`.
macro_rules! pydict {
    ($py:expr, { $($k:literal : $v:expr),* $(,)? }) => {{
        let d = pyo3::types::PyDict::new($py);
        // Interned: the key strings are made once per process, not once per dict.
        $( d.set_item(pyo3::intern!($py, $k), $v)?; )*
        d
    }};
}
pub(crate) use pydict;

/// `{"value", "version", "timestamp"}`.
pub(crate) fn versioned<'py>(py: Python<'py>, v: &Versioned) -> PyResult<Bound<'py, PyDict>> {
    Ok(pydict!(py, {
        "value": convert::to_py(py, &v.value)?,
        "version": v.version.0,
        "timestamp": v.timestamp,
    }))
}

/// History newest first as `[{"value", "version", "timestamp"}]` (a delete has value
/// None); None when the key never existed.
pub(crate) fn history<'py>(
    py: Python<'py>,
    entries: Vec<HistoryEntry>,
) -> PyResult<Option<Bound<'py, PyList>>> {
    if entries.is_empty() {
        return Ok(None);
    }
    let list = PyList::empty(py);
    for e in &entries {
        let value = match &e.value {
            Some(v) => convert::to_py(py, v)?,
            None => py.None().into_bound(py),
        };
        list.append(pydict!(py, {
            "value": value,
            "version": e.version.0,
            "timestamp": e.timestamp,
        }))?;
    }
    Ok(Some(list))
}

/// `{"value", "version", "timestamp", "sequence", "event_type"}`.
pub(crate) fn event<'py>(
    py: Python<'py>,
    e: &strata_events::Event,
) -> PyResult<Bound<'py, PyDict>> {
    Ok(pydict!(py, {
        "value": convert::to_py(py, &e.payload)?,
        "version": e.version.0,
        "timestamp": e.timestamp,
        "sequence": e.seq,
        "event_type": e.event_type.as_str(),
    }))
}

/// `{"name", "dimension", "metric", "count", "index_type", "memory_bytes"}`.
pub(crate) fn collection<'py>(py: Python<'py>, c: &CollectionInfo) -> PyResult<Bound<'py, PyDict>> {
    Ok(pydict!(py, {
        "name": c.name.as_str(),
        "dimension": c.dimension,
        "metric": c.metric.as_str(),
        "count": c.count,
        "index_type": c.index_type.as_str(),
        "memory_bytes": c.memory_bytes,
    }))
}

/// `{"key", "embedding" (float32 ndarray), "metadata", "version", "timestamp"}`.
pub(crate) fn vector_entry(py: Python<'_>, e: VectorEntry) -> PyResult<Bound<'_, PyDict>> {
    let metadata = match &e.metadata {
        Some(m) => convert::to_py(py, m)?,
        None => py.None().into_bound(py),
    };
    Ok(pydict!(py, {
        "key": e.key,
        "embedding": vectors::to_ndarray(py, e.embedding),
        "metadata": metadata,
        "version": e.version.0,
        "timestamp": e.timestamp,
    }))
}

/// `[{"key", "score", "metadata"}]`, best first.
pub(crate) fn matches(py: Python<'_>, found: Vec<SearchMatch>) -> PyResult<Bound<'_, PyList>> {
    let mut hits = Vec::with_capacity(found.len());
    for m in found {
        let metadata = match &m.metadata {
            Some(v) => convert::to_py(py, v)?,
            None => py.None().into_bound(py),
        };
        hits.push(pydict!(py, {
            "key": m.key,
            "score": f64::from(m.score),
            "metadata": metadata,
        }));
    }
    PyList::new(py, hits)
}

/// A differing key as users see it: space, primitive name and displayed key.
pub(crate) struct ShownKey {
    pub space: String,
    pub primitive: String,
    pub key: String,
    pub kind: DiffKind,
}

/// Renders diff entries through the primitives' `display_key`, dropping internal keys
/// (event indexes, collection configs ...). Runs without the GIL.
pub(crate) fn shown_keys(registry: &PrimitiveRegistry, entries: &[DiffEntry]) -> Vec<ShownKey> {
    entries
        .iter()
        .filter_map(|e| {
            let (primitive, key) = match registry.by_tag(e.tag) {
                Some(p) => (p.name().to_owned(), p.display_key(&e.key)?),
                // Not a registered primitive: show it rather than hide a difference.
                None => (
                    format!("tag{}", e.tag.0),
                    String::from_utf8_lossy(&e.key).into_owned(),
                ),
            };
            Some(ShownKey {
                space: e.space.clone(),
                primitive,
                key,
                kind: e.kind,
            })
        })
        .collect()
}

/// `[{"space", "primitive", "key"}]`.
pub(crate) fn key_list<'py, 'a>(
    py: Python<'py>,
    keys: impl Iterator<Item = &'a ShownKey>,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for k in keys {
        list.append(pydict!(py, {
            "space": k.space.as_str(),
            "primitive": k.primitive.as_str(),
            "key": k.key.as_str(),
        }))?;
    }
    Ok(list)
}
