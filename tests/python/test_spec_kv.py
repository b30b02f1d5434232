"""Reference section "KV Store": every method, its code examples, missing keys, time
travel, transactions, branches and spaces."""

import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)

P = H.PRIMS["kv"]


# ----------------------------------------------------------------- code examples


def test_example_kv_put(db):
    version = db.kv_put("user:123", {"name": "Alice", "age": 30})
    assert type(version) is int and version > 0
    assert db.kv_get("user:123") == {"name": "Alice", "age": 30}


def test_example_kv_get(db, capsys):
    db.kv_put("user:123", {"name": "Alice", "age": 30})
    value = db.kv_get("user:123")
    if value is not None:
        print(value["name"])
    # Time-travel: 1700002000 µs is 1970-01-01T00:28:20Z, before any write
    historical = db.kv_get("user:123", as_of=1700002000)
    assert capsys.readouterr().out == "Alice\n"
    assert historical is None


def test_example_kv_delete(db):
    db.kv_put("user:123", 1)
    deleted = db.kv_delete("user:123")
    assert deleted is True
    assert db.kv_get("user:123") is None


def test_example_kv_list(db):
    for k in ("user:1", "user:2", "team:1"):
        db.kv_put(k, k)
    all_keys = db.kv_list()
    user_keys = db.kv_list(prefix="user:")
    assert sorted(all_keys) == ["team:1", "user:1", "user:2"]
    assert sorted(user_keys) == ["user:1", "user:2"]


def test_example_kv_history(db, capsys):
    v1 = db.kv_put("user:123", "first")
    v2 = db.kv_put("user:123", "second")
    history = db.kv_history("user:123")
    for entry in history:
        print(f"v{entry['version']}: {entry['value']}")
    assert capsys.readouterr().out == f"v{v2}: second\nv{v1}: first\n"


def test_example_kv_get_versioned(db, capsys):
    v = db.kv_put("user:123", "x")
    result = db.kv_get_versioned("user:123")
    if result:
        print(f"Value: {result['value']}, Version: {result['version']}")
    assert capsys.readouterr().out == f"Value: x, Version: {v}\n"


def test_example_kv_list_paginated(db, capsys):
    db.kv_put("user:1", 1)
    db.kv_put("user:2", 2)
    db.kv_put("zzz", 3)
    result = db.kv_list_paginated(prefix="user:", limit=100)
    print(result["keys"])
    assert capsys.readouterr().out == "['user:1', 'user:2']\n"


# ----------------------------------------------------------------- method by method


def test_put_versions_increase_and_are_ints(db):
    versions = [db.kv_put("k", i) for i in range(3)] + [db.kv_put("other", 0)]
    assert all(type(v) is int for v in versions)
    assert versions == sorted(versions) and len(set(versions)) == 4


def test_get_missing_and_versioned(db):
    H.check_missing(db, P)
    H.check_versioned_matches_write(db, P)


def test_delete_reports_existence(db):
    assert db.kv_delete("nope") is False
    db.kv_put("k", 1)
    assert db.kv_delete("k") is True
    assert db.kv_delete("k") is False
    assert db.kv_get("k") is None
    assert db.kv_get_versioned("k") is None
    assert "k" not in db.kv_list()
    # a deleted key can be written again
    db.kv_put("k", 2)
    assert db.kv_get("k") == 2


def test_list_is_sorted_and_filters_by_prefix(db):
    for k in ("b", "a", "ab", "user:2", "user:10", "userx"):
        db.kv_put(k, 1)
    db.kv_put("gone", 1)
    db.kv_delete("gone")
    assert db.kv_list() == ["a", "ab", "b", "user:10", "user:2", "userx"]
    assert db.kv_list(prefix="user:") == ["user:10", "user:2"]
    assert db.kv_list(prefix="a") == ["a", "ab"]
    assert db.kv_list(prefix="nothing") == []
    assert db.kv_list(prefix="") == db.kv_list()


def test_history_newest_first_with_versions_and_timestamps(db):
    vs = [db.kv_put("h", {"n": i}) for i in range(3)]
    hist = db.kv_history("h")
    assert [e["value"] for e in hist] == [{"n": 2}, {"n": 1}, {"n": 0}]
    assert [e["version"] for e in hist] == vs[::-1]
    ts = [e["timestamp"] for e in hist]
    assert all(type(t) is int for t in ts) and ts == sorted(ts, reverse=True)
    assert len(set(ts)) == 3
    assert set(hist[0]) >= {"value", "version", "timestamp"}


def test_history_of_never_written_key_is_none(db):
    assert db.kv_history("never") is None
    db.kv_put("other", 1)
    assert db.kv_history("never") is None


def test_history_keeps_values_across_delete(db):
    db.kv_put("h", "a")
    db.kv_put("h", "b")
    db.kv_delete("h")
    hist = db.kv_history("h")
    assert hist is not None
    values = [e["value"] for e in hist if e["value"] is not None]
    assert values == ["b", "a"]


def test_list_paginated_walks_all_keys_once(db):
    keys = [f"p:{i:02d}" for i in range(7)]
    for k in reversed(keys):
        db.kv_put(k, k)
    db.kv_put("q:other", 0)
    seen, cursor, pages = [], None, 0
    while True:
        page = db.kv_list_paginated(prefix="p:", limit=3, cursor=cursor)
        assert len(page["keys"]) <= 3
        seen += page["keys"]
        pages += 1
        cursor = page["cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert seen == keys
    assert pages == 3


def test_list_paginated_defaults(db):
    for i in range(5):
        db.kv_put(f"k{i}", i)
    page = db.kv_list_paginated()
    assert page["keys"] == [f"k{i}" for i in range(5)]
    assert page["cursor"] is None
    empty = db.kv_list_paginated(prefix="zzz")
    assert empty["keys"] == [] and empty["cursor"] is None


def test_values_of_every_type_round_trip(db):
    values = [None, True, 0, -5, 2.5, "s", b"\x00b", [1, [2]], {"a": {"b": [None]}}]
    for i, v in enumerate(values):
        db.kv_put(f"v{i}", v)
    for i, v in enumerate(values):
        got = db.kv_get(f"v{i}")
        assert got == v and type(got) is type(v)


# ----------------------------------------------------------------- time travel


def test_time_travel(db):
    H.check_time_travel(db, P)


def test_time_travel_from_history_timestamps(db):
    db.kv_put("k", "v1")
    db.kv_put("k", "v2")
    db.kv_put("k", "v3")
    for e in db.kv_history("k"):
        assert db.kv_get("k", as_of=e["timestamp"]) == e["value"]


# ----------------------------------------------------------------- transactions


def test_transaction_commit(pair):
    H.check_txn_commit(*pair, P)


def test_transaction_rollback(pair):
    H.check_txn_rollback(*pair, P)


def test_transaction_context_manager(db):
    H.check_txn_context_manager(db, P)


def test_delete_and_list_inside_transaction(pair):
    a, b = pair
    a.kv_put("x", 1)
    a.kv_put("y", 2)
    a.begin()
    assert a.kv_delete("x") is True
    assert a.kv_get("x") is None
    assert a.kv_list() == ["y"]
    assert b.kv_list() == ["x", "y"]
    a.rollback()
    assert a.kv_list() == ["x", "y"]


# ----------------------------------------------------------------- branches and spaces


def test_branch_isolation(db):
    H.check_branch_isolation(db, P)


def test_fork_isolation(db):
    H.check_fork_isolation(db, P)


def test_space_isolation(db):
    H.check_space_isolation(db, P)


def test_history_and_pagination_are_scoped(db):
    db.kv_put("k", "default")
    db.set_space("s")
    assert db.kv_history("k") is None
    db.kv_put("k", "s")
    assert [e["value"] for e in db.kv_history("k")] == ["s"]
    assert db.kv_list_paginated()["keys"] == ["k"]
    db.set_space("default")
    assert [e["value"] for e in db.kv_history("k")] == ["default"]
