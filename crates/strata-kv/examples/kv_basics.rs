//! A tour of the KV primitive: put, get, history, time travel, pagination and an
//! explicit transaction. Run with `cargo run -p strata-kv --example kv_basics`.

use strata_storage::{Database, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = Database::open_temporary()?;
    let scope = db.default_scope();

    // Auto-commit: each `transact` is one commit; its version is the write's version.
    let (_, v1) = db.transact(|t| Ok(strata_kv::put(t, &scope, "user:1", Value::from("Ada"))?))?;
    let (_, v2) =
        db.transact(|t| Ok(strata_kv::put(t, &scope, "user:1", Value::from("Ada L."))?))?;
    println!("wrote user:1 at versions {v1} and {v2}");

    let snap = db.read();
    let first = strata_kv::history(&snap, &scope, "user:1")?
        .pop()
        .ok_or("history is empty")?;
    let then = strata_kv::get_as_of(&snap, &scope, "user:1", first.timestamp)?;
    println!("now: {:?}", strata_kv::get(&snap, &scope, "user:1")?);
    println!("as of {}: {:?}", first.timestamp, then.map(|v| v.value));

    // An explicit transaction: several keys, one commit.
    let mut txn = db.begin(false);
    for i in 2..=7 {
        strata_kv::put(&mut txn, &scope, &format!("user:{i}"), Value::Int(i))?;
    }
    let v3 = txn.commit()?;
    println!("six users committed at version {v3}");

    // Pagination: the cursor is the last key of the page.
    let snap = db.read();
    let mut cursor = None;
    loop {
        let page = strata_kv::list_paginated(&snap, &scope, "user:", Some(3), cursor.as_deref())?;
        println!("page: {:?}", page.keys);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }

    let (existed, _) = db.transact(|t| Ok(strata_kv::delete(t, &scope, "user:1")?))?;
    println!("deleted user:1: existed = {existed}");
    Ok(())
}
