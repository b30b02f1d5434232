//! A tour of state cells: init, CAS-driven counter increments, time travel and
//! history. Run with `cargo run -p strata-state --example state_basics`.

use strata_state::{CasOutcome, InitOutcome};
use strata_storage::{Database, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = Database::open_temporary()?;
    let scope = db.default_scope();

    let (outcome, v) =
        db.transact(|t| Ok(strata_state::init(t, &scope, "counter", Value::Int(0))?))?;
    println!("init counter: {outcome:?} at version {v}");
    let (outcome, _) =
        db.transact(|t| Ok(strata_state::init(t, &scope, "counter", Value::Int(7))?))?;
    if let InitOutcome::Exists { version } = outcome {
        println!("second init found the cell at version {version}");
    }

    // Optimistic increments: read the version, CAS against it, retry on mismatch.
    for _ in 0..3 {
        loop {
            let cur = strata_state::get_versioned(&db.read(), &scope, "counter")?
                .ok_or("counter vanished")?;
            let next = Value::Int(cur.value.as_int().ok_or("not an int")? + 1);
            let (out, v) = db.transact(|t| {
                Ok(strata_state::cas(
                    t,
                    &scope,
                    "counter",
                    next.clone(),
                    Some(cur.version),
                )?)
            })?;
            match out {
                CasOutcome::Swapped => {
                    println!("counter -> {next} at version {v}");
                    break;
                }
                CasOutcome::Mismatch { current } => {
                    println!("lost a race to {current:?}, retrying")
                }
            }
        }
    }

    let snap = db.read();
    for entry in strata_state::history(&snap, &scope, "counter")? {
        println!(
            "  v{} @ {}: {:?}",
            entry.version, entry.timestamp, entry.value
        );
    }
    let oldest = strata_state::history(&snap, &scope, "counter")?
        .pop()
        .ok_or("no history")?;
    let then = strata_state::get_as_of(&snap, &scope, "counter", oldest.timestamp)?;
    println!("as of the first write: {:?}", then.map(|v| v.value));
    Ok(())
}
