//! Shows how appends behave as the log grows: appends N (first argument, default
//! 200,000) events, one commit
//! each, and prints the rate of every 50,000. For scale it first runs the engine alone
//! with the same writes per commit (three raw puts, no head read, no hash). Run in
//! release mode: `cargo run --release -p strata-events --example events_append_rate`.

use std::time::Instant;

#[path = "../../strata-storage/examples/support/allocator.rs"]
mod allocator;
use strata_storage::{tags, Database, Value, VersionedStore};

/// Events per run (first argument, default 200,000) and the window of each printed rate.
fn total() -> u64 {
    std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000)
}
const STEP: u64 = 50_000;

fn payload(i: u64) -> Value {
    Value::from(serde_json::json!({"n": i, "source": "bench"}))
}

/// Runs `op` for i in 0..TOTAL and prints the rate of every STEP.
fn timed(
    label: &str,
    mut op: impl FnMut(u64) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("{label}");
    let total_n = total();
    let start = Instant::now();
    let mut window = Instant::now();
    for i in 0..total_n {
        op(i)?;
        if (i + 1) % STEP == 0 {
            let secs = window.elapsed().as_secs_f64();
            println!(
                "  {:>7}..{:>7}: {:>7.0}/s ({:.1} µs each)",
                i + 1 - STEP,
                i + 1,
                STEP as f64 / secs,
                secs * 1e6 / STEP as f64
            );
            window = Instant::now();
        }
    }
    let total = start.elapsed().as_secs_f64();
    println!(
        "  total: {total_n} in {total:.2} s ({:.0}/s)",
        total_n as f64 / total
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A second argument `appends-only` skips the baseline (for profiling appends).
    if std::env::args().nth(2).as_deref() != Some("appends-only") {
        let base = Database::open_temporary()?;
        let s = base.default_scope();
        timed("engine baseline: 3 raw puts per commit", |i| {
            let p = payload(i);
            let index_key = [&b"i"[..], &i.to_be_bytes()].concat();
            base.transact(|t| {
                t.put(&s, tags::EVENTS, &i.to_be_bytes(), p.clone())?;
                t.put(&s, tags::EVENTS, &index_key, Value::Null)?;
                t.put(&s, tags::EVENTS, b"head", Value::Int(i as i64))
            })?;
            Ok(())
        })?;
    }

    let db = Database::open_temporary()?;
    let scope = db.default_scope();
    let types = ["click", "view", "deploy", "error"];
    timed("strata_events::append, one commit each", |i| {
        let ty = types[(i % 4) as usize];
        let p = payload(i);
        let (seq, _) = db.transact(|t| Ok(strata_events::append(t, &scope, ty, p.clone())?))?;
        assert_eq!(seq, i, "sequences are dense");
        Ok(())
    })?;

    let snap = db.read();
    let t = Instant::now();
    let report = strata_events::verify(&snap, &scope)?;
    println!(
        "verify: {} events in {:.2} s, intact: {}",
        report.checked,
        t.elapsed().as_secs_f64(),
        report.is_intact()
    );
    let t = Instant::now();
    let errors = strata_events::list_paginated(&snap, &scope, "error", Some(1000), None)?;
    println!(
        "first 1000 'error' events via the type index: {} in {:.1} ms",
        errors.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
