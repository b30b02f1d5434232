//! Branches, spaces and bundles.

use proptest::prelude::*;
use strata_storage::{
    tags, Database, DatabaseOptions, DiffKind, MergeStrategy, Scope, StorageError, Value,
    VersionedStore,
};

fn put(db: &Database, scope: &Scope, k: &str, v: i64) {
    db.transact(|t| t.put(scope, tags::KV, k.as_bytes(), Value::Int(v)))
        .expect("put");
}

fn del(db: &Database, scope: &Scope, k: &str) {
    db.transact(|t| t.delete(scope, tags::KV, k.as_bytes()))
        .expect("delete");
}

/// The value of `k`, read three ways: decoded (`get`), value-only (`get_value`,
/// encoded when the branch's own latest record answers, else through the fork chain)
/// and version-only (`get_version`), which must agree.
fn get(db: &Database, scope: &Scope, k: &str) -> Option<i64> {
    let snap = db.read();
    let versioned = snap.get(scope, tags::KV, k.as_bytes()).expect("get");
    let version = snap
        .get_version(scope, tags::KV, k.as_bytes())
        .expect("get_version");
    assert_eq!(
        version,
        versioned.as_ref().map(|v| v.version),
        "get and get_version disagree on {k:?}"
    );
    let full = versioned.and_then(|v| v.value.as_int());
    let value = snap
        .get_value(scope, tags::KV, k.as_bytes())
        .expect("get_value")
        .map(|v| v.into_value().expect("decodes"))
        .and_then(|v| v.as_int());
    assert_eq!(full, value, "get and get_value disagree on {k:?}");
    full
}

fn scope(db: &Database, branch: &str) -> Scope {
    Scope::new(db.branch_id(branch).expect("branch"), "default")
}

#[test]
fn fork_is_isolated_in_both_directions() {
    let db = Database::open_temporary().expect("open");
    let main = scope(&db, "default");
    for i in 0..10 {
        put(&db, &main, &format!("k{i}"), i);
    }
    let (_, copied) = db.fork_branch("default", "exp").expect("fork");
    assert_eq!(copied, 10);
    let exp = scope(&db, "exp");
    assert_eq!(get(&db, &exp, "k3"), Some(3));
    put(&db, &exp, "k3", 33);
    del(&db, &exp, "k4");
    put(&db, &exp, "new", 1);
    put(&db, &main, "k5", 55);
    assert_eq!(get(&db, &main, "k3"), Some(3));
    assert_eq!(get(&db, &main, "k4"), Some(4));
    assert_eq!(get(&db, &main, "new"), None);
    assert_eq!(get(&db, &exp, "k5"), Some(5));
    assert_eq!(get(&db, &exp, "k4"), None);
    // Listing merges inherited and own keys.
    let keys: Vec<_> = db
        .read()
        .scan(&exp, tags::KV, b"", None, None)
        .expect("scan")
        .entries
        .into_iter()
        .map(|(k, _)| String::from_utf8(k).expect("utf8"))
        .collect();
    assert_eq!(keys.len(), 10);
    assert!(keys.contains(&"new".to_string()) && !keys.contains(&"k4".to_string()));
    // History on the fork includes the parent's history before the fork.
    let h = db.read().history(&exp, tags::KV, b"k3").expect("history");
    assert_eq!(h.len(), 2);
    assert_eq!(db.branch_stats(exp.branch).live_keys, 10);
    // The parent cannot be deleted while a fork shares its data.
    let err = db.delete_branch("default").expect_err("default");
    assert!(matches!(err, StorageError::NotAllowed(_)));
    db.create_branch("solo").expect("create");
    db.fork_branch("solo", "solo-fork").expect("fork");
    assert!(matches!(
        db.delete_branch("solo"),
        Err(StorageError::NotAllowed(_))
    ));
    db.delete_branch("solo-fork").expect("delete fork");
    db.delete_branch("solo")
        .expect("delete parent after its fork");
}

#[test]
fn fork_of_fork_reads_through_the_chain() {
    let db = Database::open_temporary().expect("open");
    let main = scope(&db, "default");
    put(&db, &main, "a", 1);
    db.fork_branch("default", "b1").expect("fork");
    let b1 = scope(&db, "b1");
    put(&db, &b1, "b", 2);
    put(&db, &main, "a", 100); // after the fork: invisible to b1 and b2
    db.fork_branch("b1", "b2").expect("fork");
    let b2 = scope(&db, "b2");
    assert_eq!(get(&db, &b2, "a"), Some(1));
    assert_eq!(get(&db, &b2, "b"), Some(2));
    let ts = db.head_timestamp();
    put(&db, &b2, "a", 3);
    assert_eq!(
        db.read()
            .get_as_of(&b2, tags::KV, b"a", ts)
            .expect("as_of")
            .map(|v| v.value),
        Some(Value::Int(1))
    );
}

#[test]
fn diff_and_merge() {
    let db = Database::open_temporary().expect("open");
    let main = scope(&db, "default");
    put(&db, &main, "same", 1);
    put(&db, &main, "edit", 1);
    put(&db, &main, "gone", 1);
    db.fork_branch("default", "feature").expect("fork");
    let feat = scope(&db, "feature");
    put(&db, &feat, "edit", 2);
    del(&db, &feat, "gone");
    put(&db, &feat, "added", 1);
    let d = db.diff_branches("default", "feature").expect("diff");
    assert_eq!(
        (
            d.count(DiffKind::Added),
            d.count(DiffKind::Removed),
            d.count(DiffKind::Modified)
        ),
        (1, 1, 1)
    );
    let out = db
        .merge_branches("feature", "default", MergeStrategy::Strict)
        .expect("no conflicts");
    assert_eq!(out.applied, 3);
    assert_eq!(get(&db, &main, "edit"), Some(2));
    assert_eq!(get(&db, &main, "gone"), None);
    assert_eq!(get(&db, &main, "added"), Some(1));
    assert!(db
        .diff_branches("default", "feature")
        .expect("diff")
        .entries
        .is_empty());
}

#[test]
fn strict_merge_refuses_conflicts_and_lww_takes_the_later_write() {
    let db = Database::open_temporary().expect("open");
    let main = scope(&db, "default");
    put(&db, &main, "x", 0);
    put(&db, &main, "y", 0);
    db.fork_branch("default", "f").expect("fork");
    let f = scope(&db, "f");
    put(&db, &f, "x", 1); // source first
    put(&db, &main, "x", 2); // target later: target wins x under LWW
    put(&db, &main, "y", 3); // target first
    put(&db, &f, "y", 4); // source later: source wins y
    put(&db, &f, "z", 5); // only on source
    let err = db
        .merge_branches("f", "default", MergeStrategy::Strict)
        .expect_err("conflicts");
    let msg = err.to_string();
    assert!(matches!(err, StorageError::Conflict(_)));
    assert!(msg.contains("x") && msg.contains("y"), "{msg}");
    assert_eq!(
        get(&db, &main, "z"),
        None,
        "strict merge must apply nothing"
    );
    let out = db
        .merge_branches("f", "default", MergeStrategy::LastWriterWins)
        .expect("lww");
    assert_eq!(out.conflicts.len(), 2);
    assert_eq!(get(&db, &main, "x"), Some(2));
    assert_eq!(get(&db, &main, "y"), Some(4));
    assert_eq!(get(&db, &main, "z"), Some(5));
}

#[test]
fn spaces_isolate_and_delete() {
    let db = Database::open_temporary().expect("open");
    let b = db.branch_id("default").expect("id");
    let a = Scope::new(b, "alpha");
    let d = Scope::new(b, "default");
    db.create_space(b, "alpha").expect("create");
    put(&db, &a, "k", 1);
    assert_eq!(get(&db, &d, "k"), None);
    assert_eq!(get(&db, &a, "k"), Some(1));
    assert!(db.list_spaces(b).contains(&"alpha".to_string()));
    let err = db.delete_space(b, "alpha", false).expect_err("non-empty");
    assert!(matches!(err, StorageError::NotAllowed(_)));
    db.delete_space(b, "alpha", true).expect("force");
    assert!(!db.space_exists(b, "alpha"));
    assert_eq!(get(&db, &a, "k"), None);
    assert_eq!(db.branch_stats(b).live_keys, 0);
    db.create_space(b, "empty").expect("create");
    db.delete_space(b, "empty", false)
        .expect("empty space deletes");
    assert!(matches!(
        db.create_space(b, "bad/name"),
        Err(StorageError::InvalidInput(_))
    ));
}

#[test]
fn branches_and_spaces_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let db = Database::open(&path, DatabaseOptions::default()).expect("open");
        let main = scope(&db, "default");
        put(&db, &main, "k", 1);
        db.fork_branch("default", "f").expect("fork");
        let f = Scope::new(db.branch_id("f").expect("id"), "notes");
        put(&db, &f, "n", 2);
    }
    let db = Database::open(&path, DatabaseOptions::default()).expect("reopen");
    assert_eq!(db.list_branches(), ["default", "f"]);
    let fid = db.branch_id("f").expect("id");
    assert!(db.space_exists(fid, "notes"));
    assert_eq!(get(&db, &Scope::new(fid, "notes"), "n"), Some(2));
    assert_eq!(get(&db, &Scope::new(fid, "default"), "k"), Some(1));
    assert_eq!(db.branch_stats(fid).live_keys, 2);
    assert!(db.time_range("f").expect("range").is_some());
}

#[test]
fn bundle_round_trip_keeps_values_and_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("b.bundle");
    let src = Database::open_temporary().expect("open");
    let main = scope(&src, "default");
    put(&src, &main, "a", 1);
    put(&src, &main, "a", 2);
    put(&src, &main, "b", 1);
    del(&src, &main, "b");
    let other = Scope::new(main.branch, "other");
    put(&src, &other, "c", 3);
    let exp = src.export_branch("default", &bundle).expect("export");
    assert_eq!(exp.key_count, 3);
    assert_eq!(exp.entry_count, 5);
    let info = src.validate_bundle(&bundle).expect("valid");
    assert_eq!(info.branch, "default");

    let dst = Database::open(dir.path().join("dst"), DatabaseOptions::default()).expect("open");
    let err = dst
        .import_branch(&bundle, None)
        .expect_err("default exists");
    assert!(matches!(err, StorageError::AlreadyExists(_)));
    let imp = dst
        .import_branch(&bundle, Some("restored"))
        .expect("import");
    assert_eq!(imp.key_count, 3);
    let r = scope(&dst, "restored");
    assert_eq!(get(&dst, &r, "a"), Some(2));
    assert_eq!(get(&dst, &r, "b"), None);
    let rid = dst.branch_id("restored").expect("id");
    assert_eq!(get(&dst, &Scope::new(rid, "other"), "c"), Some(3));
    let hs = src.read().history(&main, tags::KV, b"a").expect("h");
    let hd = dst.read().history(&r, tags::KV, b"a").expect("h");
    let strip = |h: Vec<strata_storage::HistoryEntry>| -> Vec<_> {
        h.into_iter().map(|e| (e.value, e.timestamp)).collect()
    };
    assert_eq!(strip(hs), strip(hd));
    assert_eq!(dst.branch_stats(rid).live_keys, 2);
    // as_of on the imported branch answers as on the source.
    let first_ts = src
        .read()
        .history(&main, tags::KV, b"a")
        .expect("h")
        .last()
        .expect("v")
        .timestamp;
    assert_eq!(
        dst.read()
            .get_as_of(&r, tags::KV, b"a", first_ts)
            .expect("as_of")
            .map(|v| v.value),
        Some(Value::Int(1))
    );
    // New commits on the destination still get fresh versions after the import.
    put(&dst, &r, "a", 9);
    assert_eq!(get(&dst, &r, "a"), Some(9));
}

fn sample_bundle() -> &'static Vec<u8> {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(make_sample_bundle)
}

fn empty_db() -> &'static Database {
    static DB: std::sync::OnceLock<Database> = std::sync::OnceLock::new();
    DB.get_or_init(|| Database::open_temporary().expect("open"))
}

fn make_sample_bundle() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open_temporary().expect("open");
    let s = scope(&db, "default");
    for i in 0..20 {
        put(&db, &s, &format!("key{i}"), i);
    }
    let p = dir.path().join("s.bundle");
    db.export_branch("default", &p).expect("export");
    std::fs::read(&p).expect("read")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]
    #[test]
    fn damaged_bundles_are_rejected_and_change_nothing(flip in any::<prop::sample::Index>(), bit in 0u8..8, cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = sample_bundle().clone();
        if truncate {
            let at = cut.index(bytes.len());
            bytes.truncate(at);
        } else {
            let at = flip.index(bytes.len());
            bytes[at] ^= 1 << bit;
        }
        let p = dir.path().join("bad.bundle");
        std::fs::write(&p, &bytes).expect("write");
        let db = empty_db();
        let before = db.list_branches();
        prop_assert!(db.validate_bundle(&p).is_err());
        let err = db.import_branch(&p, Some("x")).expect_err("rejected");
        prop_assert!(err.to_string().contains("bad.bundle"), "error should name the file: {}", err);
        prop_assert_eq!(db.list_branches(), before);
        prop_assert_eq!(db.committed_version().0, 0);
    }
}

#[test]
fn foreign_files_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("x.bundle");
    std::fs::write(&p, b"{\"not\": \"a bundle\"}").expect("write");
    let db = Database::open_temporary().expect("open");
    assert!(matches!(
        db.validate_bundle(&p),
        Err(StorageError::Corrupt { .. })
    ));
    assert!(matches!(
        db.validate_bundle(dir.path().join("missing")),
        Err(StorageError::NotFound(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    /// Diff between related branches reads only the change logs; it must agree with the
    /// full comparison used for unrelated branches (a bundle copy of the fork).
    #[test]
    fn change_log_diff_matches_full_comparison(
        before in proptest::collection::vec((0u8..12, any::<bool>()), 0..20),
        parent_after in proptest::collection::vec((0u8..12, any::<bool>()), 0..12),
        child_after in proptest::collection::vec((0u8..12, any::<bool>()), 0..12),
    ) {
        let db = Database::open_temporary().expect("open");
        let main = scope(&db, "default");
        let apply = |s: &Scope, ops: &[(u8, bool)], tag: i64| {
            for (i, (k, del)) in ops.iter().enumerate() {
                let key = format!("k{k}");
                if *del { del_if(&db, s, &key) } else { put(&db, s, &key, tag * 100 + i as i64) }
            }
        };
        apply(&main, &before, 1);
        db.fork_branch("default", "child").expect("fork");
        let child = scope(&db, "child");
        apply(&main, &parent_after, 2);
        apply(&child, &child_after, 3);
        let dir = tempfile::tempdir().expect("tempdir");
        let bundle = dir.path().join("child.bundle");
        db.export_branch("child", &bundle).expect("export");
        db.import_branch(&bundle, Some("copy")).expect("import");
        let fast = db.diff_branches("default", "child").expect("diff");
        let full = db.diff_branches("default", "copy").expect("diff");
        let norm = |d: strata_storage::BranchDiff| -> Vec<(Vec<u8>, DiffKind)> {
            d.entries.into_iter().map(|e| (e.key, e.kind)).collect()
        };
        prop_assert_eq!(norm(fast), norm(full));
    }
}

fn del_if(db: &Database, scope: &Scope, k: &str) {
    db.transact(|t| t.delete(scope, tags::KV, k.as_bytes()))
        .expect("delete");
}

#[test]
fn force_deleting_an_unshared_space_removes_its_history() {
    let db = Database::open_temporary().expect("open");
    let b = db.branch_id("default").expect("id");
    let s = Scope::new(b, "notes");
    put(&db, &s, "k", 1);
    let ts = db.head_timestamp();
    db.delete_space(b, "notes", true).expect("force");
    db.create_space(b, "notes").expect("recreate");
    let r = db.read();
    assert!(r.history(&s, tags::KV, b"k").expect("history").is_empty());
    assert!(r
        .get_as_of(&s, tags::KV, b"k", ts)
        .expect("as_of")
        .is_none());
}

/// Records catalog events, and whether the deleted space's key was still stored when
/// each arrived.
struct EventLog {
    // Taken out at the end of the test: the database holds this observer.
    db: std::sync::Mutex<Option<Database>>,
    seen: std::sync::Mutex<Vec<(String, bool)>>,
}

impl strata_storage::CommitObserver for EventLog {
    fn on_commit(&self, _: &strata_storage::CommittedChange) {}
    fn on_catalog_event(&self, event: &strata_storage::CatalogEvent) {
        let (name, scope) = match event {
            strata_storage::CatalogEvent::SpaceDeleting(s) => ("deleting", s),
            strata_storage::CatalogEvent::SpaceDeleted(s) => ("deleted", s),
            _ => return,
        };
        let guard = self.db.lock().expect("lock");
        let stored = guard
            .as_ref()
            .expect("set")
            .read()
            .get(scope, tags::KV, b"k")
            .expect("get")
            .is_some();
        self.seen
            .lock()
            .expect("lock")
            .push((name.to_string(), stored));
    }
}

/// Derived state persisted per space (search dumps) hears of a physical removal before
/// it starts, so a crash in the middle cannot leave it trusting removed keys.
#[test]
fn a_forced_space_deletion_announces_itself_before_removing_data() {
    let db = Database::open_temporary().expect("open");
    let log = std::sync::Arc::new(EventLog {
        db: std::sync::Mutex::new(Some(db.clone())),
        seen: std::sync::Mutex::new(Vec::new()),
    });
    db.add_observer(log.clone());
    let branch = db.default_scope().branch;
    let scope = Scope::new(branch, "scratch");
    db.transact(|t| t.put(&scope, tags::KV, b"k", Value::Int(1)))
        .expect("put");
    db.delete_space(branch, "scratch", true).expect("delete");
    let seen = log.seen.lock().expect("lock").clone();
    log.db.lock().expect("lock").take();
    assert_eq!(
        seen,
        vec![
            ("deleting".to_string(), true),
            ("deleted".to_string(), false)
        ]
    );
}

fn put_summary(db: &Database, scope: &Scope, k: &str, v: i64) {
    db.transact(|t| t.put_without_history(scope, tags::KV, k.as_bytes(), Value::Int(v)))
        .expect("put without history");
}

/// A key written without history: a fork keeps seeing the version it forked at, while
/// other views older than the newest version (an earlier snapshot, an earlier time)
/// see no version of it, in point reads and scans alike, and never a fork ancestor's
/// version in its place.
#[test]
fn keys_without_history_keep_fork_views_and_hide_discarded_versions() {
    let db = Database::open_temporary().expect("open");
    let main = scope(&db, "default");
    put(&db, &main, "s", 1); // an ordinary version in the parent
    put(&db, &main, "other", 7);
    db.fork_branch("default", "child").expect("fork");
    let child = scope(&db, "child");
    put_summary(&db, &child, "s", 10);
    let at_10 = db.read();
    let ts_10 = db.head_timestamp();
    put_summary(&db, &child, "s", 11);
    put(&db, &child, "s", 12); // an ordinary write keeps the key without history

    let now = db.read();
    assert_eq!(get(&db, &child, "s"), Some(12));
    let history = now.history(&child, tags::KV, b"s").expect("history");
    assert_eq!(history.len(), 1, "only the newest version is kept");

    // The snapshot taken after 10 was written: 10 is gone, and the parent's 1 must
    // not show through.
    assert!(at_10.get(&child, tags::KV, b"s").expect("get").is_none());
    let page = at_10.scan(&child, tags::KV, b"", None, None).expect("scan");
    let keys: Vec<_> = page.entries.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys, vec![b"other".to_vec()]);
    assert!(now
        .get_as_of(&child, tags::KV, b"s", ts_10)
        .expect("as of")
        .is_none());
    let as_of = now
        .scan_as_of(&child, tags::KV, b"", ts_10)
        .expect("scan as of");
    assert_eq!(
        as_of.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        vec![b"other".to_vec()]
    );

    // A grandchild forked now keeps seeing 12 however the child moves on, in reads,
    // scans, history and time travel; a snapshot between two later writes sees none.
    db.fork_branch("child", "grandchild").expect("fork");
    let grandchild = scope(&db, "grandchild");
    let ts_12 = db.head_timestamp();
    put_summary(&db, &child, "s", 13);
    let at_13 = db.read();
    let read_13 = || {
        at_13
            .get(&child, tags::KV, b"s")
            .expect("get")
            .map(|v| v.value)
    };
    assert_eq!(read_13(), Some(Value::Int(13)));
    put_summary(&db, &child, "s", 14);
    assert_eq!(read_13(), None, "13 was discarded: no fork saw it");
    del(&db, &child, "s");
    assert_eq!(get(&db, &child, "s"), None);
    assert_eq!(get(&db, &grandchild, "s"), Some(12));
    let now = db.read();
    let page = now
        .scan(&grandchild, tags::KV, b"", None, None)
        .expect("scan");
    assert_eq!(page.entries.len(), 2, "other and s");
    let history = now.history(&grandchild, tags::KV, b"s").expect("history");
    assert_eq!(
        history.iter().map(|h| h.value.clone()).collect::<Vec<_>>(),
        vec![Some(Value::Int(12))]
    );
    let as_of = now
        .get_as_of(&grandchild, tags::KV, b"s", ts_12)
        .expect("as of")
        .map(|v| v.value);
    assert_eq!(as_of, Some(Value::Int(12)));
    put_summary(&db, &child, "s", 15);
    assert_eq!(get(&db, &grandchild, "s"), Some(12));
    assert_eq!(get(&db, &main, "s"), Some(1), "the parent keeps its own");

    // Not counted as a live key: the child's count is the inherited "other" only, and
    // so is the grandchild's after it writes the key over the version kept for it.
    assert_eq!(db.branch_stats(child.branch).live_keys, 1);
    put_summary(&db, &grandchild, "s", 20);
    assert_eq!(get(&db, &grandchild, "s"), Some(20));
    assert_eq!(db.branch_stats(grandchild.branch).live_keys, 1);
}
