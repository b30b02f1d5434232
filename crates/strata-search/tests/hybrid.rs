//! Hybrid search, expansion and reranking with small deterministic models written
//! here (real functions standing in for ML models), on a real database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use strata_search::{
    Embedder, Expander, ModelConfig, Reranker, SearchHit, SearchIndex, SearchMode, SearchRequest,
};
use strata_storage::{tags, Database, Scope, Value, VersionedStore};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DIM: usize = 64;

/// Bag-of-hashed-words vectors where synonyms share a bucket: "car", "auto",
/// "automobile" and "vehicle" all count as "vehicle". Counts the texts it embeds.
#[derive(Default)]
struct HashedWords {
    embedded: AtomicUsize,
}

fn canonical(word: &str) -> &str {
    match word {
        "car" | "cars" | "auto" | "automobile" | "vehicle" => "vehicle",
        other => other,
    }
}

fn fnv(word: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % DIM as u64) as usize
}

impl Embedder for HashedWords {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        self.embedded.fetch_add(texts.len(), Ordering::SeqCst);
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0.0f32; DIM];
                for w in t.to_lowercase().split(|c: char| !c.is_alphanumeric()) {
                    if !w.is_empty() {
                        v[fnv(canonical(w))] += 1.0;
                    }
                }
                v
            })
            .collect())
    }
}

struct Failing;
impl Embedder for Failing {
    fn embed(&self, _: &[String]) -> Result<Vec<Vec<f32>>, String> {
        Err("model not loaded".into())
    }
}

/// Expands known abbreviations.
struct Abbreviations(HashMap<&'static str, &'static str>);
impl Expander for Abbreviations {
    fn expand(&self, q: &str) -> Result<Vec<String>, String> {
        Ok(q.split_whitespace()
            .filter_map(|w| self.0.get(w).map(|s| s.to_string()))
            .collect())
    }
}

/// Prefers short documents: score = -length.
struct Shortest;
impl Reranker for Shortest {
    fn rerank(&self, _: &str, docs: &[String]) -> Result<Vec<f32>, String> {
        Ok(docs.iter().map(|d| -(d.len() as f32)).collect())
    }
}

fn setup() -> Result<(Database, Arc<SearchIndex>, Scope), Box<dyn std::error::Error>> {
    let db = Database::open_temporary()?;
    let search = SearchIndex::attach(&db);
    let s = db.default_scope();
    db.transact(|t| {
        t.put(
            &s,
            tags::KV,
            b"car",
            Value::from("my car broke down on the highway"),
        )?;
        t.put(
            &s,
            tags::KV,
            b"bike",
            Value::from("the bicycle needs new tyres"),
        )?;
        t.put(
            &s,
            tags::KV,
            b"long",
            Value::from("highway maintenance crews repaint the highway lanes every spring"),
        )?;
        t.put(&s, tags::KV, b"short", Value::from("highway closed"))?;
        t.put(&s, tags::STATE, b"lunch", Value::from("pizza on friday"))
    })?;
    Ok((db, search, s))
}

fn entities(hits: &[SearchHit]) -> Vec<&str> {
    hits.iter().map(|h| h.entity.as_str()).collect()
}

#[test]
fn hybrid_finds_synonyms_that_keyword_search_misses() -> TestResult {
    let (db, search, s) = setup()?;
    let embedder = Arc::new(HashedWords::default());
    search.set_models(ModelConfig {
        embedder: Some(embedder.clone()),
        ..ModelConfig::default()
    });
    let keyword = search.search(
        &db,
        &s,
        &SearchRequest::new("automobile").mode(SearchMode::Keyword),
    )?;
    assert!(keyword.is_empty());
    let hybrid = search.search(&db, &s, &SearchRequest::new("automobile"))?;
    assert_eq!(entities(&hybrid), vec!["car"]);
    // RRF score of rank 1 in one list: 1 / (60 + 1).
    assert!((hybrid[0].score - 1.0 / 61.0).abs() < 1e-12);

    // A document in both rankings beats one found by a single ranking.
    let both = search.search(&db, &s, &SearchRequest::new("car highway"))?;
    assert_eq!(both[0].entity, "car", "{both:?}");
    Ok(())
}

#[test]
fn documents_are_embedded_lazily_once_and_again_after_changes() -> TestResult {
    let (db, search, s) = setup()?;
    let embedder = Arc::new(HashedWords::default());
    search.set_models(ModelConfig {
        embedder: Some(embedder.clone()),
        ..ModelConfig::default()
    });
    assert_eq!(
        embedder.embedded.load(Ordering::SeqCst),
        0,
        "nothing on configure"
    );
    search.search(&db, &s, &SearchRequest::new("highway"))?;
    assert_eq!(
        embedder.embedded.load(Ordering::SeqCst),
        5 + 1,
        "5 docs + the query"
    );
    search.search(&db, &s, &SearchRequest::new("highway"))?;
    assert_eq!(
        embedder.embedded.load(Ordering::SeqCst),
        7,
        "only the query"
    );
    db.transact(|t| {
        t.put(
            &s,
            tags::KV,
            b"bike",
            Value::from("the automobile is parked"),
        )
    })?;
    let hits = search.search(&db, &s, &SearchRequest::new("vehicle"))?;
    assert_eq!(
        embedder.embedded.load(Ordering::SeqCst),
        9,
        "changed doc + query"
    );
    let mut got = entities(&hits);
    got.sort();
    assert_eq!(got, vec!["bike", "car"]);
    // Keyword mode never calls the embedder.
    search.search(
        &db,
        &s,
        &SearchRequest::new("vehicle").mode(SearchMode::Keyword),
    )?;
    assert_eq!(embedder.embedded.load(Ordering::SeqCst), 9);
    // A new model re-embeds everything.
    let second = Arc::new(HashedWords::default());
    search.set_models(ModelConfig {
        embedder: Some(second.clone()),
        ..ModelConfig::default()
    });
    search.search(&db, &s, &SearchRequest::new("vehicle"))?;
    assert_eq!(second.embedded.load(Ordering::SeqCst), 6);
    Ok(())
}

#[test]
fn hybrid_without_an_embedder_is_keyword_search() -> TestResult {
    let (db, search, s) = setup()?;
    let hybrid = search.search(&db, &s, &SearchRequest::new("highway"))?;
    let keyword = search.search(
        &db,
        &s,
        &SearchRequest::new("highway").mode(SearchMode::Keyword),
    )?;
    assert_eq!(hybrid, keyword);
    assert_eq!(hybrid.len(), 3);
    Ok(())
}

#[test]
fn expansion_is_auto_off_or_skipped() -> TestResult {
    let (db, search, s) = setup()?;
    let q = || SearchRequest::new("auto").mode(SearchMode::Keyword);
    // Forcing expansion without an expander is silently skipped.
    assert!(search.search(&db, &s, &q().expand(Some(true)))?.is_empty());
    search.set_models(ModelConfig {
        expander: Some(Arc::new(Abbreviations(HashMap::from([("auto", "car")])))),
        ..ModelConfig::default()
    });
    let auto = search.search(&db, &s, &q())?;
    assert_eq!(entities(&auto), vec!["car"]);
    assert!(auto[0].snippet.contains("car"), "{}", auto[0].snippet);
    assert!(search.search(&db, &s, &q().expand(Some(false)))?.is_empty());
    Ok(())
}

#[test]
fn reranking_is_auto_off_or_skipped() -> TestResult {
    let (db, search, s) = setup()?;
    let q = || SearchRequest::new("highway").mode(SearchMode::Keyword);
    let plain = search.search(&db, &s, &q())?;
    assert_eq!(search.search(&db, &s, &q().rerank(Some(true)))?, plain);
    search.set_models(ModelConfig {
        reranker: Some(Arc::new(Shortest)),
        ..ModelConfig::default()
    });
    let reranked = search.search(&db, &s, &q())?;
    assert_eq!(entities(&reranked), vec!["short", "car", "long"]);
    assert_eq!(reranked[0].score, -("highway closed".len() as f64));
    assert_eq!(reranked[0].rank, 1);
    assert_eq!(search.search(&db, &s, &q().rerank(Some(false)))?, plain);
    Ok(())
}

#[test]
fn model_failures_are_reported() -> TestResult {
    let (db, search, s) = setup()?;
    search.set_models(ModelConfig {
        embedder: Some(Arc::new(Failing)),
        ..ModelConfig::default()
    });
    let err = search
        .search(&db, &s, &SearchRequest::new("highway"))
        .expect_err("embedder fails");
    assert_eq!(err.code(), "model");
    assert!(err.to_string().contains("model not loaded"), "{err}");
    // Keyword mode does not need the embedder.
    assert_eq!(
        search
            .search(
                &db,
                &s,
                &SearchRequest::new("highway").mode(SearchMode::Keyword)
            )?
            .len(),
        3
    );
    Ok(())
}
