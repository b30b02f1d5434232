//! Developer tasks for the StrataDB workspace, run as `cargo xtask <task>`
//! (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask demo`: set up `./.venv`, build and install the Python package
//!   (release), and run `examples/demo.py`.
//! - `cargo xtask test [PYTEST ARGS...]`: `cargo test --workspace`, then build the
//!   Python package (debug) into `./.venv`, check its type stubs with mypy's stubtest,
//!   type-check `examples/` with `mypy --strict`, and run pytest over `tests/python`.
//!   Exits non-zero if any step fails.
//!
//! The only prerequisites are cargo and a `python3` (3.10+) with the `venv` module; the
//! Python tools come from PyPI into `./.venv` (listed in
//! `crates/strata-python/requirements-dev.txt`). Set `STRATA_PYTHON` to use another
//! interpreter for creating the venv.

mod bench;
mod reliability;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  demo                 build the Python package (release) into ./.venv and run examples/demo.py
  test [PYTEST ARGS]   cargo test --workspace, then build the Python package into ./.venv
                       and run stubtest, mypy --strict over examples/ and pytest over
                       tests/python
  bench <sdk|vector|search|all> [-- ARGS]
                       side-by-side benchmarks against peers in bench/.venv (docs/benchmarks.md)
";

/// Where the Python package's sources live, relative to the workspace root.
const PY_CRATE: &str = "crates/strata-python";
/// pip requirements installed into the venv.
const REQUIREMENTS: &str = "crates/strata-python/requirements-dev.txt";
/// Written into the venv after a successful install: a copy of the requirements.
const STAMP: &str = ".strata-requirements";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let mut run = Run::new(workspace_root());
    let ok = match task.as_str() {
        "demo" => demo(&mut run),
        // `cargo xtask test -- -k kv` and `cargo xtask test -k kv` mean the same.
        "test" => test(
            &mut run,
            rest.strip_prefix(&["--".to_owned()][..]).unwrap_or(rest),
        ),
        "fuzz" => reliability::fuzz(&mut run, rest),
        "soak" => reliability::soak(&mut run, rest),
        "bench" => bench::bench(&mut run, rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprint!("unknown task {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    run.summary();
    if ok && run.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The workspace this run works on. `cargo run` sets `CARGO_MANIFEST_DIR` for the
/// binary it starts, so a checkout that reuses another checkout's target directory
/// (whose xtask binary cargo may consider fresh) still works on itself; the
/// compile-time value is only the fallback.
fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// The steps of one task, with their timings and failures.
struct Run {
    root: PathBuf,
    started: Instant,
    steps: Vec<(String, Duration, bool)>,
    failed: Vec<String>,
}

impl Run {
    fn new(root: PathBuf) -> Self {
        Run {
            root,
            started: Instant::now(),
            steps: Vec::new(),
            failed: Vec::new(),
        }
    }

    fn venv(&self) -> PathBuf {
        self.root.join(".venv")
    }

    fn venv_bin(&self, tool: &str) -> PathBuf {
        self.venv().join("bin").join(tool)
    }

    /// A command run from the workspace root, outside the venv.
    fn plain_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.root);
        cmd
    }

    /// A command run from the workspace root with the venv activated (first on `PATH`,
    /// `VIRTUAL_ENV` set). Not for `cargo test`: pyo3's build script follows
    /// `VIRTUAL_ENV`, which may not exist yet.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = self.plain_command(program);
        let mut path = OsString::from(self.venv().join("bin"));
        if let Some(old) = std::env::var_os("PATH") {
            path.push(":");
            path.push(old);
        }
        cmd.env("PATH", path).env("VIRTUAL_ENV", self.venv());
        cmd.env_remove("CONDA_PREFIX");
        cmd
    }

    /// Runs one step and records its time. `check` turns the exit status into an
    /// error message (None = success).
    fn step(
        &mut self,
        name: &str,
        mut cmd: Command,
        check: impl Fn(Option<i32>) -> Option<String>,
    ) -> bool {
        println!("\n==> {name}");
        println!("    $ {}", render(&cmd));
        let start = Instant::now();
        let outcome = match cmd.status() {
            Ok(status) => check(status.code()),
            Err(e) => Some(format!("could not start: {e}")),
        };
        let took = start.elapsed();
        let ok = outcome.is_none();
        match outcome {
            None => println!("<== {name}: ok in {}", secs(took)),
            Some(why) => {
                eprintln!("<== {name}: FAILED in {}: {why}", secs(took));
                self.failed.push(format!("{name}: {why}"));
            }
        }
        self.steps.push((name.to_owned(), took, ok));
        ok
    }

    fn summary(&self) {
        println!("\n==> timings");
        for (name, took, ok) in &self.steps {
            let mark = if *ok { "ok    " } else { "FAILED" };
            println!("    {mark} {:>8}  {name}", secs(*took));
        }
        println!("    total  {:>8}", secs(self.started.elapsed()));
        if !self.failed.is_empty() {
            eprintln!("\nFAILED:");
            for f in &self.failed {
                eprintln!("  - {f}");
            }
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn render(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Exit status 0 is success; anything else (or death by signal) is a failure.
fn zero(code: Option<i32>) -> Option<String> {
    match code {
        Some(0) => None,
        Some(c) => Some(format!("exit status {c}")),
        None => Some("killed by a signal".into()),
    }
}

fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Creates `.venv` if it is missing or broken, and installs the Python tools when the
/// requirements changed since the last install.
fn ensure_venv(run: &mut Run) -> bool {
    let python = run.venv_bin("python");
    let works = Command::new(&python)
        .args(["-c", "import sys; assert sys.version_info >= (3, 10)"])
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        let base = std::env::var_os("STRATA_PYTHON").unwrap_or_else(|| "python3".into());
        let mut cmd = run.plain_command(base);
        cmd.args(["-m", "venv", "--clear"]).arg(run.venv());
        if !run.step("create .venv", cmd, zero) {
            return false;
        }
    }
    let wanted = match std::fs::read_to_string(run.root.join(REQUIREMENTS)) {
        Ok(text) => text,
        Err(e) => {
            run.failed.push(format!("read {REQUIREMENTS}: {e}"));
            return false;
        }
    };
    let stamp = run.venv().join(STAMP);
    if std::fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) {
        println!("\n==> python tools already installed in .venv ({REQUIREMENTS} unchanged)");
        return true;
    }
    let mut cmd = run.command(&python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--quiet",
        "-r",
        REQUIREMENTS,
    ]);
    if !run.step("pip install python tools into .venv", cmd, zero) {
        return false;
    }
    if let Err(e) = std::fs::write(&stamp, wanted) {
        // Not fatal: the next run just reinstalls.
        eprintln!("warning: could not write {}: {e}", stamp.display());
    }
    true
}

/// Builds the extension and installs it into the venv (editable).
fn build_python_package(run: &mut Run, release: bool) -> bool {
    let mut cmd = run.command(run.venv_bin("maturin"));
    cmd.args(["develop", "--manifest-path"])
        .arg(Path::new(PY_CRATE).join("Cargo.toml"));
    if release {
        cmd.arg("--release");
    }
    let name = if release {
        "build + install stratadb (release)"
    } else {
        "build + install stratadb (debug)"
    };
    run.step(name, cmd, zero)
}

fn demo(run: &mut Run) -> bool {
    if !ensure_venv(run) || !build_python_package(run, true) {
        return false;
    }
    let mut cmd = run.command(run.venv_bin("python"));
    cmd.arg("examples/demo.py");
    run.step("run examples/demo.py", cmd, zero)
}

fn test(run: &mut Run, pytest_args: &[String]) -> bool {
    let mut cmd = run.plain_command(cargo());
    cmd.args(["test", "--workspace"]);
    // Rust and Python results are independent: run both, then report both.
    run.step("cargo test --workspace", cmd, zero);

    if !ensure_venv(run) || !build_python_package(run, false) {
        // Never test a stale build.
        return false;
    }

    let mut cmd = run.command(run.venv_bin("python"));
    cmd.args(["-m", "mypy.stubtest", "stratadb"]);
    run.step("stubtest (type stubs match the module)", cmd, zero);

    let mut cmd = run.command(run.venv_bin("python"));
    cmd.args(["-m", "mypy", "--strict", "examples/"]);
    run.step("mypy --strict examples/", cmd, zero);

    let mut cmd = run.command(run.venv_bin("python"));
    cmd.args(["-m", "pytest", "tests/python", "-q"])
        .args(pytest_args);
    run.step("pytest tests/python", cmd, |code| match code {
        Some(5) => Some("pytest collected no tests (exit status 5)".into()),
        other => zero(other),
    })
}
