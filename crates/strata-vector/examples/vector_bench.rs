//! Measures exact-scan and HNSW search on clustered data (default 20k x 384, 100
//! centres, cosine): exact QPS, HNSW build and dump time, then per ef a load from
//! the dump and its QPS and recall@10, and the cost of growing a loaded index.
//!
//! Run in release: `cargo run --release -p strata-vector --example vector_bench [n] [dim]
//! [dump dir]`. `VB_REPS=<n>` runs each ef's query set n times (steadier rates on a
//! shared machine). `VB_DATA=<dir>` reads the vectors from `<dir>/data.f32` and
//! `<dir>/queries.f32` (little-endian f32) instead of drawing clustered ones;
//! `VB_EFS=48,64` picks the ef values.

use std::time::Instant;
use strata_vector::{DumpStatus, HnswParams, IndexConfig, IndexRecord, Metric, VectorIndex};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

#[path = "../../strata-storage/examples/support/thread_cpu.rs"]
mod thread_cpu;
use thread_cpu::cpu_seconds;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(20_000);
    let dim = args.get(1).copied().unwrap_or(384);
    let mut rng = Rng(7);
    let centres: Vec<Vec<f32>> = (0..100)
        .map(|_| (0..dim).map(|_| rng.next()).collect())
        .collect();
    let point = |rng: &mut Rng, i: usize| -> Vec<f32> {
        centres[i % 100]
            .iter()
            .map(|c| c + 0.3 * rng.next())
            .collect()
    };
    let records: Vec<IndexRecord> = (0..n)
        .map(|i| IndexRecord {
            key: format!("k{i}"),
            vector: point(&mut rng, i),
            metadata: None,
            version: 1,
        })
        .collect();
    let mut queries: Vec<Vec<f32>> = (0..500).map(|i| point(&mut rng, i * 7)).collect();
    let mut records = records;
    // Real data instead: `VB_DATA=<dir>` holding `data.f32` and `queries.f32`
    // (little-endian f32, `dim` per vector), e.g. GloVe written out from numpy.
    if let Some(dir) = std::env::var_os("VB_DATA") {
        let read = |name: &str| -> std::io::Result<Vec<Vec<f32>>> {
            let bytes = std::fs::read(std::path::Path::new(&dir).join(name))?;
            Ok(bytes
                .chunks_exact(4 * dim)
                .map(|v| {
                    v.chunks_exact(4)
                        .map(|x| f32::from_le_bytes([x[0], x[1], x[2], x[3]]))
                        .collect()
                })
                .collect())
        };
        records = read("data.f32")?
            .into_iter()
            .take(n)
            .enumerate()
            .map(|(i, vector)| IndexRecord {
                key: format!("k{i}"),
                vector,
                metadata: None,
                version: 1,
            })
            .collect();
        queries = read("queries.f32")?;
    }

    let flat_cfg = IndexConfig {
        hnsw_threshold: usize::MAX,
        ..IndexConfig::default()
    };
    let (flat, _) = VectorIndex::load(
        "bench",
        dim,
        Metric::Cosine,
        flat_cfg,
        records.clone(),
        None,
    )?;
    let t = Instant::now();
    let mut truth = Vec::new();
    for q in &queries {
        truth.push(flat.search(q, 10, None)?);
    }
    let exact_qps = queries.len() as f64 / t.elapsed().as_secs_f64();
    println!("n={n} dim={dim} cosine, clustered (100 centres)");
    println!("exact scan: {exact_qps:.0} queries/s");

    let cfg = |ef: usize| IndexConfig {
        hnsw_threshold: 1,
        hnsw: HnswParams {
            ef_search: ef,
            ..HnswParams::default()
        },
        ..IndexConfig::default()
    };
    // A third argument names a dump directory to reuse across runs (built if absent).
    let dir = tempfile::tempdir()?;
    let dump = std::env::args()
        .nth(3)
        .map_or_else(|| dir.path().join("graph"), std::path::PathBuf::from);
    if !dump.join("manifest").exists() {
        let t = Instant::now();
        let (built, _) = VectorIndex::load(
            "bench",
            dim,
            Metric::Cosine,
            cfg(128),
            records.clone(),
            Some(&dump),
        )?;
        println!(
            "hnsw build {:.1} s (M=16, ef_c=200, 2 threads), ~{} MB",
            t.elapsed().as_secs_f64(),
            built.memory_bytes() / 1_000_000
        );
        let t = Instant::now();
        built.dump(&dump, 1)?;
        println!("dump {:.2} s", t.elapsed().as_secs_f64());
    }
    // `VB_EFS=48,64` measures only those ef values.
    let efs: Vec<usize> = std::env::var("VB_EFS")
        .ok()
        .map(|v| v.split(',').filter_map(|e| e.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![16, 32, 64, 128, 256]);
    for ef in efs {
        let t = Instant::now();
        let (hnsw, status) = VectorIndex::load(
            "bench",
            dim,
            Metric::Cosine,
            cfg(ef),
            records.clone(),
            Some(&dump),
        )?;
        let load = t.elapsed();
        assert!(matches!(status, DumpStatus::Loaded { stale: 0, .. }));
        let t = Instant::now();
        let cpu = cpu_seconds();
        let mut recall = 0.0;
        let reps: usize = std::env::var("VB_REPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        for _ in 1..reps {
            for q in &queries {
                std::hint::black_box(hnsw.search(q, 10, None)?);
            }
        }
        for (q, want) in queries.iter().zip(&truth) {
            let got = hnsw.search(q, 10, None)?;
            recall += want
                .iter()
                .filter(|w| got.iter().any(|g| g.key == w.key))
                .count() as f64
                / 10.0;
        }
        let qps = (reps * queries.len()) as f64 / t.elapsed().as_secs_f64();
        let cpu_qps = match (cpu, cpu_seconds()) {
            (Some(a), Some(b)) if b > a => (reps * queries.len()) as f64 / (b - a),
            _ => f64::NAN,
        };
        println!(
            "ef={ef}: load from dump {:.2} s, {qps:.0} queries/s ({cpu_qps:.0} per CPU second), recall@10 {:.3}, ~{} MB",
            load.as_secs_f64(),
            recall / queries.len() as f64,
            hnsw.memory_bytes() / 1_000_000
        );
    }
    // Growth after a load: rebuilds the builder from the flat graph, inserts, extracts.
    let (mut hnsw, _) = VectorIndex::load(
        "bench",
        dim,
        Metric::Cosine,
        cfg(64),
        records.clone(),
        Some(&dump),
    )?;
    let t = Instant::now();
    let extra = 1025;
    for i in 0..extra {
        hnsw.upsert(&format!("x{i}"), &point(&mut rng, i), None, 2)?;
    }
    println!(
        "{extra} upserts after load (builder from flat + inserts + extraction): {:.2} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
