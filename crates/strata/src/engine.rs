//! [`Strata`]: one open database with every primitive and index attached.

use crate::error::{Error, Result};
use crate::session::Session;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};
use strata_search::{SearchConfig, SearchIndex};
use strata_storage::{Database, DatabaseOptions, Durability, PrimitiveRegistry};
use strata_vector::{IndexConfig, VectorIndexes, VectorStore};

/// Options for [`Strata::open`].
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Storage options (durability, cache size).
    pub storage: DatabaseOptions,
    /// Vector index tuning (HNSW threshold and parameters).
    pub vector: IndexConfig,
}

impl OpenOptions {
    /// Sets the commit durability.
    pub fn durability(mut self, d: Durability) -> Self {
        self.storage.durability = d;
        self
    }
}

pub(crate) struct Engine {
    pub db: Database,
    pub vectors: VectorStore,
    pub search: Arc<SearchIndex>,
    pub registry: PrimitiveRegistry,
}

/// An open StrataDB database with every primitive attached: KV, state cells, events,
/// JSON documents, vector collections and search. Cheap to clone; clones share one
/// engine. Use [`Strata::session`] to get a handle with its own current branch, space
/// and transaction.
#[derive(Clone)]
pub struct Strata {
    pub(crate) engine: Arc<Engine>,
}

impl std::fmt::Debug for Strata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Strata")
            .field("path", &self.engine.db.path())
            .finish()
    }
}

fn open_engines() -> &'static Mutex<HashMap<PathBuf, Weak<Engine>>> {
    static REG: OnceLock<Mutex<HashMap<PathBuf, Weak<Engine>>>> = OnceLock::new();
    REG.get_or_init(Default::default)
}

/// The subdirectory of a database where vector graph dumps are kept.
pub const VECTOR_DUMP_DIR: &str = "vector-index";

/// The subdirectory of a database where keyword-index dumps are kept.
pub const SEARCH_DUMP_DIR: &str = "search-index";

impl Strata {
    /// Opens (or creates) the database in directory `path`. The parent directory must
    /// exist. Opening a directory this process already has open returns the same
    /// engine; another process holding it gives a `locked` error. Cost: fast at any
    /// size (the catalog is read; indexes are built lazily on first use).
    pub fn open(path: impl AsRef<Path>, options: OpenOptions) -> Result<Strata> {
        let db = Database::open(path, options.storage.clone())?;
        let key = db.path().to_path_buf();
        let mut reg = open_engines().lock();
        if let Some(engine) = reg.get(&key).and_then(Weak::upgrade) {
            return Ok(Strata { engine });
        }
        let dump = Some(db.path().join(VECTOR_DUMP_DIR));
        let search_dump = Some(db.path().join(SEARCH_DUMP_DIR));
        let strata = Self::attach(db, options.vector, dump, search_dump)?;
        reg.insert(key, Arc::downgrade(&strata.engine));
        Ok(strata)
    }

    /// An ephemeral database in a temporary directory, removed when the last handle is
    /// dropped. Nothing is synced to disk.
    pub fn cache() -> Result<Strata> {
        let db = Database::open_temporary()?;
        Self::attach(db, IndexConfig::default(), None, None)
    }

    fn attach(
        db: Database,
        vector: IndexConfig,
        dump: Option<PathBuf>,
        search_dump: Option<PathBuf>,
    ) -> Result<Strata> {
        let indexes = VectorIndexes::attach(&db, vector, dump);
        let search = SearchIndex::attach_with_dumps(&db, SearchConfig::default(), search_dump);
        let mut registry = PrimitiveRegistry::new();
        registry.register(Box::new(strata_kv::KvPrimitive))?;
        registry.register(Box::new(strata_state::StatePrimitive))?;
        registry.register(Box::new(strata_events::EventsPrimitive))?;
        registry.register(Box::new(strata_json::JsonPrimitive))?;
        registry.register(Box::new(strata_vector::VectorPrimitive))?;
        Ok(Strata {
            engine: Arc::new(Engine {
                db,
                vectors: VectorStore::new(indexes),
                search,
                registry,
            }),
        })
    }

    /// A new session on the default branch and space, with no transaction.
    pub fn session(&self) -> Session {
        Session::new(self.clone())
    }

    /// The storage engine underneath.
    pub fn database(&self) -> &Database {
        &self.engine.db
    }

    /// The vector store (collections and their indexes).
    pub fn vectors(&self) -> &VectorStore {
        &self.engine.vectors
    }

    /// The search service.
    pub fn search_index(&self) -> &Arc<SearchIndex> {
        &self.engine.search
    }

    /// The registered primitives.
    pub fn primitives(&self) -> &PrimitiveRegistry {
        &self.engine.registry
    }

    /// Forces all data to disk, then writes vector graph dumps and keyword-index dumps
    /// (each only for indexes changed since their last dump), so the next open loads
    /// them instead of re-reading the data. Cost: a few syncs plus writing the changed
    /// indexes.
    pub fn flush(&self) -> Result<()> {
        self.engine.db.flush()?;
        self.engine
            .vectors
            .indexes()
            .persist()
            .map_err(Error::from)?;
        self.engine.search.persist(&self.engine.db)?;
        Ok(())
    }
}
