//! Vectors between Python and Rust: NumPy arrays in (float32 without copying), float32
//! `ndarray`s out.
//!
//! Accepted as a vector: a 1-D `numpy.ndarray` of float32 (borrowed in place when it
//! is contiguous, copied element by element when it is a strided view), a 1-D array of
//! any other real dtype (converted to float32: float64 here, others by NumPy), or any sequence of numbers (a list, a
//! tuple, `array.array`). Anything else is an `InvalidInputError` naming the argument.

use crate::errors::{self, InvalidInputError};
use numpy::{PyArray1, PyReadonlyArray1, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// A vector argument: borrowed from a float32 NumPy array, or converted into a `Vec`.
pub(crate) enum Floats<'py> {
    /// A contiguous float32 array, read in place.
    Borrowed(PyReadonlyArray1<'py, f32>),
    /// Anything that had to be converted (strided views, other dtypes, lists).
    Owned(Vec<f32>),
}

impl Floats<'_> {
    /// The vector's components. Cheap: no copy for a contiguous float32 array.
    pub(crate) fn as_slice(&self) -> &[f32] {
        match self {
            Floats::Borrowed(array) => array.as_slice().unwrap_or(&[]),
            Floats::Owned(v) => v,
        }
    }
}

fn bad_vector(py: Python<'_>, what: &str, detail: String) -> PyErr {
    errors::raise::<InvalidInputError>(
        py,
        "invalid_input",
        format!("{what} must be a 1-D numpy array or a sequence of numbers: {detail}"),
    )
}

/// Reads a vector argument (`what` names it in error messages).
pub(crate) fn floats<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Floats<'py>> {
    let py = obj.py();
    if let Ok(array) = obj.extract::<PyReadonlyArray1<'py, f32>>() {
        if array.as_slice().is_ok() {
            return Ok(Floats::Borrowed(array));
        }
        // A strided view (e.g. `matrix[:, 0]`): gather its elements.
        return Ok(Floats::Owned(array.as_array().iter().copied().collect()));
    }
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        if array.ndim() != 1 {
            return Err(bad_vector(
                py,
                what,
                format!("got an array with {} dimensions", array.ndim()),
            ));
        }
        if let Ok(array) = obj.extract::<PyReadonlyArray1<'py, f64>>() {
            // float64, the NumPy default: narrowed here (values beyond the float32
            // range become infinities, which the engine refuses by name).
            return Ok(Floats::Owned(
                array.as_array().iter().map(|&x| x as f32).collect(),
            ));
        }
        // Another dtype (float16, integers): let NumPy convert it.
        let converted = obj
            .call_method1("astype", ("float32",))
            .map_err(|e| bad_vector(py, what, e.to_string()))?;
        let array = converted
            .extract::<PyReadonlyArray1<'py, f32>>()
            .map_err(|e| bad_vector(py, what, e.to_string()))?;
        return Ok(Floats::Owned(array.as_array().iter().copied().collect()));
    }
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(bad_vector(
            py,
            what,
            format!(
                "got {}",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ),
        ));
    }
    obj.extract::<Vec<f32>>()
        .map(Floats::Owned)
        .map_err(|e| bad_vector(py, what, e.to_string()))
}

/// A new float32 `ndarray` owning `v` (no copy).
pub(crate) fn to_ndarray(py: Python<'_>, v: Vec<f32>) -> Bound<'_, PyArray1<f32>> {
    PyArray1::from_vec(py, v)
}
