//! Keyword-index dumps across SIGKILL.
//!
//! A child process (this test binary re-invoked with [`CHILD_DIR`] set) opens a
//! database through the `strata` facade, writes documents, searches (building the
//! keyword index) and flushes (writing the dump), then keeps overwriting, deleting
//! and adding documents, forking a branch and writing to it, without another flush.
//! The parent SIGKILLs it, reopens the database and checks that search answers
//! exactly what an index built by a full scan of the recovered store answers, that
//! the answer came from the dump plus a catch-up of the changed keys only, and that
//! the fork starts from its parent's dump.
//!
//! `STRATA_TEST_SEED` replays a run of the random-kill test.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use strata::{OpenOptions, Strata, Value};
use strata_search::{LoadSource, SearchHit, SearchIndex, SearchMode, SearchRequest};
use strata_storage::{tags, Durability, Scope, VersionedStore};
use strata_tests::Rng;

const CHILD_DIR: &str = "STRATA_SEARCHCRASH_DIR";
const CHILD_MODE: &str = "STRATA_SEARCHCRASH_MODE";
const CHILD_SEED: &str = "STRATA_SEARCHCRASH_SEED";

const BASE_DOCS: u64 = 600;

const WORDS: [&str; 20] = [
    "deploy",
    "rollback",
    "kernel",
    "panic",
    "latency",
    "spike",
    "database",
    "outage",
    "certificate",
    "expired",
    "memory",
    "leak",
    "disk",
    "full",
    "queue",
    "backlog",
    "cache",
    "miss",
    "token",
    "refresh",
];

const QUERIES: [&str; 7] = [
    "deploy rollback",
    "kernel panic latency",
    "database outage",
    "certificate expired token",
    "zebra crossing",
    "ocelot",
    "memory leak disk full",
];

fn sentence(rng: &mut Rng, extra: &str) -> String {
    let n = 5 + rng.below(8);
    let mut words: Vec<&str> = (0..n).map(|_| WORDS[rng.below(20) as usize]).collect();
    if !extra.is_empty() {
        words.push(extra);
    }
    words.join(" ")
}

fn put(db: &Strata, scope: &Scope, key: &str, text: String) {
    db.database()
        .transact(|t| t.put(scope, tags::KV, key.as_bytes(), Value::from(text.clone())))
        .expect("put");
}

fn delete(db: &Strata, scope: &Scope, key: &str) {
    db.database()
        .transact(|t| t.delete(scope, tags::KV, key.as_bytes()).map(|_| ()))
        .expect("delete");
}

fn request(q: &str) -> SearchRequest {
    SearchRequest::new(q).mode(SearchMode::Keyword).k(20)
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").expect("write");
    out.flush().expect("flush");
}

/// The child side: does something only when spawned by [`spawn`].
#[test]
fn search_crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let mode = std::env::var(CHILD_MODE).unwrap_or_default();
    let seed: u64 = std::env::var(CHILD_SEED)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let db = Strata::open(
        &dir,
        OpenOptions::default().durability(Durability::Standard),
    )
    .expect("child open");
    let scope = db.database().default_scope();
    let mut rng = Rng::new(seed);
    if db.database().committed_version().0 == 0 {
        let db2 = db.database();
        for chunk in (0..BASE_DOCS).collect::<Vec<_>>().chunks(100) {
            let texts: Vec<(String, String)> = chunk
                .iter()
                .map(|i| (format!("doc-{i}"), sentence(&mut rng, "")))
                .collect();
            db2.transact(|t| {
                for (k, v) in &texts {
                    t.put(&scope, tags::KV, k.as_bytes(), Value::from(v.clone()))?;
                }
                Ok(())
            })
            .expect("base docs");
        }
    }
    db.search_index()
        .search(db.database(), &scope, &request("deploy"))
        .expect("search");
    db.flush().expect("flush");
    say("dumped");
    if mode == "scripted" {
        put(&db, &scope, "doc-1", "zebra crossing ahead".into());
        delete(&db, &scope, "doc-2");
        delete(&db, &scope, "doc-3");
        put(&db, &scope, "late-1", "ocelot kernel panic".into());
        db.database().fork_branch("default", "fork").expect("fork");
        let fork = Scope::new(db.database().branch_id("fork").expect("id"), "default");
        put(&db, &fork, "doc-4", "ocelot in the fork only".into());
        delete(&db, &fork, "doc-5");
        put(&db, &scope, "doc-6", "zebra after the fork".into());
        say("ready");
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    // Random mode: keep changing documents, flushing now and then.
    for i in 0u64.. {
        let key = format!("doc-{}", rng.below(BASE_DOCS + 50));
        match rng.below(10) {
            0..=5 => {
                let extra = ["", "zebra", "ocelot"][rng.below(3) as usize];
                put(&db, &scope, &key, sentence(&mut rng, extra));
            }
            6..=8 => delete(&db, &scope, &key),
            _ => {
                db.search_index()
                    .search(db.database(), &scope, &request("zebra"))
                    .expect("search");
                db.flush().expect("flush");
            }
        }
        say(&format!("ack {i}"));
    }
}

/// A child process killed (SIGKILL) when dropped, also when the parent test panics.
struct Killed(Child);

impl Killed {
    fn kill(mut self) {
        self.0.kill().expect("SIGKILL");
        self.0.wait().expect("wait");
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(dir: &Path, mode: &str, seed: u64) -> (Killed, std::sync::mpsc::Receiver<String>) {
    let exe = std::env::current_exe().expect("exe");
    let mut child = Command::new(&exe)
        .args([
            "search_crash_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .env(CHILD_MODE, mode)
        .env(CHILD_SEED, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Killed(child), rx)
}

fn wait_for(rx: &std::sync::mpsc::Receiver<String>, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            // The test harness's "test search_crash_child ... " may precede the first.
            Ok(line) if line.ends_with(what) => return,
            Ok(_) => {}
            Err(e) => panic!("the child never said {what:?}: {e}"),
        }
    }
}

/// Every query's answer on `scope`, from the facade's index and from a fresh scan.
fn compare(db: &Strata, scope: &Scope, ctx: &str) -> Vec<Vec<SearchHit>> {
    let reference = SearchIndex::attach(db.database());
    let mut out = Vec::new();
    for q in QUERIES {
        let got = db
            .search_index()
            .search(db.database(), scope, &request(q))
            .expect("search");
        let want = reference
            .search(db.database(), scope, &request(q))
            .expect("reference search");
        assert_eq!(got, want, "{ctx}: query {q:?}");
        out.push(got);
    }
    out
}

fn entities(hits: &[SearchHit]) -> Vec<&str> {
    let mut e: Vec<&str> = hits.iter().map(|h| h.entity.as_str()).collect();
    e.sort();
    e
}

#[test]
fn writes_after_the_dump_survive_sigkill() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    let (child, rx) = spawn(&dir, "scripted", 7);
    wait_for(&rx, "dumped");
    wait_for(&rx, "ready");
    child.kill();

    let db = Strata::open(&dir, OpenOptions::default()).expect("reopen");
    let scope = db.database().default_scope();
    let answers = compare(&db, &scope, "default");
    let report = db.search_index().load_report(&scope).expect("loaded");
    assert_eq!(report.source, LoadSource::Dump, "{report:?}");
    // doc-1, doc-2, doc-3, late-1, doc-6: nothing else is re-read.
    assert_eq!(report.docs_read, 5, "{report:?}");
    assert_eq!(report.docs, BASE_DOCS as usize - 2 + 1);
    assert_eq!(entities(&answers[4]), vec!["doc-1", "doc-6"]);
    assert_eq!(entities(&answers[5]), vec!["late-1"]);

    let fork = Scope::new(db.database().branch_id("fork").expect("fork"), "default");
    let answers = compare(&db, &fork, "fork");
    let report = db.search_index().load_report(&fork).expect("loaded");
    assert_eq!(
        report.source,
        LoadSource::AncestorDump(scope.branch),
        "{report:?}"
    );
    // Parent: doc-1, doc-2, doc-3, late-1 (before the fork); fork: doc-4, doc-5.
    assert_eq!(report.docs_read, 6, "{report:?}");
    assert_eq!(entities(&answers[4]), vec!["doc-1"]);
    assert_eq!(entities(&answers[5]), vec!["doc-4", "late-1"]);
}

#[test]
fn random_kills_never_serve_stale_results() {
    let seed = Rng::seed_from_env();
    let mut rng = Rng::new(seed);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    let mut from_dump = 0;
    for round in 0..6 {
        let ctx = format!("STRATA_TEST_SEED={seed}, round {round}");
        let (child, rx) = spawn(&dir, "random", seed.wrapping_add(round));
        wait_for(&rx, "dumped");
        std::thread::sleep(Duration::from_millis(20 + rng.below(300)));
        child.kill();
        let db = Strata::open(&dir, OpenOptions::default()).expect("reopen");
        let scope = db.database().default_scope();
        compare(&db, &scope, &ctx);
        let report = db.search_index().load_report(&scope).expect("loaded");
        if report.source == LoadSource::Dump {
            from_dump += 1;
        }
        assert!(report.rejected.is_none(), "{ctx}: {report:?}");
        // Closing here writes a current dump; the next child starts from it.
    }
    assert_eq!(
        from_dump, 6,
        "every reopen loads the dump the child flushed"
    );
}
