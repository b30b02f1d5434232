"""The README-variant spec's names and keywords: each works and does what the reference
method does (where the two disagree, the reference's semantics win)."""

import numpy as np
import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
from stratadb import NotFoundError, StrataError


def twin_dbs():
    from stratadb import Strata

    return Strata.cache(), Strata.cache()


# ----------------------------------------------------------------- branches


def test_branch_create_list_exists_delete(db):
    db.branch_create("a")
    assert db.branch_exists("a")
    assert db.branch_list() == db.list_branches()
    assert sorted(db.branch_list()) == ["a", "default"]
    db.branch_delete("a")
    assert not db.branch_exists("a")
    assert db.branch_list() == ["default"]
    with H.raises(NotFoundError, "a"):
        db.branch_delete("a")
    with H.raises(StrataError, "default"):
        db.branch_create("default")


def test_branch_use_is_set_branch(db):
    db.branch_create("b")
    db.branch_use("b")
    assert db.current_branch() == "b"
    db.kv_put("k", 1)
    db.branch_use("default")
    assert db.kv_get("k") is None
    with H.raises(NotFoundError, "ghost"):
        db.branch_use("ghost")
    assert db.current_branch() == "default"


def test_branch_fork_from_any_source(db):
    db.create_branch("src")
    db.set_branch("src")
    db.kv_put("k", "from-src")
    db.set_branch("default")
    db.kv_put("k", "from-default")
    result = db.branch_fork("src", "copy")  # source is not the current branch
    assert result["source"] == "src" and result["destination"] == "copy"
    assert result["keys_copied"] == 1
    assert db.current_branch() == "default"
    db.set_branch("copy")
    assert db.kv_get("k") == "from-src"


def test_branch_fork_matches_fork_branch():
    a, b = twin_dbs()
    for db in (a, b):
        db.kv_put("x", 1)
        db.kv_put("y", 2)
    ra = a.fork_branch("f")
    rb = b.branch_fork("default", "f")
    assert ra == rb
    a.close()
    b.close()


def test_branch_diff_matches_diff_branches(db):
    db.kv_put("base", 1)
    db.fork_branch("f")
    db.set_branch("f")
    db.kv_put("new", 1)
    db.set_branch("default")
    assert db.branch_diff("default", "f") == db.diff_branches("default", "f")
    assert db.branch_diff("default", "f")["summary"]["total_added"] == 1


def test_branch_merge_into_named_target(db):
    db.kv_put("base", 1)
    db.fork_branch("target")
    db.fork_branch("source")
    db.set_branch("source")
    db.kv_put("from-source", 1)
    db.set_branch("default")  # neither source nor target is current
    result = db.branch_merge("source", "target")
    assert result["keys_applied"] == 1
    assert db.kv_get("from-source") is None  # default untouched
    db.set_branch("target")
    assert db.kv_get("from-source") == 1


def test_branch_merge_strategy_matches_merge_branches():
    a, b = twin_dbs()
    for db in (a, b):
        db.kv_put("k", "base")
        db.fork_branch("f")
        db.kv_put("k", "main")
        db.set_branch("f")
        db.kv_put("k", "fork")
        db.set_branch("default")
    with H.raises(StrataError, "k"):
        a.merge_branches("f", strategy="strict")
    with H.raises(StrataError, "k"):
        b.branch_merge("f", "default", strategy="strict")
    assert a.kv_get("k") == b.kv_get("k") == "main"
    ra = a.merge_branches("f", strategy="last_writer_wins")
    rb = b.branch_merge("f", "default", "last_writer_wins")
    assert ra["keys_applied"] == rb["keys_applied"]
    assert a.kv_get("k") == b.kv_get("k") == "fork"
    a.close()
    b.close()


def test_branch_get_and_export_import_names(db, tmp_path):
    db.branch_create("b")
    assert db.branch_get("b")["created_at"] > 0
    db.branch_use("b")
    db.kv_put("k", 1)
    db.branch_use("default")
    path = str(tmp_path / "b.bundle")
    assert db.branch_export("b", path)["entry_count"] >= 1
    db.branch_delete("b")
    assert db.branch_import(path)["branch_id"] == "b"


# ----------------------------------------------------------------- spaces


def test_space_aliases(db):
    db.space_create("s")
    assert db.space_list() == db.list_spaces()
    assert sorted(db.space_list()) == ["default", "s"]
    db.space_use("s")
    assert db.current_space() == "s"
    db.kv_put("k", 1)
    db.space_use("default")
    assert db.kv_get("k") is None
    with H.raises(StrataError, "s"):
        db.space_delete("s")  # not empty: refused like delete_space
    db.space_use("s")
    db.kv_delete("k")
    db.space_use("default")
    db.space_delete("s")
    assert not db.space_exists("s")
    with H.raises(NotFoundError, "s"):
        db.space_delete("s")


# ----------------------------------------------------------------- transactions


def test_in_transaction_is_txn_is_active(db):
    assert db.in_transaction() is False
    db.begin()
    assert db.in_transaction() is True
    assert db.in_transaction() == db.txn_is_active()
    db.rollback()
    assert db.in_transaction() is False
    with db.transaction():
        assert db.in_transaction() is True


# ----------------------------------------------------------------- state


def test_state_cas_expected_keyword(db):
    v1 = db.state_set("c", 1)
    assert db.state_cas("c", 2, expected=v1 + 1000) is None
    v2 = db.state_cas("c", 2, expected=v1)
    assert type(v2) is int and v2 > v1
    assert db.state_get("c") == 2
    # same semantics as expected_version=
    assert db.state_cas("c", 3, expected=v1) is None
    assert db.state_cas("c", 3, expected_version=v2) is not None
    assert db.state_cas("fresh", "x", expected=None) is not None


def test_variant_state_example(db, capsys):
    # Verbatim from the variant. Its `expected=current` passes the value, not a version:
    # with the reference's semantics the CAS mismatches and returns None (no raise).
    db.state_init("counter", 0)
    current = db.state_get("counter")
    try:
        result = db.state_cas("counter", current + 1, expected=current)
    except RuntimeError:
        print("Concurrent modification!")
        result = "raised"
    assert result is None
    assert db.state_get("counter") == 0
    assert capsys.readouterr().out == ""


# ----------------------------------------------------------------- events


def test_event_list_limit_after_match_paginated(db):
    for i in range(6):
        db.event_append("t", {"i": i})
    for kwargs in ({"limit": 2}, {"after": 3}, {"limit": 2, "after": 1}, {}):
        assert db.event_list("t", **kwargs) == db.event_list_paginated("t", **kwargs)
    assert [e["value"]["i"] for e in db.event_list("t", limit=2, after=1)] == [2, 3]


def test_variant_event_example(db, capsys):
    seq = db.event_append("user_action", {"action": "click", "target": "button"})
    for event in db.event_list("user_action", limit=10):
        print(f"[{event['timestamp']}] {event['value']}")
    ts = db.event_get(seq)["timestamp"]
    assert capsys.readouterr().out == f"[{ts}] {{'action': 'click', 'target': 'button'}}\n"


# ----------------------------------------------------------------- json


def test_json_list_variant_keywords(db):
    for k in ("user:1", "user:2", "org:1"):
        db.json_set(k, "$", {})
    result = db.json_list(prefix="user:", limit=10)
    assert result == db.json_list(10, prefix="user:")
    assert result["keys"] == ["user:1", "user:2"]


def test_variant_json_example(db):
    db.json_set("config", "$", {"debug": True, "timeout": 30})
    db.json_set("config", "$.timeout", 60)
    timeout = db.json_get("config", "$.timeout")
    assert timeout == 60


def test_variant_kv_example(db, capsys):
    db.kv_put("user:123", {"name": "Alice", "age": 30})
    result = db.kv_get_versioned("user:123")
    print(f"v{result['version']}: {result['value']}")
    result = db.kv_list_paginated(prefix="user:", limit=100)
    for key in result["keys"]:
        print(key)
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(": {'name': 'Alice', 'age': 30}")
    assert out[1:] == ["user:123"]
    # positional form of the variant's table: (prefix, limit, cursor)
    assert db.kv_list_paginated("user:", 100, None) == result


# ----------------------------------------------------------------- vectors


def setup_vectors(db):
    db.vector_create_collection("docs", 3)
    db.vector_upsert("docs", "sci", [1.0, 0.0, 0.0], {"category": "science"})
    db.vector_upsert("docs", "art", [1.0, 0.1, 0.0], {"category": "art"})
    db.vector_upsert("docs", "far", [-1.0, 0.0, 0.0], {"category": "science"})


def test_vector_search_filters_keyword(db):
    setup_vectors(db)
    query_embedding = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    results = db.vector_search(
        "docs",
        query_embedding,
        k=10,
        filters=[{"field": "category", "op": "eq", "value": "science"}],
    )
    assert [r["key"] for r in results] == ["sci", "far"]
    assert results == db.vector_search_filtered(
        "docs", query_embedding, k=10, filter=[{"field": "category", "op": "eq", "value": "science"}]
    )


def test_vector_search_metric_keyword(db):
    setup_vectors(db)
    q = [2.0, 0.0, 0.0]
    got = db.vector_search("docs", q, 3, metric="dot_product")
    assert got == db.vector_search_filtered("docs", q, k=3, metric="dot_product")
    assert got[0]["score"] == pytest.approx(2.0, abs=1e-5)


def test_variant_positional_vector_calls(db):
    db.vector_create_collection("docs", 384, None)
    embedding = np.random.rand(384).astype(np.float32)
    db.vector_upsert("docs", "doc-1", embedding, {"title": "Hello"})
    assert db.vector_get("docs", "doc-1")["metadata"] == {"title": "Hello"}
    versions = db.vector_batch_upsert("docs", [{"key": "doc-2", "vector": embedding}])
    assert len(versions) == 1
    assert [r["key"] for r in db.vector_search("docs", embedding, 2)] == ["doc-1", "doc-2"] or \
        [r["key"] for r in db.vector_search("docs", embedding, 2)] == ["doc-2", "doc-1"]
    assert db.vector_delete("docs", "doc-2") is True
    assert db.vector_delete_collection("docs") is True


# ----------------------------------------------------------------- search and operations


def test_variant_search_example(db, capsys):
    db.kv_put("k", "hello world")
    db.json_set("d", "$", {"t": "hello world"})
    results = db.search("hello world", k=20, primitives=["kv", "json"])
    for hit in results:
        print(f"{hit['primitive']}/{hit['entity']}: {hit['snippet']}")
    out = sorted(capsys.readouterr().out.splitlines())
    assert len(out) == 2
    assert out[0].startswith("json/d: ") and out[1].startswith("kv/k: ")
    assert len(db.search("hello world")) == 2  # k defaults to 10


def test_variant_operations(db):
    assert isinstance(db.ping(), str)
    assert isinstance(db.info(), dict)
    assert db.flush() is None
    assert db.compact() is None
