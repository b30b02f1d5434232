"""Reference section "State Cell": every method, its code examples, CAS and init
semantics, missing cells, time travel, transactions, branches and spaces."""

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)

P = H.PRIMS["state"]


# ----------------------------------------------------------------- code examples


def test_example_state_set(db):
    version = db.state_set("counter", 0)
    assert type(version) is int and version > 0
    assert db.state_get("counter") == 0


def test_example_state_get(db):
    db.state_set("counter", 3)
    value = db.state_get("counter")
    historical = db.state_get("counter", as_of=1700002000)
    assert value == 3
    assert historical is None


def test_example_state_init(db):
    version = db.state_init("counter", 0)
    assert type(version) is int and version > 0
    assert db.state_get("counter") == 0


def test_example_state_cas(db, capsys):
    for i in range(6):
        db.state_set("filler", i)  # make versions differ from 5 for the cell
    db.state_set("counter", 1)
    new_version = db.state_cas("counter", 10, expected_version=5)
    if new_version is None:
        print("CAS failed - version mismatch")
    assert capsys.readouterr().out == "CAS failed - version mismatch\n"
    assert db.state_get("counter") == 1


def test_example_state_delete(db):
    db.state_set("counter", 1)
    deleted = db.state_delete("counter")
    assert deleted is True


def test_example_state_list(db):
    db.state_set("config:a", 1)
    db.state_set("other", 1)
    cells = db.state_list()
    assert cells == ["config:a", "other"]
    cells = db.state_list(prefix="config:")
    assert cells == ["config:a"]


def test_example_state_history(db):
    db.state_set("counter", 1)
    db.state_set("counter", 2)
    history = db.state_history("counter")
    assert [e["value"] for e in history] == [2, 1]


def test_example_state_get_versioned(db):
    v = db.state_set("counter", 7)
    result = db.state_get_versioned("counter")
    assert result["value"] == 7 and result["version"] == v
    assert type(result["timestamp"]) is int


# ----------------------------------------------------------------- init and CAS semantics


def test_init_creates_once_and_reports_existing_version(db):
    v1 = db.state_init("c", "first")
    v2 = db.state_init("c", "second")
    assert v2 == v1
    assert db.state_get("c") == "first"
    assert db.state_get_versioned("c")["version"] == v1
    # init on a set cell reports the set's version and writes nothing
    vs = db.state_set("c", "third")
    assert db.state_init("c", "fourth") == vs
    assert [e["value"] for e in db.state_history("c")] == ["third", "first"]


def test_init_after_delete_creates_again(db):
    db.state_init("c", 1)
    db.state_delete("c")
    v = db.state_init("c", 2)
    assert db.state_get("c") == 2
    assert db.state_get_versioned("c")["version"] == v


def test_cas_swaps_on_matching_version(db):
    v1 = db.state_set("c", 1)
    v2 = db.state_cas("c", 2, expected_version=v1)
    assert type(v2) is int and v2 > v1
    assert db.state_get_versioned("c") == {
        "value": 2,
        "version": v2,
        "timestamp": db.state_get_versioned("c")["timestamp"],
    }
    # the old version no longer matches
    assert db.state_cas("c", 3, expected_version=v1) is None
    assert db.state_get("c") == 2
    assert [e["value"] for e in db.state_history("c")] == [2, 1]


def test_cas_positional_expected_version(db):
    v1 = db.state_set("c", 1)
    assert db.state_cas("c", 2, v1) is not None
    assert db.state_get("c") == 2


def test_cas_without_expected_means_cell_must_not_exist(db):
    v = db.state_cas("fresh", "created")
    assert type(v) is int and v > 0
    assert db.state_get("fresh") == "created"
    assert db.state_cas("fresh", "again") is None
    assert db.state_get("fresh") == "created"


def test_cas_on_missing_cell_with_a_version_fails(db):
    assert db.state_cas("missing", 1, expected_version=1) is None
    assert db.state_get("missing") is None
    assert db.state_history("missing") is None


def test_cas_counter(db):
    db.state_init("n", 0)
    for _ in range(5):
        cur = db.state_get_versioned("n")
        assert db.state_cas("n", cur["value"] + 1, expected_version=cur["version"]) is not None
    assert db.state_get("n") == 5


def test_delete_and_list(db):
    assert db.state_delete("nope") is False
    db.state_set("a", 1)
    db.state_set("b", 1)
    assert db.state_delete("a") is True
    assert db.state_delete("a") is False
    assert db.state_list() == ["b"]
    assert db.state_get_versioned("a") is None


def test_history_shape_and_missing(db):
    assert db.state_history("never") is None
    vs = [db.state_set("h", i) for i in range(3)]
    hist = db.state_history("h")
    assert [e["version"] for e in hist] == vs[::-1]
    assert all(set(e) >= {"value", "version", "timestamp"} for e in hist)


def test_missing_and_versioned(db):
    H.check_missing(db, P)
    H.check_versioned_matches_write(db, P)


# ----------------------------------------------------------------- time travel


def test_time_travel(db):
    H.check_time_travel(db, P)


def test_time_travel_through_cas(db):
    v1 = db.state_set("c", "a")
    t1 = db.state_get_versioned("c")["timestamp"]
    db.state_cas("c", "b", expected_version=v1)
    t2 = db.state_get_versioned("c")["timestamp"]
    assert db.state_get("c", as_of=t1) == "a"
    assert db.state_get("c", as_of=t2) == "b"


# ----------------------------------------------------------------- transactions


def test_transaction_commit(pair):
    H.check_txn_commit(*pair, P)


def test_transaction_rollback(pair):
    H.check_txn_rollback(*pair, P)


def test_transaction_context_manager(db):
    H.check_txn_context_manager(db, P)


def test_cas_inside_transaction_then_commit(pair):
    a, b = pair
    v1 = a.state_set("c", 1)
    a.begin()
    assert a.state_cas("c", 2, expected_version=v1) == 0  # pending
    assert a.state_get("c") == 2
    assert b.state_get("c") == 1
    version = a.commit()
    assert b.state_get_versioned("c")["version"] == version
    assert b.state_get("c") == 2


def test_concurrent_cas_in_two_transactions_conflicts(pair):
    import stratadb

    a, b = pair
    v1 = a.state_set("c", 0)
    a.begin()
    b.begin()
    assert a.state_cas("c", "a", expected_version=v1) == 0
    assert b.state_cas("c", "b", expected_version=v1) == 0
    a.commit()
    try:
        b.commit()
    except stratadb.ConflictError:
        pass
    else:
        raise AssertionError("second commit of a CAS from the same version must conflict")
    assert not b.txn_is_active()
    assert a.state_get("c") == "a"


def test_init_inside_transaction_rollback(pair):
    a, b = pair
    a.begin()
    assert a.state_init("c", 1) == 0
    assert a.state_get("c") == 1
    a.rollback()
    assert a.state_get("c") is None and b.state_get("c") is None


# ----------------------------------------------------------------- branches and spaces


def test_branch_isolation(db):
    H.check_branch_isolation(db, P)


def test_fork_isolation(db):
    H.check_fork_isolation(db, P)


def test_space_isolation(db):
    H.check_space_isolation(db, P)


def test_cas_versions_are_per_branch(db):
    v1 = db.state_set("c", 1)
    db.fork_branch("f")
    db.set_branch("f")
    assert db.state_cas("c", 2, expected_version=v1) is not None
    db.set_branch("default")
    assert db.state_get("c") == 1
    assert db.state_cas("c", 3, expected_version=v1) is not None
    assert db.state_get("c") == 3
