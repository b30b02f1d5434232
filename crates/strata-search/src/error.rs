//! The search crate's one error type.

use strata_storage::StorageError;

/// Everything that can go wrong while indexing or searching.
///
/// Each variant has a stable [`SearchError::code`] shared with the bindings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// A request field was malformed (empty query, `k == 0`, inverted time range, ...).
    #[error("invalid search request: {0}")]
    InvalidRequest(String),
    /// A primitive name that search does not know.
    #[error("unknown primitive {0:?}: expected one of \"kv\", \"state\", \"event\", \"json\", \"vector\"")]
    UnknownPrimitive(String),
    /// A search mode name that is neither `"keyword"` nor `"hybrid"`.
    #[error("unknown search mode {0:?}: expected \"keyword\" or \"hybrid\"")]
    UnknownMode(String),
    /// A timestamp string that is not ISO-8601 (or lies before 1970).
    #[error("invalid timestamp {input:?}: {reason}")]
    InvalidTimestamp {
        /// The text that was given.
        input: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A configured model (embedder, expander, reranker) failed or answered nonsense.
    #[error("{model} failed: {detail}")]
    Model {
        /// Which model: `"embedder"`, `"expander"` or `"reranker"`.
        model: &'static str,
        /// The model's message, or what was wrong with its answer.
        detail: String,
    },
    /// A keyword-index dump could not be written (damaged dumps are never an error:
    /// they are rebuilt).
    #[error("search index dump: {0}")]
    Dump(String),
    /// The storage engine failed while the index was being built.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl SearchError {
    /// A stable, short machine-readable code for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            SearchError::InvalidRequest(_)
            | SearchError::UnknownPrimitive(_)
            | SearchError::UnknownMode(_)
            | SearchError::InvalidTimestamp { .. } => "invalid_input",
            SearchError::Model { .. } => "model",
            SearchError::Dump(_) => "io",
            SearchError::Storage(e) => e.code(),
        }
    }
}

/// Result alias for the search crate.
pub type Result<T, E = SearchError> = std::result::Result<T, E>;
