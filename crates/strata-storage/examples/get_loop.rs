//! A point-read loop for profiling the read path: `perf record` this. Loads N keys
//! (first argument, default 300,000), then reads each once in a scattered order
//! through one snapshot, so the latest-record cache misses on every read.
use strata_storage::{tags, Database, DatabaseOptions, Value, VersionedStore};

#[path = "support/allocator.rs"]
mod allocator;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db"), DatabaseOptions::default()).expect("open");
    let s = db.default_scope();
    let v = Value::from("x".repeat(100));
    let keys: Vec<String> = (0..n).map(|i| format!("user:{i:08}")).collect();
    for chunk in keys.chunks(1000) {
        db.transact(|tx| {
            for k in chunk {
                tx.put(&s, tags::KV, k.as_bytes(), v.clone())?;
            }
            Ok(())
        })
        .expect("load");
    }
    let order: Vec<&String> = (0..n).map(|i| &keys[(i * 7919) % n]).collect();
    let snap = db.read();
    let t = std::time::Instant::now();
    for k in &order {
        assert!(snap.get(&s, tags::KV, k.as_bytes()).expect("get").is_some());
    }
    println!("{:.2} µs/get", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
