//! Model test: random JsonStore operations on a real temporary database, checked
//! against a `BTreeMap` of documents, including listing and time travel to every
//! earlier commit. One database is shared by all cases (opening one costs 100+ ms);
//! each case works in a fresh space of it.

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use strata_json::{JsonError, JsonPath, JsonStore};
use strata_storage::{Database, Scope, Value};

#[derive(Debug, Clone)]
enum Op {
    Set(String, String, Value),
    Delete(String, String),
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..5).prop_map(Value::Int),
        "[xy]{0,2}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::vec(("[ab]", inner), 0..3)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn arb_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$".to_owned()),
        Just("$.a".to_owned()),
        Just("$.a.b".to_owned()),
        Just("$.b[0]".to_owned()),
        Just("$.b[-1]".to_owned()),
        Just("$[0]".to_owned()),
        Just("$[*]".to_owned()),
        Just("$.a[?@ == 1]".to_owned()),
    ]
}

fn arb_op() -> impl Strategy<Value = Op> {
    let key = prop_oneof![Just("k1"), Just("k2"), Just("k3")].prop_map(String::from);
    prop_oneof![
        3 => (key.clone(), arb_path(), arb_value()).prop_map(|(k, p, v)| Op::Set(k, p, v)),
        1 => (key, arb_path()).prop_map(|(k, p)| Op::Delete(k, p)),
    ]
}

/// What the store should do, computed with the pure path functions.
fn model_apply(model: &mut BTreeMap<String, Value>, op: &Op) -> Result<usize, String> {
    match op {
        Op::Set(k, p, v) => {
            let path = JsonPath::parse(p).map_err(|e| e.to_string())?;
            if path.is_root() {
                if !matches!(v, Value::Object(_) | Value::Array(_)) {
                    return Err("invalid_root".into());
                }
                model.insert(k.clone(), v.clone());
                return Ok(0);
            }
            let mut doc = model
                .get(k)
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default()));
            strata_json::set(&mut doc, &path, v.clone()).map_err(|e| e.code().to_owned())?;
            model.insert(k.clone(), doc);
            Ok(0)
        }
        Op::Delete(k, p) => {
            let path = JsonPath::parse(p).map_err(|e| e.to_string())?;
            if path.is_root() {
                return Ok(usize::from(model.remove(k).is_some()));
            }
            let Some(doc) = model.get_mut(k) else {
                return Ok(0);
            };
            strata_json::delete(doc, &path).map_err(|e| e.code().to_owned())
        }
    }
}

/// The shared database and a fresh space for one case.
fn fresh_scope() -> Result<(&'static Database, Scope), TestCaseError> {
    static DB: OnceLock<Database> = OnceLock::new();
    static CASE: AtomicUsize = AtomicUsize::new(0);
    let db = match DB.get() {
        Some(db) => db,
        None => {
            let db = Database::open_temporary().map_err(|e| TestCaseError::fail(e.to_string()))?;
            DB.get_or_init(|| db)
        }
    };
    let space = format!("case{}", CASE.fetch_add(1, Ordering::Relaxed));
    let branch = db.default_scope().branch;
    db.create_space(branch, &space)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok((db, Scope::new(branch, space)))
}

fn store_apply(db: &Database, scope: &Scope, op: &Op) -> Result<usize, JsonError> {
    let scope = scope.clone();
    let mut txn = db.begin(false);
    let out = match op {
        Op::Set(k, p, v) => JsonStore::set(&mut txn, &scope, k, p, v.clone()).map(|()| 0),
        Op::Delete(k, p) => JsonStore::delete(&mut txn, &scope, k, p),
    }?;
    txn.commit()?;
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn store_matches_model(ops in proptest::collection::vec(arb_op(), 1..24)) {
        let (db, scope) = fresh_scope()?;
        let mut model = BTreeMap::new();
        // (timestamp of the newest commit so far, model state after it)
        let mut snapshots: Vec<(u64, BTreeMap<String, Value>)> = Vec::new();

        for op in &ops {
            let expected = model_apply(&mut model, op);
            let got = store_apply(db, &scope, op);
            match (&expected, &got) {
                (Ok(n), Ok(m)) => prop_assert_eq!(n, m, "{:?}", op),
                (Err(_), Err(e)) => prop_assert!(e.code() != "io", "{:?}: {}", op, e),
                _ => prop_assert!(false, "{:?}: model {:?}, store {:?}", op, expected, got),
            }
            let snap = db.read();
            for key in ["k1", "k2", "k3"] {
                let stored = JsonStore::get(&snap, &scope, key, "$")
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(stored, model.get(key).cloned(), "{} after {:?}", key, op);
            }
            let (keys, cursor) = JsonStore::list(&snap, &scope, "k", 10, None)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(keys, model.keys().cloned().collect::<Vec<_>>());
            prop_assert_eq!(cursor, None);
            if let Some(ts) = ["k1", "k2", "k3"]
                .iter()
                .filter_map(|k| JsonStore::history(&snap, &scope, k).ok()?.first().map(|e| e.timestamp))
                .max()
            {
                snapshots.push((ts, model.clone()));
            }
        }

        let snap = db.read();
        for (ts, state) in &snapshots {
            for key in ["k1", "k2", "k3"] {
                let old = JsonStore::get_as_of(&snap, &scope, key, "$", *ts)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(old, state.get(key).cloned(), "{} as of {}", key, ts);
            }
        }
    }
}
