//! The pure index layer: exact search, HNSW under churn, filters, dumps.

mod common;

use common::{clustered, mixture, recall, Rng};
use indexmap::IndexMap;
use strata_storage::Value;
use strata_vector::{
    DumpStatus, HnswParams, IndexConfig, IndexRecord, IndexType, MetadataFilter, Metric,
    VectorIndex,
};

type R = Result<(), Box<dyn std::error::Error>>;

/// Debug builds are slower (the HNSW builder is optimised even in tests, the rest is not),
/// so debug runs use a quarter of the data; `cargo test --release` runs full size.
const SCALE: usize = if cfg!(debug_assertions) { 4 } else { 1 };

/// HNSW from a few hundred vectors, with build parameters small enough for tests.
fn small_hnsw() -> IndexConfig {
    IndexConfig {
        hnsw_threshold: 500 / SCALE,
        hnsw: HnswParams {
            m: 12,
            ef_construction: 64,
            ef_search: 64,
        },
        ..IndexConfig::default()
    }
}

fn meta(group: i64) -> Value {
    let mut o = IndexMap::new();
    o.insert("group".to_owned(), Value::Int(group));
    Value::Object(o)
}

fn naive_top(
    vectors: &[(String, Vec<f32>)],
    q: &[f32],
    k: usize,
    metric: Metric,
) -> Vec<(String, f64)> {
    let score = |v: &[f32]| -> f64 {
        let dot: f64 = v
            .iter()
            .zip(q)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        let nv: f64 = v.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
        let nq: f64 = q.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
        let l2: f64 = v
            .iter()
            .zip(q)
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
            .sum::<f64>()
            .sqrt();
        match metric {
            Metric::Cosine => dot / (nv * nq),
            Metric::Euclidean => -l2,
            Metric::DotProduct => dot,
        }
    };
    let mut all: Vec<(String, f64)> = vectors.iter().map(|(k, v)| (k.clone(), score(v))).collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1));
    all.truncate(k);
    all
}

#[test]
fn exact_search_matches_naive_for_every_metric() -> R {
    let mut rng = Rng(1);
    for metric in [Metric::Cosine, Metric::Euclidean, Metric::DotProduct] {
        let mut index = VectorIndex::new("t", 19, metric, IndexConfig::default())?;
        let vectors: Vec<(String, Vec<f32>)> = (0..300)
            .map(|i| (format!("k{i}"), rng.vector(19)))
            .collect();
        for (k, v) in &vectors {
            index.upsert(k, v, None, 0)?;
        }
        assert_eq!(index.index_type(), IndexType::Flat);
        for _ in 0..5 {
            let q = rng.vector(19);
            let got = index.search(&q, 7, None)?;
            let want = naive_top(&vectors, &q, 7, metric);
            assert_eq!(got.len(), 7);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (f64::from(g.score) - w.1).abs() < 1e-4,
                    "{metric}: {g:?} vs {w:?}"
                );
            }
            // Keys agree except where scores tie within rounding.
            assert_eq!(got[0].key, want[0].0, "{metric}");
        }
    }
    Ok(())
}

#[test]
fn euclidean_score_is_negative_distance_and_updates_replace() -> R {
    let mut index = VectorIndex::new("t", 2, Metric::Euclidean, IndexConfig::default())?;
    index.upsert("a", &[3.0, 4.0], None, 0)?;
    index.upsert("b", &[1.0, 0.0], None, 0)?;
    let hits = index.search(&[0.0, 0.0], 5, None)?;
    assert_eq!(hits[0].key, "b");
    assert_eq!(hits[0].score, -1.0);
    assert_eq!(hits[1].score, -5.0);
    index.upsert("a", &[0.0, 0.5], None, 0)?;
    let hits = index.search(&[0.0, 0.0], 5, None)?;
    assert_eq!((hits[0].key.as_str(), hits[0].score), ("a", -0.5));
    assert_eq!(hits.len(), 2);
    // Deleting from the middle moves the last vector; both stay findable.
    index.upsert("c", &[9.0, 9.0], None, 0)?;
    assert!(index.remove("a"));
    assert!(!index.remove("a"));
    let keys: Vec<String> = index
        .search(&[9.0, 9.0], 5, None)?
        .into_iter()
        .map(|h| h.key)
        .collect();
    assert_eq!(keys, ["c", "b"]);
    // Metric override on the same data.
    let dot = index.search_with_metric(&[1.0, 1.0], 1, None, Metric::DotProduct)?;
    assert_eq!((dot[0].key.as_str(), dot[0].score), ("c", 18.0));
    Ok(())
}

#[test]
fn invalid_vectors_are_rejected_with_clear_messages() -> R {
    let mut index = VectorIndex::new("docs", 3, Metric::Cosine, IndexConfig::default())?;
    let err = |r: strata_vector::Result<()>| r.err().map(|e| e.to_string()).unwrap_or_default();
    let e = err(index.upsert("a", &[1.0, 2.0], None, 0));
    assert!(
        e.contains("docs") && e.contains("expected 3") && e.contains("got 2"),
        "{e}"
    );
    assert!(err(index.upsert("a", &[], None, 0)).contains("empty"));
    assert!(err(index.upsert("a", &[1.0, f32::NAN, 0.0], None, 0)).contains("NaN"));
    assert!(err(index.upsert("a", &[1.0, f32::INFINITY, 0.0], None, 0)).contains("component 1"));
    assert!(err(index.upsert("a", &[0.0, 0.0, 0.0], None, 0)).contains("zeros"));
    assert!(err(index.upsert("a", &[1.0, 0.0, 0.0], Some(Value::Int(1)), 0)).contains("object"));
    assert!(index.is_empty());
    assert!(index.search(&[1.0, 2.0], 3, None).is_err());
    assert!(VectorIndex::new("x", 0, Metric::Cosine, IndexConfig::default()).is_err());
    Ok(())
}

#[test]
fn filters_apply_in_flat_and_hnsw_search() -> R {
    let mut rng = Rng(7);
    let data = clustered(&mut rng, 1200 / SCALE, 16, 20);
    let mut index = VectorIndex::new("t", 16, Metric::Cosine, small_hnsw())?;
    for (i, v) in data.iter().enumerate() {
        index.upsert(&format!("k{i}"), v, Some(meta((i % 4) as i64)), 0)?;
    }
    assert_eq!(index.index_type(), IndexType::Hnsw);
    let f = MetadataFilter::parse(&Value::Array(vec![{
        let mut o = IndexMap::new();
        o.insert("field".to_owned(), Value::from("group"));
        o.insert("op".to_owned(), Value::from("eq"));
        o.insert("value".to_owned(), Value::Int(2));
        Value::Object(o)
    }]))?;
    let mut total = 0.0;
    for _ in 0..20 {
        let q = rng.vector(16);
        let got = index.search(&q, 10, Some(&f))?;
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|h| h.metadata == Some(meta(2))));
        total += recall(&got, &index.search_exact(&q, 10, Some(&f), Metric::Cosine)?);
    }
    assert!(total / 20.0 >= 0.9, "filtered recall {}", total / 20.0);
    Ok(())
}

#[test]
fn selective_filter_returns_exactly_the_true_top_k() -> R {
    let mut rng = Rng(9);
    let data = clustered(&mut rng, 1500 / SCALE, 16, 10);
    let mut index = VectorIndex::new("t", 16, Metric::Euclidean, small_hnsw())?;
    for (i, v) in data.iter().enumerate() {
        // 3% of the points are in group 1.
        let g = if i % 32 == 0 { 1 } else { 0 };
        index.upsert(&format!("k{i}"), v, Some(meta(g)), 0)?;
    }
    assert_eq!(index.index_type(), IndexType::Hnsw);
    let f = MetadataFilter::parse(&Value::Array(vec![{
        let mut o = IndexMap::new();
        o.insert("field".to_owned(), Value::from("group"));
        o.insert("op".to_owned(), Value::from("in"));
        o.insert("value".to_owned(), Value::Array(vec![Value::Int(1)]));
        Value::Object(o)
    }]))?;
    for _ in 0..10 {
        let q = rng.vector(16);
        let got = index.search(&q, 10, Some(&f))?;
        let want = index.search_exact(&q, 10, Some(&f), Metric::Euclidean)?;
        assert_eq!(got, want);
        assert_eq!(got.len(), 10);
    }
    Ok(())
}

#[test]
fn hnsw_recall_survives_churn() -> R {
    let mut rng = Rng(42);
    let n = 2000 / SCALE;
    let dim = 24;
    let mut index = VectorIndex::new("t", dim, Metric::Cosine, small_hnsw())?;
    let centres: Vec<Vec<f32>> = (0..40).map(|_| rng.vector(dim)).collect();
    let mut vectors = mixture(&mut rng, &centres, n);
    for (i, v) in vectors.iter().enumerate() {
        index.upsert(&format!("k{i}"), v, None, 1)?;
    }
    assert_eq!(index.index_type(), IndexType::Hnsw);
    let queries: Vec<Vec<f32>> = mixture(&mut rng, &centres, 30);
    let measure = |index: &VectorIndex| -> strata_vector::Result<f64> {
        let mut total = 0.0;
        for q in &queries {
            let got = index.search(q, 10, None)?;
            total += recall(&got, &index.search_exact(q, 10, None, Metric::Cosine)?);
        }
        Ok(total / queries.len() as f64)
    };
    let first = measure(&index)?;
    assert!(first >= 0.95, "initial recall {first}");
    // Rewrite every key three times with fresh vectors, and delete/reinsert some.
    for round in 0..3u64 {
        let fresh = mixture(&mut rng, &centres, n);
        for (i, v) in fresh.into_iter().enumerate() {
            index.upsert(&format!("k{i}"), &v, None, 2 + round)?;
            vectors[i] = v;
            assert!(index.tombstones() as f64 <= 0.2 * (n as f64 * 1.3));
        }
        for i in (0..n).step_by(7) {
            index.remove(&format!("k{i}"));
        }
        for i in (0..n).step_by(7) {
            index.upsert(&format!("k{i}"), &vectors[i], None, 9)?;
        }
        assert_eq!(index.len(), n);
        let r = measure(&index)?;
        assert!(r >= 0.95, "recall after churn round {round}: {r}");
    }
    Ok(())
}

#[test]
fn index_switches_back_to_flat_when_it_shrinks() -> R {
    let mut rng = Rng(3);
    let mut index = VectorIndex::new("t", 8, Metric::DotProduct, small_hnsw())?;
    let n = 600 / SCALE;
    for i in 0..n {
        index.upsert(&format!("k{i}"), &rng.vector(8), None, 0)?;
    }
    assert_eq!(index.index_type(), IndexType::Hnsw);
    let hnsw_mem = index.memory_bytes();
    for i in 0..n * 2 / 3 {
        index.remove(&format!("k{i}"));
    }
    assert_eq!(index.index_type(), IndexType::Flat);
    assert_eq!(index.len(), n - n * 2 / 3);
    assert_eq!(index.tombstones(), 0);
    assert!(index.memory_bytes() < hnsw_mem);
    let q = rng.vector(8);
    assert_eq!(
        index.search(&q, 5, None)?,
        index.search_exact(&q, 5, None, Metric::DotProduct)?
    );
    Ok(())
}

fn records(data: &[Vec<f32>], version: u64) -> Vec<IndexRecord> {
    data.iter()
        .enumerate()
        .map(|(i, v)| IndexRecord {
            key: format!("k{i}"),
            vector: v.clone(),
            metadata: Some(meta(i as i64 % 3)),
            version,
        })
        .collect()
}

#[test]
fn dump_round_trip_and_stale_detection() -> R {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("coll");
    let mut rng = Rng(5);
    let n = 800 / SCALE;
    let data = clustered(&mut rng, n, 12, 10);
    let cfg = small_hnsw();

    // No dump yet: built from records.
    let (index, status) = VectorIndex::load(
        "t",
        12,
        Metric::Cosine,
        cfg.clone(),
        records(&data, 3),
        Some(&path),
    )?;
    assert_eq!(status, DumpStatus::Missing);
    assert_eq!(index.index_type(), IndexType::Hnsw);
    assert!(index.dump(&path, 17)?);

    // Same records: the graph is reused as is and answers identically.
    let (reloaded, status) = VectorIndex::load(
        "t",
        12,
        Metric::Cosine,
        cfg.clone(),
        records(&data, 3),
        Some(&path),
    )?;
    assert_eq!(
        status,
        DumpStatus::Loaded {
            dump_version: 17,
            reused: n,
            stale: 0,
            rebuilt: false
        }
    );
    for _ in 0..10 {
        let q = rng.vector(12);
        assert_eq!(index.search(&q, 10, None)?, reloaded.search(&q, 10, None)?);
    }

    // Ten records changed since the dump: detected and patched in.
    let mut changed = records(&data, 3);
    for r in changed.iter_mut().take(10) {
        r.vector = rng.vector(12);
        r.version = 20;
    }
    changed.truncate(n - 10); // and ten deleted
    let (patched, status) = VectorIndex::load(
        "t",
        12,
        Metric::Cosine,
        cfg.clone(),
        changed.clone(),
        Some(&path),
    )?;
    assert!(
        matches!(
            status,
            DumpStatus::Loaded {
                reused,
                stale: 20,
                rebuilt: false,
                ..
            } if reused == n - 20
        ),
        "{status:?}"
    );
    assert_eq!(patched.len(), n - 10);
    let q = changed[0].vector.clone();
    assert_eq!(patched.search(&q, 1, None)?[0].key, "k0");
    assert!(!patched.contains(&format!("k{}", n - 5)));

    // Most records changed: patched, then rebuilt.
    let (_, status) = VectorIndex::load(
        "t",
        12,
        Metric::Cosine,
        cfg.clone(),
        records(&data, 99),
        Some(&path),
    )?;
    assert!(
        matches!(
            status,
            DumpStatus::Loaded {
                reused: 0,
                rebuilt: true,
                ..
            }
        ),
        "{status:?}"
    );

    // Wrong metric or a damaged flat graph: rejected, rebuilt from records.
    let (_, status) = VectorIndex::load(
        "t",
        12,
        Metric::Euclidean,
        cfg.clone(),
        records(&data, 3),
        Some(&path),
    )?;
    assert!(matches!(status, DumpStatus::Rejected(_)), "{status:?}");
    let flat = path.join("flat");
    let pristine = std::fs::read(&flat)?;
    let mut bytes = pristine.clone();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&flat, bytes)?;
    let (rebuilt, status) = VectorIndex::load(
        "t",
        12,
        Metric::Cosine,
        cfg.clone(),
        records(&data, 3),
        Some(&path),
    )?;
    assert!(
        matches!(&status, DumpStatus::Rejected(m) if m.contains("checksum")),
        "{status:?}"
    );
    assert_eq!(rebuilt.len(), n);
    std::fs::write(&flat, pristine)?;

    // A load reads only the flat graph; the builder's graph is rebuilt from it
    // when the collection grows past the pending limit, and the grown graph finds
    // old and new vectors.
    let (mut lazy, status) = VectorIndex::load(
        "t",
        12,
        Metric::Cosine,
        cfg.clone(),
        records(&data, 3),
        Some(&path),
    )?;
    assert!(
        matches!(status, DumpStatus::Loaded { stale: 0, .. }),
        "{status:?}"
    );
    assert!(!lazy.graph_builder_loaded());
    for _ in 0..5 {
        let q = rng.vector(12);
        assert_eq!(index.search(&q, 10, None)?, lazy.search(&q, 10, None)?);
    }
    let extra = clustered(&mut rng, cfg.max_pending + 1, 12, 10);
    for (i, v) in extra.iter().enumerate() {
        lazy.upsert(&format!("x{i}"), v, None, 30)?;
    }
    assert!(lazy.graph_builder_loaded());
    assert_eq!(lazy.len(), n + extra.len());
    assert_eq!(lazy.search(&extra[3], 1, None)?[0].key, "x3");
    assert_eq!(lazy.search(&data[5], 1, None)?[0].key, "k5");

    // Small collections never use dumps.
    let (_, status) = VectorIndex::load(
        "t",
        12,
        Metric::Cosine,
        cfg,
        records(&data[..10], 3),
        Some(&path),
    )?;
    assert_eq!(status, DumpStatus::NotUsed);
    Ok(())
}
