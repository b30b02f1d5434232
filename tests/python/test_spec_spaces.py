"""Reference section "Spaces": current/set/list/delete/delete_force/create/exists, and
isolation of every primitive between spaces."""

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
from stratadb import NotFoundError, StrataError


# ----------------------------------------------------------------- code examples


def test_example_current_space(db):
    space = db.current_space()
    assert space == "default"


def test_example_set_space(db):
    db.set_space("conversations")
    assert db.current_space() == "conversations"
    assert db.space_exists("conversations")


def test_example_list_spaces(db):
    db.space_create("b")
    spaces = db.list_spaces()
    assert sorted(spaces) == ["b", "default"]


def test_example_delete_space(db):
    db.space_create("old-space")
    db.delete_space("old-space")
    assert not db.space_exists("old-space")


def test_example_delete_space_force(db):
    db.set_space("old-space")
    db.kv_put("k", 1)
    db.set_space("default")
    db.delete_space_force("old-space")
    assert not db.space_exists("old-space")


def test_example_space_create(db):
    db.space_create("archive")
    assert "archive" in db.list_spaces()
    assert db.current_space() == "default"


def test_example_space_exists(db):
    exists = db.space_exists("archive")
    assert exists is False
    db.space_create("archive")
    assert db.space_exists("archive") is True


# ----------------------------------------------------------------- method by method


def test_default_space_always_exists(db):
    assert db.space_exists("default")
    assert db.list_spaces() == ["default"]


def test_space_create_is_idempotent(db):
    db.space_create("a")
    db.space_create("a")
    assert sorted(db.list_spaces()) == ["a", "default"]


def test_delete_non_empty_space_is_refused(db):
    db.set_space("full")
    db.state_set("c", 1)
    db.set_space("default")
    with H.raises(StrataError, "full"):
        db.delete_space("full")
    assert db.space_exists("full")
    db.set_space("full")
    assert db.state_get("c") == 1


def test_delete_space_force_removes_every_primitive(db):
    db.set_space("x")
    db.kv_put("k", 1)
    db.state_set("c", 1)
    db.event_append("t", 1)
    db.json_set("d", "$", {"a": 1})
    db.vector_create_collection("v", 2)
    db.vector_upsert("v", "a", [1.0, 0.0])
    db.set_space("default")
    db.kv_put("k", "default")
    db.delete_space_force("x")
    assert db.list_spaces() == ["default"]
    assert db.kv_get("k") == "default"
    # recreating the space gives an empty one
    db.set_space("x")
    assert db.kv_list() == [] and db.state_list() == [] and db.event_len() == 0
    assert db.json_list(10)["keys"] == [] and db.vector_list_collections() == []
    assert db.kv_get("k") is None


def test_default_space_cannot_be_deleted(db):
    with H.raises(StrataError, "default"):
        db.delete_space("default")
    with H.raises(StrataError, "default"):
        db.delete_space_force("default")
    assert db.space_exists("default")


def test_delete_unknown_space(db):
    with H.raises(NotFoundError, "ghost"):
        db.delete_space("ghost")
    with H.raises(NotFoundError, "ghost"):
        db.delete_space_force("ghost")


def test_deleting_current_space_moves_to_default(db):
    db.set_space("tmp")
    db.delete_space("tmp")
    assert db.current_space() == "default"
    db.kv_put("k", 1)
    assert db.kv_get("k") == 1


def test_spaces_are_per_branch_and_inherited_by_forks(db):
    db.space_create("s")
    db.create_branch("empty")
    db.fork_branch("forked")
    db.set_branch("empty")
    assert db.list_spaces() == ["default"]
    assert not db.space_exists("s")
    db.set_branch("forked")
    assert sorted(db.list_spaces()) == ["default", "s"]
    db.space_create("only-forked")
    db.set_branch("default")
    assert not db.space_exists("only-forked")


def test_set_branch_keeps_space_if_it_exists_else_default(db):
    db.set_space("s")
    db.fork_branch("f")  # inherits s
    db.create_branch("e")  # has only default
    db.set_branch("f")
    assert db.current_space() == "s"
    db.set_branch("e")
    assert db.current_space() == "default"


def test_every_primitive_is_isolated_between_spaces(db):
    for p in H.PRIMS.values():
        H.check_space_isolation(db, p)
        # each check leaves data in "other"; start the next primitive from scratch
        db.delete_space_force("other")


def test_space_is_per_handle(pair):
    a, b = pair
    a.set_space("s")
    assert b.current_space() == "default"
    a.kv_put("k", 1)
    assert b.kv_get("k") is None
    b.set_space("s")
    assert b.kv_get("k") == 1
