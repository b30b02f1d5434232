"""Shared helpers for the side-by-side benchmarks (`cargo xtask bench <suite>`).

Only the standard library is imported at module level, so this file also runs in
bench/.venv-published (where only the published `stratadb` package is installed).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional

# numpy's OpenBLAS keeps a thread per core spinning after each BLAS call; on a 2-core
# machine that steals a core from the single-threaded query loops measured here (a
# quarter of a profile's samples). Set before any benchmark imports numpy; child
# processes inherit it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
WORK = BENCH / "work"  # scratch databases (gitignored)


def load_average() -> str:
    """The 1/5/15-minute load averages, as `uptime` shows them."""
    try:
        a, b, c = os.getloadavg()
        return f"{a:.2f} {b:.2f} {c:.2f}"
    except OSError:
        return "?"


def machine() -> Dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def git_rev() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def rss_mb() -> float:
    """Current resident set size of this process in MiB (from /proc)."""
    try:
        with open("/proc/self/statm", encoding="utf-8") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scratch(name: str, tmpfs: bool = False) -> Path:
    """A fresh empty directory for one database: under /dev/shm for `tmpfs`, else
    under bench/work/ (on the same disk as the checkout)."""
    base = Path("/dev/shm/strata-bench") if tmpfs and Path("/dev/shm").is_dir() else WORK
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=name + "-", dir=base))
    return path


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def dir_size_mb(path: Path) -> float:
    total = 0
    for p in Path(path).rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_blocks * 512
        except OSError:
            pass
    return total / 2**20


def timed_ops(
    batch: Callable[[int, int], None],
    n: int,
    limit_s: float,
    chunk: int = 1000,
) -> Dict[str, Any]:
    """Runs `batch(start, end)` over [0, n) in chunks until done or `limit_s` passed.
    Returns the ops done, the seconds taken and the rate; `partial` if it stopped early."""
    done = 0
    t0 = time.perf_counter()
    while done < n:
        end = min(n, done + chunk)
        batch(done, end)
        done = end
        if time.perf_counter() - t0 > limit_s:
            break
    secs = time.perf_counter() - t0
    return {
        "n": done,
        "seconds": round(secs, 4),
        "ops_per_s": round(done / secs, 1) if secs > 0 else None,
        "partial": done < n,
    }


def write_results(suite: str, payload: Dict[str, Any], markdown: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{suite}.json"
    path.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    (RESULTS / f"{suite}.md").write_text(markdown, encoding="utf-8")
    print(f"\nwrote {path.relative_to(ROOT)} and {suite}.md")
    return path


def header(suite: str, command: str, started_load: str, notes: Iterable[str] = (),
           commit: Optional[str] = None) -> str:
    m = machine()
    lines = [
        f"Command: `{command}` (commit {commit or git_rev()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).",
        f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}; "
        f"load average at start {started_load}, at end {load_average()} "
        "(1/5/15 min; the machine is shared).",
    ]
    lines.extend(notes)
    return "\n".join(lines) + "\n"


def md_table(head: List[str], rows: List[List[Any]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        out.append("| " + " | ".join("" if c is None else str(c) for c in r) + " |")
    return "\n".join(out) + "\n"


def fmt_rate(x: Optional[float]) -> str:
    if x is None:
        return "n/a"
    if x >= 100_000:
        return f"{x / 1000:.0f}k"
    if x >= 10_000:
        return f"{x / 1000:.1f}k"
    if x >= 1000:
        return f"{x / 1000:.2f}k"
    return f"{x:.0f}"


def log(*args: Any) -> None:
    print(*args, flush=True, file=sys.stderr)
