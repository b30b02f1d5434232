//! # strata-vector
//!
//! StrataDB's vector store: named collections of fixed-dimension `f32` embeddings
//! with optional metadata, stored in the versioned engine (so they are transactional,
//! branchable and time-travelable) and searched through in-memory indexes.
//!
//! - **Metrics** ([`Metric`]): `cosine` (default), `euclidean` (score = minus the
//!   distance), `dot_product`. Scores are always "higher is better".
//! - **Search**: exact scan with SIMD kernels below [`DEFAULT_HNSW_THRESHOLD`]
//!   vectors, an HNSW graph above it: our builder inserts on all cores (a lock per
//!   point), and searches walk a flat copy of its neighbour lists (plain `u32` rows,
//!   a reused visited array, no locks).
//!   Updates and deletes are tombstones walked through but never returned; the graph
//!   is rebuilt when tombstones pass 20% so recall does not decay.
//! - **Filters** ([`MetadataFilter`]): `eq, ne, gt, gte, lt, lte, in, contains` on
//!   metadata fields, AND-combined, applied inside the graph traversal; selective
//!   filters switch to an exact scan of the matches.
//! - **Consistency**: [`VectorIndexes`] observes commits, so a committed write is
//!   visible to the next search; indexes are built lazily from the store and HNSW
//!   graphs are dumped to disk stamped with per-record versions, so stale dumps are
//!   detected and patched or rebuilt. A reopen reads the flat graph only; the
//!   builder's lists are rebuilt from it when the collection next grows.
//! - **Time travel**: [`VectorStore::search_as_of`] scans the historical snapshot
//!   exactly.
//!
//! It is not: a quantised or on-disk ANN index (everything searched is in memory),
//! nor a max-inner-product index with guarantees (HNSW over `dot_product` is a plain
//! inner-product graph), nor an embedder.
//!
//! # Example
//!
//! ```
//! use strata_storage::Database;
//! use strata_vector::{IndexConfig, Metric, MetadataFilter, VectorIndexes, VectorStore};
//! use strata_storage::Value;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let db = Database::open_temporary()?;
//! let vectors = VectorStore::new(VectorIndexes::attach(&db, IndexConfig::default(), None));
//! let scope = db.default_scope();
//!
//! let mut tx = db.begin(false);
//! vectors.create_collection(&mut tx, &scope, "docs", 3, Metric::Cosine)?;
//! let meta: Value = serde_json::json!({"lang": "en"}).into();
//! vectors.upsert(&mut tx, &scope, "docs", "a", &[1.0, 0.0, 0.0], Some(meta))?;
//! vectors.upsert(&mut tx, &scope, "docs", "b", &[0.0, 1.0, 0.0], None)?;
//! tx.commit()?;
//!
//! let hits = vectors.search(&db.read(), &scope, "docs", &[0.9, 0.1, 0.0], 2, None, None)?;
//! assert_eq!(hits[0].key, "a");
//!
//! let filter = MetadataFilter::parse(
//!     &serde_json::json!([{"field": "lang", "op": "eq", "value": "en"}]).into(),
//! )?;
//! let hits = vectors.search(&db.read(), &scope, "docs", &[0.0, 1.0, 0.0], 2, Some(&filter), None)?;
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].key, "a");
//! # Ok(())
//! # }
//! ```
//!
//! The pure index layer ([`VectorIndex`]) can be used without a database.

mod dump;
mod error;
mod filter;
mod flat;
mod framing;
mod graph;
mod half;
mod huge;
mod index;
mod kernels;
mod keys;
mod manager;
mod metric;
mod store;
mod topk;
mod unit;

pub use error::{Result, VectorError};
pub use filter::{FilterCondition, FilterOp, MetadataFilter};
pub use graph::HnswParams;
pub use index::{
    DumpStatus, IndexConfig, IndexRecord, IndexType, SearchMatch, VectorIndex,
    DEFAULT_HNSW_THRESHOLD,
};
pub use keys::MAX_DIMENSION;
pub use manager::VectorIndexes;
pub use metric::Metric;
pub use store::{CollectionInfo, VectorEntry, VectorInput, VectorPrimitive, VectorStore};
