"""Graph quality: StrataDB's HNSW graph against hnswlib's, walked
by one and the same search.

Builds the GloVe collection of the `vector` suite (50k x 50, cosine, M=16,
ef_construction=200) into StrataDB and into hnswlib, reads both graphs back from
their files (StrataDB's `flat` and `manifest` dump files, hnswlib's saved index),
and runs the same HNSW beam search, written here in Python, over each: recall@10
and distance evaluations per query at each ef. The walk is identical, so the
numbers compare the graphs alone: a graph that needs fewer evaluations at equal
recall is the better graph, whatever either library's search code costs.

Run after `cargo xtask bench vector` (which makes bench/.venv and the dataset):

    bench/.venv/bin/python bench/graph_quality.py [--queries 300]
"""

from __future__ import annotations

import argparse
import heapq
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import vector_bench  # noqa: E402

K = 10


def read_strata(coll_dir: Path):
    """Entry point and layers ({row: [rows]}) of a collection's dump, in data rows
    (the benchmark's keys are the rows' indices)."""
    b = (coll_dir / "flat").read_bytes()
    assert b[:8] == b"STRVFLAT", "not a flat graph file"
    o = 12
    (slots,) = struct.unpack_from("<Q", b, o)
    o += 8
    entry, n_layers = struct.unpack_from("<II", b, o)
    o += 8
    raw = []
    for layer in range(n_layers):
        (count,) = struct.unpack_from("<Q", b, o)
        o += 8
        members = None
        if layer > 0:
            members = np.frombuffer(b, "<u4", count, o)
            o += 4 * count
        offsets = np.frombuffer(b, "<u4", count + 1, o)
        o += 4 * (count + 1)
        (n,) = struct.unpack_from("<Q", b, o)
        o += 8
        ids = np.frombuffer(b, "<u4", n, o)
        o += 4 * n
        owner = range(count) if members is None else members.tolist()
        raw.append({int(p): ids[offsets[i]:offsets[i + 1]].tolist() for i, p in enumerate(owner)})
    # Manifest (see crates/strata-vector/src/dump.rs): magic, format, commit version,
    # metric, dim, slot count, checksums (three in format 2, one in format 3), entry
    # count, then the entries.
    m = (coll_dir / "manifest").read_bytes()
    (fmt,) = struct.unpack_from("<I", m, 8)
    o = 8 + 4 + 8 + 1 + 4 + 8 + (12 if fmt == 2 else 4)
    (n_entries,) = struct.unpack_from("<Q", m, o)
    o += 8
    row = np.full(slots, -1, dtype=np.int64)
    for _ in range(n_entries):
        pid, _version, key_len = struct.unpack_from("<IQI", m, o)
        o += 16
        row[pid] = int(m[o:o + key_len])
        o += key_len
    layers = [{int(row[p]): [int(row[q]) for q in qs] for p, qs in adj.items() if row[p] >= 0}
              for adj in raw]
    return int(row[entry]), layers


def read_hnswlib(path: Path):
    """Entry point and layers of an index saved by hnswlib 0.8 (`saveIndex`), in
    labels (the benchmark's labels are the rows' indices)."""
    b = path.read_bytes()
    off0, _max_el, cur, per_el, label_off, _data_off = struct.unpack_from("<6Q", b, 0)
    _max_level, ep = struct.unpack_from("<iI", b, 48)
    max_m, _max_m0, _m = struct.unpack_from("<3Q", b, 56)
    o = 56 + 24 + 8 + 8  # + mult (f64) + ef_construction (u64)
    level0 = b[o:o + cur * per_el]
    o += cur * per_el
    labels = [struct.unpack_from("<Q", level0, i * per_el + label_off)[0] for i in range(cur)]
    layers = [{}]
    for i in range(cur):
        base = i * per_el + off0
        c = struct.unpack_from("<H", level0, base)[0]
        layers[0][labels[i]] = [labels[j] for j in struct.unpack_from(f"<{c}I", level0, base + 4)]
    per_link = max_m * 4 + 4
    for i in range(cur):
        (size,) = struct.unpack_from("<I", b, o)
        o += 4
        for level in range(1, size // per_link + 1):
            while len(layers) <= level:
                layers.append({})
            base = o + (level - 1) * per_link
            c = struct.unpack_from("<H", b, base)[0]
            layers[level][labels[i]] = [labels[j] for j in struct.unpack_from(f"<{c}I", b, base + 4)]
        o += size
    return labels[ep], layers


def search(entry, layers, unit, q, ef):
    """HNSW search (greedy upper layers, beam of `ef` on layer 0, the usual early
    exit): the k best rows and the number of distances evaluated."""
    evals = 0

    def dist(i):
        nonlocal evals
        evals += 1
        return 1.0 - float(unit[i] @ q)

    ep, d_ep = entry, dist(entry)
    for layer in range(len(layers) - 1, 0, -1):
        moved = True
        while moved:
            moved = False
            for n in layers[layer].get(ep, ()):
                d = dist(n)
                if d < d_ep:
                    ep, d_ep, moved = n, d, True
    base = layers[0]
    visited = {ep}
    candidates = [(d_ep, ep)]
    results = [(-d_ep, ep)]
    while candidates:
        d_c, c = heapq.heappop(candidates)
        if len(results) >= ef and d_c > -results[0][0]:
            break
        fresh = [n for n in base.get(c, ()) if n not in visited]
        visited.update(fresh)
        if not fresh:
            continue
        evals += len(fresh)
        for n, d in zip(fresh, (1.0 - unit[fresh] @ q).tolist()):
            if len(results) < ef or d < -results[0][0]:
                heapq.heappush(candidates, (d, n))
                heapq.heappush(results, (-d, n))
                if len(results) > ef:
                    heapq.heappop(results)
    return [n for _, n in sorted((-a, n) for a, n in results)][:K], evals


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    import hnswlib
    from stratadb import Strata

    data, queries, gt = vector_bench.dataset("glove")
    work = common.WORK / "graph-quality"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = Strata.open(str(work / "db"))
    db.vector_create_collection("bench", data.shape[1], metric="cosine")
    for s in range(0, len(data), 5000):
        db.vector_batch_upsert("bench", [{"key": str(i), "vector": data[i]}
                                         for i in range(s, min(len(data), s + 5000))])
    db.vector_search("bench", queries[0], k=K)
    db.close()
    index = hnswlib.Index(space="cosine", dim=data.shape[1])
    index.init_index(max_elements=len(data), M=vector_bench.M,
                     ef_construction=vector_bench.EF_CONSTRUCTION, random_seed=1)
    index.add_items(data, np.arange(len(data)), num_threads=2)
    index.save_index(str(work / "hnswlib.bin"))
    coll = next((work / "db" / "vector-index").glob("*/*/*"))
    graphs = {"StrataDB": read_strata(coll), "hnswlib": read_hnswlib(work / "hnswlib.bin")}
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    qs = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    for name, (_, layers) in graphs.items():
        degree = np.mean([len(v) for v in layers[0].values()])
        print(f"{name}: {len(layers)} layers, mean layer-0 degree {degree:.1f}")
    print("\n| ef | graph | recall@10 | distance evaluations per query |\n|---|---|---|---|")
    for ef in [16, 32, 48, 64, 96, 128]:
        for name, (entry, layers) in graphs.items():
            hits = evals = 0
            for i in range(args.queries):
                found, e = search(entry, layers, unit, qs[i], ef)
                hits += len(set(found) & set(gt[i].tolist()))
                evals += e
            print(f"| {ef} | {name} | {hits / (args.queries * K):.3f} | {evals / args.queries:,.0f} |",
                  flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
