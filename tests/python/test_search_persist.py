"""The keyword index survives close and reopen through the Python API: close() and
flush() write its dump under <db>/search-index, a reopened database answers the same
searches (including writes and deletes made after a flush), and a damaged dump is
rebuilt instead of trusted. Embeddings are reused after reopen only for a model that
reproduces them."""

import glob
import os

import numpy as np

from stratadb import Strata

WORDS = ["deploy", "rollback", "kernel", "panic", "latency", "outage", "disk", "cache"]


def fill(db, n=300):
    for i in range(n):
        words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(5 + i % 4)]
        db.kv_put(f"doc-{i}", " ".join(words))
    db.json_set("incident", "$", {"title": "walrus outage", "owner": "ops"})
    db.event_append("alert", {"msg": "walrus sighting"})


def answers(db):
    return [
        [(h["entity"], h["primitive"], h["rank"], h["snippet"]) for h in db.search(q, k=15, mode="keyword")]
        for q in ["deploy rollback", "kernel panic", "walrus", "disk cache latency", "zebra"]
    ]


def dump_files(path):
    return glob.glob(os.path.join(path, "search-index", "b*", "*.kwix"))


def test_reopen_serves_the_same_results_and_later_writes(db_path):
    with Strata.open(db_path) as db:
        fill(db)
        first = answers(db)
    assert len(dump_files(db_path)) == 1
    with Strata.open(db_path) as db:
        assert answers(db) == first
        db.flush()
        db.kv_put("doc-1", "zebra crossing")
        db.kv_delete("doc-2")
        expected = answers(db)
    assert [e for e, *_ in expected[4]] == ["doc-1"]
    with Strata.open(db_path) as db:
        assert answers(db) == expected
        assert "doc-2" not in {e for q in answers(db) for e, *_ in q}


def test_a_corrupted_dump_is_rebuilt(db_path):
    with Strata.open(db_path) as db:
        fill(db)
        first = answers(db)
    (path,) = dump_files(db_path)
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    with Strata.open(db_path) as db:
        assert answers(db) == first


def test_branches_and_spaces_stay_apart_after_reopen(db_path):
    with Strata.open(db_path) as db:
        db.kv_put("k", "aardvark on default")
        db.create_branch("feature")
        db.set_branch("feature")
        db.kv_put("k", "bison on feature")
        db.set_space("ops")
        db.kv_put("k", "chameleon on feature ops")
        for b, s in [("default", "default"), ("feature", "default"), ("feature", "ops")]:
            db.set_branch(b)
            db.set_space(s)
            db.search("anything", k=1)
    with Strata.open(db_path) as db:
        for b, s, word in [
            ("default", "default", "aardvark"),
            ("feature", "default", "bison"),
            ("feature", "ops", "chameleon"),
        ]:
            db.set_branch(b)
            db.set_space(s)
            for other in ["aardvark", "bison", "chameleon"]:
                hits = db.search(other, k=5, mode="keyword")
                assert [h["entity"] for h in hits] == (["k"] if other == word else []), (b, s, other)


class Counting:
    def __init__(self, seed):
        self.seed = seed
        self.embedded = 0

    def __call__(self, texts):
        self.embedded += len(texts)
        out = np.zeros((len(texts), 8), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.split():
                out[i, (hash(w) + self.seed) % 8] += 1.0
        return out


def test_embeddings_are_reused_for_the_same_model(db_path):
    with Strata.open(db_path) as db:
        fill(db, 100)
        model = Counting(1)
        db.configure_model(embed=model)
        before = db.search("kernel panic", k=5)
        assert model.embedded == 102 + 1
    with Strata.open(db_path) as db:
        model = Counting(1)
        db.configure_model(embed=model)
        assert db.search("kernel panic", k=5) == before
        assert model.embedded == 3 + 1  # three probe documents and the query
    with Strata.open(db_path) as db:
        model = Counting(5)
        db.configure_model(embed=model)
        db.search("kernel panic", k=5)
        assert model.embedded == 3 + 102 + 1  # another model: everything again
