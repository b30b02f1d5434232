//! The KV primitive's one error type.

use strata_storage::StorageError;

/// Everything a KV operation can fail with.
///
/// [`KvError::code`] gives a stable machine-readable code for bindings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KvError {
    /// The key is empty, longer than [`crate::MAX_KEY_LEN`] bytes or contains a NUL.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// An argument other than the key is out of range (for example a page limit of 0).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A stored key is not valid UTF-8 (written by something other than this crate).
    #[error("corrupt KV data: {0}")]
    Corrupt(String),
    /// The storage engine failed (I/O, conflict, read-only transaction, ...).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl KvError {
    /// A stable, short machine-readable code: `"invalid_key"`, `"invalid_argument"`,
    /// `"corrupt"`, or the storage error's own [`StorageError::code`].
    pub fn code(&self) -> &'static str {
        match self {
            KvError::InvalidKey(_) => "invalid_key",
            KvError::InvalidArgument(_) => "invalid_argument",
            KvError::Corrupt(_) => "corrupt",
            KvError::Storage(e) => e.code(),
        }
    }
}

/// Lets KV calls use `?` inside [`strata_storage::Database::transact`] closures, whose
/// error type is [`StorageError`]. Key and argument errors become
/// [`StorageError::InvalidInput`] and corruption becomes [`StorageError::Corrupt`], so
/// the KV-specific [`KvError::code`] is lost; validate with [`crate::validate_key`]
/// first when the exact code matters.
impl From<KvError> for StorageError {
    fn from(e: KvError) -> Self {
        match e {
            KvError::InvalidKey(m) => StorageError::InvalidInput(format!("invalid key: {m}")),
            KvError::InvalidArgument(m) => StorageError::InvalidInput(m),
            KvError::Corrupt(detail) => StorageError::Corrupt {
                what: "KV key".into(),
                detail,
            },
            KvError::Storage(e) => e,
        }
    }
}

/// Result alias for KV operations.
pub type Result<T, E = KvError> = std::result::Result<T, E>;
