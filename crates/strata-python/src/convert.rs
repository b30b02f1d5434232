//! Conversion between Python objects and engine [`Value`]s, without any JSON detour.
//!
//! | Python | Value |
//! |---|---|
//! | `None` | Null |
//! | `bool` (checked before `int`: `True` stays a bool) | Bool |
//! | `int` in the signed 64-bit range | Int |
//! | `float` (NaN and infinities kept) | Float |
//! | `str` | String |
//! | `bytes`, `bytearray` | Bytes (read back as `bytes`) |
//! | `list`, `tuple` | Array (read back as `list`) |
//! | `dict` with `str` keys | Object (insertion order kept) |
//!
//! Anything else, integers outside 64 bits, non-`str` dict keys and nesting deeper than
//! [`MAX_NESTING`] (which also catches self-referencing containers) are refused with a
//! message naming where in the value the problem is.

use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use strata_storage::{
    StorageError, StoredValue, Value, ValueBuilder, ValueDecodeError, MAX_NESTING,
};

/// Why a Python object could not become a [`Value`].
#[derive(Debug)]
pub(crate) struct ConvertError {
    /// Path from the root to the offending item, innermost first.
    rev_path: Vec<String>,
    reason: String,
}

impl ConvertError {
    fn new(reason: String) -> Self {
        ConvertError {
            rev_path: Vec::new(),
            reason,
        }
    }

    fn at(mut self, segment: String) -> Self {
        self.rev_path.push(segment);
        self
    }

    /// The message shown to Python users, e.g. `cannot store value["a"][2]: ...`.
    pub(crate) fn message(&self, root: &str) -> String {
        let mut path = root.to_owned();
        for seg in self.rev_path.iter().rev() {
            path.push_str(seg);
        }
        format!("cannot store {path}: {}", self.reason)
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

fn short_repr(obj: &Bound<'_, PyAny>) -> String {
    let r = obj
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "<unprintable>".to_owned());
    if r.chars().count() > 60 {
        let cut: String = r.chars().take(57).collect();
        format!("{cut}...")
    } else {
        r
    }
}

/// Converts a Python object to a [`Value`].
pub(crate) fn to_value(obj: &Bound<'_, PyAny>) -> Result<Value, ConvertError> {
    convert(obj, 0)
}

/// `depth` is the number of containers around `obj`.
fn convert(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, ConvertError> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: bool is a subclass of int in Python.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return i.extract::<i64>().map(Value::Int).map_err(|_| {
            ConvertError::new(format!(
                "integer {} does not fit in 64 bits (allowed: -2**63 to 2**63-1); \
                 store it as a str or bytes",
                short_repr(obj)
            ))
        });
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_cow()
            .map(|s| Value::String(s.into_owned()))
            .map_err(|_| ConvertError::new("str is not valid Unicode (lone surrogate)".into()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Value::Bytes(b.to_vec()));
    }
    let inner = depth + 1;
    let too_deep = || {
        ConvertError::new(format!(
            "nested deeper than {MAX_NESTING} levels (or a container that contains itself)"
        ))
    };
    if let Ok(list) = obj.cast::<PyList>() {
        if inner > MAX_NESTING {
            return Err(too_deep());
        }
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            out.push(convert(&item, inner).map_err(|e| e.at(format!("[{i}]")))?);
        }
        return Ok(Value::Array(out));
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        if inner > MAX_NESTING {
            return Err(too_deep());
        }
        let mut out = Vec::with_capacity(tuple.len());
        for (i, item) in tuple.iter().enumerate() {
            out.push(convert(&item, inner).map_err(|e| e.at(format!("[{i}]")))?);
        }
        return Ok(Value::Array(out));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        if inner > MAX_NESTING {
            return Err(too_deep());
        }
        let mut out = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_cow().map_err(|_| {
                    ConvertError::new("dict key is not valid Unicode (lone surrogate)".into())
                })?,
                Err(_) => {
                    return Err(ConvertError::new(format!(
                        "dict keys must be str, found {} key {}",
                        type_name(&k),
                        short_repr(&k)
                    )))
                }
            };
            let value = convert(&v, inner).map_err(|e| e.at(format!("[{key:?}]")))?;
            out.push((key.into_owned(), value));
        }
        return Ok(Value::Object(out.into_iter().collect()));
    }
    Err(ConvertError::new(format!(
        "values of type {} are not supported (use None, bool, int, float, str, bytes, \
         list, tuple or dict)",
        type_name(obj)
    )))
}

/// Converts a [`Value`] to a new Python object (the same objects a stored value
/// becomes; see [`PyBuilder`]).
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    value
        .build(&mut PyBuilder(py))
        .map_err(|e| e.into_py_err(py))
}

/// The one mapping of values to Python objects: None, bool, int, float, str, bytes,
/// list and dict. Fed by [`Value::build`] for values in memory and by
/// [`Value::decode_with`] straight from a stored value's encoding (no intermediate
/// [`Value`]: no Rust `String` or `Vec` per string, bytes or container element).
struct PyBuilder<'py>(Python<'py>);

/// A decode failure (corrupt stored bytes) or a Python error while building.
enum BuildError {
    Decode(ValueDecodeError),
    Py(PyErr),
}

impl BuildError {
    /// Corrupt stored bytes raise a `StrataError` (code `corrupt`).
    fn into_py_err(self, py: Python<'_>) -> PyErr {
        match self {
            BuildError::Py(err) => err,
            BuildError::Decode(err) => crate::errors::db_err(py, StorageError::from(err)),
        }
    }
}

impl From<ValueDecodeError> for BuildError {
    fn from(e: ValueDecodeError) -> Self {
        BuildError::Decode(e)
    }
}

impl From<PyErr> for BuildError {
    fn from(e: PyErr) -> Self {
        BuildError::Py(e)
    }
}

impl<'py> ValueBuilder for PyBuilder<'py> {
    type Out = Bound<'py, PyAny>;
    type Error = BuildError;
    fn null(&mut self) -> Result<Self::Out, BuildError> {
        Ok(self.0.None().into_bound(self.0))
    }
    fn bool(&mut self, b: bool) -> Result<Self::Out, BuildError> {
        Ok(PyBool::new(self.0, b).to_owned().into_any())
    }
    fn int(&mut self, i: i64) -> Result<Self::Out, BuildError> {
        match i.into_pyobject(self.0) {
            Ok(int) => Ok(int.into_any()),
            Err(never) => match never {},
        }
    }
    fn float(&mut self, f: f64) -> Result<Self::Out, BuildError> {
        Ok(PyFloat::new(self.0, f).into_any())
    }
    fn string(&mut self, s: &str) -> Result<Self::Out, BuildError> {
        Ok(PyString::new(self.0, s).into_any())
    }
    fn bytes(&mut self, b: &[u8]) -> Result<Self::Out, BuildError> {
        Ok(PyBytes::new(self.0, b).into_any())
    }
    fn array(&mut self, items: Vec<Self::Out>) -> Result<Self::Out, BuildError> {
        Ok(PyList::new(self.0, items)?.into_any())
    }
    fn object(&mut self, entries: Vec<(&str, Self::Out)>) -> Result<Self::Out, BuildError> {
        let dict = PyDict::new(self.0);
        for (k, v) in entries {
            dict.set_item(k, v)?;
        }
        Ok(dict.into_any())
    }
}

/// Converts a value as a read returned it ([`StoredValue`]) to a new Python object:
/// an encoded one is decoded straight into Python objects. Corrupt bytes raise a
/// `StrataError` (code `corrupt`).
pub(crate) fn stored_to_py<'py>(
    py: Python<'py>,
    value: &StoredValue,
) -> PyResult<Bound<'py, PyAny>> {
    match value {
        StoredValue::Decoded(v) => to_py(py, v),
        StoredValue::Encoded(e) => {
            Value::decode_with(e.bytes(), &mut PyBuilder(py)).map_err(|e| e.into_py_err(py))
        }
    }
}
