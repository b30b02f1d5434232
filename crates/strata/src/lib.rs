//! # strata
//!
//! StrataDB's Rust facade: one [`Strata`] database with every primitive attached (KV,
//! state cells, event log, JSON documents, vector collections, search), and
//! [`Session`]s that carry a current branch, space and transaction — the same surface
//! the Python SDK exposes.
//!
//! A Rust program that wants only some primitives can use the primitive crates
//! directly on a [`strata_storage::Database`]; this crate composes all of them.
//!
//! ```
//! use strata::{Strata, Value};
//! let db = Strata::cache()?;
//! let s = db.session();
//! let put = s.kv_put("greeting", Value::from("hello"))?;
//! assert!(put.version.is_some());
//! assert_eq!(s.kv_get("greeting", None)?, Some(Value::from("hello")));
//! s.fork_branch(None, "experiment")?;
//! s.set_branch("experiment")?;
//! s.kv_put("greeting", Value::from("hola"))?;
//! s.set_branch("default")?;
//! assert_eq!(s.kv_get("greeting", None)?, Some(Value::from("hello")));
//! # Ok::<(), strata::Error>(())
//! ```

mod engine;
mod error;
mod session;

pub use engine::{OpenOptions, Strata, SEARCH_DUMP_DIR, VECTOR_DUMP_DIR};
pub use error::{Error, Result};
pub use session::{BranchDetails, DatabaseInfo, Session, TxnInfo, Written};

pub use strata_search::{SearchHit, SearchMode, SearchRequest};
pub use strata_storage::{
    BranchDiff, CommitVersion, DiffKind, Durability, EncodedValue, HistoryEntry, MergeStrategy,
    StoredValue, Timestamp, Value, ValueBuilder, ValueDecodeError, Versioned,
};
pub use strata_vector::{
    CollectionInfo, MetadataFilter, Metric, SearchMatch, VectorEntry, VectorInput,
};

/// The StrataDB version (the crate version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
