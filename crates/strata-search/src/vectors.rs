//! The hidden per-scope vector index used by hybrid search: one normalised embedding
//! per document, searched by exact cosine scan. Vectors are computed lazily at query
//! time, recomputed after a model change, and saved with the keyword dump.
//!
//! After a reopen the saved vectors are only *candidates*: the process may have
//! configured another model. The first hybrid query embeds up to [`PROBES`] of the
//! saved documents again with the configured model; if every fresh vector points the
//! same way as the saved one (cosine >= 1 - [`PROBE_TOLERANCE`]) and has the same
//! dimension, all saved vectors are reused, otherwise all are discarded and every
//! document is embedded again.

use crate::error::{Result, SearchError};
use crate::models::Embedder;
use std::collections::HashMap;
use std::hash::Hash;

/// Documents are embedded in batches of this many texts.
pub(crate) const EMBED_BATCH: usize = 32;

/// Saved documents embedded again to check that the configured model is the one that
/// made the saved vectors.
pub(crate) const PROBES: usize = 3;

/// How far a probe's cosine with its saved vector may fall below 1 (float noise of a
/// deterministic model run on another machine or batch size).
pub(crate) const PROBE_TOLERANCE: f32 = 1e-3;

/// Unit-length embeddings by document.
pub(crate) type Vectors<K> = HashMap<K, Box<[f32]>>;

/// Vectors read from a dump, not yet checked against the configured model.
#[derive(Debug)]
struct Restored<K> {
    dim: usize,
    vectors: HashMap<K, Box<[f32]>>,
}

#[derive(Debug)]
pub(crate) struct VectorIndex<K> {
    /// The model generation the vectors came from.
    generation: u64,
    dim: Option<usize>,
    vectors: HashMap<K, Box<[f32]>>,
    restored: Option<Restored<K>>,
}

impl<K: Clone + Eq + Hash + Ord> VectorIndex<K> {
    pub(crate) fn new() -> Self {
        VectorIndex {
            generation: 0,
            dim: None,
            vectors: HashMap::new(),
            restored: None,
        }
    }

    /// Forgets `key`'s vector (its text changed or it was removed).
    pub(crate) fn remove(&mut self, key: &K) {
        self.vectors.remove(key);
        if let Some(r) = &mut self.restored {
            r.vectors.remove(key);
        }
    }

    /// Keeps `vectors` (unit length, of dimension `dim`, read from a dump) as
    /// candidates checked by the next [`VectorIndex::ensure`].
    pub(crate) fn restore(&mut self, dim: usize, vectors: HashMap<K, Box<[f32]>>) {
        self.restored = (dim > 0 && !vectors.is_empty()).then_some(Restored { dim, vectors });
    }

    /// The vectors worth saving: the computed ones, or else the unchecked candidates
    /// (still valid for the next process if this one never ran a hybrid query).
    pub(crate) fn saved(&self) -> Option<(usize, &Vectors<K>)> {
        match (self.dim, &self.restored) {
            (Some(d), _) if !self.vectors.is_empty() => Some((d, &self.vectors)),
            (_, Some(r)) => Some((r.dim, &r.vectors)),
            _ => None,
        }
    }

    /// Embeds every document of `docs` that has no vector from model `generation` yet
    /// and returns how many it embedded (saved vectors adopted after a reopen do not
    /// count). Cost: one embedder call per [`EMBED_BATCH`] missing documents.
    pub(crate) fn ensure<'a>(
        &mut self,
        generation: u64,
        embedder: &dyn Embedder,
        docs: impl Iterator<Item = (&'a K, &'a str)>,
    ) -> Result<usize>
    where
        K: 'a,
    {
        if generation != self.generation {
            self.vectors.clear();
            self.dim = None;
            self.generation = generation;
        }
        let docs: Vec<(&K, &str)> = docs.collect();
        if let Some(r) = self.restored.take() {
            self.adopt_if_same_model(r, embedder, &docs)?;
        }
        let missing: Vec<(&K, &str)> = docs
            .into_iter()
            .filter(|(k, _)| !self.vectors.contains_key(*k))
            .collect();
        for batch in missing.chunks(EMBED_BATCH) {
            let texts: Vec<String> = batch.iter().map(|(_, t)| (*t).to_owned()).collect();
            let vecs = embed_checked(embedder, &texts, &mut self.dim)?;
            for ((key, _), v) in batch.iter().zip(vecs) {
                self.vectors.insert((*key).clone(), v);
            }
        }
        Ok(missing.len())
    }

    /// Adopts the saved vectors `r` if `embedder` reproduces them on up to [`PROBES`]
    /// documents. Cost: one embedder call of at most [`PROBES`] texts.
    fn adopt_if_same_model(
        &mut self,
        r: Restored<K>,
        embedder: &dyn Embedder,
        docs: &[(&K, &str)],
    ) -> Result<()> {
        if !self.vectors.is_empty() {
            return Ok(());
        }
        let probes: Vec<(&K, &str)> = docs
            .iter()
            .filter(|(k, _)| r.vectors.contains_key(*k))
            .take(PROBES)
            .copied()
            .collect();
        if probes.is_empty() {
            return Ok(());
        }
        let texts: Vec<String> = probes.iter().map(|(_, t)| (*t).to_owned()).collect();
        let mut dim = None;
        let fresh = embed_checked(embedder, &texts, &mut dim)?;
        let same = dim == Some(r.dim)
            && probes.iter().zip(&fresh).all(|((k, _), v)| {
                r.vectors
                    .get(*k)
                    .is_some_and(|old| dot(old, v) >= 1.0 - PROBE_TOLERANCE)
            });
        if same {
            self.dim = Some(r.dim);
            self.vectors = r.vectors;
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
