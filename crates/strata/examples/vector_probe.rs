//! Times vector build and search through the facade (release): a profiling probe.
use strata::{Strata, Value, VectorInput};
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000);
    let dim = 50;
    let db = Strata::cache().expect("cache");
    let s = db.session();
    s.vector_create_collection("c", dim, Some("cosine"))
        .expect("create");
    let mut x: u64 = 88172645463325252;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 10_000) as f32 / 10_000.0 - 0.5
    };
    let data: Vec<Vec<f32>> = (0..n).map(|_| (0..dim).map(|_| rnd()).collect()).collect();
    let t = std::time::Instant::now();
    for chunk in data.chunks(5000).enumerate() {
        let items = chunk
            .1
            .iter()
            .enumerate()
            .map(|(i, v)| VectorInput {
                key: format!("k{}", chunk.0 * 5000 + i),
                vector: v.clone(),
                metadata: None,
            })
            .collect();
        s.vector_batch_upsert("c", items).expect("batch");
    }
    println!("upsert {:?}", t.elapsed());
    let t = std::time::Instant::now();
    s.vector_search("c", &data[0], 10, None, None, None)
        .expect("search");
    println!("first search (index build) {:?}", t.elapsed());
    let t = std::time::Instant::now();
    for q in data.iter().take(500) {
        s.vector_search("c", q, 10, None, None, None)
            .expect("search");
    }
    println!(
        "500 searches {:?} -> {:.0} qps",
        t.elapsed(),
        500.0 / t.elapsed().as_secs_f64()
    );
    let _ = Value::Null;
}
