//! JsonStore against the real engine (`Database::open_temporary`): writes, reads,
//! versions, time travel, deletes, listing, scopes and the stored layout.

use serde_json::json;
use strata_json::{JsonError, JsonStore};
use strata_storage::{
    tags, CommitVersion, Database, DatabaseOptions, Scope, Transaction, Value, VersionedStore,
};

fn doc(j: serde_json::Value) -> Value {
    Value::from(j)
}

fn open() -> (Database, Scope) {
    let db = Database::open_temporary().expect("temporary database opens");
    let scope = db.default_scope();
    (db, scope)
}

/// Runs `f` in a read-write transaction and commits it.
fn write<T>(
    db: &Database,
    f: impl FnOnce(&mut Transaction) -> Result<T, JsonError>,
) -> Result<(T, CommitVersion), JsonError> {
    let mut txn = db.begin(false);
    let out = f(&mut txn)?;
    Ok((out, txn.commit()?))
}

fn set(db: &Database, scope: &Scope, key: &str, path: &str, value: Value) -> CommitVersion {
    match write(db, |t| JsonStore::set(t, scope, key, path, value)) {
        Ok(((), v)) => v,
        Err(e) => panic!("set {key} {path}: {e}"),
    }
}

fn get(db: &Database, scope: &Scope, key: &str, path: &str) -> Option<Value> {
    match JsonStore::get(&db.read(), scope, key, path) {
        Ok(v) => v,
        Err(e) => panic!("get {key} {path}: {e}"),
    }
}

fn delete(db: &Database, scope: &Scope, key: &str, path: &str) -> usize {
    match write(db, |t| JsonStore::delete(t, scope, key, path)) {
        Ok((n, _)) => n,
        Err(e) => panic!("delete {key} {path}: {e}"),
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, JsonError>) -> &'static str {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

#[test]
fn set_get_and_overwrite() {
    let (db, s) = open();
    assert_eq!(get(&db, &s, "user:1", "$"), None);
    set(
        &db,
        &s,
        "user:1",
        "$",
        doc(json!({"name": "Alice", "age": 30})),
    );
    set(&db, &s, "user:1", "$.email", Value::from("a@example.com"));
    set(&db, &s, "user:1", "$.age", Value::Int(31));
    assert_eq!(
        get(&db, &s, "user:1", "$"),
        Some(doc(
            json!({"name": "Alice", "age": 31, "email": "a@example.com"})
        ))
    );
    assert_eq!(get(&db, &s, "user:1", "$.age"), Some(Value::Int(31)));
    assert_eq!(get(&db, &s, "user:1", "$.missing"), None);
    // Members keep insertion order (json! sorts its keys: age, name; then email).
    assert_eq!(
        get(&db, &s, "user:1", "$.*"),
        Some(doc(json!([31, "Alice", "a@example.com"])))
    );

    set(&db, &s, "user:1", "$", doc(json!([1, 2])));
    assert_eq!(get(&db, &s, "user:1", "$"), Some(doc(json!([1, 2]))));
    set(&db, &s, "user:1", "$[2]", Value::Int(3));
    assert_eq!(get(&db, &s, "user:1", "$[-1]"), Some(Value::Int(3)));
}

#[test]
fn missing_document_rules() {
    let (db, s) = open();
    // A non-root path on a missing document starts from an empty object.
    set(&db, &s, "cfg", "$.a.b", Value::Bool(true));
    assert_eq!(
        get(&db, &s, "cfg", "$"),
        Some(doc(json!({"a": {"b": true}})))
    );
    // ... so an index at the top is a type mismatch, and nothing is written.
    let r = write(&db, |t| {
        JsonStore::set(t, &s, "list", "$[0]", Value::Int(1))
    });
    assert_eq!(code(r), "type_mismatch");
    assert_eq!(get(&db, &s, "list", "$"), None);
    // The whole document must be an object or an array.
    for scalar in [Value::Int(1), Value::from("x"), Value::Null] {
        let r = write(&db, |t| JsonStore::set(t, &s, "cfg", "$", scalar.clone()));
        assert_eq!(code(r), "invalid_root");
    }
    assert_eq!(get(&db, &s, "cfg", "$.a.b"), Some(Value::Bool(true)));
}

#[test]
fn errors_are_clear_and_write_nothing() {
    let (db, s) = open();
    set(&db, &s, "d", "$", doc(json!({"n": 1, "l": [1]})));
    let before = JsonStore::history(&db.read(), &s, "d")
        .map(|h| h.len())
        .ok();

    let cases: [(&str, &str, &str); 5] = [
        ("d", "$.n.x", "type_mismatch"),
        ("d", "$.l[5]", "index_out_of_range"),
        ("d", "$.l[*]", "not_singular"),
        ("d", "$.l[", "invalid_path"),
        ("", "$.x", "invalid_key"),
    ];
    for (key, path, expected) in cases {
        let r = write(&db, |t| JsonStore::set(t, &s, key, path, Value::Int(0)));
        let err = match r {
            Ok(_) => panic!("{path} should fail"),
            Err(e) => e,
        };
        assert_eq!(err.code(), expected, "{path}: {err}");
        if expected != "invalid_key" {
            assert!(err.to_string().contains(path), "{err} should name {path}");
        }
    }
    assert_eq!(
        JsonStore::history(&db.read(), &s, "d")
            .map(|h| h.len())
            .ok(),
        before
    );

    let read_only = JsonStore::set(&mut db.read(), &s, "d", "$.n", Value::Int(2));
    assert!(matches!(read_only, Err(JsonError::Storage(_))));
}

#[test]
fn key_validation() {
    let (db, s) = open();
    let snap = db.read();
    let long = "k".repeat(strata_json::MAX_KEY_LEN + 1);
    for key in ["", "a\0b", long.as_str()] {
        assert_eq!(code(JsonStore::get(&snap, &s, key, "$")), "invalid_key");
        assert_eq!(code(JsonStore::history(&snap, &s, key)), "invalid_key");
    }
    let max = "k".repeat(strata_json::MAX_KEY_LEN);
    set(&db, &s, &max, "$", doc(json!({})));
    assert_eq!(get(&db, &s, &max, "$"), Some(doc(json!({}))));
}

#[test]
fn versions_history_and_time_travel() {
    let (db, s) = open();
    let v1 = set(&db, &s, "doc", "$", doc(json!({"step": 1})));
    let v2 = set(&db, &s, "doc", "$.step", Value::Int(2));
    assert_eq!(delete(&db, &s, "doc", "$.step"), 1);
    assert_eq!(delete(&db, &s, "doc", "$"), 1);
    let snap = db.read();

    let versioned = JsonStore::get_versioned(&snap, &s, "doc").ok().flatten();
    assert_eq!(versioned, None, "deleted document");

    let history = JsonStore::history(&snap, &s, "doc").unwrap_or_default();
    assert_eq!(history.len(), 4, "{history:?}");
    assert_eq!(history[0].value, None, "newest first: the tombstone");
    assert_eq!(history[1].value, Some(doc(json!({}))));
    assert_eq!(history[2].value, Some(doc(json!({"step": 2}))));
    assert_eq!(history[2].version, v2);
    assert_eq!(history[3].version, v1);
    assert!(history.windows(2).all(|w| w[0].version > w[1].version));
    assert!(history.windows(2).all(|w| w[0].timestamp > w[1].timestamp));

    let at = |ts| {
        JsonStore::get_as_of(&snap, &s, "doc", "$.step", ts)
            .ok()
            .flatten()
    };
    assert_eq!(at(history[3].timestamp), Some(Value::Int(1)));
    assert_eq!(at(history[2].timestamp), Some(Value::Int(2)));
    assert_eq!(at(history[2].timestamp - 1), Some(Value::Int(1)));
    assert_eq!(at(history[1].timestamp), None, "member deleted");
    assert_eq!(
        at(history[3].timestamp - 1),
        None,
        "before the document existed"
    );
    let whole = JsonStore::get_as_of(&snap, &s, "doc", "$", history[1].timestamp);
    assert_eq!(whole.ok().flatten(), Some(doc(json!({}))));

    // Re-creating after a delete starts a new version on top of the history.
    let v5 = set(&db, &s, "doc", "$", doc(json!({"step": 5})));
    let versioned = JsonStore::get_versioned(&db.read(), &s, "doc")
        .ok()
        .flatten();
    assert_eq!(versioned.as_ref().map(|v| v.version), Some(v5));
    assert_eq!(versioned.map(|v| v.value), Some(doc(json!({"step": 5}))));
}

#[test]
fn deletes_count_and_skip_empty_writes() {
    let (db, s) = open();
    set(
        &db,
        &s,
        "todo",
        "$",
        doc(json!({"items": [
            {"t": "a", "done": true},
            {"t": "b", "done": false},
            {"t": "c", "done": true}
        ]})),
    );
    assert_eq!(delete(&db, &s, "todo", "$.items[?@.done == true]"), 2);
    assert_eq!(
        get(&db, &s, "todo", "$.items[*].t"),
        Some(doc(json!(["b"])))
    );
    let versions = |db: &Database| {
        JsonStore::history(&db.read(), &s, "todo")
            .map(|h| h.len())
            .ok()
    };
    let before = versions(&db);
    assert_eq!(delete(&db, &s, "todo", "$.items[?@.done == true]"), 0);
    assert_eq!(delete(&db, &s, "todo", "$.nothing"), 0);
    assert_eq!(
        versions(&db),
        before,
        "a delete that removes nothing writes nothing"
    );
    assert_eq!(delete(&db, &s, "absent", "$.x"), 0);
    assert_eq!(delete(&db, &s, "absent", "$"), 0);
    assert_eq!(delete(&db, &s, "todo", "$"), 1);
    assert_eq!(get(&db, &s, "todo", "$"), None);
    assert_eq!(delete(&db, &s, "todo", "$"), 0);
}

#[test]
fn read_your_writes_and_rollback() {
    let (db, s) = open();
    let mut txn = db.begin(false);
    JsonStore::set(&mut txn, &s, "k", "$.a", Value::Int(1)).ok();
    JsonStore::set(&mut txn, &s, "k", "$.b", Value::Int(2)).ok();
    assert_eq!(
        JsonStore::get(&txn, &s, "k", "$").ok().flatten(),
        Some(doc(json!({"a": 1, "b": 2})))
    );
    let (keys, _) = JsonStore::list(&txn, &s, "", 10, None).unwrap_or_default();
    assert_eq!(keys, ["k"]);
    assert_eq!(get(&db, &s, "k", "$"), None, "not visible before commit");
    txn.rollback();
    assert_eq!(get(&db, &s, "k", "$"), None);
}

#[test]
fn list_paginates_exactly() {
    let (db, s) = open();
    let keys = [
        "a", "user:1", "user:10", "user:2", "user:3", "user:4", "usr", "z",
    ];
    write(&db, |t| {
        for k in keys {
            JsonStore::set(t, &s, k, "$", doc(json!({"k": k})))?;
        }
        Ok(())
    })
    .ok();
    delete(&db, &s, "user:3", "$");
    let snap = db.read();

    let page = |prefix: &str, limit, cursor: Option<&str>| {
        JsonStore::list(&snap, &s, prefix, limit, cursor).unwrap_or_default()
    };
    let all: Vec<String> = ["user:1", "user:10", "user:2", "user:4"]
        .map(String::from)
        .into();
    assert_eq!(page("user:", 10, None), (all.clone(), None));
    assert_eq!(
        page("user:", 4, None),
        (all.clone(), None),
        "exact fit: no cursor"
    );

    for limit in 1..=5 {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (keys, next) = page("user:", limit, cursor.as_deref());
            assert!(keys.len() <= limit);
            seen.extend(keys.iter().cloned());
            match next {
                Some(c) => {
                    assert_eq!(Some(&c), keys.last(), "cursor is the last key returned");
                    cursor = Some(c);
                }
                None => break,
            }
        }
        assert_eq!(seen, all, "limit {limit}");
    }
    assert_eq!(page("", 100, None).0.len(), keys.len() - 1);
    assert_eq!(page("nope", 3, None), (Vec::new(), None));
    assert_eq!(
        page("user:", 3, Some("user:2")),
        (vec!["user:4".to_owned()], None)
    );
    assert_eq!(
        code(JsonStore::list(&snap, &s, "", 0, None)),
        "invalid_argument"
    );
}

#[test]
fn scopes_and_branches_are_isolated() {
    let (db, main) = open();
    db.create_space(main.branch, "other").ok();
    let other = Scope::new(main.branch, "other");
    set(&db, &main, "d", "$", doc(json!({"where": "main"})));
    set(&db, &other, "d", "$", doc(json!({"where": "other"})));
    assert_eq!(get(&db, &main, "d", "$.where"), Some(Value::from("main")));
    assert_eq!(get(&db, &other, "d", "$.where"), Some(Value::from("other")));

    let forked = db.fork_branch("default", "exp").map(|(id, _)| id);
    let Ok(forked) = forked else {
        panic!("fork failed: {forked:?}")
    };
    let exp = Scope::new(forked, "default");
    assert_eq!(get(&db, &exp, "d", "$.where"), Some(Value::from("main")));
    set(&db, &exp, "d", "$.where", Value::from("exp"));
    assert_eq!(get(&db, &exp, "d", "$.where"), Some(Value::from("exp")));
    assert_eq!(get(&db, &main, "d", "$.where"), Some(Value::from("main")));
}

#[test]
fn stored_layout_is_the_whole_document_under_the_key_bytes() {
    let (db, s) = open();
    set(&db, &s, "user:1", "$", doc(json!({"name": "Alice"})));
    set(&db, &s, "user:1", "$.tags", doc(json!(["x"])));
    let raw = db.read().get(&s, tags::JSON, b"user:1").ok().flatten();
    assert_eq!(
        raw.map(|v| v.value),
        Some(doc(json!({"name": "Alice", "tags": ["x"]})))
    );
}

#[test]
fn documents_survive_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ts;
    {
        let db = Database::open(dir.path(), DatabaseOptions::default()).expect("opens");
        let s = db.default_scope();
        set(&db, &s, "d", "$", doc(json!({"v": 1})));
        set(&db, &s, "d", "$.v", Value::Int(2));
        ts = JsonStore::history(&db.read(), &s, "d")
            .ok()
            .and_then(|h| h.last().map(|e| e.timestamp))
            .unwrap_or_default();
    }
    let db = Database::open(dir.path(), DatabaseOptions::default()).expect("reopens");
    let s = db.default_scope();
    assert_eq!(get(&db, &s, "d", "$.v"), Some(Value::Int(2)));
    let old = JsonStore::get_as_of(&db.read(), &s, "d", "$.v", ts);
    assert_eq!(old.ok().flatten(), Some(Value::Int(1)));
}

#[test]
fn concurrent_path_writes_to_one_document_conflict() {
    let (db, s) = open();
    set(&db, &s, "d", "$", doc(json!({"a": 0, "b": 0})));
    let mut first = db.begin(false);
    let mut second = db.begin(false);
    JsonStore::set(&mut first, &s, "d", "$.a", Value::Int(1)).ok();
    JsonStore::set(&mut second, &s, "d", "$.b", Value::Int(2)).ok();
    assert!(first.commit().is_ok());
    let lost = second.commit().map_err(|e| e.code());
    assert_eq!(
        lost,
        Err("conflict"),
        "the second writer must not overwrite the first"
    );
    assert_eq!(get(&db, &s, "d", "$"), Some(doc(json!({"a": 1, "b": 0}))));
}

#[test]
fn set_root_committed_is_a_commit_of_its_own() {
    let (db, s) = open();
    let v1 = JsonStore::set_root_committed(&db, &s, "doc", doc(json!({"a": 1}))).expect("set");
    assert_eq!(db.committed_version(), v1);
    assert_eq!(get(&db, &s, "doc", "$.a"), Some(Value::Int(1)));
    let v2 = JsonStore::set_root_committed(&db, &s, "doc", doc(json!([1, 2]))).expect("replace");
    assert!(v2 > v1);
    assert_eq!(get(&db, &s, "doc", "$"), Some(doc(json!([1, 2]))));
    // The replaced version stays in the document's history.
    let history = JsonStore::history(&db.read(), &s, "doc").expect("history");
    assert_eq!(history.len(), 2, "{history:?}");

    // Bad input is refused and leaves the database as it was.
    let before = db.committed_version();
    let err =
        JsonStore::set_root_committed(&db, &s, "doc", Value::Int(5)).expect_err("scalar root");
    assert!(matches!(err, JsonError::InvalidRoot { .. }), "{err}");
    let err = JsonStore::set_root_committed(&db, &s, "", doc(json!({}))).expect_err("empty key");
    assert!(matches!(err, JsonError::InvalidKey(_)), "{err}");
    let mut deep = Value::Array(vec![]);
    for _ in 0..strata_storage::MAX_NESTING + 1 {
        deep = Value::Array(vec![deep]);
    }
    let err = JsonStore::set_root_committed(&db, &s, "doc", deep).expect_err("too deep");
    assert!(matches!(err, JsonError::TooDeep { .. }), "{err}");
    assert_eq!(db.committed_version(), before);
    assert_eq!(get(&db, &s, "doc", "$"), Some(doc(json!([1, 2]))));
}
