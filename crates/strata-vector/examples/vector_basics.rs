//! Vector collections in five steps: create, upsert, search, filter, time travel.
//!
//! Run with `cargo run -p strata-vector --example vector_basics`.

use strata_storage::{Database, Value};
use strata_vector::{IndexConfig, MetadataFilter, Metric, VectorIndexes, VectorInput, VectorStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = Database::open_temporary()?;
    let vectors = VectorStore::new(VectorIndexes::attach(&db, IndexConfig::default(), None));
    let scope = db.default_scope();

    // 1. A collection of 4-dimensional embeddings, compared by cosine similarity.
    let mut tx = db.begin(false);
    vectors.create_collection(&mut tx, &scope, "papers", 4, Metric::Cosine)?;
    tx.commit()?;

    // 2. A batch upsert commits all vectors together.
    let docs = [
        ("attention", [0.9, 0.1, 0.0, 0.0], "ml", 2017),
        ("bert", [0.8, 0.2, 0.1, 0.0], "ml", 2018),
        ("lsm-tree", [0.0, 0.1, 0.9, 0.2], "db", 1996),
        ("hnsw", [0.4, 0.0, 0.5, 0.5], "db", 2016),
    ];
    let items = docs
        .iter()
        .map(|(key, v, topic, year)| VectorInput {
            key: (*key).to_owned(),
            vector: v.to_vec(),
            metadata: Some(serde_json::json!({"topic": topic, "year": year}).into()),
        })
        .collect();
    let mut tx = db.begin(false);
    vectors.batch_upsert(&mut tx, &scope, "papers", items)?;
    tx.commit()?;
    let before_update = db.head_timestamp();

    // 3. Nearest neighbours of a query.
    let query = [0.85, 0.15, 0.05, 0.0];
    for m in vectors.search(&db.read(), &scope, "papers", &query, 3, None, None)? {
        println!("{:<10} {:.3}", m.key, m.score);
    }

    // 4. The same search restricted by metadata, scored by Euclidean distance instead.
    let filter: Value = serde_json::json!([
        {"field": "topic", "op": "eq", "value": "db"},
        {"field": "year", "op": "gte", "value": 2000}
    ])
    .into();
    let filter = MetadataFilter::parse(&filter)?;
    let hits = vectors.search(
        &db.read(),
        &scope,
        "papers",
        &query,
        3,
        Some(&filter),
        Some(Metric::Euclidean),
    )?;
    println!(
        "filtered: {:?}",
        hits.iter().map(|h| (&h.key, h.score)).collect::<Vec<_>>()
    );

    // 5. Move a vector, then search the collection as it was before.
    let mut tx = db.begin(false);
    vectors.upsert(&mut tx, &scope, "papers", "lsm-tree", &query, None)?;
    tx.commit()?;
    let now = vectors.search(&db.read(), &scope, "papers", &query, 1, None, None)?;
    let then = vectors.search_as_of(
        &db.read(),
        &scope,
        "papers",
        &query,
        1,
        None,
        None,
        before_update,
    )?;
    println!(
        "best match now: {}, before the update: {}",
        now[0].key, then[0].key
    );

    let stats = vectors.collection_stats(&db.read(), &scope, "papers")?;
    println!(
        "{}: {} vectors, dim {}, {}, index {}, ~{} bytes",
        stats.name,
        stats.count,
        stats.dimension,
        stats.metric,
        stats.index_type.as_str(),
        stats.memory_bytes
    );
    Ok(())
}
