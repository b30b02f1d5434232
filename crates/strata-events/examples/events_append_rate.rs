//! Shows that appends stay O(1) as the log grows: appends 200,000 events, one commit
//! each, and prints the rate of every 50,000. Run in release mode:
//! `cargo run --release -p strata-events --example events_append_rate`.

use std::time::Instant;
use strata_storage::{Database, Value};

const TOTAL: u64 = 200_000;
const STEP: u64 = 50_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = Database::open_temporary()?;
    let scope = db.default_scope();
    let types = ["click", "view", "deploy", "error"];
    let start = Instant::now();
    let mut window = Instant::now();
    for i in 0..TOTAL {
        let ty = types[(i % 4) as usize];
        let payload = Value::from(serde_json::json!({"n": i, "source": "bench"}));
        let (seq, _) =
            db.transact(|t| Ok(strata_events::append(t, &scope, ty, payload.clone())?))?;
        assert_eq!(seq, i, "sequences are dense");
        if (i + 1) % STEP == 0 {
            let secs = window.elapsed().as_secs_f64();
            println!(
                "events {:>7}..{:>7}: {:>8.0} appends/s ({:.1} µs each)",
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
        "total: {TOTAL} appends in {total:.2} s ({:.0}/s)",
        TOTAL as f64 / total
    );

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
