//! The event log against a real temporary database: append/read, type index, time
//! travel, transactions, branches, spaces, isolation, dense sequences under concurrent
//! appends, O(1) appends and hash-chain verification with tampering.

use std::cell::RefCell;
use std::sync::{Arc, Barrier};
use strata_events::{EventError, VerifyReport, MAX_EVENT_TYPE_LEN};
use strata_storage::{
    tags, CommitVersion, Database, HistoryEntry, PrimitiveTag, Result as SResult, ScanPage, Scope,
    Timestamp, Transaction, Value, Versioned, VersionedStore,
};

fn open() -> (Database, Scope) {
    let db = Database::open_temporary().expect("open");
    let scope = db.default_scope();
    (db, scope)
}

fn append(db: &Database, s: &Scope, ty: &str, payload: impl Into<Value>) -> (u64, CommitVersion) {
    let payload = payload.into();
    db.transact(|t| Ok(strata_events::append(t, s, ty, payload.clone())?))
        .expect("append")
}

fn verify(db: &Database, s: &Scope) -> VerifyReport {
    strata_events::verify(&db.read(), s).expect("verify")
}

fn event_key(seq: u64) -> Vec<u8> {
    let mut k = vec![b'e'];
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Overwrites a stored value through the raw trait, bypassing the event API.
fn raw_put(db: &Database, s: &Scope, key: &[u8], value: Value) {
    db.transact(|t| t.put(s, tags::EVENTS, key, value.clone()))
        .expect("raw put");
}

fn raw_get(db: &Database, s: &Scope, key: &[u8]) -> Value {
    db.read()
        .get(s, tags::EVENTS, key)
        .expect("raw get")
        .expect("present")
        .value
}

fn set_field(v: &mut Value, field: &str, new: Value) {
    let Value::Object(m) = v else {
        panic!("not an object: {v:?}")
    };
    m.insert(field.to_string(), new);
}

#[test]
fn append_get_len_and_missing() {
    let (db, s) = open();
    assert_eq!(strata_events::len(&db.read(), &s).expect("len"), 0);
    assert_eq!(strata_events::get(&db.read(), &s, 0).expect("get"), None);
    let payload = Value::from(serde_json::json!({"action": "click", "n": 1}));
    let (s0, v0) = append(&db, &s, "user_action", payload.clone());
    let (s1, v1) = append(&db, &s, "deploy", Value::Null);
    let (s2, _) = append(&db, &s, "user_action", Value::Array(vec![Value::Int(1)]));
    assert_eq!((s0, s1, s2), (0, 1, 2));
    let snap = db.read();
    assert_eq!(strata_events::len(&snap, &s).expect("len"), 3);
    let e0 = strata_events::get(&snap, &s, 0)
        .expect("get")
        .expect("present");
    assert_eq!(
        (e0.seq, e0.event_type.as_str(), &e0.payload, e0.version),
        (0, "user_action", &payload, v0)
    );
    let e1 = strata_events::get(&snap, &s, 1)
        .expect("get")
        .expect("present");
    assert_eq!((e1.payload, e1.version), (Value::Null, v1));
    assert!(e1.timestamp > e0.timestamp);
    assert_ne!(e0.hash, e1.hash);
    assert_eq!(strata_events::get(&snap, &s, 3).expect("get"), None);
    assert_eq!(strata_events::get(&snap, &s, u64::MAX).expect("get"), None);
}

#[test]
fn bad_event_types_are_refused() {
    let (db, s) = open();
    let long = "t".repeat(MAX_EVENT_TYPE_LEN + 1);
    for bad in ["", "a\0b", long.as_str()] {
        let mut t = db.begin(false);
        let e = strata_events::append(&mut t, &s, bad, Value::Null).expect_err("append");
        assert!(matches!(e, EventError::InvalidEventType(_)), "{e}");
        assert_eq!(e.code(), "invalid_event_type");
        assert_eq!(t.pending_writes(), 0);
        assert!(strata_events::list(&t, &s, bad).is_err());
    }
    append(&db, &s, &"t".repeat(MAX_EVENT_TYPE_LEN), 1);
}

#[test]
fn list_by_type_and_pagination() {
    let (db, s) = open();
    db.transact(|t| {
        for i in 0..30 {
            let ty = if i % 3 == 0 { "a" } else { "b" };
            strata_events::append(t, &s, ty, Value::Int(i))?;
        }
        // A type that is a prefix of another must not pick up the other's events.
        strata_events::append(t, &s, "ab", Value::Int(99))?;
        Ok(())
    })
    .expect("fill");
    let snap = db.read();
    let a = strata_events::list(&snap, &s, "a").expect("list");
    assert_eq!(
        a.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (0..30).step_by(3).collect::<Vec<_>>()
    );
    assert!(a.iter().all(|e| e.event_type == "a"));
    assert_eq!(strata_events::list(&snap, &s, "b").expect("list").len(), 20);
    assert_eq!(strata_events::list(&snap, &s, "ab").expect("list").len(), 1);
    assert!(strata_events::list(&snap, &s, "nope")
        .expect("list")
        .is_empty());

    let page = |limit, after| {
        strata_events::list_paginated(&snap, &s, "a", limit, after)
            .expect("page")
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(page(Some(3), None), vec![0, 3, 6]);
    assert_eq!(
        page(Some(3), Some(6)),
        vec![9, 12, 15],
        "after is exclusive"
    );
    assert_eq!(
        page(Some(2), Some(7)),
        vec![9, 12],
        "after need not be an event of the type"
    );
    assert_eq!(page(None, Some(20)), vec![21, 24, 27]);
    assert_eq!(page(Some(5), Some(27)), Vec::<u64>::new());
    assert_eq!(page(Some(0), None), Vec::<u64>::new());
}

#[test]
fn time_travel() {
    let (db, s) = open();
    append(&db, &s, "t", 0);
    append(&db, &s, "t", 1);
    let snap = db.read();
    let ts0 = strata_events::get(&snap, &s, 0)
        .expect("get")
        .expect("e0")
        .timestamp;
    let ts1 = strata_events::get(&snap, &s, 1)
        .expect("get")
        .expect("e1")
        .timestamp;
    assert_eq!(
        strata_events::len_as_of(&snap, &s, ts0 - 1).expect("len"),
        0
    );
    assert_eq!(strata_events::len_as_of(&snap, &s, ts0).expect("len"), 1);
    assert_eq!(strata_events::len_as_of(&snap, &s, ts1).expect("len"), 2);
    assert!(strata_events::get_as_of(&snap, &s, 1, ts0)
        .expect("get")
        .is_none());
    let e1 = strata_events::get_as_of(&snap, &s, 1, ts1)
        .expect("get")
        .expect("present");
    assert_eq!(e1.payload, Value::Int(1));
}

#[test]
fn explicit_transaction_numbers_consecutively_and_rolls_back() {
    let (db, s) = open();
    append(&db, &s, "t", "committed");
    let mut t = db.begin(false);
    let seqs: Vec<_> = (0..3)
        .map(|i| strata_events::append(&mut t, &s, "t", Value::Int(i)).expect("append"))
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(strata_events::len(&t, &s).expect("len"), 4);
    assert_eq!(strata_events::list(&t, &s, "t").expect("list").len(), 4);
    let pending = strata_events::get(&t, &s, 2)
        .expect("get")
        .expect("pending");
    assert_eq!(pending.version, CommitVersion(0));
    assert!(strata_events::verify(&t, &s).expect("verify").is_intact());
    t.rollback();
    assert_eq!(strata_events::len(&db.read(), &s).expect("len"), 1);
    assert_eq!(strata_events::get(&db.read(), &s, 1).expect("get"), None);

    let mut t = db.begin(false);
    assert_eq!(
        strata_events::append(&mut t, &s, "t", Value::Null).expect("append"),
        1
    );
    t.commit().expect("commit");
    assert_eq!(verify(&db, &s).checked, 2);
}

#[test]
fn isolation_branches_and_spaces_have_their_own_sequences() {
    let (db, s) = open();
    append(&db, &s, "t", "main-0");
    append(&db, &s, "t", "main-1");
    let reader = db.read();
    let (fork, _) = db.fork_branch("default", "fork").expect("fork");
    let fs = Scope::new(fork, "default");
    assert_eq!(
        append(&db, &fs, "t", "fork-2").0,
        2,
        "a fork continues its parent's log"
    );
    assert_eq!(
        append(&db, &s, "t", "main-2").0,
        2,
        "the parent continues independently"
    );
    let fresh = Scope::new(db.create_branch("fresh").expect("branch"), "default");
    assert_eq!(append(&db, &fresh, "t", "fresh-0").0, 0);
    let other = Scope::new(s.branch, "other");
    assert_eq!(append(&db, &other, "t", "other-0").0, 0);

    let snap = db.read();
    let payload = |sc: &Scope, seq| {
        strata_events::get(&snap, sc, seq)
            .expect("get")
            .expect("present")
            .payload
    };
    assert_eq!(payload(&s, 2), Value::from("main-2"));
    assert_eq!(payload(&fs, 2), Value::from("fork-2"));
    assert_eq!(payload(&fs, 0), Value::from("main-0"));
    assert_eq!(strata_events::len(&snap, &fresh).expect("len"), 1);
    assert_eq!(
        strata_events::list(&snap, &other, "t").expect("list").len(),
        1
    );
    for sc in [&s, &fs, &fresh, &other] {
        assert!(strata_events::verify(&snap, sc)
            .expect("verify")
            .is_intact());
    }
    assert_eq!(
        strata_events::len(&reader, &s).expect("len"),
        2,
        "snapshot isolation"
    );
    assert_eq!(strata_events::get(&reader, &s, 2).expect("get"), None);
}

/// The head is written without history: views older than its newest version rebuild
/// it from the records, and must agree with a view that reads it.
#[test]
fn views_older_than_the_head_rebuild_it_from_the_records() {
    let (db, s) = open();
    for i in 0..37 {
        append(&db, &s, "t", i);
    }
    let before = db.read();
    let mut writer = db.begin(false);
    // A fork made now, before the parent appends more.
    let (fork, _) = db.fork_branch("default", "fork").expect("fork");
    let fs = Scope::new(fork, "default");
    for i in 37..50 {
        append(&db, &s, "t", i);
    }

    // The old snapshot and the fork see 37 events and the 37th event's hash.
    let e36 = strata_events::get(&db.read(), &s, 36)
        .expect("get")
        .expect("e36");
    assert_eq!(strata_events::len(&before, &s).expect("len"), 37);
    assert!(strata_events::verify(&before, &s)
        .expect("verify")
        .is_intact());
    assert_eq!(strata_events::len(&db.read(), &fs).expect("len"), 37);
    assert_eq!(strata_events::len(&db.read(), &s).expect("len"), 50);

    // The fork's next event chains to the fork point's last event.
    let (seq, _) = append(&db, &fs, "t", "fork-37");
    assert_eq!(seq, 37);
    let f37 = strata_events::get(&db.read(), &fs, 37)
        .expect("get")
        .expect("f37");
    assert_eq!(
        f37.hash,
        strata_events::chain_hash(&e36.hash, 37, "t", &Value::from("fork-37"))
    );
    assert!(verify(&db, &fs).is_intact());
    assert!(verify(&db, &s).is_intact());
    assert_eq!(strata_events::len(&db.read(), &fs).expect("len"), 38);

    // A transaction that began before the appends numbers from its snapshot and loses
    // the race at commit; a retry appends at the end.
    assert_eq!(
        strata_events::append(&mut writer, &s, "t", Value::Null).expect("append"),
        37
    );
    assert!(matches!(
        writer.commit(),
        Err(strata_storage::StorageError::Conflict(_))
    ));
    assert_eq!(append(&db, &s, "t", Value::Null).0, 50);
    assert!(verify(&db, &s).is_intact());

    // The head keeps only its newest version and is not counted as a live key.
    let head_history = db.read().history(&s, tags::EVENTS, b"h").expect("history");
    assert_eq!(head_history.len(), 1);
    let live = db.branch_stats(s.branch).live_keys;
    assert_eq!(live, 51 * 2, "event records and index entries only");
}

#[test]
fn concurrent_appends_from_threads_stay_dense() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 25;
    let (db, s) = open();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|id| {
            let (db, s, barrier) = (db.clone(), s.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                (0..PER_THREAD)
                    .map(|i| {
                        let payload = Value::from(format!("{id}:{i}"));
                        db.transact(|t| Ok(strata_events::append(t, &s, "tick", payload.clone())?))
                            .expect("append")
                            .0
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let per_thread: Vec<Vec<u64>> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    for seqs in &per_thread {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "a thread's appends are ordered"
        );
    }
    let mut all: Vec<u64> = per_thread.into_iter().flatten().collect();
    all.sort_unstable();
    let n = (THREADS * PER_THREAD) as u64;
    assert_eq!(all, (0..n).collect::<Vec<_>>(), "dense, no duplicates");
    let snap = db.read();
    assert_eq!(strata_events::len(&snap, &s).expect("len"), n);
    // Each event's payload is the one its appender got the sequence number for.
    assert_eq!(
        strata_events::list(&snap, &s, "tick").expect("list").len() as u64,
        n
    );
    let report = strata_events::verify(&snap, &s).expect("verify");
    assert_eq!(
        report,
        VerifyReport {
            checked: n,
            first_broken: None,
            reason: None
        }
    );
}

/// A store wrapper that records every read, to check what operations touch.
struct Recording<'a> {
    inner: &'a mut Transaction,
    gets: RefCell<Vec<Vec<u8>>>,
    scans: RefCell<Vec<Vec<u8>>>,
    puts: usize,
}

impl<'a> Recording<'a> {
    fn new(inner: &'a mut Transaction) -> Self {
        Recording {
            inner,
            gets: RefCell::default(),
            scans: RefCell::default(),
            puts: 0,
        }
    }
}

impl VersionedStore for Recording<'_> {
    fn get(&self, scope: &Scope, tag: PrimitiveTag, key: &[u8]) -> SResult<Option<Versioned>> {
        self.gets.borrow_mut().push(key.to_vec());
        self.inner.get(scope, tag, key)
    }
    fn get_as_of(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        ts: Timestamp,
    ) -> SResult<Option<Versioned>> {
        self.gets.borrow_mut().push(key.to_vec());
        self.inner.get_as_of(scope, tag, key, ts)
    }
    fn history(&self, scope: &Scope, tag: PrimitiveTag, key: &[u8]) -> SResult<Vec<HistoryEntry>> {
        self.scans.borrow_mut().push(key.to_vec());
        self.inner.history(scope, tag, key)
    }
    fn scan(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: Option<usize>,
    ) -> SResult<ScanPage> {
        self.scans.borrow_mut().push(prefix.to_vec());
        self.inner.scan(scope, tag, prefix, after, limit)
    }
    fn scan_as_of(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        prefix: &[u8],
        ts: Timestamp,
    ) -> SResult<Vec<(Vec<u8>, Versioned)>> {
        self.scans.borrow_mut().push(prefix.to_vec());
        self.inner.scan_as_of(scope, tag, prefix, ts)
    }
    fn put(&mut self, scope: &Scope, tag: PrimitiveTag, key: &[u8], value: Value) -> SResult<()> {
        self.puts += 1;
        self.inner.put(scope, tag, key, value)
    }
    fn put_new(
        &mut self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        value: Value,
    ) -> SResult<()> {
        self.puts += 1;
        self.inner.put_new(scope, tag, key, value)
    }
    fn put_without_history(
        &mut self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        value: Value,
    ) -> SResult<()> {
        self.puts += 1;
        self.inner.put_without_history(scope, tag, key, value)
    }
    fn delete(&mut self, scope: &Scope, tag: PrimitiveTag, key: &[u8]) -> SResult<bool> {
        self.inner.delete(scope, tag, key)
    }
    fn snapshot_version(&self) -> CommitVersion {
        self.inner.snapshot_version()
    }
}

#[test]
fn append_is_constant_work_and_list_reads_only_its_type() {
    let (db, s) = open();
    db.transact(|t| {
        for i in 0..200 {
            strata_events::append(
                t,
                &s,
                if i == 100 { "rare" } else { "common" },
                Value::Int(i),
            )?;
        }
        Ok(())
    })
    .expect("fill");

    let mut t = db.begin(false);
    let mut rec = Recording::new(&mut t);
    assert_eq!(
        strata_events::append(&mut rec, &s, "rare", Value::Null).expect("append"),
        200
    );
    assert_eq!(
        rec.gets.borrow().as_slice(),
        [b"h".to_vec()],
        "append reads only the head"
    );
    assert!(rec.scans.borrow().is_empty(), "append never scans");
    assert_eq!(rec.puts, 3, "record + index entry + head");

    let rec = Recording::new(&mut t);
    let rare = strata_events::list(&rec, &s, "rare").expect("list");
    assert_eq!(
        rare.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![100, 200]
    );
    assert_eq!(
        rec.scans.borrow().as_slice(),
        [b"trare\0".to_vec()],
        "one scan of the type's index"
    );
    let gets = rec.gets.borrow();
    assert_eq!(
        gets.as_slice(),
        [event_key(100), event_key(200)],
        "only matching events are read"
    );
}

#[test]
fn verify_accepts_an_intact_log() {
    let (db, s) = open();
    assert_eq!(
        verify(&db, &s),
        VerifyReport {
            checked: 0,
            first_broken: None,
            reason: None
        }
    );
    for i in 0..5 {
        append(&db, &s, "t", i);
    }
    assert_eq!(
        verify(&db, &s),
        VerifyReport {
            checked: 5,
            first_broken: None,
            reason: None
        }
    );
}

fn log_of(n: i64) -> (Database, Scope) {
    let (db, s) = open();
    db.transact(|t| {
        for i in 0..n {
            strata_events::append(
                t,
                &s,
                if i % 2 == 0 { "even" } else { "odd" },
                Value::Int(i),
            )?;
        }
        Ok(())
    })
    .expect("fill");
    (db, s)
}

#[test]
fn verify_reports_a_tampered_payload() {
    let (db, s) = log_of(6);
    let mut rec = raw_get(&db, &s, &event_key(3));
    set_field(&mut rec, "payload", Value::Int(1000));
    raw_put(&db, &s, &event_key(3), rec);
    let report = verify(&db, &s);
    assert_eq!(
        (report.checked, report.first_broken),
        (3, Some(3)),
        "{report:?}"
    );
    assert!(report.reason.is_some());
    // Reads still work; the damage is reported, not hidden.
    let e = strata_events::get(&db.read(), &s, 3)
        .expect("get")
        .expect("present");
    assert_eq!(e.payload, Value::Int(1000));
}

#[test]
fn verify_reports_a_tampered_type() {
    let (db, s) = log_of(4);
    let mut rec = raw_get(&db, &s, &event_key(0));
    set_field(&mut rec, "type", Value::from("odd"));
    raw_put(&db, &s, &event_key(0), rec);
    assert_eq!(verify(&db, &s).first_broken, Some(0));
}

#[test]
fn verify_reports_a_rewritten_event_with_a_recomputed_hash_at_the_next_link() {
    let (db, s) = log_of(6);
    let prev = strata_events::get(&db.read(), &s, 1)
        .expect("get")
        .expect("e1")
        .hash;
    let forged = Value::Int(-2);
    let hash = strata_events::chain_hash(&prev, 2, "even", &forged);
    let mut rec = raw_get(&db, &s, &event_key(2));
    set_field(&mut rec, "payload", forged);
    set_field(&mut rec, "hash", Value::Bytes(hash.to_vec()));
    raw_put(&db, &s, &event_key(2), rec);
    assert_eq!(
        verify(&db, &s).first_broken,
        Some(3),
        "event 3 no longer links to 2"
    );
}

#[test]
fn verify_reports_a_rewritten_last_event_through_the_head() {
    let (db, s) = log_of(3);
    let prev = strata_events::get(&db.read(), &s, 1)
        .expect("get")
        .expect("e1")
        .hash;
    let forged = Value::Int(-2);
    let hash = strata_events::chain_hash(&prev, 2, "even", &forged);
    let mut rec = raw_get(&db, &s, &event_key(2));
    set_field(&mut rec, "payload", forged);
    set_field(&mut rec, "hash", Value::Bytes(hash.to_vec()));
    raw_put(&db, &s, &event_key(2), rec);
    let report = verify(&db, &s);
    assert_eq!(
        (report.checked, report.first_broken),
        (2, Some(2)),
        "{report:?}"
    );
}

#[test]
fn verify_reports_removed_extra_and_unreadable_records() {
    let (db, s) = log_of(5);
    db.transact(|t| t.delete(&s, tags::EVENTS, &event_key(2)))
        .expect("raw delete");
    assert_eq!(verify(&db, &s).first_broken, Some(2), "a gap");

    let (db, s) = log_of(5);
    db.transact(|t| t.delete(&s, tags::EVENTS, &event_key(4)))
        .expect("raw delete");
    assert_eq!(verify(&db, &s).first_broken, Some(4), "a truncated tail");

    let (db, s) = log_of(5);
    raw_put(&db, &s, &event_key(5), raw_get(&db, &s, &event_key(4)));
    assert_eq!(
        verify(&db, &s).first_broken,
        Some(5),
        "a record beyond the head"
    );

    let (db, s) = log_of(5);
    raw_put(&db, &s, &event_key(1), Value::from("garbage"));
    assert_eq!(
        verify(&db, &s).first_broken,
        Some(1),
        "an undecodable record"
    );
    let err = strata_events::get(&db.read(), &s, 1).expect_err("corrupt");
    assert_eq!(err.code(), "corrupt");

    let (db, s) = log_of(5);
    let mut index_key = b"todd\0".to_vec();
    index_key.extend_from_slice(&3u64.to_be_bytes());
    db.transact(|t| t.delete(&s, tags::EVENTS, &index_key))
        .expect("raw delete");
    assert_eq!(
        verify(&db, &s).first_broken,
        Some(3),
        "an event hidden from its type's list"
    );

    let (db, s) = log_of(5);
    raw_put(&db, &s, b"h", Value::Null);
    assert_eq!(verify(&db, &s).first_broken, Some(0), "an unreadable head");
}
