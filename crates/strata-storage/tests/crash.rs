//! Crash test: a child process commits in a loop and reports each acknowledged commit;
//! the parent kills it with SIGKILL at random moments, reopens, and checks that every
//! acknowledged commit is present and no half of a transaction is visible.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use strata_storage::{
    tags, CommitVersion, Database, DatabaseOptions, Durability, Value, VersionedStore,
};

const CHILD_ENV: &str = "STRATA_CRASH_CHILD_DIR";
const DURABILITY_ENV: &str = "STRATA_CRASH_CHILD_DURABILITY";
/// Set: every iteration also writes a key into the space `scratch` and deletes the
/// space, so that removals and writes interleave in the journal.
const SPACES_ENV: &str = "STRATA_CRASH_CHILD_SPACES";

/// The child side: only does something when spawned by the parent test.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let durability: Durability = std::env::var(DURABILITY_ENV)
        .unwrap_or_else(|_| "standard".into())
        .parse()
        .expect("durability");
    let db = Database::open(&dir, DatabaseOptions::default().with_durability(durability))
        .expect("child open");
    let s = db.default_scope();
    let start = db
        .read()
        .get(&s, tags::KV, b"seq")
        .expect("get")
        .and_then(|v| v.value.as_int())
        .map_or(0, |i| i + 1);
    let stdout = std::io::stdout();
    let spaces = std::env::var_os(SPACES_ENV).is_some();
    let scratch = strata_storage::Scope {
        branch: s.branch,
        space: "scratch".into(),
    };
    for i in start.. {
        if spaces {
            db.transact(|t| {
                t.put(
                    &scratch,
                    tags::KV,
                    format!("k:{i:010}").as_bytes(),
                    Value::Int(i),
                )
            })
            .expect("scratch commit");
            db.delete_space(s.branch, "scratch", true)
                .expect("delete scratch");
        }
        db.transact(|t| {
            t.put(&s, tags::KV, b"seq", Value::Int(i))?;
            t.put(
                &s,
                tags::KV,
                format!("log:{i:010}").as_bytes(),
                Value::Int(i),
            )?;
            t.put(&s, tags::KV, b"pair:a", Value::Int(i))?;
            t.put(&s, tags::KV, b"pair:b", Value::Int(i))
        })
        .expect("commit");
        let mut out = stdout.lock();
        writeln!(out, "ack {i}").expect("write");
        out.flush().expect("flush");
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn run_rounds(durability: &str, rounds: usize) {
    run_rounds_with(durability, rounds, false)
}

fn run_rounds_with(durability: &str, rounds: usize, spaces: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let exe = std::env::current_exe().expect("exe");
    let mut rng = Rng(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64
        | 1);
    let mut total_acked = 0i64;
    for round in 0..rounds {
        let mut cmd = Command::new(&exe);
        cmd.args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .env(DURABILITY_ENV, durability);
        if spaces {
            cmd.env(SPACES_ENV, "1");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut last = -1i64;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line.strip_prefix("ack ") {
                    last = n.trim().parse().unwrap_or(last);
                }
            }
            last
        });
        // Let it start (opening takes a few ms) and run for a random while.
        let wait = Duration::from_millis(20 + rng.next() % 80);
        let t0 = Instant::now();
        while t0.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        let last_ack = reader.join().expect("reader");

        let db = Database::open(&path, DatabaseOptions::default()).expect("reopen after kill");
        let s = db.default_scope();
        let r = db.read();
        let get = |k: &[u8]| {
            r.get(&s, tags::KV, k)
                .expect("get")
                .and_then(|v| v.value.as_int())
        };
        let seq = get(b"seq").unwrap_or(-1);
        assert!(
            seq >= last_ack,
            "round {round}: acknowledged commit {last_ack} lost (seq {seq})"
        );
        assert_eq!(
            get(b"pair:a"),
            get(b"pair:b"),
            "round {round}: half a transaction visible"
        );
        assert_eq!(
            get(b"pair:a").unwrap_or(-1),
            seq,
            "round {round}: torn commit"
        );
        let logs = r
            .scan(&s, tags::KV, b"log:", None, None)
            .expect("scan")
            .entries;
        assert_eq!(
            logs.len() as i64,
            seq + 1,
            "round {round}: log entries not dense"
        );
        for (i, (_, v)) in logs.iter().enumerate() {
            assert_eq!(v.value, Value::Int(i as i64));
        }
        // Statistics are checkpointed, not written per commit: after a kill they must
        // be recounted from the data, and the head derived from the change log.
        let live_in = |space: &str| {
            if !db.space_exists(s.branch, space) {
                return 0;
            }
            let scope = strata_storage::Scope {
                branch: s.branch,
                space: space.into(),
            };
            r.scan(&scope, tags::KV, b"", None, None)
                .expect("scan")
                .entries
                .len() as u64
        };
        let live = live_in("default") + live_in("scratch");
        assert_eq!(
            db.branch_stats(s.branch).live_keys,
            live,
            "round {round}: live-key count"
        );
        // The change log waits in memory between groups; after a kill, open rebuilds
        // what it lost from the records: every commit's keys, each commit once.
        let changed = db
            .changed_keys(s.branch, CommitVersion(0), db.committed_version())
            .expect("changed keys");
        let count = |k: &[u8]| changed.iter().filter(|(_, _, key)| key == k).count() as i64;
        assert_eq!(count(b"seq"), seq + 1, "round {round}: change log of seq");
        assert_eq!(
            count(b"pair:b"),
            seq + 1,
            "round {round}: change log of pair:b"
        );
        let logged: Vec<&[u8]> = changed
            .iter()
            .filter(|(_, _, k)| k.starts_with(b"log:"))
            .map(|(_, _, k)| k.as_slice())
            .collect();
        let want: Vec<Vec<u8>> = (0..=seq)
            .map(|i| format!("log:{i:010}").into_bytes())
            .collect();
        assert!(
            logged.iter().copied().eq(want.iter().map(|k| k.as_slice())),
            "round {round}: change log of the log keys: {} entries for {} commits",
            logged.len(),
            seq + 1
        );
        // The newest commit: the last main commit, or the scratch write after it.
        let mut newest = r.get(&s, tags::KV, b"seq").expect("get").map(|v| v.version);
        if spaces && db.space_exists(s.branch, "scratch") {
            // Each iteration deletes the space it wrote into before its main commit:
            // only the iteration cut short by the kill may have left its key. (A key
            // that came back while its space is gone shows once the next round's
            // child writes into the space again.)
            let scratch = strata_storage::Scope {
                branch: s.branch,
                space: "scratch".into(),
            };
            let left = r
                .scan(&scratch, tags::KV, b"", None, None)
                .expect("scan scratch")
                .entries;
            let want = format!("k:{:010}", seq + 1).into_bytes();
            assert!(
                left.iter().all(|(k, _)| *k == want),
                "round {round}: a deleted space's keys came back: {} keys, seq {seq}",
                left.len()
            );
            newest = newest.max(left.iter().map(|(_, v)| v.version).max());
        }
        if let Some(newest) = newest {
            assert_eq!(
                newest,
                db.committed_version(),
                "round {round}: head version not recovered"
            );
        }
        total_acked = total_acked.max(last_ack);
    }
    assert!(total_acked > 0, "the child never acknowledged a commit");
}

#[test]
fn sigkill_loses_no_acknowledged_commit() {
    run_rounds("standard", 25);
}

/// Removals (a deleted space) interleaved with writes: replaying the journal after a
/// kill must not bring back what a later removal took away.
#[test]
fn sigkill_between_writes_and_removals() {
    run_rounds_with("standard", 15, true);
}

#[test]
fn sigkill_with_fsync_every_commit() {
    run_rounds("always", 8);
}
