//! Storage benchmark: StrataDB's versioned store against raw fjall doing the same work.
//!
//! Run: `cargo run --release -p strata-storage --example storage_bench -- [N]`
//! (N keys, default 1 000 000). Prints a Markdown table.
//!
//! The put row is the fastest of `PUT_ROUNDS` rounds per side (default 3; each
//! round loads N keys into a fresh directory, the two sides alternating), because
//! on this shared machine one round of either side moves by 10-20% from run to run;
//! every round's ratio is printed below the table.

use std::time::Instant;
use strata_storage::{tags, Database, DatabaseOptions, Durability, Value, VersionedStore};

#[path = "support/allocator.rs"]
mod allocator;

fn rate(n: usize, secs: f64) -> String {
    format!("{:.0}/s ({:.2} µs)", n as f64 / secs, secs * 1e6 / n as f64)
}

fn key(i: usize) -> String {
    format!("user:{:08}", (i * 7919) % 100_000_000)
}

/// Loads keys `0..n` one auto-commit put each; returns the seconds taken.
fn strata_put(db: &Database, n: usize, value: &Value) -> f64 {
    let s = db.default_scope();
    let t = Instant::now();
    for i in 0..n {
        db.transact(|tx| tx.put(&s, tags::KV, key(i).as_bytes(), value.clone()))
            .expect("put");
    }
    t.elapsed().as_secs_f64()
}

/// Opens raw fjall at `path` (one keyspace) and loads keys `0..n`, one insert each;
/// returns the database, the keyspace and the seconds taken.
fn raw_put(
    path: &std::path::Path,
    n: usize,
    value: &[u8],
) -> (fjall::Database, fjall::Keyspace, f64) {
    let fj = fjall::Database::builder(path).open().expect("open");
    let ks = fj
        .keyspace("data", fjall::KeyspaceCreateOptions::default)
        .expect("ks");
    let t = Instant::now();
    for i in 0..n {
        ks.insert(key(i), value).expect("insert");
    }
    let secs = t.elapsed().as_secs_f64();
    (fj, ks, secs)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let value = Value::from("x".repeat(100));
    let raw_value = value.encode();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let rounds: usize = std::env::var("PUT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    // Extra put rounds, alternating sides, each into a fresh directory; the main run
    // below is the last round.
    let mut put_rounds: Vec<(f64, f64)> = Vec::new();
    for r in 1..rounds {
        let db = Database::open(
            dir.path().join(format!("round{r}")),
            DatabaseOptions::default(),
        )
        .expect("open");
        let ours = strata_put(&db, n, &value);
        drop(db);
        let raw = raw_put(&dir.path().join(format!("raw{r}")), n, &raw_value).2;
        put_rounds.push((ours, raw));
    }

    // ---------------- StrataDB
    // STRATA_READ_CACHE=<bytes> overrides the latest-record cache size (0 = off).
    let options = match std::env::var("STRATA_READ_CACHE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(bytes) => DatabaseOptions::default().with_read_cache_size(bytes),
        None => DatabaseOptions::default(),
    };
    let db = Database::open(dir.path().join("strata"), options).expect("open");
    let s = db.default_scope();
    let strata_put = strata_put(&db, n, &value);
    let ts_mid = db.head_timestamp();
    // overwrite 10% so as_of reads have history to skip
    for i in 0..n / 10 {
        db.transact(|tx| tx.put(&s, tags::KV, key(i).as_bytes(), Value::from("new")))
            .expect("put");
    }
    let reads = n.min(200_000);
    let snap = db.read();
    let t = Instant::now();
    for i in 0..reads {
        let k = key((i * 31) % n);
        assert!(snap.get(&s, tags::KV, k.as_bytes()).expect("get").is_some());
    }
    let strata_get = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..reads {
        let k = key((i * 31) % n);
        assert!(snap
            .get_as_of(&s, tags::KV, k.as_bytes(), ts_mid)
            .expect("as_of")
            .is_some());
    }
    let strata_asof = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut scanned = 0;
    for p in 0..100 {
        let prefix = format!("user:{:04}", p * 97);
        scanned += snap
            .scan(&s, tags::KV, prefix.as_bytes(), None, Some(100))
            .expect("scan")
            .entries
            .len();
    }
    let strata_scan = t.elapsed().as_secs_f64();
    let batch = 100;
    let txns = (n / batch).min(2_000);
    let t = Instant::now();
    for j in 0..txns {
        let mut tx = db.begin(false);
        for i in 0..batch {
            tx.put(
                &s,
                tags::KV,
                format!("txn:{j}:{i}").as_bytes(),
                value.clone(),
            )
            .expect("put");
        }
        tx.commit().expect("commit");
    }
    let strata_txn = t.elapsed().as_secs_f64();
    drop(snap);
    drop(db);
    let t = Instant::now();
    let db = Database::open(dir.path().join("strata"), DatabaseOptions::default()).expect("reopen");
    let reopen = t.elapsed().as_secs_f64();
    let s = db.default_scope();
    assert!(db
        .read()
        .get(&s, tags::KV, key(1).as_bytes())
        .expect("get")
        .is_some());
    drop(db);

    // durable commits (fsync every commit), 1 and 4 threads
    let sync_db = Database::open(
        dir.path().join("sync"),
        DatabaseOptions::default().with_durability(Durability::Always),
    )
    .expect("open");
    let s = sync_db.default_scope();
    let m = 5_000;
    let t = Instant::now();
    for i in 0..m {
        sync_db
            .transact(|tx| tx.put(&s, tags::KV, key(i).as_bytes(), value.clone()))
            .expect("put");
    }
    let sync1 = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let threads = 4;
    std::thread::scope(|sc| {
        for th in 0..threads {
            let db = sync_db.clone();
            let s = s.clone();
            let value = value.clone();
            sc.spawn(move || {
                for i in 0..m / threads {
                    db.transact(|tx| {
                        tx.put(&s, tags::KV, format!("t{th}:{i}").as_bytes(), value.clone())
                    })
                    .expect("put");
                }
            });
        }
    });
    let sync4 = t.elapsed().as_secs_f64();
    drop(sync_db);

    // ---------------- raw fjall, same work
    let (fj, ks, raw_put) = raw_put(&dir.path().join("raw"), n, &raw_value);
    let t = Instant::now();
    for i in 0..reads {
        let k = key((i * 31) % n);
        assert!(ks.get(k).expect("get").is_some());
    }
    let raw_get = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut raw_scanned = 0;
    for p in 0..100 {
        let prefix = format!("user:{:04}", p * 97);
        raw_scanned += ks.prefix(prefix).take(100).count();
    }
    let raw_scan = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for j in 0..txns {
        let mut b = fj.batch();
        for i in 0..batch {
            b.insert(&ks, format!("txn:{j}:{i}"), raw_value.clone());
        }
        b.commit().expect("commit");
    }
    let raw_txn = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..m {
        let mut b = fj.batch().durability(Some(fjall::PersistMode::SyncData));
        b.insert(&ks, key(i), raw_value.clone());
        b.commit().expect("commit");
    }
    let raw_sync = t.elapsed().as_secs_f64();
    assert_eq!(scanned, raw_scanned);

    rows.push((
        "put (auto-commit, 1 key)".into(),
        rate(n, strata_put),
        rate(n, raw_put),
    ));
    rows.push((
        "get (latest)".into(),
        rate(reads, strata_get),
        rate(reads, raw_get),
    ));
    rows.push((
        "get as_of (history)".into(),
        rate(reads, strata_asof),
        "n/a (no history)".into(),
    ));
    rows.push((
        "prefix scan, 100 keys".into(),
        rate(100, strata_scan),
        rate(100, raw_scan),
    ));
    rows.push((
        format!("transaction commit, {batch} keys"),
        rate(txns, strata_txn),
        rate(txns, raw_txn),
    ));
    rows.push((
        "fsync every commit, 1 thread".into(),
        rate(m, sync1),
        rate(m, raw_sync),
    ));
    rows.push((
        format!("fsync every commit, {threads} threads"),
        rate(m, sync4),
        "—".into(),
    ));
    rows.push((
        format!("reopen at {n} keys"),
        format!("{:.1} ms", reopen * 1e3),
        "—".into(),
    ));
    put_rounds.push((strata_put, raw_put));
    let strata_put = put_rounds.iter().map(|r| r.0).fold(f64::MAX, f64::min);
    let raw_put = put_rounds.iter().map(|r| r.1).fold(f64::MAX, f64::min);
    rows[0].1 = rate(n, strata_put);
    rows[0].2 = rate(n, raw_put);
    println!("| operation ({n} keys, 100-byte values) | StrataDB | raw fjall | ratio |");
    println!("|---|---|---|---|");
    let ratio = |a: f64, b: f64| format!("{:.2}x", a / b);
    let ratios = [
        ratio(strata_put, raw_put),
        ratio(strata_get, raw_get),
        "—".into(),
        ratio(strata_scan, raw_scan),
        ratio(strata_txn, raw_txn),
        ratio(sync1, raw_sync),
        "—".into(),
        "—".into(),
    ];
    for ((op, a, b), r) in rows.iter().zip(ratios.iter()) {
        println!("| {op} | {a} | {b} | {r} |");
    }
    let per_round: Vec<String> = put_rounds
        .iter()
        .map(|(a, b)| {
            format!(
                "{:.2} / {:.2} µs = {:.2}x",
                a * 1e6 / n as f64,
                b * 1e6 / n as f64,
                a / b
            )
        })
        .collect();
    println!(
        "\nput rounds (StrataDB / raw fjall): {}",
        per_round.join("; ")
    );
}
