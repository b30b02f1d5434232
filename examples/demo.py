"""StrataDB demo: every primitive, then close, reopen and check it all survived.

Writes KV values of every type, a state cell, events, a JSON document and vectors;
runs a search, a vector search, a transaction and a branch fork + merge; closes the
database, reopens it and reads everything back.

Run it with `cargo xtask demo` (which builds and installs the package first), or with
`python examples/demo.py [DIR]` once `stratadb` is installed. Without DIR the database
lives in a temporary directory that is removed afterwards.
"""

import math
import sys
import tempfile
from pathlib import Path
from typing import Dict

import numpy as np

from stratadb import Strata
from stratadb.types import Value

VALUES: Dict[str, Value] = {
    "greeting": "Hello, World!",
    "user:123": {"name": "Alice", "age": 30, "tags": ["admin", "ops"]},
    "counter": 42,
    "ratio": 0.75,
    "flag": True,
    "nothing": None,
    "blob": b"\x00\x01binary\xff",
    "not-a-number": math.nan,
}

DOC: Dict[str, Value] = {"service": "checkout", "status": "degraded", "replicas": 3}
EMBEDDINGS = {
    "doc-1": np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32),
    "doc-2": np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32),
    "doc-3": np.array([0.7, 0.7, 0.0, 0.0], dtype=np.float32),
}


def same(got: object, expected: object) -> bool:
    if isinstance(got, float) and isinstance(expected, float):
        return got == expected or (math.isnan(got) and math.isnan(expected))
    return got == expected


def check(what: str, got: object, expected: object) -> None:
    if not same(got, expected):
        raise SystemExit(f"MISMATCH for {what}: expected {expected!r}, read {got!r}")
    print(f"  {what:28} -> {got!r}")


def write(path: Path) -> None:
    with Strata.open(path) as db:
        print("KV")
        for key, value in VALUES.items():
            print(f"  put {key!r:16} -> version {db.kv_put(key, value)}")
        print("state cell")
        db.state_init("deploys", 0)
        cell = db.state_get_versioned("deploys")
        assert cell is not None
        print(f"  cas deploys 0 -> 1          -> version {db.state_cas('deploys', 1, cell['version'])}")
        print("event log")
        for action in ("build", "deploy", "rollback"):
            print(f"  append {action:20} -> sequence {db.event_append('ops', {'action': action})}")
        print("JSON")
        db.json_set("svc:checkout", "$", DOC)
        db.json_set("svc:checkout", "$.status", "healthy")
        print(f"  svc:checkout               -> {db.json_get('svc:checkout', '$')}")
        print("vectors")
        db.vector_create_collection("docs", 4)
        for key, emb in EMBEDDINGS.items():
            db.vector_upsert("docs", key, emb, {"title": key})
        hits = db.vector_search("docs", EMBEDDINGS["doc-1"], k=2)
        print(f"  nearest to doc-1           -> {[(h['key'], round(h['score'], 3)) for h in hits]}")
        print("search")
        for hit in db.search("checkout healthy", k=3):
            print(f"  #{hit['rank']} {hit['primitive']:6} {hit['entity']:20} {hit['snippet'][:40]!r}")
        print("transaction")
        with db.transaction():
            db.kv_put("tx:a", 1)
            db.kv_put("tx:b", 2)
        print(f"  committed tx:a, tx:b       -> {db.kv_get('tx:a')}, {db.kv_get('tx:b')}")
        print("branches")
        fork = db.fork_branch("experiment")
        db.set_branch("experiment")
        db.kv_put("greeting", "Hola, Mundo!")
        db.set_branch("default")
        diff = db.diff_branches("default", "experiment")
        merged = db.merge_branches("experiment")
        print(f"  forked {fork['keys_copied']} keys, diff {diff['summary']}, merged {merged['keys_applied']}")
    print("closed; reopening")


def read_back(path: Path) -> None:
    with Strata.open(path) as db:
        for key, expected in VALUES.items():
            check(f"kv {key}", db.kv_get(key), "Hola, Mundo!" if key == "greeting" else expected)
        check("kv missing", db.kv_get("missing"), None)
        check("state deploys", db.state_get("deploys"), 1)
        check("events", [e["value"]["action"] for e in db.event_list("ops")], ["build", "deploy", "rollback"])
        check("json svc:checkout $.status", db.json_get("svc:checkout", "$.status"), "healthy")
        entry = db.vector_get("docs", "doc-3")
        assert entry is not None
        check("vector doc-3", entry["embedding"].tolist(), EMBEDDINGS["doc-3"].tolist())
        check("transaction tx:b", db.kv_get("tx:b"), 2)
        check("branches", db.list_branches(), ["default", "experiment"])
        check("search finds checkout", [h["entity"] for h in db.search("checkout", k=1)], ["svc:checkout"])
    print("everything survived the reopen")


def run(directory: Path) -> None:
    path = directory / "demo-db"
    print(f"opening {path}")
    write(path)
    read_back(path)


def main() -> None:
    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
        target.mkdir(parents=True, exist_ok=True)
        run(target)
    else:
        with tempfile.TemporaryDirectory(prefix="strata-demo-") as tmp:
            run(Path(tmp))


if __name__ == "__main__":
    main()
