//! The event log's one error type.

use strata_storage::StorageError;

/// Everything an event-log operation can fail with. A broken hash chain is not an
/// error: [`crate::verify`] reports it in a [`crate::VerifyReport`].
///
/// [`EventError::code`] gives a stable machine-readable code for bindings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The event type is empty, longer than [`crate::MAX_EVENT_TYPE_LEN`] bytes or
    /// contains a NUL.
    #[error("invalid event type: {0}")]
    InvalidEventType(String),
    /// A stored event, index entry or log head does not have the documented shape
    /// (damaged, or written by something other than this crate).
    #[error("corrupt event log{}: {detail}", seq.map(|s| format!(" at sequence {s}")).unwrap_or_default())]
    Corrupt {
        /// The sequence number involved, if known.
        seq: Option<u64>,
        /// What was wrong.
        detail: String,
    },
    /// The storage engine failed (I/O, conflict, read-only transaction, ...).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl EventError {
    /// A stable, short machine-readable code: `"invalid_event_type"`, `"corrupt"`, or
    /// the storage error's own [`StorageError::code`].
    pub fn code(&self) -> &'static str {
        match self {
            EventError::InvalidEventType(_) => "invalid_event_type",
            EventError::Corrupt { .. } => "corrupt",
            EventError::Storage(e) => e.code(),
        }
    }

    pub(crate) fn corrupt(seq: Option<u64>, detail: impl Into<String>) -> Self {
        EventError::Corrupt {
            seq,
            detail: detail.into(),
        }
    }
}

/// Lets event calls use `?` inside [`strata_storage::Database::transact`] closures,
/// whose error type is [`StorageError`]. Type errors become
/// [`StorageError::InvalidInput`] and corruption [`StorageError::Corrupt`], so the
/// event-specific [`EventError::code`] is lost; validate with
/// [`crate::validate_event_type`] first when the exact code matters.
impl From<EventError> for StorageError {
    fn from(e: EventError) -> Self {
        match e {
            EventError::InvalidEventType(m) => {
                StorageError::InvalidInput(format!("invalid event type: {m}"))
            }
            e @ EventError::Corrupt { .. } => StorageError::Corrupt {
                what: "event log".into(),
                detail: e.to_string(),
            },
            EventError::Storage(e) => e,
        }
    }
}

/// Result alias for event-log operations.
pub type Result<T, E = EventError> = std::result::Result<T, E>;
