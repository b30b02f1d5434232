//! Model-based property test: random operations against the engine and a plain in-memory
//! model of versioned history, including transactions and close/reopen.

use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};
use strata_storage::{
    tags, BranchId, CommitVersion, Database, DatabaseOptions, Durability, Scope, Transaction,
    Value, VersionedStore,
};

#[derive(Debug, Clone)]
enum Op {
    Put(u8, i64),
    /// `put_without_history`: from then on the key keeps only its newest version.
    PutWithoutHistory(u8, i64),
    Delete(u8),
    Get(u8),
    /// Read as of the timestamp of the n-th commit so far (modulo count).
    GetAsOf(u8, usize),
    History(u8),
    Scan,
    Begin,
    TxnPut(u8, i64),
    TxnDelete(u8),
    /// A read inside the open transaction: its own write, else its snapshot.
    TxnGet(u8),
    Commit,
    Rollback,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    // Key 0 takes about half of the operations, so that it collects more versions
    // than a latest record carries inline (history chunks, `record.rs`).
    let key = prop_oneof![3 => Just(0u8), 4 => 0u8..6];
    prop_oneof![
        16 => (key.clone(), any::<i64>()).prop_map(|(k, v)| Op::Put(k, v)),
        4 => (key.clone(), any::<i64>()).prop_map(|(k, v)| Op::PutWithoutHistory(k, v)),
        8 => key.clone().prop_map(Op::Delete),
        12 => key.clone().prop_map(Op::Get),
        8 => (key.clone(), 0usize..50).prop_map(|(k, n)| Op::GetAsOf(k, n)),
        4 => key.clone().prop_map(Op::History),
        4 => Just(Op::Scan),
        4 => Just(Op::Begin),
        8 => (key.clone(), any::<i64>()).prop_map(|(k, v)| Op::TxnPut(k, v)),
        4 => key.clone().prop_map(Op::TxnDelete),
        6 => key.clone().prop_map(Op::TxnGet),
        4 => Just(Op::Commit),
        4 => Just(Op::Rollback),
        // About one reopen every 80 operations: a reopen costs a real close and open.
        1 => Just(Op::Reopen),
    ]
}

/// One version in the model: (version, timestamp, value or tombstone).
type ModelVersion = (u64, u64, Option<i64>);
/// Buffered writes of an open transaction.
type Pending = BTreeMap<Vec<u8>, Option<i64>>;

/// The model: per key, versions newest last: (version, ts, value or tombstone).
///
/// Keys written without history (`without_history`, sticky): each later write
/// discards the version it supersedes, so a read that the discarded version would
/// answer finds nothing. The last ordinary version stays, valid until the first write
/// without history (`until`: (key, version) -> (successor version, timestamp)).
#[derive(Default)]
struct Model {
    keys: HashMap<Vec<u8>, Vec<ModelVersion>>,
    without_history: std::collections::HashSet<Vec<u8>>,
    until: HashMap<(Vec<u8>, u64), (u64, u64)>,
    commits: Vec<(u64, u64)>, // (version, ts)
    /// Every key written, commit by commit (keys of one commit in key order).
    log: Vec<Vec<u8>>,
}

impl Model {
    fn latest(&self, k: &[u8]) -> Option<i64> {
        self.keys.get(k).and_then(|h| h.last()).and_then(|e| e.2)
    }
    fn as_of(&self, k: &[u8], ts: u64) -> Option<i64> {
        let e = self.keys.get(k)?.iter().rev().find(|e| e.1 <= ts)?;
        match self.until.get(&(k.to_vec(), e.0)) {
            Some((_, succ_ts)) if *succ_ts <= ts => None,
            _ => e.2,
        }
    }
    fn at_version(&self, k: &[u8], version: u64) -> Option<i64> {
        let e = self.keys.get(k)?.iter().rev().find(|e| e.0 <= version)?;
        match self.until.get(&(k.to_vec(), e.0)) {
            Some((succ, _)) if *succ <= version => None,
            _ => e.2,
        }
    }
    /// The history the engine reports: only the newest version for keys without
    /// history.
    fn history(&self, k: &[u8]) -> Vec<ModelVersion> {
        let mut h = self.keys.get(k).cloned().unwrap_or_default();
        if self.without_history.contains(k) {
            h = h.split_off(h.len().saturating_sub(1));
        }
        h.reverse();
        h
    }
    /// Applies a commit; `without_history` lists the keys it wrote that way.
    fn apply(
        &mut self,
        version: u64,
        ts: u64,
        writes: &BTreeMap<Vec<u8>, Option<i64>>,
        without_history: &[Vec<u8>],
    ) {
        for (k, v) in writes {
            let h = self.keys.entry(k.clone()).or_default();
            if self.without_history.contains(k) {
                h.pop(); // superseded without history: discarded
            } else if without_history.contains(k) {
                if let Some(last) = h.last() {
                    self.until.insert((k.clone(), last.0), (version, ts));
                }
                self.without_history.insert(k.clone());
            }
            h.push((version, ts, *v));
        }
        self.commits.push((version, ts));
        self.log.extend(writes.keys().cloned());
    }

    /// The keys the branch's change log must list, in commit order.
    fn change_log(&self) -> &[Vec<u8>] {
        &self.log
    }
}

/// The keys `changed_keys` lists for the whole of `branch`'s history.
fn changed(d: &Database, branch: BranchId) -> Vec<Vec<u8>> {
    d.changed_keys(branch, CommitVersion(0), d.committed_version())
        .expect("changed keys")
        .into_iter()
        .map(|(_, _, k)| k)
        .collect()
}

fn key(k: u8) -> Vec<u8> {
    format!("k{k}").into_bytes()
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("expected int, got {other:?}"),
    }
}

/// One database shared by every case (creating a fjall database costs ~100 ms, which
/// would cap the number of cases); each case works on a fresh branch of it, so cases
/// are independent, and reopening is a real close and open of the shared directory.
struct Shared {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    db: Option<Database>,
    cases: u64,
}

fn shared() -> &'static std::sync::Mutex<Shared> {
    static S: std::sync::OnceLock<std::sync::Mutex<Shared>> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        std::sync::Mutex::new(Shared {
            _dir: dir,
            path,
            db: None,
            cases: 0,
        })
    })
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut guard = shared().lock().unwrap_or_else(|e| e.into_inner());
    let shared = &mut *guard;
    let path = shared.path.clone();
    // Every other case's reopens run without the latest-record cache, so that point
    // reads find deferred commits (and fjall) themselves, not the cache.
    let opts = DatabaseOptions::default().with_durability(Durability::Standard);
    let opts = if shared.cases % 2 == 1 {
        opts.with_read_cache_size(0)
    } else {
        opts
    };
    if shared.db.is_none() {
        shared.db = Some(Database::open(&path, opts.clone()).expect("open"));
    }
    shared.cases += 1;
    let branch = format!("case-{}", shared.cases);
    let db = &mut shared.db;
    let bid = db
        .as_ref()
        .expect("db")
        .create_branch(&branch)
        .expect("branch");
    let scope = Scope::new(bid, "default");
    let mut model = Model::default();
    let mut txn: Option<(Transaction, Pending)> = None;

    for op in ops {
        let d = db.as_ref().expect("db");
        match op {
            Op::Put(k, v) => {
                let (_, ver) = d
                    .transact(|t| t.put(&scope, tags::KV, &key(k), Value::Int(v)))
                    .expect("put");
                let ts = d.head_timestamp();
                let mut w = BTreeMap::new();
                w.insert(key(k), Some(v));
                prop_assert!(model.commits.last().is_none_or(|c| c.0 < ver.0 && c.1 < ts));
                model.apply(ver.0, ts, &w, &[]);
            }
            Op::PutWithoutHistory(k, v) => {
                let (_, ver) = d
                    .transact(|t| t.put_without_history(&scope, tags::KV, &key(k), Value::Int(v)))
                    .expect("put without history");
                let mut w = BTreeMap::new();
                w.insert(key(k), Some(v));
                model.apply(ver.0, d.head_timestamp(), &w, &[key(k)]);
            }
            Op::Delete(k) => {
                let (existed, ver) = d
                    .transact(|t| t.delete(&scope, tags::KV, &key(k)))
                    .expect("delete");
                prop_assert_eq!(existed, model.latest(&key(k)).is_some());
                if existed {
                    let mut w = BTreeMap::new();
                    w.insert(key(k), None);
                    model.apply(ver.0, d.head_timestamp(), &w, &[]);
                }
            }
            Op::Get(k) => {
                let snap = d.read();
                let got = snap.get(&scope, tags::KV, &key(k)).expect("get");
                // The version-only read agrees with the full one.
                let version = snap
                    .get_version(&scope, tags::KV, &key(k))
                    .expect("get_version");
                prop_assert_eq!(version, got.as_ref().map(|v| v.version));
                prop_assert_eq!(got.map(|v| int(&v.value)), model.latest(&key(k)));
                // The value-only read (encoded when the latest record answers).
                let value = snap
                    .get_value(&scope, tags::KV, &key(k))
                    .expect("get_value");
                let value = value.map(|v| v.into_value().expect("decodes"));
                prop_assert_eq!(value.as_ref().map(int), model.latest(&key(k)));
            }
            Op::GetAsOf(k, n) => {
                if model.commits.is_empty() {
                    continue;
                }
                let ts = model.commits[n % model.commits.len()].1;
                let got = d
                    .read()
                    .get_as_of(&scope, tags::KV, &key(k), ts)
                    .expect("as_of");
                prop_assert_eq!(got.map(|v| int(&v.value)), model.as_of(&key(k), ts));
                // One microsecond before the first commit: nothing.
                let first = model.commits[0].1 - 1;
                prop_assert!(d
                    .read()
                    .get_as_of(&scope, tags::KV, &key(k), first)
                    .expect("as_of")
                    .is_none());
            }
            Op::History(k) => {
                let got: Vec<(u64, u64, Option<i64>)> = d
                    .read()
                    .history(&scope, tags::KV, &key(k))
                    .expect("history")
                    .into_iter()
                    .map(|e| (e.version.0, e.timestamp, e.value.as_ref().map(int)))
                    .collect();
                prop_assert_eq!(got, model.history(&key(k)));
            }
            Op::Scan => {
                let page = d
                    .read()
                    .scan(&scope, tags::KV, b"k", None, None)
                    .expect("scan");
                let got: Vec<(Vec<u8>, i64)> = page
                    .entries
                    .into_iter()
                    .map(|(k, v)| (k, int(&v.value)))
                    .collect();
                let mut want: Vec<(Vec<u8>, i64)> = model
                    .keys
                    .keys()
                    .filter_map(|k| model.latest(k).map(|v| (k.clone(), v)))
                    .collect();
                want.sort();
                prop_assert_eq!(got, want);
                // Live-key statistics leave out keys written without history.
                let live = model
                    .keys
                    .keys()
                    .filter(|k| !model.without_history.contains(*k) && model.latest(k).is_some())
                    .count() as u64;
                prop_assert_eq!(d.branch_stats(bid).live_keys, live);
            }
            Op::Begin => {
                if txn.is_none() {
                    txn = Some((d.begin(false), BTreeMap::new()));
                }
            }
            Op::TxnPut(k, v) => {
                if let Some((t, w)) = txn.as_mut() {
                    t.put(&scope, tags::KV, &key(k), Value::Int(v))
                        .expect("txn put");
                    w.insert(key(k), Some(v));
                    // read-your-writes
                    let got = t.get(&scope, tags::KV, &key(k)).expect("get");
                    prop_assert_eq!(got.map(|v| int(&v.value)), Some(v));
                }
            }
            Op::TxnDelete(k) => {
                if let Some((t, w)) = txn.as_mut() {
                    let visible = t.get(&scope, tags::KV, &key(k)).expect("get").is_some();
                    let existed = t.delete(&scope, tags::KV, &key(k)).expect("txn delete");
                    prop_assert_eq!(existed, visible);
                    if existed {
                        w.insert(key(k), None);
                    }
                }
            }
            Op::TxnGet(k) => {
                if let Some((t, w)) = txn.as_ref() {
                    let want = match w.get(&key(k)) {
                        Some(own) => *own,
                        None => model.at_version(&key(k), t.snapshot_version().0),
                    };
                    let got = t.get(&scope, tags::KV, &key(k)).expect("txn get");
                    let version = t
                        .get_version(&scope, tags::KV, &key(k))
                        .expect("txn get_version");
                    prop_assert_eq!(version, got.as_ref().map(|v| v.version));
                    prop_assert_eq!(got.map(|v| int(&v.value)), want);
                    // Own writes come back decoded; an older snapshot's answer from
                    // history; the latest record's, encoded.
                    let value = t
                        .get_value(&scope, tags::KV, &key(k))
                        .expect("txn get_value");
                    let value = value.map(|v| v.into_value().expect("decodes"));
                    prop_assert_eq!(value.as_ref().map(int), want);
                }
            }
            Op::Commit => {
                if let Some((t, w)) = txn.take() {
                    let snap = t.snapshot_version().0;
                    let conflict = w.keys().any(|k| {
                        model
                            .keys
                            .get(k)
                            .and_then(|h| h.last())
                            .is_some_and(|e| e.0 > snap)
                    });
                    match t.commit() {
                        Ok(ver) => {
                            prop_assert!(!conflict, "commit should have conflicted");
                            if !w.is_empty() {
                                model.apply(ver.0, d.head_timestamp(), &w, &[]);
                            }
                        }
                        Err(e) => {
                            prop_assert!(conflict, "unexpected commit error {e}");
                        }
                    }
                }
            }
            Op::Rollback => {
                if let Some((t, _)) = txn.take() {
                    t.rollback();
                }
            }
            Op::Reopen => {
                if let Some((t, _)) = txn.take() {
                    t.rollback();
                }
                drop(db.take());
                *db = Some(Database::open(&path, opts.clone()).expect("reopen"));
                let d = db.as_ref().expect("db");
                prop_assert!(
                    d.committed_version() >= CommitVersion(model.commits.last().map_or(0, |c| c.0))
                );
                prop_assert_eq!(d.branch_id(&branch).expect("branch survives"), bid);
                // The change log survives a close with the entries that waited in
                // memory (groups, `LogTail`).
                prop_assert_eq!(changed(d, bid), model.change_log());
            }
        }
    }
    let d = db.as_ref().expect("db");
    prop_assert_eq!(changed(d, bid), model.change_log());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, .. ProptestConfig::default() })]
    #[test]
    fn engine_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
