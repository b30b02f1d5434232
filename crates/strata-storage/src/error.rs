//! The storage engine's one error type.

use crate::value::ValueDecodeError;

/// Everything that can go wrong in the storage engine.
///
/// Each variant has a stable [`StorageError::code`] so bindings can map it to their own
/// exception classes without parsing messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An I/O or engine failure in fjall.
    #[error("storage engine error: {0}")]
    Engine(#[from] fjall::Error),
    /// A plain I/O failure (opening directories, bundle files).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Stored bytes could not be decoded.
    #[error("corrupt data in {what}: {detail}")]
    Corrupt {
        /// Which structure or file was damaged.
        what: String,
        /// What was wrong with it.
        detail: String,
    },
    /// A write-write conflict: another commit changed a key this transaction wrote
    /// after the transaction's snapshot was taken.
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// Input the engine refuses (bad names, oversized keys, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Something named does not exist (branch, space, ...).
    #[error("{0}")]
    NotFound(String),
    /// Something to be created already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// The operation is not allowed in the current state (deleting the default
    /// branch, writing in a read-only transaction, ...).
    #[error("{0}")]
    NotAllowed(String),
    /// The database directory is held by another process.
    #[error("database at {0} is locked by another process")]
    Locked(String),
    /// An earlier fsync failed; the engine refuses writes until reopened.
    #[error("database is poisoned after a failed sync; reopen it")]
    Poisoned,
}

impl StorageError {
    /// A stable, short machine-readable code for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            StorageError::Engine(_) | StorageError::Io(_) => "io",
            StorageError::Corrupt { .. } => "corrupt",
            StorageError::Conflict(_) => "conflict",
            StorageError::InvalidInput(_) => "invalid_input",
            StorageError::NotFound(_) => "not_found",
            StorageError::AlreadyExists(_) => "already_exists",
            StorageError::NotAllowed(_) => "not_allowed",
            StorageError::Locked(_) => "locked",
            StorageError::Poisoned => "poisoned",
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> Self {
        StorageError::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

impl From<ValueDecodeError> for StorageError {
    fn from(e: ValueDecodeError) -> Self {
        StorageError::corrupt("stored value", e)
    }
}

/// Result alias for the storage engine.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
