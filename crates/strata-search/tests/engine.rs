//! The search service on a real database: freshness after commits, deletes and
//! overwrites, each primitive's text, isolation of branches and spaces, time ranges,
//! catalog events and reopen.

use std::sync::Arc;
use strata_search::{
    parse_iso8601, SearchConfig, SearchError, SearchHit, SearchIndex, SearchMode, SearchRequest,
};
use strata_storage::{tags, Database, DatabaseOptions, PrimitiveTag, Scope, Value, VersionedStore};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn put(db: &Database, scope: &Scope, tag: PrimitiveTag, key: &[u8], value: Value) -> TestResult {
    db.transact(|t| t.put(scope, tag, key, value.clone()))?;
    Ok(())
}

fn keyword(q: &str) -> SearchRequest {
    SearchRequest::new(q).mode(SearchMode::Keyword)
}

fn found(hits: &[SearchHit]) -> Vec<(String, String)> {
    hits.iter()
        .map(|h| (h.primitive.clone(), h.entity.clone()))
        .collect()
}

fn pair(p: &str, e: &str) -> (String, String) {
    (p.to_owned(), e.to_owned())
}

fn obj(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn event_key(seq: u64) -> Vec<u8> {
    let mut k = b"e".to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

#[test]
fn each_primitive_contributes_its_text() -> TestResult {
    let db = Database::open_temporary()?;
    let search = SearchIndex::attach(&db);
    let s = db.default_scope();
    put(&db, &s, tags::KV, b"k:1", Value::from("kv walrus"))?;
    put(
        &db,
        &s,
        tags::STATE,
        b"cell",
        obj(vec![("note", Value::from("state walrus"))]),
    )?;
    let doc = obj(vec![
        ("title", Value::from("json walrus")),
        ("severity", Value::from("critical")),
    ]);
    put(&db, &s, tags::JSON, b"doc-1", doc)?;
    let event = obj(vec![
        ("type", Value::from("walrus_sighting")),
        (
            "payload",
            obj(vec![("where", Value::from("event walrus beach"))]),
        ),
    ]);
    put(&db, &s, tags::EVENTS, &event_key(7), event)?;
    let vector = obj(vec![
        ("embedding", Value::Bytes(vec![0; 8])),
        (
            "metadata",
            obj(vec![("caption", Value::from("vector walrus"))]),
        ),
    ]);
    put(&db, &s, tags::VECTOR, b"vphotos\0img-3", vector)?;
    // Internal event keys and vector-collection configs are not documents.
    put(
        &db,
        &s,
        tags::EVENTS,
        b"t-walrus",
        Value::from("walrus index"),
    )?;
    put(
        &db,
        &s,
        tags::VECTOR,
        b"cwalrus",
        Value::from("walrus config"),
    )?;

    let hits = search.search(&db, &s, &keyword("walrus"))?;
    let mut got = found(&hits);
    got.sort();
    assert_eq!(
        got,
        vec![
            pair("event", "7"),
            pair("json", "doc-1"),
            pair("kv", "k:1"),
            pair("state", "cell"),
            pair("vector", "photos/img-3"),
        ]
    );
    let ranks: Vec<usize> = hits.iter().map(|h| h.rank).collect();
    assert_eq!(ranks, vec![1, 2, 3, 4, 5]);
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    // JSON field names are indexed as context; event type and payload both count.
    let by_field = search.search(&db, &s, &keyword("severity"))?;
    assert_eq!(found(&by_field), vec![pair("json", "doc-1")]);
    let by_type = search.search(&db, &s, &keyword("sighting beach"))?;
    assert_eq!(found(&by_type), vec![pair("event", "7")]);
    assert!(
        by_type[0].snippet.contains("event walrus beach"),
        "{}",
        by_type[0].snippet
    );
    Ok(())
}

#[test]
fn writes_overwrites_and_deletes_are_seen_after_commit() -> TestResult {
    let db = Database::open_temporary()?;
    let search = SearchIndex::attach(&db);
    let s = db.default_scope();
    put(&db, &s, tags::KV, b"a", Value::from("original zebra text"))?;
    // First query builds the index from the store.
    assert_eq!(
        found(&search.search(&db, &s, &keyword("zebra"))?),
        vec![pair("kv", "a")]
    );

    // Later commits arrive through the observer.
    put(&db, &s, tags::KV, b"b", Value::from("another zebra"))?;
    assert_eq!(search.search(&db, &s, &keyword("zebra"))?.len(), 2);
    put(&db, &s, tags::KV, b"a", Value::from("replaced by giraffe"))?;
    assert_eq!(
        found(&search.search(&db, &s, &keyword("zebra"))?),
        vec![pair("kv", "b")]
    );
    assert_eq!(
        found(&search.search(&db, &s, &keyword("giraffe"))?),
        vec![pair("kv", "a")]
    );
    db.transact(|t| t.delete(&s, tags::KV, b"b"))?;
    assert!(search.search(&db, &s, &keyword("zebra"))?.is_empty());
    // A value without text removes the document too.
    put(&db, &s, tags::KV, b"a", Value::from(true))?;
    assert!(search.search(&db, &s, &keyword("giraffe"))?.is_empty());
    assert_eq!(search.indexed_docs(&s), Some(0));

    // A second, freshly built index agrees.
    let fresh = SearchIndex::attach(&db);
    assert!(fresh.search(&db, &s, &keyword("zebra giraffe"))?.is_empty());
    Ok(())
}

#[test]
fn branches_and_spaces_are_isolated() -> TestResult {
    let db = Database::open_temporary()?;
    let search = SearchIndex::attach(&db);
    let main = db.default_scope();
    put(&db, &main, tags::KV, b"p", Value::from("parent otter"))?;
    assert_eq!(search.search(&db, &main, &keyword("otter"))?.len(), 1);

    let feature = Scope::new(db.create_branch("feature")?, "default");
    put(&db, &feature, tags::KV, b"f", Value::from("feature otter"))?;
    let notes = Scope::new(main.branch, "notes");
    put(&db, &notes, tags::KV, b"n", Value::from("notes otter"))?;

    assert_eq!(
        found(&search.search(&db, &main, &keyword("otter"))?),
        vec![pair("kv", "p")]
    );
    assert_eq!(
        found(&search.search(&db, &feature, &keyword("otter"))?),
        vec![pair("kv", "f")]
    );
    assert_eq!(
        found(&search.search(&db, &notes, &keyword("otter"))?),
        vec![pair("kv", "n")]
    );

    // A fork sees the parent's data; later writes on either side stay on their side.
    let (child_id, _) = db.fork_branch("default", "child")?;
    let child = Scope::new(child_id, "default");
    assert_eq!(
        found(&search.search(&db, &child, &keyword("otter"))?),
        vec![pair("kv", "p")]
    );
    put(&db, &child, tags::KV, b"c", Value::from("child beaver"))?;
    put(&db, &main, tags::KV, b"m", Value::from("main beaver"))?;
    db.transact(|t| t.delete(&child, tags::KV, b"p"))?;
    assert_eq!(
        found(&search.search(&db, &child, &keyword("beaver"))?),
        vec![pair("kv", "c")]
    );
    assert_eq!(
        found(&search.search(&db, &main, &keyword("beaver"))?),
        vec![pair("kv", "m")]
    );
    assert!(search.search(&db, &child, &keyword("otter"))?.is_empty());
    assert_eq!(
        found(&search.search(&db, &main, &keyword("otter"))?),
        vec![pair("kv", "p")]
    );
    Ok(())
}

#[test]
fn deleted_spaces_and_branches_are_rebuilt() -> TestResult {
    let db = Database::open_temporary()?;
    let search = SearchIndex::attach(&db);
    let notes = Scope::new(db.default_scope().branch, "notes");
    put(&db, &notes, tags::KV, b"n", Value::from("heron sighting"))?;
    assert_eq!(search.search(&db, &notes, &keyword("heron"))?.len(), 1);
    db.delete_space(notes.branch, "notes", true)?;
    put(&db, &notes, tags::KV, b"m", Value::from("crane sighting"))?;
    assert_eq!(
        found(&search.search(&db, &notes, &keyword("heron crane"))?),
        vec![pair("kv", "m")]
    );

    let tmp = Scope::new(db.create_branch("tmp")?, "default");
    put(&db, &tmp, tags::KV, b"t", Value::from("ephemeral pelican"))?;
    assert_eq!(search.search(&db, &tmp, &keyword("pelican"))?.len(), 1);
    db.delete_branch("tmp")?;
    assert_eq!(
        search.indexed_docs(&tmp),
        None,
        "the deleted branch's index is dropped"
    );
    let again = Scope::new(db.create_branch("tmp")?, "default");
    assert!(search.search(&db, &again, &keyword("pelican"))?.is_empty());
    Ok(())
}

#[test]
fn time_range_filters_by_commit_timestamp() -> TestResult {
    let db = Database::open_temporary()?;
    let search = SearchIndex::attach(&db);
    let s = db.default_scope();
    put(&db, &s, tags::KV, b"old", Value::from("lynx report"))?;
    let ts_old = db
        .read()
        .get(&s, tags::KV, b"old")?
        .map(|v| v.timestamp)
        .unwrap_or_default();
    // Build now so the second write goes through the observer path.
    assert_eq!(search.search(&db, &s, &keyword("lynx"))?.len(), 1);
    put(
        &db,
        &s,
        tags::JSON,
        b"new",
        obj(vec![("body", Value::from("lynx update"))]),
    )?;
    let ts_new = db
        .read()
        .get(&s, tags::JSON, b"new")?
        .map(|v| v.timestamp)
        .unwrap_or_default();
    assert!(ts_new > ts_old);

    let only_old = search.search(&db, &s, &keyword("lynx").time_range(ts_old, ts_old))?;
    assert_eq!(found(&only_old), vec![pair("kv", "old")]);
    let only_new = search.search(&db, &s, &keyword("lynx").time_range(ts_old + 1, u64::MAX))?;
    assert_eq!(found(&only_new), vec![pair("json", "new")]);
    let past = (
        parse_iso8601("2001-01-01")?,
        parse_iso8601("2001-12-31T23:59:59Z")?,
    );
    assert!(search
        .search(&db, &s, &keyword("lynx").time_range(past.0, past.1))?
        .is_empty());
    // Time range and primitive filters combine.
    let req = keyword("lynx").time_range(0, u64::MAX).primitives(["kv"]);
    assert_eq!(
        found(&search.search(&db, &s, &req)?),
        vec![pair("kv", "old")]
    );
    Ok(())
}

#[test]
fn primitive_filter_and_request_errors() -> TestResult {
    let db = Database::open_temporary()?;
    let search = SearchIndex::attach(&db);
    let s = db.default_scope();
    put(&db, &s, tags::KV, b"k", Value::from("moose"))?;
    put(
        &db,
        &s,
        tags::EVENTS,
        &event_key(1),
        obj(vec![("type", Value::from("moose"))]),
    )?;
    let events = search.search(&db, &s, &keyword("moose").primitives(["events"]))?;
    assert_eq!(found(&events), vec![pair("event", "1")]);
    let none = search.search(&db, &s, &keyword("moose").primitives(["vector"]))?;
    assert!(none.is_empty());

    let err = search
        .search(&db, &s, &keyword("moose").primitives(["graph"]))
        .expect_err("unknown primitive");
    assert!(
        matches!(err, SearchError::UnknownPrimitive(ref p) if p == "graph"),
        "{err}"
    );
    for bad in [
        keyword("   "),
        keyword("moose").k(0),
        keyword("moose").time_range(5, 4),
    ] {
        let err = search.search(&db, &s, &bad).expect_err("invalid");
        assert_eq!(err.code(), "invalid_input", "{err}");
    }
    let other = Database::open_temporary()?;
    let err = search
        .search(&other, &s, &keyword("moose"))
        .expect_err("wrong database");
    assert!(err.to_string().contains("belongs to the database"), "{err}");
    Ok(())
}

#[test]
fn k_limits_results_and_snippets_are_short() -> TestResult {
    let db = Database::open_temporary()?;
    let search = SearchIndex::attach(&db);
    let s = db.default_scope();
    let filler = "plain words without the magic term ".repeat(20);
    db.transact(|t| {
        for i in 0..30u32 {
            let text = format!("{filler} deployment failure number {i} {filler}");
            t.put(
                &s,
                tags::KV,
                format!("doc{i:02}").as_bytes(),
                Value::from(text),
            )?;
        }
        Ok(())
    })?;
    let hits = search.search(&db, &s, &keyword("deployment failures").k(5))?;
    assert_eq!(hits.len(), 5);
    for h in &hits {
        assert!(
            h.snippet.contains("deployment failure number"),
            "{}",
            h.snippet
        );
        assert!(h.snippet.chars().count() <= 162, "{}", h.snippet);
    }
    Ok(())
}

#[test]
fn pending_overflow_drops_and_rebuilds() -> TestResult {
    let db = Database::open_temporary()?;
    let config = SearchConfig {
        max_pending: 3,
        ..SearchConfig::default()
    };
    let search = SearchIndex::attach_with(&db, config);
    let s = db.default_scope();
    put(&db, &s, tags::KV, b"x", Value::from("version zero"))?;
    assert_eq!(search.search(&db, &s, &keyword("zero"))?.len(), 1);
    for i in 1..=10 {
        put(
            &db,
            &s,
            tags::KV,
            b"x",
            Value::from(format!("version v{i}")),
        )?;
    }
    assert!(search.search(&db, &s, &keyword("zero"))?.is_empty());
    assert_eq!(
        found(&search.search(&db, &s, &keyword("v10"))?),
        vec![pair("kv", "x")]
    );
    assert!(search.search(&db, &s, &keyword("v9"))?.is_empty());
    Ok(())
}

#[test]
fn reopened_database_is_searchable() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    {
        let db = Database::open(&path, DatabaseOptions::default())?;
        let s = db.default_scope();
        put(
            &db,
            &s,
            tags::KV,
            b"keep",
            Value::from("persistent albatross"),
        )?;
        put(&db, &s, tags::KV, b"gone", Value::from("deleted albatross"))?;
        db.transact(|t| t.delete(&s, tags::KV, b"gone"))?;
    }
    let db = Database::open(&path, DatabaseOptions::default())?;
    let search: Arc<SearchIndex> = SearchIndex::attach(&db);
    let hits = search.search(&db, &db.default_scope(), &keyword("albatross"))?;
    assert_eq!(found(&hits), vec![pair("kv", "keep")]);
    Ok(())
}
