//! The facade's error: every crate's error, plus session errors, with one stable code.

use strata_storage::StorageError;

/// Any error StrataDB reports through the facade.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From the storage engine (I/O, conflicts, names, branches, bundles ...).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// From the KV primitive.
    #[error(transparent)]
    Kv(#[from] strata_kv::KvError),
    /// From the state-cell primitive.
    #[error(transparent)]
    State(#[from] strata_state::StateError),
    /// From the event log.
    #[error(transparent)]
    Events(#[from] strata_events::EventError),
    /// From the JSON primitive.
    #[error(transparent)]
    Json(#[from] strata_json::JsonError),
    /// From the vector primitive.
    #[error(transparent)]
    Vector(#[from] strata_vector::VectorError),
    /// From search.
    #[error(transparent)]
    Search(#[from] strata_search::SearchError),
    /// A transaction-state error: `begin` while one is active, `commit` without one.
    #[error("{0}")]
    Transaction(String),
    /// Input the facade refuses.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
}

impl Error {
    /// A stable machine-readable code: `not_found`, `conflict`, `invalid_input` (and
    /// other `invalid_*`), `already_exists`, `not_allowed`, `locked`, `corrupt`, `io`,
    /// `poisoned`, `transaction`, `model`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Storage(e) => e.code(),
            Error::Kv(e) => e.code(),
            Error::State(e) => e.code(),
            Error::Events(e) => e.code(),
            Error::Json(e) => e.code(),
            Error::Vector(e) => e.code(),
            Error::Search(e) => e.code(),
            Error::Transaction(_) => "transaction",
            Error::InvalidInput(_) => "invalid_input",
            Error::NotFound(_) => "not_found",
        }
    }

    /// Whether this is a write-write conflict (retrying the transaction may succeed).
    pub fn is_conflict(&self) -> bool {
        self.code() == "conflict"
    }
}

/// Result alias for the facade.
pub type Result<T, E = Error> = std::result::Result<T, E>;
