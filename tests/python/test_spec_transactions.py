"""Reference section "Transactions": transaction(), begin/commit/rollback, txn_info,
txn_is_active; atomicity over every primitive, snapshot reads, conflicts, read-only."""

import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
from stratadb import ConflictError, StrataError


# ----------------------------------------------------------------- code examples


def test_example_quick_start_transaction(db):
    with db.transaction():
        db.kv_put("a", 1)
        db.kv_put("b", 2)
    assert (db.kv_get("a"), db.kv_get("b")) == (1, 2)


def test_example_transaction(pair):
    db, other = pair
    # Read-write transaction
    with db.transaction():
        db.kv_put("a", 1)
        db.kv_put("b", 2)
        assert other.kv_get("a") is None
    assert other.kv_get("a") == 1
    # Read-only transaction
    with db.transaction(read_only=True):
        a = db.kv_get("a")
        b = db.kv_get("b")
    assert (a, b) == (1, 2)
    assert db.kv_get_versioned("a")["version"] == db.kv_get_versioned("b")["version"]


def test_example_begin(db):
    db.begin()
    try:
        db.kv_put("a", 1)
        db.commit()
    except Exception:
        db.rollback()
        raise
    assert db.kv_get("a") == 1
    assert not db.txn_is_active()


def test_example_commit(db):
    before = db.kv_put("x", 0)
    db.begin()
    db.kv_put("x", 1)
    version = db.commit()
    assert type(version) is int and version > before
    assert db.kv_get_versioned("x")["version"] == version


def test_example_rollback(db):
    db.begin()
    db.kv_put("x", 1)
    db.rollback()
    assert db.kv_get("x") is None


def test_example_txn_info(db, capsys):
    assert db.txn_info() is None
    db.begin()
    info = db.txn_info()
    if info:
        print(f"Transaction {info['id']} is {info['status']}")
    db.rollback()
    assert capsys.readouterr().out == f"Transaction {info['id']} is active\n"
    assert set(info) >= {"id", "status", "started_at"}
    assert type(info["id"]) is int and type(info["started_at"]) is int
    assert abs(info["started_at"] - H.now_us()) < 60_000_000
    assert db.txn_info() is None


def test_example_txn_is_active(db):
    active = db.txn_is_active()
    assert active is False
    db.begin()
    assert db.txn_is_active() is True
    db.commit()
    assert db.txn_is_active() is False


# ----------------------------------------------------------------- semantics


def test_transaction_ids_differ(db):
    db.begin()
    first = db.txn_info()["id"]
    db.rollback()
    db.begin()
    second = db.txn_info()["id"]
    db.rollback()
    assert first != second


def test_begin_twice_is_refused(db):
    db.begin()
    with H.raises(StrataError, "transaction"):
        db.begin()
    assert db.txn_is_active()
    db.rollback()


def test_commit_and_rollback_without_transaction(db):
    with H.raises(StrataError, "transaction"):
        db.commit()
    with H.raises(StrataError, "transaction"):
        db.rollback()


def test_nested_context_manager_is_refused_and_outer_survives(db):
    with db.transaction():
        db.kv_put("outer", 1)
        with pytest.raises(StrataError):
            with db.transaction():
                pass
        assert db.txn_is_active()
    assert db.kv_get("outer") == 1


def test_context_manager_returns_and_reraises(db):
    with pytest.raises(ZeroDivisionError):
        with db.transaction():
            db.kv_put("k", 1)
            1 / 0
    assert db.kv_get("k") is None and not db.txn_is_active()


def test_all_primitives_commit_atomically(pair):
    a, b = pair
    a.vector_create_collection("c", 2)
    with a.transaction():
        assert a.kv_put("k", 1) == 0
        assert a.state_set("s", 1) == 0
        assert a.event_append("t", {"x": 1}) == 0
        assert a.json_set("d", "$", {"a": 1}) == 0
        assert a.vector_upsert("c", "v", [1.0, 0.0]) == 0
        assert b.kv_get("k") is None and b.state_get("s") is None
        assert b.event_len() == 0 and b.json_get("d", "$") is None
        assert b.vector_get("c", "v") is None
    versions = {
        b.kv_get_versioned("k")["version"],
        b.state_get_versioned("s")["version"],
        b.event_get(0)["version"],
        b.json_get_versioned("d")["version"],
        b.vector_get("c", "v")["version"],
    }
    assert len(versions) == 1


def test_all_primitives_roll_back(pair):
    a, b = pair
    a.vector_create_collection("c", 2)
    before = H.db_digest(b)
    a.begin()
    a.kv_put("k", 1)
    a.state_set("s", 1)
    a.event_append("t", 1)
    a.json_set("d", "$", {"a": 1})
    a.vector_upsert("c", "v", [1.0, 0.0])
    a.vector_create_collection("c2", 3)
    a.rollback()
    assert H.db_digest(a) == before
    assert H.db_digest(b) == before


def test_snapshot_reads_ignore_later_commits(pair):
    a, b = pair
    a.kv_put("k", "old")
    a.begin(read_only=True)
    b.kv_put("k", "new")
    b.kv_put("k2", "new")
    assert a.kv_get("k") == "old"
    assert a.kv_get("k2") is None
    assert a.kv_list() == ["k"]
    a.commit()
    assert a.kv_get("k") == "new"


def test_read_only_transaction_refuses_writes(db):
    db.kv_put("k", 1)
    db.begin(read_only=True)
    assert db.txn_info()["id"] > 0
    with H.raises(StrataError, "read-only"):
        db.kv_put("k", 2)
    with pytest.raises(StrataError):
        db.state_set("s", 1)
    with pytest.raises(StrataError):
        db.event_append("t", 1)
    db.rollback()
    assert db.kv_get("k") == 1
    with pytest.raises(StrataError):
        with db.transaction(read_only=True):
            db.json_set("d", "$", {})
    assert db.json_get("d", "$") is None
    assert not db.txn_is_active()


def test_write_write_conflict_first_committer_wins(pair):
    a, b = pair
    a.kv_put("k", 0)
    a.begin()
    b.begin()
    a.kv_put("k", "a")
    b.kv_put("k", "b")
    b.kv_put("only-b", 1)
    a.commit()
    with H.raises(ConflictError, "conflict"):
        b.commit()
    assert not b.txn_is_active()
    assert b.kv_get("k") == "a"
    assert b.kv_get("only-b") is None


def test_conflict_in_context_manager_raises(pair):
    a, b = pair
    a.kv_put("k", 0)
    with pytest.raises(ConflictError):
        with a.transaction():
            a.kv_put("k", "a")
            b.kv_put("k", "b")  # autocommits in between
    assert a.kv_get("k") == "b"
    assert not a.txn_is_active()


def test_write_skew_is_allowed(pair):
    # snapshot isolation: disjoint write sets never conflict
    a, b = pair
    a.begin()
    b.begin()
    a.kv_put("x", 1)
    b.kv_put("y", 1)
    a.commit()
    b.commit()
    assert (a.kv_get("x"), a.kv_get("y")) == (1, 1)


def test_empty_commit_returns_a_version(db):
    v = db.kv_put("k", 1)
    db.begin()
    assert db.commit() >= v


def test_transaction_is_per_handle(pair):
    a, b = pair
    a.begin()
    assert b.txn_is_active() is False
    assert b.txn_info() is None
    b.kv_put("k", 1)  # autocommit on b while a's txn is open
    assert b.kv_get("k") == 1
    a.rollback()
    assert a.kv_get("k") == 1


def test_transaction_on_non_default_branch_and_space(pair):
    a, b = pair
    a.create_branch("br")
    a.set_branch("br")
    a.set_space("sp")
    with a.transaction():
        a.kv_put("k", 1)
    b.set_branch("br")
    assert b.kv_get("k") is None
    b.set_space("sp")
    assert b.kv_get("k") == 1
    b.set_branch("default")
    b.set_space("sp")
    assert b.kv_get("k") is None

