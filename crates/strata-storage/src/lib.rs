//! # strata-storage
//!
//! StrataDB's storage engine: a versioned, transactional, branchable key-value engine on
//! [fjall](https://docs.rs/fjall). Every primitive (KV, state cells, events, JSON,
//! vectors) stores its data through the [`VersionedStore`] trait defined here.
#![doc = "See `ARCHITECTURE.md` at the repository root for the on-disk layout."]

mod error;
mod primitive;
mod store;
mod value;

pub use error::{Result, StorageError};
pub use primitive::{
    tags, CatalogEvent, ChangedKey, CommitObserver, CommittedChange, Primitive,
    PrimitiveRegistry,
};
pub use store::{
    BranchId, CommitVersion, HistoryEntry, PrimitiveTag, ScanPage, Scope, Timestamp,
    Versioned, VersionedStore,
};
pub use value::{Value, ValueDecodeError, MAX_NESTING, VALUE_FORMAT_VERSION};
