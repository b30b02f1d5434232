//! The `Strata` class: one Python handle = one [`strata::Session`] (its own current
//! branch, space and transaction) on a shared [`strata::Strata`] engine.
//!
//! Invariants: every database call runs without the GIL (`py.detach`) and inside
//! [`guarded`], so other Python threads keep running and a Rust panic surfaces as a
//! `StrataError`. Python objects are converted to and from [`Value`] while the GIL is
//! held, before and after the call. A closed handle holds no engine reference, so
//! closing the last handle releases the directory lock (and deletes a cache's files).
//!
//! The README variant's names (`branch_create`, `space_use`, `in_transaction` ...) are
//! extra methods here rather than a Python subclass, so every call is one native call.

use crate::convert;
use crate::errors::{self, guarded, ClosedError, Failure, InvalidInputError};
use crate::fork;
use crate::models::{PyEmbedder, PyExpander, PyReranker};
use crate::results::{self, pydict};
use crate::search;
use crate::txn::Transaction;
use crate::vectors;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyString};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use strata::{
    CommitVersion, DiffKind, Durability, MergeStrategy, MetadataFilter, OpenOptions, SearchMode,
    SearchRequest, Session, Value, VectorInput,
};
use strata_search::ModelConfig;
use strata_storage::StorageError;

/// The session a live handle works through (shared with calls in flight).
type Handle = Arc<Session>;

/// Runs `f` on the engine through `handle` without the GIL, mapping errors and panics.
fn run_on<T: Send>(
    py: Python<'_>,
    handle: Handle,
    f: impl FnOnce(&Session) -> strata::Result<T> + Send,
) -> PyResult<T> {
    py.detach(move || guarded(|| f(&handle)))
        .map_err(|failure| errors::to_py(py, failure))
}

/// A StrataDB database handle.
///
/// Create one with `Strata.open(path)` (a database in a directory, kept across runs) or
/// `Strata.cache()` (a throwaway database deleted on close). Use it as a context manager
/// or call `close()`; every method of a closed handle raises `ClosedError`.
///
/// A handle is safe to share between threads; database calls release the GIL. The
/// current branch, space and transaction belong to the handle (shared by its threads).
/// A handle does not survive `os.fork()`: in the child every call raises `ClosedError`
/// (the engine's threads stayed in the parent); open the database again there, which
/// raises `LockedError` while the parent has it open.
///
/// >>> from stratadb import Strata
/// >>> with Strata.cache() as db:
/// ...     _ = db.kv_put("greeting", "hello")
/// ...     db.kv_get("greeting")
/// 'hello'
#[pyclass(module = "stratadb", name = "Strata", frozen)]
pub(crate) struct Strata {
    handle: Mutex<Option<Handle>>,
    /// What `repr()` shows: the directory, or `cache` for a temporary database.
    label: String,
    /// The process's fork count when the handle was opened (see `fork.rs`).
    fork_generation: u64,
}

impl Drop for Strata {
    fn drop(&mut self) {
        if fork::inherited(self.fork_generation) {
            // The engine's threads stayed in the parent: closing would wait for them
            // forever. Leak the child's copy instead.
            let taken = self
                .handle
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            std::mem::forget(taken);
        }
    }
}

fn invalid_input(py: Python<'_>, msg: String) -> PyErr {
    errors::raise::<InvalidInputError>(py, "invalid_input", msg)
}

/// Converts a Python value argument; `what` names it in errors.
fn value_arg(py: Python<'_>, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    convert::to_value(obj).map_err(|e| invalid_input(py, e.message(what)))
}

/// Converts an optional metadata/payload argument (None stays None).
fn opt_value_arg(
    py: Python<'_>,
    obj: Option<&Bound<'_, PyAny>>,
    what: &str,
) -> PyResult<Option<Value>> {
    match obj {
        Some(o) if !o.is_none() => Ok(Some(value_arg(py, o, what)?)),
        _ => Ok(None),
    }
}

/// An integer argument. An int beyond 64 bits is an InvalidInputError (PyO3 would
/// raise OverflowError); a non-int stays a TypeError. PyO3 adds a note naming the
/// argument to either.
pub(crate) struct Int(i64);

impl From<Int> for i64 {
    fn from(i: Int) -> i64 {
        i.0
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Int {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<i64>() {
            Ok(i) => Ok(Int(i)),
            Err(_) if obj.is_instance_of::<PyInt>() => Err(invalid_input(
                obj.py(),
                format!(
                    "integer {} is out of range (it must fit in 64 bits)",
                    obj.repr().map(|r| r.to_string()).unwrap_or_default()
                ),
            )),
            Err(e) => Err(e),
        }
    }
}

/// A non-negative integer argument (timestamps, versions, sequence numbers).
fn unsigned(py: Python<'_>, what: &str, n: impl Into<i64>) -> PyResult<u64> {
    let n: i64 = n.into();
    u64::try_from(n).map_err(|_| invalid_input(py, format!("{what} must be >= 0, got {n}")))
}

fn opt_unsigned(py: Python<'_>, what: &str, n: Option<impl Into<i64>>) -> PyResult<Option<u64>> {
    n.map(|n| unsigned(py, what, n)).transpose()
}

/// `as_of`: microseconds since the Unix epoch.
fn as_of_arg(py: Python<'_>, as_of: Option<Int>) -> PyResult<Option<u64>> {
    opt_unsigned(py, "as_of (microseconds since the epoch)", as_of)
}

/// A count argument (`limit`, `k`, `dimension`).
fn count(py: Python<'_>, what: &str, n: impl Into<i64>) -> PyResult<usize> {
    let n: i64 = n.into();
    usize::try_from(n).map_err(|_| invalid_input(py, format!("{what} must be >= 0, got {n}")))
}

fn opt_count(py: Python<'_>, what: &str, n: Option<impl Into<i64>>) -> PyResult<Option<usize>> {
    n.map(|n| count(py, what, n)).transpose()
}

/// The version a write reports: the commit version, or 0 inside a transaction
/// (pending until `commit()`, which returns the real one).
fn ver(v: Option<CommitVersion>) -> u64 {
    v.map_or(0, |v| v.0)
}

/// A metadata filter argument (`[{"field", "op", "value"}]`), parsed with the GIL.
fn filter_arg(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<MetadataFilter>> {
    let Some(v) = opt_value_arg(py, obj, "filter")? else {
        return Ok(None);
    };
    MetadataFilter::parse(&v)
        .map(Some)
        .map_err(|e| errors::db_err(py, e))
}

fn merge_strategy(py: Python<'_>, strategy: Option<&str>) -> PyResult<MergeStrategy> {
    match strategy {
        None => Ok(MergeStrategy::default()),
        Some(s) => s.parse().map_err(|e| errors::db_err(py, e)),
    }
}

fn strategy_name(s: MergeStrategy) -> &'static str {
    match s {
        MergeStrategy::LastWriterWins => "last_writer_wins",
        MergeStrategy::Strict => "strict",
    }
}

/// Parses `Strata.open`'s keyword options.
fn parse_options(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<OpenOptions> {
    let mut opts = OpenOptions::default();
    let Some(options) = options else {
        return Ok(opts);
    };
    for (name, value) in options.iter() {
        let name: String = name.extract()?;
        match name.as_str() {
            "durability" => {
                let Ok(text) = value.cast::<PyString>() else {
                    return Err(invalid_input(
                        py,
                        "durability must be a str: \"standard\", \"always\" or \"none\"".into(),
                    ));
                };
                let durability: Durability = text
                    .to_cow()?
                    .parse()
                    .map_err(|e| errors::to_py(py, Failure::Db(strata::Error::from(e))))?;
                opts = opts.durability(durability);
            }
            other => {
                return Err(PyTypeError::new_err(format!(
                    "Strata.open() got an unknown option {other:?} (known options: durability)"
                )))
            }
        }
    }
    Ok(opts)
}

impl Strata {
    fn from_engine(engine: strata::Strata, label: String) -> Self {
        Strata {
            handle: Mutex::new(Some(Arc::new(engine.session()))),
            label,
            fork_generation: fork::generation(),
        }
    }

    /// A clone of the live handle, or `ClosedError`.
    fn handle(&self, py: Python<'_>) -> PyResult<Handle> {
        if fork::inherited(self.fork_generation) {
            return Err(errors::raise::<ClosedError>(
                py,
                errors::CLOSED,
                "the database handle was opened before this process was forked and \
                 cannot be used in the child (the engine's threads and files belong to \
                 the parent); open the database again in the child"
                    .into(),
            ));
        }
        let guard = self.handle.lock().unwrap_or_else(|e| e.into_inner());
        guard.clone().ok_or_else(|| {
            errors::raise::<ClosedError>(py, errors::CLOSED, "the database handle is closed".into())
        })
    }

    /// Runs `f` on the engine without the GIL, mapping errors and panics.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Session) -> strata::Result<T> + Send,
    ) -> PyResult<T> {
        run_on(py, self.handle(py)?, f)
    }

    /// `fork_branch` for both spellings: `source` None = the current branch.
    fn fork<'py>(
        &self,
        py: Python<'py>,
        source: Option<String>,
        destination: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (source, dest, copied) = self.run(py, move |s| {
            let source = source.unwrap_or_else(|| s.current_branch());
            let copied = s.fork_branch(Some(&source), &destination)?;
            Ok((source, destination, copied))
        })?;
        Ok(pydict!(py, {
            "source": source,
            "destination": dest,
            "keys_copied": copied,
        }))
    }

    /// `diff_branches` / `branch_diff`.
    fn diff<'py>(&self, py: Python<'py>, a: String, b: String) -> PyResult<Bound<'py, PyDict>> {
        let (a, b, keys) = self.run(py, move |s| {
            let diff = s.diff_branches(&a, &b)?;
            let keys = results::shown_keys(s.strata().primitives(), &diff.entries);
            Ok((a, b, keys))
        })?;
        let of = |kind: DiffKind| keys.iter().filter(move |k| k.kind == kind);
        let (added, removed, modified) = (
            of(DiffKind::Added).count(),
            of(DiffKind::Removed).count(),
            of(DiffKind::Modified).count(),
        );
        Ok(pydict!(py, {
            "branch_a": a,
            "branch_b": b,
            "summary": pydict!(py, {
                "total_added": added,
                "total_removed": removed,
                "total_modified": modified,
            }),
            "added": results::key_list(py, of(DiffKind::Added))?,
            "removed": results::key_list(py, of(DiffKind::Removed))?,
            "modified": results::key_list(py, of(DiffKind::Modified))?,
        }))
    }

    /// `merge_branches` / `branch_merge`: `target` None = the current branch.
    fn merge<'py>(
        &self,
        py: Python<'py>,
        source: String,
        target: Option<String>,
        strategy: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let strategy = merge_strategy(py, strategy)?;
        let (source, target, outcome, conflicts) = self.run(py, move |s| {
            let target = target.unwrap_or_else(|| s.current_branch());
            let outcome = s.merge_branches(&source, Some(&target), strategy)?;
            let conflicts = results::shown_keys(s.strata().primitives(), &outcome.conflicts);
            Ok((source, target, outcome, conflicts))
        })?;
        Ok(pydict!(py, {
            "source": source,
            "target": target,
            "strategy": strategy_name(strategy),
            "keys_applied": outcome.applied,
            "conflicts": results::key_list(py, conflicts.iter())?,
            "version": outcome.version.0,
        }))
    }

    fn begin_txn(&self, py: Python<'_>, read_only: bool) -> PyResult<()> {
        self.run(py, move |s| s.begin(read_only).map(drop))
    }

    #[allow(clippy::too_many_arguments)]
    fn vector_search_impl<'py>(
        &self,
        py: Python<'py>,
        collection: String,
        query: &Bound<'py, PyAny>,
        k: Int,
        as_of: Option<Int>,
        metric: Option<String>,
        filter: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let k = count(py, "k", k)?;
        let as_of = as_of_arg(py, as_of)?;
        let filter = filter_arg(py, filter)?;
        let query = vectors::floats(query, "query")?;
        let q = query.as_slice();
        let found = self.run(py, move |s| {
            match s.vector_search(&collection, q, k, filter.as_ref(), metric.as_deref(), as_of) {
                // Searching as of a time before the collection existed finds nothing.
                Err(e)
                    if as_of.is_some()
                        && e.code() == "not_found"
                        && s.vector_collection_stats(&collection).is_ok() =>
                {
                    Ok(Vec::new())
                }
                other => other,
            }
        })?;
        results::matches(py, found)
    }
}

#[pymethods]
impl Strata {
    // ------------------------------------------------------------- lifecycle

    /// Open (creating if needed) the database stored in directory `path`.
    ///
    /// `path` is a str or os.PathLike. Its parent directory must exist; `path` itself
    /// must be a directory or not exist yet. Only one process may have a database open
    /// at a time; opening the same directory twice in one process shares one engine.
    ///
    /// Options:
    ///   durability: "standard" (default: each write reaches the OS before the call
    ///     returns and survives a process crash), "always" (each write is fsynced and
    ///     survives power loss) or "none" (writes are buffered until close; fastest).
    ///
    /// Raises NotFoundError if the parent directory is missing, InvalidInputError if
    /// `path` is a file or an option value is bad, LockedError if another process has
    /// the database open (all are RuntimeError subclasses), TypeError for an unknown
    /// option.
    ///
    /// >>> db = Strata.open("./my-data", durability="always")  # doctest: +SKIP
    #[staticmethod]
    #[pyo3(signature = (path, **options))]
    fn open(py: Python<'_>, path: PathBuf, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let opts = parse_options(py, options)?;
        let label = path.display().to_string();
        let engine = py
            .detach(|| guarded(|| strata::Strata::open(&path, opts)))
            .map_err(|failure| errors::to_py(py, failure))?;
        Ok(Strata::from_engine(engine, label))
    }

    /// Create an ephemeral database, for caches and tests.
    ///
    /// Data lives in a fresh temporary directory that is deleted when the handle is
    /// closed (or garbage-collected); nothing is fsynced.
    ///
    /// >>> db = Strata.cache()
    /// >>> db.kv_get("anything") is None
    /// True
    #[staticmethod]
    fn cache(py: Python<'_>) -> PyResult<Self> {
        let engine = py
            .detach(|| guarded(strata::Strata::cache))
            .map_err(|failure| errors::to_py(py, failure))?;
        Ok(Strata::from_engine(engine, "cache".into()))
    }

    /// Close the handle. Pending writes are flushed; for `Strata.cache()` the data is
    /// deleted. Further calls on this handle raise ClosedError; closing twice is fine.
    /// An open transaction is rolled back.
    fn close(&self, py: Python<'_>) {
        if fork::inherited(self.fork_generation) {
            // Nothing to close in a fork child: `Drop` leaks the inherited copy.
            return;
        }
        let taken = self.handle.lock().unwrap_or_else(|e| e.into_inner()).take();
        // Dropping the last engine reference syncs to disk: do it without the GIL.
        py.detach(move || drop(taken));
    }

    /// Enter a `with` block: returns the handle itself.
    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().handle(slf.py())?;
        Ok(slf)
    }

    /// Leave a `with` block: closes the handle. Exceptions propagate.
    #[pyo3(signature = (_exc_type=None, _exc_value=None, _traceback=None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc_value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self) -> String {
        let open = self
            .handle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some();
        let state = if open { "" } else { " (closed)" };
        format!("<Strata {}{state}>", self.label)
    }

    // ------------------------------------------------------------- KV

    /// Store `value` under `key` and return the new version number.
    ///
    /// `key` is a non-empty str of at most 1024 UTF-8 bytes without NUL characters;
    /// other keys raise InvalidInputError.
    ///
    /// `value` may be None, bool, int (64-bit signed), float (NaN and infinities are
    /// kept), str, bytes/bytearray, list/tuple or dict with str keys, nested up to 256
    /// levels. Anything else raises InvalidInputError naming the offending item.
    /// Tuples and bytearrays are read back as lists and bytes.
    ///
    /// Versions increase with every write to the database. Inside a transaction the
    /// write is pending and 0 is returned; `commit()` returns the commit version.
    ///
    /// >>> db = Strata.cache()
    /// >>> v1 = db.kv_put("user:1", {"name": "Alice", "tags": ["a", "b"]})
    /// >>> v2 = db.kv_put("user:1", {"name": "Alice B."})
    /// >>> v2 > v1
    /// True
    #[pyo3(signature = (key, value))]
    fn kv_put(&self, py: Python<'_>, key: String, value: &Bound<'_, PyAny>) -> PyResult<u64> {
        // The cache slot the commit will check and fill starts loading first, while
        // the value is converted and the GIL released (see `kv_get`).
        let handle = self.handle(py)?;
        handle.kv_prefetch(&key);
        let value = value_arg(py, value, "value")?;
        let written = run_on(py, handle, move |s| s.kv_put(&key, value))?;
        Ok(ver(written.version))
    }

    /// Return the value stored under `key`, or None if the key does not exist.
    ///
    /// With `as_of` (microseconds since the Unix epoch), return the value the key had
    /// at that time instead: time travel over the key's history.
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.kv_put("greeting", "Hello, World!")
    /// >>> db.kv_get("greeting")
    /// 'Hello, World!'
    /// >>> db.kv_get("missing") is None
    /// True
    #[pyo3(signature = (key, as_of=None))]
    fn kv_get<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        as_of: Option<Int>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let as_of = as_of_arg(py, as_of)?;
        if as_of.is_none() {
            // The common read: the stored encoding goes straight to Python objects, and
            // the key is read in place (the str's UTF-8 buffer lives as long as the call).
            // The engine's cache starts loading the key's slot before the GIL is
            // released, so the two overlap.
            let handle = self.handle(py)?;
            handle.kv_prefetch(key);
            return match run_on(py, handle, move |s| s.kv_get_value(key))? {
                Some(v) => convert::stored_to_py(py, &v),
                None => Ok(py.None().into_bound(py)),
            };
        }
        let found = self.run(py, move |s| s.kv_get(key, as_of))?;
        match found {
            Some(v) => convert::to_py(py, &v),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Delete `key`; return True if it existed.
    ///
    /// The key's history is kept (`kv_history` shows the delete with value None, and
    /// `kv_get(key, as_of=...)` still reads earlier values).
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.kv_put("k", 1)
    /// >>> db.kv_delete("k"), db.kv_delete("k")
    /// (True, False)
    #[pyo3(signature = (key))]
    fn kv_delete(&self, py: Python<'_>, key: String) -> PyResult<bool> {
        Ok(self.run(py, move |s| s.kv_delete(&key))?.value)
    }

    /// List the keys (sorted) of the current branch and space, optionally only those
    /// starting with `prefix`.
    ///
    /// >>> db = Strata.cache()
    /// >>> for k in ("user:2", "user:1", "job:1"): _ = db.kv_put(k, 0)
    /// >>> db.kv_list(prefix="user:")
    /// ['user:1', 'user:2']
    #[pyo3(signature = (prefix=None))]
    fn kv_list(&self, py: Python<'_>, prefix: Option<String>) -> PyResult<Vec<String>> {
        self.run(py, move |s| s.kv_list(prefix.as_deref()))
    }

    /// Return `{"keys": [...], "cursor": str | None}`: one page of at most `limit`
    /// keys (all when None) starting with `prefix`, after `cursor`. Pass the returned
    /// cursor back to get the next page; it is None on the last page.
    ///
    /// >>> db = Strata.cache()
    /// >>> for i in range(3): _ = db.kv_put(f"k{i}", i)
    /// >>> page = db.kv_list_paginated(limit=2)
    /// >>> page
    /// {'keys': ['k0', 'k1'], 'cursor': 'k1'}
    /// >>> db.kv_list_paginated(limit=2, cursor=page["cursor"])
    /// {'keys': ['k2'], 'cursor': None}
    #[pyo3(signature = (prefix=None, limit=None, cursor=None))]
    fn kv_list_paginated<'py>(
        &self,
        py: Python<'py>,
        prefix: Option<String>,
        limit: Option<Int>,
        cursor: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let limit = opt_count(py, "limit", limit)?;
        let page = self.run(py, move |s| {
            s.kv_list_paginated(prefix.as_deref(), limit, cursor.as_deref())
        })?;
        Ok(pydict!(py, { "keys": page.keys, "cursor": page.cursor }))
    }

    /// Return the key's history, newest first, as a list of
    /// `{"value", "version", "timestamp"}` (a delete appears with value None), or None
    /// if the key was never written.
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.kv_put("k", "a"); _ = db.kv_put("k", "b")
    /// >>> [e["value"] for e in db.kv_history("k")]
    /// ['b', 'a']
    /// >>> db.kv_history("never") is None
    /// True
    #[pyo3(signature = (key))]
    fn kv_history<'py>(
        &self,
        py: Python<'py>,
        key: String,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let entries = self.run(py, move |s| s.kv_history(&key))?;
        results::history(py, entries)
    }

    /// Return `{"value", "version", "timestamp"}` for `key`, or None if it does not
    /// exist. `timestamp` is the commit time in microseconds since the epoch.
    ///
    /// >>> db = Strata.cache()
    /// >>> v = db.kv_put("k", 1)
    /// >>> db.kv_get_versioned("k")["version"] == v
    /// True
    #[pyo3(signature = (key))]
    fn kv_get_versioned<'py>(
        &self,
        py: Python<'py>,
        key: String,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let found = self.run(py, move |s| s.kv_get_versioned(&key))?;
        found.map(|v| results::versioned(py, &v)).transpose()
    }

    // ------------------------------------------------------------- state

    /// Set state cell `cell` to `value`; return the new version (0 inside a
    /// transaction).
    ///
    /// >>> db = Strata.cache()
    /// >>> db.state_set("counter", 0) > 0
    /// True
    #[pyo3(signature = (cell, value))]
    fn state_set(&self, py: Python<'_>, cell: String, value: &Bound<'_, PyAny>) -> PyResult<u64> {
        let value = value_arg(py, value, "value")?;
        Ok(ver(self
            .run(py, move |s| s.state_set(&cell, value))?
            .version))
    }

    /// Return the value of state cell `cell` (as of `as_of`, microseconds since the
    /// epoch, if given), or None if it does not exist.
    #[pyo3(signature = (cell, as_of=None))]
    fn state_get<'py>(
        &self,
        py: Python<'py>,
        cell: String,
        as_of: Option<Int>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let as_of = as_of_arg(py, as_of)?;
        if as_of.is_none() {
            // The common read: the stored encoding goes straight to Python objects.
            return match self.run(py, move |s| s.state_get_value(&cell))? {
                Some(v) => convert::stored_to_py(py, &v),
                None => Ok(py.None().into_bound(py)),
            };
        }
        match self.run(py, move |s| s.state_get(&cell, as_of))? {
            Some(v) => convert::to_py(py, &v),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Create cell `cell` with `value` only if it does not exist. Return the new
    /// version when it was created, or the existing cell's version (nothing written)
    /// when it was already there.
    ///
    /// >>> db = Strata.cache()
    /// >>> v = db.state_init("counter", 0)
    /// >>> db.state_init("counter", 99) == v, db.state_get("counter")
    /// (True, 0)
    #[pyo3(signature = (cell, value))]
    fn state_init(&self, py: Python<'_>, cell: String, value: &Bound<'_, PyAny>) -> PyResult<u64> {
        let value = value_arg(py, value, "value")?;
        let written = self.run(py, move |s| s.state_init(&cell, value))?;
        Ok(match written.value {
            strata_state::InitOutcome::Created => ver(written.version),
            strata_state::InitOutcome::Exists { version } => version.0,
        })
    }

    /// Compare-and-swap: set `cell` to `new_value` only if its current version is
    /// `expected_version` (None: only if the cell does not exist). Return the new
    /// version (0 inside a transaction), or None if the version did not match (nothing
    /// is written). `expected` is an alias of `expected_version`.
    ///
    /// >>> db = Strata.cache()
    /// >>> v = db.state_set("counter", 1)
    /// >>> db.state_cas("counter", 2, expected_version=v) > v
    /// True
    /// >>> db.state_cas("counter", 3, expected_version=v) is None
    /// True
    #[pyo3(signature = (cell, new_value, expected_version=None, *, expected=None))]
    fn state_cas(
        &self,
        py: Python<'_>,
        cell: String,
        new_value: &Bound<'_, PyAny>,
        expected_version: Option<Int>,
        expected: Option<Int>,
    ) -> PyResult<Option<u64>> {
        if expected_version.is_some() && expected.is_some() {
            return Err(PyTypeError::new_err(
                "state_cas() takes expected_version or its alias expected, not both",
            ));
        }
        let expected =
            opt_unsigned(py, "expected_version", expected_version.or(expected))?.map(CommitVersion);
        let value = value_arg(py, new_value, "new_value")?;
        let written = self.run(py, move |s| s.state_cas(&cell, value, expected))?;
        Ok(match written.value {
            strata_state::CasOutcome::Swapped => Some(ver(written.version)),
            strata_state::CasOutcome::Mismatch { .. } => None,
        })
    }

    /// Delete state cell `cell`; return True if it existed. Its history is kept.
    #[pyo3(signature = (cell))]
    fn state_delete(&self, py: Python<'_>, cell: String) -> PyResult<bool> {
        Ok(self.run(py, move |s| s.state_delete(&cell))?.value)
    }

    /// List state cell names (sorted), optionally only those starting with `prefix`.
    #[pyo3(signature = (prefix=None))]
    fn state_list(&self, py: Python<'_>, prefix: Option<String>) -> PyResult<Vec<String>> {
        self.run(py, move |s| s.state_list(prefix.as_deref()))
    }

    /// Return the cell's history, newest first, as `{"value", "version", "timestamp"}`
    /// dicts (a delete has value None), or None if the cell was never written.
    #[pyo3(signature = (cell))]
    fn state_history<'py>(
        &self,
        py: Python<'py>,
        cell: String,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let entries = self.run(py, move |s| s.state_history(&cell))?;
        results::history(py, entries)
    }

    /// Return `{"value", "version", "timestamp"}` for the cell, or None. Use the
    /// version with `state_cas`.
    #[pyo3(signature = (cell))]
    fn state_get_versioned<'py>(
        &self,
        py: Python<'py>,
        cell: String,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let found = self.run(py, move |s| s.state_get_versioned(&cell))?;
        found.map(|v| results::versioned(py, &v)).transpose()
    }

    // ------------------------------------------------------------- events

    /// Append an event of type `event_type` with `payload` (any storable value) and
    /// return its sequence number: 0, 1, 2, ... without gaps per branch and space.
    /// Events form a hash chain (`event_verify()` checks it).
    ///
    /// >>> db = Strata.cache()
    /// >>> db.event_append("click", {"x": 1}), db.event_append("click", {"x": 2})
    /// (0, 1)
    #[pyo3(signature = (event_type, payload))]
    fn event_append(
        &self,
        py: Python<'_>,
        event_type: String,
        payload: &Bound<'_, PyAny>,
    ) -> PyResult<u64> {
        let payload = value_arg(py, payload, "payload")?;
        Ok(self
            .run(py, move |s| s.event_append(&event_type, payload))?
            .value)
    }

    /// Return event `sequence` as `{"value", "version", "timestamp", "sequence",
    /// "event_type"}` (`value` is the payload), or None if there is no such event.
    /// With `as_of`, only an event that existed at that time is returned.
    ///
    /// >>> db = Strata.cache()
    /// >>> seq = db.event_append("click", {"x": 1})
    /// >>> e = db.event_get(seq)
    /// >>> e["event_type"], e["value"], e["sequence"]
    /// ('click', {'x': 1}, 0)
    #[pyo3(signature = (sequence, as_of=None))]
    fn event_get<'py>(
        &self,
        py: Python<'py>,
        sequence: Int,
        as_of: Option<Int>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let as_of = as_of_arg(py, as_of)?;
        let seq = unsigned(py, "sequence", sequence)?;
        let found = self.run(py, move |s| s.event_get(seq, as_of))?;
        found.map(|e| results::event(py, &e)).transpose()
    }

    /// List events of type `event_type` in sequence order, as `event_get` dicts: at
    /// most `limit` (all when None), only those with a sequence number greater than
    /// `after`.
    ///
    /// >>> db = Strata.cache()
    /// >>> for i in range(3): _ = db.event_append("tick", i)
    /// >>> [e["value"] for e in db.event_list("tick", limit=2, after=0)]
    /// [1, 2]
    #[pyo3(signature = (event_type, limit=None, after=None))]
    fn event_list<'py>(
        &self,
        py: Python<'py>,
        event_type: String,
        limit: Option<Int>,
        after: Option<Int>,
    ) -> PyResult<Bound<'py, PyList>> {
        let limit = opt_count(py, "limit", limit)?;
        let after = opt_unsigned(py, "after", after)?;
        let events = self.run(py, move |s| s.event_list(&event_type, limit, after))?;
        let list = PyList::empty(py);
        for e in &events {
            list.append(results::event(py, e)?)?;
        }
        Ok(list)
    }

    /// Same as `event_list(event_type, limit, after)`: one page of events of a type.
    /// Pass the last sequence number seen as `after` to get the next page.
    #[pyo3(signature = (event_type, limit=None, after=None))]
    fn event_list_paginated<'py>(
        &self,
        py: Python<'py>,
        event_type: String,
        limit: Option<Int>,
        after: Option<Int>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.event_list(py, event_type, limit, after)
    }

    /// Return the number of events in the current branch and space (all types).
    #[pyo3(signature = ())]
    fn event_len(&self, py: Python<'_>) -> PyResult<u64> {
        self.run(py, |s| s.event_len())
    }

    /// Verify the event log's hash chain. Return `{"intact": bool, "checked": int,
    /// "first_broken": int | None, "reason": str | None}`.
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.event_append("a", 1)
    /// >>> db.event_verify()["intact"]
    /// True
    #[pyo3(signature = ())]
    fn event_verify<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = self.run(py, |s| s.event_verify())?;
        Ok(pydict!(py, {
            "intact": r.is_intact(),
            "checked": r.checked,
            "first_broken": r.first_broken,
            "reason": r.reason,
        }))
    }

    // ------------------------------------------------------------- JSON

    /// Set the value at JSONPath `path` of document `key` (`"$"` for the whole
    /// document, `"$.a.b"`, `"$.items[0]"` ...); return the new version (0 inside a
    /// transaction).
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.json_set("user:1", "$", {"name": "Alice"})
    /// >>> _ = db.json_set("user:1", "$.email", "a@example.com")
    /// >>> db.json_get("user:1", "$")
    /// {'name': 'Alice', 'email': 'a@example.com'}
    #[pyo3(signature = (key, path, value))]
    fn json_set(
        &self,
        py: Python<'_>,
        key: String,
        path: String,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<u64> {
        let value = value_arg(py, value, "value")?;
        Ok(ver(self
            .run(py, move |s| s.json_set(&key, &path, value))?
            .version))
    }

    /// Return the value at JSONPath `path` of document `key` (as of `as_of` if given),
    /// or None if the document or path does not exist.
    #[pyo3(signature = (key, path, as_of=None))]
    fn json_get<'py>(
        &self,
        py: Python<'py>,
        key: String,
        path: String,
        as_of: Option<Int>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let as_of = as_of_arg(py, as_of)?;
        match self.run(py, move |s| s.json_get(&key, &path, as_of))? {
            Some(v) => convert::to_py(py, &v),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Delete what JSONPath `path` selects in document `key` (`"$"` deletes the
    /// document); return how many elements were removed.
    #[pyo3(signature = (key, path))]
    fn json_delete(&self, py: Python<'_>, key: String, path: String) -> PyResult<usize> {
        Ok(self.run(py, move |s| s.json_delete(&key, &path))?.value)
    }

    /// Return `{"keys": [...], "cursor": str | None}`: at most `limit` (>= 1) document
    /// keys starting with `prefix`, after `cursor`. The cursor is None on the last
    /// page. Keywords work too: `json_list(prefix="user:", limit=10)`.
    ///
    /// >>> db = Strata.cache()
    /// >>> for k in ("a", "b", "c"): _ = db.json_set(k, "$", {})
    /// >>> db.json_list(2)
    /// {'keys': ['a', 'b'], 'cursor': 'b'}
    #[pyo3(signature = (limit, prefix=None, cursor=None))]
    fn json_list<'py>(
        &self,
        py: Python<'py>,
        limit: Int,
        prefix: Option<String>,
        cursor: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let limit = count(py, "limit", limit)?;
        let (keys, cursor) = self.run(py, move |s| {
            s.json_list(limit, prefix.as_deref(), cursor.as_deref())
        })?;
        Ok(pydict!(py, { "keys": keys, "cursor": cursor }))
    }

    /// Return the document's history, newest first, as `{"value", "version",
    /// "timestamp"}` dicts (whole documents; a delete has value None), or None if it
    /// was never written.
    #[pyo3(signature = (key))]
    fn json_history<'py>(
        &self,
        py: Python<'py>,
        key: String,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let entries = self.run(py, move |s| s.json_history(&key))?;
        results::history(py, entries)
    }

    /// Return `{"value", "version", "timestamp"}` for the whole document, or None.
    #[pyo3(signature = (key))]
    fn json_get_versioned<'py>(
        &self,
        py: Python<'py>,
        key: String,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let found = self.run(py, move |s| s.json_get_versioned(&key))?;
        found.map(|v| results::versioned(py, &v)).transpose()
    }

    // ------------------------------------------------------------- vectors

    /// Create vector collection `collection` of `dimension`-sized vectors compared
    /// with `metric`: "cosine" (default), "euclidean" or "dot_product". Return the
    /// version. Raises StrataError (code "already_exists") if it exists.
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.vector_create_collection("docs", 3, metric="euclidean")
    /// >>> db.vector_collection_stats("docs")["metric"]
    /// 'euclidean'
    #[pyo3(signature = (collection, dimension, metric=None))]
    fn vector_create_collection(
        &self,
        py: Python<'_>,
        collection: String,
        dimension: Int,
        metric: Option<String>,
    ) -> PyResult<u64> {
        let dimension = count(py, "dimension", dimension)?;
        let written = self.run(py, move |s| {
            s.vector_create_collection(&collection, dimension, metric.as_deref())
        })?;
        Ok(ver(written.version))
    }

    /// Delete a collection and its vectors; return True if it existed.
    #[pyo3(signature = (collection))]
    fn vector_delete_collection(&self, py: Python<'_>, collection: String) -> PyResult<bool> {
        Ok(self
            .run(py, move |s| s.vector_delete_collection(&collection))?
            .value)
    }

    /// List the collections of the current branch and space as `{"name",
    /// "dimension", "metric", "count", "index_type", "memory_bytes"}` dicts.
    #[pyo3(signature = ())]
    fn vector_list_collections<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let infos = self.run(py, |s| s.vector_list_collections())?;
        let list = PyList::empty(py);
        for c in &infos {
            list.append(results::collection(py, c)?)?;
        }
        Ok(list)
    }

    /// Return one collection's `{"name", "dimension", "metric", "count",
    /// "index_type", "memory_bytes"}`. Raises NotFoundError if it does not exist.
    #[pyo3(signature = (collection))]
    fn vector_collection_stats<'py>(
        &self,
        py: Python<'py>,
        collection: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let info = self.run(py, move |s| s.vector_collection_stats(&collection))?;
        results::collection(py, &info)
    }

    /// Insert or replace vector `key` in `collection`; return the version (0 inside a
    /// transaction). `vector` is a 1-D NumPy array (float32 is read without copying;
    /// other dtypes are converted) or a list of numbers, of the collection's
    /// dimension. `metadata` is an optional dict, searchable with filters.
    ///
    /// >>> import numpy as np
    /// >>> db = Strata.cache()
    /// >>> _ = db.vector_create_collection("docs", 3)
    /// >>> _ = db.vector_upsert("docs", "a", np.array([1, 0, 0], dtype=np.float32), {"tag": "x"})
    /// >>> _ = db.vector_upsert("docs", "b", [0.0, 1.0, 0.0])
    /// >>> [m["key"] for m in db.vector_search("docs", [0.9, 0.1, 0.0], k=2)]
    /// ['a', 'b']
    #[pyo3(signature = (collection, key, vector, metadata=None))]
    fn vector_upsert(
        &self,
        py: Python<'_>,
        collection: String,
        key: String,
        vector: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let metadata = opt_value_arg(py, metadata, "metadata")?;
        let vector = vectors::floats(vector, "vector")?;
        let v = vector.as_slice();
        let written = self.run(py, move |s| s.vector_upsert(&collection, &key, v, metadata))?;
        Ok(ver(written.version))
    }

    /// Insert or replace many vectors in one commit. `vectors` is a list of dicts
    /// `{"key": str, "vector": array | list, "metadata": dict (optional)}`. Return one
    /// version per item (all the same commit; 0s inside a transaction).
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.vector_create_collection("docs", 2)
    /// >>> vs = db.vector_batch_upsert("docs", [{"key": "a", "vector": [1, 0]},
    /// ...                                      {"key": "b", "vector": [0, 1], "metadata": {"n": 2}}])
    /// >>> len(vs), vs[0] == vs[1]
    /// (2, True)
    #[pyo3(signature = (collection, vectors))]
    fn vector_batch_upsert(
        &self,
        py: Python<'_>,
        collection: String,
        vectors: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<u64>> {
        let mut items = Vec::new();
        let iter = vectors.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "vectors must be a list of {{\"key\", \"vector\", \"metadata\"}} dicts, got {}",
                vectors
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        for (i, item) in iter.enumerate() {
            let item = item?;
            let Ok(d) = item.cast::<PyDict>() else {
                return Err(invalid_input(
                    py,
                    format!("vectors[{i}] must be a dict with \"key\", \"vector\" and optionally \"metadata\""),
                ));
            };
            for k in d.keys() {
                let name = k.extract::<String>().unwrap_or_default();
                if !matches!(name.as_str(), "key" | "vector" | "metadata") {
                    return Err(invalid_input(
                        py,
                        format!("vectors[{i}] has an unknown field {name:?} (allowed: key, vector, metadata)"),
                    ));
                }
            }
            let key: String = match d.get_item("key")? {
                Some(k) => k.extract().map_err(|_| {
                    invalid_input(py, format!("vectors[{i}][\"key\"] must be a str"))
                })?,
                None => return Err(invalid_input(py, format!("vectors[{i}] has no \"key\""))),
            };
            let vector = match d.get_item("vector")? {
                Some(v) => crate::vectors::floats(&v, &format!("vectors[{i}][\"vector\"]"))?,
                None => return Err(invalid_input(py, format!("vectors[{i}] has no \"vector\""))),
            };
            let metadata = opt_value_arg(
                py,
                d.get_item("metadata")?.as_ref(),
                &format!("vectors[{i}][\"metadata\"]"),
            )?;
            items.push(VectorInput {
                key,
                vector: vector.as_slice().to_vec(),
                metadata,
            });
        }
        let written = self.run(py, move |s| s.vector_batch_upsert(&collection, items))?;
        Ok(vec![ver(written.version); written.value])
    }

    /// Return `{"key", "embedding", "metadata", "version", "timestamp"}` for vector
    /// `key` (`embedding` is a float32 NumPy array), or None if it does not exist.
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.vector_create_collection("docs", 2)
    /// >>> _ = db.vector_upsert("docs", "a", [0.5, 1.5])
    /// >>> db.vector_get("docs", "a")["embedding"]
    /// array([0.5, 1.5], dtype=float32)
    #[pyo3(signature = (collection, key))]
    fn vector_get<'py>(
        &self,
        py: Python<'py>,
        collection: String,
        key: String,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let found = self.run(py, move |s| s.vector_get(&collection, &key))?;
        found.map(|e| results::vector_entry(py, e)).transpose()
    }

    /// Delete vector `key` from `collection`; return True if it existed.
    #[pyo3(signature = (collection, key))]
    fn vector_delete(&self, py: Python<'_>, collection: String, key: String) -> PyResult<bool> {
        Ok(self
            .run(py, move |s| s.vector_delete(&collection, &key))?
            .value)
    }

    /// Return the `k` vectors most similar to `query`, best first, as `{"key",
    /// "score", "metadata"}` dicts (higher score = more similar; euclidean scores are
    /// negative distances).
    ///
    /// `as_of` searches the collection as it was at that time (microseconds since the
    /// epoch). `metric` overrides the collection's metric for this search. `filters`
    /// keeps only vectors whose metadata matches every condition, e.g.
    /// `[{"field": "year", "op": "gte", "value": 2020}]` (ops: eq, ne, gt, gte, lt,
    /// lte, in, contains).
    #[pyo3(signature = (collection, query, k, as_of=None, metric=None, filters=None))]
    #[allow(clippy::too_many_arguments)]
    fn vector_search<'py>(
        &self,
        py: Python<'py>,
        collection: String,
        query: &Bound<'py, PyAny>,
        k: Int,
        as_of: Option<Int>,
        metric: Option<String>,
        filters: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.vector_search_impl(py, collection, query, k, as_of, metric, filters)
    }

    /// Like `vector_search`, with a metric override and a metadata `filter`: a list of
    /// `{"field", "op", "value"}` conditions that must all hold (ops: eq, ne, gt, gte,
    /// lt, lte, in, contains).
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.vector_create_collection("docs", 2)
    /// >>> _ = db.vector_upsert("docs", "old", [1, 0], {"year": 2019})
    /// >>> _ = db.vector_upsert("docs", "new", [1, 0.1], {"year": 2024})
    /// >>> hits = db.vector_search_filtered("docs", [1, 0], k=5,
    /// ...     filter=[{"field": "year", "op": "gte", "value": 2020}])
    /// >>> [h["key"] for h in hits]
    /// ['new']
    #[pyo3(signature = (collection, query, k, metric=None, filter=None))]
    fn vector_search_filtered<'py>(
        &self,
        py: Python<'py>,
        collection: String,
        query: &Bound<'py, PyAny>,
        k: Int,
        metric: Option<String>,
        filter: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.vector_search_impl(py, collection, query, k, None, metric, filter)
    }

    // ------------------------------------------------------------- branches

    /// Return the name of this handle's current branch (initially "default").
    #[pyo3(signature = ())]
    fn current_branch(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, |s| Ok(s.current_branch()))
    }

    /// Switch this handle to existing branch `branch` (NotFoundError otherwise). The
    /// current space is kept if the branch has it, else it becomes "default".
    #[pyo3(signature = (branch))]
    fn set_branch(&self, py: Python<'_>, branch: String) -> PyResult<()> {
        self.run(py, move |s| s.set_branch(&branch))
    }

    /// Create a new, empty branch. Raises StrataError (code "already_exists") if it
    /// exists; use `fork_branch` to copy data.
    #[pyo3(signature = (branch))]
    fn create_branch(&self, py: Python<'_>, branch: String) -> PyResult<()> {
        self.run(py, move |s| s.create_branch(&branch))
    }

    /// Return the names of all branches of the database, sorted ("default" always
    /// exists).
    #[pyo3(signature = ())]
    fn list_branches(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.run(py, |s| Ok(s.list_branches()))
    }

    /// Delete branch `branch` and its data. Refused (StrataError, code "not_allowed")
    /// for "default", for this handle's current branch and for a branch others were
    /// forked from; NotFoundError if it does not exist.
    #[pyo3(signature = (branch))]
    fn delete_branch(&self, py: Python<'_>, branch: String) -> PyResult<()> {
        self.run(py, move |s| s.delete_branch(&branch))
    }

    /// Return True if branch `name` exists, False otherwise (never raises for a
    /// missing branch).
    #[pyo3(signature = (name))]
    fn branch_exists(&self, py: Python<'_>, name: String) -> PyResult<bool> {
        self.run(py, move |s| Ok(s.branch_exists(&name)))
    }

    /// Return branch metadata `{"name", "created_at", "version", "parent",
    /// "fork_version", "live_keys"}`, or None if it does not exist. `parent` and
    /// `fork_version` are None unless the branch was forked; `version` is the last
    /// commit version that wrote to the branch; `created_at` is in microseconds.
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.fork_branch("exp")
    /// >>> db.branch_get("exp")["parent"]
    /// 'default'
    #[pyo3(signature = (name))]
    fn branch_get<'py>(
        &self,
        py: Python<'py>,
        name: String,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(d) = self.run(py, move |s| Ok(s.branch_get(&name)))? else {
            return Ok(None);
        };
        let forked = d.info.parent.is_some();
        Ok(Some(pydict!(py, {
            "name": d.info.name,
            "created_at": d.info.created_at,
            "version": d.stats.version.0,
            "parent": d.parent_name,
            "fork_version": forked.then_some(d.info.fork_version.0),
            "live_keys": d.stats.live_keys,
        })))
    }

    /// Fork the current branch into new branch `destination` (copy-on-write: cheap at
    /// any size). Return `{"source", "destination", "keys_copied"}` where
    /// `keys_copied` counts the live keys the new branch sees (internal keys of the
    /// primitives included). The handle stays on its current branch.
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.kv_put("k", 1)
    /// >>> r = db.fork_branch("experiment")
    /// >>> r["source"], r["destination"], r["keys_copied"] >= 1
    /// ('default', 'experiment', True)
    #[pyo3(signature = (destination))]
    fn fork_branch<'py>(
        &self,
        py: Python<'py>,
        destination: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.fork(py, None, destination)
    }

    /// Compare two branches. Return `{"branch_a", "branch_b", "summary":
    /// {"total_added", "total_removed", "total_modified"}, "added", "removed",
    /// "modified"}` where each list holds `{"space", "primitive", "key"}` dicts: added
    /// = only on `branch_b`, removed = only on `branch_a`, modified = on both with
    /// different values. Primitives' internal keys are not listed.
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.fork_branch("feature")
    /// >>> db.set_branch("feature"); _ = db.kv_put("new", 1); db.set_branch("default")
    /// >>> d = db.diff_branches("default", "feature")
    /// >>> d["summary"]["total_added"], d["added"]
    /// (1, [{'space': 'default', 'primitive': 'kv', 'key': 'new'}])
    #[pyo3(signature = (branch_a, branch_b))]
    fn diff_branches<'py>(
        &self,
        py: Python<'py>,
        branch_a: String,
        branch_b: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.diff(py, branch_a, branch_b)
    }

    /// Merge branch `source` into the current branch. `strategy` is
    /// "last_writer_wins" (default: for keys changed on both sides the later write
    /// wins) or "strict" (any such conflict raises ConflictError listing the keys and
    /// nothing is merged). Return `{"source", "target", "strategy", "keys_applied",
    /// "conflicts": [{"space", "primitive", "key"}], "version"}`.
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.fork_branch("feature")
    /// >>> db.set_branch("feature"); _ = db.kv_put("k", "from feature"); db.set_branch("default")
    /// >>> r = db.merge_branches("feature")
    /// >>> r["keys_applied"], db.kv_get("k")
    /// (1, 'from feature')
    #[pyo3(signature = (source, strategy=None))]
    fn merge_branches<'py>(
        &self,
        py: Python<'py>,
        source: String,
        strategy: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.merge(py, source, None, strategy)
    }

    /// Return `{"oldest_ts", "latest_ts"}`: the time-travel window (microseconds since
    /// the epoch) of `branch` (the current one if None), or None if it has no data.
    #[pyo3(signature = (branch=None))]
    fn time_range<'py>(
        &self,
        py: Python<'py>,
        branch: Option<String>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let range = self.run(py, move |s| s.time_range(branch.as_deref()))?;
        range
            .map(|(oldest, latest)| Ok(pydict!(py, { "oldest_ts": oldest, "latest_ts": latest })))
            .transpose()
    }

    /// Export branch `branch` (all spaces, all history) to the bundle file `path`.
    /// Return `{"branch", "path", "entry_count", "key_count", "bytes"}`.
    #[pyo3(signature = (branch, path))]
    fn branch_export<'py>(
        &self,
        py: Python<'py>,
        branch: String,
        path: PathBuf,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (summary, path) = self.run(py, move |s| {
            let summary = s.branch_export(&branch, &path).map_err(|e| match e {
                strata::Error::Storage(StorageError::Io(io)) => {
                    strata::Error::Storage(StorageError::Io(std::io::Error::new(
                        io.kind(),
                        format!("cannot write bundle {}: {io}", path.display()),
                    )))
                }
                other => other,
            })?;
            Ok((summary, path))
        })?;
        Ok(pydict!(py, {
            "branch": summary.branch,
            "path": path.display().to_string(),
            "entry_count": summary.entry_count,
            "key_count": summary.key_count,
            "bytes": summary.bytes,
        }))
    }

    /// Import the bundle file `path` as a new branch, named `name` or the name
    /// recorded in the bundle. Return `{"branch_id", "entry_count", "key_count"}`
    /// (`branch_id` is the new branch's name). Refused if the branch exists; a
    /// damaged file changes nothing.
    #[pyo3(signature = (path, name=None))]
    fn branch_import<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        name: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let summary = self.run(py, move |s| s.branch_import(&path, name.as_deref()))?;
        Ok(pydict!(py, {
            "branch_id": summary.branch,
            "entry_count": summary.entry_count,
            "key_count": summary.key_count,
        }))
    }

    /// Check a bundle file without importing it. Return `{"checksums_valid": True,
    /// "branch", "format_version", "entry_count", "key_count"}`, or for a damaged file
    /// `{"checksums_valid": False, "error": str}` with the other fields None. Raises
    /// NotFoundError if the file cannot be read.
    #[pyo3(signature = (path))]
    fn branch_validate_bundle<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
    ) -> PyResult<Bound<'py, PyDict>> {
        let outcome = self.run(py, move |s| match s.branch_validate_bundle(&path) {
            Ok(info) => Ok(Ok(info)),
            Err(e) if e.code() == "corrupt" => Ok(Err(e.to_string())),
            Err(e) => Err(e),
        })?;
        Ok(match outcome {
            Ok(info) => pydict!(py, {
                "checksums_valid": true,
                "branch": info.branch,
                "format_version": info.format_version,
                "entry_count": info.entry_count,
                "key_count": info.key_count,
            }),
            Err(error) => pydict!(py, {
                "checksums_valid": false,
                "branch": py.None(),
                "format_version": py.None(),
                "entry_count": py.None(),
                "key_count": py.None(),
                "error": error,
            }),
        })
    }

    // ------------------------------------------------------------- spaces

    /// Return the name of this handle's current space (initially "default").
    #[pyo3(signature = ())]
    fn current_space(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, |s| Ok(s.current_space()))
    }

    /// Switch to space `space` of the current branch, creating it if needed.
    #[pyo3(signature = (space))]
    fn set_space(&self, py: Python<'_>, space: String) -> PyResult<()> {
        self.run(py, move |s| s.set_space(&space))
    }

    /// Return the names of the spaces of the current branch, sorted ("default" always
    /// exists).
    #[pyo3(signature = ())]
    fn list_spaces(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.run(py, |s| s.list_spaces())
    }

    /// Delete space `space` of the current branch if it is empty (StrataError
    /// otherwise; see `delete_space_force`). "default" cannot be deleted. A handle
    /// whose current space is deleted moves to "default".
    #[pyo3(signature = (space))]
    fn delete_space(&self, py: Python<'_>, space: String) -> PyResult<()> {
        self.run(py, move |s| s.delete_space(&space, false))
    }

    /// Delete space `space` of the current branch with all its data in every
    /// primitive.
    #[pyo3(signature = (space))]
    fn delete_space_force(&self, py: Python<'_>, space: String) -> PyResult<()> {
        self.run(py, move |s| s.delete_space(&space, true))
    }

    /// Create space `space` on the current branch (no-op if it exists) without
    /// switching to it.
    #[pyo3(signature = (space))]
    fn space_create(&self, py: Python<'_>, space: String) -> PyResult<()> {
        self.run(py, move |s| s.space_create(&space))
    }

    /// Return True if space `space` exists on the current branch, False otherwise.
    #[pyo3(signature = (space))]
    fn space_exists(&self, py: Python<'_>, space: String) -> PyResult<bool> {
        self.run(py, move |s| s.space_exists(&space))
    }

    // ------------------------------------------------------------- transactions

    /// Return a context manager running the `with` block in a transaction on this
    /// handle: it commits when the block ends normally (a conflict with a concurrent
    /// commit raises ConflictError and nothing is written) and rolls back when the
    /// block raises (the exception propagates). `with ... as db` gives the handle.
    ///
    /// Inside the block, writes return 0 as their version (pending) and reads see the
    /// transaction's own writes; other handles see nothing until it commits. With
    /// `read_only=True` writes are refused.
    ///
    /// >>> db = Strata.cache()
    /// >>> with db.transaction():
    /// ...     pending = db.kv_put("a", 1)
    /// ...     _ = db.kv_put("b", 2)
    /// >>> pending, db.kv_get("a"), db.kv_get("b")
    /// (0, 1, 2)
    #[pyo3(signature = (read_only=false))]
    fn transaction(slf: Bound<'_, Self>, read_only: bool) -> Transaction {
        Transaction::new(slf.unbind(), read_only)
    }

    /// Begin a transaction on this handle (see `transaction()` for the semantics).
    /// Raises TransactionError if one is already active on this handle.
    #[pyo3(signature = (read_only=None))]
    fn begin(&self, py: Python<'_>, read_only: Option<bool>) -> PyResult<()> {
        self.begin_txn(py, read_only.unwrap_or(false))
    }

    /// Commit the active transaction; return its commit version. Raises
    /// ConflictError if a concurrent commit wrote what it read or wrote (nothing is
    /// written and the transaction is over), TransactionError if none is active.
    #[pyo3(signature = ())]
    fn commit(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.run(py, |s| s.commit())?.0)
    }

    /// Discard the active transaction. Raises TransactionError if none is active.
    #[pyo3(signature = ())]
    fn rollback(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |s| s.rollback())
    }

    /// Return `{"id", "status", "started_at", "read_only"}` for the active
    /// transaction (`status` is "active"), or None.
    #[pyo3(signature = ())]
    fn txn_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(info) = self.run(py, |s| Ok(s.txn_info()))? else {
            return Ok(None);
        };
        Ok(Some(pydict!(py, {
            "id": info.id,
            "status": info.status,
            "started_at": info.started_at,
            "read_only": info.read_only,
        })))
    }

    /// Return True if a transaction is active on this handle (begun and not yet
    /// committed or rolled back).
    #[pyo3(signature = ())]
    fn txn_is_active(&self, py: Python<'_>) -> PyResult<bool> {
        self.run(py, |s| Ok(s.txn_is_active()))
    }

    // ------------------------------------------------------------- search

    /// Search the current branch and space across primitives for `query`.
    ///
    /// Return at most `k` (default 10) hits, best first, as `{"entity", "primitive",
    /// "score", "rank", "snippet"}` dicts: `entity` is the key (the sequence number for
    /// an event, "collection/key" for a vector), `rank` starts at 1.
    ///
    /// `primitives` restricts the search (e.g. `["kv", "json"]`; "state", "event",
    /// "vector" too). `time_range` is `{"start": ISO 8601, "end": ISO 8601}` (either may
    /// be left out; a date-only end covers that whole day). `mode` is "hybrid"
    /// (default: BM25 fused with embeddings when an embedder is configured) or
    /// "keyword". `expand`/`rerank`: None = on when a model is configured (see
    /// `configure_model`), False = off, True = on (skipped if no model). Bad dates,
    /// modes or primitive names raise InvalidInputError.
    ///
    /// >>> db = Strata.cache()
    /// >>> _ = db.kv_put("incident:1", "deployment failed: image missing")
    /// >>> _ = db.kv_put("motd", "welcome back")
    /// >>> hits = db.search("deployment failures", k=5)
    /// >>> [(h["entity"], h["primitive"], h["rank"]) for h in hits]
    /// [('incident:1', 'kv', 1)]
    #[pyo3(signature = (query, k=None, primitives=None, time_range=None, mode=None, expand=None, rerank=None))]
    #[allow(clippy::too_many_arguments)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        query: String,
        k: Option<Int>,
        primitives: Option<Vec<String>>,
        time_range: Option<&Bound<'py, PyDict>>,
        mode: Option<&str>,
        expand: Option<bool>,
        rerank: Option<bool>,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut req = SearchRequest::new(query).expand(expand).rerank(rerank);
        if let Some(k) = k {
            req = req.k(count(py, "k", k)?);
        }
        req.primitives = primitives;
        if let Some(range) = time_range {
            let (start, end) = search::time_range(py, range)?;
            req = req.time_range(start, end);
        }
        if let Some(mode) = mode {
            req = req.mode(SearchMode::parse(mode).map_err(|e| errors::db_err(py, e))?);
        }
        let hits = self.run(py, move |s| s.search(&req))?;
        search::hits(py, hits)
    }

    /// Plug Python functions into search (for the whole database, every handle):
    ///
    /// - `embed(texts: list[str])` returns one vector per text: a NumPy array of shape
    ///   (len(texts), d) or a list of equal-length lists of floats. Enables hybrid
    ///   search (BM25 fused with embedding similarity).
    /// - `expand(query: str)` returns extra queries (list[str]) also searched.
    /// - `rerank(query: str, docs: list[str])` returns one relevance score per doc
    ///   (higher is better) to reorder the top candidates.
    ///
    /// Each is optional; arguments left out are removed, so `configure_model()` clears
    /// every model. The functions run during `search()` (from the searching thread,
    /// with the GIL), must not use the database themselves, and an exception they
    /// raise makes the search fail with StrataError (code "model").
    ///
    /// >>> db = Strata.cache()
    /// >>> db.configure_model(expand=lambda q: [q + " outage"])
    /// >>> _ = db.kv_put("k", "network outage")
    /// >>> [h["entity"] for h in db.search("network", k=1)]
    /// ['k']
    /// >>> db.configure_model()
    #[pyo3(signature = (embed=None, expand=None, rerank=None))]
    fn configure_model(
        &self,
        py: Python<'_>,
        embed: Option<Bound<'_, PyAny>>,
        expand: Option<Bound<'_, PyAny>>,
        rerank: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        for (name, f) in [("embed", &embed), ("expand", &expand), ("rerank", &rerank)] {
            if let Some(f) = f {
                if !f.is_none() && !f.is_callable() {
                    return Err(PyTypeError::new_err(format!(
                        "configure_model(): {name} must be a callable or None"
                    )));
                }
            }
        }
        let keep = |f: Option<Bound<'_, PyAny>>| f.filter(|f| !f.is_none()).map(Bound::unbind);
        let models = ModelConfig {
            embedder: keep(embed).map(|f| Arc::new(PyEmbedder(f)) as _),
            expander: keep(expand).map(|f| Arc::new(PyExpander(f)) as _),
            reranker: keep(rerank).map(|f| Arc::new(PyReranker(f)) as _),
        };
        // Dropping the previous models (Python objects) without the GIL is fine: PyO3
        // defers those reference-count decrements.
        self.run(py, move |s| {
            s.strata().search_index().set_models(models);
            Ok(())
        })
    }

    // ------------------------------------------------------------- database

    /// Check that the handle works (ClosedError if not); return the StrataDB version
    /// string, e.g. "0.1.0".
    #[pyo3(signature = ())]
    fn ping(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, |_| Ok(strata::VERSION.to_owned()))
    }

    /// Return `{"version", "uptime_secs", "branch_count", "total_keys"}`
    /// (`total_keys`: live keys over all branches, internal keys of the primitives
    /// included).
    #[pyo3(signature = ())]
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let i = self.run(py, |s| Ok(s.info()))?;
        Ok(pydict!(py, {
            "version": i.version,
            "uptime_secs": i.uptime_secs,
            "branch_count": i.branch_count,
            "total_keys": i.total_keys,
        }))
    }

    /// Force every write to disk (fsync) and save the derived indexes (vector graphs,
    /// keyword indexes) so the next open loads them instead of rebuilding.
    #[pyo3(signature = ())]
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |s| s.flush())
    }

    /// Run a major compaction of the storage files (reclaims space from deleted and
    /// overwritten data that no branch can still see).
    #[pyo3(signature = ())]
    fn compact(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |s| s.compact())
    }

    // ------------------------------------------- README-variant aliases

    /// Alias of `create_branch(name)`: create a new, empty branch.
    #[pyo3(signature = (name))]
    fn branch_create(&self, py: Python<'_>, name: String) -> PyResult<()> {
        self.create_branch(py, name)
    }

    /// Alias of `list_branches()`: all branch names, sorted.
    #[pyo3(signature = ())]
    fn branch_list(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.list_branches(py)
    }

    /// Alias of `delete_branch(name)`: delete a branch and its data.
    #[pyo3(signature = (name))]
    fn branch_delete(&self, py: Python<'_>, name: String) -> PyResult<()> {
        self.delete_branch(py, name)
    }

    /// Fork branch `source` (any branch, not only the current one) into new branch
    /// `dest`; returns `{"source", "destination", "keys_copied"}` like `fork_branch`.
    #[pyo3(signature = (source, dest))]
    fn branch_fork<'py>(
        &self,
        py: Python<'py>,
        source: String,
        dest: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.fork(py, Some(source), dest)
    }

    /// Alias of `diff_branches(a, b)`: compare two branches (added = only on `b`).
    #[pyo3(signature = (a, b))]
    fn branch_diff<'py>(
        &self,
        py: Python<'py>,
        a: String,
        b: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.diff(py, a, b)
    }

    /// Merge branch `source` into branch `target` (any branch, not only the current
    /// one); `strategy` and the result as in `merge_branches`.
    #[pyo3(signature = (source, target, strategy=None))]
    fn branch_merge<'py>(
        &self,
        py: Python<'py>,
        source: String,
        target: String,
        strategy: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.merge(py, source, Some(target), strategy)
    }

    /// Alias of `set_branch(name)`: switch this handle to an existing branch.
    #[pyo3(signature = (name))]
    fn branch_use(&self, py: Python<'_>, name: String) -> PyResult<()> {
        self.set_branch(py, name)
    }

    /// Alias of `list_spaces()`: the spaces of the current branch, sorted.
    #[pyo3(signature = ())]
    fn space_list(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.list_spaces(py)
    }

    /// Alias of `delete_space(name)` (only an empty space; see `delete_space_force`).
    #[pyo3(signature = (name))]
    fn space_delete(&self, py: Python<'_>, name: String) -> PyResult<()> {
        self.delete_space(py, name)
    }

    /// Alias of `set_space(name)`: switch to a space, creating it if needed.
    #[pyo3(signature = (name))]
    fn space_use(&self, py: Python<'_>, name: String) -> PyResult<()> {
        self.set_space(py, name)
    }

    /// Alias of `txn_is_active()`: True if a transaction is active on this handle.
    #[pyo3(signature = ())]
    fn in_transaction(&self, py: Python<'_>) -> PyResult<bool> {
        self.txn_is_active(py)
    }
}

/// Used by [`Transaction`]: begin/commit/rollback on a handle.
impl Strata {
    pub(crate) fn txn_begin(&self, py: Python<'_>, read_only: bool) -> PyResult<()> {
        self.begin_txn(py, read_only)
    }

    pub(crate) fn txn_commit(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.run(py, |s| s.commit())?.0)
    }

    pub(crate) fn txn_rollback(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |s| s.rollback())
    }
}
