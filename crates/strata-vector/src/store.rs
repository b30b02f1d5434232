//! [`VectorStore`]: vector collections on the versioned store.
//!
//! Writes go through any [`VersionedStore`] (usually a [`Transaction`]) and become
//! visible to searches when that transaction commits. Searches need the concrete
//! [`Transaction`] to know its snapshot and whether it holds uncommitted writes.

use crate::error::{Result, VectorError};
use crate::filter::MetadataFilter;
use crate::index::{check_vector, IndexType, SearchMatch};
use crate::keys::{self, CollectionConfig, ParsedKey, MAX_DIMENSION};
use crate::manager::{exact_index, to_records, VectorIndexes};
use crate::metric::Metric;
use std::sync::Arc;
use strata_storage::{
    now_micros, tags, validate_name, CommitVersion, PrimitiveTag, Scope, Timestamp, Transaction,
    Value, VersionedStore,
};

/// A collection's description, as listed by [`VectorStore::list_collections`].
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionInfo {
    /// Collection name.
    pub name: String,
    /// Vector dimension.
    pub dimension: usize,
    /// Similarity metric.
    pub metric: Metric,
    /// Number of vectors.
    pub count: usize,
    /// How searches run: flat (exact) or HNSW.
    pub index_type: IndexType,
    /// Estimated heap memory of the in-memory index (see
    /// [`crate::VectorIndex::memory_bytes`]).
    pub memory_bytes: usize,
    /// When the collection was created (µs since epoch).
    pub created: Timestamp,
}

/// A stored vector, as returned by [`VectorStore::get`].
#[derive(Debug, Clone, PartialEq)]
pub struct VectorEntry {
    /// The key.
    pub key: String,
    /// The embedding as given to `upsert`.
    pub embedding: Vec<f32>,
    /// The metadata object, if any.
    pub metadata: Option<Value>,
    /// The commit that wrote it (0 if written by the current, uncommitted transaction).
    pub version: CommitVersion,
    /// The commit timestamp in µs (0 if uncommitted).
    pub timestamp: Timestamp,
}

/// One item of [`VectorStore::batch_upsert`].
#[derive(Debug, Clone, PartialEq)]
pub struct VectorInput {
    /// The key.
    pub key: String,
    /// The embedding.
    pub vector: Vec<f32>,
    /// Optional metadata object.
    pub metadata: Option<Value>,
}

/// The vector primitive: collections, vectors and search, over a [`VersionedStore`]
/// with tag [`tags::VECTOR`]. Cheap to clone (an `Arc` to the shared indexes).
#[derive(Debug, Clone)]
pub struct VectorStore {
    indexes: Arc<VectorIndexes>,
}

fn validate_collection(name: &str) -> Result<()> {
    validate_name("collection", name).map_err(|e| VectorError::InvalidInput(e.to_string()))
}

fn validate_metadata(metadata: Option<Value>) -> Result<Option<Value>> {
    match metadata {
        None | Some(Value::Null) => Ok(None),
        Some(m @ Value::Object(_)) => Ok(Some(m)),
        Some(other) => Err(VectorError::InvalidInput(format!(
            "metadata must be an object (dict) or None, got {}",
            other.type_name()
        ))),
    }
}

fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(VectorError::InvalidInput(
            "vector key must not be empty".into(),
        ));
    }
    Ok(())
}

impl VectorStore {
    /// A store whose searches use `indexes` (see [`VectorIndexes::attach`]).
    pub fn new(indexes: Arc<VectorIndexes>) -> Self {
        VectorStore { indexes }
    }

    /// The shared index manager.
    pub fn indexes(&self) -> &Arc<VectorIndexes> {
        &self.indexes
    }

    fn config(
        &self,
        store: &impl VersionedStore,
        scope: &Scope,
        collection: &str,
    ) -> Result<CollectionConfig> {
        match store.get(scope, tags::VECTOR, &keys::config_key(collection))? {
            Some(v) => CollectionConfig::decode(collection, &v.value),
            None => Err(VectorError::CollectionNotFound(collection.to_owned())),
        }
    }

    /// Creates a collection. Fails if the name is taken, invalid, or `dimension` is 0
    /// or above [`MAX_DIMENSION`]. Cost: one read, one write.
    pub fn create_collection(
        &self,
        store: &mut impl VersionedStore,
        scope: &Scope,
        name: &str,
        dimension: usize,
        metric: Metric,
    ) -> Result<()> {
        validate_collection(name)?;
        if dimension == 0 || dimension > MAX_DIMENSION {
            return Err(VectorError::InvalidInput(format!(
                "dimension must be between 1 and {MAX_DIMENSION}, got {dimension}"
            )));
        }
        let key = keys::config_key(name);
        if store.get(scope, tags::VECTOR, &key)?.is_some() {
            return Err(VectorError::CollectionExists(name.to_owned()));
        }
        let cfg = CollectionConfig {
            dimension,
            metric,
            created: now_micros(),
        };
        store.put(scope, tags::VECTOR, &key, cfg.encode())?;
        Ok(())
    }

    /// Deletes a collection and all its vectors (history stays readable through
    /// time travel). Returns `false` if it did not exist. Its index and dump are
    /// dropped when the transaction commits. Cost: a scan and a tombstone per vector.
    pub fn delete_collection(
        &self,
        store: &mut impl VersionedStore,
        scope: &Scope,
        name: &str,
    ) -> Result<bool> {
        let key = keys::config_key(name);
        if store.get(scope, tags::VECTOR, &key)?.is_none() {
            return Ok(false);
        }
        let prefix = keys::vector_prefix(name);
        let page = store.scan(scope, tags::VECTOR, &prefix, None, None)?;
        for (k, _) in page.entries {
            store.delete(scope, tags::VECTOR, &k)?;
        }
        store.delete(scope, tags::VECTOR, &key)?;
        Ok(true)
    }

    /// All collections in `scope`, by name, with their statistics. Builds each
    /// collection's index if needed (see [`VectorStore::collection_stats`]).
    pub fn list_collections(&self, tx: &Transaction, scope: &Scope) -> Result<Vec<CollectionInfo>> {
        let page = tx.scan(scope, tags::VECTOR, keys::config_prefix(), None, None)?;
        let mut out = Vec::with_capacity(page.entries.len());
        for (raw, v) in page.entries {
            let Some(ParsedKey::Config(name)) = keys::parse_key(&raw) else {
                continue;
            };
            let cfg = CollectionConfig::decode(name, &v.value)?;
            out.push(self.stats_of(tx, scope, name, &cfg)?);
        }
        Ok(out)
    }

    /// Statistics of one collection. Builds its in-memory index on first use (a scan
    /// of the collection, plus an HNSW build or dump load when it is large).
    pub fn collection_stats(
        &self,
        tx: &Transaction,
        scope: &Scope,
        name: &str,
    ) -> Result<CollectionInfo> {
        let cfg = self.config(tx, scope, name)?;
        self.stats_of(tx, scope, name, &cfg)
    }

    fn stats_of(
        &self,
        tx: &Transaction,
        scope: &Scope,
        name: &str,
        cfg: &CollectionConfig,
    ) -> Result<CollectionInfo> {
        self.indexes.with_index(tx, scope, name, cfg, |index| {
            Ok(CollectionInfo {
                name: name.to_owned(),
                dimension: cfg.dimension,
                metric: cfg.metric,
                count: index.len(),
                index_type: index.index_type(),
                memory_bytes: index.memory_bytes(),
                created: cfg.created,
            })
        })
    }

    /// Inserts or replaces the vector `key`. Validates everything before writing:
    /// the collection exists, the dimension matches, components are finite, the
    /// vector is not empty (nor all zeros for cosine), `metadata` is an object.
    /// Cost: one read, one write of `4 * dim` bytes plus metadata.
    pub fn upsert(
        &self,
        store: &mut impl VersionedStore,
        scope: &Scope,
        collection: &str,
        key: &str,
        vector: &[f32],
        metadata: Option<Value>,
    ) -> Result<()> {
        let cfg = self.config(store, scope, collection)?;
        validate_key(key)?;
        check_vector(collection, cfg.dimension, cfg.metric, vector, "vector")?;
        let metadata = validate_metadata(metadata)?;
        store.put(
            scope,
            tags::VECTOR,
            &keys::vector_key(collection, key),
            keys::encode_record(vector, metadata),
        )?;
        Ok(())
    }

    /// Upserts many vectors in the caller's transaction (so they commit together).
    /// All items are validated first; on any error nothing is written. Error
    /// messages name the failing item's position and key.
    pub fn batch_upsert(
        &self,
        store: &mut impl VersionedStore,
        scope: &Scope,
        collection: &str,
        items: Vec<VectorInput>,
    ) -> Result<usize> {
        let cfg = self.config(store, scope, collection)?;
        let mut records = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let checked = validate_key(&item.key)
                .and_then(|_| {
                    check_vector(
                        collection,
                        cfg.dimension,
                        cfg.metric,
                        &item.vector,
                        "vector",
                    )
                })
                .and_then(|_| validate_metadata(item.metadata));
            let metadata = checked.map_err(|e| match e {
                VectorError::InvalidInput(m) => {
                    VectorError::InvalidInput(format!("item {i} ({:?}): {m}", item.key))
                }
                other => other,
            })?;
            records.push((
                keys::vector_key(collection, &item.key),
                keys::encode_record(&item.vector, metadata),
            ));
        }
        let n = records.len();
        for (k, v) in records {
            store.put(scope, tags::VECTOR, &k, v)?;
        }
        Ok(n)
    }

    /// The vector `key`, or `None`. Fails if the collection does not exist.
    /// Cost: two point reads and a decode.
    pub fn get(
        &self,
        store: &impl VersionedStore,
        scope: &Scope,
        collection: &str,
        key: &str,
    ) -> Result<Option<VectorEntry>> {
        self.config(store, scope, collection)?;
        let Some(v) = store.get(scope, tags::VECTOR, &keys::vector_key(collection, key))? else {
            return Ok(None);
        };
        let (embedding, metadata) = keys::decode_record(key, &v.value)?;
        Ok(Some(VectorEntry {
            key: key.to_owned(),
            embedding,
            metadata,
            version: v.version,
            timestamp: v.timestamp,
        }))
    }

    /// Deletes the vector `key`; returns whether it existed. Fails if the collection
    /// does not exist. Cost: one read, one tombstone.
    pub fn delete(
        &self,
        store: &mut impl VersionedStore,
        scope: &Scope,
        collection: &str,
        key: &str,
    ) -> Result<bool> {
        self.config(store, scope, collection)?;
        Ok(store.delete(scope, tags::VECTOR, &keys::vector_key(collection, key))?)
    }

    /// The `k` vectors most similar to `query` (best first) whose metadata matches
    /// `filter`, scored with `metric` (default: the collection's).
    ///
    /// Runs on the shared in-memory index at `tx`'s snapshot: exact for collections
    /// below the HNSW threshold, for selective filters and for a metric override;
    /// HNSW otherwise. If `tx` holds uncommitted writes (of any primitive), the search
    /// instead scans `tx`'s own view exactly, so it sees those writes (cost
    /// O(collection size)).
    #[allow(clippy::too_many_arguments)]
    pub fn search(
        &self,
        tx: &Transaction,
        scope: &Scope,
        collection: &str,
        query: &[f32],
        k: usize,
        filter: Option<&MetadataFilter>,
        metric: Option<Metric>,
    ) -> Result<Vec<SearchMatch>> {
        let cfg = self.config(tx, scope, collection)?;
        let metric = metric.unwrap_or(cfg.metric);
        check_vector(collection, cfg.dimension, metric, query, "query")?;
        self.indexes
            .with_index(tx, scope, collection, &cfg, |index| {
                index.search_with_metric(query, k, filter, metric)
            })
    }

    /// Like [`VectorStore::search`], over the collection as it was at commit
    /// timestamp `ts` (µs). Always an exact scan of the snapshot returned by
    /// [`VersionedStore::scan_as_of`] (no index exists for past states): cost
    /// O(versions under the collection). Fails if the collection did not exist at `ts`.
    #[allow(clippy::too_many_arguments)]
    pub fn search_as_of(
        &self,
        store: &impl VersionedStore,
        scope: &Scope,
        collection: &str,
        query: &[f32],
        k: usize,
        filter: Option<&MetadataFilter>,
        metric: Option<Metric>,
        ts: Timestamp,
    ) -> Result<Vec<SearchMatch>> {
        let cfg = match store.get_as_of(scope, tags::VECTOR, &keys::config_key(collection), ts)? {
            Some(v) => CollectionConfig::decode(collection, &v.value)?,
            None => return Err(VectorError::CollectionNotFound(collection.to_owned())),
        };
        let metric = metric.unwrap_or(cfg.metric);
        check_vector(collection, cfg.dimension, metric, query, "query")?;
        let prefix = keys::vector_prefix(collection);
        let entries = store.scan_as_of(scope, tags::VECTOR, &prefix, ts)?;
        let index = exact_index(collection, &cfg, to_records(&prefix, entries)?)?;
        index.search_exact(query, k, filter, metric)
    }
}

/// Registers the vector primitive's tag and renders its keys for diffs:
/// `collection` for a config record, `collection/key` for a vector.
#[derive(Debug, Clone, Copy, Default)]
pub struct VectorPrimitive;

impl strata_storage::Primitive for VectorPrimitive {
    fn name(&self) -> &'static str {
        "vector"
    }

    fn tag(&self) -> PrimitiveTag {
        tags::VECTOR
    }

    fn display_key(&self, key: &[u8]) -> Option<String> {
        match keys::parse_key(key)? {
            ParsedKey::Config(c) => Some(c.to_owned()),
            ParsedKey::Vector { collection, key } => Some(format!("{collection}/{key}")),
        }
    }
}
