//! # strata-search
//!
//! Cross-primitive search for StrataDB: `db.search("deployment failures", k=10)` finds
//! KV pairs, state cells, events and JSON documents whose text matches, ranked by
//! BM25, optionally fused with vector similarity (hybrid search), expanded and
//! reranked by pluggable models.
//!
//! - [`KeywordIndex`]: an incremental in-memory inverted index. BM25 with
//!   k1 = 0.9 and b = 0.4 ([`Bm25Config`]), exact idf and avgdl that follow inserts and
//!   deletes, MaxScore top-k pruning, and snippets around the matching words.
//! - [`Analyzer`]: the `bm25` crate's tokenizer (Unicode normalisation, case folding,
//!   word-boundary splitting, English stop words, Snowball stemming).
//! - [`SearchIndex`]: the service. It observes commits ([`strata_storage::CommitObserver`]),
//!   keeps one index per (branch, space), loaded lazily on the first query and kept
//!   fresh from committed changes; answers [`SearchRequest`]s with [`SearchHit`]s.
//!   With a dump directory it saves each index to a file on flush and close, and a
//!   reopened database loads the file and re-reads only the keys written since
//!   (from the storage change log) instead of every record ([`LoadReport`]).
//! - Hybrid search: an [`Embedder`] (plus optional [`Expander`] and [`Reranker`]) set
//!   through [`ModelConfig`]; rankings are fused with [`reciprocal_rank_fusion`]
//!   (k = 60). Without an embedder, hybrid mode is keyword search.
//! - [`parse_iso8601`] turns the Python API's time-range strings into timestamps.
//!
//! What each primitive contributes: KV and state values' strings and numbers, JSON
//! `field: value` lines, event type and payload, vector metadata `field: value` lines
//! (see [`SearchPrimitive`]).
//!
//! It is not: the source of truth (dumps are caches, checked and rebuilt from the
//! store whenever in doubt), a phrase or boolean query engine, or a place where models
//! run on the commit path.
//!
//! ```
//! use strata_search::{SearchIndex, SearchMode, SearchRequest};
//! use strata_storage::{tags, Database, Value, VersionedStore};
//!
//! let db = Database::open_temporary()?;
//! let search = SearchIndex::attach(&db);
//! let scope = db.default_scope();
//! db.transact(|t| {
//!     t.put(&scope, tags::STATE, b"deploy-status", Value::from("rollout failed: image missing"))?;
//!     t.put(&scope, tags::KV, b"motd", Value::from("welcome back"))
//! })?;
//!
//! let req = SearchRequest::new("failed rollouts").mode(SearchMode::Keyword).primitives(["state"]);
//! let hits = search.search(&db, &scope, &req)?;
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].entity, "deploy-status");
//! assert!(hits[0].snippet.contains("rollout failed"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod analyzer;
mod codec;
mod error;
mod extract;
mod fusion;
mod keyword;
mod models;
mod persist;
mod request;
mod service;
mod snippet;
mod time;
mod vectors;

pub use analyzer::Analyzer;
pub use bm25::Language;
pub use error::{Result, SearchError};
pub use extract::SearchPrimitive;
pub use fusion::{reciprocal_rank_fusion, DEFAULT_RRF_K};
pub use keyword::{Bm25Config, KeywordHit, KeywordIndex};
pub use models::{Embedder, Expander, ModelConfig, Reranker};
pub use request::{SearchHit, SearchMode, SearchRequest, DEFAULT_K};
pub use service::{LoadReport, LoadSource, SearchConfig, SearchIndex};
pub use time::parse_iso8601;
