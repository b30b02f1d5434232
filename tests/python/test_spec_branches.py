"""Reference section "Branches": current/set/create/list/delete/exists/get, fork, diff
and merge (both strategies), and the Error Handling example."""

import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
from stratadb import ConflictError, InvalidInputError, NotFoundError, StrataError


# ----------------------------------------------------------------- code examples


def test_example_current_branch(db):
    branch = db.current_branch()
    assert branch == "default"


def test_example_set_branch(db):
    db.create_branch("feature")
    db.set_branch("feature")
    assert db.current_branch() == "feature"


def test_example_create_branch(db):
    db.create_branch("experiment")
    assert db.branch_exists("experiment")


def test_example_list_branches(db):
    db.create_branch("b2")
    branches = db.list_branches()
    assert sorted(branches) == ["b2", "default"]


def test_example_delete_branch(db):
    db.create_branch("experiment")
    db.delete_branch("experiment")
    assert not db.branch_exists("experiment")
    assert db.list_branches() == ["default"]


def test_example_branch_exists(db):
    exists = db.branch_exists("feature")
    assert exists is False
    db.create_branch("feature")
    assert db.branch_exists("feature") is True


def test_example_branch_get(db, capsys):
    db.kv_put("k", 1)
    info = db.branch_get("default")
    if info:
        print(f"Created: {info['created_at']}, Version: {info['version']}")
    out = capsys.readouterr().out
    assert out == f"Created: {info['created_at']}, Version: {info['version']}\n"
    assert type(info["created_at"]) is int and info["created_at"] > 0
    assert type(info["version"]) is int and info["version"] >= 1


def test_example_fork_branch(db, capsys):
    for i in range(3):
        db.kv_put(f"k{i}", i)
    result = db.fork_branch("experiment-copy")
    print(f"Copied {result['keys_copied']} keys")
    assert capsys.readouterr().out == "Copied 3 keys\n"
    assert result["source"] == "default"
    assert result["destination"] == "experiment-copy"


def test_example_diff_branches(db, capsys):
    db.kv_put("base", 1)
    db.fork_branch("feature")
    db.set_branch("feature")
    db.kv_put("new1", 1)
    db.kv_put("new2", 2)
    db.set_branch("default")
    diff = db.diff_branches("default", "feature")
    print(f"Added: {diff['summary']['total_added']}")
    assert capsys.readouterr().out == "Added: 2\n"


def test_example_merge_branches(db):
    db.fork_branch("feature")
    db.set_branch("feature")
    db.kv_put("from-feature", 1)
    db.set_branch("default")
    result = db.merge_branches("feature", strategy="last_writer_wins")
    assert result["keys_applied"] == 1
    assert db.kv_get("from-feature") == 1


def test_example_error_handling(db, capsys):
    try:
        db.set_branch("nonexistent")
    except RuntimeError as e:
        print(f"Error: {e}")
    out = capsys.readouterr().out
    assert out.startswith("Error: ") and "nonexistent" in out
    assert db.current_branch() == "default"


# ----------------------------------------------------------------- method by method


def test_set_branch_unknown_raises_not_found(db):
    with H.raises(NotFoundError, "nonexistent"):
        db.set_branch("nonexistent")


def test_create_existing_branch_is_refused(db):
    db.create_branch("b")
    with H.raises(StrataError, "b"):
        db.create_branch("b")
    with H.raises(StrataError, "default"):
        db.create_branch("default")
    assert sorted(db.list_branches()) == ["b", "default"]


def test_delete_branch_rules(db):
    with H.raises(NotFoundError, "ghost"):
        db.delete_branch("ghost")
    with pytest.raises(StrataError, match="default"):
        db.delete_branch("default")
    db.create_branch("cur")
    db.set_branch("cur")
    with H.raises(StrataError, "cur"):
        db.delete_branch("cur")  # the handle's current branch
    db.set_branch("default")
    db.delete_branch("cur")
    assert not db.branch_exists("cur")


def test_parent_of_a_fork_cannot_be_deleted_first(db):
    db.create_branch("parent")
    db.set_branch("parent")
    db.kv_put("k", 1)
    db.fork_branch("child")
    db.set_branch("default")
    with pytest.raises(StrataError):
        db.delete_branch("parent")
    assert db.branch_exists("parent")
    db.delete_branch("child")
    db.delete_branch("parent")
    assert db.list_branches() == ["default"]


def test_deleted_branch_data_is_gone_when_recreated(db):
    db.create_branch("b")
    db.set_branch("b")
    db.kv_put("k", 1)
    db.set_branch("default")
    db.delete_branch("b")
    db.create_branch("b")
    db.set_branch("b")
    assert db.kv_get("k") is None
    assert db.kv_list() == []


def test_branch_get_missing_and_version_moves(db):
    assert db.branch_get("ghost") is None
    db.create_branch("b")
    before = db.branch_get("b")
    db.set_branch("b")
    v = db.kv_put("k", 1)
    after = db.branch_get("b")
    assert after["version"] == v
    assert after["created_at"] == before["created_at"]
    assert db.branch_get("default")["version"] < v


def test_fork_copies_data_and_history(db):
    db.kv_put("k", "v1")
    db.kv_put("k", "v2")
    db.state_set("c", 1)
    db.json_set("d", "$", {"a": 1})
    result = db.fork_branch("f")
    assert result["keys_copied"] >= 3
    db.set_branch("f")
    assert db.kv_get("k") == "v2"
    assert [e["value"] for e in db.kv_history("k")] == ["v2", "v1"]
    assert db.state_get("c") == 1
    assert db.json_get("d", "$.a") == 1


def test_fork_to_existing_branch_is_refused(db):
    db.create_branch("b")
    with H.raises(StrataError, "b"):
        db.fork_branch("b")


def test_fork_of_a_fork(db):
    db.kv_put("a", 1)
    db.fork_branch("f1")
    db.set_branch("f1")
    db.kv_put("b", 2)
    r = db.fork_branch("f2")
    assert r["source"] == "f1" and r["destination"] == "f2"
    db.set_branch("f2")
    assert db.kv_list() == ["a", "b"]


def test_diff_details(db):
    db.kv_put("same", 1)
    db.kv_put("changed", 1)
    db.kv_put("removed", 1)
    db.fork_branch("f")
    db.set_branch("f")
    db.kv_put("changed", 2)
    db.kv_delete("removed")
    db.kv_put("added", 1)
    db.set_space("s")
    db.kv_put("added-in-s", 1)
    db.set_branch("default")
    diff = db.diff_branches("default", "f")
    assert diff["summary"] == {"total_added": 2, "total_removed": 1, "total_modified": 1}
    assert sorted(diff["added"], key=lambda e: (e["space"], e["key"])) == [
        {"space": "default", "primitive": "kv", "key": "added"},
        {"space": "s", "primitive": "kv", "key": "added-in-s"},
    ]
    assert diff["removed"] == [{"space": "default", "primitive": "kv", "key": "removed"}]
    assert diff["modified"] == [{"space": "default", "primitive": "kv", "key": "changed"}]
    # the other direction swaps added and removed
    back = db.diff_branches("f", "default")
    assert back["summary"] == {"total_added": 1, "total_removed": 2, "total_modified": 1}


def test_diff_names_primitives(db):
    db.fork_branch("f")
    db.set_branch("f")
    db.kv_put("k", 1)
    db.state_set("c", 1)
    db.json_set("d", "$", {})
    db.set_branch("default")
    diff = db.diff_branches("default", "f")
    assert {(e["primitive"], e["key"]) for e in diff["added"]} >= {
        ("kv", "k"),
        ("state", "c"),
        ("json", "d"),
    }


def test_diff_identical_and_unknown(db):
    db.kv_put("k", 1)
    db.fork_branch("f")
    diff = db.diff_branches("default", "f")
    assert diff["summary"] == {"total_added": 0, "total_removed": 0, "total_modified": 0}
    assert diff["added"] == diff["removed"] == diff["modified"] == []
    with H.raises(NotFoundError, "ghost"):
        db.diff_branches("default", "ghost")


def test_merge_applies_values_and_deletes(db):
    db.kv_put("keep", 1)
    db.kv_put("drop", 1)
    db.fork_branch("f")
    db.set_branch("f")
    db.kv_put("new", 1)
    db.kv_delete("drop")
    db.set_branch("default")
    result = db.merge_branches("f")
    assert result["keys_applied"] == 2
    assert result["conflicts"] == []
    assert db.kv_list() == ["keep", "new"]
    # the merge is one commit on the target
    assert db.kv_get_versioned("new")["version"] == db.branch_get("default")["version"]
    # merging again applies nothing
    assert db.merge_branches("f")["keys_applied"] == 0


def test_merge_last_writer_wins(db):
    db.kv_put("k", "base")
    db.fork_branch("f")
    db.kv_put("k", "main-early")
    db.set_branch("f")
    db.kv_put("k", "fork-late")
    db.set_branch("default")
    result = db.merge_branches("f", strategy="last_writer_wins")
    assert db.kv_get("k") == "fork-late"
    assert len(result["conflicts"]) == 1
    # and the other way round: the target's later write stays
    db.kv_put("j", "base")
    db.fork_branch("g")
    db.set_branch("g")
    db.kv_put("j", "fork-early")
    db.set_branch("default")
    db.kv_put("j", "main-late")
    db.merge_branches("g")
    assert db.kv_get("j") == "main-late"


def test_merge_strict_conflict_applies_nothing(db):
    db.kv_put("k", "base")
    db.fork_branch("f")
    db.kv_put("k", "main")
    db.set_branch("f")
    db.kv_put("k", "fork")
    db.kv_put("other", "fork-only")
    db.set_branch("default")
    before = H.db_digest(db)
    with H.raises(ConflictError, "k"):
        db.merge_branches("f", strategy="strict")
    assert db.kv_get("k") == "main"
    assert db.kv_get("other") is None
    assert H.db_digest(db) == before


def test_merge_strict_without_conflict(db):
    db.fork_branch("f")
    db.set_branch("f")
    db.kv_put("x", 1)
    db.set_branch("default")
    assert db.merge_branches("f", strategy="strict")["keys_applied"] == 1
    assert db.kv_get("x") == 1


def test_merge_unknown_strategy_and_branch(db):
    db.fork_branch("f")
    with H.raises(InvalidInputError, "nope"):
        db.merge_branches("f", strategy="nope")
    with H.raises(NotFoundError, "ghost"):
        db.merge_branches("ghost")


def test_merge_leaves_source_unchanged(db):
    db.fork_branch("f")
    db.set_branch("f")
    db.kv_put("x", 1)
    db.set_branch("default")
    db.kv_put("y", 2)
    db.merge_branches("f")
    db.set_branch("f")
    assert db.kv_list() == ["x"]


def test_merge_covers_every_primitive(db):
    db.vector_create_collection("c", 2)
    db.fork_branch("f")
    db.set_branch("f")
    db.state_set("cell", 1)
    db.event_append("t", {"e": 1})
    db.json_set("d", "$", {"a": 1})
    db.vector_upsert("c", "v", [1.0, 0.0])
    db.set_branch("default")
    db.merge_branches("f")
    assert db.state_get("cell") == 1
    assert db.event_len() == 1 and db.event_get(0)["value"] == {"e": 1}
    assert db.json_get("d", "$") == {"a": 1}
    assert db.vector_get("c", "v") is not None
    assert [r["key"] for r in db.vector_search("c", [1.0, 0.0], k=1)] == ["v"]


def test_current_branch_deleted_by_other_handle(pair):
    a, b = pair
    a.create_branch("x")
    a.set_branch("x")
    b.delete_branch("x")
    with H.raises(NotFoundError, "x"):
        a.kv_put("k", 1)
    a.set_branch("default")
    a.kv_put("k", 1)


def test_branch_is_per_handle(pair):
    a, b = pair
    a.create_branch("x")
    a.set_branch("x")
    assert b.current_branch() == "default"
    a.kv_put("k", "x")
    assert b.kv_get("k") is None
