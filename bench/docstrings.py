"""A labelled retrieval set built from text that PyPI packages ship: docstrings.

No package on PyPI that we found ships a real labelled IR collection (BEIR,
ir_datasets and pyserini download theirs at run time; pyserini's Anserini jar carries
only configs). So this set is built, honestly and mechanically, from the docstrings
of public functions and classes in numpy and matplotlib (installed in bench/.venv):

- query = the docstring's one-line summary, written by the library's authors
  (e.g. "Compute the (multiplicative) inverse of a matrix.");
- document = the rest of the docstring (extended summary, parameters, notes),
  without the summary line and without the object's name, cut to 120 words;
- relevance: the document of the same object is relevant (grade 1), nothing else.

It is a known-item task (one relevant document per query): nDCG@10 is then a
position-discounted hit rate and recall@100 a hit rate. Its bias is that a summary
often reuses words of its own body, which favours keyword matching; near-duplicate
docstrings (aliases, inherited methods) are removed so that each query has exactly
one plausible answer.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
from typing import Dict, List, Tuple

MODULES = [
    "numpy", "numpy.linalg", "numpy.fft", "numpy.random", "numpy.ma", "numpy.polynomial",
    "numpy.strings", "numpy.lib.stride_tricks", "numpy.testing",
    "matplotlib.pyplot", "matplotlib.colors", "matplotlib.axes", "matplotlib.figure",
    "matplotlib.text", "matplotlib.patches", "matplotlib.lines", "matplotlib.ticker",
    "matplotlib.transforms", "matplotlib.dates", "matplotlib.cm", "matplotlib.path",
]
MAX_WORDS = 120


def _objects():
    seen = set()
    for modname in MODULES:
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        for name in sorted(dir(mod)):
            if name.startswith("_"):
                continue
            obj = getattr(mod, name, None)
            if obj is None or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{modname}.{name}", obj
            if inspect.isclass(obj):
                for mname, meth in sorted(vars(obj).items()):
                    if mname.startswith("_") or id(meth) in seen:
                        continue
                    seen.add(id(meth))
                    yield f"{modname}.{name}.{mname}", meth


def build() -> Tuple[Dict[str, str], Dict[str, str], Dict[str, Dict[str, int]]]:
    """(docs, queries, qrels): doc id -> text, query id -> text, query id -> {doc id: 1}."""
    docs: Dict[str, str] = {}
    queries: Dict[str, str] = {}
    seen_summary = set()
    seen_body = set()
    for qual, obj in _objects():
        doc = inspect.getdoc(obj) if not isinstance(obj, (int, float, str, bytes)) else None
        if not doc:
            continue
        lines = doc.strip().splitlines()
        # numpy puts a signature line first for ufuncs/C functions: skip lines with "(".
        while lines and re.match(r"^[\w.]+\(.*\)\s*$", lines[0].strip()):
            lines.pop(0)
        if not lines:
            continue
        summary = lines[0].strip()
        body = " ".join(l.strip() for l in lines[1:] if l.strip() and not set(l.strip()) <= set("-=~"))
        short = qual.rsplit(".", 1)[-1]
        body = re.sub(rf"\b{re.escape(short)}\b", " ", body)
        words = body.split()
        if len(summary.split()) < 4 or len(words) < 15:
            continue
        body = " ".join(words[:MAX_WORDS])
        ks = summary.lower()
        kb = hashlib.sha1(body.lower().encode()).hexdigest()
        if ks in seen_summary or kb in seen_body:
            continue
        seen_summary.add(ks)
        seen_body.add(kb)
        did = f"d{len(docs):05d}"
        docs[did] = body
        queries[f"q{len(queries):05d}"] = summary
    qrels = {q: {f"d{q[1:]}": 1} for q in queries}
    return docs, queries, qrels


if __name__ == "__main__":
    d, q, r = build()
    print(len(d), "documents,", len(q), "queries")
    for k in list(q)[:5]:
        print(q[k], "->", d[next(iter(r[k]))][:150])
    import statistics

    print("words/doc median", statistics.median(len(t.split()) for t in d.values()))
