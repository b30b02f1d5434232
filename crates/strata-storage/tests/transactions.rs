//! Transactions: conflicts, read-only, atomicity, time travel across deletes and reopen.

use std::sync::{Arc, Barrier};
use strata_storage::{tags, Database, DatabaseOptions, StorageError, Value, VersionedStore};

fn kv(db: &Database, k: &str) -> Option<Value> {
    let scope = db.default_scope();
    db.read()
        .get(&scope, tags::KV, k.as_bytes())
        .expect("get")
        .map(|v| v.value)
}

#[test]
fn first_committer_wins() {
    let db = Database::open_temporary().expect("open");
    let s = db.default_scope();
    let mut a = db.begin(false);
    let mut b = db.begin(false);
    a.put(&s, tags::KV, b"x", Value::Int(1)).expect("put");
    b.put(&s, tags::KV, b"x", Value::Int(2)).expect("put");
    a.commit().expect("first commit wins");
    let err = b.commit().expect_err("second must conflict");
    assert!(matches!(err, StorageError::Conflict(_)), "{err}");
    assert_eq!(kv(&db, "x"), Some(Value::Int(1)));
}

#[test]
fn disjoint_writes_do_not_conflict() {
    let db = Database::open_temporary().expect("open");
    let s = db.default_scope();
    let mut a = db.begin(false);
    let mut b = db.begin(false);
    a.put(&s, tags::KV, b"x", Value::Int(1)).expect("put");
    b.put(&s, tags::KV, b"y", Value::Int(2)).expect("put");
    a.commit().expect("commit");
    b.commit().expect("commit");
}

#[test]
fn conflicts_from_two_threads_lose_no_update() {
    let db = Database::open_temporary().expect("open");
    let s = db.default_scope();
    db.transact(|t| t.put(&s, tags::KV, b"counter", Value::Int(0)))
        .expect("init");
    let threads = 4;
    let per = 200;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let db = db.clone();
            let s = s.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..per {
                    db.transact(|t| {
                        let cur = t
                            .get(&s, tags::KV, b"counter")?
                            .and_then(|v| v.value.as_int())
                            .unwrap_or(0);
                        t.put(&s, tags::KV, b"counter", Value::Int(cur + 1))
                    })
                    .expect("increment");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    assert_eq!(kv(&db, "counter"), Some(Value::Int((threads * per) as i64)));
}

#[test]
fn read_only_refuses_writes() {
    let db = Database::open_temporary().expect("open");
    let s = db.default_scope();
    let mut t = db.begin(true);
    let err = t.put(&s, tags::KV, b"x", Value::Null).expect_err("refused");
    assert!(matches!(err, StorageError::NotAllowed(_)));
    let err = t.delete(&s, tags::KV, b"x").expect_err("refused");
    assert!(matches!(err, StorageError::NotAllowed(_)));
}

#[test]
fn snapshot_is_stable_and_rollback_discards() {
    let db = Database::open_temporary().expect("open");
    let s = db.default_scope();
    db.transact(|t| t.put(&s, tags::KV, b"a", Value::Int(1)))
        .expect("put");
    let snap = db.read();
    db.transact(|t| t.put(&s, tags::KV, b"a", Value::Int(2)))
        .expect("put");
    assert_eq!(
        snap.get(&s, tags::KV, b"a").expect("get").map(|v| v.value),
        Some(Value::Int(1))
    );
    let mut t = db.begin(false);
    t.put(&s, tags::KV, b"a", Value::Int(3)).expect("put");
    t.put(&s, tags::KV, b"b", Value::Int(3)).expect("put");
    t.rollback();
    assert_eq!(kv(&db, "a"), Some(Value::Int(2)));
    assert_eq!(kv(&db, "b"), None);
}

#[test]
fn multi_key_commit_is_atomic_and_one_version() {
    let db = Database::open_temporary().expect("open");
    let s = db.default_scope();
    let mut t = db.begin(false);
    for i in 0..10 {
        t.put(&s, tags::KV, format!("k{i}").as_bytes(), Value::Int(i))
            .expect("put");
    }
    let v = t.commit().expect("commit");
    let r = db.read();
    for i in 0..10 {
        let got = r
            .get(&s, tags::KV, format!("k{i}").as_bytes())
            .expect("get")
            .expect("present");
        assert_eq!(got.version, v);
    }
}

#[test]
fn time_travel_across_delete_and_recreate_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let (t1, t2, t3);
    {
        let db = Database::open(&path, DatabaseOptions::default()).expect("open");
        let s = db.default_scope();
        db.transact(|t| t.put(&s, tags::KV, b"k", Value::from("one")))
            .expect("put");
        t1 = db.head_timestamp();
        db.transact(|t| t.delete(&s, tags::KV, b"k"))
            .expect("delete");
        t2 = db.head_timestamp();
        db.transact(|t| t.put(&s, tags::KV, b"k", Value::from("two")))
            .expect("put");
        t3 = db.head_timestamp();
        assert!(t1 < t2 && t2 < t3);
    }
    let db = Database::open(&path, DatabaseOptions::default()).expect("reopen");
    let s = db.default_scope();
    let r = db.read();
    let at = |ts| {
        r.get_as_of(&s, tags::KV, b"k", ts)
            .expect("as_of")
            .map(|v| v.value)
    };
    assert_eq!(at(t1 - 1), None);
    assert_eq!(at(t1), Some(Value::from("one")));
    assert_eq!(at(t2), None);
    assert_eq!(at(t3), Some(Value::from("two")));
    let h = r.history(&s, tags::KV, b"k").expect("history");
    assert_eq!(h.len(), 3);
    assert_eq!(h[0].value, Some(Value::from("two")));
    assert_eq!(h[1].value, None);
    assert_eq!(h[1].timestamp, t2);
    // New commits after reopen still get later timestamps and versions.
    let (_, v) = db
        .transact(|t| t.put(&s, tags::KV, b"k", Value::from("three")))
        .expect("put");
    assert!(v.0 == 4 && db.head_timestamp() > t3);
}

#[test]
fn scan_paginates_exactly_and_sees_own_writes() {
    let db = Database::open_temporary().expect("open");
    let s = db.default_scope();
    db.transact(|t| {
        for i in 0..25 {
            t.put(
                &s,
                tags::KV,
                format!("user:{i:03}").as_bytes(),
                Value::Int(i),
            )?;
        }
        t.put(&s, tags::KV, b"other", Value::Null)
    })
    .expect("fill");
    let r = db.read();
    let mut after: Option<Vec<u8>> = None;
    let mut seen = Vec::new();
    loop {
        let page = r
            .scan(&s, tags::KV, b"user:", after.as_deref(), Some(10))
            .expect("scan");
        seen.extend(page.entries.iter().map(|(k, _)| k.clone()));
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    let mut t = db.begin(false);
    t.put(&s, tags::KV, b"user:0005x", Value::Int(99))
        .expect("put");
    t.delete(&s, tags::KV, b"user:000").expect("delete");
    let page = t.scan(&s, tags::KV, b"user:", None, Some(6)).expect("scan");
    let keys: Vec<String> = page
        .entries
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert_eq!(
        keys,
        [
            "user:0005x",
            "user:001",
            "user:002",
            "user:003",
            "user:004",
            "user:005"
        ]
    );
}

#[test]
fn bad_paths_give_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no/such/parent/db");
    let err = Database::open(&missing, DatabaseOptions::default()).expect_err("missing parent");
    assert!(matches!(err, StorageError::NotFound(_)), "{err}");
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").expect("write");
    let err = Database::open(&file, DatabaseOptions::default()).expect_err("file");
    assert!(matches!(err, StorageError::InvalidInput(_)), "{err}");
}

#[test]
fn same_directory_twice_shares_one_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Database::open(dir.path().join("db"), DatabaseOptions::default()).expect("open");
    let b = Database::open(dir.path().join("db"), DatabaseOptions::default()).expect("open again");
    let s = a.default_scope();
    a.transact(|t| t.put(&s, tags::KV, b"x", Value::Int(7)))
        .expect("put");
    assert_eq!(kv(&b, "x"), Some(Value::Int(7)));
}

#[test]
fn temporary_database_removes_its_directory() {
    let db = Database::open_temporary().expect("open");
    let path = db.path().to_path_buf();
    let s = db.default_scope();
    db.transact(|t| t.put(&s, tags::KV, b"x", Value::Int(1)))
        .expect("put");
    assert!(path.exists());
    drop(db);
    assert!(!path.exists(), "{} should be gone", path.display());
}

/// The latest-record cache under contention: readers fill it while writers replace
/// records and a small capacity forces evictions. Reads must never go back in time,
/// and read-modify-write increments (whose conflict check reads through the cache)
/// must lose nothing.
#[test]
fn cached_reads_never_go_stale_under_concurrent_writes() {
    for cache_bytes in [4096u64, 32 << 20] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::open(
            dir.path().join("db"),
            DatabaseOptions::default().with_read_cache_size(cache_bytes),
        )
        .expect("open");
        let s = db.default_scope();
        let keys: Vec<Vec<u8>> = (0..8).map(|i| format!("c{i}").into_bytes()).collect();
        let (writers, per) = (3, 300);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut handles = Vec::new();
        for w in 0..writers {
            let (db, s, keys) = (db.clone(), s.clone(), keys.clone());
            handles.push(std::thread::spawn(move || {
                for i in 0..per {
                    let k = &keys[(i * 7 + w) % keys.len()];
                    loop {
                        let r = db.transact(|t| {
                            let cur = t
                                .get(&s, tags::KV, k)?
                                .and_then(|v| v.value.as_int())
                                .unwrap_or(0);
                            t.put(&s, tags::KV, k, Value::Int(cur + 1))
                        });
                        match r {
                            Ok(_) => break,
                            Err(StorageError::Conflict(_)) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            }));
        }
        let mut readers = Vec::new();
        for _ in 0..2 {
            let (db, s, keys, stop) = (db.clone(), s.clone(), keys.clone(), stop.clone());
            readers.push(std::thread::spawn(move || {
                let mut seen = vec![0i64; keys.len()];
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for (i, k) in keys.iter().enumerate() {
                        let v = db
                            .read()
                            .get(&s, tags::KV, k)
                            .expect("get")
                            .and_then(|v| v.value.as_int())
                            .unwrap_or(0);
                        assert!(v >= seen[i], "read went back from {} to {v}", seen[i]);
                        seen[i] = v;
                    }
                }
            }));
        }
        for h in handles {
            h.join().expect("writer");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for h in readers {
            h.join().expect("reader");
        }
        let total: i64 = keys
            .iter()
            .map(|k| {
                db.read()
                    .get(&s, tags::KV, k)
                    .expect("get")
                    .and_then(|v| v.value.as_int())
                    .unwrap_or(0)
            })
            .sum();
        assert_eq!(total, (writers * per) as i64, "cache {cache_bytes} B");
        // Removing a space clears what the cache holds for it.
        let other = strata_storage::Scope::new(s.branch, "other");
        db.transact(|t| t.put(&other, tags::KV, b"x", Value::Int(1)))
            .expect("put");
        assert!(db
            .read()
            .get(&other, tags::KV, b"x")
            .expect("get")
            .is_some());
        db.delete_space(s.branch, "other", true)
            .expect("delete space");
        assert!(db
            .read()
            .get(&other, tags::KV, b"x")
            .expect("get")
            .is_none());
    }
}

/// fjall writes its `version` marker last when it creates a database; a process killed
/// before that left `lock`, an empty `keyspaces/` and `0.jnl`, and every later open
/// failed with "File exists". Such a directory must open (it holds nothing written),
/// and a directory with anything else in it must not be touched.
#[test]
fn a_creation_killed_before_fjall_finished_can_be_opened() {
    let leftovers = |dir: &std::path::Path| {
        std::fs::create_dir_all(dir.join("keyspaces")).expect("keyspaces");
        std::fs::write(dir.join("lock"), b"").expect("lock");
        let jnl = std::fs::File::create(dir.join("0.jnl")).expect("journal");
        jnl.set_len(64 << 20).expect("preallocate");
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    leftovers(&dir);
    {
        let db = Database::open(&dir, DatabaseOptions::default()).expect("open after kill");
        let s = db.default_scope();
        db.transact(|t| t.put(&s, tags::KV, b"k", Value::Int(1)))
            .expect("put");
    }
    let db = Database::open(&dir, DatabaseOptions::default()).expect("reopen");
    assert_eq!(kv(&db, "k"), Some(Value::Int(1)));
    drop(db);

    // Something that is not fjall's creation leftover: refuse, and leave it alone.
    let other = tmp.path().join("other");
    leftovers(&other);
    std::fs::write(other.join("precious.txt"), b"keep me").expect("write");
    let err = Database::open(&other, DatabaseOptions::default()).expect_err("must refuse");
    assert!(!err.to_string().is_empty());
    assert_eq!(
        std::fs::read(other.join("precious.txt")).expect("still there"),
        b"keep me"
    );
    assert!(other.join("0.jnl").exists());
}

/// `put_new` skips the commit's existence read for keys the caller knows are new;
/// used as documented, reads, history and live counts are exactly as with `put`.
#[test]
fn put_new_of_new_keys_behaves_like_put() {
    let db = Database::open_temporary().expect("open");
    let s = db.default_scope();
    let before = db.total_live_keys();
    db.transact(|t| {
        t.put_new(&s, tags::KV, b"a", Value::Int(1))?;
        t.put_new(&s, tags::KV, b"b", Value::Int(2))?;
        // A later plain put of the same key in the transaction wins, and is checked.
        t.put(&s, tags::KV, b"b", Value::Int(3))
    })
    .expect("commit");
    assert_eq!(db.total_live_keys(), before + 2);
    assert_eq!(kv(&db, "a"), Some(Value::Int(1)));
    assert_eq!(kv(&db, "b"), Some(Value::Int(3)));
    db.transact(|t| t.put(&s, tags::KV, b"a", Value::Int(10)))
        .expect("overwrite");
    let hist = db.read().history(&s, tags::KV, b"a").expect("history");
    let values: Vec<_> = hist.iter().map(|h| h.value.clone()).collect();
    assert_eq!(values, vec![Some(Value::Int(10)), Some(Value::Int(1))]);
    assert_eq!(db.total_live_keys(), before + 2);
}

#[test]
fn a_database_in_another_key_layout_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let db = Database::open(&path, DatabaseOptions::default()).expect("open");
        let s = db.default_scope();
        db.transact(|t| t.put(&s, tags::KV, b"x", Value::Int(7)))
            .expect("put");
    }
    // What a layout-1 development build left: a catalog without the layout record.
    {
        let raw = fjall::Database::builder(&path).open().expect("raw open");
        let meta = raw
            .keyspace("meta", fjall::KeyspaceCreateOptions::default)
            .expect("meta");
        assert_eq!(
            meta.get("layout").expect("get").as_deref(),
            Some(&[3u8][..])
        );
        meta.remove("layout").expect("remove");
        raw.persist(fjall::PersistMode::SyncAll).expect("persist");
    }
    let err = Database::open(&path, DatabaseOptions::default()).expect_err("layout 1");
    assert!(matches!(err, StorageError::NotAllowed(_)), "{err}");
    assert!(err.to_string().contains("key layout 1"), "{err}");
    // Refusing wrote nothing: the same error again, and the data is still there.
    let again = Database::open(&path, DatabaseOptions::default()).expect_err("still refused");
    assert_eq!(err.to_string(), again.to_string());
}

#[test]
fn put_committed_is_a_commit_of_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let db = Database::open(&path, DatabaseOptions::default()).expect("open");
    let s = db.default_scope();
    let v1 = db
        .put_committed(&s, tags::KV, b"k", Value::Int(1))
        .expect("put");
    assert_eq!(v1, db.committed_version());
    // A transaction that began before a put_committed of its key loses, as it
    // would against any other commit of that key (first committer wins).
    let mut t = db.begin(false);
    t.put(&s, tags::KV, b"k", Value::Int(9)).expect("buffer");
    let v2 = db
        .put_committed(&s, tags::KV, b"k", Value::Int(2))
        .expect("put");
    assert!(v2 > v1);
    let err = t.commit().expect_err("conflict");
    assert!(matches!(err, StorageError::Conflict(_)), "{err}");
    // Versioned, with history, in the change log, and durable like any commit.
    let r = db.read();
    let got = r.get(&s, tags::KV, b"k").expect("get").expect("present");
    assert_eq!((got.value, got.version), (Value::Int(2), v2));
    let hist = r.history(&s, tags::KV, b"k").expect("history");
    assert_eq!(
        hist.iter().map(|h| h.version).collect::<Vec<_>>(),
        vec![v2, v1]
    );
    let changed = db
        .changed_keys(s.branch, strata_storage::CommitVersion(0), v2)
        .expect("changed");
    assert_eq!(changed.iter().filter(|(_, _, k)| k == b"k").count(), 2);
    // Bad input is refused and writes nothing.
    let long = vec![b'x'; strata_storage::MAX_KEY_BYTES + 1];
    let err = db
        .put_committed(&s, tags::KV, &long, Value::Int(3))
        .expect_err("too long");
    assert!(matches!(err, StorageError::InvalidInput(_)), "{err}");
    let gone = strata_storage::Scope {
        branch: strata_storage::BranchId(9999),
        space: "default".into(),
    };
    let err = db
        .put_committed(&gone, tags::KV, b"k", Value::Int(3))
        .expect_err("no branch");
    assert!(matches!(err, StorageError::NotFound(_)), "{err}");
    assert_eq!(db.committed_version(), v2);
    drop(r);
    drop(db);
    let db = Database::open(&path, DatabaseOptions::default()).expect("reopen");
    assert_eq!(kv(&db, "k"), Some(Value::Int(2)));
}

#[test]
fn snapshot_reads_latest_and_records_no_start_time() {
    let db = Database::open_temporary().expect("open");
    let s = db.default_scope();
    db.transact(|t| t.put(&s, tags::KV, b"k", Value::Int(7)))
        .expect("commit");
    let snap = db.snapshot();
    assert_eq!(snap.started_at(), 0);
    assert!(snap.is_read_only());
    assert_eq!(
        snap.get(&s, tags::KV, b"k").expect("get").map(|v| v.value),
        Some(Value::Int(7))
    );
    assert!(
        db.read().started_at() > 0,
        "a read transaction keeps its start time"
    );
}

#[test]
fn background_threads_option() {
    let default = strata_storage::default_background_threads();
    assert!((1..=4).contains(&default), "{default}");
    assert_eq!(DatabaseOptions::default().background_threads, default);
    let opts = DatabaseOptions::default().with_background_threads(0);
    assert_eq!(opts.background_threads, 1, "0 counts as 1");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db"), opts.with_background_threads(3)).expect("open");
    let s = db.default_scope();
    db.transact(|t| t.put(&s, tags::KV, b"k", Value::Int(1)))
        .expect("commit");
    db.flush().expect("flush");
    assert_eq!(kv(&db, "k"), Some(Value::Int(1)));
}
