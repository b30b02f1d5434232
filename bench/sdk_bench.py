"""Suite `sdk`: single-operation throughput from Python, side by side.

Every engine does the same work, one operation per call and per commit, from one
Python thread: kv_put / kv_get / state_cas / event_append / json_set, N operations
each (default 100k, stopped after --limit seconds per row), in memory ("cache") and
on disk. Engines:

- `strata`: this checkout's `stratadb` (built in release into bench/.venv).
- `published`: the published `stratadb` 0.14.5 (its flat native class
  `stratadb._stratadb.Strata`), run from bench/.venv-published in a subprocess
  because both packages are called `stratadb`.
- `sqlite`: stdlib sqlite3, WAL, synchronous=NORMAL, one row per key, autocommit.
- `lmdb`: one write transaction per put, sync=False (OS-buffered, like StrataDB's
  default `standard` durability), one read transaction per get.
- `rocksdict`: RocksDB through rocksdict, default options (WAL without fsync).

Durability is matched: every engine's acknowledged write survives a process crash
and none fsyncs per commit. "cache" means Strata.cache() for StrataDB, ":memory:" for
sqlite, and a directory on tmpfs (/dev/shm) for lmdb and rocksdict, which have no
in-memory mode.

Also measures the event_append rate as the log grows (per 100k window up to 1M for
StrataDB; for the published package up to --published-growth events).

Rounds: one measurement is a fraction of a second, and on a shared machine a noisy
moment lands on whichever engine runs then. So the whole comparison runs --rounds
times (default 3), the engines interleaved: each round runs every engine's whole
sequence (for each mode: open, the five operations in order, close; then, for
StrataDB and the published package, the growth measurement), in the order of
--engines rotated by the round's number, so no engine is always first or last. The
published package runs in its subprocess once per round. Each reported row is the
median over the rounds (with an odd count, one real round's value), with its min,
max and per-round rates; the markdown shows the medians and a table of per-round
ranges and of each round's ours / 0.14.5 ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

OPS = ["kv_put", "kv_get", "state_cas", "event_append", "json_set"]
MODES = ["cache", "disk"]
CELLS = 1000
Row = Dict[str, Any]  # one measurement: engine, mode, op, n, ops_per_s, ...


def value_for(i: int) -> str:
    # ~100-byte string values.
    return f"value-{i:08d}-" + "x" * 85


def doc_for(i: int) -> Dict[str, Any]:
    return {"name": f"user-{i}", "age": i % 90, "tags": ["a", "b"], "active": True}


class StrataLike:
    """StrataDB (ours or the published 0.14.5): the same flat method names."""

    def __init__(self, cls: Any, mode: str, path: Optional[Path]):
        self.db = cls.cache() if mode == "cache" else cls.open(str(path))

    def ops(self, keys: List[str], vals: List[str], order: List[int]) -> Dict[str, Callable[[int, int], None]]:
        db = self.db
        versions: Dict[str, int] = {}
        cells = [f"cell-{c}" for c in range(CELLS)]

        def kv_put(a: int, b: int) -> None:
            put = db.kv_put
            for i in range(a, b):
                put(keys[i], vals[i])

        def kv_get(a: int, b: int) -> None:
            get = db.kv_get
            for j in range(a, b):
                get(keys[order[j]])

        def state_cas(a: int, b: int) -> None:
            cas = db.state_cas
            if not versions:
                for c in cells:
                    versions[c] = db.state_init(c, 0)
            for i in range(a, b):
                c = cells[i % CELLS]
                v = cas(c, i, expected_version=versions[c])
                if v is None:
                    raise RuntimeError(f"CAS failed on {c}")
                versions[c] = v

        def event_append(a: int, b: int) -> None:
            app = db.event_append
            for i in range(a, b):
                app("tick", {"i": i, "msg": "event payload"})

        def json_set(a: int, b: int) -> None:
            js = db.json_set
            for i in range(a, b):
                js(keys[i], "$", doc_for(i))

        return dict(kv_put=kv_put, kv_get=kv_get, state_cas=state_cas,
                    event_append=event_append, json_set=json_set)

    def close(self) -> None:
        self.db.close() if hasattr(self.db, "close") else None


class Sqlite:
    def __init__(self, mode: str, path: Optional[Path]):
        import sqlite3

        self.conn = sqlite3.connect(":memory:" if mode == "cache" else str(path / "db.sqlite"),
                                    isolation_level=None)  # autocommit: one txn per statement
        c = self.conn
        if mode != "cache":
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
        c.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID")
        c.execute("CREATE TABLE state (k TEXT PRIMARY KEY, v TEXT, ver INTEGER) WITHOUT ROWID")
        c.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, type TEXT, payload TEXT)")
        c.execute("CREATE TABLE docs (k TEXT PRIMARY KEY, body TEXT) WITHOUT ROWID")

    def ops(self, keys, vals, order):
        c = self.conn
        versions: Dict[str, int] = {}
        cells = [f"cell-{i}" for i in range(CELLS)]
        dumps = json.dumps

        def kv_put(a, b):
            ex = c.execute
            for i in range(a, b):
                ex("INSERT OR REPLACE INTO kv VALUES (?, ?)", (keys[i], vals[i]))

        def kv_get(a, b):
            ex = c.execute
            for j in range(a, b):
                ex("SELECT v FROM kv WHERE k = ?", (keys[order[j]],)).fetchone()

        def state_cas(a, b):
            ex = c.execute
            if not versions:
                for cell in cells:
                    ex("INSERT INTO state VALUES (?, ?, 1)", (cell, "0"))
                    versions[cell] = 1
            for i in range(a, b):
                cell = cells[i % CELLS]
                v = versions[cell]
                cur = ex("UPDATE state SET v = ?, ver = ver + 1 WHERE k = ? AND ver = ?",
                         (dumps(i), cell, v))
                if cur.rowcount != 1:
                    raise RuntimeError("CAS failed")
                versions[cell] = v + 1

        def event_append(a, b):
            ex = c.execute
            for i in range(a, b):
                ex("INSERT INTO events (type, payload) VALUES (?, ?)",
                   ("tick", dumps({"i": i, "msg": "event payload"})))

        def json_set(a, b):
            ex = c.execute
            for i in range(a, b):
                ex("INSERT OR REPLACE INTO docs VALUES (?, ?)", (keys[i], dumps(doc_for(i))))

        return dict(kv_put=kv_put, kv_get=kv_get, state_cas=state_cas,
                    event_append=event_append, json_set=json_set)

    def close(self):
        self.conn.close()


class Lmdb:
    def __init__(self, mode: str, path: Path):
        import lmdb

        self.env = lmdb.open(str(path), map_size=8 << 30, max_dbs=4, sync=False, metasync=False)
        self.kv = self.env.open_db(b"kv")
        self.state = self.env.open_db(b"state")
        self.events = self.env.open_db(b"events")
        self.docs = self.env.open_db(b"docs")

    def ops(self, keys, vals, order):
        env = self.env
        bkeys = [k.encode() for k in keys]
        bvals = [v.encode() for v in vals]
        dumps = json.dumps
        versions: Dict[bytes, int] = {}
        cells = [f"cell-{i}".encode() for i in range(CELLS)]
        seq = [0]

        def kv_put(a, b):
            kvdb = self.kv
            for i in range(a, b):
                with env.begin(write=True, db=kvdb) as t:
                    t.put(bkeys[i], bvals[i])

        def kv_get(a, b):
            kvdb = self.kv
            for j in range(a, b):
                with env.begin(db=kvdb) as t:
                    t.get(bkeys[order[j]])

        def state_cas(a, b):
            sdb = self.state
            if not versions:
                with env.begin(write=True, db=sdb) as t:
                    for cell in cells:
                        t.put(cell, dumps({"v": 0, "ver": 1}).encode())
                        versions[cell] = 1
            for i in range(a, b):
                cell = cells[i % CELLS]
                with env.begin(write=True, db=sdb) as t:
                    cur = json.loads(t.get(cell))
                    if cur["ver"] != versions[cell]:
                        raise RuntimeError("CAS failed")
                    t.put(cell, dumps({"v": i, "ver": cur["ver"] + 1}).encode())
                versions[cell] += 1

        def event_append(a, b):
            edb = self.events
            for i in range(a, b):
                with env.begin(write=True, db=edb) as t:
                    s = seq[0]
                    t.put(s.to_bytes(8, "big"),
                          dumps({"type": "tick", "payload": {"i": i, "msg": "event payload"}}).encode(),
                          append=True)
                    seq[0] = s + 1

        def json_set(a, b):
            ddb = self.docs
            for i in range(a, b):
                with env.begin(write=True, db=ddb) as t:
                    t.put(bkeys[i], dumps(doc_for(i)).encode())

        return dict(kv_put=kv_put, kv_get=kv_get, state_cas=state_cas,
                    event_append=event_append, json_set=json_set)

    def close(self):
        self.env.close()


class RocksDict:
    def __init__(self, mode: str, path: Path):
        from rocksdict import Rdict

        self.db = Rdict(str(path))

    def ops(self, keys, vals, order):
        db = self.db
        bkeys = [k.encode() for k in keys]
        bvals = [v.encode() for v in vals]
        dumps = json.dumps
        versions: Dict[bytes, int] = {}
        cells = [f"state/cell-{i}".encode() for i in range(CELLS)]
        seq = [0]

        def kv_put(a, b):
            for i in range(a, b):
                db[bkeys[i]] = bvals[i]

        def kv_get(a, b):
            for j in range(a, b):
                db.get(bkeys[order[j]])

        def state_cas(a, b):
            # Read, compare, write: RocksDB has no CAS; one process, so no race here.
            if not versions:
                for cell in cells:
                    db[cell] = dumps({"v": 0, "ver": 1}).encode()
                    versions[cell] = 1
            for i in range(a, b):
                cell = cells[i % CELLS]
                cur = json.loads(db[cell])
                if cur["ver"] != versions[cell]:
                    raise RuntimeError("CAS failed")
                db[cell] = dumps({"v": i, "ver": cur["ver"] + 1}).encode()
                versions[cell] += 1

        def event_append(a, b):
            for i in range(a, b):
                s = seq[0]
                db[b"event/" + s.to_bytes(8, "big")] = dumps(
                    {"type": "tick", "payload": {"i": i, "msg": "event payload"}}).encode()
                seq[0] = s + 1

        def json_set(a, b):
            for i in range(a, b):
                db[b"doc/" + bkeys[i]] = dumps(doc_for(i)).encode()

        return dict(kv_put=kv_put, kv_get=kv_get, state_cas=state_cas,
                    event_append=event_append, json_set=json_set)

    def close(self):
        self.db.close()


def open_engine(name: str, mode: str, path: Path):
    if name in ("strata", "published"):
        if name == "published":
            from stratadb._stratadb import Strata  # the 0.14 flat native class
        else:
            from stratadb import Strata
        return StrataLike(Strata, mode, path)
    if name == "sqlite":
        return Sqlite(mode, path)
    if name == "lmdb":
        return Lmdb(mode, path)
    if name == "rocksdict":
        return RocksDict(mode, path)
    raise SystemExit(f"unknown engine {name}")


def run_engine(name: str, n: int, limit: float, growth: int) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    keys = [f"key-{i:08d}" for i in range(n)]
    vals = [value_for(i) for i in range(n)]
    order = list(range(n))
    random.Random(42).shuffle(order)
    for mode in MODES:
        path = common.scratch(f"sdk-{name}-{mode}", tmpfs=(mode == "cache"))
        try:
            eng = open_engine(name, mode, path)
        except Exception as e:  # noqa: BLE001
            rows.append({"engine": name, "mode": mode, "op": "open", "error": repr(e)})
            common.remove(path)
            continue
        fns = eng.ops(keys, vals, order)
        for op in OPS:
            row: Dict[str, Any] = {"engine": name, "mode": mode, "op": op}
            try:
                if op == "kv_get":
                    # Only reads of keys that were written: limit to what kv_put wrote.
                    put = next((r for r in rows if r["mode"] == mode and r["op"] == "kv_put"
                                and "n" in r), None)
                    if put is None:
                        raise RuntimeError("kv_put did not run")
                    m = put["n"]
                    sub = [o for o in order if o < m]
                    fns_get = eng.ops(keys, vals, sub)["kv_get"]
                    row.update(common.timed_ops(fns_get, len(sub), limit))
                else:
                    row.update(common.timed_ops(fns[op], n, limit))
            except AttributeError as e:
                row["error"] = f"not available: {e}"
            except Exception as e:  # noqa: BLE001
                row["error"] = repr(e)
            common.log(f"  {name:10} {mode:5} {op:13} "
                       + (f"{row.get('ops_per_s')}/s n={row.get('n')}" if "n" in row else row["error"]))
            rows.append(row)
        eng.close()
        common.remove(path)
    if growth and name in ("strata", "published"):
        rows.extend(event_growth(name, growth, limit * 4))
    return rows


def event_growth(name: str, total: int, limit: float) -> List[Dict[str, Any]]:
    """event_append rate per window as the log grows to `total` events (on disk), with
    the appending thread's CPU time per append (`time.thread_time`): flat when the
    append path does constant work, whatever background flushes do to the rate."""
    window = 100_000 if total >= 200_000 else max(1000, total // 6)
    path = common.scratch(f"sdk-growth-{name}")
    rows = []
    try:
        eng = open_engine(name, "disk", path)
        db = eng.db
        t_start = time.perf_counter()
        at = 0
        while at < total and time.perf_counter() - t_start < limit:
            t0 = time.perf_counter()
            c0 = time.thread_time()
            for i in range(at, at + window):
                db.event_append("tick", {"i": i, "msg": "event payload"})
            secs = time.perf_counter() - t0
            cpu_us = (time.thread_time() - c0) * 1e6 / window
            rows.append({"engine": name, "mode": "disk", "op": "event_growth",
                         "log_len": at, "n": window, "seconds": round(secs, 4),
                         "ops_per_s": round(window / secs, 1), "thread_cpu_us": round(cpu_us, 2)})
            common.log(f"  {name:10} growth at {at:>8}: {window / secs:,.0f}/s")
            at += window
        eng.close()
    except AttributeError as e:
        rows.append({"engine": name, "mode": "disk", "op": "event_growth",
                     "error": f"not available: {e}"})
    finally:
        common.remove(path)
    return rows


def rotated(engines: List[str], r: int) -> List[str]:
    """The engines' order in round `r`: the --engines list rotated by r."""
    k = r % len(engines)
    return engines[k:] + engines[:k]


def run_published(args: argparse.Namespace) -> List[Row]:
    """One round of the published package, in its own interpreter (both packages are
    called `stratadb`)."""
    out = common.WORK / "published-rows.json"
    common.WORK.mkdir(parents=True, exist_ok=True)
    cmd = [args.published_python, __file__, "--engines", "published", "-n", str(args.n),
           "--limit", str(args.limit), "--published-growth", str(args.published_growth),
           "--rounds", "1", "--child-json", str(out)]
    common.log("  running the published package in", args.published_python)
    subprocess.run(cmd, check=True)
    return json.loads(out.read_text())


def run_round(engines: List[str], args: argparse.Namespace, r: int) -> List[Row]:
    """Every engine's whole sequence once (its rows, then its growth windows), in
    this round's order."""
    rows: List[Row] = []
    for e in rotated(engines, r):
        if e == "published":
            rows += run_published(args)
        else:
            rows += run_engine(e, args.n, args.limit, args.growth if e == "strata" else 0)
    return rows


def row_key(r: Row) -> Tuple[Any, ...]:
    """What a row measures: (engine, mode, op), plus the log length for a growth window."""
    return (r["engine"], r["mode"], r["op"], r.get("log_len"))


def combine(per_round: List[Optional[Row]]) -> Row:
    """One row from the same measurement's rows in each round (None where a round has
    none): the median rate, its min and max and the per-round rates; `n`, `seconds`
    and the rest are the median round's (the lower one for an even count), `partial`
    if any round stopped early, and the median CPU time for a growth window. With no
    round giving a rate, the first round's row (its error) as it is."""
    ok = sorted((r for r in per_round if r is not None and r.get("ops_per_s") is not None),
                key=lambda r: r["ops_per_s"])
    if not ok:
        return dict(next(r for r in per_round if r is not None))
    rates = [r["ops_per_s"] for r in ok]
    out = dict(ok[(len(ok) - 1) // 2])
    out["ops_per_s"] = round(median(rates), 1)
    out["min"], out["max"] = rates[0], rates[-1]
    out["rounds_ops_per_s"] = [r.get("ops_per_s") if r else None for r in per_round]
    if "partial" in out:
        out["partial"] = any(r.get("partial") for r in ok)
    cpu = [r["thread_cpu_us"] for r in ok if "thread_cpu_us" in r]
    if cpu:
        out["thread_cpu_us"] = round(median(cpu), 2)
    errors = [r["error"] for r in per_round if r is not None and "error" in r]
    if errors:
        out["errors"] = errors
    return out


def aggregate(rounds: List[List[Row]]) -> List[Row]:
    """One row per measurement over all rounds, in the order the first round gave them."""
    by_key: Dict[Tuple[Any, ...], List[Optional[Row]]] = {}
    for i, rows in enumerate(rounds):
        for row in rows:
            by_key.setdefault(row_key(row), [None] * len(rounds))[i] = row
    return [combine(per_round) for per_round in by_key.values()]


NAMES = {"strata": "StrataDB (this tree)", "published": "stratadb 0.14.5 (PyPI)",
         "sqlite": "sqlite3 (WAL)", "lmdb": "lmdb", "rocksdict": "rocksdict"}


def find(rows: List[Row], engine: str, mode: str, op: str) -> Optional[Row]:
    return next((r for r in rows if r["engine"] == engine and r["mode"] == mode and r["op"] == op),
                None)


def rate_cell(r: Optional[Row], rounds: int) -> str:
    """The median rate, with how many ops the median round did if it stopped early and
    how many rounds failed if some did."""
    if r is None:
        return "-"
    if "ops_per_s" not in r:
        return "n/a"
    s = common.fmt_rate(r["ops_per_s"])
    if r.get("partial"):
        s += f" ({r['n'] // 1000}k ops)"
    if r.get("errors"):
        s += f" ({len(r['errors'])} of {rounds} rounds failed)"
    return s


def ratio(a: Optional[float], b: Optional[float]) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def spread(r: Optional[Row]) -> str:
    """min-max of a row's rate over the rounds."""
    if r is None or "min" not in r:
        return "-"
    return f"{common.fmt_rate(r['min'])}-{common.fmt_rate(r['max'])}"


def round_ratios(a: Optional[Row], b: Optional[Row]) -> List[Optional[float]]:
    """ours / published in each round (None where either has no rate that round)."""
    if a is None or b is None or "rounds_ops_per_s" not in a or "rounds_ops_per_s" not in b:
        return []
    return [x / y if x and y else None for x, y in zip(a["rounds_ops_per_s"], b["rounds_ops_per_s"])]


def range_table(rows: List[Row], engines: List[str]) -> str:
    """Per-round spread of StrataDB's and the published package's rates and of their ratio."""
    ours = [e for e in ("strata", "published") if e in engines]
    both = len(ours) == 2
    head = ["mode", "op"] + [NAMES[e] for e in ours]
    if both:
        head += ["ours / 0.14.5", "ours / 0.14.5 per round"]
    table = []
    for mode in MODES:
        for op in OPS:
            line = [mode, op] + [spread(find(rows, e, mode, op)) for e in ours]
            if both:
                rs = round_ratios(find(rows, "strata", mode, op), find(rows, "published", mode, op))
                got = [x for x in rs if x is not None]
                line.append(f"{min(got):.1f}x-{max(got):.1f}x" if got else "-")
                line.append(", ".join("-" if x is None else f"{x:.1f}x" for x in rs) or "-")
            table.append(line)
    return common.md_table(head, table)


def growth_table(rows: List[Row], rounds: int) -> str:
    growth = [r for r in rows if r["op"] == "event_growth" and "ops_per_s" in r]
    multi = rounds > 1
    gt = []
    for e in ("strata", "published"):
        for r in growth:
            if r["engine"] == e:
                cpu = f"{r['thread_cpu_us']:.1f}" if "thread_cpu_us" in r else "-"
                gt.append([NAMES[e], f"{r['log_len']:,}", f"{r['n']:,}", common.fmt_rate(r["ops_per_s"])]
                          + ([common.fmt_rate(r["min"])] if multi else []) + [cpu])
    head = (["engine", "log length", "window", "appends/s" + (" (median)" if multi else "")]
            + (["min appends/s"] if multi else [])
            + ["CPU µs per append (appending thread" + (", median)" if multi else ")")])
    return common.md_table(head, gt)


def markdown(payload: Dict[str, Any], command: str) -> str:
    rows = payload["rows"]
    rounds = payload.get("rounds", 1)
    engines = [e for e in NAMES if any(r["engine"] == e for r in rows)]
    has_published = "published" in engines
    if rounds > 1:
        how = (f"Each figure is the median of {rounds} interleaved rounds: every round runs each "
               "engine's whole sequence, the engines' order rotated by one per round; the "
               "per-round range table below gives the spread, and `ours / 0.14.5` is the ratio of "
               "the medians. ")
    else:
        how = "One round (each figure is one run). "
    out = [common.header("sdk", command, payload["load_start"], commit=payload.get("commit"), notes=[
        how + f"Operations per second from one Python thread, one operation per call and per commit, "
        f"{payload['n'] // 1000}k operations per row (a row stops after {payload['limit']:.0f} s and then "
        "shows how many it did). Durability matched: no engine fsyncs per commit; each survives a "
        "process crash. `cache` = `Strata.cache()`, sqlite `:memory:`, lmdb/rocksdict on tmpfs.",
    ]), ""]
    head = ["mode", "op"] + [NAMES[e] for e in engines] + (["ours / 0.14.5"] if has_published else [])
    table = []
    for mode in MODES:
        for op in OPS:
            line = [mode, op] + [rate_cell(find(rows, e, mode, op), rounds) for e in engines]
            if has_published:
                a, b = find(rows, "strata", mode, op), find(rows, "published", mode, op)
                line.append(ratio(a and a.get("ops_per_s"), b and b.get("ops_per_s")))
            table.append(line)
    out.append(common.md_table(head, table))
    if rounds > 1 and ("strata" in engines or has_published):
        out.append(f"\nPer-round range (min-max over the {rounds} rounds) and each round's ratio "
                   "(the two engines' rates in the same round):\n")
        out.append(range_table(rows, engines))
    if any(r["op"] == "event_growth" and "ops_per_s" in r for r in rows):
        out.append("\nevent_append rate (on disk) as the log grows; each row is one window of appends "
                   "starting at that log length"
                   + (f", median over the {rounds} rounds" if rounds > 1 else "") + ":\n")
        out.append(growth_table(rows, rounds))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", default="strata,published,sqlite,lmdb,rocksdict")
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--limit", type=float, default=30.0, help="seconds per row at most")
    ap.add_argument("--growth", type=int, default=1_000_000, help="event log growth target (ours)")
    ap.add_argument("--published-growth", type=int, default=30_000)
    ap.add_argument("--published-python", default=str(common.BENCH / ".venv-published/bin/python"))
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds of every engine; rows report the median")
    ap.add_argument("--child-json", help="(internal) run the engines once and print rows as JSON")
    args = ap.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")

    if args.child_json:
        rows = []
        for e in engines:
            rows += run_engine(e, args.n, args.limit, args.published_growth if e == "published" else args.growth)
        Path(args.child_json).write_text(json.dumps(rows))
        return

    load_start = common.load_average()
    common.log(f"sdk suite: load average {load_start}")
    rounds: List[List[Row]] = []
    orders, loads = [], []
    for r in range(args.rounds):
        orders.append(rotated(engines, r))
        loads.append(common.load_average())
        common.log(f"round {r + 1}/{args.rounds}: {', '.join(orders[-1])} (load {loads[-1]})")
        rounds.append(run_round(engines, args, r))
    payload = {"suite": "sdk", "n": args.n, "limit": args.limit, "rounds": args.rounds,
               "round_orders": orders, "round_load_start": loads, "load_start": load_start,
               "load_end": common.load_average(), "machine": common.machine(),
               "commit": common.git_rev(), "rows": aggregate(rounds)}
    md = markdown(payload, "cargo xtask bench sdk")
    common.write_results("sdk", payload, md)
    print(md)


if __name__ == "__main__":
    main()
