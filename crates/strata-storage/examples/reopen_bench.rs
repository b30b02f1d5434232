//! Measures reopening a database of N keys (default 1 000 000), after clean closes
//! and after an unclean shutdown (simulated: the database's "open" mark set again
//! with raw fjall, so the open rebuilds the change log's unwritten entries, which
//! costs a scan of every latest record).
//!
//! Run: `cargo run --release -p strata-storage --example reopen_bench -- [N]`

use std::time::Instant;
use strata_storage::{tags, Database, DatabaseOptions, Value, VersionedStore};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let value = Value::from("x".repeat(100));
    let t = Instant::now();
    {
        let db = Database::open(&path, DatabaseOptions::default()).expect("open");
        let s = db.default_scope();
        for chunk in 0..n / 1000 {
            let mut tx = db.begin(false);
            for i in 0..1000 {
                let k = format!("key:{:09}", chunk * 1000 + i);
                tx.put(&s, tags::KV, k.as_bytes(), value.clone())
                    .expect("put");
            }
            tx.commit().expect("commit");
        }
        println!("loaded {n} keys in {:.1} s", t.elapsed().as_secs_f64());
        let t = Instant::now();
        drop(db);
        println!(
            "close (memtable flush) {:.0} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    for _ in 0..3 {
        let t = Instant::now();
        let db = Database::open(&path, DatabaseOptions::default()).expect("reopen");
        let opened = t.elapsed();
        let s = db.default_scope();
        let got = db.read().get(&s, tags::KV, b"key:000000007").expect("get");
        assert!(got.is_some());
        println!(
            "reopen {:.1} ms (first read after {:.1} ms), live keys {}",
            opened.as_secs_f64() * 1e3,
            t.elapsed().as_secs_f64() * 1e3,
            db.total_live_keys()
        );
    }
    for _ in 0..2 {
        {
            let raw = fjall::Database::builder(&path).open().expect("raw open");
            let meta = raw
                .keyspace("meta", fjall::KeyspaceCreateOptions::default)
                .expect("meta");
            meta.insert("open", [1u8]).expect("mark open");
            raw.persist(fjall::PersistMode::SyncAll).expect("persist");
        }
        let t = Instant::now();
        let db = Database::open(&path, DatabaseOptions::default()).expect("reopen");
        println!(
            "reopen after an unclean shutdown (change-log rebuild scan) {:.1} ms, live keys {}",
            t.elapsed().as_secs_f64() * 1e3,
            db.total_live_keys()
        );
    }
}
