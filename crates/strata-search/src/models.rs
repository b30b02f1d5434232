//! Extension points for model-backed search: embedding, query expansion, reranking.
//!
//! Models live outside the engine (the Python layer plugs them in). They are called
//! only at query time, never on the commit path.

use std::fmt;
use std::sync::Arc;

/// Turns texts into dense vectors. All vectors from one embedder must have the same
/// dimension. Called in batches at query time for documents not embedded yet, and once
/// per query.
pub trait Embedder: Send + Sync {
    /// One vector per text, in order.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String>;
}

/// Rewrites a query into extra queries (synonyms, paraphrases). The original query is
/// always searched as well.
pub trait Expander: Send + Sync {
    /// Alternative phrasings of `query`.
    fn expand(&self, query: &str) -> Result<Vec<String>, String>;
}

/// Scores candidate documents against a query; higher is more relevant.
pub trait Reranker: Send + Sync {
    /// One score per document, in order.
    fn rerank(&self, query: &str, docs: &[String]) -> Result<Vec<f32>, String>;
}

/// The models a [`crate::SearchIndex`] uses; every one is optional.
#[derive(Clone, Default)]
pub struct ModelConfig {
    /// Enables hybrid search (BM25 + vectors fused with RRF).
    pub embedder: Option<Arc<dyn Embedder>>,
    /// Enables query expansion.
    pub expander: Option<Arc<dyn Expander>>,
    /// Enables reranking of the fused candidates.
    pub reranker: Option<Arc<dyn Reranker>>,
}

impl fmt::Debug for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelConfig")
            .field("embedder", &self.embedder.is_some())
            .field("expander", &self.expander.is_some())
            .field("reranker", &self.reranker.is_some())
            .finish()
    }
}
