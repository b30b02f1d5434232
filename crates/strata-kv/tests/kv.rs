//! KV behaviour against a real temporary database: CRUD, time travel, transactions,
//! branches, spaces, isolation and pagination.

use strata_kv::{KvError, MAX_KEY_LEN};
use strata_storage::{CommitVersion, Database, Scope, StorageError, Timestamp, Value};

fn open() -> (Database, Scope) {
    let db = Database::open_temporary().expect("open");
    let scope = db.default_scope();
    (db, scope)
}

fn put(db: &Database, scope: &Scope, key: &str, value: impl Into<Value>) -> CommitVersion {
    let value = value.into();
    db.transact(|t| Ok(strata_kv::put(t, scope, key, value.clone())?))
        .expect("put")
        .1
}

fn del(db: &Database, scope: &Scope, key: &str) -> (bool, CommitVersion) {
    db.transact(|t| Ok(strata_kv::delete(t, scope, key)?))
        .expect("delete")
}

fn get(db: &Database, scope: &Scope, key: &str) -> Option<Value> {
    strata_kv::get(&db.read(), scope, key).expect("get")
}

fn ts_of(db: &Database, scope: &Scope, key: &str, version: CommitVersion) -> Timestamp {
    strata_kv::history(&db.read(), scope, key)
        .expect("history")
        .into_iter()
        .find(|h| h.version == version)
        .expect("version in history")
        .timestamp
}

#[test]
fn put_get_overwrite_and_versions() {
    let (db, s) = open();
    let v1 = put(&db, &s, "user:1", "Ada");
    let v2 = put(&db, &s, "user:1", "Grace");
    assert!(v2 > v1);
    assert_eq!(get(&db, &s, "user:1"), Some(Value::from("Grace")));
    let vv = strata_kv::get_versioned(&db.read(), &s, "user:1")
        .expect("get")
        .expect("present");
    assert_eq!(vv.version, v2);
    assert!(vv.timestamp > 0);
    let h = strata_kv::history(&db.read(), &s, "user:1").expect("history");
    let versions: Vec<_> = h.iter().map(|e| e.version).collect();
    assert_eq!(versions, vec![v2, v1], "history is newest first");
    assert_eq!(h[1].value, Some(Value::from("Ada")));
    assert!(h[0].timestamp > h[1].timestamp);
}

#[test]
fn missing_keys() {
    let (db, s) = open();
    let snap = db.read();
    assert_eq!(strata_kv::get(&snap, &s, "nope").expect("get"), None);
    assert_eq!(
        strata_kv::get_versioned(&snap, &s, "nope").expect("get"),
        None
    );
    assert_eq!(
        strata_kv::get_as_of(&snap, &s, "nope", u64::MAX).expect("get"),
        None
    );
    assert!(strata_kv::history(&snap, &s, "nope")
        .expect("history")
        .is_empty());
    let (existed, _) = del(&db, &s, "nope");
    assert!(!existed);
    assert_eq!(
        db.committed_version(),
        CommitVersion(0),
        "deleting nothing writes nothing"
    );
}

#[test]
fn bad_keys_are_refused_clearly_everywhere() {
    let (db, s) = open();
    let long = "x".repeat(MAX_KEY_LEN + 1);
    for bad in ["", "a\0b", long.as_str()] {
        let mut t = db.begin(false);
        let e = strata_kv::put(&mut t, &s, bad, Value::Null).expect_err("put");
        assert!(matches!(e, KvError::InvalidKey(_)), "{e}");
        assert_eq!(e.code(), "invalid_key");
        assert!(strata_kv::get(&t, &s, bad).is_err());
        assert!(strata_kv::get_as_of(&t, &s, bad, 1).is_err());
        assert!(strata_kv::history(&t, &s, bad).is_err());
        assert!(strata_kv::delete(&mut t, &s, bad).is_err());
        assert_eq!(t.pending_writes(), 0);
    }
    // Converted for `transact` closures, the error stays an input error.
    let err = db
        .transact(|t| Ok(strata_kv::put(t, &s, "", Value::Null)?))
        .expect_err("empty key");
    assert!(matches!(err, StorageError::InvalidInput(_)), "{err}");
    // The maximum length and arbitrary Unicode are fine.
    put(&db, &s, &"k".repeat(MAX_KEY_LEN), 1);
    put(&db, &s, "ключ 🔑", 2);
    assert_eq!(get(&db, &s, "ключ 🔑"), Some(Value::Int(2)));
}

#[test]
fn time_travel_across_delete_and_recreate() {
    let (db, s) = open();
    let v1 = put(&db, &s, "k", 1);
    let (existed, v2) = del(&db, &s, "k");
    assert!(existed);
    let v3 = put(&db, &s, "k", 3);
    let (t1, t2, t3) = (
        ts_of(&db, &s, "k", v1),
        ts_of(&db, &s, "k", v2),
        ts_of(&db, &s, "k", v3),
    );
    let snap = db.read();
    let at = |ts| strata_kv::get_as_of(&snap, &s, "k", ts).expect("as_of");
    assert_eq!(at(t1 - 1), None, "before the first write");
    assert_eq!(
        at(t1).map(|v| (v.value, v.version)),
        Some((Value::Int(1), v1))
    );
    assert_eq!(at(t2 - 1).map(|v| v.value), Some(Value::Int(1)));
    assert_eq!(at(t2), None, "deleted");
    assert_eq!(
        at(t3).map(|v| (v.value, v.version)),
        Some((Value::Int(3), v3))
    );
    let h = strata_kv::history(&snap, &s, "k").expect("history");
    let shape: Vec<_> = h.iter().map(|e| (e.version, e.value.clone())).collect();
    assert_eq!(
        shape,
        vec![
            (v3, Some(Value::Int(3))),
            (v2, None),
            (v1, Some(Value::Int(1)))
        ]
    );
}

#[test]
fn explicit_transaction_reads_its_writes_and_rolls_back() {
    let (db, s) = open();
    put(&db, &s, "keep", 0);
    let mut t = db.begin(false);
    strata_kv::put(&mut t, &s, "a", Value::Int(1)).expect("put");
    assert!(strata_kv::delete(&mut t, &s, "keep").expect("delete"));
    assert_eq!(
        strata_kv::get(&t, &s, "a").expect("get"),
        Some(Value::Int(1))
    );
    let pending = strata_kv::get_versioned(&t, &s, "a")
        .expect("get")
        .expect("present");
    assert_eq!(
        pending.version,
        CommitVersion(0),
        "uncommitted writes have no version yet"
    );
    assert_eq!(
        strata_kv::list(&t, &s, "").expect("list"),
        vec!["a".to_string()]
    );
    t.rollback();
    assert_eq!(get(&db, &s, "a"), None);
    assert_eq!(get(&db, &s, "keep"), Some(Value::Int(0)));

    let mut t = db.begin(false);
    strata_kv::put(&mut t, &s, "a", Value::Int(2)).expect("put");
    let v = t.commit().expect("commit");
    let got = strata_kv::get_versioned(&db.read(), &s, "a")
        .expect("get")
        .expect("present");
    assert_eq!((got.value, got.version), (Value::Int(2), v));
}

#[test]
fn read_only_transaction_refuses_writes() {
    let (db, s) = open();
    let mut snap = db.read();
    let e = strata_kv::put(&mut snap, &s, "a", Value::Int(1)).expect_err("read-only");
    assert_eq!(e.code(), "not_allowed", "{e}");
}

#[test]
fn snapshot_isolation() {
    let (db, s) = open();
    put(&db, &s, "a", 1);
    let reader = db.read();
    put(&db, &s, "a", 2);
    put(&db, &s, "b", 3);
    assert_eq!(
        strata_kv::get(&reader, &s, "a").expect("get"),
        Some(Value::Int(1))
    );
    assert_eq!(strata_kv::get(&reader, &s, "b").expect("get"), None);
    assert_eq!(strata_kv::list(&reader, &s, "").expect("list"), vec!["a"]);
    assert_eq!(get(&db, &s, "a"), Some(Value::Int(2)));
}

#[test]
fn branches_and_spaces_are_separate() {
    let (db, s) = open();
    put(&db, &s, "k", "default");

    let empty = db.create_branch("empty").expect("branch");
    let es = Scope::new(empty, "default");
    assert_eq!(get(&db, &es, "k"), None, "a new branch starts empty");
    put(&db, &es, "k", "empty-branch");

    let (fork, _) = db.fork_branch("default", "fork").expect("fork");
    let fs = Scope::new(fork, "default");
    assert_eq!(
        get(&db, &fs, "k"),
        Some(Value::from("default")),
        "forks inherit"
    );
    put(&db, &fs, "k", "fork");
    put(&db, &fs, "only-in-fork", 1);
    assert!(del(&db, &fs, "k").0);

    let other = Scope::new(s.branch, "other");
    put(&db, &other, "k", "other-space");

    assert_eq!(get(&db, &s, "k"), Some(Value::from("default")));
    assert_eq!(get(&db, &es, "k"), Some(Value::from("empty-branch")));
    assert_eq!(get(&db, &fs, "k"), None);
    assert_eq!(get(&db, &other, "k"), Some(Value::from("other-space")));
    assert_eq!(
        strata_kv::list(&db.read(), &s, "").expect("list"),
        vec!["k"]
    );
    assert_eq!(
        strata_kv::list(&db.read(), &fs, "").expect("list"),
        vec!["only-in-fork"]
    );
    // The fork's history includes what it inherited.
    assert_eq!(
        strata_kv::history(&db.read(), &fs, "k")
            .expect("history")
            .len(),
        3
    );
}

#[test]
fn list_by_prefix() {
    let (db, s) = open();
    for k in ["user:2", "user:1", "users", "order:1", "user:3"] {
        put(&db, &s, k, 0);
    }
    del(&db, &s, "user:3");
    let snap = db.read();
    assert_eq!(
        strata_kv::list(&snap, &s, "user:").expect("list"),
        vec!["user:1", "user:2"]
    );
    assert_eq!(strata_kv::list(&snap, &s, "").expect("list").len(), 4);
    assert!(strata_kv::list(&snap, &s, "zzz").expect("list").is_empty());
}

#[test]
fn pagination_walks_every_key_once() {
    let (db, s) = open();
    db.transact(|t| {
        for i in 0..25 {
            strata_kv::put(t, &s, &format!("p:{i:02}"), Value::Int(i))?;
        }
        strata_kv::put(t, &s, "q:0", Value::Null)?;
        Ok(())
    })
    .expect("fill");
    let snap = db.read();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page =
            strata_kv::list_paginated(&snap, &s, "p:", Some(10), cursor.as_deref()).expect("page");
        assert!(page.keys.len() <= 10);
        seen.extend(page.keys);
        pages += 1;
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("p:{i:02}")).collect();
    assert_eq!(seen, expected);
    // An exact multiple of the limit ends without an empty trailing page.
    let all = strata_kv::list_paginated(&snap, &s, "p:", Some(25), None).expect("page");
    assert_eq!((all.keys.len(), all.cursor), (25, None));
    let none = strata_kv::list_paginated(&snap, &s, "p:", None, None).expect("page");
    assert_eq!((none.keys.len(), none.cursor), (25, None));
    let e = strata_kv::list_paginated(&snap, &s, "p:", Some(0), None).expect_err("limit 0");
    assert_eq!(e.code(), "invalid_argument");
}

#[test]
fn cursor_resumes_exactly_after_the_last_key_under_concurrent_changes() {
    let (db, s) = open();
    for k in ["b", "d", "f", "h"] {
        put(&db, &s, k, 0);
    }
    let page1 = strata_kv::list_paginated(&db.read(), &s, "", Some(2), None).expect("page");
    assert_eq!(page1.keys, vec!["b", "d"]);
    assert_eq!(page1.cursor.as_deref(), Some("d"));
    // Between pages: insert before and after the cursor, delete the cursor key itself.
    put(&db, &s, "a", 0);
    put(&db, &s, "c", 0);
    put(&db, &s, "e", 0);
    del(&db, &s, "d");
    let page2 = strata_kv::list_paginated(&db.read(), &s, "", Some(2), page1.cursor.as_deref())
        .expect("page");
    assert_eq!(
        page2.keys,
        vec!["e", "f"],
        "no repeats, nothing before the cursor"
    );
    let page3 = strata_kv::list_paginated(&db.read(), &s, "", Some(2), page2.cursor.as_deref())
        .expect("page");
    assert_eq!((page3.keys, page3.cursor), (vec!["h".to_string()], None));
}

#[test]
fn cursor_outside_the_prefix() {
    let (db, s) = open();
    // "b" sits between the cursor "a" and the prefix "m:".
    for k in ["a", "b", "m:1", "m:2", "z"] {
        put(&db, &s, k, 0);
    }
    let snap = db.read();
    let before = strata_kv::list_paginated(&snap, &s, "m:", None, Some("a")).expect("page");
    assert_eq!(
        before.keys,
        vec!["m:1", "m:2"],
        "a cursor before the prefix starts it"
    );
    let after = strata_kv::list_paginated(&snap, &s, "m:", None, Some("n")).expect("page");
    assert!(after.keys.is_empty());
    let mid = strata_kv::list_paginated(&snap, &s, "m:", None, Some("m:1")).expect("page");
    assert_eq!(mid.keys, vec!["m:2"]);
}

#[test]
fn put_committed_validates_like_put_and_commits_at_once() {
    let (db, s) = open();
    let v = strata_kv::put_committed(&db, &s, "a", Value::from("x")).expect("put");
    assert_eq!(v, db.committed_version());
    assert_eq!(get(&db, &s, "a"), Some(Value::from("x")));
    for bad in ["", &"k".repeat(MAX_KEY_LEN + 1)] {
        let err = strata_kv::put_committed(&db, &s, bad, Value::Int(1)).expect_err("bad key");
        assert!(matches!(err, KvError::InvalidKey(_)), "{err}");
    }
    assert_eq!(db.committed_version(), v);
}
