"""Reference section "Vector Store": collections, upsert/get/delete, search (metrics,
filters, as_of), stats, batch upsert, code examples, transactions, branches, spaces."""

import math

import numpy as np
import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
from stratadb import InvalidInputError, NotFoundError, StrataError

P = H.PRIMS["vector"]
COLLECTION_FIELDS = {"name", "dimension", "metric", "count", "index_type", "memory_bytes"}


def coll(db, name):
    found = [c for c in db.vector_list_collections() if c["name"] == name]
    assert len(found) == 1, found
    return found[0]


# ----------------------------------------------------------------- code examples


def test_example_create_collection(db):
    v1 = db.vector_create_collection("embeddings", 384)
    v2 = db.vector_create_collection("images", 512, metric="euclidean")
    assert type(v1) is int and v2 > v1
    assert coll(db, "embeddings")["metric"] == "cosine"
    assert coll(db, "embeddings")["dimension"] == 384
    assert coll(db, "images")["metric"] == "euclidean"
    assert coll(db, "images")["dimension"] == 512


def test_example_delete_collection(db):
    db.vector_create_collection("embeddings", 4)
    deleted = db.vector_delete_collection("embeddings")
    assert deleted is True
    assert db.vector_list_collections() == []


def test_example_list_collections(db, capsys):
    db.vector_create_collection("a", 3)
    db.vector_upsert("a", "k1", [1.0, 0.0, 0.0])
    db.vector_upsert("a", "k2", [0.0, 1.0, 0.0])
    collections = db.vector_list_collections()
    for c in collections:
        print(f"{c['name']}: {c['count']} vectors")
    assert capsys.readouterr().out == "a: 2 vectors\n"
    assert set(collections[0]) >= COLLECTION_FIELDS


def test_example_upsert(db):
    db.vector_create_collection("embeddings", 384)
    embedding = np.random.rand(384).astype(np.float32)
    v1 = db.vector_upsert("embeddings", "doc-1", embedding, {"title": "Hello"})
    # Also accepts lists
    as_list = [0.1, 0.2, 0.3] + [0.0] * 381
    v2 = db.vector_upsert("embeddings", "doc-2", as_list)
    assert type(v1) is int and v2 > v1
    got = db.vector_get("embeddings", "doc-1")
    np.testing.assert_array_equal(got["embedding"], embedding)
    assert got["metadata"] == {"title": "Hello"}
    got2 = db.vector_get("embeddings", "doc-2")
    np.testing.assert_array_equal(got2["embedding"], np.array(as_list, dtype=np.float32))


def test_example_vector_get(db, capsys):
    db.vector_create_collection("embeddings", 3)
    db.vector_upsert("embeddings", "doc-1", [1.0, 2.0, 3.0], {"t": 1})
    result = db.vector_get("embeddings", "doc-1")
    if result:
        print(result["embedding"])  # NumPy array
        print(result["metadata"])
    assert capsys.readouterr().out == "[1. 2. 3.]\n{'t': 1}\n"


def test_example_vector_delete(db):
    db.vector_create_collection("embeddings", 3)
    db.vector_upsert("embeddings", "doc-1", [1.0, 2.0, 3.0])
    deleted = db.vector_delete("embeddings", "doc-1")
    assert deleted is True
    assert db.vector_get("embeddings", "doc-1") is None


def test_example_vector_search(db, capsys):
    db.vector_create_collection("embeddings", 384)
    rng = np.random.default_rng(1)
    for i in range(12):
        db.vector_upsert("embeddings", f"d{i}", rng.random(384, dtype=np.float32))
    query = np.random.rand(384).astype(np.float32)
    matches = db.vector_search("embeddings", query, k=10)
    for match in matches:
        print(f"{match['key']}: {match['score']}")
    assert len(capsys.readouterr().out.splitlines()) == 10
    # Spec ambiguity: at 1700002000 µs (1970) the collection did not exist yet. Either
    # an empty result or NotFoundError naming the collection is a fair answer.
    try:
        historical = db.vector_search("embeddings", query, k=10, as_of=1700002000)
    except NotFoundError as e:
        assert "embeddings" in str(e)
    else:
        assert historical == []


def test_example_vector_search_filtered(db):
    db.vector_create_collection("embeddings", 3)
    db.vector_upsert("embeddings", "s2021", [1.0, 0.0, 0.0], {"category": "science", "year": 2021})
    db.vector_upsert("embeddings", "s2019", [1.0, 0.1, 0.0], {"category": "science", "year": 2019})
    db.vector_upsert("embeddings", "a2022", [1.0, 0.0, 0.1], {"category": "art", "year": 2022})
    query = [1.0, 0.0, 0.0]
    matches = db.vector_search_filtered(
        "embeddings",
        query,
        k=10,
        metric="euclidean",
        filter=[
            {"field": "category", "op": "eq", "value": "science"},
            {"field": "year", "op": "gte", "value": 2020},
        ],
    )
    assert [m["key"] for m in matches] == ["s2021"]
    assert matches[0]["score"] == pytest.approx(0.0, abs=1e-6)  # -distance


def test_example_collection_stats(db, capsys):
    db.vector_create_collection("embeddings", 3)
    db.vector_upsert("embeddings", "a", [1.0, 2.0, 3.0])
    stats = db.vector_collection_stats("embeddings")
    print(f"Count: {stats['count']}, Memory: {stats['memory_bytes']} bytes")
    out = capsys.readouterr().out
    assert out.startswith("Count: 1, Memory: ")
    assert stats["dimension"] == 3 and stats["metric"] == "cosine"


def test_example_batch_upsert(db):
    db.vector_create_collection("embeddings", 3)
    vectors = [
        {"key": "doc-1", "vector": [0.1, 0.2, 0.3], "metadata": {"title": "A"}},
        {"key": "doc-2", "vector": [0.3, 0.4, 0.5]},
    ]
    versions = db.vector_batch_upsert("embeddings", vectors)
    assert isinstance(versions, list) and len(versions) == 2
    assert all(type(v) is int and v > 0 for v in versions)
    assert db.vector_get("embeddings", "doc-1")["metadata"] == {"title": "A"}
    assert db.vector_get("embeddings", "doc-2")["metadata"] is None
    assert db.vector_get("embeddings", "doc-1")["version"] == versions[0]


# ----------------------------------------------------------------- collections


def test_collection_listing_shape(db):
    db.vector_create_collection("c", 8, metric="dot_product")
    c = coll(db, "c")
    assert set(c) >= COLLECTION_FIELDS
    assert (c["name"], c["dimension"], c["metric"], c["count"]) == ("c", 8, "dot_product", 0)
    assert c["index_type"] in ("flat", "hnsw")
    assert type(c["memory_bytes"]) is int and c["memory_bytes"] >= 0
    assert db.vector_collection_stats("c")["name"] == "c"


def test_duplicate_collection_is_refused(db):
    db.vector_create_collection("c", 3)
    with H.raises(StrataError, "c"):
        db.vector_create_collection("c", 3)
    assert coll(db, "c")["dimension"] == 3


def test_delete_collection_removes_vectors(db):
    db.vector_create_collection("c", 3)
    db.vector_upsert("c", "a", [1.0, 0.0, 0.0])
    assert db.vector_delete_collection("c") is True
    assert db.vector_delete_collection("c") is False
    with H.raises(NotFoundError, "c"):
        db.vector_get("c", "a")
    db.vector_create_collection("c", 3)
    assert db.vector_get("c", "a") is None
    assert coll(db, "c")["count"] == 0


def test_count_follows_upserts_and_deletes(db):
    db.vector_create_collection("c", 3)
    db.vector_upsert("c", "a", [1.0, 0.0, 0.0])
    db.vector_upsert("c", "a", [0.0, 1.0, 0.0])  # replace, not add
    db.vector_upsert("c", "b", [0.0, 0.0, 1.0])
    assert db.vector_collection_stats("c")["count"] == 2
    assert db.vector_delete("c", "a") is True
    assert db.vector_delete("c", "a") is False
    assert db.vector_collection_stats("c")["count"] == 1


# ----------------------------------------------------------------- upsert / get


def test_get_shape(db):
    db.vector_create_collection("c", 4)
    before = H.now_us()
    v = db.vector_upsert("c", "k", np.array([1, 2, 3, 4], dtype=np.float32), {"a": [1, "x"]})
    got = db.vector_get("c", "k")
    assert set(got) >= {"key", "embedding", "metadata", "version", "timestamp"}
    assert got["key"] == "k"
    assert isinstance(got["embedding"], np.ndarray)
    assert got["embedding"].dtype == np.float32 and got["embedding"].shape == (4,)
    np.testing.assert_array_equal(got["embedding"], [1, 2, 3, 4])
    assert got["metadata"] == {"a": [1, "x"]}
    assert got["version"] == v
    assert got["timestamp"] >= before - 1_000_000


def test_upsert_replaces_embedding_and_metadata(db):
    db.vector_create_collection("c", 2)
    v1 = db.vector_upsert("c", "k", [1.0, 0.0], {"v": 1})
    v2 = db.vector_upsert("c", "k", [0.0, 1.0])
    got = db.vector_get("c", "k")
    assert v2 > v1
    np.testing.assert_array_equal(got["embedding"], [0.0, 1.0])
    assert got["metadata"] is None


def test_float64_and_int_inputs_are_converted(db):
    db.vector_create_collection("c", 3)
    db.vector_upsert("c", "f64", np.array([0.5, 1.5, 2.5], dtype=np.float64))
    db.vector_upsert("c", "ints", [1, 2, 3])
    np.testing.assert_array_equal(db.vector_get("c", "f64")["embedding"], [0.5, 1.5, 2.5])
    np.testing.assert_array_equal(db.vector_get("c", "ints")["embedding"], [1, 2, 3])


def test_missing_vector_is_none(db):
    H.check_missing(db, P)
    H.check_versioned_matches_write(db, P)


# ----------------------------------------------------------------- search


def test_search_cosine_scores_best_first(db):
    db.vector_create_collection("c", 3)
    db.vector_upsert("c", "x", [1.0, 0.0, 0.0], {"axis": "x"})
    db.vector_upsert("c", "xy", [1.0, 1.0, 0.0])
    db.vector_upsert("c", "y", [0.0, 2.0, 0.0])
    db.vector_upsert("c", "negx", [-1.0, 0.0, 0.0])
    res = db.vector_search("c", np.array([2.0, 0.0, 0.0], dtype=np.float32), k=4)
    assert [r["key"] for r in res] == ["x", "xy", "y", "negx"]
    assert [r["score"] for r in res] == pytest.approx([1.0, math.sqrt(0.5), 0.0, -1.0], abs=1e-5)
    assert set(res[0]) >= {"key", "score", "metadata"}
    assert res[0]["metadata"] == {"axis": "x"}
    assert res[1]["metadata"] is None


def test_search_euclidean_and_dot_product(db):
    db.vector_create_collection("e", 2, metric="euclidean")
    db.vector_create_collection("d", 2, metric="dot_product")
    for name in ("e", "d"):
        db.vector_upsert(name, "near", [1.0, 1.0])
        db.vector_upsert(name, "far", [4.0, 5.0])
    e = db.vector_search("e", [1.0, 2.0], k=2)
    assert [r["key"] for r in e] == ["near", "far"]
    assert [r["score"] for r in e] == pytest.approx([-1.0, -math.sqrt(18.0)], abs=1e-5)
    d = db.vector_search("d", [1.0, 2.0], k=2)
    assert [r["key"] for r in d] == ["far", "near"]
    assert [r["score"] for r in d] == pytest.approx([14.0, 3.0], abs=1e-5)


def test_search_k_bounds(db):
    db.vector_create_collection("c", 2)
    for i in range(5):
        db.vector_upsert("c", f"k{i}", [1.0, float(i)])
    assert len(db.vector_search("c", [1.0, 0.0], k=3)) == 3
    assert len(db.vector_search("c", [1.0, 0.0], k=50)) == 5
    db.vector_create_collection("empty", 2)
    assert db.vector_search("empty", [1.0, 0.0], k=3) == []


def test_search_does_not_return_deleted(db):
    db.vector_create_collection("c", 2)
    db.vector_upsert("c", "a", [1.0, 0.0])
    db.vector_upsert("c", "b", [0.0, 1.0])
    db.vector_delete("c", "a")
    assert [r["key"] for r in db.vector_search("c", [1.0, 0.0], k=5)] == ["b"]


def test_search_as_of(db):
    db.vector_create_collection("c", 2)
    db.vector_upsert("c", "a", [1.0, 0.0])
    t1 = db.vector_get("c", "a")["timestamp"]
    db.vector_upsert("c", "b", [1.0, 0.1])
    db.vector_upsert("c", "a", [0.0, 1.0])  # a moves away
    t3 = db.vector_get("c", "a")["timestamp"]
    db.vector_delete("c", "b")
    q = [1.0, 0.0]
    assert [r["key"] for r in db.vector_search("c", q, k=5, as_of=t1)] == ["a"]
    at3 = db.vector_search("c", q, k=5, as_of=t3)
    assert [r["key"] for r in at3] == ["b", "a"]
    assert [r["key"] for r in db.vector_search("c", q, k=5)] == ["a"]
    assert db.vector_search("c", q, k=5)[0]["score"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    "cond, expected",
    [
        ({"field": "cat", "op": "eq", "value": "sci"}, ["a", "c"]),
        ({"field": "cat", "op": "ne", "value": "sci"}, ["b", "d"]),  # d has no cat
        ({"field": "year", "op": "gt", "value": 2020}, ["c"]),
        ({"field": "year", "op": "gte", "value": 2020}, ["b", "c"]),
        ({"field": "year", "op": "lt", "value": 2020}, ["a"]),
        ({"field": "year", "op": "lte", "value": 2020}, ["a", "b"]),
        ({"field": "cat", "op": "in", "value": ["art", "x"]}, ["b"]),
        ({"field": "tags", "op": "contains", "value": "red"}, ["a", "b"]),
        ({"field": "title", "op": "contains", "value": "ell"}, ["c"]),
        ({"field": "nested.deep", "op": "eq", "value": 1}, ["d"]),
    ],
    ids=lambda x: x["op"] + ":" + x["field"] if isinstance(x, dict) else None,
)
def test_filter_operators(db, cond, expected):
    db.vector_create_collection("c", 2)
    db.vector_upsert("c", "a", [1.0, 0.0], {"cat": "sci", "year": 2019, "tags": ["red", "blue"]})
    db.vector_upsert("c", "b", [1.0, 0.1], {"cat": "art", "year": 2020, "tags": ["red"]})
    db.vector_upsert("c", "c", [1.0, 0.2], {"cat": "sci", "year": 2021.5, "title": "hello"})
    db.vector_upsert("c", "d", [1.0, 0.3], {"nested": {"deep": 1}})
    res = db.vector_search_filtered("c", [1.0, 0.0], k=10, filter=[cond])
    assert sorted(r["key"] for r in res) == expected


def test_filtered_search_metric_override_and_no_filter(db):
    db.vector_create_collection("c", 2)  # cosine
    db.vector_upsert("c", "short", [1.0, 0.0])
    db.vector_upsert("c", "long", [10.0, 0.5])
    cos = db.vector_search_filtered("c", [1.0, 0.0], k=2)
    assert [r["key"] for r in cos] == ["short", "long"]
    dot = db.vector_search_filtered("c", [1.0, 0.0], k=2, metric="dot_product")
    assert [r["key"] for r in dot] == ["long", "short"]
    assert dot[0]["score"] == pytest.approx(10.0, abs=1e-4)
    assert db.vector_search_filtered("c", [1.0, 0.0], k=2, filter=[]) == cos


def test_batch_upsert_is_one_commit(db):
    db.vector_create_collection("c", 2)
    items = [{"key": f"k{i}", "vector": np.array([1.0, i], dtype=np.float32)} for i in range(5)]
    versions = db.vector_batch_upsert("c", items)
    assert len(versions) == 5
    assert len(set(versions)) == 1
    assert db.vector_collection_stats("c")["count"] == 5


def test_batch_upsert_refuses_all_on_one_bad_item(db):
    db.vector_create_collection("c", 2)
    items = [{"key": "ok", "vector": [1.0, 0.0]}, {"key": "bad", "vector": [1.0, 0.0, 0.0]}]
    with H.raises(InvalidInputError, "dimension"):
        db.vector_batch_upsert("c", items)
    assert db.vector_get("c", "ok") is None


# ----------------------------------------------------------------- transactions


def test_transaction_commit(pair):
    H.check_txn_commit(*pair, P)


def test_transaction_rollback(pair):
    H.check_txn_rollback(*pair, P)


def test_transaction_context_manager(db):
    H.check_txn_context_manager(db, P)


def test_collection_created_in_rolled_back_transaction_is_gone(pair):
    a, b = pair
    a.begin()
    assert a.vector_create_collection("t", 2) == 0
    assert a.vector_upsert("t", "k", [1.0, 0.0]) == 0
    assert [c["name"] for c in b.vector_list_collections()] == []
    a.rollback()
    assert a.vector_list_collections() == []


def test_search_after_commit_sees_transaction_writes(pair):
    a, b = pair
    a.vector_create_collection("c", 2)
    with a.transaction():
        a.vector_upsert("c", "a", [1.0, 0.0])
        a.vector_upsert("c", "b", [0.0, 1.0])
    assert [r["key"] for r in b.vector_search("c", [1.0, 0.0], k=2)] == ["a", "b"]


# ----------------------------------------------------------------- branches and spaces


def test_branch_isolation(db):
    H.check_branch_isolation(db, P)


def test_fork_isolation(db):
    H.check_fork_isolation(db, P)


def test_space_isolation(db):
    H.check_space_isolation(db, P)


def test_collections_and_search_are_scoped(db):
    db.vector_create_collection("c", 2)
    db.vector_upsert("c", "main", [1.0, 0.0])
    db.fork_branch("f")
    db.set_branch("f")
    db.vector_upsert("c", "fork-only", [1.0, 0.01])
    db.vector_create_collection("f-only", 2)
    assert [r["key"] for r in db.vector_search("c", [1.0, 0.0], k=5)] == ["main", "fork-only"]
    db.set_branch("default")
    assert [r["key"] for r in db.vector_search("c", [1.0, 0.0], k=5)] == ["main"]
    assert [c["name"] for c in db.vector_list_collections()] == ["c"]
    db.set_space("s")
    assert db.vector_list_collections() == []
    with H.raises(NotFoundError, "c"):
        db.vector_search("c", [1.0, 0.0], k=1)
