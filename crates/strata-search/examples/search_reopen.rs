//! Reopen cost of the keyword index: the first query after opening a database of
//! short documents, loading the saved keyword-index dump against rebuilding the index
//! from every record, plus the cost of a dump that is behind the data (caught up from
//! the change log).
//!
//! ```bash
//! cargo run --release -p strata-search --example search_reopen -- [DOCS] [ROUNDS]
//! ```
//!
//! Documents are 8-16 words drawn with a Zipf law (s = 1) from 50,000 synthetic
//! pseudo-words, written with `put` in 1,000-document transactions; queries are 2-3
//! words taken from random documents. Each scenario is run `ROUNDS` times (default 3)
//! on the same database and the median is printed, as a Markdown table row per
//! scenario. Every scenario checks that its answers equal the full rebuild's.

use std::path::Path;
use std::time::{Duration, Instant};
use strata_search::{LoadSource, SearchConfig, SearchHit, SearchIndex, SearchMode, SearchRequest};
use strata_storage::{tags, Database, DatabaseOptions, Scope, Value, VersionedStore};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// SplitMix64: deterministic data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A pronounceable pseudo-word for rank `i` (distinct for distinct ranks).
fn word(i: usize) -> String {
    const C: &[u8] = b"bcdfghjklmnprstvz";
    const V: &[u8] = b"aeiou";
    let mut n = i + 1;
    let mut w = String::new();
    while n > 0 {
        w.push(C[n % C.len()] as char);
        n /= C.len();
        w.push(V[n % V.len()] as char);
        n /= V.len();
    }
    w.push('x');
    w
}

struct Zipf {
    cdf: Vec<f64>,
}
impl Zipf {
    fn new(n: usize) -> Zipf {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|r| {
                acc += 1.0 / r as f64;
                acc
            })
            .collect();
        cdf.iter_mut().for_each(|c| *c /= acc);
        Zipf { cdf }
    }
    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn request(q: &str) -> SearchRequest {
    SearchRequest::new(q).mode(SearchMode::Keyword).k(10)
}

/// What one reopen measured.
struct Reopen {
    /// `Database::open` alone.
    open: Duration,
    /// The first query (loads the keyword index).
    first: Duration,
    answers: Vec<Vec<SearchHit>>,
    report: strata_search::LoadReport,
}

/// Opens `path`, runs the first query and then the others.
fn reopen(path: &Path, with_dumps: bool, queries: &[String]) -> AnyResult<Reopen> {
    let t = Instant::now();
    let db = Database::open(path, DatabaseOptions::default())?;
    let open = t.elapsed();
    let dir = with_dumps.then(|| path.join("search-index"));
    let search = SearchIndex::attach_with_dumps(&db, SearchConfig::default(), dir);
    let scope = db.default_scope();
    let t = Instant::now();
    let first_answer = search.search(&db, &scope, &request(&queries[0]))?;
    let first = t.elapsed();
    let mut answers = vec![first_answer];
    for q in &queries[1..] {
        answers.push(search.search(&db, &scope, &request(q))?);
    }
    let report = search.load_report(&scope).ok_or("not loaded")?;
    Ok(Reopen {
        open,
        first,
        answers,
        report,
    })
}

fn main() -> AnyResult<()> {
    let mut args = std::env::args().skip(1);
    let docs: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let rounds: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(3);
    let tmp = tempfile::tempdir()?;
    let path = tmp.path().join("db");
    let zipf = Zipf::new(50_000);
    let mut rng = Rng(42);
    let texts: Vec<String> = (0..docs)
        .map(|_| {
            let n = 8 + (rng.next() % 9) as usize;
            (0..n)
                .map(|_| word(zipf.sample(&mut rng)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let queries: Vec<String> = (0..50)
        .map(|_| {
            let t = &texts[(rng.next() % docs as u64) as usize];
            let words: Vec<&str> = t.split(' ').collect();
            let n = 2 + (rng.next() % 2) as usize;
            (0..n)
                .map(|_| words[(rng.next() % words.len() as u64) as usize])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();

    // Load, build the index with the first query, close (which writes the dump).
    let (load, build, persist, close, dump_bytes) = {
        let db = Database::open(&path, DatabaseOptions::default())?;
        let search = SearchIndex::attach_with_dumps(
            &db,
            SearchConfig::default(),
            Some(path.join("search-index")),
        );
        let scope: Scope = db.default_scope();
        let t = Instant::now();
        for (c, chunk) in texts.chunks(1000).enumerate() {
            db.transact(|tx| {
                for (i, text) in chunk.iter().enumerate() {
                    let key = format!("doc-{}", c * 1000 + i);
                    tx.put(&scope, tags::KV, key.as_bytes(), Value::from(text.as_str()))?;
                }
                Ok(())
            })?;
        }
        let load = t.elapsed();
        let t = Instant::now();
        search.search(&db, &scope, &request(&queries[0]))?;
        let build = t.elapsed();
        let t = Instant::now();
        search.persist(&db)?;
        let persist = t.elapsed();
        let t = Instant::now();
        drop(search);
        drop(db);
        let close = t.elapsed();
        let file = std::fs::read_dir(path.join("search-index").join("b1"))?
            .next()
            .ok_or("no dump written")??;
        (load, build, persist, close, file.metadata()?.len())
    };
    println!(
        "{docs} documents loaded in {:.2} s; index built by the first query in {} ms; persist (store sync + writing the {:.1} MB dump) {} ms; close {} ms",
        load.as_secs_f64(),
        ms(build),
        dump_bytes as f64 / 1e6,
        ms(persist),
        ms(close)
    );

    let mut scan_t = Vec::new();
    let mut dump_t = Vec::new();
    for _ in 0..rounds {
        let scan = reopen(&path, false, &queries)?;
        assert_eq!(scan.report.source, LoadSource::Scan);
        assert_eq!(scan.report.docs_read, docs);
        let dump = reopen(&path, true, &queries)?;
        assert_eq!(
            (dump.report.source, dump.report.docs_read),
            (LoadSource::Dump, 0)
        );
        assert_eq!(
            dump.answers, scan.answers,
            "the dump answers like the rebuild"
        );
        scan_t.push(scan);
        dump_t.push(dump);
    }

    // A dump behind the data: save it, overwrite 1% of the documents, close, restore.
    let file = std::fs::read_dir(path.join("search-index").join("b1"))?
        .next()
        .ok_or("no dump")??
        .path();
    let saved = std::fs::read(&file)?;
    let changed = docs / 100;
    {
        let db = Database::open(&path, DatabaseOptions::default())?;
        let scope = db.default_scope();
        db.transact(|tx| {
            for i in 0..changed {
                let key = format!("doc-{}", i * 97 % docs);
                tx.put(
                    &scope,
                    tags::KV,
                    key.as_bytes(),
                    Value::from(queries[i % 50].as_str()),
                )?;
            }
            Ok(())
        })?;
    }
    std::fs::write(&file, &saved)?;
    let mut catch_t = Vec::new();
    let fresh = reopen(&path, false, &queries)?;
    for _ in 0..rounds {
        let caught = reopen(&path, true, &queries)?;
        assert_eq!(caught.report.source, LoadSource::Dump);
        assert_eq!(caught.report.docs_read, changed);
        assert_eq!(
            caught.answers, fresh.answers,
            "the caught-up dump answers like the rebuild"
        );
        catch_t.push(caught);
        // Its close wrote a current dump: put the old one back for the next round.
        std::fs::write(&file, &saved)?;
    }
    println!();
    println!("| {docs} documents, median of {rounds} | open ms | first query ms | open + first query ms | records read |");
    println!("|---|---|---|---|---|");
    let row = |name: &str, runs: &[Reopen], read: usize| {
        let open = median(runs.iter().map(|r| r.open).collect());
        let first = median(runs.iter().map(|r| r.first).collect());
        let total = median(runs.iter().map(|r| r.open + r.first).collect());
        println!(
            "| {name} | {} | {} | {} | {read} |",
            ms(open),
            ms(first),
            ms(total)
        );
        first
    };
    let scan = row("full rebuild (no dump)", &scan_t, docs);
    let dump = row("dump, nothing to catch up", &dump_t, 0);
    row(
        &format!("dump + {changed} changed keys caught up"),
        &catch_t,
        changed,
    );
    println!();
    println!(
        "first query: {:.1}x faster with the dump",
        scan.as_secs_f64() / dump.as_secs_f64()
    );
    Ok(())
}
