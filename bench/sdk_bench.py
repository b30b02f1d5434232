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
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

OPS = ["kv_put", "kv_get", "state_cas", "event_append", "json_set"]
MODES = ["cache", "disk"]
CELLS = 1000


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


def markdown(payload: Dict[str, Any], command: str) -> str:
    rows = payload["rows"]
    engines = [e for e in ["strata", "published", "sqlite", "lmdb", "rocksdict"]
               if any(r["engine"] == e for r in rows)]
    names = {"strata": "StrataDB (this tree)", "published": "stratadb 0.14.5 (PyPI)",
             "sqlite": "sqlite3 (WAL)", "lmdb": "lmdb", "rocksdict": "rocksdict"}

    def cell(e, mode, op):
        r = next((r for r in rows if r["engine"] == e and r["mode"] == mode and r["op"] == op), None)
        if r is None:
            return "-"
        if "error" in r:
            return "n/a"
        s = common.fmt_rate(r["ops_per_s"])
        if r.get("partial"):
            s += f" ({r['n'] // 1000}k ops)"
        return s

    def ratio(mode, op):
        a = next((r for r in rows if r["engine"] == "strata" and r["mode"] == mode and r["op"] == op
                  and "ops_per_s" in r), None)
        b = next((r for r in rows if r["engine"] == "published" and r["mode"] == mode and r["op"] == op
                  and "ops_per_s" in r), None)
        if a and b and b["ops_per_s"]:
            return f"{a['ops_per_s'] / b['ops_per_s']:.1f}x"
        return "-"

    out = [common.header("sdk", command, payload["load_start"], commit=payload.get("commit"), notes=[
        f"Operations per second from one Python thread, one operation per call and per commit, "
        f"{payload['n'] // 1000}k operations per row (a row stops after {payload['limit']:.0f} s and then "
        "shows how many it did). Durability matched: no engine fsyncs per commit; each survives a "
        "process crash. `cache` = `Strata.cache()`, sqlite `:memory:`, lmdb/rocksdict on tmpfs.",
    ]), ""]
    head = ["mode", "op"] + [names[e] for e in engines] + (["ours / 0.14.5"] if "published" in engines else [])
    table = []
    for mode in MODES:
        for op in OPS:
            table.append([mode, op] + [cell(e, mode, op) for e in engines]
                         + ([ratio(mode, op)] if "published" in engines else []))
    out.append(common.md_table(head, table))
    growth = [r for r in rows if r["op"] == "event_growth" and "ops_per_s" in r]
    if growth:
        out.append("\nevent_append rate (on disk) as the log grows; each row is one window of appends "
                   "starting at that log length:\n")
        gt = []
        for e in ("strata", "published"):
            for r in growth:
                if r["engine"] == e:
                    cpu = f"{r['thread_cpu_us']:.1f}" if "thread_cpu_us" in r else "-"
                    gt.append([names[e], f"{r['log_len']:,}", f"{r['n']:,}", common.fmt_rate(r["ops_per_s"]), cpu])
        out.append(common.md_table(
            ["engine", "log length", "window", "appends/s", "CPU µs per append (appending thread)"], gt))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", default="strata,published,sqlite,lmdb,rocksdict")
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--limit", type=float, default=30.0, help="seconds per row at most")
    ap.add_argument("--growth", type=int, default=1_000_000, help="event log growth target (ours)")
    ap.add_argument("--published-growth", type=int, default=30_000)
    ap.add_argument("--published-python", default=str(common.BENCH / ".venv-published/bin/python"))
    ap.add_argument("--child-json", help="(internal) run the engines and print rows as JSON")
    args = ap.parse_args()
    engines = [e for e in args.engines.split(",") if e]

    if args.child_json:
        rows = []
        for e in engines:
            rows += run_engine(e, args.n, args.limit, args.published_growth if e == "published" else args.growth)
        Path(args.child_json).write_text(json.dumps(rows))
        return

    load_start = common.load_average()
    common.log(f"sdk suite: load average {load_start}")
    rows: List[Dict[str, Any]] = []
    for e in engines:
        if e == "published":
            out = common.WORK / "published-rows.json"
            common.WORK.mkdir(parents=True, exist_ok=True)
            cmd = [args.published_python, __file__, "--engines", "published", "-n", str(args.n),
                   "--limit", str(args.limit), "--published-growth", str(args.published_growth),
                   "--child-json", str(out)]
            common.log("  running the published package in", args.published_python)
            subprocess.run(cmd, check=True)
            rows += json.loads(out.read_text())
        else:
            rows += run_engine(e, args.n, args.limit, args.growth if e == "strata" else 0)
    payload = {"suite": "sdk", "n": args.n, "limit": args.limit, "load_start": load_start,
               "load_end": common.load_average(), "machine": common.machine(),
               "commit": common.git_rev(), "rows": rows}
    md = markdown(payload, "cargo xtask bench sdk")
    common.write_results("sdk", payload, md)
    print(md)


if __name__ == "__main__":
    main()
