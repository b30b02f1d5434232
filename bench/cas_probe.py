"""state_cas alone from Python: 1,000 dict-valued cells, 100k CAS round robin, CPU per CAS.

Usage: python bench/cas_probe.py LABEL   (with the stratadb wheel under test installed)
"""
import sys
import time

from stratadb import Strata

db = Strata.cache()
N = 100_000
cells = [f"cell-{c}" for c in range(1000)]
vers = {c: db.state_init(c, {"n": 0, "who": "agent", "tags": ["a", "b"]}) for c in cells}
cas = db.state_cas
t, cpu = time.perf_counter(), time.thread_time()
for i in range(N):
    c = cells[i % 1000]
    v = cas(c, {"n": i, "who": "agent", "tags": ["a", "b"]}, expected_version=vers[c])
    assert v is not None
    vers[c] = v
wall, cpu = time.perf_counter() - t, time.thread_time() - cpu
print(f"{sys.argv[1]} {N / wall:,.0f}/s {cpu * 1e6 / N:.2f} us CPU")
