"""kv_put then root json_set from Python, as the SDK benchmark's rows do them, on a
fresh database: 100k `kv_put` of 100-byte strings, then 100k `json_set(key, "$", doc)`.

Usage: python bench/put_json_loop.py [cache|disk]   (default cache; with the stratadb
wheel under test installed). Prints operations per second of each.
"""
import shutil
import sys
import tempfile
import time

from stratadb import Strata

mode = sys.argv[1] if len(sys.argv) > 1 else "cache"
path = None if mode == "cache" else tempfile.mkdtemp()
db = Strata.cache() if path is None else Strata.open(path)
N = 100_000
keys = [f"key-{i:08d}" for i in range(N)]
vals = [f"value-{i:08d}-" + "x" * 85 for i in range(N)]


def rate(loop) -> float:
    t = time.perf_counter()
    loop()
    return N / (time.perf_counter() - t) / 1000


def puts() -> None:
    for i in range(N):
        db.kv_put(keys[i], vals[i])


def docs() -> None:
    for i in range(N):
        db.json_set(keys[i], "$", {"name": f"user-{i}", "age": i % 90, "tags": ["a", "b"], "active": True})


print(f"{mode} kv_put {rate(puts):.0f}k json_set {rate(docs):.0f}k")
db.close()
if path is not None:
    shutil.rmtree(path)
