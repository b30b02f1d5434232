//! Crash consistency across every primitive.
//!
//! A child process (this test binary re-invoked with [`CHILD_DIR`] set) runs a seeded
//! random workload through the `strata` facade: KV puts and deletes, state-cell CAS
//! increments, event appends, JSON sets and deletes, vector upserts and deletes,
//! transactions spanning several primitives (some rolled back first), branch forks and
//! flushes (which write HNSW graph dumps). Every operation `i` commits, in the same
//! transaction, `seq = i` into KV space `meta` of the default branch, then prints
//! `ack i`. The parent SIGKILLs the child at a random moment, reopens the database and
//! checks:
//!
//! - `seq >= last ack` (no acknowledged commit lost);
//! - every branch in the model equals the model built by replaying operations
//!   `0..=seq` of the same seeded plan, in every primitive: nothing partial, nothing
//!   extra, nothing lost;
//! - event sequences are dense and the hash chain verifies;
//! - vector search over each branch returns every acknowledged vector (the HNSW graph
//!   threshold is lowered so graphs and their dumps are used, then found stale after
//!   the crash and patched or rebuilt).
//!
//! `STRATA_SOAK_SECS=N` keeps killing for N seconds (`cargo xtask soak`);
//! `STRATA_TEST_SEED` replays a run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use strata::{OpenOptions, Strata, Value};
use strata_storage::{Durability, Scope};
use strata_tests::Rng;
use strata_vector::IndexConfig;

const CHILD_DIR: &str = "STRATA_XCRASH_DIR";
const CHILD_SEED: &str = "STRATA_XCRASH_SEED";
const CHILD_DURABILITY: &str = "STRATA_XCRASH_DURABILITY";
/// Overrides the child's durability (used to check this test fails when acknowledged
/// commits are not durable: `none` must make it fail).
const FORCE_DURABILITY: &str = "STRATA_XCRASH_FORCE_DURABILITY";

const DIM: usize = 8;
const COLLECTION: &str = "mem";
const MAX_BRANCHES: usize = 4;
const KV_KEYS: u64 = 12;
const CELLS: u64 = 4;
const EVENT_TYPES: u64 = 3;
const DOCS: u64 = 4;
const FIELDS: u64 = 4;
const VEC_KEYS: u64 = 24;

#[derive(Debug, Clone)]
enum Item {
    KvPut(u8),
    KvDel(u8),
    StateIncr(u8),
    Event(u8),
    JsonSet(u8, u8),
    JsonDel(u8, u8),
    VecUpsert(u8),
    VecDel(u8),
}

#[derive(Debug, Clone)]
enum Op {
    /// Operation 0: the collection, the cells and the `meta` space.
    Setup,
    /// One transaction on `branch` (an index into the branches forked so far); with
    /// `rollback_first`, the same items are first written and rolled back.
    Txn {
        branch: usize,
        items: Vec<Item>,
        rollback_first: bool,
    },
    /// Fork branch `source` into `b<i>`.
    Fork { source: usize },
    /// Flush: sync and write vector graph dumps.
    Flush,
}

/// The deterministic workload of `seed`: operation `i` depends only on the seed and
/// the operations before it, so parent and child agree.
struct Plan {
    rng: Rng,
    ops: Vec<Op>,
    branches: Vec<String>,
}

impl Plan {
    fn new(seed: u64) -> Plan {
        Plan {
            rng: Rng::new(seed),
            ops: vec![Op::Setup],
            branches: vec!["default".to_string()],
        }
    }

    fn op(&mut self, i: usize) -> &Op {
        while self.ops.len() <= i {
            let n = self.ops.len();
            let op = self.generate();
            if let Op::Fork { .. } = op {
                self.branches.push(format!("b{n}"));
            }
            self.ops.push(op);
        }
        &self.ops[i]
    }

    fn generate(&mut self) -> Op {
        let r = &mut self.rng;
        if self.branches.len() < MAX_BRANCHES && r.chance(3) {
            return Op::Fork {
                source: r.below(self.branches.len() as u64) as usize,
            };
        }
        if r.chance(3) {
            return Op::Flush;
        }
        let branch = r.below(self.branches.len() as u64) as usize;
        let n = if r.chance(30) { 2 + r.below(5) } else { 1 };
        let mut items = Vec::new();
        let mut cells_used = Vec::new();
        for _ in 0..n {
            let item = match r.below(9) {
                0 => Item::KvPut(r.below(KV_KEYS) as u8),
                1 => Item::KvDel(r.below(KV_KEYS) as u8),
                2 => Item::StateIncr(r.below(CELLS) as u8),
                3 => Item::Event(r.below(EVENT_TYPES) as u8),
                4 => Item::JsonSet(r.below(DOCS) as u8, r.below(FIELDS) as u8),
                5 => Item::JsonDel(r.below(DOCS) as u8, r.below(FIELDS) as u8),
                6 if r.chance(40) => Item::VecDel(r.below(VEC_KEYS) as u8),
                _ => Item::VecUpsert(r.below(VEC_KEYS) as u8),
            };
            // One CAS per cell per transaction: the second would see the first's
            // uncommitted version.
            if let Item::StateIncr(c) = item {
                if cells_used.contains(&c) {
                    continue;
                }
                cells_used.push(c);
            }
            items.push(item);
        }
        Op::Txn {
            branch,
            items,
            rollback_first: r.chance(5),
        }
    }
}

fn kv_value(i: usize, j: usize) -> Value {
    Value::from(format!("v{i}.{j}"))
}

fn vector(i: usize, j: usize) -> Vec<f32> {
    let mut r = Rng::new((i as u64) << 8 | j as u64);
    (0..DIM).map(|_| r.unit_f32()).collect()
}

// ------------------------------------------------------------------------- child

fn open_options(durability: Durability) -> OpenOptions {
    let mut o = OpenOptions::default().durability(durability);
    // Small enough that the collections of this test use HNSW graphs and dump them.
    o.vector = IndexConfig {
        hnsw_threshold: 8,
        ..IndexConfig::default()
    };
    o
}

fn meta_scope(db: &Strata) -> Scope {
    let id = db.database().branch_id("default").expect("default branch");
    Scope::new(id, "meta")
}

fn read_seq(db: &Strata) -> Option<i64> {
    let t = db.database().read();
    strata_kv::get(&t, &meta_scope(db), "seq")
        .expect("read seq")
        .and_then(|v| v.as_int())
}

fn apply_items(s: &strata::Session, i: usize, items: &[Item]) -> strata::Result<()> {
    for (j, item) in items.iter().enumerate() {
        match *item {
            Item::KvPut(k) => {
                s.kv_put(&format!("k{k}"), kv_value(i, j))?;
            }
            Item::KvDel(k) => {
                s.kv_delete(&format!("k{k}"))?;
            }
            Item::StateIncr(c) => {
                let cell = format!("c{c}");
                let cur = s.state_get_versioned(&cell)?.expect("cell exists");
                let n = cur.value.as_int().expect("int cell");
                let out = s.state_cas(&cell, Value::Int(n + 1), Some(cur.version))?;
                assert!(out.value.swapped(), "CAS on {cell} did not swap");
            }
            Item::Event(t) => {
                s.event_append(&format!("t{t}"), Value::Int(i as i64))?;
            }
            Item::JsonSet(d, f) => {
                s.json_set(&format!("d{d}"), &format!("$.f{f}"), Value::Int(i as i64))?;
            }
            Item::JsonDel(d, f) => {
                s.json_delete(&format!("d{d}"), &format!("$.f{f}"))?;
            }
            Item::VecUpsert(k) => {
                s.vector_upsert(COLLECTION, &format!("v{k}"), &vector(i, j), None)?;
            }
            Item::VecDel(k) => {
                s.vector_delete(COLLECTION, &format!("v{k}"))?;
            }
        }
    }
    Ok(())
}

fn run_op(db: &Strata, plan: &mut Plan, i: usize) -> strata::Result<()> {
    let s = db.session();
    let op = plan.op(i).clone();
    let seq = |s: &strata::Session| {
        let meta = meta_scope(db);
        s.write(|t, _| Ok(strata_kv::put(t, &meta, "seq", Value::Int(i as i64))?))
    };
    match op {
        Op::Setup => {
            db.database()
                .create_space(db.database().branch_id("default")?, "meta")?;
            s.begin(false)?;
            s.vector_create_collection(COLLECTION, DIM, Some("euclidean"))?;
            for c in 0..CELLS {
                s.state_set(&format!("c{c}"), Value::Int(0))?;
            }
            seq(&s)?;
            s.commit()?;
        }
        Op::Txn {
            branch,
            items,
            rollback_first,
        } => {
            s.set_branch(&plan.branches[branch])?;
            if rollback_first {
                s.begin(false)?;
                apply_items(&s, i, &items)?;
                s.kv_put("rolled-back", Value::Int(i as i64))?;
                s.rollback()?;
            }
            s.begin(false)?;
            apply_items(&s, i, &items)?;
            seq(&s)?;
            s.commit()?;
        }
        Op::Fork { source } => {
            let dest = format!("b{i}");
            // A kill between the fork and the seq commit leaves the branch: keep it
            // (nothing was committed in between, so it is the same fork).
            if !s.branch_exists(&dest) {
                s.fork_branch(Some(&plan.branches[source]), &dest)?;
            }
            seq(&s)?;
        }
        Op::Flush => {
            db.flush()?;
            seq(&s)?;
        }
    }
    Ok(())
}

/// The child side: does something only when spawned by [`crash_round`].
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let seed: u64 = std::env::var(CHILD_SEED)
        .expect("seed")
        .parse()
        .expect("seed");
    let durability: Durability = std::env::var(FORCE_DURABILITY)
        .or_else(|_| std::env::var(CHILD_DURABILITY))
        .unwrap_or_else(|_| "standard".into())
        .parse()
        .expect("durability");
    let db = Strata::open(&dir, open_options(durability)).expect("child open");
    let start = read_seq(&db).map_or(0, |s| s as usize + 1);
    let mut plan = Plan::new(seed);
    let stdout = std::io::stdout();
    for i in start.. {
        if let Err(e) = run_op(&db, &mut plan, i) {
            panic!("op {i} ({:?}) failed: {e}", plan.op(i));
        }
        let mut out = stdout.lock();
        writeln!(out, "ack {i}").expect("write");
        out.flush().expect("flush");
    }
}

// ------------------------------------------------------------------------- model

#[derive(Debug, Clone, Default)]
struct BranchModel {
    kv: BTreeMap<String, Value>,
    cells: BTreeMap<String, i64>,
    /// (type, payload) in sequence order.
    events: Vec<(String, i64)>,
    json: BTreeMap<String, BTreeMap<String, i64>>,
    vectors: BTreeMap<String, Vec<f32>>,
}

#[derive(Debug, Default)]
struct Model {
    branches: Vec<(String, BranchModel)>,
}

impl Model {
    fn apply(&mut self, i: usize, op: &Op) {
        match op {
            Op::Setup => {
                let mut b = BranchModel::default();
                for c in 0..CELLS {
                    b.cells.insert(format!("c{c}"), 0);
                }
                self.branches.push(("default".into(), b));
            }
            Op::Fork { source } => {
                let b = self.branches[*source].1.clone();
                self.branches.push((format!("b{i}"), b));
            }
            Op::Flush => {}
            Op::Txn { branch, items, .. } => {
                let b = &mut self.branches[*branch].1;
                for (j, item) in items.iter().enumerate() {
                    match *item {
                        Item::KvPut(k) => {
                            b.kv.insert(format!("k{k}"), kv_value(i, j));
                        }
                        Item::KvDel(k) => {
                            b.kv.remove(&format!("k{k}"));
                        }
                        Item::StateIncr(c) => {
                            *b.cells.entry(format!("c{c}")).or_default() += 1;
                        }
                        Item::Event(t) => b.events.push((format!("t{t}"), i as i64)),
                        Item::JsonSet(d, f) => {
                            b.json
                                .entry(format!("d{d}"))
                                .or_default()
                                .insert(format!("f{f}"), i as i64);
                        }
                        Item::JsonDel(d, f) => {
                            if let Some(doc) = b.json.get_mut(&format!("d{d}")) {
                                doc.remove(&format!("f{f}"));
                            }
                        }
                        Item::VecUpsert(k) => {
                            b.vectors.insert(format!("v{k}"), vector(i, j));
                        }
                        Item::VecDel(k) => {
                            b.vectors.remove(&format!("v{k}"));
                        }
                    }
                }
            }
        }
    }
}

fn check_branch(db: &Strata, name: &str, m: &BranchModel, ctx: &str) {
    let s = db.session();
    s.set_branch(name).expect("set branch");
    // KV: the listing and every value.
    let keys = s.kv_list(None).expect("kv list");
    let want: Vec<String> = m.kv.keys().cloned().collect();
    assert_eq!(keys, want, "{ctx}: branch {name}: KV keys");
    for (k, v) in &m.kv {
        assert_eq!(
            s.kv_get(k, None).expect("kv get").as_ref(),
            Some(v),
            "{ctx}: branch {name}: KV {k}"
        );
    }
    assert_eq!(
        s.kv_get("rolled-back", None).expect("get"),
        None,
        "{ctx}: a rolled-back write is visible"
    );
    // State cells: no lost CAS increment.
    for (c, n) in &m.cells {
        assert_eq!(
            s.state_get(c, None).expect("state get"),
            Some(Value::Int(*n)),
            "{ctx}: branch {name}: cell {c}"
        );
    }
    // Events: dense sequences, right payloads, intact chain.
    assert_eq!(
        s.event_len().expect("event len"),
        m.events.len() as u64,
        "{ctx}: branch {name}: event count"
    );
    for (seq, (ty, payload)) in m.events.iter().enumerate() {
        let e = s
            .event_get(seq as u64, None)
            .expect("event get")
            .unwrap_or_else(|| panic!("{ctx}: branch {name}: event {seq} missing (gap)"));
        assert_eq!(
            (&e.event_type, &e.payload),
            (ty, &Value::Int(*payload)),
            "{ctx}: branch {name}: event {seq}"
        );
    }
    let report = s.event_verify().expect("verify");
    assert!(
        report.is_intact() && report.checked == m.events.len() as u64,
        "{ctx}: branch {name}: event chain does not verify: {report:?}"
    );
    // JSON documents.
    let (docs, _) = s.json_list(1000, None, None).expect("json list");
    let want: Vec<String> = m.json.keys().cloned().collect();
    assert_eq!(docs, want, "{ctx}: branch {name}: JSON documents");
    for (d, fields) in &m.json {
        let doc = s.json_get(d, "$", None).expect("json get");
        let want = Value::Object(
            fields
                .iter()
                .map(|(f, v)| (f.clone(), Value::Int(*v)))
                .collect(),
        );
        assert_eq!(doc, Some(want), "{ctx}: branch {name}: document {d}");
    }
    // Vectors: stored, counted, and every one found by search.
    let stats = s.vector_collection_stats(COLLECTION).expect("stats");
    assert_eq!(
        stats.count,
        m.vectors.len(),
        "{ctx}: branch {name}: vector count"
    );
    for (k, v) in &m.vectors {
        let e = s
            .vector_get(COLLECTION, k)
            .expect("vector get")
            .unwrap_or_else(|| panic!("{ctx}: branch {name}: vector {k} missing"));
        assert_eq!(&e.embedding, v, "{ctx}: branch {name}: vector {k}");
    }
    let all = s
        .vector_search(
            COLLECTION,
            &[0.0; DIM],
            m.vectors.len() + 5,
            None,
            None,
            None,
        )
        .expect("search");
    let mut found: Vec<String> = all.into_iter().map(|h| h.key).collect();
    found.sort();
    let want: Vec<String> = m.vectors.keys().cloned().collect();
    assert_eq!(found, want, "{ctx}: branch {name}: vector search results");
    for (k, v) in &m.vectors {
        let top = s
            .vector_search(COLLECTION, v, 1, None, None, None)
            .expect("search");
        assert!(
            top.first().is_some_and(|h| h.score > -1e-4),
            "{ctx}: branch {name}: searching vector {k} does not find it: {top:?}"
        );
    }
}

struct Outcome {
    seq: i64,
}

/// One kill round: spawn the child, kill it after `wait`, reopen and check
/// everything against the model. Returns the recovered seq.
fn crash_round(dir: &Path, seed: u64, durability: &str, wait: Duration, ctx: &str) -> Outcome {
    let exe = std::env::current_exe().expect("exe");
    let stderr_path = dir.with_extension("stderr");
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
    let mut child = Command::new(&exe)
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_SEED, seed.to_string())
        .env(CHILD_DURABILITY, durability)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut last = -1i64;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("ack ") {
                last = n.trim().parse().unwrap_or(last);
            }
        }
        last
    });
    let t0 = Instant::now();
    while t0.elapsed() < wait {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!("{ctx}: the child exited by itself ({status}):\n{err}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    let last_ack = reader.join().expect("reader");

    let db = Strata::open(dir, open_options(Durability::Standard))
        .unwrap_or_else(|e| panic!("{ctx}: reopen after kill failed: {e}"));
    let seq = read_seq(&db).unwrap_or(-1);
    assert!(
        seq >= last_ack,
        "{ctx}: acknowledged commit {last_ack} lost (recovered seq {seq})"
    );
    let mut plan = Plan::new(seed);
    let mut model = Model::default();
    for i in 0..=seq {
        let i = i as usize;
        let op = plan.op(i).clone();
        model.apply(i, &op);
    }
    // Branches: exactly the model's, plus possibly the fork of the op in flight.
    let mut want: Vec<String> = model.branches.iter().map(|(n, _)| n.clone()).collect();
    if seq < 0 {
        // Killed before the setup committed: an empty database.
        want.push("default".into());
    }
    let mut have = db.session().list_branches();
    if let Op::Fork { .. } = plan.op((seq + 1) as usize) {
        let pending = format!("b{}", seq + 1);
        have.retain(|b| *b != pending);
    }
    want.sort();
    assert_eq!(have, want, "{ctx}: branches");
    for (name, m) in &model.branches {
        check_branch(&db, name, m, ctx);
    }
    drop(db);
    Outcome { seq }
}

/// Runs kill rounds until `rounds` are done and `min_time` has passed, starting a
/// fresh database every `per_db` rounds (so verification stays cheap).
fn run(durability: &str, rounds: usize, per_db: usize, min_time: Duration) -> (usize, i64) {
    let base_seed = Rng::seed_from_env();
    let mut rng = Rng::new(base_seed ^ 0x5eed);
    let tmp = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut kills = 0;
    let mut acked = 0i64;
    let mut db_no = 0u64;
    while kills < rounds || started.elapsed() < min_time {
        let seed = base_seed.wrapping_add(db_no);
        let dir = tmp.path().join(format!("db{db_no}"));
        let mut seq = -1;
        for r in 0..per_db {
            // Mostly short runs, sometimes long ones; some kills land during open.
            let wait = Duration::from_millis(match rng.below(10) {
                0 => rng.below(15),
                1..=7 => 20 + rng.below(100),
                _ => 150 + rng.below(300),
            });
            let ctx = format!(
                "seed {seed} (STRATA_TEST_SEED={base_seed}), durability {durability}, round {r}"
            );
            let out = crash_round(&dir, seed, durability, wait, &ctx);
            assert!(out.seq >= seq, "{ctx}: recovered seq went back");
            seq = out.seq;
            kills += 1;
        }
        acked += seq + 1;
        std::fs::remove_dir_all(&dir).ok();
        db_no += 1;
    }
    (kills, acked)
}

fn soak_time() -> Duration {
    Duration::from_secs(
        std::env::var("STRATA_SOAK_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    )
}

#[test]
fn sigkill_standard_durability_all_primitives() {
    let (kills, ops) = run("standard", 90, 15, soak_time());
    eprintln!("standard: {kills} kills, {ops} operations recovered");
    assert!(ops > kills as i64, "the children barely committed anything");
}

#[test]
fn sigkill_always_durability_all_primitives() {
    let (kills, ops) = run("always", 24, 12, soak_time() / 4);
    eprintln!("always: {kills} kills, {ops} operations recovered");
    assert!(ops > kills as i64, "the children barely committed anything");
}
