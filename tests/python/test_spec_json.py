"""Reference section "JSON Store": set/get/delete at JSONPaths, list, history,
versioned reads, code examples, time travel, transactions, branches and spaces."""

import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
from stratadb import InvalidInputError, StrataError

P = H.PRIMS["json"]


# ----------------------------------------------------------------- code examples


def test_example_json_set(db):
    v1 = db.json_set("user:123", "$", {"name": "Alice", "age": 30})
    v2 = db.json_set("user:123", "$.email", "alice@example.com")
    assert type(v1) is int and v2 > v1
    assert db.json_get("user:123", "$") == {"name": "Alice", "age": 30, "email": "alice@example.com"}


def test_example_json_get(db):
    db.json_set("user:123", "$", {"name": "Alice", "age": 30})
    db.json_set("config", "$", {"debug": True})
    doc = db.json_get("user:123", "$")
    name = db.json_get("user:123", "$.name")
    historical = db.json_get("config", "$", as_of=1700002000)
    assert doc == {"name": "Alice", "age": 30}
    assert name == "Alice"
    assert historical is None


def test_example_json_delete(db):
    db.json_set("user:123", "$", {"name": "Alice", "email": "a@x"})
    deleted_count = db.json_delete("user:123", "$.email")
    assert deleted_count == 1
    assert db.json_get("user:123", "$") == {"name": "Alice"}


def test_example_json_list(db):
    for k in ("user:1", "user:2", "org:1"):
        db.json_set(k, "$", {"k": k})
    result = db.json_list(100, prefix="user:")
    keys = result["keys"]
    next_cursor = result.get("cursor")
    assert keys == ["user:1", "user:2"]
    assert next_cursor is None


def test_example_json_history(db):
    db.json_set("user:123", "$", {"v": 1})
    db.json_set("user:123", "$.v", 2)
    history = db.json_history("user:123")
    assert [e["value"] for e in history] == [{"v": 2}, {"v": 1}]


def test_example_json_get_versioned(db):
    v = db.json_set("user:123", "$", {"a": 1})
    result = db.json_get_versioned("user:123")
    assert result["value"] == {"a": 1} and result["version"] == v
    assert type(result["timestamp"]) is int


# ----------------------------------------------------------------- paths


def test_nested_paths_and_arrays(db):
    db.json_set("d", "$", {"tags": ["a", "b"], "orders": [{"id": 1, "total": 30}, {"id": 2, "total": 120}]})
    assert db.json_get("d", "$.tags[0]") == "a"
    assert db.json_get("d", "$.tags[-1]") == "b"
    assert db.json_get("d", "$.orders[1].total") == 120
    assert db.json_get("d", "$['tags'][1]") == "b"
    assert db.json_get("d", "$.orders[?@.total > 100].id") == [2]
    db.json_set("d", "$.address.city", "Paris")  # creates missing members
    assert db.json_get("d", "$.address") == {"city": "Paris"}
    db.json_set("d", "$.tags[2]", "c")  # index == length appends
    assert db.json_get("d", "$.tags") == ["a", "b", "c"]


def test_missing_path_and_missing_doc_are_none(db):
    assert db.json_get("nope", "$") is None
    assert db.json_get("nope", "$.a") is None
    db.json_set("d", "$", {"a": 1})
    assert db.json_get("d", "$.b") is None
    assert db.json_get("d", "$.a.b") is None


def test_set_on_missing_doc_creates_object(db):
    db.json_set("new", "$.a.b", 1)
    assert db.json_get("new", "$") == {"a": {"b": 1}}


def test_root_must_be_object_or_array(db):
    db.json_set("arr", "$", [1, 2])
    assert db.json_get("arr", "$[1]") == 2
    with pytest.raises(InvalidInputError):
        db.json_set("scalar", "$", 5)
    assert db.json_get("scalar", "$") is None


def test_delete_counts_matches(db):
    db.json_set("d", "$", {"tags": ["a", "b", "c"], "x": 1})
    assert db.json_delete("d", "$.missing") == 0
    assert db.json_delete("d", "$.tags[*]") == 3
    assert db.json_get("d", "$") == {"tags": [], "x": 1}
    assert db.json_delete("nope", "$.x") == 0


def test_delete_root_removes_document(db):
    db.json_set("d", "$", {"a": 1})
    assert db.json_delete("d", "$") == 1
    assert db.json_get("d", "$") is None
    assert db.json_get_versioned("d") is None
    assert db.json_list(10)["keys"] == []


def test_writes_replace_whole_document_versions(db):
    v1 = db.json_set("d", "$", {"a": 1})
    v2 = db.json_set("d", "$.b", 2)
    v3 = db.json_delete("d", "$.a")
    hist = db.json_history("d")
    assert [e["value"] for e in hist] == [{"b": 2}, {"a": 1, "b": 2}, {"a": 1}]
    assert [e["version"] for e in hist][1:] == [v2, v1]
    assert db.json_get_versioned("d")["version"] == hist[0]["version"]
    assert v3 == 1  # json_delete returns the count, not a version


def test_history_missing(db):
    assert db.json_history("never") is None


def test_json_list_pagination(db):
    keys = [f"doc:{i:02d}" for i in range(7)]
    for k in keys:
        db.json_set(k, "$", {"k": k})
    db.json_set("zzz", "$", {})
    seen, cursor, pages = [], None, 0
    while True:
        page = db.json_list(3, prefix="doc:", cursor=cursor)
        assert len(page["keys"]) <= 3
        seen += page["keys"]
        cursor = page.get("cursor")
        pages += 1
        if cursor is None:
            break
        assert pages < 10
    assert seen == keys
    assert pages == 3
    assert db.json_list(100)["keys"] == keys + ["zzz"]


def test_values_inside_documents_round_trip(db):
    doc = {"n": None, "b": False, "i": -3, "f": 0.25, "s": "x", "bytes": b"\x01", "l": [[], {}]}
    db.json_set("d", "$", doc)
    assert db.json_get("d", "$") == doc


def test_missing_and_versioned(db):
    H.check_missing(db, P)
    H.check_versioned_matches_write(db, P)


# ----------------------------------------------------------------- time travel


def test_time_travel(db):
    H.check_time_travel(db, P)


def test_time_travel_on_a_path(db):
    db.json_set("cfg", "$", {"timeout": 30})
    t1 = db.json_get_versioned("cfg")["timestamp"]
    db.json_set("cfg", "$.timeout", 60)
    t2 = db.json_get_versioned("cfg")["timestamp"]
    assert db.json_get("cfg", "$.timeout", as_of=t1) == 30
    assert db.json_get("cfg", "$.timeout", as_of=t2) == 60
    assert db.json_get("cfg", "$.timeout", as_of=t1 - 1) is None


# ----------------------------------------------------------------- transactions


def test_transaction_commit(pair):
    H.check_txn_commit(*pair, P)


def test_transaction_rollback(pair):
    H.check_txn_rollback(*pair, P)


def test_transaction_context_manager(db):
    H.check_txn_context_manager(db, P)


def test_path_writes_accumulate_inside_transaction(pair):
    a, b = pair
    a.json_set("d", "$", {"a": 1})
    with a.transaction():
        assert a.json_set("d", "$.b", 2) == 0
        assert a.json_set("d", "$.c", 3) == 0
        assert a.json_delete("d", "$.a") == 1
        assert a.json_get("d", "$") == {"b": 2, "c": 3}
        assert b.json_get("d", "$") == {"a": 1}
    assert b.json_get("d", "$") == {"b": 2, "c": 3}
    assert len(b.json_history("d")) == 2  # one commit for the three writes


# ----------------------------------------------------------------- branches and spaces


def test_branch_isolation(db):
    H.check_branch_isolation(db, P)


def test_fork_isolation(db):
    H.check_fork_isolation(db, P)


def test_space_isolation(db):
    H.check_space_isolation(db, P)
