//! Vector collections on a real database: validation, visibility, time travel,
//! branches, reopen, concurrency.

mod common;

use common::{clustered, Rng};
use indexmap::IndexMap;
use std::sync::Arc;
use strata_storage::{Database, DatabaseOptions, Scope, Transaction, Value};
use strata_vector::{
    DumpStatus, HnswParams, IndexConfig, IndexType, MetadataFilter, Metric, VectorError,
    VectorIndexes, VectorInput, VectorStore,
};

type R = Result<(), Box<dyn std::error::Error>>;

fn setup(db: &Database, config: IndexConfig, dumps: Option<std::path::PathBuf>) -> VectorStore {
    VectorStore::new(VectorIndexes::attach(db, config, dumps))
}

fn write<T>(
    db: &Database,
    mut f: impl FnMut(&mut Transaction) -> strata_vector::Result<T>,
) -> strata_vector::Result<T> {
    let mut tx = db.begin(false);
    let out = f(&mut tx)?;
    tx.commit()?;
    Ok(out)
}

fn meta(k: &str, v: Value) -> Option<Value> {
    let mut o = IndexMap::new();
    o.insert(k.to_owned(), v);
    Some(Value::Object(o))
}

fn keys(hits: &[strata_vector::SearchMatch]) -> Vec<&str> {
    hits.iter().map(|h| h.key.as_str()).collect()
}

#[test]
fn create_validate_upsert_get_delete() -> R {
    let db = Database::open_temporary()?;
    let vs = setup(&db, IndexConfig::default(), None);
    let scope = db.default_scope();
    write(&db, |tx| {
        vs.create_collection(tx, &scope, "docs", 3, Metric::Cosine)
    })?;
    let again = write(&db, |tx| {
        vs.create_collection(tx, &scope, "docs", 3, Metric::Cosine)
    });
    assert!(matches!(again, Err(VectorError::CollectionExists(_))));
    assert!(write(&db, |tx| vs.create_collection(
        tx,
        &scope,
        "bad\0name",
        3,
        Metric::Cosine
    ))
    .is_err());
    assert!(write(&db, |tx| vs.create_collection(
        tx,
        &scope,
        "zero",
        0,
        Metric::Cosine
    ))
    .is_err());

    write(&db, |tx| {
        vs.upsert(
            tx,
            &scope,
            "docs",
            "a",
            &[1.0, 0.0, 0.0],
            meta("t", "x".into()),
        )
    })?;
    let mut tx = db.begin(false);
    let e = vs
        .upsert(&mut tx, &scope, "docs", "b", &[1.0, 2.0], None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("docs") && e.contains("expected 3") && e.contains("got 2"),
        "{e}"
    );
    for bad in [vec![], vec![f32::NAN, 0.0, 0.0], vec![0.0, 0.0, 0.0]] {
        assert!(vs.upsert(&mut tx, &scope, "docs", "b", &bad, None).is_err());
    }
    assert!(vs
        .upsert(
            &mut tx,
            &scope,
            "docs",
            "b",
            &[1.0, 0.0, 0.0],
            Some(Value::Int(3))
        )
        .is_err());
    assert!(vs
        .upsert(&mut tx, &scope, "docs", "", &[1.0, 0.0, 0.0], None)
        .is_err());
    let missing = vs.upsert(&mut tx, &scope, "nope", "b", &[1.0, 0.0, 0.0], None);
    assert!(matches!(missing, Err(VectorError::CollectionNotFound(_))));
    // A failing batch writes nothing.
    let batch = vs.batch_upsert(
        &mut tx,
        &scope,
        "docs",
        vec![
            VectorInput {
                key: "ok".into(),
                vector: vec![0.0, 1.0, 0.0],
                metadata: None,
            },
            VectorInput {
                key: "bad".into(),
                vector: vec![0.0, 1.0],
                metadata: None,
            },
        ],
    );
    assert!(batch.is_err());
    assert_eq!(
        tx.pending_writes(),
        0,
        "nothing is written on validation errors"
    );
    drop(tx);

    let got = vs
        .get(&db.read(), &scope, "docs", "a")?
        .ok_or("missing a")?;
    assert_eq!(got.embedding, vec![1.0, 0.0, 0.0]);
    assert_eq!(got.metadata, meta("t", "x".into()));
    assert!(got.version.0 > 0 && got.timestamp > 0);
    assert!(vs.get(&db.read(), &scope, "docs", "zz")?.is_none());

    assert!(write(&db, |tx| vs.delete(tx, &scope, "docs", "a"))?);
    assert!(!write(&db, |tx| vs.delete(tx, &scope, "docs", "a"))?);
    assert!(vs.get(&db.read(), &scope, "docs", "a")?.is_none());
    Ok(())
}

#[test]
fn writes_are_visible_to_the_next_search() -> R {
    let db = Database::open_temporary()?;
    let vs = setup(&db, IndexConfig::default(), None);
    let scope = db.default_scope();
    write(&db, |tx| {
        vs.create_collection(tx, &scope, "c", 2, Metric::Euclidean)
    })?;
    let search = |q: &[f32]| vs.search(&db.read(), &scope, "c", q, 10, None, None);
    assert!(search(&[0.0, 0.0])?.is_empty());
    write(&db, |tx| vs.upsert(tx, &scope, "c", "a", &[1.0, 0.0], None))?;
    assert_eq!(keys(&search(&[0.0, 0.0])?), ["a"]); // builds the index
    write(&db, |tx| {
        vs.batch_upsert(
            tx,
            &scope,
            "c",
            vec![
                VectorInput {
                    key: "b".into(),
                    vector: vec![2.0, 0.0],
                    metadata: None,
                },
                VectorInput {
                    key: "c".into(),
                    vector: vec![0.5, 0.0],
                    metadata: meta("x", Value::Int(1)),
                },
            ],
        )
    })?;
    let hits = search(&[0.0, 0.0])?;
    assert_eq!(keys(&hits), ["c", "a", "b"]);
    assert_eq!(hits[0].score, -0.5);
    assert_eq!(hits[0].metadata, meta("x", Value::Int(1)));
    write(&db, |tx| vs.upsert(tx, &scope, "c", "b", &[0.1, 0.0], None))?;
    write(&db, |tx| vs.delete(tx, &scope, "c", "a"))?;
    assert_eq!(keys(&search(&[0.0, 0.0])?), ["b", "c"]);
    // Metric override and filters through the store.
    let dot = vs.search(
        &db.read(),
        &scope,
        "c",
        &[1.0, 0.0],
        1,
        None,
        Some(Metric::DotProduct),
    )?;
    assert_eq!((dot[0].key.as_str(), dot[0].score), ("c", 0.5));
    let f = MetadataFilter::parse(&Value::Array(vec![{
        let mut o = IndexMap::new();
        o.insert("field".to_owned(), Value::from("x"));
        o.insert("op".to_owned(), Value::from("gte"));
        o.insert("value".to_owned(), Value::Int(1));
        Value::Object(o)
    }]))?;
    let filtered = vs.search(&db.read(), &scope, "c", &[0.0, 0.0], 10, Some(&f), None)?;
    assert_eq!(keys(&filtered), ["c"]);
    let e = vs
        .search(&db.read(), &scope, "c", &[0.0], 3, None, None)
        .err()
        .map(|e| e.to_string());
    assert!(e.unwrap_or_default().contains("expected 2"));

    // Inside a transaction with its own writes, search sees them.
    let mut tx = db.begin(false);
    vs.upsert(&mut tx, &scope, "c", "mine", &[0.0, 0.01], None)?;
    vs.delete(&mut tx, &scope, "c", "b")?;
    assert_eq!(
        keys(&vs.search(&tx, &scope, "c", &[0.0, 0.0], 10, None, None)?),
        ["mine", "c"]
    );
    tx.rollback();
    assert_eq!(keys(&search(&[0.0, 0.0])?), ["b", "c"]);
    Ok(())
}

#[test]
fn stats_list_and_delete_collection() -> R {
    let db = Database::open_temporary()?;
    let vs = setup(&db, IndexConfig::default(), None);
    let scope = db.default_scope();
    write(&db, |tx| {
        vs.create_collection(tx, &scope, "a", 4, Metric::Cosine)?;
        vs.create_collection(tx, &scope, "b", 2, Metric::DotProduct)
    })?;
    write(&db, |tx| {
        for i in 0..10 {
            vs.upsert(
                tx,
                &scope,
                "a",
                &format!("k{i}"),
                &[1.0, i as f32, 0.0, 1.0],
                meta("i", Value::Int(i)),
            )?;
        }
        Ok(())
    })?;
    let list = vs.list_collections(&db.read(), &scope)?;
    let summary: Vec<(&str, usize, usize, Metric, IndexType)> = list
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.dimension,
                c.count,
                c.metric,
                c.index_type,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("a", 4, 10, Metric::Cosine, IndexType::Flat),
            ("b", 2, 0, Metric::DotProduct, IndexType::Flat)
        ]
    );
    assert!(
        list[0].memory_bytes >= 10 * 4 * 4,
        "{}",
        list[0].memory_bytes
    );
    assert!(list[0].memory_bytes > list[1].memory_bytes);
    assert!(write(&db, |tx| vs.delete_collection(tx, &scope, "a"))?);
    assert!(!write(&db, |tx| vs.delete_collection(tx, &scope, "a"))?);
    assert!(matches!(
        vs.search(
            &db.read(),
            &scope,
            "a",
            &[1.0, 0.0, 0.0, 0.0],
            1,
            None,
            None
        ),
        Err(VectorError::CollectionNotFound(_))
    ));
    // Re-created with another dimension: no trace of the old index or vectors.
    write(&db, |tx| {
        vs.create_collection(tx, &scope, "a", 2, Metric::Euclidean)
    })?;
    assert!(vs
        .search(&db.read(), &scope, "a", &[1.0, 0.0], 5, None, None)?
        .is_empty());
    assert_eq!(vs.collection_stats(&db.read(), &scope, "a")?.count, 0);
    Ok(())
}

#[test]
fn time_travel_search() -> R {
    let db = Database::open_temporary()?;
    let vs = setup(&db, IndexConfig::default(), None);
    let scope = db.default_scope();
    write(&db, |tx| {
        vs.create_collection(tx, &scope, "c", 2, Metric::Euclidean)
    })?;
    write(&db, |tx| vs.upsert(tx, &scope, "c", "a", &[1.0, 0.0], None))?;
    let t1 = db.head_timestamp();
    write(&db, |tx| vs.upsert(tx, &scope, "c", "a", &[5.0, 0.0], None))?;
    write(&db, |tx| vs.upsert(tx, &scope, "c", "b", &[2.0, 0.0], None))?;
    let t2 = db.head_timestamp();
    write(&db, |tx| vs.delete(tx, &scope, "c", "b"))?;
    let q = [0.0, 0.0];
    let at = |ts| vs.search_as_of(&db.read(), &scope, "c", &q, 5, None, None, ts);
    let old = at(t1)?;
    assert_eq!((keys(&old), old[0].score), (vec!["a"], -1.0));
    assert_eq!(keys(&at(t2)?), ["b", "a"]);
    assert_eq!(
        keys(&vs.search(&db.read(), &scope, "c", &q, 5, None, None)?),
        ["a"]
    );
    assert!(matches!(at(1), Err(VectorError::CollectionNotFound(_))));
    Ok(())
}

#[test]
fn branches_are_isolated() -> R {
    let db = Database::open_temporary()?;
    let vs = setup(&db, IndexConfig::default(), None);
    let main = db.default_scope();
    write(&db, |tx| {
        vs.create_collection(tx, &main, "c", 2, Metric::Euclidean)
    })?;
    write(&db, |tx| vs.upsert(tx, &main, "c", "a", &[1.0, 0.0], None))?;
    // Build main's index before forking.
    assert_eq!(
        vs.search(&db.read(), &main, "c", &[0.0, 0.0], 5, None, None)?
            .len(),
        1
    );
    let (child, _) = db.fork_branch("default", "exp")?;
    let exp = Scope::new(child, "default");
    assert_eq!(
        keys(&vs.search(&db.read(), &exp, "c", &[0.0, 0.0], 5, None, None)?),
        ["a"]
    );
    write(&db, |tx| vs.upsert(tx, &exp, "c", "b", &[0.5, 0.0], None))?;
    write(&db, |tx| vs.delete(tx, &exp, "c", "a"))?;
    write(&db, |tx| vs.upsert(tx, &main, "c", "m", &[3.0, 0.0], None))?;
    assert_eq!(
        keys(&vs.search(&db.read(), &exp, "c", &[0.0, 0.0], 5, None, None)?),
        ["b"]
    );
    assert_eq!(
        keys(&vs.search(&db.read(), &main, "c", &[0.0, 0.0], 5, None, None)?),
        ["a", "m"]
    );
    Ok(())
}

fn hnsw_config() -> IndexConfig {
    IndexConfig {
        hnsw_threshold: 150,
        hnsw: HnswParams {
            m: 8,
            ef_construction: 32,
            ef_search: 64,
        },
        ..IndexConfig::default()
    }
}

#[test]
fn reopen_rebuilds_and_reuses_the_dumped_graph() -> R {
    let dir = tempfile::tempdir()?;
    let dumps = dir.path().join("vector-index");
    let mut rng = Rng(11);
    let data = clustered(&mut rng, 200, 8, 8);
    let q = data[17].clone();
    let before;
    {
        let db = Database::open(dir.path().join("db"), DatabaseOptions::default())?;
        let vs = setup(&db, hnsw_config(), Some(dumps.clone()));
        let scope = db.default_scope();
        write(&db, |tx| {
            vs.create_collection(tx, &scope, "c", 8, Metric::Cosine)
        })?;
        write(&db, |tx| {
            let items = data
                .iter()
                .enumerate()
                .map(|(i, v)| VectorInput {
                    key: format!("k{i}"),
                    vector: v.clone(),
                    metadata: None,
                })
                .collect();
            vs.batch_upsert(tx, &scope, "c", items)
        })?;
        let stats = vs.collection_stats(&db.read(), &scope, "c")?;
        assert_eq!((stats.count, stats.index_type), (200, IndexType::Hnsw));
        before = vs.search(&db.read(), &scope, "c", &q, 5, None, None)?;
        assert_eq!(before[0].key, "k17");
        assert_eq!(vs.indexes().persist()?, 1);
        // A write after the dump makes it stale for one key.
        write(&db, |tx| vs.delete(tx, &scope, "c", "k17"))?;
        db.flush()?;
    }
    assert!(dumps.exists());
    let db = Database::open(dir.path().join("db"), DatabaseOptions::default())?;
    let vs = setup(&db, hnsw_config(), Some(dumps));
    let scope = db.default_scope();
    let after = vs.search(&db.read(), &scope, "c", &q, 5, None, None)?;
    let status = vs.indexes().load_status(&scope, "c");
    assert!(
        matches!(
            status,
            Some(DumpStatus::Loaded {
                reused: 199,
                stale: 1,
                ..
            })
        ),
        "{status:?}"
    );
    assert_eq!(after.len(), 5);
    assert!(
        after.iter().all(|h| h.key != "k17"),
        "deleted key came back from the dump"
    );
    assert_eq!(keys(&after[..4]), keys(&before[1..5]));
    assert_eq!(vs.collection_stats(&db.read(), &scope, "c")?.count, 199);
    Ok(())
}

#[test]
fn concurrent_searches_and_writes() -> R {
    let db = Database::open_temporary()?;
    let vs = setup(&db, IndexConfig::default(), None);
    let scope = db.default_scope();
    write(&db, |tx| {
        vs.create_collection(tx, &scope, "c", 8, Metric::DotProduct)
    })?;
    let mut rng = Rng(2);
    write(&db, |tx| {
        for i in 0..200 {
            vs.upsert(tx, &scope, "c", &format!("k{i}"), &rng.vector(8), None)?;
        }
        Ok(())
    })?;
    let vs = Arc::new(vs);
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let (db, vs, scope) = (db.clone(), vs.clone(), scope.clone());
            s.spawn(move || {
                let mut rng = Rng(100 + t);
                for _ in 0..50 {
                    let hits = vs.search(&db.read(), &scope, "c", &rng.vector(8), 5, None, None);
                    assert_eq!(hits.map(|h| h.len()).ok(), Some(5));
                }
            });
        }
        let (db, vs, scope) = (db.clone(), vs.clone(), scope.clone());
        s.spawn(move || {
            let mut rng = Rng(9);
            for i in 0..50 {
                let v = rng.vector(8);
                write(&db, |tx| {
                    vs.upsert(tx, &scope, "c", &format!("w{i}"), &v, None)
                })
                .map_err(|e| e.to_string())
                .unwrap_or_else(|e| panic!("{e}"));
            }
        });
    });
    assert_eq!(vs.collection_stats(&db.read(), &scope, "c")?.count, 250);
    // The shared index agrees with an exact scan of the latest snapshot.
    let ts = db.head_timestamp();
    for _ in 0..5 {
        let q = rng.vector(8);
        let live = vs.search(&db.read(), &scope, "c", &q, 10, None, None)?;
        let scan = vs.search_as_of(&db.read(), &scope, "c", &q, 10, None, None, ts)?;
        assert_eq!(live, scan);
    }
    Ok(())
}
