"""kv_put or kv_get alone from Python, with the CPU time per call, for A/B runs of two
wheels (`bench/.venv` against another venv): 100k `kv_put` of 100-byte strings on a
fresh database, then, for `get`, 100k `kv_get` of those keys in the benchmark's
shuffled order (three passes; the rate is over all of them).

Usage: python bench/kv_loop.py put|get cache|disk   (with the stratadb wheel under test
installed). Prints `<rate>k/s cpu <µs>us` (CPU of the whole process, background
threads included).
"""
import random
import shutil
import sys
import tempfile
import time

from stratadb import Strata

op, mode = sys.argv[1], sys.argv[2]
path = None if mode == "cache" else tempfile.mkdtemp()
db = Strata.cache() if path is None else Strata.open(path)
N = 100_000
keys = [f"key-{i:08d}" for i in range(N)]
vals = [f"value-{i:08d}-" + "x" * 85 for i in range(N)]
order = list(range(N))
random.Random(42).shuffle(order)


def puts() -> None:
    put = db.kv_put
    for i in range(N):
        put(keys[i], vals[i])


def gets() -> None:
    get = db.kv_get
    for _ in range(3):
        for i in order:
            get(keys[i])


if op == "get":
    puts()
loop, calls = (puts, N) if op == "put" else (gets, 3 * N)
c, t = time.process_time(), time.perf_counter()
loop()
wall, cpu = time.perf_counter() - t, time.process_time() - c
print(f"{op} {mode} {calls / wall / 1000:.0f}k/s cpu {cpu * 1e6 / calls:.2f}us")
db.close()
if path is not None:
    shutil.rmtree(path)
