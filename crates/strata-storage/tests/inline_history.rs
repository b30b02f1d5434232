//! Inline history and history chunks (key layout 3): a key's recent superseded
//! versions ride in its latest record and move to history as one chunk when that is
//! full. Every read of the past must see exactly the versions a plain model holds,
//! across chunk boundaries, large values (which skip inlining), tombstones, writes
//! without history, forks and reopens.

use strata_storage::{tags, Database, DatabaseOptions, Scope, Timestamp, Value, VersionedStore};

/// One version as the model keeps it: (version, timestamp, value or tombstone).
type Version = (u64, Timestamp, Option<Value>);

fn value_for(i: usize) -> Value {
    match i % 7 {
        // Larger than the inline budget: stored in history as a record of its own.
        3 => Value::String("x".repeat(700 + i)),
        5 => Value::String(format!("medium value {i} {}", "y".repeat(90))),
        _ => Value::Int(i as i64),
    }
}

/// Writes `n` versions of `key` (every ninth a delete) and returns them, oldest first.
fn write_versions(db: &Database, s: &Scope, key: &[u8], n: usize) -> Vec<Version> {
    let mut out = Vec::new();
    for i in 0..n {
        let value = (i % 9 != 8).then(|| value_for(i));
        db.transact(|t| match &value {
            Some(v) => t.put(s, tags::KV, key, v.clone()),
            None => t.delete(s, tags::KV, key).map(|_| ()),
        })
        .expect("write");
        let r = db.read();
        let (version, ts) = match r.get(s, tags::KV, key).expect("get") {
            Some(v) => (v.version.0, v.timestamp),
            None => {
                let h = r.history(s, tags::KV, key).expect("history");
                (h[0].version.0, h[0].timestamp)
            }
        };
        out.push((version, ts, value));
    }
    out
}

/// Checks history, every point-in-time read and scans as of every timestamp.
fn check(db: &Database, s: &Scope, key: &[u8], versions: &[Version]) {
    let r = db.read();
    let hist = r.history(s, tags::KV, key).expect("history");
    let got: Vec<Version> = hist
        .iter()
        .map(|h| (h.version.0, h.timestamp, h.value.clone()))
        .collect();
    let want: Vec<Version> = versions.iter().rev().cloned().collect();
    assert_eq!(got, want, "history");
    for (i, (_, ts, value)) in versions.iter().enumerate() {
        let at = r.get_as_of(s, tags::KV, key, *ts).expect("as of");
        assert_eq!(at.map(|v| v.value), value.clone(), "get_as_of version #{i}");
        let scanned = r.scan_as_of(s, tags::KV, b"", *ts).expect("scan as of");
        let mine: Vec<_> = scanned
            .into_iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.value)
            .collect();
        assert_eq!(
            mine,
            value.iter().cloned().collect::<Vec<_>>(),
            "scan_as_of #{i}"
        );
        // Between this version and the next: still this one.
        let mid = r.get_as_of(s, tags::KV, key, ts + 1).expect("as of");
        if versions.get(i + 1).is_none_or(|n| n.1 > ts + 1) {
            assert_eq!(mid.map(|v| v.value), value.clone(), "just after #{i}");
        }
    }
    let before = r
        .get_as_of(s, tags::KV, key, versions[0].1 - 1)
        .expect("before");
    assert!(before.is_none(), "nothing before the first version");
    let latest = r.get(s, tags::KV, key).expect("get").map(|v| v.value);
    assert_eq!(latest, versions.last().and_then(|v| v.2.clone()), "latest");
}

#[test]
fn every_version_reads_back_across_chunks_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let (a, b);
    {
        let db = Database::open(&path, DatabaseOptions::default()).expect("open");
        let s = db.default_scope();
        // Several chunks' worth, with big values and deletes mixed in.
        a = write_versions(&db, &s, b"a", 61);
        // A key overwritten a few times only: inline entries, no chunk yet.
        b = write_versions(&db, &s, b"b", 5);
        check(&db, &s, b"a", &a);
        check(&db, &s, b"b", &b);
    }
    let db = Database::open(&path, DatabaseOptions::default()).expect("reopen");
    let s = db.default_scope();
    check(&db, &s, b"a", &a);
    check(&db, &s, b"b", &b);
    assert_eq!(
        db.total_live_keys(),
        2 - u64::from(a.last().expect("versions").2.is_none())
    );
}

#[test]
fn a_fork_keeps_its_view_while_the_parent_moves_on() {
    let db = Database::open_temporary().expect("open");
    let main = db.default_scope();
    let before = write_versions(&db, &main, b"k", 13);
    db.fork_branch("default", "exp").expect("fork");
    let exp = Scope::new(db.branch_id("exp").expect("id"), "default");
    let after = write_versions(&db, &main, b"k", 20);
    // The fork sees the parent's versions up to the fork point, through the
    // parent's inline entries and chunks written after it.
    check(&db, &exp, b"k", &before);
    let mut all = before.clone();
    all.extend(after.iter().cloned());
    check(&db, &main, b"k", &all);
    // The fork's own writes start its own history above the inherited one.
    let own = write_versions(&db, &exp, b"k", 10);
    let mut forked = before;
    forked.extend(own);
    check(&db, &exp, b"k", &forked);
}

#[test]
fn a_key_switched_to_writes_without_history_keeps_its_last_ordinary_version() {
    let db = Database::open_temporary().expect("open");
    let s = db.default_scope();
    let ordinary = write_versions(&db, &s, b"h", 6);
    let last = ordinary.last().expect("versions").clone();
    db.transact(|t| t.put_without_history(&s, tags::KV, b"h", Value::Int(-1)))
        .expect("put");
    db.transact(|t| t.put_without_history(&s, tags::KV, b"h", Value::Int(-2)))
        .expect("put");
    let r = db.read();
    assert_eq!(
        r.get(&s, tags::KV, b"h").expect("get").map(|v| v.value),
        Some(Value::Int(-2))
    );
    // The version that was newest before the switch still answers at its time; the
    // ones before it were ordinary and stay too (they were inline entries).
    let at = r.get_as_of(&s, tags::KV, b"h", last.1).expect("as of");
    assert_eq!(at.map(|v| v.value), last.2);
    for (_, ts, value) in &ordinary {
        let at = r.get_as_of(&s, tags::KV, b"h", *ts).expect("as of");
        assert_eq!(at.map(|v| v.value), value.clone());
    }
}

/// Reads the layout record of the (closed) database at `path` with raw fjall and,
/// if `set` is given, replaces it.
fn layout_record(path: &std::path::Path, set: Option<u8>) -> Option<Vec<u8>> {
    let raw = fjall::Database::builder(path).open().expect("raw open");
    let meta = raw
        .keyspace("meta", fjall::KeyspaceCreateOptions::default)
        .expect("meta");
    let found = meta.get("layout").expect("get").map(|v| v.to_vec());
    if let Some(v) = set {
        meta.insert("layout", [v]).expect("insert");
        raw.persist(fjall::PersistMode::SyncAll).expect("persist");
    }
    found
}

#[test]
fn a_layout_2_database_opens_and_is_marked_layout_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let versions;
    {
        let db = Database::open(&path, DatabaseOptions::default()).expect("open");
        let s = db.default_scope();
        versions = write_versions(&db, &s, b"k", 3);
    }
    assert_eq!(layout_record(&path, Some(2)), Some(vec![3u8]));
    {
        let db = Database::open(&path, DatabaseOptions::default()).expect("layout 2 opens");
        check(&db, &db.default_scope(), b"k", &versions);
    }
    assert_eq!(layout_record(&path, None), Some(vec![3u8]));
}
