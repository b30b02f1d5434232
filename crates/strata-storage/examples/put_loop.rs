//! A put loop for profiling the commit path: `perf record` this.
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
    let t = std::time::Instant::now();
    for i in 0..n {
        let k = format!("user:{:08}", (i * 7919) % 100_000_000);
        db.transact(|tx| tx.put(&s, tags::KV, k.as_bytes(), v.clone()))
            .expect("put");
    }
    println!("{:.2} µs/put", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
