//! Branch and space isolation, as a property: random operations on branch `a`, space
//! `s` (every primitive, transactions committed or rolled back, deleting and
//! recreating the space, compaction) never change what any read, listing, history,
//! diff, keyword search or vector search returns for any other (branch, space).
//!
//! The branch tree makes sharing likely to leak if anything is wrong: `a` is forked
//! from `default` (so `a/s` starts as shared copy-on-write data), `c` is forked from
//! `a` (so it shares `a`'s own writes too), and `e` is an unrelated branch. `a`'s other
//! spaces are checked as well as `s` on the other branches.

use proptest::prelude::*;
use strata::{Session, Strata, Value};
use strata_search::SearchRequest;

const BRANCHES: &[&str] = &["default", "a", "c", "e"];
const SPACES: &[&str] = &["default", "s", "t"];
const TARGET: (&str, &str) = ("a", "s");
const WORDS: &[&str] = &["alpha", "beta", "gamma", "delta", "agent", "memory"];
const COLLECTION: &str = "vc";

#[derive(Debug, Clone)]
enum Op {
    KvPut(u8, u8),
    KvDel(u8),
    StateSet(u8, i64),
    StateCas(u8),
    StateDel(u8),
    Event(u8, u8),
    JsonSet(u8, u8, u8),
    JsonDel(u8, u8),
    JsonDelDoc(u8),
    VecUpsert(u8, [i8; 4]),
    VecDel(u8),
    VecDropCollection,
    VecCreateCollection,
    /// A transaction of several operations, committed or rolled back.
    Txn(Vec<Op>, bool),
    /// Delete space `s` of branch `a` (with its data) and recreate it.
    DeleteSpace,
    Compact,
}

fn leaf() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..6u8, 0..6u8).prop_map(|(k, w)| Op::KvPut(k, w)),
        2 => (0..6u8).prop_map(Op::KvDel),
        2 => (0..4u8, -5..5i64).prop_map(|(c, v)| Op::StateSet(c, v)),
        2 => (0..4u8).prop_map(Op::StateCas),
        1 => (0..4u8).prop_map(Op::StateDel),
        3 => (0..3u8, 0..6u8).prop_map(|(t, w)| Op::Event(t, w)),
        3 => (0..3u8, 0..3u8, 0..6u8).prop_map(|(d, f, w)| Op::JsonSet(d, f, w)),
        1 => (0..3u8, 0..3u8).prop_map(|(d, f)| Op::JsonDel(d, f)),
        1 => (0..3u8).prop_map(Op::JsonDelDoc),
        3 => (0..6u8, any::<[i8; 4]>()).prop_map(|(k, v)| Op::VecUpsert(k, v)),
        1 => (0..6u8).prop_map(Op::VecDel),
        1 => Just(Op::VecDropCollection),
        1 => Just(Op::VecCreateCollection),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => leaf(),
        2 => (proptest::collection::vec(leaf(), 1..5), any::<bool>())
            .prop_map(|(ops, commit)| Op::Txn(ops, commit)),
        1 => Just(Op::DeleteSpace),
        1 => Just(Op::Compact),
    ]
}

fn text(w: u8, extra: &str) -> Value {
    Value::from(format!(
        "{} {} {extra}",
        WORDS[w as usize % WORDS.len()],
        WORDS[(w as usize + 1) % WORDS.len()]
    ))
}

fn vec4(v: [i8; 4]) -> Vec<f32> {
    v.iter().map(|x| f32::from(*x) / 16.0 + 0.01).collect()
}

/// Applies one operation on the session (branch `a`, space `s`). Errors are allowed
/// (a CAS on a deleted cell, an upsert into a dropped collection): isolation must hold
/// whatever the outcome.
fn apply(s: &Session, op: &Op) {
    match op {
        Op::KvPut(k, w) => drop(s.kv_put(&format!("k{k}"), text(*w, "kv"))),
        Op::KvDel(k) => drop(s.kv_delete(&format!("k{k}"))),
        Op::StateSet(c, v) => drop(s.state_set(&format!("c{c}"), Value::Int(*v))),
        Op::StateCas(c) => {
            let cell = format!("c{c}");
            if let Ok(cur) = s.state_get_versioned(&cell) {
                let next = cur
                    .as_ref()
                    .and_then(|v| v.value.as_int())
                    .unwrap_or(0)
                    .wrapping_add(1);
                let _ = s.state_cas(&cell, Value::Int(next), cur.map(|v| v.version));
            }
        }
        Op::StateDel(c) => drop(s.state_delete(&format!("c{c}"))),
        Op::Event(t, w) => drop(s.event_append(&format!("t{t}"), text(*w, "event"))),
        Op::JsonSet(d, f, w) => {
            drop(s.json_set(&format!("d{d}"), &format!("$.f{f}"), text(*w, "json")))
        }
        Op::JsonDel(d, f) => drop(s.json_delete(&format!("d{d}"), &format!("$.f{f}"))),
        Op::JsonDelDoc(d) => drop(s.json_delete(&format!("d{d}"), "$")),
        Op::VecUpsert(k, v) => drop(s.vector_upsert(
            COLLECTION,
            &format!("v{k}"),
            &vec4(*v),
            Some(serde_json::json!({"w": WORDS[*k as usize % WORDS.len()]}).into()),
        )),
        Op::VecDel(k) => drop(s.vector_delete(COLLECTION, &format!("v{k}"))),
        Op::VecDropCollection => drop(s.vector_delete_collection(COLLECTION)),
        Op::VecCreateCollection => drop(s.vector_create_collection(COLLECTION, 4, None)),
        Op::Txn(ops, commit) => {
            s.begin(false).expect("begin");
            for o in ops {
                apply(s, o);
            }
            if *commit {
                let _ = s.commit();
            } else {
                s.rollback().expect("rollback");
            }
        }
        Op::DeleteSpace => {
            s.delete_space(TARGET.1, true).expect("delete space");
            s.set_space(TARGET.1).expect("recreate space");
        }
        Op::Compact => s.compact().expect("compact"),
    }
}

/// Everything a (branch, space) answers, rendered as text (so NaN-free equality and
/// readable diffs).
fn view(db: &Strata, branch: &str, space: &str) -> Vec<String> {
    let s = db.session();
    s.set_branch(branch).expect("branch");
    let mut out = Vec::new();
    if !s.space_exists(space).expect("space_exists") {
        out.push("no such space".into());
        return out;
    }
    s.set_space(space).expect("space");
    for k in s.kv_list(None).expect("kv list") {
        out.push(format!(
            "kv {k} = {:?} history {:?}",
            s.kv_get(&k, None).expect("get"),
            s.kv_history(&k).expect("history")
        ));
    }
    for c in s.state_list(None).expect("state list") {
        out.push(format!(
            "state {c} = {:?} history {:?}",
            s.state_get_versioned(&c).expect("get"),
            s.state_history(&c).expect("history")
        ));
    }
    let n = s.event_len().expect("len");
    for seq in 0..n {
        out.push(format!(
            "event {:?}",
            s.event_get(seq, None).expect("event")
        ));
    }
    for t in 0..3 {
        out.push(format!(
            "events t{t}: {:?}",
            s.event_list(&format!("t{t}"), None, None)
                .expect("list")
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        ));
    }
    out.push(format!("verify {:?}", s.event_verify().expect("verify")));
    let (docs, _) = s.json_list(1000, None, None).expect("json list");
    for d in docs {
        out.push(format!(
            "json {d} = {:?} history {}",
            s.json_get(&d, "$", None).expect("get"),
            s.json_history(&d).expect("history").len()
        ));
    }
    for c in s.vector_list_collections().expect("collections") {
        out.push(format!("collection {} {} {}", c.name, c.dimension, c.count));
        let hits = s
            .vector_search(
                &c.name,
                &[0.1, 0.2, 0.3, 0.4],
                c.count + 1,
                None,
                None,
                None,
            )
            .expect("vector search");
        for h in hits {
            out.push(format!("  hit {} {:.5} {:?}", h.key, h.score, h.metadata));
        }
    }
    for q in ["alpha", "memory agent", "gamma"] {
        for h in s.search(&SearchRequest::new(q).k(50)).expect("search") {
            out.push(format!(
                "search {q:?}: {} {} {:.6} {}",
                h.primitive, h.entity, h.score, h.rank
            ));
        }
    }
    out
}

fn all_views(db: &Strata) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for b in BRANCHES {
        for sp in SPACES {
            if (*b, *sp) != TARGET {
                out.push((format!("{b}/{sp}"), view(db, b, sp)));
            }
        }
    }
    let s = db.session();
    for x in BRANCHES {
        for y in BRANCHES {
            if x < y && *x != TARGET.0 && *y != TARGET.0 {
                out.push((
                    format!("diff {x} {y}"),
                    vec![format!("{:?}", s.diff_branches(x, y).expect("diff"))],
                ));
            }
        }
    }
    for b in BRANCHES.iter().filter(|b| **b != TARGET.0) {
        let d = s.branch_get(b).expect("branch");
        out.push((
            format!("branch {b}"),
            vec![format!("{:?} {:?}", d.info, d.stats)],
        ));
    }
    out
}

fn fill(s: &Session, tag: &str) {
    for i in 0..3u8 {
        s.kv_put(&format!("k{i}"), text(i, tag)).expect("kv");
        s.state_set(&format!("c{i}"), Value::Int(i64::from(i)))
            .expect("state");
        s.event_append(&format!("t{i}"), text(i + 1, tag))
            .expect("event");
        s.json_set(&format!("d{i}"), "$.f0", text(i + 2, tag))
            .expect("json");
    }
    let _ = s.vector_create_collection(COLLECTION, 4, None);
    for i in 0..4u8 {
        s.vector_upsert(
            COLLECTION,
            &format!("v{i}"),
            &vec4([i as i8, 3, -2, 1]),
            Some(serde_json::json!({"w": tag}).into()),
        )
        .expect("vector");
    }
}

/// The branch tree described in the module docs, every (branch, space) holding data.
fn setup() -> Strata {
    let db = Strata::cache().expect("cache");
    let s = db.session();
    for sp in SPACES {
        s.set_space(sp).expect("space");
        fill(&s, &format!("default-{sp}"));
    }
    s.fork_branch(Some("default"), "a").expect("fork a");
    s.set_branch("a").expect("a");
    s.set_space("s").expect("space");
    s.kv_put("own", Value::from("a's own alpha")).expect("put");
    s.event_append("t0", Value::from("a alpha")).expect("event");
    s.fork_branch(Some("a"), "c").expect("fork c");
    s.create_branch("e").expect("e");
    s.set_branch("e").expect("e");
    for sp in SPACES {
        s.set_space(sp).expect("space");
        fill(&s, &format!("e-{sp}"));
    }
    db
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let db = setup();
    let before = all_views(&db);
    let s = db.session();
    s.set_branch(TARGET.0).expect("branch");
    s.set_space(TARGET.1).expect("space");
    for op in ops {
        apply(&s, op);
    }
    let after = all_views(&db);
    for ((name, b), (_, a)) in before.iter().zip(&after) {
        prop_assert_eq!(b, a, "{} changed after operations on a/s", name);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn operations_on_one_branch_and_space_do_not_leak(ops in proptest::collection::vec(op(), 1..24)) {
        run(&ops)?;
    }
}

/// The target itself must change, or the property above would hold vacuously.
#[test]
fn the_target_does_change() {
    let db = setup();
    let before = view(&db, TARGET.0, TARGET.1);
    let s = db.session();
    s.set_branch(TARGET.0).expect("branch");
    s.set_space(TARGET.1).expect("space");
    apply(&s, &Op::DeleteSpace);
    apply(&s, &Op::KvPut(1, 1));
    assert_ne!(before, view(&db, TARGET.0, TARGET.1));
}
