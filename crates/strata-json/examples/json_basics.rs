//! JSON documents in a temporary database: create, update through paths, filter,
//! delete, then read the history and travel back in time.
//!
//! Run with `cargo run -p strata-json --example json_basics`.

use serde_json::json;
use strata_json::{JsonError, JsonStore};
use strata_storage::{CommitVersion, Database, Transaction, Value};

/// Runs `f` in a read-write transaction and commits it.
fn write<T>(
    db: &Database,
    f: impl FnOnce(&mut Transaction) -> Result<T, JsonError>,
) -> Result<(T, CommitVersion), JsonError> {
    let mut txn = db.begin(false);
    let out = f(&mut txn)?;
    Ok((out, txn.commit()?))
}

fn main() -> Result<(), JsonError> {
    let db = Database::open_temporary()?;
    let scope = db.default_scope();

    // Create a document at `$` (it must be an object or an array), then add fields.
    let user = json!({"name": "Alice", "roles": ["admin"], "orders": []});
    let ((), v1) = write(&db, |t| {
        JsonStore::set(t, &scope, "user:1", "$", Value::from(user.clone()))
    })?;
    write(&db, |t| {
        JsonStore::set(
            t,
            &scope,
            "user:1",
            "$.email",
            Value::from("alice@example.com"),
        )?;
        JsonStore::set(t, &scope, "user:1", "$.roles[1]", Value::from("ops"))?; // append
                                                                                // An index equal to the array's length appends.
        for (i, total) in [30, 120, 75].into_iter().enumerate() {
            let order = json!({"id": i + 1, "total": total});
            JsonStore::set(t, &scope, "user:1", &format!("$.orders[{i}]"), order.into())?;
        }
        Ok(())
    })?;

    let snap = db.read();
    println!(
        "document: {}",
        show(JsonStore::get(&snap, &scope, "user:1", "$")?)
    );
    println!(
        "big orders: {}",
        show(JsonStore::get(
            &snap,
            &scope,
            "user:1",
            "$.orders[?@.total > 50].id"
        )?)
    );

    // A type mismatch names the path and the offending node.
    if let Err(e) = write(&db, |t| {
        JsonStore::set(t, &scope, "user:1", "$.name.first", Value::from("A"))
    }) {
        println!("refused: {e}");
    }

    // Delete every small order; the count says how many went.
    let (removed, _) = write(&db, |t| {
        JsonStore::delete(t, &scope, "user:1", "$.orders[?@.total < 100]")
    })?;
    println!("removed {removed} orders");

    // History (newest first) and time travel to the first version.
    let snap = db.read();
    for entry in JsonStore::history(&snap, &scope, "user:1")? {
        println!("  version {} at {} µs", entry.version, entry.timestamp);
    }
    let first_ts = JsonStore::history(&snap, &scope, "user:1")?
        .iter()
        .find(|e| e.version == v1)
        .map(|e| e.timestamp)
        .unwrap_or_default();
    println!(
        "as of version {v1}: {}",
        show(JsonStore::get_as_of(
            &snap, &scope, "user:1", "$", first_ts
        )?)
    );

    // Listing pages through keys with a cursor.
    write(&db, |t| {
        for i in 2..=5 {
            JsonStore::set(
                t,
                &scope,
                &format!("user:{i}"),
                "$",
                Value::from(json!({"n": i})),
            )?;
        }
        Ok(())
    })?;
    let snap = db.read();
    let mut cursor = None;
    loop {
        let (keys, next) = JsonStore::list(&snap, &scope, "user:", 2, cursor.as_deref())?;
        println!("page: {keys:?}");
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(())
}

fn show(v: Option<Value>) -> String {
    v.map_or_else(|| "(none)".to_owned(), |v| v.to_string())
}
