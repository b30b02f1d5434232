//! tmp
mod dump;
mod error;
mod filter;
mod graph;
mod index;
mod kernels;
mod keys;
mod manager;
mod metric;
mod store;
mod topk;

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
