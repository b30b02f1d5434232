//! Text analysis: turning text into index terms.
//!
//! The pipeline is the `bm25` crate's `DefaultTokenizer`: Unicode normalisation to ASCII
//! (`é` → `e`), lower-casing, splitting on Unicode word boundaries (UAX #29, so
//! punctuation separates words), stop-word removal (NLTK lists) and Snowball stemming.
//! Terms are kept as strings and interned per index, so there are no hash collisions.

use bm25::{Language, Tokenizer};
use std::sync::Arc;

/// Turns text into search terms. Cheap to clone (shared inside).
///
/// Cost: roughly 1 µs per word (allocation, normalisation, stemming).
#[derive(Clone)]
pub struct Analyzer {
    tokenizer: Arc<bm25::DefaultTokenizer>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Analyzer({:?})", self.tokenizer)
    }
}

impl Default for Analyzer {
    /// English with stemming and stop words: see [`Analyzer::english`].
    fn default() -> Self {
        Analyzer::english()
    }
}

impl Analyzer {
    /// English analysis: normalisation, case folding, stop words, Snowball stemming.
    pub fn english() -> Self {
        Analyzer::new(Language::English, true, true)
    }

    /// Analysis for `language`, with stemming and stop-word removal switchable.
    /// Cost: builds the stop-word set (cached per language by `bm25`).
    pub fn new(language: Language, stemming: bool, stopwords: bool) -> Self {
        let tokenizer = bm25::DefaultTokenizer::builder()
            .language_mode(language)
            .normalization(true)
            .stemming(stemming)
            .stopwords(stopwords)
            .build();
        Analyzer {
            tokenizer: Arc::new(tokenizer),
        }
    }

    /// The terms of `text`, in order, duplicates kept.
    pub fn terms(&self, text: &str) -> Vec<String> {
        self.tokenizer.tokenize(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_splits_punctuation_and_stems() {
        let a = Analyzer::english();
        assert_eq!(
            a.terms("Deployment FAILURES: the deploy-failed!"),
            vec!["deploy", "failur", "deploy", "fail"]
        );
    }

    #[test]
    fn drops_stop_words_and_normalises_unicode() {
        let a = Analyzer::english();
        assert_eq!(a.terms("The café is on the corner"), vec!["cafe", "corner"]);
        assert!(a.terms("").is_empty());
        assert!(a.terms("the and of").is_empty());
    }

    #[test]
    fn options_switch_stemming_and_stop_words_off() {
        let a = Analyzer::new(Language::English, false, false);
        assert_eq!(a.terms("The Runners"), vec!["the", "runners"]);
    }
}
