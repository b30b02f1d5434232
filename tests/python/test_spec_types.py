"""Reference section "Type Reference": the value table through every primitive that
stores values, and NumPy support for vectors."""

import math

import numpy as np
import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
from stratadb import InvalidInputError, StrataError

VALUES = [
    None,
    True,
    False,
    0,
    2**63 - 1,
    -(2**63),
    1.25,
    math.inf,
    "",
    "ünïcödé 🚀",
    b"",
    b"\x00\xff",
    [],
    [1, "two", None, [3.5]],
    {},
    {"a": {"b": [True, b"\x01", None]}},
]


def same(a, b):
    assert a == b and type(a) is type(b), (a, b)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_value_table_kv_state_event(db, value):
    db.kv_put("k", value)
    same(db.kv_get("k"), value)
    same(db.kv_get_versioned("k")["value"], value)
    db.state_set("c", value)
    same(db.state_get("c"), value)
    seq = db.event_append("t", value)
    same(db.event_get(seq)["value"], value)
    same(db.kv_history("k")[0]["value"], value)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_value_table_json_and_metadata(db, value):
    db.json_set("d", "$", {"v": value})
    same(db.json_get("d", "$.v"), value)
    db.json_set("d", "$.w", value)
    same(db.json_get("d", "$")["w"], value)
    db.vector_create_collection("c", 2)
    db.vector_upsert("c", "x", [1.0, 0.0], {"v": value})
    same(db.vector_get("c", "x")["metadata"]["v"], value)
    same(db.vector_search("c", [1.0, 0.0], k=1)[0]["metadata"]["v"], value)


def test_nan_value_is_kept(db):
    db.kv_put("n", float("nan"))
    assert math.isnan(db.kv_get("n"))


def test_tuple_reads_back_as_list_and_bytearray_as_bytes(db):
    db.kv_put("t", (1, 2))
    db.kv_put("b", bytearray(b"xy"))
    same(db.kv_get("t"), [1, 2])
    same(db.kv_get("b"), b"xy")


def test_unsupported_value_names_the_problem(db):
    with H.raises(InvalidInputError, "set"):
        db.kv_put("k", {1, 2})
    with H.raises(InvalidInputError, "key"):
        db.kv_put("k", {1: "int key"})
    with pytest.raises((InvalidInputError, OverflowError)):
        db.kv_put("k", 2**64)
    assert db.kv_get("k") is None


# ----------------------------------------------------------------- NumPy


def test_numpy_example(db):
    db.vector_create_collection("coll", 384)
    embedding = np.random.rand(384).astype(np.float32)
    db.vector_upsert("coll", "key", embedding)
    result = db.vector_get("coll", "key")
    got = result["embedding"]
    assert isinstance(got, np.ndarray)
    assert got.dtype == np.float32 and got.shape == (384,)
    np.testing.assert_array_equal(got, embedding)


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.array([1, 2, 3], dtype=np.float32),
        lambda: np.array([1, 2, 3], dtype=np.float64),
        lambda: np.array([1, 2, 3], dtype=np.int64),
        lambda: np.arange(6, dtype=np.float32)[::2] + np.float32(1),  # non-contiguous
        lambda: np.array([1, 2, 3], dtype=">f4"),  # big-endian
        lambda: [1.0, 2.0, 3.0],
        lambda: (1.0, 2.0, 3.0),
    ],
    ids=["f32", "f64", "i64", "strided", "big-endian", "list", "tuple"],
)
def test_vector_inputs(db, make):
    db.vector_create_collection("c", 3)
    v = make()
    expected = np.asarray(v, dtype=np.float32)
    db.vector_upsert("c", "k", v)
    np.testing.assert_array_equal(db.vector_get("c", "k")["embedding"], expected)
    hits = db.vector_search("c", v, k=1)
    assert hits[0]["key"] == "k" and hits[0]["score"] == pytest.approx(1.0, abs=1e-5)
    db.vector_batch_upsert("c", [{"key": "b", "vector": v}])
    np.testing.assert_array_equal(db.vector_get("c", "b")["embedding"], expected)


def test_two_dimensional_array_is_refused(db):
    db.vector_create_collection("c", 4)
    with pytest.raises((InvalidInputError, TypeError)) as info:
        db.vector_upsert("c", "k", np.ones((2, 2), dtype=np.float32))
    assert H.message_names_one_of(info.value, ["vector", "dimension", "1-d", "one-dimensional", "ndim"])
    assert db.vector_get("c", "k") is None


def test_returned_embedding_is_independent(db):
    db.vector_create_collection("c", 2)
    src = np.array([1.0, 2.0], dtype=np.float32)
    db.vector_upsert("c", "k", src)
    src[0] = 99.0  # mutating the input after the call changes nothing
    got = db.vector_get("c", "k")["embedding"]
    np.testing.assert_array_equal(got, [1.0, 2.0])
    if got.flags.writeable:
        got[1] = -5.0
    np.testing.assert_array_equal(db.vector_get("c", "k")["embedding"], [1.0, 2.0])


def test_scores_are_python_floats(db):
    db.vector_create_collection("c", 2)
    db.vector_upsert("c", "k", [1.0, 0.0])
    hit = db.vector_search("c", np.array([1.0, 0.0], dtype=np.float32), k=1)[0]
    assert isinstance(hit["score"], float)
