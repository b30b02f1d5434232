//! The change log, written per commit on disk and in groups by temporary databases,
//! answers `changed_keys` exactly (every write in the range, in commit order) on
//! both, whatever the range, across group boundaries, with a second branch
//! interleaved and after a branch deletion.

use strata_storage::{
    tags, CommitVersion, Database, DatabaseOptions, Scope, Value, VersionedStore,
};

/// Commits `n` writes (one or two keys each, every fifth a delete) on `scope`,
/// returning `(version, keys written)` per commit.
fn commits(db: &Database, scope: &Scope, n: usize, salt: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
    let mut out = Vec::new();
    for i in 0..n {
        let a = format!("k{}", (i * 7 + salt) % 97).into_bytes();
        let b = format!("other{}", i % 13).into_bytes();
        let both = i % 3 == 0;
        // A delete of a key that is not there writes nothing.
        let wrote_a = db
            .transact(|t| {
                let wrote = if i % 5 == 4 {
                    t.delete(scope, tags::KV, &a)?
                } else {
                    t.put(scope, tags::KV, &a, Value::Int(i as i64))?;
                    true
                };
                if both {
                    t.put(scope, tags::STATE, &b, Value::Int(1))?;
                }
                Ok(wrote)
            })
            .expect("commit")
            .0;
        if !wrote_a && !both {
            continue; // an empty commit: no version, no entry
        }
        let mut written = if wrote_a { vec![a] } else { vec![] };
        if both {
            written.push(b);
        }
        out.push((db.committed_version().0, written));
    }
    out
}

/// What `changed_keys(after, upto)` must return: the keys in commit order. Keys of one
/// commit come in key order (tag first), as the log lists them.
fn expected(log: &[(u64, Vec<Vec<u8>>)], after: u64, upto: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (v, keys) in log {
        if *v > after && *v <= upto {
            // KV's tag (1) sorts before STATE's (2).
            out.extend(keys.iter().cloned());
        }
    }
    out
}

fn check(db: &Database, branch: &str, log: &[(u64, Vec<Vec<u8>>)]) {
    let id = db.branch_id(branch).expect("branch");
    let head = db.committed_version().0;
    let first = log.first().map_or(0, |(v, _)| *v);
    let points = [
        0,
        first,
        first + 1,
        first + 500,
        first + 511,
        first + 512,
        first + 1000,
        head - 3,
        head,
    ];
    for &after in &points {
        for &upto in &points {
            let got: Vec<Vec<u8>> = db
                .changed_keys(id, CommitVersion(after), CommitVersion(upto))
                .expect("changed keys")
                .into_iter()
                .map(|(_, _, k)| k)
                .collect();
            let want = expected(log, after, upto);
            assert!(
                got == want,
                "{branch}: ({after}, {upto}]: {} keys, expected {}; first difference at {:?}",
                got.len(),
                want.len(),
                got.iter().zip(&want).position(|(g, w)| g != w)
            );
        }
    }
}

fn exercise(db: &Database) {
    let main = db.default_scope();
    let mut log = commits(db, &main, 700, 0);
    db.fork_branch("default", "side").expect("fork");
    let side = Scope::new(db.branch_id("side").expect("id"), "default");
    // Interleaved commits on both branches.
    let mut side_log = Vec::new();
    for round in 0..6 {
        log.extend(commits(db, &main, 100, round));
        side_log.extend(commits(db, &side, 90, round + 50));
    }
    check(db, "default", &log);
    check(db, "side", &side_log);
    // The diff sees every key the side branch wrote.
    let diff = db.diff_branches("default", "side").expect("diff");
    assert!(!diff.entries.is_empty());
    db.delete_branch("side").expect("delete");
    log.extend(commits(db, &main, 30, 99));
    check(db, "default", &log);
    // A new branch under the deleted one's name starts with an empty log.
    db.fork_branch("default", "side").expect("fork again");
    let side = Scope::new(db.branch_id("side").expect("id"), "default");
    let again = commits(db, &side, 5, 7);
    check(db, "side", &again);
}

#[test]
fn a_temporary_database_answers_from_groups_and_its_tail() {
    exercise(&Database::open_temporary().expect("open"));
}

#[test]
fn a_database_on_disk_answers_from_one_entry_per_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    exercise(&Database::open(dir.path().join("db"), DatabaseOptions::default()).expect("open"));
}
