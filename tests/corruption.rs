//! Torn and corrupted files. A database with every primitive is built and closed:
//! older data in tables (written out at close), newer commits in the journal only, HNSW
//! graph dumps in `vector-index/`. Then, for every file in the directory and several
//! kinds of damage (byte flips at the start, middle and end, truncation to half, by
//! one byte, to zero), a copy of the directory is damaged and opened **in a child
//! process** (so a panic or an abort is caught and fails the test). The child must
//! either:
//!
//! - refuse to open with an error (code `corrupt` or `io`, a non-empty message), or
//! - open, and then every read either fails with an error or returns exactly the state
//!   after some prefix of the commits (the prefix recorded by the `seq` key when it is
//!   readable): recovered to the last consistent state, never silently wrong.
//!
//! Derived data: damaged vector graph dumps are rejected and the graph is rebuilt from
//! the stored vectors, then dumped again. Damaged bundle files are refused with an
//! error naming the file, and leave the database untouched.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use strata::{OpenOptions, Session, Strata, Value};
use strata_storage::Durability;
use strata_vector::{DumpStatus, IndexConfig};

const CHILD_DIR: &str = "STRATA_CORRUPT_CHILD_DIR";
/// Commits in phase 1 (before the close that writes tables) and in all.
const PHASE1: i64 = 30;
const COMMITS: i64 = 45;
const BLOBS: usize = 48;
const BLOB_LEN: usize = 100_000;
const DIM: usize = 4;

fn options() -> OpenOptions {
    let mut o = OpenOptions::default().durability(Durability::Standard);
    o.vector = IndexConfig {
        hnsw_threshold: 8,
        ..IndexConfig::default()
    };
    o
}

fn blob(i: usize) -> Value {
    Value::Bytes(vec![(i % 251) as u8; BLOB_LEN])
}

fn vector(i: i64) -> Vec<f32> {
    (0..DIM)
        .map(|d| ((i * 7 + d as i64) % 13) as f32 - 6.0)
        .collect()
}

/// Commit `i`: one transaction touching every primitive.
fn commit(s: &Session, i: i64) {
    s.begin(false).expect("begin");
    s.kv_put(&format!("k{}", i % 5), Value::Int(i)).expect("kv");
    s.state_set(&format!("c{}", i % 3), Value::Int(i))
        .expect("state");
    s.event_append("e", Value::Int(i)).expect("event");
    s.json_set(
        &format!("d{}", i % 3),
        &format!("$.f{}", i % 2),
        Value::Int(i),
    )
    .expect("json");
    s.vector_upsert("vc", &format!("v{}", i % 20), &vector(i), None)
        .expect("vector");
    s.kv_put("seq", Value::Int(i)).expect("seq");
    s.commit().expect("commit");
}

/// The expected state after commits `0..=p`.
struct Expected {
    kv: Vec<Option<i64>>,
    cells: Vec<Option<i64>>,
    docs: Vec<Option<(Option<i64>, Option<i64>)>>,
    vectors: Vec<Option<i64>>,
}

fn expected(p: i64) -> Expected {
    let mut e = Expected {
        kv: vec![None; 5],
        cells: vec![None; 3],
        docs: vec![None; 3],
        vectors: vec![None; 20],
    };
    for i in 0..=p {
        let iu = i as usize;
        e.kv[iu % 5] = Some(i);
        e.cells[iu % 3] = Some(i);
        let d = e.docs[iu % 3].get_or_insert((None, None));
        if i % 2 == 0 {
            d.0 = Some(i);
        } else {
            d.1 = Some(i);
        }
        e.vectors[iu % 20] = Some(i);
    }
    e
}

/// Builds the pristine database at `dir` and closes it.
fn build(dir: &Path) {
    {
        let db = Strata::open(dir, options()).expect("open");
        let s = db.session();
        s.vector_create_collection("vc", DIM, Some("euclidean"))
            .expect("collection");
        for i in 0..BLOBS {
            s.kv_put(&format!("blob{i:02}"), blob(i)).expect("blob");
        }
        for i in 0..PHASE1 {
            commit(&s, i);
        }
        // Build the HNSW graph so closing dumps it.
        s.vector_search("vc", &vector(0), 3, None, None, None)
            .expect("search");
        db.flush().expect("flush");
    }
    {
        let db = Strata::open(dir, options()).expect("reopen");
        let s = db.session();
        for i in PHASE1..COMMITS {
            commit(&s, i);
        }
        s.vector_search("vc", &vector(0), 3, None, None, None)
            .expect("search");
    }
}

/// What the child found, one line on stdout.
fn child_check(dir: &Path) -> String {
    let db = match Strata::open(dir, options()) {
        Ok(db) => db,
        Err(e) => return format!("OPEN_ERR {} {}", e.code(), e),
    };
    let s = db.session();
    let mut errors = 0usize;
    let seq = s.kv_get("seq", None);
    let prefixes: Vec<i64> = match &seq {
        Ok(Some(v)) => vec![v.as_int().expect("seq is an int")],
        Ok(None) => vec![-1],
        Err(_) => (-1..COMMITS).collect(),
    };
    // Every successful read must agree with one prefix (the recorded one if known).
    let mut candidates = prefixes.clone();
    let mut agree = |what: &str, ok: &dyn Fn(&Expected, i64) -> bool| {
        candidates.retain(|p| ok(&expected(*p), *p));
        assert!(
            !candidates.is_empty(),
            "{what} matches no consistent state (seq {seq:?}): silently wrong answer"
        );
    };
    for k in 0..5 {
        match s.kv_get(&format!("k{k}"), None) {
            Ok(v) => agree(&format!("k{k} = {v:?}"), &|e, _| {
                v.as_ref().and_then(Value::as_int) == e.kv[k] && v.is_some() == e.kv[k].is_some()
            }),
            Err(_) => errors += 1,
        }
    }
    for i in 0..BLOBS {
        match s.kv_get(&format!("blob{i:02}"), None) {
            Ok(v) => agree(&format!("blob{i}"), &|_, p| {
                if p < 0 {
                    // Blobs precede commit 0: absent only in the empty state.
                    v.is_none() || v == Some(blob(i))
                } else {
                    v == Some(blob(i))
                }
            }),
            Err(_) => errors += 1,
        }
    }
    // History lives in another keyspace than the latest values: read it too.
    match s.kv_history("seq") {
        Ok(h) => agree(&format!("history of seq ({} entries)", h.len()), &|_, p| {
            h.len() as i64 == p + 1
                && h.iter()
                    .enumerate()
                    .all(|(n, e)| e.value == Some(Value::Int(p - n as i64)))
        }),
        Err(_) => errors += 1,
    }
    for c in 0..3 {
        match s.state_get(&format!("c{c}"), None) {
            Ok(v) => agree(&format!("c{c} = {v:?}"), &|e, _| {
                v.as_ref().and_then(Value::as_int) == e.cells[c]
                    && v.is_some() == e.cells[c].is_some()
            }),
            Err(_) => errors += 1,
        }
    }
    match s.event_len() {
        Ok(n) => {
            agree(&format!("event_len {n}"), &|_, p| n as i64 == p + 1);
            for q in 0..n {
                match s.event_get(q, None) {
                    Ok(e) => agree(&format!("event {q}"), &|_, _| {
                        e.as_ref().map(|e| &e.payload) == Some(&Value::Int(q as i64))
                    }),
                    Err(_) => errors += 1,
                }
            }
            match s.event_verify() {
                Ok(r) => assert!(r.is_intact(), "event chain broken but readable: {r:?}"),
                Err(_) => errors += 1,
            }
        }
        Err(_) => errors += 1,
    }
    for d in 0..3 {
        match s.json_get(&format!("d{d}"), "$", None) {
            Ok(v) => agree(&format!("d{d} = {v:?}"), &|e, _| {
                let want = e.docs[d].map(|(f0, f1)| {
                    let mut m = indexmap::IndexMap::new();
                    if let Some(x) = f0 {
                        m.insert("f0".to_string(), Value::Int(x));
                    }
                    if let Some(x) = f1 {
                        m.insert("f1".to_string(), Value::Int(x));
                    }
                    Value::Object(m)
                });
                v == want
            }),
            Err(_) => errors += 1,
        }
    }
    for k in 0..20 {
        match s.vector_get("vc", &format!("v{k}")) {
            Ok(v) => agree(&format!("v{k}"), &|e, _| {
                v.as_ref().map(|v| v.embedding.clone()) == e.vectors[k].map(vector)
            }),
            Err(_) => errors += 1,
        }
    }
    match s.vector_search("vc", &[0.0; DIM], 30, None, None, None) {
        Ok(hits) => {
            let mut keys: Vec<String> = hits.into_iter().map(|h| h.key).collect();
            keys.sort();
            agree(&format!("vector search {keys:?}"), &|e, _| {
                let mut want: Vec<String> = (0..20)
                    .filter(|k| e.vectors[*k].is_some())
                    .map(|k| format!("v{k}"))
                    .collect();
                want.sort();
                keys == want
            });
        }
        Err(_) => errors += 1,
    }
    // Writing after recovery works or fails cleanly.
    let write_ok = s.kv_put("after", Value::Int(1)).is_ok();
    format!(
        "OPEN_OK prefix={:?} read_errors={errors} write_ok={write_ok}",
        candidates.first()
    )
}

/// The child side: only active when spawned by the tests below.
#[test]
fn corruption_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let line = child_check(Path::new(&dir));
    println!("RESULT {line}");
    std::io::stdout().flush().expect("flush");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy");
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    FlipFirst,
    FlipMiddle,
    FlipLast,
    TruncateHalf,
    TruncateOne,
    Empty,
}

const DAMAGES: &[Damage] = &[
    Damage::FlipFirst,
    Damage::FlipMiddle,
    Damage::FlipLast,
    Damage::TruncateHalf,
    Damage::TruncateOne,
    Damage::Empty,
];

fn damage(path: &Path, d: Damage) -> bool {
    let mut bytes = std::fs::read(path).expect("read");
    if bytes.is_empty() {
        return false;
    }
    let n = bytes.len();
    match d {
        Damage::FlipFirst => bytes[0] ^= 0x5A,
        Damage::FlipMiddle => bytes[n / 2] ^= 0x5A,
        Damage::FlipLast => bytes[n - 1] ^= 0x5A,
        Damage::TruncateHalf => bytes.truncate(n / 2),
        Damage::TruncateOne => bytes.truncate(n - 1),
        Damage::Empty => bytes.clear(),
    }
    std::fs::write(path, bytes).expect("write");
    true
}

fn run_child(dir: &Path) -> Result<String, String> {
    let exe = std::env::current_exe().expect("exe");
    let out = Command::new(exe)
        .args([
            "corruption_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .output()
        .expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.find("RESULT ").map(|i| l[i + 7..].to_string()));
    match (out.status.success(), line) {
        (true, Some(line)) => Ok(line),
        _ => Err(format!(
            "child {} \nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

#[test]
fn damaged_files_are_refused_or_recovered_never_a_panic_or_a_wrong_answer() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pristine = tmp.path().join("pristine");
    build(&pristine);
    let clean_copy = tmp.path().join("clean");
    copy_dir(&pristine, &clean_copy);
    let clean = run_child(&clean_copy).expect("the undamaged database opens");
    assert!(
        clean.starts_with(&format!("OPEN_OK prefix=Some({})", COMMITS - 1)),
        "undamaged: {clean}"
    );
    let files: Vec<PathBuf> = strata_tests::files_under(&pristine)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "lock"))
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().contains("vector-index")),
        "no vector dump was written: {files:?}"
    );
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    let (mut refused, mut recovered, mut cases) = (0, 0, 0);
    for f in &files {
        let rel = f.strip_prefix(&pristine).expect("prefix").to_path_buf();
        for d in DAMAGES {
            let case = tmp.path().join("case");
            if case.exists() {
                std::fs::remove_dir_all(&case).expect("rm");
            }
            copy_dir(&pristine, &case);
            if !damage(&case.join(&rel), *d) {
                continue;
            }
            cases += 1;
            match run_child(&case) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("OPEN_ERR ") {
                        refused += 1;
                        let (code, msg) = rest.split_once(' ').unwrap_or((rest, ""));
                        if !matches!(code, "corrupt" | "io") || msg.trim().is_empty() {
                            failures.push(format!("{} {d:?}: unclear error {line}", rel.display()));
                        }
                    } else {
                        recovered += 1;
                    }
                    summary.push(format!("{} {d:?}: {line}", rel.display()));
                }
                Err(e) => failures.push(format!("{} {d:?}: {e}", rel.display())),
            }
        }
    }
    if std::env::var("STRATA_CORRUPTION_REPORT").is_ok() {
        for l in &summary {
            eprintln!("{l}");
        }
    }
    eprintln!(
        "{cases} damaged copies over {} files: {refused} refused to open, {recovered} opened (recovered or reads refused)",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn damaged_vector_dumps_are_rejected_and_rebuilt() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    build(&dir);
    let dumps: Vec<PathBuf> = strata_tests::files_under(&dir.join(strata::VECTOR_DUMP_DIR));
    assert!(!dumps.is_empty(), "no dump files");
    for (n, f) in dumps.iter().enumerate() {
        damage(f, DAMAGES[n % DAMAGES.len()]);
    }
    {
        let db = Strata::open(&dir, options()).expect("open with damaged dumps");
        let s = db.session();
        let hits = s
            .vector_search("vc", &[0.0; DIM], 30, None, None, None)
            .expect("search");
        assert_eq!(hits.len(), 20, "every vector is found after a rebuild");
        let scope = s.scope().expect("scope");
        let status = db.vectors().indexes().load_status(&scope, "vc");
        assert!(
            matches!(status, Some(DumpStatus::Rejected(_))),
            "a damaged dump must be rejected, got {status:?}"
        );
    }
    // Closing wrote a fresh dump; the next open uses it.
    let db = Strata::open(&dir, options()).expect("reopen");
    let s = db.session();
    s.vector_search("vc", &[0.0; DIM], 30, None, None, None)
        .expect("search");
    let status = db
        .vectors()
        .indexes()
        .load_status(&s.scope().expect("scope"), "vc");
    assert!(
        matches!(status, Some(DumpStatus::Loaded { stale: 0, .. })),
        "the rebuilt graph was dumped again and reused, got {status:?}"
    );
}

#[test]
fn damaged_bundles_are_refused_naming_the_file_and_change_nothing() {
    let db = Strata::cache().expect("cache");
    let s = db.session();
    for i in 0..20 {
        commit_small(&s, i);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("good.bundle");
    s.branch_export("default", &path).expect("export");
    let good = std::fs::read(&path).expect("read");
    let bad = dir.path().join("bad.bundle");
    let before = s.diff_branches("default", "default").expect("diff");
    let step = (good.len() / 97).max(1);
    let mut cases = 0;
    for at in (0..good.len()).step_by(step) {
        for d in 0..3 {
            let mut b = good.clone();
            match d {
                0 => b[at] ^= 0x01,
                1 => b.truncate(at),
                _ => b.insert(at, 0),
            }
            std::fs::write(&bad, &b).expect("write");
            let e = s
                .branch_validate_bundle(&bad)
                .expect_err("a damaged bundle validates");
            assert!(
                e.to_string().contains("bad.bundle"),
                "the error does not name the file: {e}"
            );
            assert_eq!(e.code(), "corrupt", "{e}");
            let e = s
                .branch_import(&bad, Some("imported"))
                .expect_err("a damaged bundle imports");
            assert!(e.to_string().contains("bad.bundle"), "{e}");
            assert!(!s.branch_exists("imported"));
            cases += 1;
        }
    }
    assert!(cases > 200);
    assert_eq!(s.list_branches(), vec!["default".to_string()]);
    assert_eq!(
        format!("{before:?}"),
        format!("{:?}", s.diff_branches("default", "default").expect("diff"))
    );
    s.branch_import(&path, Some("ok"))
        .expect("the good bundle imports");
}

fn commit_small(s: &Session, i: i64) {
    s.kv_put(&format!("k{i}"), Value::Int(i)).expect("put");
    s.event_append("e", Value::Int(i)).expect("event");
}

/// Refusals should name the damaged database (fjall does not say which file), and a
/// checksum or format failure should carry the `corrupt` code rather than `io`.
#[test]
fn open_errors_on_damaged_files_name_the_database() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    build(&dir);
    damage(&dir.join("version"), Damage::FlipMiddle);
    let e = Strata::open(&dir, options()).expect_err("a damaged version file opens");
    assert_eq!(e.code(), "corrupt", "{e}");
    assert!(
        e.to_string().contains(&dir.display().to_string()),
        "the error does not name the database: {e}"
    );
}
