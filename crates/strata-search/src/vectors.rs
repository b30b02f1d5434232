//! The hidden per-scope vector index used by hybrid search: one normalised embedding
//! per document, searched by exact cosine scan. Vectors are in memory only and are
//! recomputed (lazily, at query time) after a reopen or a model change.

use crate::error::{Result, SearchError};
use crate::models::Embedder;
use std::collections::HashMap;
use std::hash::Hash;

/// Documents are embedded in batches of this many texts.
pub(crate) const EMBED_BATCH: usize = 32;

#[derive(Debug)]
pub(crate) struct VectorIndex<K> {
    /// The model generation the vectors came from.
    generation: u64,
    dim: Option<usize>,
    vectors: HashMap<K, Box<[f32]>>,
}

impl<K: Clone + Eq + Hash + Ord> VectorIndex<K> {
    pub(crate) fn new() -> Self {
        VectorIndex {
            generation: 0,
            dim: None,
            vectors: HashMap::new(),
        }
    }

    /// Forgets `key`'s vector (its text changed or it was removed).
    pub(crate) fn remove(&mut self, key: &K) {
        self.vectors.remove(key);
    }

    /// Embeds every document of `docs` that has no vector from model `generation` yet.
    /// Cost: one embedder call per [`EMBED_BATCH`] missing documents.
    pub(crate) fn ensure<'a>(
        &mut self,
        generation: u64,
        embedder: &dyn Embedder,
        docs: impl Iterator<Item = (&'a K, &'a str)>,
    ) -> Result<()>
    where
        K: 'a,
    {
        if generation != self.generation {
            self.vectors.clear();
            self.dim = None;
            self.generation = generation;
        }
        let missing: Vec<(&K, &str)> = docs
            .filter(|(k, _)| !self.vectors.contains_key(*k))
            .collect();
        for batch in missing.chunks(EMBED_BATCH) {
            let texts: Vec<String> = batch.iter().map(|(_, t)| (*t).to_owned()).collect();
            let vecs = embed_checked(embedder, &texts, &mut self.dim)?;
            for ((key, _), v) in batch.iter().zip(vecs) {
                self.vectors.insert((*key).clone(), v);
            }
        }
        Ok(())
    }

    /// The dimension of the stored vectors, once known.
    pub(crate) fn dim(&mut self) -> &mut Option<usize> {
        &mut self.dim
    }

    /// The `n` documents most similar to the normalised `query`, best first (ties:
    /// smaller key first), among those passing `filter`. Cost: one dot product per
    /// stored vector.
    pub(crate) fn search(
        &self,
        query: &[f32],
        n: usize,
        mut filter: impl FnMut(&K) -> bool,
    ) -> Vec<(K, f32)> {
        let mut scored: Vec<(&K, f32)> = self
            .vectors
            .iter()
            .filter(|(k, _)| filter(k))
            .map(|(k, v)| (k, dot(query, v)))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        scored.truncate(n);
        scored.into_iter().map(|(k, s)| (k.clone(), s)).collect()
    }
}

/// Calls the embedder and checks its answer: one vector per text, all of dimension
/// `dim` (fixed by the first answer), finite. Returns unit-length vectors.
pub(crate) fn embed_checked(
    embedder: &dyn Embedder,
    texts: &[String],
    dim: &mut Option<usize>,
) -> Result<Vec<Box<[f32]>>> {
    let fail = |detail: String| SearchError::Model {
        model: "embedder",
        detail,
    };
    let vecs = embedder.embed(texts).map_err(fail)?;
    if vecs.len() != texts.len() {
        return Err(fail(format!(
            "returned {} vectors for {} texts",
            vecs.len(),
            texts.len()
        )));
    }
    vecs.into_iter()
        .map(|mut v| {
            let want = *dim.get_or_insert(v.len());
            if v.len() != want || want == 0 {
                return Err(fail(format!(
                    "returned a vector of dimension {} (expected {want}, non-zero)",
                    v.len()
                )));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(fail("returned a non-finite component".into()));
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|x| *x /= norm);
            }
            Ok(v.into_boxed_slice())
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Axis;
    impl Embedder for Axis {
        fn embed(&self, texts: &[String]) -> std::result::Result<Vec<Vec<f32>>, String> {
            Ok(texts
                .iter()
                .map(|t| {
                    if t.starts_with('x') {
                        vec![2.0, 0.0]
                    } else {
                        vec![0.0, 3.0]
                    }
                })
                .collect())
        }
    }

    struct Broken;
    impl Embedder for Broken {
        fn embed(&self, texts: &[String]) -> std::result::Result<Vec<Vec<f32>>, String> {
            Ok(texts
                .iter()
                .enumerate()
                .map(|(i, _)| vec![1.0; i + 1])
                .collect())
        }
    }

    #[test]
    fn cosine_ranking_and_lazy_embedding() {
        let mut ix = VectorIndex::new();
        let docs = [(1u8, "xa"), (2, "yb"), (3, "xc")];
        ix.ensure(1, &Axis, docs.iter().map(|(k, t)| (k, *t)))
            .expect("embeds");
        let hits = ix.search(&[1.0, 0.0], 2, |_| true);
        assert_eq!(hits, vec![(1, 1.0), (3, 1.0)]);
        let hits = ix.search(&[0.0, 1.0], 5, |k| *k != 2);
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|h| h.1 == 0.0));
    }

    #[test]
    fn inconsistent_dimensions_are_a_model_error() {
        let mut ix = VectorIndex::new();
        let docs = [(1u8, "a"), (2, "b")];
        let err = ix
            .ensure(1, &Broken, docs.iter().map(|(k, t)| (k, *t)))
            .expect_err("dims");
        assert_eq!(err.code(), "model");
        assert!(err.to_string().contains("dimension 2 (expected 1"), "{err}");
    }
}
