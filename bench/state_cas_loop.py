"""state_cas alone from Python, as the SDK benchmark's row does it: 1,000 int-valued
cells (`state_init`), then N CAS round robin with `expected_version`, in memory.

Usage: python bench/state_cas_loop.py [N]   (default 300,000; with the stratadb wheel
under test installed). Prints CAS per second and the CPU time per CAS (of the whole
process, background threads included).
"""
import sys
import time

from stratadb import Strata

db = Strata.cache()
N = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
cells = [f"cell-{c}" for c in range(1000)]
vers = {c: db.state_init(c, 0) for c in cells}
cas = db.state_cas
c0 = time.process_time()
t = time.perf_counter()
for i in range(N):
    c = cells[i % 1000]
    v = cas(c, i, expected_version=vers[c])
    assert v is not None
    vers[c] = v
wall, cpu = time.perf_counter() - t, time.process_time() - c0
print(f"{N / wall / 1000:.0f}k/s cpu {cpu * 1e6 / N:.2f}us")
