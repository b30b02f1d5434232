"""Reference sections "Opening a Database" and "Database Operations": open, cache,
ping, info, flush, compact, time_range; the Quick Start run verbatim."""

import os
import re

import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
import stratadb
from stratadb import NotFoundError, Strata
from conftest import run_python

QUICK_START = '''
from stratadb import Strata

# Open a database
db = Strata.open("/path/to/data")

# Store and retrieve data
db.kv_put("greeting", "Hello, World!")
print(db.kv_get("greeting"))  # "Hello, World!"

# Use transactions
with db.transaction():
    db.kv_put("a", 1)
    db.kv_put("b", 2)
# Auto-commits on success, auto-rollbacks on exception

# Use vector search with NumPy
import numpy as np
embedding = np.random.rand(384).astype(np.float32)
db.vector_create_collection("docs", 384)
db.vector_upsert("docs", "doc-1", embedding)
results = db.vector_search("docs", embedding, k=5)
'''


def test_quick_start_verbatim(tmp_path):
    """The reference's Quick Start, unchanged except for the path, in a fresh process;
    then the data is checked from a second process."""
    data = tmp_path / "data"
    code = QUICK_START.replace("/path/to/data", str(data))
    code += "\nassert [r['key'] for r in results] == ['doc-1'], results\n"
    code += "assert abs(results[0]['score'] - 1.0) < 1e-5, results\n"
    proc = run_python(code, timeout=120)
    assert proc.stdout == "Hello, World!\n"
    check = f"""
        from stratadb import Strata
        db = Strata.open({str(data)!r})
        assert db.kv_get("greeting") == "Hello, World!"
        assert (db.kv_get("a"), db.kv_get("b")) == (1, 2)
        assert db.vector_get("docs", "doc-1")["embedding"].shape == (384,)
        print("ok")
    """
    assert run_python(check).stdout == "ok\n"


# ----------------------------------------------------------------- open / cache


def test_example_open(db_path):
    db = Strata.open(db_path)
    assert isinstance(db, Strata)
    db.kv_put("k", 1)
    db.close()
    db = Strata.open(db_path)
    assert db.kv_get("k") == 1
    db.close()


def test_open_failure_is_runtime_error(tmp_path):
    with pytest.raises(RuntimeError) as info:
        Strata.open(str(tmp_path / "missing-parent" / "db"))
    assert isinstance(info.value, NotFoundError)
    assert "missing-parent" in str(info.value)


def test_example_cache():
    db = Strata.cache()
    assert isinstance(db, Strata)
    db.kv_put("k", 1)
    other = Strata.cache()
    assert other.kv_get("k") is None  # every cache is its own database
    db.close()
    other.close()


def test_everything_persists_across_reopen(db_path):
    db = Strata.open(db_path)
    H.populate(db)
    before = H.db_state(db)
    db.close()
    db = Strata.open(db_path)
    try:
        assert H.db_state(db) == before
    finally:
        db.close()


# ----------------------------------------------------------------- operations


def test_example_ping(db):
    version = db.ping()
    assert isinstance(version, str) and version
    assert version == stratadb.__version__ or re.match(r"^\d+\.\d+", version)


def test_example_info(db, capsys):
    db.kv_put("a", 1)
    db.kv_put("b", 2)
    info = db.info()
    print(f"Version: {info['version']}")
    print(f"Total keys: {info['total_keys']}")
    out = capsys.readouterr().out
    assert out == f"Version: {info['version']}\nTotal keys: {info['total_keys']}\n"
    assert set(info) >= {"version", "uptime_secs", "branch_count", "total_keys"}
    assert info["branch_count"] == 1
    assert info["total_keys"] >= 2
    assert type(info["uptime_secs"]) is int and 0 <= info["uptime_secs"] < 3600


def test_info_counts_follow_data(db):
    base = db.info()["total_keys"]
    db.kv_put("a", 1)
    db.kv_put("b", 1)
    assert db.info()["total_keys"] == base + 2
    db.kv_delete("a")
    assert db.info()["total_keys"] == base + 1
    db.create_branch("x")
    assert db.info()["branch_count"] == 2


def test_example_flush_and_compact(db_path):
    db = Strata.open(db_path, durability="none")
    for i in range(50):
        db.kv_put(f"k{i}", i)
    for i in range(25):
        db.kv_delete(f"k{i}")
    assert db.flush() is None
    assert db.compact() is None
    assert db.kv_list() == sorted(f"k{i}" for i in range(25, 50))
    assert db.kv_get("k30") == 30
    # history survives compaction: time travel still answers
    assert db.kv_history("k3") is not None
    db.close()
    db = Strata.open(db_path)
    assert db.kv_get("k49") == 49
    db.close()


def test_example_time_range(db, capsys):
    assert db.time_range() is None
    db.kv_put("a", 1)
    t1 = db.kv_get_versioned("a")["timestamp"]
    db.kv_put("b", 2)
    t2 = db.kv_get_versioned("b")["timestamp"]
    result = db.time_range()
    if result:
        print(f"Data from {result['oldest_ts']} to {result['latest_ts']}")
    assert capsys.readouterr().out == f"Data from {t1} to {t2}\n"
    assert db.time_range("default") == result


def test_time_range_per_branch(db):
    db.kv_put("a", 1)
    db.create_branch("empty")
    assert db.time_range("empty") is None
    db.set_branch("empty")
    assert db.time_range() is None
    db.kv_put("x", 1)
    t = db.kv_get_versioned("x")["timestamp"]
    assert db.time_range() == {"oldest_ts": t, "latest_ts": t}
    with H.raises(NotFoundError, "ghost"):
        db.time_range("ghost")


def test_close_is_idempotent_and_closes_every_method(db):
    db.close()
    db.close()
    with pytest.raises(stratadb.ClosedError):
        db.ping()
    with pytest.raises(stratadb.ClosedError):
        db.info()
