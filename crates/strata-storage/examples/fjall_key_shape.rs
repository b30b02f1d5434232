//! Raw fjall, no StrataDB: put, get and absent-key get of 1M keys in three shapes:
//! `plain` (`user:00000001`, 13 bytes), `ours` (the shape of StrataDB's key layout 1:
//! 8-byte branch id, space name, tag, escaped key: 33 bytes) and `compact` (layout 2's
//! shape: 16 bytes). Shows what keys over fjall's 20-byte inline limit cost.
//!
//! Run: `cargo run --release -p strata-storage --example fjall_key_shape`
use std::time::Instant;
#[path = "support/allocator.rs"]
mod allocator;
fn main() {
    let n: usize = 1_000_000;
    let value = vec![b'x'; 104];
    for shape in ["plain", "ours", "compact"] {
        let dir = tempfile::tempdir().expect("fjall");
        let fj = fjall::Database::builder(dir.path().join("raw"))
            .open()
            .expect("fjall");
        let ks = fj
            .keyspace("data", fjall::KeyspaceCreateOptions::default)
            .expect("fjall");
        let key = |i: usize| -> Vec<u8> {
            let u = format!("user:{:08}", (i * 7919) % 100_000_000);
            match shape {
                "plain" => u.into_bytes(),
                "ours" => {
                    let mut k = vec![0u8; 8];
                    k.extend_from_slice(b"default\x00\x01\x01");
                    k.extend_from_slice(u.as_bytes());
                    k.extend_from_slice(b"\x00\x01");
                    k
                }
                _ => {
                    let mut k = vec![0x00u8, 0x01, 0x01];
                    k.extend_from_slice(u.as_bytes());
                    k
                }
            }
        };
        let t = Instant::now();
        for i in 0..n {
            ks.insert(key(i), value.clone()).expect("fjall");
        }
        let put = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        let t = Instant::now();
        for i in 0..n {
            assert!(ks.get(key((i * 31) % n)).expect("fjall").is_some());
        }
        let get = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        let t = Instant::now();
        for i in 0..n {
            let _ = ks.get(key(n + i)).expect("fjall");
        }
        let miss = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("{shape:8} put {put:.2} µs  get {get:.2} µs  miss {miss:.2} µs");
    }
}
