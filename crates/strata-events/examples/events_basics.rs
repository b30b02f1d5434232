//! A tour of the event log: appends, reads by sequence and type, pagination, time
//! travel and hash-chain verification. Run with
//! `cargo run -p strata-events --example events_basics`.

use strata_storage::{Database, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = Database::open_temporary()?;
    let scope = db.default_scope();

    for (ty, payload) in [
        (
            "user_action",
            serde_json::json!({"action": "click", "target": "button"}),
        ),
        ("deploy", serde_json::json!({"version": "1.2.0"})),
        ("user_action", serde_json::json!({"action": "scroll"})),
        ("user_action", serde_json::json!({"action": "logout"})),
    ] {
        let payload = Value::from(payload);
        let (seq, version) =
            db.transact(|t| Ok(strata_events::append(t, &scope, ty, payload.clone())?))?;
        println!("appended {ty} as #{seq} (commit {version})");
    }

    let snap = db.read();
    println!("log length: {}", strata_events::len(&snap, &scope)?);
    if let Some(e) = strata_events::get(&snap, &scope, 1)? {
        println!("#1: {} {} at {} µs", e.event_type, e.payload, e.timestamp);
    }
    let page = strata_events::list_paginated(&snap, &scope, "user_action", Some(2), Some(0))?;
    let seqs: Vec<u64> = page.iter().map(|e| e.seq).collect();
    println!("user_action after #0, two at most: {seqs:?}");

    let first_ts = strata_events::get(&snap, &scope, 0)?
        .ok_or("event 0 missing")?
        .timestamp;
    println!(
        "length as of the first append: {}",
        strata_events::len_as_of(&snap, &scope, first_ts)?
    );

    let report = strata_events::verify(&snap, &scope)?;
    println!(
        "verify: {} events checked, first broken: {:?}",
        report.checked, report.first_broken
    );
    Ok(())
}
