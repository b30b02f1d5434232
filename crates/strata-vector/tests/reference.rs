//! The HNSW builder against a reference: hnsw_rs (which built StrataDB's graphs until
//! 2026-12-03) indexes the same vectors with the same `M` and `ef_construction`, and
//! our graph must find the true neighbours at least as well at the same `ef`.

mod common;

use common::{mixture, recall, Rng};
use hnsw_rs::prelude::{DistL2, Hnsw};
use strata_vector::{HnswParams, IndexConfig, IndexRecord, IndexType, Metric, VectorIndex};

#[test]
fn recall_matches_hnsw_rs_on_the_same_data() -> Result<(), Box<dyn std::error::Error>> {
    let (n, dim, m, ef_c, ef) = (6000, 24, 12, 64, 24);
    let mut rng = Rng(77);
    let centres: Vec<Vec<f32>> = (0..30).map(|_| rng.vector(dim)).collect();
    let data = mixture(&mut rng, &centres, n);
    let queries = mixture(&mut rng, &centres, 200);

    let config = IndexConfig {
        hnsw_threshold: 1000,
        hnsw: HnswParams {
            m,
            ef_construction: ef_c,
            ef_search: ef,
        },
        ..IndexConfig::default()
    };
    let records = data
        .iter()
        .enumerate()
        .map(|(i, v)| IndexRecord {
            key: format!("k{i}"),
            vector: v.clone(),
            metadata: None,
            version: 1,
        })
        .collect();
    let (index, _) = VectorIndex::load("t", dim, Metric::Euclidean, config, records, None)?;
    assert_eq!(index.index_type(), IndexType::Hnsw);

    let reference = Hnsw::<f32, DistL2>::new(m, n, 16, ef_c, DistL2 {});
    let items: Vec<(&[f32], usize)> = data.iter().enumerate().map(|(i, v)| (&v[..], i)).collect();
    reference.parallel_insert_slice(&items);

    let (mut ours, mut theirs) = (0.0, 0.0);
    for q in &queries {
        let want = index.search_exact(q, 10, None, Metric::Euclidean)?;
        ours += recall(&index.search(q, 10, None)?, &want);
        let found: Vec<String> = reference
            .search(q, 10, ef)
            .iter()
            .map(|nb| format!("k{}", nb.d_id))
            .collect();
        theirs += want.iter().filter(|w| found.contains(&w.key)).count() as f64 / 10.0;
    }
    let (ours, theirs) = (ours / 200.0, theirs / 200.0);
    eprintln!("recall@10 at ef={ef}: ours {ours:.3}, hnsw_rs {theirs:.3}");
    assert!(
        ours >= theirs - 0.02,
        "recall@10 at ef={ef}: ours {ours:.3}, hnsw_rs {theirs:.3}"
    );
    assert!(ours >= 0.9, "recall@10 at ef={ef}: {ours:.3}");
    Ok(())
}
