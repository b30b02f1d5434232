//! The calling thread's CPU time, for benchmark examples whose rates should stay
//! comparable when other processes share the cores. Included with `#[path]`.

/// This thread's CPU time in seconds (Linux `/proc/thread-self/schedstat`, one small
/// file read); `None` where that file does not exist.
pub fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}
