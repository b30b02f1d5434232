//! The state-cell primitive's one error type.

use strata_storage::StorageError;

/// Everything a state-cell operation can fail with. A CAS whose version does not match
/// is **not** an error: it is [`crate::CasOutcome::Mismatch`].
///
/// [`StateError::code`] gives a stable machine-readable code for bindings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The cell name is empty, longer than [`crate::MAX_CELL_NAME_LEN`] bytes or
    /// contains a NUL.
    #[error("invalid cell name: {0}")]
    InvalidCellName(String),
    /// A stored cell name is not valid UTF-8 (written by something other than this
    /// crate).
    #[error("corrupt state data: {0}")]
    Corrupt(String),
    /// The storage engine failed (I/O, conflict, read-only transaction, ...).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl StateError {
    /// A stable, short machine-readable code: `"invalid_cell_name"`, `"corrupt"`, or
    /// the storage error's own [`StorageError::code`].
    pub fn code(&self) -> &'static str {
        match self {
            StateError::InvalidCellName(_) => "invalid_cell_name",
            StateError::Corrupt(_) => "corrupt",
            StateError::Storage(e) => e.code(),
        }
    }
}

/// Lets state calls use `?` inside [`strata_storage::Database::transact`] closures,
/// whose error type is [`StorageError`]. Name errors become
/// [`StorageError::InvalidInput`] and corruption [`StorageError::Corrupt`], so the
/// state-specific [`StateError::code`] is lost; validate with
/// [`crate::validate_cell_name`] first when the exact code matters.
impl From<StateError> for StorageError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::InvalidCellName(m) => {
                StorageError::InvalidInput(format!("invalid cell name: {m}"))
            }
            StateError::Corrupt(detail) => StorageError::Corrupt {
                what: "state cell name".into(),
                detail,
            },
            StateError::Storage(e) => e,
        }
    }
}

/// Result alias for state-cell operations.
pub type Result<T, E = StateError> = std::result::Result<T, E>;
