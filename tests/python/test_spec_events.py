"""Reference section "Event Log": append/get/list/len/list_paginated, their code
examples, dense sequences, timestamps, transactions, branches and spaces."""

import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)

EVENT_FIELDS = {"value", "version", "timestamp", "sequence", "event_type"}


# ----------------------------------------------------------------- code examples


def test_example_event_append(db):
    seq = db.event_append("user_action", {"action": "click", "target": "button"})
    assert seq == 0
    assert db.event_append("user_action", {"action": "scroll"}) == 1


def test_example_event_get(db, capsys):
    db.event_append("user_action", {"action": "click"})
    event = db.event_get(0)
    if event:
        print(event["value"])
    assert capsys.readouterr().out == "{'action': 'click'}\n"


def test_example_event_list(db, capsys):
    db.event_append("user_action", {"n": 1})
    db.event_append("system", {"n": 2})
    db.event_append("user_action", {"n": 3})
    events = db.event_list("user_action")
    for event in events:
        print(event["value"])
    assert capsys.readouterr().out == "{'n': 1}\n{'n': 3}\n"


def test_example_event_len(db):
    assert db.event_len() == 0
    db.event_append("a", {})
    db.event_append("b", {})
    count = db.event_len()
    assert count == 2


def test_example_event_list_paginated(db):
    for i in range(505):
        db.event_append("user_action" if i % 2 == 0 else "noise", {"i": i})
    events = db.event_list_paginated("user_action", limit=100, after=500)
    assert [e["sequence"] for e in events] == [502, 504]
    assert [e["value"]["i"] for e in events] == [502, 504]


# ----------------------------------------------------------------- method by method


def test_sequences_are_dense_from_zero(db):
    seqs = [db.event_append(f"t{i % 3}", {"i": i}) for i in range(10)]
    assert seqs == list(range(10))
    assert db.event_len() == 10


def test_event_get_shape(db):
    before = H.now_us()
    seq = db.event_append("deploy", {"version": "1.2", "ok": True})
    ev = db.event_get(seq)
    assert set(ev) >= EVENT_FIELDS
    assert ev["value"] == {"version": "1.2", "ok": True}
    assert ev["sequence"] == seq == 0
    assert ev["event_type"] == "deploy"
    assert type(ev["version"]) is int and ev["version"] > 0
    assert type(ev["timestamp"]) is int and ev["timestamp"] >= before - 1_000_000


def test_event_get_missing(db):
    assert db.event_get(0) is None
    db.event_append("a", 1)
    assert db.event_get(1) is None
    assert db.event_get(10**12) is None


def test_payloads_of_any_type(db):
    payloads = [None, 1, "text", [1, 2], {"nested": {"x": b"\x00"}}]
    for p in payloads:
        db.event_append("t", p)
    assert [db.event_get(i)["value"] for i in range(len(payloads))] == payloads


def test_event_list_filters_by_type_in_sequence_order(db):
    for i in range(6):
        db.event_append("even" if i % 2 == 0 else "odd", {"i": i})
    evens = db.event_list("even")
    assert [e["sequence"] for e in evens] == [0, 2, 4]
    assert all(e["event_type"] == "even" for e in evens)
    assert all(set(e) >= EVENT_FIELDS for e in evens)
    assert db.event_list("none") == []


def test_event_list_limit_and_after(db):
    for i in range(8):
        db.event_append("t", {"i": i})
    assert [e["sequence"] for e in db.event_list("t", limit=3)] == [0, 1, 2]
    assert [e["sequence"] for e in db.event_list("t", after=5)] == [6, 7]
    assert [e["sequence"] for e in db.event_list("t", limit=2, after=2)] == [3, 4]
    assert db.event_list("t", after=7) == []


def test_event_list_paginated_walks_everything_once(db):
    for i in range(7):
        db.event_append("t", {"i": i})
    seen, after = [], None
    while True:
        page = db.event_list_paginated("t", limit=3, after=after)
        if not page:
            break
        seen += [e["sequence"] for e in page]
        after = page[-1]["sequence"]
    assert seen == list(range(7))
    assert [e["sequence"] for e in db.event_list_paginated("t")] == list(range(7))


def test_event_list_agrees_with_event_get(db):
    for i in range(3):
        db.event_append("t", {"i": i})
    for e in db.event_list("t"):
        assert db.event_get(e["sequence"]) == e


def test_timestamps_and_versions_follow_sequence(db):
    for i in range(4):
        db.event_append("t", i)
    evs = [db.event_get(i) for i in range(4)]
    assert [e["version"] for e in evs] == sorted(e["version"] for e in evs)
    assert len({e["version"] for e in evs}) == 4
    ts = [e["timestamp"] for e in evs]
    assert ts == sorted(ts) and len(set(ts)) == 4


def test_events_are_not_searchable_by_keyed_calls(db):
    # events do not leak into other primitives' listings
    db.event_append("t", {"k": 1})
    assert db.kv_list() == []
    assert db.state_list() == []


# ----------------------------------------------------------------- transactions


def test_transaction_commit(pair):
    a, b = pair
    a.event_append("t", {"i": 0})
    a.begin()
    assert a.event_append("t", {"i": 1}) == 1  # the sequence it will get
    assert a.event_append("t", {"i": 2}) == 2
    assert a.event_len() == 3
    pending = a.event_get(1)
    assert pending["value"] == {"i": 1} and pending["version"] == 0
    assert [e["sequence"] for e in a.event_list("t")] == [0, 1, 2]
    assert b.event_len() == 1
    assert b.event_get(1) is None
    version = a.commit()
    assert b.event_len() == 3
    assert b.event_get(1)["version"] == version
    assert b.event_get(2)["version"] == version
    assert b.event_get(2)["value"] == {"i": 2}


def test_transaction_rollback(pair):
    a, b = pair
    a.event_append("t", 0)
    a.begin()
    a.event_append("t", 1)
    a.rollback()
    assert a.event_len() == 1 and b.event_len() == 1
    assert a.event_get(1) is None
    # the next append reuses the rolled-back sequence: no gaps
    assert a.event_append("t", 2) == 1


def test_transaction_context_manager(db):
    with db.transaction():
        db.event_append("t", "a")
    assert db.event_len() == 1
    with pytest.raises(KeyError):
        with db.transaction():
            db.event_append("t", "b")
            raise KeyError("boom")
    assert db.event_len() == 1
    assert db.event_get(1) is None


def test_concurrent_appends_in_transactions_conflict(pair):
    import stratadb

    a, b = pair
    a.begin()
    b.begin()
    assert a.event_append("t", "a") == 0
    assert b.event_append("t", "b") == 0
    a.commit()
    with pytest.raises(stratadb.ConflictError):
        b.commit()
    assert a.event_len() == 1
    assert a.event_get(0)["value"] == "a"


# ----------------------------------------------------------------- branches and spaces


def test_branch_isolation(db):
    db.event_append("t", "default-0")
    db.create_branch("b")
    db.set_branch("b")
    assert db.event_len() == 0
    assert db.event_append("t", "b-0") == 0
    assert db.event_get(0)["value"] == "b-0"
    db.set_branch("default")
    assert db.event_len() == 1
    assert db.event_get(0)["value"] == "default-0"
    assert [e["value"] for e in db.event_list("t")] == ["default-0"]


def test_fork_continues_sequence_independently(db):
    db.event_append("t", 0)
    db.event_append("t", 1)
    db.fork_branch("f")
    db.event_append("t", "main-2")
    db.set_branch("f")
    assert db.event_len() == 2
    assert db.event_append("t", "fork-2") == 2
    assert db.event_get(2)["value"] == "fork-2"
    db.set_branch("default")
    assert db.event_get(2)["value"] == "main-2"


def test_space_isolation(db):
    db.event_append("t", "d")
    db.set_space("s")
    assert db.event_len() == 0
    assert db.event_list("t") == []
    assert db.event_append("t", "s") == 0
    db.set_space("default")
    assert db.event_len() == 1
    assert db.event_get(0)["value"] == "d"
    db.set_space("s")
    assert [e["value"] for e in db.event_list("t")] == ["s"]
