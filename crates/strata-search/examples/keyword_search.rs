//! Keyword search, standalone and through the database.
//!
//! 1. Indexes N short synthetic documents (default 50 000, Zipf-distributed words) in
//!    a [`KeywordIndex`] and times common multi-term queries (top 10).
//! 2. Stores a few records of different primitives in a temporary database and
//!    searches them with a [`SearchIndex`].
//!
//! Run: `cargo run --release -p strata-search --example keyword_search [N]`

use std::time::{Duration, Instant};
use strata_search::{KeywordIndex, SearchIndex, SearchMode, SearchRequest};
use strata_storage::{tags, Database, Value, VersionedStore};

/// The most frequent words of the synthetic corpus, most frequent first.
const WORDS: &[&str] = &[
    "deployment",
    "failed",
    "server",
    "error",
    "user",
    "request",
    "timeout",
    "database",
    "cache",
    "memory",
    "network",
    "service",
    "login",
    "retry",
    "queue",
    "latency",
    "disk",
    "kernel",
    "alert",
    "build",
    "release",
    "config",
    "token",
    "session",
    "payment",
    "invoice",
    "search",
    "index",
    "upload",
    "download",
    "email",
    "report",
    "schedule",
    "backup",
    "restore",
    "cluster",
    "node",
    "replica",
    "shard",
    "migration",
    "schema",
    "query",
    "thread",
    "lock",
    "deadlock",
    "crash",
    "restart",
    "health",
    "metric",
    "trace",
];

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

/// Zipf-distributed words (P(rank r) ∝ 1/r) over a 20 000-word vocabulary whose first
/// ranks are `WORDS` (the rest are `term<r>`). With ~10 words per document the most
/// common word is in about a third of the documents.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(vocab: usize) -> Self {
        let mut acc = 0.0;
        let cumulative = (1..=vocab)
            .map(|r| {
                acc += 1.0 / r as f64;
                acc
            })
            .collect();
        Zipf { cumulative }
    }

    fn word(&self, rng: &mut Rng) -> String {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = (rng.below(1 << 40) as f64 / (1u64 << 40) as f64) * total;
        let rank = self.cumulative.partition_point(|&c| c < x);
        match WORDS.get(rank) {
            Some(w) => (*w).to_owned(),
            None => format!("term{rank}"),
        }
    }
}

fn document(zipf: &Zipf, rng: &mut Rng) -> String {
    let len = 4 + rng.below(12);
    (0..len)
        .map(|_| zipf.word(rng))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50_000);

    // 1. The bare index.
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let zipf = Zipf::new(20_000);
    let mut index = KeywordIndex::new();
    let t = Instant::now();
    for id in 0..n {
        index.upsert(id, &document(&zipf, &mut rng));
    }
    let build = t.elapsed();
    println!(
        "indexed {n} docs in {:.2} s ({:.1} µs/doc), avgdl {:.1}",
        build.as_secs_f64(),
        build.as_secs_f64() * 1e6 / f64::from(n),
        index.avgdl()
    );

    // The same corpus in the bm25 crate's own engine (scores every matching document),
    // as a yardstick for this machine's speed.
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let corpus: Vec<String> = (0..n).map(|_| document(&zipf, &mut rng)).collect();
    let reference =
        bm25::SearchEngineBuilder::<u32>::with_corpus(bm25::Language::English, corpus).build();

    let queries = [
        "deployment failed",
        "deployment failures server error",
        "server error timeout",
        "user request timeout database",
        "kernel crash restart",
        "migration schema query thread",
        "term500 deployment",
    ];
    for q in queries {
        let matching = index.search(q, usize::MAX >> 1).len();
        let mut times: Vec<Duration> = (0..300)
            .map(|_| {
                let t = Instant::now();
                let hits = index.search(q, 10);
                let e = t.elapsed();
                assert!(!hits.is_empty());
                e
            })
            .collect();
        times.sort();
        let t = Instant::now();
        let reference_hits = reference.search(q, 10).len();
        let reference_time = t.elapsed();
        println!(
            "{q:<34} {matching:>6} docs match; top-10 min {:>6.1} µs, median {:>6.1} µs, p99 {:>7.1} µs (bm25 crate: {:>6.0} µs, {reference_hits} hits)",
            times[0].as_secs_f64() * 1e6,
            times[times.len() / 2].as_secs_f64() * 1e6,
            times[times.len() * 99 / 100].as_secs_f64() * 1e6,
            reference_time.as_secs_f64() * 1e6,
        );
    }
    let best = index.search("deployment failures", 1);
    if let Some(hit) = best.first() {
        let snippet = index
            .snippet(&hit.key, "deployment failures", 160)
            .unwrap_or_default();
        println!(
            "best for \"deployment failures\": doc {} ({:.3}): {snippet}",
            hit.key, hit.score
        );
    }

    // 2. Through the database.
    let db = Database::open_temporary()?;
    let search = SearchIndex::attach(&db);
    let scope = db.default_scope();
    db.transact(|t| {
        t.put(
            &scope,
            tags::KV,
            b"incident:17",
            Value::from("Deployment failed: image pull timeout on node-3"),
        )?;
        t.put(
            &scope,
            tags::STATE,
            b"pipeline",
            Value::from("failing since the last deployment"),
        )?;
        t.put(&scope, tags::KV, b"note", Value::from("lunch on friday"))
    })?;
    let hits = search.search(
        &db,
        &scope,
        &SearchRequest::new("deployment failures").mode(SearchMode::Keyword),
    )?;
    for h in hits {
        println!(
            "#{} {} ({}) {:.3}: {}",
            h.rank, h.entity, h.primitive, h.score, h.snippet
        );
    }
    Ok(())
}
