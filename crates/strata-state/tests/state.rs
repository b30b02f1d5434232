//! State cells against a real temporary database: CRUD, init, CAS (including a race
//! between real threads), time travel, transactions, branches, spaces and isolation.

use std::sync::{Arc, Barrier};
use strata_state::{CasOutcome, InitOutcome, StateError, MAX_CELL_NAME_LEN};
use strata_storage::{CommitVersion, Database, Scope, Value};

fn open() -> (Database, Scope) {
    let db = Database::open_temporary().expect("open");
    let scope = db.default_scope();
    (db, scope)
}

fn set(db: &Database, s: &Scope, cell: &str, value: impl Into<Value>) -> CommitVersion {
    let value = value.into();
    db.transact(|t| Ok(strata_state::set(t, s, cell, value.clone())?))
        .expect("set")
        .1
}

fn get(db: &Database, s: &Scope, cell: &str) -> Option<Value> {
    strata_state::get(&db.read(), s, cell).expect("get")
}

fn cas(
    db: &Database,
    s: &Scope,
    cell: &str,
    value: impl Into<Value>,
    expected: Option<CommitVersion>,
) -> (CasOutcome, CommitVersion) {
    let value = value.into();
    db.transact(|t| Ok(strata_state::cas(t, s, cell, value.clone(), expected)?))
        .expect("cas")
}

fn init(
    db: &Database,
    s: &Scope,
    cell: &str,
    value: impl Into<Value>,
) -> (InitOutcome, CommitVersion) {
    let value = value.into();
    db.transact(|t| Ok(strata_state::init(t, s, cell, value.clone())?))
        .expect("init")
}

#[test]
fn set_get_history_and_delete() {
    let (db, s) = open();
    let v1 = set(&db, &s, "counter", 0);
    let v2 = set(&db, &s, "counter", 1);
    let got = strata_state::get_versioned(&db.read(), &s, "counter")
        .expect("get")
        .expect("present");
    assert_eq!((got.value, got.version), (Value::Int(1), v2));
    let (deleted, v3) = db
        .transact(|t| Ok(strata_state::delete(t, &s, "counter")?))
        .expect("delete");
    assert!(deleted);
    assert_eq!(get(&db, &s, "counter"), None);
    let h = strata_state::history(&db.read(), &s, "counter").expect("history");
    let shape: Vec<_> = h.iter().map(|e| (e.version, e.value.clone())).collect();
    assert_eq!(
        shape,
        vec![
            (v3, None),
            (v2, Some(Value::Int(1))),
            (v1, Some(Value::Int(0)))
        ],
        "newest first, delete included"
    );
}

#[test]
fn missing_cells_and_bad_names() {
    let (db, s) = open();
    let snap = db.read();
    assert_eq!(strata_state::get(&snap, &s, "none").expect("get"), None);
    assert_eq!(
        strata_state::get_as_of(&snap, &s, "none", u64::MAX).expect("get"),
        None
    );
    assert!(strata_state::history(&snap, &s, "none")
        .expect("history")
        .is_empty());
    let (deleted, _) = db
        .transact(|t| Ok(strata_state::delete(t, &s, "none")?))
        .expect("delete");
    assert!(!deleted);

    let long = "c".repeat(MAX_CELL_NAME_LEN + 1);
    for bad in ["", "a\0", long.as_str()] {
        let mut t = db.begin(false);
        let e = strata_state::set(&mut t, &s, bad, Value::Null).expect_err("set");
        assert!(matches!(e, StateError::InvalidCellName(_)), "{e}");
        assert!(strata_state::init(&mut t, &s, bad, Value::Null).is_err());
        assert!(strata_state::cas(&mut t, &s, bad, Value::Null, None).is_err());
        assert!(strata_state::get(&t, &s, bad).is_err());
        assert_eq!(t.pending_writes(), 0);
    }
}

#[test]
fn init_creates_once_and_reports_the_existing_version() {
    let (db, s) = open();
    let (first, v1) = init(&db, &s, "flag", true);
    assert_eq!(first, InitOutcome::Created);
    assert!(first.created());
    let (second, v_after) = init(&db, &s, "flag", false);
    assert_eq!(second, InitOutcome::Exists { version: v1 });
    assert_eq!(v_after, v1, "an Exists init creates no commit");
    assert_eq!(get(&db, &s, "flag"), Some(Value::Bool(true)));
    // A deleted cell counts as absent.
    db.transact(|t| Ok(strata_state::delete(t, &s, "flag")?))
        .expect("delete");
    assert_eq!(init(&db, &s, "flag", false).0, InitOutcome::Created);
    assert_eq!(get(&db, &s, "flag"), Some(Value::Bool(false)));
}

#[test]
fn cas_matches_on_the_exact_version_only() {
    let (db, s) = open();
    // None: the cell must not exist yet.
    let (created, v1) = cas(&db, &s, "c", 1, None);
    assert_eq!(created, CasOutcome::Swapped);
    let (again, unchanged) = cas(&db, &s, "c", 99, None);
    assert_eq!(again, CasOutcome::Mismatch { current: Some(v1) });
    assert_eq!(unchanged, v1, "a failed CAS writes nothing");

    let (ok, v2) = cas(&db, &s, "c", 2, Some(v1));
    assert!(ok.swapped());
    let (stale, _) = cas(&db, &s, "c", 3, Some(v1));
    assert_eq!(stale, CasOutcome::Mismatch { current: Some(v2) });
    let (future, _) = cas(&db, &s, "c", 3, Some(CommitVersion(v2.0 + 100)));
    assert!(!future.swapped());
    assert_eq!(get(&db, &s, "c"), Some(Value::Int(2)));

    // Expecting a version of a missing cell fails; after a delete `None` matches again.
    let (missing, _) = cas(&db, &s, "other", 1, Some(v1));
    assert_eq!(missing, CasOutcome::Mismatch { current: None });
    db.transact(|t| Ok(strata_state::delete(t, &s, "c")?))
        .expect("delete");
    assert_eq!(
        cas(&db, &s, "c", 4, Some(v2)).0,
        CasOutcome::Mismatch { current: None }
    );
    assert!(cas(&db, &s, "c", 5, None).0.swapped());
    assert_eq!(get(&db, &s, "c"), Some(Value::Int(5)));
}

#[test]
fn cas_race_between_threads_has_one_winner_per_version() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 15;
    let (db, s) = open();
    let (_, v0) = init(&db, &s, "counter", 0);
    let barrier = Arc::new(Barrier::new(THREADS));
    let mut handles = Vec::new();
    for id in 0..THREADS {
        let (db, s, barrier) = (db.clone(), s.clone(), Arc::clone(&barrier));
        handles.push(std::thread::spawn(move || {
            let mut wins = Vec::new();
            for _ in 0..ROUNDS {
                // Everyone reads the same version, then everyone tries to swap it.
                barrier.wait();
                let seen = strata_state::get_versioned(&db.read(), &s, "counter")
                    .expect("get")
                    .expect("present");
                barrier.wait();
                let next = Value::Int(seen.value.as_int().expect("int") + 1);
                let (out, v) = db
                    .transact(|t| {
                        Ok(strata_state::cas(
                            t,
                            &s,
                            "counter",
                            next.clone(),
                            Some(seen.version),
                        )?)
                    })
                    .expect("cas");
                if out.swapped() {
                    wins.push((seen.version, v, id));
                } else {
                    assert!(
                        matches!(out, CasOutcome::Mismatch { current: Some(c) } if c > seen.version)
                    );
                }
            }
            wins
        }));
    }
    let mut wins: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    wins.sort();
    assert_eq!(wins.len(), ROUNDS, "exactly one winner per round: {wins:?}");
    let mut expected_from = v0;
    for (from, to, _) in &wins {
        assert_eq!(*from, expected_from, "each version is swapped exactly once");
        expected_from = *to;
    }
    assert_eq!(get(&db, &s, "counter"), Some(Value::Int(ROUNDS as i64)));
    assert_eq!(
        strata_state::history(&db.read(), &s, "counter")
            .expect("history")
            .len(),
        ROUNDS + 1
    );
}

#[test]
fn init_race_between_threads_creates_once() {
    const THREADS: usize = 4;
    let (db, s) = open();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|id| {
            let (db, s, barrier) = (db.clone(), s.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let value = Value::Int(id as i64);
                let (out, _) = db
                    .transact(|t| Ok(strata_state::init(t, &s, "leader", value.clone())?))
                    .expect("init");
                (out, id)
            })
        })
        .collect();
    let outcomes: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let winners: Vec<_> = outcomes.iter().filter(|(o, _)| o.created()).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert_eq!(
        get(&db, &s, "leader"),
        Some(Value::Int(winners[0].1 as i64))
    );
    assert_eq!(
        strata_state::history(&db.read(), &s, "leader")
            .expect("history")
            .len(),
        1
    );
}

#[test]
fn time_travel_across_delete_and_recreate() {
    let (db, s) = open();
    set(&db, &s, "c", "one");
    db.transact(|t| Ok(strata_state::delete(t, &s, "c")?))
        .expect("delete");
    set(&db, &s, "c", "two");
    let snap = db.read();
    let h = strata_state::history(&snap, &s, "c").expect("history");
    let ts: Vec<_> = h.iter().rev().map(|e| e.timestamp).collect(); // oldest first
    let at = |t| {
        strata_state::get_as_of(&snap, &s, "c", t)
            .expect("as_of")
            .map(|v| v.value)
    };
    assert_eq!(at(ts[0] - 1), None);
    assert_eq!(at(ts[0]), Some(Value::from("one")));
    assert_eq!(at(ts[1]), None);
    assert_eq!(at(ts[2]), Some(Value::from("two")));
}

#[test]
fn inside_an_explicit_transaction() {
    let (db, s) = open();
    let v1 = set(&db, &s, "c", 1);
    let mut t = db.begin(false);
    // The committed version from the snapshot is what CAS compares.
    assert!(strata_state::cas(&mut t, &s, "c", Value::Int(2), Some(v1))
        .expect("cas")
        .swapped());
    // The cell now has an uncommitted write: version 0 until commit.
    let pending = strata_state::get_versioned(&t, &s, "c")
        .expect("get")
        .expect("present");
    assert_eq!(
        (pending.value, pending.version),
        (Value::Int(2), CommitVersion(0))
    );
    assert_eq!(
        strata_state::cas(&mut t, &s, "c", Value::Int(3), Some(v1)).expect("cas"),
        CasOutcome::Mismatch {
            current: Some(CommitVersion(0))
        }
    );
    assert_eq!(
        strata_state::init(&mut t, &s, "c", Value::Int(9)).expect("init"),
        InitOutcome::Exists {
            version: CommitVersion(0)
        }
    );
    assert!(strata_state::init(&mut t, &s, "new", Value::Int(0))
        .expect("init")
        .created());
    assert_eq!(
        strata_state::list(&t, &s, "").expect("list"),
        vec!["c", "new"]
    );
    t.rollback();
    assert_eq!(get(&db, &s, "c"), Some(Value::Int(1)));
    assert_eq!(get(&db, &s, "new"), None);

    // A transaction whose CAS lost to a concurrent commit cannot commit its write.
    let mut t = db.begin(false);
    assert!(strata_state::cas(&mut t, &s, "c", Value::Int(10), Some(v1))
        .expect("cas")
        .swapped());
    set(&db, &s, "c", 20);
    let err = t.commit().expect_err("conflict");
    assert_eq!(err.code(), "conflict");
    assert_eq!(get(&db, &s, "c"), Some(Value::Int(20)));
}

#[test]
fn isolation_branches_and_spaces() {
    let (db, s) = open();
    let v1 = set(&db, &s, "c", "main");
    let reader = db.read();
    let (fork, _) = db.fork_branch("default", "fork").expect("fork");
    let fs = Scope::new(fork, "default");
    // The fork inherits the cell with its version, so CAS against it works there.
    assert!(cas(&db, &fs, "c", "fork", Some(v1)).0.swapped());
    let other = Scope::new(s.branch, "other");
    assert!(init(&db, &other, "c", "space").0.created());
    let fresh = db.create_branch("fresh").expect("branch");
    let fresh = Scope::new(fresh, "default");
    assert_eq!(get(&db, &fresh, "c"), None);
    assert!(cas(&db, &fresh, "c", "fresh", None).0.swapped());

    assert_eq!(get(&db, &s, "c"), Some(Value::from("main")));
    assert_eq!(get(&db, &fs, "c"), Some(Value::from("fork")));
    assert_eq!(get(&db, &other, "c"), Some(Value::from("space")));
    assert_eq!(get(&db, &fresh, "c"), Some(Value::from("fresh")));
    // Main's version did not move, so CAS against v1 still works there.
    assert!(cas(&db, &s, "c", "main2", Some(v1)).0.swapped());
    assert_eq!(
        strata_state::get(&reader, &s, "c").expect("get"),
        Some(Value::from("main"))
    );
}

#[test]
fn list_by_prefix() {
    let (db, s) = open();
    for c in ["config:b", "config:a", "lock:x"] {
        set(&db, &s, c, 0);
    }
    let snap = db.read();
    assert_eq!(
        strata_state::list(&snap, &s, "config:").expect("list"),
        vec!["config:a", "config:b"]
    );
    assert_eq!(strata_state::list(&snap, &s, "").expect("list").len(), 3);
}

#[test]
fn cas_losers_conflict_then_retry_and_fail_the_comparison() {
    // All threads run their CAS from the same snapshot before anyone commits, so the
    // engine's conflict detection (not the comparison) decides the first round.
    const THREADS: usize = 3;
    let (db, s) = open();
    let v1 = set(&db, &s, "c", 0);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|id| {
            let (db, s, barrier) = (db.clone(), s.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut attempts = 0;
                let (out, _) = db
                    .transact(|t| {
                        attempts += 1;
                        let out =
                            strata_state::cas(t, &s, "c", Value::Int(id as i64 + 1), Some(v1))?;
                        if attempts == 1 {
                            assert!(out.swapped(), "everyone matches on the shared snapshot");
                            barrier.wait();
                        }
                        Ok(out)
                    })
                    .expect("cas");
                (out, attempts)
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let winners: Vec<_> = results.iter().filter(|(o, _)| o.swapped()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert_eq!(winners[0].1, 1, "the winner committed on its first attempt");
    for (out, attempts) in &results {
        if !out.swapped() {
            assert!(*attempts >= 2, "losers were retried after a conflict");
            assert!(matches!(out, CasOutcome::Mismatch { current: Some(v) } if *v > v1));
        }
    }
    assert_eq!(
        strata_state::history(&db.read(), &s, "c")
            .expect("history")
            .len(),
        2
    );
}
