//! A compare-and-swap loop through the facade, the shape of the SDK benchmark's
//! `state_cas` row (1,000 cells, round robin): `perf record` this, or read its CPU time
//! per CAS. `cargo run --release -p strata --example cas_loop -- [n] [disk]`.
use strata::{OpenOptions, Strata, Value};
use strata_state::CasOutcome;

#[path = "../../strata-storage/examples/support/allocator.rs"]
mod allocator;
#[path = "../../strata-storage/examples/support/thread_cpu.rs"]
mod thread_cpu;

/// CPU seconds of the calling thread (Linux only, like the rest of this example).
fn thread_cpu_secs() -> f64 {
    thread_cpu::cpu_seconds().expect("/proc/thread-self/schedstat")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let disk = args.next().is_some_and(|a| a == "disk");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = if disk {
        Strata::open(dir.path().join("db"), OpenOptions::default()).expect("open")
    } else {
        Strata::cache().expect("cache")
    };
    let s = db.session();
    const CELLS: usize = 1000;
    let names: Vec<String> = (0..CELLS).map(|c| format!("cell-{c}")).collect();
    let mut versions = Vec::with_capacity(CELLS);
    for c in &names {
        let w = s.state_init(c, Value::Int(0)).expect("init");
        versions.push(w.version);
    }
    for round in 0..3 {
        let (t, cpu) = (std::time::Instant::now(), thread_cpu_secs());
        for i in 0..n {
            let c = i % CELLS;
            let w = s
                .state_cas(&names[c], Value::Int(i as i64), versions[c])
                .expect("cas");
            assert!(
                matches!(w.value, CasOutcome::Swapped),
                "CAS failed on {}",
                names[c]
            );
            versions[c] = w.version;
        }
        let (wall, cpu) = (t.elapsed().as_secs_f64(), thread_cpu_secs() - cpu);
        println!(
            "round {round}: {:.0} CAS/s, {:.2} µs CPU per CAS",
            n as f64 / wall,
            cpu * 1e6 / n as f64
        );
    }
}
