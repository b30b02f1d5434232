//! Keyword-index dumps on a real database: a reopened database serves the same results
//! from its dump without re-reading every record, catches up with writes made after
//! the dump, and falls back to a full scan whenever a dump is damaged, foreign or
//! stale. Every check compares against an index built by a full scan of the same
//! store (a second `SearchIndex` without dumps), so a wrong catch-up shows up as a
//! difference.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use strata_search::{
    Embedder, LoadSource, ModelConfig, SearchConfig, SearchHit, SearchIndex, SearchMode,
    SearchRequest,
};
use strata_storage::{tags, Database, DatabaseOptions, PrimitiveTag, Scope, Value, VersionedStore};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const WORDS: [&str; 24] = [
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
    "network",
    "partition",
    "replica",
    "lag",
];

/// A deterministic sentence of 6-12 words for document `i`.
fn sentence(i: u64, salt: u64) -> String {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    let n = 6 + (x % 7);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            WORDS[((x >> 33) % WORDS.len() as u64) as usize]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn put(db: &Database, scope: &Scope, tag: PrimitiveTag, key: &[u8], value: Value) -> TestResult {
    db.transact(|t| t.put(scope, tag, key, value.clone()))?;
    Ok(())
}

fn del(db: &Database, scope: &Scope, tag: PrimitiveTag, key: &[u8]) -> TestResult {
    db.transact(|t| t.delete(scope, tag, key).map(|_| ()))?;
    Ok(())
}

/// Writes `n` KV documents and a few of every other primitive into `scope`.
fn fill(db: &Database, scope: &Scope, n: u64, salt: u64) -> TestResult {
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        db.transact(|t| {
            for &i in chunk {
                t.put(
                    scope,
                    tags::KV,
                    format!("doc-{i}").as_bytes(),
                    Value::from(sentence(i, salt)),
                )?;
            }
            Ok(())
        })?;
    }
    let doc = Value::Object(
        [("title".to_owned(), Value::from(sentence(7, salt ^ 1)))]
            .into_iter()
            .collect(),
    );
    put(db, scope, tags::JSON, b"incident", doc)?;
    put(
        db,
        scope,
        tags::STATE,
        b"status",
        Value::from(sentence(9, salt ^ 2)),
    )?;
    let mut ev = b"e".to_vec();
    ev.extend_from_slice(&1u64.to_be_bytes());
    let event = Value::Object(
        [
            ("type".to_owned(), Value::from("alert")),
            ("payload".to_owned(), Value::from(sentence(11, salt ^ 3))),
        ]
        .into_iter()
        .collect(),
    );
    put(db, scope, tags::EVENTS, &ev, event)?;
    Ok(())
}

const QUERIES: [&str; 6] = [
    "deploy rollback",
    "kernel panic latency",
    "database outage replica lag",
    "certificate expired token refresh",
    "alert disk full",
    "cache miss queue backlog network",
];

fn request(q: &str) -> SearchRequest {
    SearchRequest::new(q).mode(SearchMode::Keyword).k(15)
}

/// Every query's hits on `scope`.
fn answers(search: &SearchIndex, db: &Database, scope: &Scope) -> Vec<Vec<SearchHit>> {
    QUERIES
        .iter()
        .map(|q| search.search(db, scope, &request(q)).expect("search"))
        .collect()
}

/// The answers of an index built by a full scan of the store right now.
fn scanned_answers(db: &Database, scope: &Scope) -> Vec<Vec<SearchHit>> {
    let reference = SearchIndex::attach(db);
    let out = answers(&reference, db, scope);
    let report = reference.load_report(scope).expect("loaded");
    assert_eq!(report.source, LoadSource::Scan);
    out
}

fn dump_dir(path: &Path) -> PathBuf {
    path.join("search-index")
}

fn open(path: &Path) -> Result<(Database, Arc<SearchIndex>), Box<dyn std::error::Error>> {
    let db = Database::open(path, DatabaseOptions::default())?;
    let search = SearchIndex::attach_with_dumps(&db, SearchConfig::default(), Some(dump_dir(path)));
    Ok((db, search))
}

/// The dump file of the default space of `branch`.
fn dump_file(path: &Path, branch: u64, space: &str) -> PathBuf {
    let hex: String = space.bytes().map(|b| format!("{b:02x}")).collect();
    dump_dir(path)
        .join(format!("b{branch}"))
        .join(format!("{hex}.kwix"))
}

#[test]
fn reopen_serves_the_same_results_from_the_dump_without_reading_documents() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    let before = {
        let (db, search) = open(&path)?;
        let s = db.default_scope();
        fill(&db, &s, 2000, 1)?;
        let hits = answers(&search, &db, &s);
        assert_eq!(search.load_report(&s).map(|r| r.docs_read), Some(2003));
        assert_eq!(search.persist(&db)?, 1);
        assert_eq!(
            search.persist(&db)?,
            0,
            "nothing changed since the last dump"
        );
        hits
    };
    assert!(dump_file(&path, 1, "default").exists());
    let (db, search) = open(&path)?;
    let s = db.default_scope();
    let after = answers(&search, &db, &s);
    let report = search.load_report(&s).expect("loaded");
    assert_eq!(report.source, LoadSource::Dump, "{report:?}");
    assert_eq!(report.docs_read, 0, "{report:?}");
    assert_eq!(report.docs, 2003);
    assert_eq!(after, before);
    assert!(after.iter().all(|h| !h.is_empty()));
    // Time filters and snippets work from the dump's data.
    let hit = &after[4][0];
    assert!(!hit.snippet.is_empty());
    let ranged = search.search(
        &db,
        &s,
        &request("alert disk full").time_range(0, u64::MAX / 2),
    )?;
    assert_eq!(ranged, after[4]);
    let none = search.search(&db, &s, &request("alert disk full").time_range(0, 1))?;
    assert!(none.is_empty());
    Ok(())
}

#[test]
fn a_dump_older_than_the_data_is_caught_up_from_the_change_log() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    let old_dump = dir.path().join("old.kwix");
    let (expected, changed) = {
        let (db, search) = open(&path)?;
        let s = db.default_scope();
        fill(&db, &s, 1000, 2)?;
        answers(&search, &db, &s);
        search.persist(&db)?;
        std::fs::copy(dump_file(&path, 1, "default"), &old_dump)?;
        // After the dump: overwrites, deletes, new documents, another space.
        put(
            &db,
            &s,
            tags::KV,
            b"doc-1",
            Value::from("certificate expired again"),
        )?;
        put(&db, &s, tags::KV, b"doc-2", Value::from(sentence(2, 99)))?;
        del(&db, &s, tags::KV, b"doc-3")?;
        del(&db, &s, tags::KV, b"doc-4")?;
        put(
            &db,
            &s,
            tags::KV,
            b"doc-4",
            Value::from("kernel panic resurrected"),
        )?;
        put(
            &db,
            &s,
            tags::KV,
            b"new-1",
            Value::from("deploy rollback kernel"),
        )?;
        del(&db, &s, tags::STATE, b"status")?;
        let other = Scope::new(s.branch, "other");
        put(
            &db,
            &other,
            tags::KV,
            b"x",
            Value::from("deploy rollback elsewhere"),
        )?;
        (scanned_answers(&db, &s), 6)
    };
    // The clean close wrote a current dump: put the old one back, as if the process had
    // been killed after it.
    std::fs::copy(&old_dump, dump_file(&path, 1, "default"))?;
    let (db, search) = open(&path)?;
    let s = db.default_scope();
    let got = answers(&search, &db, &s);
    let report = search.load_report(&s).expect("loaded");
    assert_eq!(report.source, LoadSource::Dump, "{report:?}");
    assert_eq!(
        report.docs_read, changed,
        "only the changed keys are re-read"
    );
    assert_eq!(got, expected);
    let hits = search.search(&db, &s, &request("resurrected"))?;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].entity, "doc-4");
    assert!(search.search(&db, &s, &request("elsewhere"))?.is_empty());
    Ok(())
}

/// Damages the dump in `how` and checks the next open rebuilds with correct answers.
fn damaged_dump_is_rebuilt(how: impl Fn(&mut Vec<u8>), why: &str) -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    let expected = {
        let (db, search) = open(&path)?;
        let s = db.default_scope();
        fill(&db, &s, 300, 3)?;
        answers(&search, &db, &s)
    };
    let file = dump_file(&path, 1, "default");
    let mut bytes = std::fs::read(&file)?;
    how(&mut bytes);
    std::fs::write(&file, &bytes)?;
    let (db, search) = open(&path)?;
    let s = db.default_scope();
    assert_eq!(answers(&search, &db, &s), expected);
    let report = search.load_report(&s).expect("loaded");
    assert_eq!(report.source, LoadSource::Scan, "{report:?}");
    assert_eq!(report.docs_read, 303);
    let rejected = report.rejected.unwrap_or_default();
    assert!(rejected.contains(why), "{rejected}");
    // The rebuilt index is dumped again at close and used by the next open.
    drop(search);
    drop(db);
    let (db, search) = open(&path)?;
    assert_eq!(answers(&search, &db, &s), expected);
    assert_eq!(
        search.load_report(&s).map(|r| r.source),
        Some(LoadSource::Dump)
    );
    Ok(())
}

#[test]
fn a_flipped_byte_is_detected_and_rebuilt() -> TestResult {
    damaged_dump_is_rebuilt(
        |b| {
            let i = b.len() / 2;
            b[i] ^= 0x10;
        },
        "checksum mismatch",
    )
}

#[test]
fn a_truncated_dump_is_detected_and_rebuilt() -> TestResult {
    damaged_dump_is_rebuilt(|b| b.truncate(b.len() - 100), "checksum mismatch")
}

#[test]
fn a_dump_of_another_format_version_is_rebuilt() -> TestResult {
    damaged_dump_is_rebuilt(
        |b| {
            b[8..12].copy_from_slice(&99u32.to_le_bytes());
            let n = b.len() - 4;
            let crc = crc32fast::hash(&b[..n]);
            b[n..].copy_from_slice(&crc.to_le_bytes());
        },
        "format 99",
    )
}

#[test]
fn a_dump_claiming_versions_the_store_lacks_is_rebuilt() -> TestResult {
    damaged_dump_is_rebuilt(
        |b| {
            b[12..20].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
            let n = b.len() - 4;
            let crc = crc32fast::hash(&b[..n]);
            b[n..].copy_from_slice(&crc.to_le_bytes());
        },
        "the store has only",
    )
}

#[test]
fn branches_and_spaces_stay_isolated_after_reopen() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    let scopes = {
        let (db, search) = open(&path)?;
        let b = db.create_branch("feature")?;
        let scopes = [
            (db.default_scope(), "aardvark"),
            (Scope::new(db.default_scope().branch, "ops"), "bison"),
            (Scope::new(b, "default"), "chameleon"),
            (Scope::new(b, "ops"), "dingo"),
        ];
        for (scope, word) in &scopes {
            fill(&db, scope, 50, 4)?;
            put(&db, scope, tags::KV, b"marker", Value::from(*word))?;
            search.search(&db, scope, &request(word))?;
        }
        scopes
    };
    let (db, search) = open(&path)?;
    for (scope, word) in &scopes {
        for (_, other) in &scopes {
            let hits = search.search(&db, scope, &request(other))?;
            if other == word {
                assert_eq!(hits.len(), 1, "{scope:?} finds its {word}");
                assert_eq!(hits[0].entity, "marker");
            } else {
                assert!(hits.is_empty(), "{scope:?} sees {other}: {hits:?}");
            }
        }
        let report = search.load_report(scope).expect("loaded");
        assert_eq!((report.source, report.docs_read), (LoadSource::Dump, 0));
    }
    Ok(())
}

#[test]
fn spaces_with_the_longest_names_are_dumped_and_kept_apart() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    // Same first 100 bytes, 255 bytes long: the file names are shortened.
    let names = [
        format!("{}a", "s".repeat(254)),
        format!("{}b", "s".repeat(254)),
    ];
    {
        let (db, search) = open(&path)?;
        for (name, word) in names.iter().zip(["heron", "ibis"]) {
            let s = Scope::new(db.default_scope().branch, name.as_str());
            put(&db, &s, tags::KV, b"k", Value::from(word))?;
            search.search(&db, &s, &request(word))?;
        }
        assert_eq!(search.persist(&db)?, 2);
    }
    let (db, search) = open(&path)?;
    for (name, (word, other)) in names.iter().zip([("heron", "ibis"), ("ibis", "heron")]) {
        let s = Scope::new(db.default_scope().branch, name.as_str());
        assert_eq!(search.search(&db, &s, &request(word))?.len(), 1);
        assert!(search.search(&db, &s, &request(other))?.is_empty());
        let report = search.load_report(&s).expect("loaded");
        assert_eq!((report.source, report.docs_read), (LoadSource::Dump, 0));
    }
    Ok(())
}

#[test]
fn a_deleted_and_recreated_branch_does_not_reuse_the_old_dump() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    let stale = dir.path().join("stale.kwix");
    let new_id = {
        let (db, search) = open(&path)?;
        let b = db.create_branch("x")?;
        let s = Scope::new(b, "default");
        put(&db, &s, tags::KV, b"k", Value::from("ancient walrus"))?;
        search.search(&db, &s, &request("walrus"))?;
        search.persist(&db)?;
        std::fs::copy(dump_file(&path, b.0, "default"), &stale)?;
        db.delete_branch("x")?;
        assert!(
            !dump_file(&path, b.0, "default").exists(),
            "deleting the branch removes its dump"
        );
        let b2 = db.create_branch("x")?;
        let s2 = Scope::new(b2, "default");
        put(&db, &s2, tags::KV, b"k", Value::from("young penguin"))?;
        assert!(search.search(&db, &s2, &request("walrus"))?.is_empty());
        b2
    };
    // Plant the old branch's dump where the new branch's would be.
    std::fs::copy(&stale, dump_file(&path, new_id.0, "default"))?;
    let (db, search) = open(&path)?;
    let s = Scope::new(db.branch_id("x")?, "default");
    assert!(search.search(&db, &s, &request("walrus"))?.is_empty());
    assert_eq!(search.search(&db, &s, &request("penguin"))?.len(), 1);
    let report = search.load_report(&s).expect("loaded");
    assert_eq!(report.source, LoadSource::Scan, "{report:?}");
    assert!(report.rejected.unwrap_or_default().contains("not this one"));
    Ok(())
}

#[test]
fn a_fork_starts_from_its_parents_dump_and_catches_up() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    let old_parent_dump = dir.path().join("parent.kwix");
    let (parent_expected, child_expected) = {
        let (db, search) = open(&path)?;
        let p = db.default_scope();
        fill(&db, &p, 800, 5)?;
        answers(&search, &db, &p);
        search.persist(&db)?;
        std::fs::copy(dump_file(&path, 1, "default"), &old_parent_dump)?;
        // Parent writes between its dump and the fork: the child sees them.
        put(
            &db,
            &p,
            tags::KV,
            b"doc-10",
            Value::from("before the fork narwhal"),
        )?;
        del(&db, &p, tags::KV, b"doc-11")?;
        let (c, _) = db.fork_branch("default", "child")?;
        let cs = Scope::new(c, "default");
        // Parent writes after the fork: the child does not see them.
        put(
            &db,
            &p,
            tags::KV,
            b"doc-12",
            Value::from("after the fork okapi"),
        )?;
        // The child's own writes.
        put(
            &db,
            &cs,
            tags::KV,
            b"doc-13",
            Value::from("child only quokka"),
        )?;
        del(&db, &cs, tags::KV, b"doc-14")?;
        (scanned_answers(&db, &p), scanned_answers(&db, &cs))
    };
    // The close dumped the parent again; put back the dump from before the fork.
    std::fs::copy(&old_parent_dump, dump_file(&path, 1, "default"))?;
    let (db, search) = open(&path)?;
    let cs = Scope::new(db.branch_id("child")?, "default");
    assert_eq!(answers(&search, &db, &cs), child_expected);
    let report = search.load_report(&cs).expect("loaded");
    assert_eq!(
        report.source,
        LoadSource::AncestorDump(db.default_scope().branch)
    );
    // doc-10, doc-11 (parent, between its dump and the fork), doc-13, doc-14 (the
    // child's own); doc-12 changed on the parent after the fork, invisible to the child.
    assert_eq!(report.docs_read, 4, "{report:?}");
    let word = |q: &str, scope: &Scope| -> Result<usize, Box<dyn std::error::Error>> {
        Ok(search.search(&db, scope, &request(q))?.len())
    };
    assert_eq!(word("narwhal", &cs)?, 1);
    assert_eq!(word("okapi", &cs)?, 0);
    assert_eq!(word("quokka", &cs)?, 1);
    let p = db.default_scope();
    assert_eq!(answers(&search, &db, &p), parent_expected);
    assert_eq!(word("okapi", &p)?, 1);
    assert_eq!(word("quokka", &p)?, 0);
    // The child's index is dumped on close and used directly next time.
    drop(search);
    drop(db);
    let (db, search) = open(&path)?;
    assert_eq!(answers(&search, &db, &cs), child_expected);
    let report = search.load_report(&cs).expect("loaded");
    assert_eq!((report.source, report.docs_read), (LoadSource::Dump, 0));
    Ok(())
}

#[test]
fn a_parent_dump_newer_than_the_fork_is_rolled_back_for_the_child() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    let child_expected = {
        let (db, search) = open(&path)?;
        let p = db.default_scope();
        fill(&db, &p, 300, 6)?;
        let (c, _) = db.fork_branch("default", "child")?;
        put(
            &db,
            &p,
            tags::KV,
            b"doc-1",
            Value::from("parent later ibex"),
        )?;
        del(&db, &p, tags::KV, b"doc-2")?;
        answers(&search, &db, &p);
        scanned_answers(&db, &Scope::new(c, "default"))
    };
    let (db, search) = open(&path)?;
    let cs = Scope::new(db.branch_id("child")?, "default");
    assert_eq!(answers(&search, &db, &cs), child_expected);
    let report = search.load_report(&cs).expect("loaded");
    assert_eq!(
        report.source,
        LoadSource::AncestorDump(db.default_scope().branch)
    );
    assert_eq!(report.docs_read, 2);
    assert!(search.search(&db, &cs, &request("ibex"))?.is_empty());
    Ok(())
}

#[test]
fn a_deleted_and_recreated_space_does_not_reuse_the_old_dump() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    let stale = dir.path().join("stale.kwix");
    let branch = {
        let (db, search) = open(&path)?;
        let s = Scope::new(db.default_scope().branch, "tmp");
        put(&db, &s, tags::KV, b"k", Value::from("ephemeral gecko"))?;
        search.search(&db, &s, &request("gecko"))?;
        search.persist(&db)?;
        let file = dump_file(&path, 1, "tmp");
        std::fs::copy(&file, &stale)?;
        db.delete_space(s.branch, "tmp", true)?;
        assert!(!file.exists(), "deleting the space removes its dump");
        put(&db, &s, tags::KV, b"j", Value::from("fresh newt"))?;
        assert!(search.search(&db, &s, &request("gecko"))?.is_empty());
        s.branch
    };
    // As if the process died after the deletion but before the dump was removed.
    std::fs::copy(&stale, dump_file(&path, 1, "tmp"))?;
    let (db, search) = open(&path)?;
    let s = Scope::new(branch, "tmp");
    assert!(search.search(&db, &s, &request("gecko"))?.is_empty());
    assert_eq!(search.search(&db, &s, &request("newt"))?.len(), 1);
    let report = search.load_report(&s).expect("loaded");
    assert_eq!(report.source, LoadSource::Scan, "{report:?}");
    assert!(report.rejected.unwrap_or_default().contains("not this one"));
    // A space that does not exist any more never uses its dump either.
    drop(search);
    drop(db);
    std::fs::copy(&stale, dump_file(&path, 1, "gone"))?;
    let (db, search) = open(&path)?;
    let gone = Scope::new(branch, "gone");
    assert!(search.search(&db, &gone, &request("gecko"))?.is_empty());
    Ok(())
}

/// Unit vectors from word hashes; counts the texts it embeds.
struct Counting {
    embedded: AtomicUsize,
    seed: u64,
}

impl Embedder for Counting {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        self.embedded.fetch_add(texts.len(), Ordering::SeqCst);
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0.0f32; 16];
                for w in t.split_whitespace() {
                    let h = w.bytes().fold(self.seed, |h, b| {
                        h.wrapping_mul(31).wrapping_add(u64::from(b))
                    });
                    v[(h % 16) as usize] += 1.0;
                }
                v
            })
            .collect())
    }
}

#[test]
fn hybrid_embeddings_are_reused_after_reopen_only_for_the_same_model() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    let hybrid = SearchRequest::new("kernel panic").k(10);
    let model = |seed| {
        Arc::new(Counting {
            embedded: AtomicUsize::new(0),
            seed,
        })
    };
    let models = |m: &Arc<Counting>| ModelConfig {
        embedder: Some(m.clone()),
        ..ModelConfig::default()
    };
    let before = {
        let (db, search) = open(&path)?;
        let s = db.default_scope();
        fill(&db, &s, 200, 7)?;
        let m = model(1);
        search.set_models(models(&m));
        let hits = search.search(&db, &s, &hybrid)?;
        assert_eq!(m.embedded.load(Ordering::SeqCst), 203 + 1);
        hits
    };
    {
        let (db, search) = open(&path)?;
        let s = db.default_scope();
        let m = model(1);
        search.set_models(models(&m));
        assert_eq!(search.search(&db, &s, &hybrid)?, before);
        // Three probe documents and the query: nothing else is embedded again.
        assert_eq!(m.embedded.load(Ordering::SeqCst), 3 + 1);
    }
    let (db, search) = open(&path)?;
    let s = db.default_scope();
    let other = model(2);
    search.set_models(models(&other));
    search.search(&db, &s, &hybrid)?;
    // Another model: the probes disagree, so every document is embedded again.
    assert_eq!(other.embedded.load(Ordering::SeqCst), 3 + 203 + 1);
    Ok(())
}
