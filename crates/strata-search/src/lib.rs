//! # strata-search
mod analyzer;
mod error;
mod keyword;
mod snippet;

pub use analyzer::Analyzer;
pub use error::{Result, SearchError};
pub use keyword::{Bm25Config, KeywordHit, KeywordIndex};
