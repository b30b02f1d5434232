//! The keyword index against a brute-force BM25 computed from scratch over a model of
//! the live documents: same scores (within 1e-6), same top k, same avgdl, through
//! random inserts, overwrites and deletes.

use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use strata_search::{Analyzer, KeywordHit, KeywordIndex};

const K1: f64 = 0.9;
const B: f64 = 0.4;

/// Every live document scored from scratch: (key, score), best first, ties by key.
fn brute_force(analyzer: &Analyzer, docs: &BTreeMap<u32, String>, query: &str) -> Vec<(u32, f64)> {
    let tokenized: BTreeMap<u32, Vec<String>> =
        docs.iter().map(|(k, t)| (*k, analyzer.terms(t))).collect();
    let n = tokenized.len() as f64;
    let avgdl = tokenized.values().map(Vec::len).sum::<usize>() as f64 / n;
    let mut seen = HashSet::new();
    let qterms: Vec<String> = analyzer
        .terms(query)
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .collect();
    let df: HashMap<&str, usize> = qterms
        .iter()
        .map(|q| {
            let c = tokenized.values().filter(|d| d.contains(q)).count();
            (q.as_str(), c)
        })
        .collect();
    let mut out = Vec::new();
    for (key, terms) in &tokenized {
        let dl = terms.len() as f64;
        let mut score = 0.0;
        let mut matched = false;
        for q in &qterms {
            let tf = terms.iter().filter(|t| *t == q).count() as f64;
            if tf == 0.0 {
                continue;
            }
            matched = true;
            let d = df[q.as_str()] as f64;
            let idf = ((n - d + 0.5) / (d + 0.5) + 1.0).ln();
            score += idf * (tf * (K1 + 1.0)) / (tf + K1 * (1.0 - B + B * dl / avgdl));
        }
        if matched {
            out.push((*key, score));
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Checks `hits` is a correct top `k` of `expected` (the full brute-force ranking).
fn check_top_k(hits: &[KeywordHit<u32>], expected: &[(u32, f64)], k: usize) -> Result<(), String> {
    let want = expected.len().min(k);
    if hits.len() != want {
        return Err(format!("{} hits, expected {want}", hits.len()));
    }
    let exact: HashMap<u32, f64> = expected.iter().copied().collect();
    for (i, h) in hits.iter().enumerate() {
        let (_, s) = expected[i];
        if (h.score - s).abs() > 1e-6 {
            return Err(format!("rank {i}: score {} vs brute force {s}", h.score));
        }
        match exact.get(&h.key) {
            Some(own) if (own - h.score).abs() <= 1e-6 => {}
            other => {
                return Err(format!(
                    "key {} scored {} but brute force says {other:?}",
                    h.key, h.score
                ))
            }
        }
    }
    if let Some(&(_, kth)) = expected.get(want.wrapping_sub(1)) {
        let got: HashSet<u32> = hits.iter().map(|h| h.key).collect();
        for (key, s) in expected {
            if *s > kth + 1e-9 && !got.contains(key) {
                return Err(format!(
                    "missing key {key} with score {s} above the k-th {kth}"
                ));
            }
        }
    }
    // Same order; a different key is allowed only where brute-force scores tie (float
    // sums in another order may differ in the last bit).
    for (i, h) in hits.iter().enumerate() {
        let (bk, bs) = expected[i];
        if h.key != bk && (exact[&h.key] - bs).abs() > 1e-9 {
            return Err(format!("rank {i}: key {} vs brute force {bk}", h.key));
        }
    }
    Ok(())
}

const WORDS: [&str; 16] = [
    "deploy", "failure", "server", "disk", "network", "timeout", "error", "retry", "database",
    "cache", "login", "alert", "kernel", "memory", "queue", "latency",
];

fn word() -> impl Strategy<Value = &'static str> {
    // Skewed: the first four words are common, the rest rare.
    prop_oneof![
        4 => (0usize..4).prop_map(|i| WORDS[i]),
        1 => (4usize..16).prop_map(|i| WORDS[i]),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 0..10).prop_map(|w| w.join(" "))
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(u32, String),
    Remove(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u32..60, text()).prop_map(|(k, t)| Op::Upsert(k, t)),
        1 => (0u32..60).prop_map(Op::Remove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pruned_top_k_equals_brute_force(
        ops in prop::collection::vec(op(), 1..250),
        queries in prop::collection::vec((prop::collection::vec(word(), 1..5), 1usize..12), 1..6),
    ) {
        let analyzer = Analyzer::english();
        let mut index = KeywordIndex::new();
        let mut model: BTreeMap<u32, String> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Upsert(k, t) => {
                    index.upsert(k, &t);
                    model.insert(k, t);
                }
                Op::Remove(k) => {
                    prop_assert_eq!(index.remove(&k), model.remove(&k).is_some());
                }
            }
        }
        prop_assert_eq!(index.len(), model.len());
        if !model.is_empty() {
            let lens: usize = model.values().map(|t| analyzer.terms(t).len()).sum();
            prop_assert!((index.avgdl() - lens as f64 / model.len() as f64).abs() < 1e-12);
        }
        for (words, k) in queries {
            let q = words.join(" ");
            let expected = if model.is_empty() { Vec::new() } else { brute_force(&analyzer, &model, &q) };
            let hits = index.search(&q, k);
            if let Err(e) = check_top_k(&hits, &expected, k) {
                return Err(TestCaseError::fail(format!("query {q:?} k={k}: {e}")));
            }
        }
    }
}

/// A deterministic pseudo-random generator (xorshift) for the larger test.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn zipf_text(rng: &mut Rng) -> String {
    let len = 1 + rng.below(12);
    (0..len)
        .map(|_| {
            // Roughly Zipfian: small indexes much more likely.
            let r = rng.below(1000) + 1;
            WORDS[((16 * 16 / r as usize).min(15) + rng.below(2) as usize).min(15) % 16]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn heavy_churn_with_renumbering_matches_brute_force() {
    let analyzer = Analyzer::english();
    let mut index = KeywordIndex::new();
    let mut model: BTreeMap<u32, String> = BTreeMap::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for k in 0..2000u32 {
        let t = zipf_text(&mut rng);
        index.upsert(k, &t);
        model.insert(k, t);
    }
    // More than 1024 dead slots: overwrites and deletes force compaction and renumbering.
    for _ in 0..2500 {
        let k = rng.below(2000) as u32;
        if rng.below(4) == 0 {
            index.remove(&k);
            model.remove(&k);
        } else {
            let t = zipf_text(&mut rng);
            index.upsert(k, &t);
            model.insert(k, t);
        }
    }
    assert_eq!(index.len(), model.len());
    for q in [
        "deploy failure",
        "server disk network",
        "latency queue memory kernel",
        "deploy server disk network timeout error",
        "alert",
    ] {
        let expected = brute_force(&analyzer, &model, q);
        for k in [1, 10, 100] {
            let hits = index.search(q, k);
            check_top_k(&hits, &expected, k).unwrap_or_else(|e| panic!("{q:?} k={k}: {e}"));
        }
    }
}

#[test]
fn idf_changes_when_documents_come_and_go() {
    let mut index = KeywordIndex::new();
    index.upsert(1u32, "alert kernel");
    index.upsert(2u32, "alert");
    let before = index.search("kernel", 1)[0].score;
    for k in 3..20u32 {
        index.upsert(k, "alert");
    }
    let more_docs = index.search("kernel", 1)[0].score;
    assert!(
        more_docs > before,
        "a rarer term weighs more: {more_docs} vs {before}"
    );
    for k in 3..20u32 {
        index.remove(&k);
    }
    let back = index.search("kernel", 1)[0].score;
    assert!((back - before).abs() < 1e-12, "{back} vs {before}");
}
