//! The JSON primitive's one error type.

use crate::path::{JsonPath, PathError};
use strata_storage::{StorageError, Value, MAX_NESTING};

/// Everything that can go wrong reading or writing JSON documents.
///
/// Each variant has a stable [`JsonError::code`] for bindings; messages name the path
/// (and the offending node) so they can be shown to users as they are.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The path string is not valid JSONPath (or uses unsupported syntax).
    #[error("invalid JSONPath {path:?}: {source}")]
    Path {
        /// The path as given.
        path: String,
        /// Where and why parsing failed.
        source: PathError,
    },
    /// The document key is empty, too long or contains a NUL byte.
    #[error("invalid document key: {0}")]
    InvalidKey(String),
    /// A write used a path that can match several nodes.
    #[error(
        "cannot set {path}: the path has a wildcard or filter; \
         only paths made of names and indexes can be written"
    )]
    NotSingular {
        /// The path as given.
        path: String,
    },
    /// The path goes through a node of the wrong type.
    #[error("cannot set {path}: {at} is {found}, not {expected}")]
    TypeMismatch {
        /// The path as given.
        path: String,
        /// The normalized path of the offending node.
        at: String,
        /// What the path needs there (`"an object"` or `"an array"`).
        expected: &'static str,
        /// The type found (`"an int"`, ...).
        found: &'static str,
    },
    /// A write's array index is before the start or more than one past the end.
    #[error(
        "cannot set {path}: index {index} is out of range for {at} (length {len}); \
         writes may replace an element or append at index {len}"
    )]
    IndexOutOfRange {
        /// The path as given.
        path: String,
        /// The normalized path of the array.
        at: String,
        /// The index used.
        index: i64,
        /// The array's length.
        len: usize,
    },
    /// A whole document (path `$`) must be an object or an array.
    #[error("a document must be an object or an array, not {found}")]
    InvalidRoot {
        /// The type given (`"an int"`, ...).
        found: &'static str,
    },
    /// The write would nest arrays and objects deeper than the storage limit.
    #[error("cannot set {path}: the document would be nested deeper than {MAX_NESTING} levels")]
    TooDeep {
        /// The path as given.
        path: String,
    },
    /// An argument other than the key or path is out of range (e.g. a zero list limit).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The storage engine failed (I/O, conflict, corrupt data, read-only view, ...).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl JsonError {
    /// Parses `path`, wrapping a failure in [`JsonError::Path`] with the path text.
    pub(crate) fn parse_path(path: &str) -> Result<JsonPath, JsonError> {
        JsonPath::parse(path).map_err(|source| JsonError::Path {
            path: path.to_owned(),
            source,
        })
    }

    /// A stable, short machine-readable code for the error kind. Storage errors keep
    /// the storage engine's codes.
    pub fn code(&self) -> &'static str {
        match self {
            JsonError::Path { .. } => "invalid_path",
            JsonError::InvalidKey(_) => "invalid_key",
            JsonError::NotSingular { .. } => "not_singular",
            JsonError::TypeMismatch { .. } => "type_mismatch",
            JsonError::IndexOutOfRange { .. } => "index_out_of_range",
            JsonError::InvalidRoot { .. } => "invalid_root",
            JsonError::TooDeep { .. } => "too_deep",
            JsonError::InvalidArgument(_) => "invalid_argument",
            JsonError::Storage(e) => e.code(),
        }
    }
}

/// `"an object"`, `"an int"`, ...: a value's type with its article, for messages.
pub(crate) fn a_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Int(_) => "an int",
        Value::Float(_) => "a float",
        Value::String(_) => "a string",
        Value::Bytes(_) => "bytes",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
