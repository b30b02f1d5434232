//! Fork time at 1k, 100k and 1M keys, and bundle export/import of 100k keys.
//!
//! Run: `cargo run --release -p strata-storage --example branch_bench`

use std::time::Instant;
use strata_storage::{tags, Database, DatabaseOptions, Value, VersionedStore};

fn fill(db: &Database, n: usize) {
    let s = db.default_scope();
    let value = Value::from("x".repeat(100));
    for chunk in 0..n.div_ceil(1000) {
        let mut tx = db.begin(false);
        for i in chunk * 1000..((chunk + 1) * 1000).min(n) {
            tx.put(
                &s,
                tags::KV,
                format!("key:{i:09}").as_bytes(),
                value.clone(),
            )
            .expect("put");
        }
        tx.commit().expect("commit");
    }
}

fn main() {
    println!("| operation | keys | time |");
    println!("|---|---|---|");
    for n in [1_000usize, 100_000, 1_000_000] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::open(dir.path().join("db"), DatabaseOptions::default()).expect("open");
        fill(&db, n);
        let t = Instant::now();
        let (_, copied) = db.fork_branch("default", "fork").expect("fork");
        let fork = t.elapsed();
        assert_eq!(copied as usize, n);
        // The fork sees the data.
        let fid = db.branch_id("fork").expect("id");
        let s = strata_storage::Scope::new(fid, "default");
        assert!(db
            .read()
            .get(&s, tags::KV, b"key:000000000")
            .expect("get")
            .is_some());
        println!("| fork_branch | {n} | {:.3} ms |", fork.as_secs_f64() * 1e3);
        if n == 100_000 {
            let bundle = dir.path().join("b.bundle");
            let t = Instant::now();
            let e = db.export_branch("default", &bundle).expect("export");
            println!(
                "| branch_export ({} bytes) | {n} | {:.0} ms |",
                e.bytes,
                t.elapsed().as_secs_f64() * 1e3
            );
            let dst =
                Database::open(dir.path().join("dst"), DatabaseOptions::default()).expect("open");
            let t = Instant::now();
            let imp = dst
                .import_branch(&bundle, Some("restored"))
                .expect("import");
            assert_eq!(imp.key_count as usize, n);
            println!(
                "| branch_import | {n} | {:.0} ms |",
                t.elapsed().as_secs_f64() * 1e3
            );
        }
    }
}
