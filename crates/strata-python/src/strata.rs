//! The `Strata` class: one Python handle = one [`strata::Session`] (its own current
//! branch, space and transaction) on a shared [`strata::Strata`] engine.
//!
//! Invariants: every database call runs without the GIL (`py.detach`) and inside
//! [`guarded`], so other Python threads keep running and a Rust panic surfaces as a
//! `StrataError`. Python objects are converted to and from [`Value`] while the GIL is
//! held, before and after the call. A closed handle holds no engine reference, so
//! closing the last handle releases the directory lock (and deletes a cache's files).

use crate::convert;
use crate::errors::{self, guarded, ClosedError, Failure, InvalidInputError};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use strata::{Durability, OpenOptions, Session, Value};

/// The session a live handle works through (shared with calls in flight).
type Handle = Arc<Session>;

/// A StrataDB database handle.
///
/// Create one with `Strata.open(path)` (a database in a directory, kept across runs) or
/// `Strata.cache()` (a throwaway database deleted on close). Use it as a context manager
/// or call `close()`; every method of a closed handle raises `ClosedError`.
///
/// A handle is safe to share between threads; database calls release the GIL.
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
}

fn invalid_input(py: Python<'_>, msg: String) -> PyErr {
    errors::raise::<InvalidInputError>(py, "invalid_input", msg)
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
        }
    }

    /// A clone of the live handle, or `ClosedError`.
    fn handle(&self, py: Python<'_>) -> PyResult<Handle> {
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
        let handle = self.handle(py)?;
        py.detach(move || guarded(|| f(&handle)))
            .map_err(|failure| errors::to_py(py, failure))
    }
}

#[pymethods]
impl Strata {
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
    /// Versions increase with every write to the database.
    ///
    /// >>> db = Strata.cache()
    /// >>> v1 = db.kv_put("user:1", {"name": "Alice", "tags": ["a", "b"]})
    /// >>> v2 = db.kv_put("user:1", {"name": "Alice B."})
    /// >>> v2 > v1
    /// True
    #[pyo3(signature = (key, value))]
    fn kv_put(&self, py: Python<'_>, key: String, value: &Bound<'_, PyAny>) -> PyResult<u64> {
        let value: Value =
            convert::to_value(value).map_err(|e| invalid_input(py, e.message("value")))?;
        let written = self.run(py, move |s| s.kv_put(&key, value))?;
        // Inside an explicit transaction (not exposed yet) no version exists until
        // commit; report 0 then, as `commit()` will return the real one.
        Ok(written.version.map_or(0, |v| v.0))
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
        key: String,
        as_of: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let as_of = match as_of {
            Some(ts) => Some(u64::try_from(ts).map_err(|_| {
                invalid_input(
                    py,
                    format!("as_of must be microseconds since the epoch (>= 0), got {ts}"),
                )
            })?),
            None => None,
        };
        let found = self.run(py, move |s| s.kv_get(&key, as_of))?;
        match found {
            Some(v) => convert::to_py(py, &v),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Close the handle. Pending writes are flushed; for `Strata.cache()` the data is
    /// deleted. Further calls on this handle raise ClosedError; closing twice is fine.
    fn close(&self, py: Python<'_>) {
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
}
