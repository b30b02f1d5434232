//! Deferred commits (`src/pending.rs`): commits wait in memory and reach fjall in
//! batches; every read must see them as if they were in fjall.

use strata_storage::{
    tags, CommitVersion, Database, DatabaseOptions, Scope, Value, VersionedStore,
};

/// Without the latest-record cache, so point reads find the waiting commits (or fjall)
/// themselves.
fn uncached() -> DatabaseOptions {
    DatabaseOptions::default().with_read_cache_size(0)
}

fn put(db: &Database, s: &Scope, k: &str, v: i64) -> CommitVersion {
    db.transact(|t| t.put(s, tags::KV, k.as_bytes(), Value::Int(v)))
        .expect("put")
        .1
}

fn get(db: &Database, s: &Scope, k: &str) -> Option<i64> {
    db.read()
        .get(s, tags::KV, k.as_bytes())
        .expect("get")
        .and_then(|v| v.value.as_int())
}

#[test]
fn waiting_commits_are_read_point_by_point_by_scans_and_in_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db"), uncached()).expect("open");
    let s = db.default_scope();
    // One key rewritten 20 times (its versions coalesce while they wait), and 50 more.
    let versions: Vec<CommitVersion> = (0..20).map(|i| put(&db, &s, "hot", i)).collect();
    for i in 0..50 {
        put(&db, &s, &format!("k{i:02}"), i);
    }
    assert_eq!(get(&db, &s, "hot"), Some(19));
    assert_eq!(get(&db, &s, "k07"), Some(7));
    let r = db.read();
    let page = r.scan(&s, tags::KV, b"k", None, None).expect("scan");
    assert_eq!(page.entries.len(), 50);
    let hist = r.history(&s, tags::KV, b"hot").expect("history");
    assert_eq!(
        hist.iter().map(|h| h.version).collect::<Vec<_>>(),
        versions.iter().rev().copied().collect::<Vec<_>>(),
        "every version of the rewritten key, newest first"
    );
    for h in &hist {
        let at = r
            .get_as_of(&s, tags::KV, b"hot", h.timestamp)
            .expect("as of")
            .expect("present");
        assert_eq!((at.version, Some(at.value)), (h.version, h.value.clone()));
    }
    drop((r, db));
    // A clean close applies what waits.
    let db = Database::open(dir.path().join("db"), uncached()).expect("reopen");
    assert_eq!(get(&db, &s, "hot"), Some(19));
    assert_eq!(get(&db, &s, "k49"), Some(49));
}

#[test]
fn a_space_deleted_while_its_writes_wait_stays_empty() {
    let db = Database::open_temporary().expect("open");
    let b = db.default_scope().branch;
    let sp = Scope::new(b, "scratch");
    for round in 0..3 {
        for i in 0..10 {
            put(&db, &sp, &format!("r{round}:{i}"), i);
        }
        // The writes still wait; the deletion must remove them as well.
        db.delete_space(b, "scratch", true).expect("delete");
        assert!(!db.space_exists(b, "scratch"));
    }
    put(&db, &sp, "after", 1);
    let page = db
        .read()
        .scan(&sp, tags::KV, b"", None, None)
        .expect("scan");
    let keys: Vec<&[u8]> = page.entries.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(
        keys,
        vec![&b"after"[..]],
        "keys of deleted rounds came back"
    );
}

#[test]
fn more_commits_than_one_drain_holds_are_all_kept() {
    let db = Database::open_temporary().expect("open");
    let s = db.default_scope();
    // Past two drains (every 4096 commits), with a key rewritten across them.
    for i in 0..9_000 {
        put(&db, &s, &format!("n{i:05}"), i);
        put(&db, &s, "counter", i);
    }
    assert_eq!(get(&db, &s, "counter"), Some(8_999));
    let r = db.read();
    assert_eq!(
        r.scan(&s, tags::KV, b"n", None, None)
            .expect("scan")
            .entries
            .len(),
        9_000
    );
    assert_eq!(
        r.history(&s, tags::KV, b"counter").expect("history").len(),
        9_000
    );
    assert_eq!(db.branch_stats(s.branch).live_keys, 9_001);
}

#[test]
fn a_commit_too_large_for_the_journal_is_applied_and_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let db = Database::open(&path, uncached()).expect("open");
    let s = db.default_scope();
    put(&db, &s, "before", 1);
    // About 2.4 MiB in one commit: more than the journal copies (1 MiB).
    let big = Value::from("x".repeat(8 * 1024));
    db.transact(|t| {
        for i in 0..300 {
            t.put(&s, tags::KV, format!("big{i:03}").as_bytes(), big.clone())?;
        }
        Ok(())
    })
    .expect("big commit");
    put(&db, &s, "after", 2);
    let r = db.read();
    assert_eq!(
        r.scan(&s, tags::KV, b"big", None, None)
            .expect("scan")
            .entries
            .len(),
        300
    );
    drop((r, db));
    let db = Database::open(&path, uncached()).expect("reopen");
    assert_eq!(get(&db, &s, "before"), Some(1));
    assert_eq!(get(&db, &s, "after"), Some(2));
    let got = db
        .read()
        .get(&s, tags::KV, b"big299")
        .expect("get")
        .map(|v| v.value);
    assert_eq!(got, Some(big));
}

/// Commits applied to fjall by a background thread (and, for comparison, by the
/// committing thread): a reader running beside the writer sees every acknowledged
/// commit through point reads (uncached, so they go through the waiting operations
/// and fjall) and scans, and a reopen finds all of them.
#[test]
fn background_apply_keeps_every_acknowledged_commit_readable() {
    for background in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let opts = uncached().with_background_apply(background);
        let db = Database::open(&path, opts.clone()).expect("open");
        let s = db.default_scope();
        const N: i64 = 20_000;
        let acked = std::sync::atomic::AtomicI64::new(-1);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut checked = 0;
                loop {
                    let upto = acked.load(std::sync::atomic::Ordering::Acquire);
                    if upto >= 0 {
                        // The newest acknowledged key, an older one, and the counter.
                        for i in [upto, upto / 2, upto * 7 / 8] {
                            assert_eq!(get(&db, &s, &format!("n{i:05}")), Some(i), "n{i:05}");
                        }
                        let c = get(&db, &s, "counter").expect("counter");
                        assert!(c >= upto, "counter {c} behind acknowledged {upto}");
                        if checked % 50 == 0 {
                            let r = db.read();
                            let page = r.scan(&s, tags::KV, b"n", None, None).expect("scan");
                            assert!(page.entries.len() as i64 > upto, "scan behind {upto}");
                        }
                        checked += 1;
                    }
                    if upto == N - 1 {
                        break;
                    }
                }
            });
            for i in 0..N {
                put(&db, &s, &format!("n{i:05}"), i);
                put(&db, &s, "counter", i);
                acked.store(i, std::sync::atomic::Ordering::Release);
            }
        });
        assert_eq!(db.branch_stats(s.branch).live_keys, N as u64 + 1);
        drop(db);
        let db = Database::open(&path, opts).expect("reopen");
        let r = db.read();
        let page = r.scan(&s, tags::KV, b"n", None, None).expect("scan");
        assert_eq!(page.entries.len() as i64, N, "background {background}");
        assert_eq!(get(&db, &s, "counter"), Some(N - 1));
        assert_eq!(
            r.history(&s, tags::KV, b"counter").expect("history").len(),
            N as usize
        );
    }
}
