//! The crate's one error type.

use strata_storage::StorageError;

/// Everything that can go wrong in vector collections and indexes.
///
/// Each variant has a stable [`VectorError::code`] shared with the other crates, so
/// bindings can map errors to their own exception classes without parsing messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VectorError {
    /// The underlying storage engine failed (I/O, conflicts, corrupt records, ...).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A vector or query had the wrong number of components.
    #[error("dimension mismatch for collection {collection:?}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// The collection the vector was meant for.
        collection: String,
        /// The collection's dimension.
        expected: usize,
        /// The dimension that was given.
        got: usize,
    },
    /// The named collection does not exist in this branch and space.
    #[error("vector collection {0:?} not found")]
    CollectionNotFound(String),
    /// `create_collection` on a name that is already taken.
    #[error("vector collection {0:?} already exists")]
    CollectionExists(String),
    /// A metric name that is not one of `cosine`, `euclidean`, `dot_product`.
    #[error("unknown metric {0:?}: expected one of \"cosine\", \"euclidean\", \"dot_product\"")]
    UnknownMetric(String),
    /// A metadata filter that could not be parsed.
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// Any other argument the crate refuses (NaN components, empty vectors, bad names,
    /// non-object metadata, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A stored record of this crate could not be decoded.
    #[error("corrupt vector data: {0}")]
    Corrupt(String),
    /// Writing or reading an on-disk HNSW dump failed. Dumps are caches: callers
    /// rebuild from stored vectors when loading fails.
    #[error("HNSW dump error: {0}")]
    Dump(String),
}

impl VectorError {
    /// A stable, short machine-readable code for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            VectorError::Storage(e) => e.code(),
            VectorError::DimensionMismatch { .. }
            | VectorError::UnknownMetric(_)
            | VectorError::InvalidFilter(_)
            | VectorError::InvalidInput(_) => "invalid_input",
            VectorError::CollectionNotFound(_) => "not_found",
            VectorError::CollectionExists(_) => "already_exists",
            VectorError::Corrupt(_) => "corrupt",
            VectorError::Dump(_) => "io",
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = VectorError> = std::result::Result<T, E>;
