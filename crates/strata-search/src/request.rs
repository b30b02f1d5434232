//! The query API's request and result types.

use crate::error::{Result, SearchError};
use std::str::FromStr;
use strata_storage::Timestamp;

/// How results are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchMode {
    /// BM25 only.
    Keyword,
    /// BM25 fused with vector similarity (RRF). Falls back to keyword search when no
    /// embedder is configured. The default.
    #[default]
    Hybrid,
}

impl SearchMode {
    /// Parses `"keyword"` or `"hybrid"` (case-insensitive).
    pub fn parse(name: &str) -> Result<SearchMode> {
        match name.trim().to_ascii_lowercase().as_str() {
            "keyword" | "bm25" => Ok(SearchMode::Keyword),
            "hybrid" => Ok(SearchMode::Hybrid),
            _ => Err(SearchError::UnknownMode(name.to_owned())),
        }
    }

    /// `"keyword"` or `"hybrid"`.
    pub fn name(self) -> &'static str {
        match self {
            SearchMode::Keyword => "keyword",
            SearchMode::Hybrid => "hybrid",
        }
    }
}

impl FromStr for SearchMode {
    type Err = SearchError;
    fn from_str(s: &str) -> Result<Self> {
        SearchMode::parse(s)
    }
}

/// Default number of results.
pub const DEFAULT_K: usize = 10;

/// One search: what to look for and where.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// The query text (must contain at least one non-space character).
    pub query: String,
    /// Maximum number of results (default [`DEFAULT_K`], must be ≥ 1).
    pub k: usize,
    /// Primitive names to search (`"kv"`, `"state"`, `"event"`, `"json"`, `"vector"`;
    /// plural and long forms accepted); `None` searches all, an empty list nothing.
    pub primitives: Option<Vec<String>>,
    /// Only documents last written at a commit timestamp in `[start, end]` (µs,
    /// inclusive).
    pub time_range: Option<(Timestamp, Timestamp)>,
    /// Ranking mode.
    pub mode: SearchMode,
    /// Query expansion: `None` = on if an expander is configured, `Some(false)` = off,
    /// `Some(true)` = on (skipped silently if none is configured).
    pub expand: Option<bool>,
    /// Reranking, with the same three states as `expand`.
    pub rerank: Option<bool>,
}

impl SearchRequest {
    /// A request for `query` with every other field at its default.
    pub fn new(query: impl Into<String>) -> Self {
        SearchRequest {
            query: query.into(),
            k: DEFAULT_K,
            primitives: None,
            time_range: None,
            mode: SearchMode::default(),
            expand: None,
            rerank: None,
        }
    }

    /// Sets `k`.
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Sets the primitives to search.
    pub fn primitives<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.primitives = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the time range (µs since the epoch, inclusive).
    pub fn time_range(mut self, start: Timestamp, end: Timestamp) -> Self {
        self.time_range = Some((start, end));
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: SearchMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets query expansion on/off/auto.
    pub fn expand(mut self, expand: Option<bool>) -> Self {
        self.expand = expand;
        self
    }

    /// Sets reranking on/off/auto.
    pub fn rerank(mut self, rerank: Option<bool>) -> Self {
        self.rerank = rerank;
        self
    }
}

/// One result of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// What users address the record by: the key (KV, state, JSON), the event
    /// sequence number in decimal, or `collection/key` for a vector.
    pub entity: String,
    /// The primitive's name: `"kv"`, `"state"`, `"event"`, `"json"` or `"vector"`.
    pub primitive: String,
    /// Relevance, higher is better: BM25 for a plain keyword search, the RRF score when
    /// several rankings were fused, the reranker's score after reranking.
    pub score: f64,
    /// Position in the results, from 1.
    pub rank: usize,
    /// About 160 characters of the record's text around the matching words.
    pub snippet: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_reject_unknown_names() {
        assert_eq!(SearchMode::parse("Keyword").ok(), Some(SearchMode::Keyword));
        assert_eq!(
            "hybrid".parse::<SearchMode>().ok(),
            Some(SearchMode::Hybrid)
        );
        let err = SearchMode::parse("semantic").expect_err("unknown");
        assert!(
            err.to_string().contains("unknown search mode \"semantic\""),
            "{err}"
        );
    }

    #[test]
    fn defaults_match_the_spec() {
        let r = SearchRequest::new("q");
        assert_eq!(
            (r.k, r.mode, r.expand, r.rerank),
            (10, SearchMode::Hybrid, None, None)
        );
    }
}
