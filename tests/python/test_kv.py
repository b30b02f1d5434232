"""KV basics: put, get, overwrite, missing keys, versions, time travel; and the direct
decode of stored values that kv_get and state_get share."""

import time

import pytest

from stratadb import InvalidInputError, Strata


def test_put_then_get(db):
    db.kv_put("greeting", "Hello, World!")
    assert db.kv_get("greeting") == "Hello, World!"


def test_missing_key_is_none(db):
    assert db.kv_get("nope") is None
    db.kv_put("other", 1)
    assert db.kv_get("nope") is None


def test_overwrite_returns_newest(db):
    db.kv_put("k", "first")
    db.kv_put("k", {"second": True})
    assert db.kv_get("k") == {"second": True}


def test_keys_are_independent(db):
    db.kv_put("a", 1)
    db.kv_put("b", 2)
    db.kv_put("ab", 3)
    assert (db.kv_get("a"), db.kv_get("b"), db.kv_get("ab")) == (1, 2, 3)


def test_versions_are_ints_and_increase(db):
    v1 = db.kv_put("k", 1)
    v2 = db.kv_put("k", 2)
    v3 = db.kv_put("other", 3)
    assert all(type(v) is int for v in (v1, v2, v3))
    assert 0 < v1 < v2 < v3


def test_null_value_is_stored_not_missing(db):
    # Storing None is allowed; reading it gives None like a missing key.
    db.kv_put("k", None)
    assert db.kv_get("k") is None


def test_unicode_keys(db):
    db.kv_put("ключ-🔑", "значение")
    assert db.kv_get("ключ-🔑") == "значение"
    assert db.kv_get("ключ") is None


def test_as_of_reads_history(db):
    before_any = time.time_ns() // 1000 - 1_000_000
    db.kv_put("k", "old")
    between = time.time_ns() // 1000
    time.sleep(0.005)
    db.kv_put("k", "new")
    assert db.kv_get("k") == "new"
    assert db.kv_get("k", as_of=between) == "old"
    assert db.kv_get("k", as_of=before_any) is None
    assert db.kv_get("k", as_of=time.time_ns() // 1000) == "new"


def test_negative_as_of_is_rejected(db):
    with pytest.raises(InvalidInputError, match="as_of"):
        db.kv_get("k", as_of=-1)


def test_key_must_be_str(db):
    with pytest.raises(TypeError):
        db.kv_put(1, "x")  # type: ignore[arg-type]


def test_two_handles_to_same_path_share_data(db_path):
    a = Strata.open(db_path)
    b = Strata.open(db_path)
    a.kv_put("k", "from a")
    assert b.kv_get("k") == "from a"
    a.close()
    # Closing one handle leaves the other usable.
    assert b.kv_get("k") == "from a"
    b.close()


@pytest.mark.parametrize("bad", ["", "nul\x00inside", "x" * 1025], ids=["empty", "nul", "too-long"])
def test_invalid_keys_are_refused(db, bad):
    with pytest.raises(InvalidInputError, match="key") as info:
        db.kv_put(bad, 1)
    assert info.value.code.startswith("invalid")
    assert db.kv_get("x" * 1024) is None


def test_longest_key_is_accepted(db):
    key = "é" * 512  # 1024 UTF-8 bytes
    db.kv_put(key, "long")
    assert db.kv_get(key) == "long"


NESTED = {
    "name": "agent-7",
    "scores": [1, -2.5, float("inf"), None, True],
    "blob": b"\x00\xffraw",
    "deep": {"a": [{"b": "ünïcödé"}], "empty": {}, "none": []},
    "big": -(2**63),
}


@pytest.mark.parametrize("put, get, versioned", [
    ("kv_put", "kv_get", "kv_get_versioned"),
    ("state_set", "state_get", "state_get_versioned"),
])
def test_every_read_path_returns_the_same_objects(db, put, get, versioned):
    # kv_get and state_get decode the stored record straight into Python objects;
    # a pending write, a read through a fork and a read from history take other
    # paths. The same value comes back every way.
    put, get, versioned = getattr(db, put), getattr(db, get), getattr(db, versioned)
    put("doc", NESTED)
    assert get("doc") == NESTED
    with db.transaction():
        put("pending", NESTED)
        assert get("pending") == NESTED
        assert get("doc") == NESTED
    db.fork_branch("child")
    db.set_branch("child")
    assert get("doc") == NESTED
    db.set_branch("default")
    before = versioned("doc")["timestamp"]
    put("doc", "replaced")
    assert get("doc") == "replaced"
    assert get("doc", as_of=before) == NESTED
    assert get("never") is None
