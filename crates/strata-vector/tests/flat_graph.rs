//! The flat-graph search path: recall against exact search, churn, vectors added
//! after the last extraction, dumps, and concurrent searches.

mod common;

use common::{clustered, mixture, recall, Rng};
use strata_vector::{
    DumpStatus, HnswParams, IndexConfig, IndexRecord, IndexType, Metric, VectorIndex,
};

type R = Result<(), Box<dyn std::error::Error>>;

/// Graph building is ~50x slower unoptimised; debug runs use less data.
const SCALE: usize = if cfg!(debug_assertions) { 4 } else { 1 };

fn config(threshold: usize) -> IndexConfig {
    IndexConfig {
        hnsw_threshold: threshold,
        hnsw: HnswParams {
            m: 16,
            ef_construction: 100,
            ef_search: 64,
        },
        ..IndexConfig::default()
    }
}

fn records(data: &[Vec<f32>], version: u64) -> Vec<IndexRecord> {
    data.iter()
        .enumerate()
        .map(|(i, v)| IndexRecord {
            key: format!("k{i}"),
            vector: v.clone(),
            metadata: None,
            version,
        })
        .collect()
}

/// Mean recall@10 of the index's search against its exact search.
fn mean_recall(index: &VectorIndex, queries: &[Vec<f32>], metric: Metric) -> f64 {
    let mut total = 0.0;
    for q in queries {
        let got = index.search(q, 10, None).unwrap_or_default();
        let want = index.search_exact(q, 10, None, metric).unwrap_or_default();
        total += recall(&got, &want);
    }
    total / queries.len() as f64
}

#[test]
fn recall_against_exact_on_random_and_clustered_vectors() -> R {
    let n = 4000 / SCALE;
    let mut rng = Rng(11);
    let uniform: Vec<Vec<f32>> = (0..n).map(|_| rng.vector(12)).collect();
    let uniform_q: Vec<Vec<f32>> = (0..50).map(|_| rng.vector(12)).collect();
    let mut clustered_data = clustered(&mut rng, n + 50, 32, 30);
    let clustered_q = clustered_data.split_off(n);
    for (name, data, queries, metric) in [
        ("uniform/euclidean", &uniform, &uniform_q, Metric::Euclidean),
        ("uniform/cosine", &uniform, &uniform_q, Metric::Cosine),
        (
            "clustered/cosine",
            &clustered_data,
            &clustered_q,
            Metric::Cosine,
        ),
        (
            "clustered/dot",
            &clustered_data,
            &clustered_q,
            Metric::DotProduct,
        ),
    ] {
        let dim = data[0].len();
        let (index, _) = VectorIndex::load("t", dim, metric, config(100), records(data, 1), None)?;
        assert_eq!(index.index_type(), IndexType::Hnsw);
        let r = mean_recall(&index, queries, metric);
        assert!(r >= 0.95, "{name}: recall@10 {r}");
    }
    Ok(())
}

#[test]
fn recall_stays_up_when_the_same_keys_are_upserted_five_times() -> R {
    // The churn test (10k keys in release; fewer unoptimised).
    let n = 10_000 / (SCALE * SCALE);
    let dim = 16;
    let mut rng = Rng(21);
    let mut index = VectorIndex::new("t", dim, Metric::Cosine, config(500 / SCALE))?;
    let centres: Vec<Vec<f32>> = (0..25).map(|_| rng.vector(dim)).collect();
    let queries = mixture(&mut rng, &centres, 40);
    for round in 0..5u64 {
        let fresh = mixture(&mut rng, &centres, n);
        for (i, v) in fresh.iter().enumerate() {
            index.upsert(&format!("k{i}"), v, None, round + 1)?;
        }
        assert_eq!(index.len(), n);
        assert_eq!(index.index_type(), IndexType::Hnsw);
        let r = mean_recall(&index, &queries, Metric::Cosine);
        assert!(r >= 0.95, "recall after upsert round {round}: {r}");
        // Every hit is the current vector of its key.
        for q in &queries[..5] {
            for hit in index.search(q, 10, None)? {
                let i: usize = hit.key[1..].parse()?;
                let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
                let dot: f32 = fresh[i].iter().zip(q).map(|(a, b)| a * b).sum();
                let want = dot / (norm(&fresh[i]) * norm(q));
                assert!(
                    (hit.score - want).abs() < 1e-4,
                    "stale vector for {}",
                    hit.key
                );
            }
        }
    }
    Ok(())
}

#[test]
fn vectors_added_after_the_extraction_are_found() -> R {
    let n = 1200 / SCALE;
    let dim = 16;
    let mut rng = Rng(31);
    let data = clustered(&mut rng, n, dim, 20);
    let cfg = config(200 / SCALE);
    let (mut index, _) = VectorIndex::load(
        "t",
        dim,
        Metric::Euclidean,
        cfg.clone(),
        records(&data, 1),
        None,
    )?;
    // Fewer than `max_pending`: they wait outside the graph and are scored exactly.
    let extra: Vec<Vec<f32>> = (0..50).map(|_| rng.vector(dim)).collect();
    for (i, v) in extra.iter().enumerate() {
        index.upsert(&format!("x{i}"), v, None, 2)?;
    }
    assert!(!index.needs_maintenance());
    // Moving an old key also goes through the delta: its old place must not answer.
    index.upsert(
        "k0",
        &extra[0].iter().map(|x| x + 0.001).collect::<Vec<_>>(),
        None,
        3,
    )?;
    let check = |index: &VectorIndex| -> R {
        for (i, v) in extra.iter().enumerate() {
            let hits = index.search(v, 2, None)?;
            assert_eq!(hits[0].key, format!("x{i}"), "{hits:?}");
        }
        let hits = index.search(&data[0], 10, None)?;
        assert!(
            hits.iter().all(|h| h.key != "k0"),
            "k0 found at its old place"
        );
        Ok(())
    };
    check(&index)?;
    // After maintenance they are in the graph and the flat copy.
    index.maintain();
    assert!(!index.needs_maintenance());
    check(&index)?;
    assert_eq!(index.len(), n + extra.len());
    Ok(())
}

#[test]
fn reopen_searches_the_persisted_flat_graph_and_rebuilds_a_stale_one() -> R {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("coll");
    let n = 1600 / SCALE;
    let dim = 16;
    let mut rng = Rng(41);
    let data = clustered(&mut rng, n, dim, 20);
    let queries = clustered(&mut rng, 20, dim, 20);
    let cfg = config(200 / SCALE);
    let (index, _) = VectorIndex::load(
        "t",
        dim,
        Metric::Cosine,
        cfg.clone(),
        records(&data, 1),
        Some(&path),
    )?;
    assert!(index.dump(&path, 5)?);
    assert!(index.graph_builder_loaded());

    // Reopen: the flat graph is used and the builder's graph is not rebuilt.
    let (reopened, status) = VectorIndex::load(
        "t",
        dim,
        Metric::Cosine,
        cfg.clone(),
        records(&data, 1),
        Some(&path),
    )?;
    assert!(
        matches!(status, DumpStatus::Loaded { reused, stale: 0, rebuilt: false, .. } if reused == n),
        "{status:?}"
    );
    assert!(!reopened.graph_builder_loaded());
    for q in &queries {
        assert_eq!(index.search(q, 10, None)?, reopened.search(q, 10, None)?);
    }
    // Dumping it again while the flat graph is unchanged rewrites only the manifest.
    assert!(reopened.dump(&path, 6)?);
    let (again, status) = VectorIndex::load(
        "t",
        dim,
        Metric::Cosine,
        cfg.clone(),
        records(&data, 1),
        Some(&path),
    )?;
    assert!(
        matches!(
            status,
            DumpStatus::Loaded {
                dump_version: 6,
                ..
            }
        ),
        "{status:?}"
    );
    assert_eq!(
        again.search(&queries[0], 10, None)?,
        index.search(&queries[0], 10, None)?
    );

    // A flat graph whose checksum still matches but whose manifest is from another
    // build (here: the manifest of a smaller collection) is rejected and rebuilt.
    let other = dir.path().join("other");
    let (small, _) = VectorIndex::load(
        "t",
        dim,
        Metric::Cosine,
        cfg.clone(),
        records(&data[..n / 2], 1),
        Some(&other),
    )?;
    assert!(small.dump(&other, 7)?);
    std::fs::copy(other.join("manifest"), path.join("manifest"))?;
    let (rebuilt, status) = VectorIndex::load(
        "t",
        dim,
        Metric::Cosine,
        cfg.clone(),
        records(&data, 1),
        Some(&path),
    )?;
    assert!(matches!(status, DumpStatus::Rejected(_)), "{status:?}");
    assert!(rebuilt.graph_builder_loaded());
    assert!(mean_recall(&rebuilt, &queries, Metric::Cosine) >= 0.95);

    // A truncated flat graph is rejected too.
    std::fs::copy(other.join("manifest"), path.join("manifest"))?;
    let flat = path.join("flat");
    let bytes = std::fs::read(&flat)?;
    std::fs::write(&flat, &bytes[..bytes.len() / 2])?;
    let (_, status) = VectorIndex::load(
        "t",
        dim,
        Metric::Cosine,
        cfg,
        records(&data, 1),
        Some(&path),
    )?;
    assert!(matches!(status, DumpStatus::Rejected(_)), "{status:?}");
    Ok(())
}

#[test]
fn concurrent_searches_agree_with_a_single_thread() -> R {
    let n = 2000 / SCALE;
    let dim = 16;
    let mut rng = Rng(51);
    let data = clustered(&mut rng, n, dim, 20);
    let queries = clustered(&mut rng, 60, dim, 20);
    let (mut index, _) = VectorIndex::load(
        "t",
        dim,
        Metric::Cosine,
        config(200 / SCALE),
        records(&data, 1),
        None,
    )?;
    // Some tombstones, so the traversal also walks dead points.
    for i in (0..n).step_by(13) {
        index.remove(&format!("k{i}"));
    }
    let expected: Vec<_> = queries
        .iter()
        .map(|q| index.search(q, 10, None))
        .collect::<Result<_, _>>()?;
    let index = &index;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (queries, expected) = (&queries, &expected);
                s.spawn(move || {
                    for round in 0..5 {
                        for (i, q) in queries.iter().enumerate().skip((t + round) % 3) {
                            let got = index.search(q, 10, None).unwrap_or_default();
                            assert_eq!(&got, &expected[i], "thread {t}, query {i}");
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().is_ok(), "a search thread panicked");
        }
    });
    Ok(())
}

/// The graph walk ranks by a copy of the vectors (half precision on CPUs with F16C
/// from 128 components; unit-normalised f32 for cosine below that) and rescores its
/// results: every returned score must be the exact f32 score, the order exact, and
/// recall unchanged, also for vectors whose magnitudes differ by six orders of
/// magnitude (each is scaled separately), after growth past the last extraction, and
/// after a reopen from the dump.
#[test]
fn graph_results_carry_exact_scores_for_any_vector_scale() -> R {
    // 128 components: the half-precision walk (see half.rs); 48: the unit copy for
    // cosine (see unit.rs) and the arena itself for the other metrics.
    for dim in [128, 48] {
        exact_scores_at(dim)?;
    }
    Ok(())
}

fn exact_scores_at(dim: usize) -> R {
    let n = 3000 / SCALE;
    let mut rng = Rng(77);
    let mut data = clustered(&mut rng, n + 30, dim, 25);
    for v in &mut data {
        let scale = 10f32.powf(rng.f32() * 3.0);
        for x in v.iter_mut() {
            *x *= scale;
        }
    }
    let queries = data.split_off(n);
    for metric in [Metric::Cosine, Metric::DotProduct, Metric::Euclidean] {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("coll");
        let (mut index, _) = VectorIndex::load(
            "t",
            dim,
            metric,
            config(500 / SCALE),
            records(&data[..n - 200], 1),
            Some(&path),
        )?;
        assert_eq!(index.index_type(), IndexType::Hnsw);
        let check = |index: &VectorIndex, what: &str| -> R {
            let mut total = 0.0;
            for q in &queries {
                let got = index.search(q, 10, None)?;
                let all = index.search_exact(q, usize::MAX, None, metric)?;
                for g in &got {
                    let exact = all.iter().find(|a| a.key == g.key).map(|a| a.score);
                    assert_eq!(
                        Some(g.score),
                        exact,
                        "{metric:?} {dim}-d {what}: score of {}",
                        g.key
                    );
                }
                assert!(got.windows(2).all(|w| w[0].score >= w[1].score));
                total += recall(&got, &index.search_exact(q, 10, None, metric)?);
            }
            let mean = total / queries.len() as f64;
            // Euclidean walks the f32 vectors; with magnitudes spread over six orders
            // its neighbourhoods are hard for any HNSW graph (0.92-0.95 measured).
            let floor = if metric == Metric::Euclidean {
                0.85
            } else {
                0.95
            };
            assert!(mean >= floor, "{metric:?} {dim}-d {what}: recall {mean}");
            Ok(())
        };
        check(&index, "after the build")?;
        // A k beyond the collection returns every vector with its exact score.
        let every = index.search(&queries[0], usize::MAX, None)?;
        assert_eq!(every.len(), n - 200);
        assert_eq!(
            every,
            index.search_exact(&queries[0], usize::MAX, None, metric)?
        );
        // Growth: more than max_pending new vectors are inserted into the graph and
        // the copy is extended over them.
        for (i, v) in data[n - 200..].iter().enumerate() {
            index.upsert(&format!("k{}", n - 200 + i), v, None, 2)?;
        }
        index.maintain();
        check(&index, "after growth")?;
        assert!(index.dump(&path, 3)?);
        let mut all = records(&data[..n - 200], 1);
        all.extend(records(&data, 2).into_iter().skip(n - 200));
        let (reopened, status) =
            VectorIndex::load("t", dim, metric, config(500 / SCALE), all, Some(&path))?;
        assert!(
            matches!(status, DumpStatus::Loaded { stale: 0, .. }),
            "{status:?}"
        );
        check(&reopened, "after reopen")?;
    }
    Ok(())
}

/// Near-ties: around each of 20 query directions lie 30 vectors at almost the same
/// angle (their cosines with the query differ by about 1e-4, finer than half
/// precision resolves), each otherwise pointing its own random way, so the graph
/// connects them as usual. With an ef that walks every point, the graph search must
/// return exactly the exact top 10 (keys, scores, order): the walk ranks by an
/// approximate copy, so this holds only if every point whose approximate score could
/// still reach the 10th best is rescored.
#[test]
fn near_ties_come_back_exactly_when_the_walk_sees_every_point() -> R {
    let mut rng = Rng(2024);
    let unit = |v: Vec<f32>| {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect::<Vec<f32>>()
    };
    for dim in [128, 48] {
        let directions: Vec<Vec<f32>> = (0..20).map(|_| unit(rng.vector(dim))).collect();
        let mut data = Vec::new();
        for d in &directions {
            for _ in 0..30 {
                // r: a random unit vector orthogonal to d.
                let r = rng.vector(dim);
                let along: f32 = r.iter().zip(d).map(|(a, b)| a * b).sum();
                let r = unit(r.iter().zip(d).map(|(a, b)| a - along * b).collect());
                let c = 0.8 + 1e-4 * rng.f32();
                data.push(d.iter().zip(&r).map(|(a, b)| c * a + 0.6 * b).collect());
            }
        }
        for metric in [Metric::Cosine, Metric::DotProduct] {
            let cfg = IndexConfig {
                hnsw_threshold: 100,
                hnsw: HnswParams {
                    m: 16,
                    ef_construction: 100,
                    ef_search: data.len(),
                },
                ..IndexConfig::default()
            };
            let (index, _) = VectorIndex::load("t", dim, metric, cfg, records(&data, 1), None)?;
            assert_eq!(index.index_type(), IndexType::Hnsw);
            for q in &directions {
                let got = index.search(q, 10, None)?;
                let want = index.search_exact(q, 10, None, metric)?;
                assert_eq!(got, want, "{metric:?} {dim}-d");
            }
        }
    }
    Ok(())
}
