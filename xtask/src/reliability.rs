//! Reliability tasks (see `docs/guarantees.md`):
//!
//! - `cargo xtask fuzz [SECONDS] [TARGET...]`: runs each cargo-fuzz target of `fuzz/`
//!   (`value_decode`, `jsonpath`, `filter_parse`, `bundle_read`; all by default) under
//!   libFuzzer for SECONDS (default 30) each. Needs `cargo install cargo-fuzz`; works
//!   on a stable toolchain through `RUSTC_BOOTSTRAP=1` (cargo-fuzz passes `-Z` flags
//!   for the sanitizer). Without cargo-fuzz it runs the same target bodies as proptest
//!   tests with many cases instead. A crash leaves its input in
//!   `fuzz/artifacts/<target>/`: replay it with `cargo fuzz run <target> <file>`, fix
//!   it, and add the input as a named regression test in `tests/fuzz_targets.rs`.
//! - `cargo xtask soak [SECONDS]`: the long runs, in release: the SIGKILL crash test
//!   over every primitive for SECONDS (default 600), the 1M-put / 1M-event memory
//!   test (prints peak RSS), and the isolation and fuzz property tests with many
//!   cases.

use crate::{cargo, zero, Run};
use std::process::Command;

/// The cargo-fuzz targets in `fuzz/fuzz_targets/`.
const FUZZ_TARGETS: &[&str] = &["value_decode", "jsonpath", "filter_parse", "bundle_read"];

fn parse_secs(args: &[String], default: u64) -> (u64, Vec<String>) {
    match args.first().and_then(|a| a.parse::<u64>().ok()) {
        Some(n) => (n, args[1..].to_vec()),
        None => (default, args.to_vec()),
    }
}

/// `cargo xtask fuzz [SECONDS] [TARGET...]`.
pub(crate) fn fuzz(run: &mut Run, args: &[String]) -> bool {
    let (secs, mut targets) = parse_secs(args, 30);
    if let Some(bad) = targets.iter().find(|t| !FUZZ_TARGETS.contains(&t.as_str())) {
        eprintln!(
            "unknown fuzz target {bad:?}; targets: {}",
            FUZZ_TARGETS.join(", ")
        );
        return false;
    }
    if targets.is_empty() {
        targets = FUZZ_TARGETS.iter().map(|t| t.to_string()).collect();
    }
    let has_cargo_fuzz = Command::new(cargo())
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        eprintln!(
            "cargo-fuzz is not installed (`cargo install cargo-fuzz`); running the same \
             targets as proptest tests instead"
        );
        let mut cmd = run.plain_command(cargo());
        cmd.args([
            "test",
            "--release",
            "-p",
            "strata-tests",
            "--test",
            "fuzz_targets",
        ])
        .env("PROPTEST_CASES", (secs * 1000).to_string());
        return run.step("fuzz targets as proptest", cmd, zero);
    }
    let fuzz_dir = run.root.join("fuzz");
    let mut ok = true;
    for t in &targets {
        let mut cmd = Command::new(cargo());
        cmd.current_dir(&fuzz_dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", t, "--"])
            .arg(format!("-max_total_time={secs}"))
            .arg("-print_final_stats=1");
        ok &= run.step(&format!("fuzz {t} for {secs}s"), cmd, zero);
    }
    if !ok {
        eprintln!(
            "a target crashed: its input is in fuzz/artifacts/<target>/; replay with \
             `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>`, fix the bug and \
             add the input as a regression test in tests/fuzz_targets.rs"
        );
    }
    ok
}

/// `cargo xtask soak [SECONDS]`.
pub(crate) fn soak(run: &mut Run, args: &[String]) -> bool {
    let (secs, _) = parse_secs(args, 600);
    let test = |run: &Run, target: &str| {
        let mut cmd = run.plain_command(cargo());
        cmd.args(["test", "--release", "-p", "strata-tests", "--test", target]);
        cmd
    };
    let mut ok = true;
    let mut cmd = test(run, "crash_all_primitives");
    cmd.env("STRATA_SOAK_SECS", secs.to_string())
        .args(["--", "--nocapture"]);
    ok &= run.step(&format!("crash soak for {secs}s"), cmd, zero);
    let mut cmd = test(run, "resources");
    cmd.args(["--", "--ignored", "--nocapture", "streaming"]);
    ok &= run.step("1M puts + 1M events: peak RSS", cmd, zero);
    let mut cmd = test(run, "concurrency");
    cmd.args(["--", "--nocapture"]);
    ok &= run.step("concurrency stress", cmd, zero);
    for (target, cases) in [("isolation", "2000"), ("fuzz_targets", "20000")] {
        let mut cmd = test(run, target);
        cmd.env("PROPTEST_CASES", cases);
        ok &= run.step(&format!("{target} with {cases} cases"), cmd, zero);
    }
    ok
}
