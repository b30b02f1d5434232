"""Reliability: every method under bad input. Each call must raise a clear exception (a
StrataError subclass, or TypeError for a Python type error) whose message names what was
wrong, and leave the database unchanged (a digest of all branches, spaces and
primitives is taken before and after). Never a crash, never a partial write.

Cases run against one populated database per module (two branches, two spaces, every
primitive); each case compares digests around its own call.
"""

import math
import threading

import numpy as np
import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
from stratadb import (
    ClosedError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    Strata,
    StrataError,
)

# Things that exist in the populated database (see spec_helpers.populate).
KEY, CELL, DOC, COLL, DIM = "k:main:1", "cell:main", "doc:main", "vc_main", 4
GOOD_VEC = [0.1, 0.2, 0.3, 0.4]


@pytest.fixture(scope="module")
def pdb():
    db = Strata.cache()
    H.populate(db)
    yield db
    db.close()


@pytest.fixture(autouse=True)
def _reset(request):
    yield
    if "pdb" in request.fixturenames:
        db = request.getfixturevalue("pdb")
        if db.txn_is_active():
            db.rollback()
        db.set_branch("default")
        db.set_space("default")


def check_refused(db, call, exc, words):
    """Runs `call(db)`, requires `exc` naming each of `words` (any of a tuple), and an
    unchanged database."""
    before = H.db_state(db)
    with pytest.raises(exc) as info:
        call(db)
    err = info.value
    # a StrataError subclass or a TypeError, nothing else (no ValueError, no panic text)
    assert isinstance(err, (StrataError, TypeError)), repr(err)
    assert "panic" not in str(err).lower() and "internal error" not in str(err).lower(), repr(err)
    for w in words:
        alts = w if isinstance(w, tuple) else (w,)
        assert H.message_names_one_of(err, alts), f"message does not name {alts}: {err!r}"
    if db.txn_is_active():
        db.rollback()
    db.set_branch("default")
    db.set_space("default")
    after = H.db_state(db)
    assert H.digest_of(after) == H.digest_of(before), "the refused call changed the database"


# ----------------------------------------------------------------- wrong types per argument

# kinds: S str, I int, B bool, V any value, VEC vector, MD metadata dict, L list, D dict,
# P path, C callable. A trailing "?" marks an optional argument.
SIGS = {
    "kv_put": [("key", "S", KEY), ("value", "V", 1)],
    "kv_get": [("key", "S", KEY), ("as_of", "I?", None)],
    "kv_delete": [("key", "S", KEY)],
    "kv_list": [("prefix", "S?", None)],
    "kv_history": [("key", "S", KEY)],
    "kv_get_versioned": [("key", "S", KEY)],
    "kv_list_paginated": [("prefix", "S?", None), ("limit", "I?", None), ("cursor", "S?", None)],
    "state_set": [("cell", "S", CELL), ("value", "V", 1)],
    "state_get": [("cell", "S", CELL), ("as_of", "I?", None)],
    "state_init": [("cell", "S", "new-cell"), ("value", "V", 1)],
    "state_cas": [("cell", "S", CELL), ("new_value", "V", 1), ("expected_version", "I?", None)],
    "state_delete": [("cell", "S", CELL)],
    "state_list": [("prefix", "S?", None)],
    "state_history": [("cell", "S", CELL)],
    "state_get_versioned": [("cell", "S", CELL)],
    "event_append": [("event_type", "S", "audit"), ("payload", "V", {})],
    "event_get": [("sequence", "I", 0)],
    "event_list": [("event_type", "S", "audit")],
    "event_list_paginated": [("event_type", "S", "audit"), ("limit", "I?", None), ("after", "I?", None)],
    "json_set": [("key", "S", DOC), ("path", "S", "$.x"), ("value", "V", 1)],
    "json_get": [("key", "S", DOC), ("path", "S", "$"), ("as_of", "I?", None)],
    "json_delete": [("key", "S", DOC), ("path", "S", "$.name")],
    "json_list": [("limit", "I", 10), ("prefix", "S?", None), ("cursor", "S?", None)],
    "json_history": [("key", "S", DOC)],
    "json_get_versioned": [("key", "S", DOC)],
    "vector_create_collection": [("collection", "S", "newcoll"), ("dimension", "I", 3), ("metric", "S?", None)],
    "vector_delete_collection": [("collection", "S", COLL)],
    "vector_upsert": [("collection", "S", COLL), ("key", "S", "a"), ("vector", "VEC", GOOD_VEC), ("metadata", "MD?", None)],
    "vector_get": [("collection", "S", COLL), ("key", "S", "a")],
    "vector_delete": [("collection", "S", COLL), ("key", "S", "a")],
    "vector_search": [("collection", "S", COLL), ("query", "VEC", GOOD_VEC), ("k", "I", 2), ("as_of", "I?", None)],
    "vector_search_filtered": [
        ("collection", "S", COLL), ("query", "VEC", GOOD_VEC), ("k", "I", 2),
        ("metric", "S?", None), ("filter", "L?", None),
    ],
    "vector_collection_stats": [("collection", "S", COLL)],
    "vector_batch_upsert": [("collection", "S", COLL), ("vectors", "L", [{"key": "z", "vector": GOOD_VEC}])],
    "set_branch": [("branch", "S", "feature")],
    "create_branch": [("branch", "S", "newbranch")],
    "delete_branch": [("branch", "S", "feature")],
    "branch_exists": [("name", "S", "feature")],
    "branch_get": [("name", "S", "feature")],
    "fork_branch": [("destination", "S", "newfork")],
    "diff_branches": [("branch_a", "S", "default"), ("branch_b", "S", "feature")],
    "merge_branches": [("source", "S", "feature"), ("strategy", "S?", None)],
    "set_space": [("space", "S", "s1")],
    "delete_space": [("space", "S", "s1")],
    "delete_space_force": [("space", "S", "s1")],
    "space_create": [("space", "S", "news")],
    "space_exists": [("space", "S", "s1")],
    "begin": [("read_only", "B?", None)],
    "search": [
        ("query", "S", "main"), ("k", "I?", None), ("primitives", "L?", None),
        ("time_range", "D?", None), ("mode", "S?", None), ("expand", "B?", None), ("rerank", "B?", None),
    ],
    "time_range": [("branch", "S?", None)],
    "branch_export": [("branch", "S", "default"), ("path", "P", "/nonexistent-dir/x.bundle")],
    "branch_import": [("path", "P", "/nonexistent-dir/x.bundle")],
    "branch_validate_bundle": [("path", "P", "/nonexistent-dir/x.bundle")],
    "configure_model": [("embed", "C?", None), ("expand", "C?", None), ("rerank", "C?", None)],
}

WRONG = {
    "S": (12345, TypeError),
    "I": ("12", TypeError),
    "B": ("yes", TypeError),
    "V": (object(), (TypeError, InvalidInputError)),
    "VEC": ("abcd", (TypeError, InvalidInputError)),
    "MD": ("not a dict", (TypeError, InvalidInputError)),
    "L": (12345, (TypeError, InvalidInputError)),
    "D": ("not a dict", (TypeError, InvalidInputError)),
    "P": (12345, TypeError),
    "C": (5, (TypeError, InvalidInputError)),
}


def wrong_type_cases():
    for method, params in SIGS.items():
        for i, (pname, kind, _good) in enumerate(params):
            bad, exc = WRONG[kind.rstrip("?")]
            args = {}
            for j, (qname, qkind, qgood) in enumerate(params):
                if j == i:
                    args[qname] = bad
                elif not qkind.endswith("?"):
                    args[qname] = qgood
            yield pytest.param(method, args, exc, pname, id=f"{method}-{pname}")


@pytest.mark.parametrize("method, kwargs, exc, pname", list(wrong_type_cases()))
def test_wrong_type(pdb, method, kwargs, exc, pname):
    params = SIGS[method]
    required = [p[0] for p in params if not p[1].endswith("?")]
    pos = [kwargs[n] for n in required]
    kw = {n: v for n, v in kwargs.items() if n not in required}
    check_refused(pdb, lambda db: getattr(db, method)(*pos, **kw), exc, [pname])


def test_wrong_type_transaction_read_only(pdb):
    def call(db):
        with db.transaction(read_only="yes"):
            db.kv_put("x", 1)

    check_refused(pdb, call, TypeError, ["read_only"])


def test_none_for_required_string(pdb):
    check_refused(pdb, lambda db: db.kv_put(None, 1), TypeError, ["key"])
    check_refused(pdb, lambda db: db.vector_get(None, "a"), TypeError, ["collection"])
    check_refused(pdb, lambda db: db.set_branch(None), TypeError, ["branch"])


# ----------------------------------------------------------------- values, keys and names

DEEP_LEVELS = 10_000


def deep_dict(levels=DEEP_LEVELS):
    d = {}
    for _ in range(levels):
        d = {"a": d}
    return d


def deep_list(levels=DEEP_LEVELS):
    v = []
    for _ in range(levels):
        v = [v]
    return v


LONG = "x" * 1025
NAME_LONG = "n" * 300

I = InvalidInputError
CASES = [
    # keys: empty, NUL, too long; reads are refused like writes
    ("kv_put-empty-key", lambda db: db.kv_put("", 1), I, ["key"]),
    ("kv_put-nul-key", lambda db: db.kv_put("a\x00b", 1), I, ["key"]),
    ("kv_put-long-key", lambda db: db.kv_put(LONG, 1), I, ["key", "1024"]),
    ("kv_get-long-key", lambda db: db.kv_get(LONG), I, ["key"]),
    ("kv_get-empty-key", lambda db: db.kv_get(""), I, ["key"]),
    ("kv_delete-nul-key", lambda db: db.kv_delete("\x00"), I, ["key"]),
    ("kv_history-long-key", lambda db: db.kv_history(LONG), I, ["key"]),
    ("kv_get_versioned-empty", lambda db: db.kv_get_versioned(""), I, ["key"]),
    ("state_set-empty", lambda db: db.state_set("", 1), I, ["cell"]),
    ("state_set-nul", lambda db: db.state_set("c\x00", 1), I, ["cell"]),
    ("state_set-long", lambda db: db.state_set(LONG, 1), I, ["cell"]),
    ("state_init-long", lambda db: db.state_init(LONG, 1), I, ["cell"]),
    ("state_cas-empty", lambda db: db.state_cas("", 1), I, ["cell"]),
    ("state_get-nul", lambda db: db.state_get("\x00"), I, ["cell"]),
    ("json_set-empty-key", lambda db: db.json_set("", "$", {}), I, ["key"]),
    ("json_set-nul-key", lambda db: db.json_set("d\x00", "$", {}), I, ["key"]),
    ("json_set-long-key", lambda db: db.json_set(LONG, "$", {}), I, ["key"]),
    ("json_get-long-key", lambda db: db.json_get(LONG, "$"), I, ["key"]),
    ("event_append-empty-type", lambda db: db.event_append("", {}), I, ["event type"]),
    ("event_append-nul-type", lambda db: db.event_append("a\x00", {}), I, ["event type"]),
    ("event_append-long-type", lambda db: db.event_append("t" * 257, {}), I, ["event type"]),
    ("vector_upsert-empty-key", lambda db: db.vector_upsert(COLL, "", GOOD_VEC), I, ["key"]),
    ("vector_upsert-40k-key", lambda db: db.vector_upsert(COLL, "v" * 40_000, GOOD_VEC), I, ["key"]),
    ("vector_create-empty-name", lambda db: db.vector_create_collection("", 3), I, ["collection"]),
    ("vector_create-nul-name", lambda db: db.vector_create_collection("c\x00", 3), I, ["collection"]),
    ("vector_create-long-name", lambda db: db.vector_create_collection(NAME_LONG, 3), I, ["collection"]),
    ("create_branch-empty", lambda db: db.create_branch(""), I, ["branch"]),
    ("create_branch-nul", lambda db: db.create_branch("b\x00"), I, ["branch"]),
    ("create_branch-long", lambda db: db.create_branch(NAME_LONG), I, ["branch"]),
    ("create_branch-slash", lambda db: db.create_branch("a/b"), I, ["branch"]),
    ("fork_branch-empty", lambda db: db.fork_branch(""), I, ["branch"]),
    ("space_create-empty", lambda db: db.space_create(""), I, ["space"]),
    ("space_create-nul", lambda db: db.space_create("s\x00"), I, ["space"]),
    ("space_create-long", lambda db: db.space_create(NAME_LONG), I, ["space"]),
    ("set_space-empty", lambda db: db.set_space(""), I, ["space"]),
    # values
    ("kv_put-unsupported", lambda db: db.kv_put("k", {1, 2}), I, ["value"]),
    ("kv_put-int-overflow", lambda db: db.kv_put("k", 2**70), I, ["value"]),
    ("kv_put-nonstr-dict-key", lambda db: db.kv_put("k", {1: 2}), I, ["value"]),
    ("kv_put-deep-dict", lambda db: db.kv_put("k", deep_dict()), I, ["nest"]),
    ("kv_put-deep-list", lambda db: db.kv_put("k", deep_list()), I, ["nest"]),
    ("state_set-deep", lambda db: db.state_set("c", deep_dict()), I, ["nest"]),
    ("event_append-deep", lambda db: db.event_append("t", deep_dict()), I, ["nest"]),
    ("json_set-deep-root", lambda db: db.json_set("d", "$", deep_dict()), I, ["nest"]),
    ("json_set-deep-at-path", lambda db: db.json_set(DOC, "$.x", deep_dict()), I, ["nest"]),
    ("json_set-deep-257", lambda db: db.json_set(DOC, "$.x", deep_dict(256)), I, [("nest", "deep")]),
    ("vector_metadata-deep", lambda db: db.vector_upsert(COLL, "d", GOOD_VEC, deep_dict()), I, ["nest"]),
    ("json_set-scalar-root", lambda db: db.json_set("d", "$", 5), I, ["object"]),
    ("json_set-type-mismatch", lambda db: db.json_set(DOC, "$.name[0]", 1), StrataError, [("name", "array", "string")]),
    # JSONPath
    ("json_get-bad-path", lambda db: db.json_get(DOC, "$.["), I, ["path"]),
    ("json_get-no-dollar", lambda db: db.json_get(DOC, "name"), I, ["path"]),
    ("json_set-bad-path", lambda db: db.json_set(DOC, "$..[", 1), I, ["path"]),
    ("json_set-filter-path", lambda db: db.json_set(DOC, "$[?@.x", 1), I, ["path"]),
    ("json_delete-bad-path", lambda db: db.json_delete(DOC, "$['unterminated"), I, ["path"]),
    ("json_get-deep-path", lambda db: db.json_get(DOC, "$" + ".a" * DEEP_LEVELS), I, ["path"]),
    ("json_get-empty-path", lambda db: db.json_get(DOC, ""), I, ["path"]),
    # vectors
    ("vector_upsert-nan", lambda db: db.vector_upsert(COLL, "n", [math.nan, 0, 0, 1]), I, ["nan"]),
    ("vector_upsert-inf", lambda db: db.vector_upsert(COLL, "n", np.array([np.inf, 0, 0, 1], dtype=np.float32)), I, [("inf", "finite")]),
    ("vector_upsert-f64-overflow", lambda db: db.vector_upsert(COLL, "n", np.array([1e300, 0, 0, 1])), I, [("inf", "finite", "range")]),
    ("vector_search-nan", lambda db: db.vector_search(COLL, [math.nan] * DIM, k=1), I, ["nan"]),
    ("vector_filtered-nan", lambda db: db.vector_search_filtered(COLL, [0, math.nan, 0, 0], k=1), I, ["nan"]),
    ("vector_batch-nan", lambda db: db.vector_batch_upsert(COLL, [{"key": "ok", "vector": GOOD_VEC}, {"key": "n", "vector": [math.nan] * DIM}]), I, ["nan"]),
    ("vector_upsert-zero-cosine", lambda db: db.vector_upsert(COLL, "z", [0.0] * DIM), I, [("zero", "norm")]),
    ("vector_upsert-short", lambda db: db.vector_upsert(COLL, "s", [1.0, 2.0, 3.0]), I, ["dimension"]),
    ("vector_upsert-long", lambda db: db.vector_upsert(COLL, "s", [1.0] * 5), I, ["dimension"]),
    ("vector_upsert-empty", lambda db: db.vector_upsert(COLL, "s", []), I, [("dimension", "empty")]),
    ("vector_search-wrong-dim", lambda db: db.vector_search(COLL, [1.0, 2.0], k=1), I, ["dimension"]),
    ("vector_batch-wrong-dim", lambda db: db.vector_batch_upsert(COLL, [{"key": "ok", "vector": GOOD_VEC}, {"key": "bad", "vector": [1.0]}]), I, ["dimension"]),
    ("vector_batch-missing-field", lambda db: db.vector_batch_upsert(COLL, [{"key": "nov"}]), (I, TypeError), ["vector"]),
    ("vector_batch-not-dict-item", lambda db: db.vector_batch_upsert(COLL, ["nope"]), (I, TypeError), [("vector", "item", "dict")]),
    ("vector_create-zero-dim", lambda db: db.vector_create_collection("z", 0), I, ["dimension"]),
    ("vector_create-negative-dim", lambda db: db.vector_create_collection("z", -3), I, ["dimension"]),
    ("vector_create-huge-dim", lambda db: db.vector_create_collection("z", 10**7), I, ["dimension"]),
    ("vector_create-unknown-metric", lambda db: db.vector_create_collection("z", 3, metric="manhattan"), I, ["manhattan"]),
    ("vector_create-existing", lambda db: db.vector_create_collection(COLL, 4), StrataError, [COLL]),
    ("vector_filtered-unknown-metric", lambda db: db.vector_search_filtered(COLL, GOOD_VEC, k=1, metric="manhattan"), I, ["manhattan"]),
    ("vector_search-negative-k", lambda db: db.vector_search(COLL, GOOD_VEC, k=-1), I, ["k"]),
    ("vector_search-negative-as_of", lambda db: db.vector_search(COLL, GOOD_VEC, k=1, as_of=-5), I, ["as_of"]),
    ("vector_filter-unknown-op", lambda db: db.vector_search_filtered(COLL, GOOD_VEC, k=1, filter=[{"field": "tag", "op": "like", "value": "x"}]), I, ["like"]),
    ("vector_filter-not-list", lambda db: db.vector_search_filtered(COLL, GOOD_VEC, k=1, filter={"field": "tag"}), (I, TypeError), ["filter"]),
    ("vector_filter-missing-field", lambda db: db.vector_search_filtered(COLL, GOOD_VEC, k=1, filter=[{"op": "eq", "value": 1}]), I, ["field"]),
    ("vector_filter-in-not-list", lambda db: db.vector_search_filtered(COLL, GOOD_VEC, k=1, filter=[{"field": "tag", "op": "in", "value": 3}]), I, ["in"]),
    ("vector_metadata-not-dict", lambda db: db.vector_upsert(COLL, "m", GOOD_VEC, [1, 2]), (I, TypeError), ["metadata"]),
    # unknown collection
    ("vector_upsert-ghost", lambda db: db.vector_upsert("ghost", "a", GOOD_VEC), NotFoundError, ["ghost"]),
    ("vector_get-ghost", lambda db: db.vector_get("ghost", "a"), NotFoundError, ["ghost"]),
    ("vector_delete-ghost", lambda db: db.vector_delete("ghost", "a"), NotFoundError, ["ghost"]),
    ("vector_search-ghost", lambda db: db.vector_search("ghost", GOOD_VEC, k=1), NotFoundError, ["ghost"]),
    ("vector_filtered-ghost", lambda db: db.vector_search_filtered("ghost", GOOD_VEC, k=1), NotFoundError, ["ghost"]),
    ("vector_stats-ghost", lambda db: db.vector_collection_stats("ghost"), NotFoundError, ["ghost"]),
    ("vector_batch-ghost", lambda db: db.vector_batch_upsert("ghost", [{"key": "a", "vector": GOOD_VEC}]), NotFoundError, ["ghost"]),
    # negative integers
    ("kv_get-negative-as_of", lambda db: db.kv_get(KEY, as_of=-1), I, ["as_of"]),
    ("state_get-negative-as_of", lambda db: db.state_get(CELL, as_of=-1), I, ["as_of"]),
    ("json_get-negative-as_of", lambda db: db.json_get(DOC, "$", as_of=-1), I, ["as_of"]),
    ("event_get-negative", lambda db: db.event_get(-1), I, ["sequence"]),
    ("event_list-negative-limit", lambda db: db.event_list_paginated("audit", limit=-1), I, ["limit"]),
    ("event_list-negative-after", lambda db: db.event_list_paginated("audit", after=-2), I, ["after"]),
    ("kv_list_paginated-negative-limit", lambda db: db.kv_list_paginated(limit=-1), I, ["limit"]),
    ("json_list-negative-limit", lambda db: db.json_list(-1), I, ["limit"]),
    ("state_cas-negative-version", lambda db: db.state_cas(CELL, 1, expected_version=-1), I, ["expected_version"]),
    ("search-negative-k", lambda db: db.search("main", k=-1), I, ["k"]),
    ("search-zero-k", lambda db: db.search("main", k=0), I, ["k"]),
    # integers beyond 64 bits: a refused value like -1, not an OverflowError
    ("kv_get-as_of-2**64", lambda db: db.kv_get(KEY, as_of=2**64), (I, TypeError), ["as_of"]),
    ("event_get-2**64", lambda db: db.event_get(2**64), (I, TypeError), ["sequence"]),
    ("vector_search-k-2**64", lambda db: db.vector_search(COLL, GOOD_VEC, k=2**64), (I, TypeError), ["k"]),
    ("vector_create-dim-2**64", lambda db: db.vector_create_collection("z", 2**64), (I, TypeError), ["dimension"]),
    ("state_cas-version-2**64", lambda db: db.state_cas(CELL, 1, expected_version=2**64), (I, TypeError), ["expected_version"]),
    ("json_list-limit-2**64", lambda db: db.json_list(2**64), (I, TypeError), ["limit"]),
    # search
    ("search-empty-query", lambda db: db.search("   "), I, ["query"]),
    ("search-unknown-mode", lambda db: db.search("main", mode="semantic"), I, ["semantic"]),
    ("search-unknown-primitive", lambda db: db.search("main", primitives=["nosuch"]), I, ["nosuch"]),
    ("search-bad-iso-start", lambda db: db.search("main", time_range={"start": "yesterday", "end": "2026-01-01T00:00:00Z"}), I, ["yesterday"]),
    ("search-bad-iso-month", lambda db: db.search("main", time_range={"start": "2026-13-01", "end": "2026-12-01"}), I, ["2026-13-01"]),
    ("search-bad-iso-end", lambda db: db.search("main", time_range={"start": "2026-01-01", "end": "2026-02-30T00:00:00Z"}), I, ["2026-02-30"]),
    # branches and spaces
    ("set_branch-ghost", lambda db: db.set_branch("ghost"), NotFoundError, ["ghost"]),
    ("delete_branch-ghost", lambda db: db.delete_branch("ghost"), NotFoundError, ["ghost"]),
    ("delete_branch-default", lambda db: db.delete_branch("default"), StrataError, ["default"]),
    ("delete_branch-parent-of-fork", lambda db: (db.set_branch("feature"), db.delete_branch("default")), StrataError, ["default"]),
    ("create_branch-existing", lambda db: db.create_branch("feature"), StrataError, ["feature"]),
    ("fork_branch-existing", lambda db: db.fork_branch("feature"), StrataError, ["feature"]),
    ("diff_branches-ghost", lambda db: db.diff_branches("default", "ghost"), NotFoundError, ["ghost"]),
    ("merge_branches-ghost", lambda db: db.merge_branches("ghost"), NotFoundError, ["ghost"]),
    ("merge_branches-bad-strategy", lambda db: db.merge_branches("feature", strategy="newest"), I, ["newest"]),
    ("time_range-ghost", lambda db: db.time_range("ghost"), NotFoundError, ["ghost"]),
    ("branch_export-ghost", lambda db: db.branch_export("ghost", "/tmp/strata-spec-ghost.bundle"), NotFoundError, ["ghost"]),
    ("branch_export-bad-dir", lambda db: db.branch_export("default", "/nonexistent-dir/x.bundle"), StrataError, ["nonexistent-dir"]),
    ("branch_import-missing", lambda db: db.branch_import("/nonexistent-dir/x.bundle"), StrataError, ["nonexistent-dir"]),
    ("branch_validate-missing", lambda db: db.branch_validate_bundle("/nonexistent-dir/x.bundle"), StrataError, ["nonexistent-dir"]),
    ("delete_space-ghost", lambda db: db.delete_space("ghost"), NotFoundError, ["ghost"]),
    ("delete_space_force-ghost", lambda db: db.delete_space_force("ghost"), NotFoundError, ["ghost"]),
    ("delete_space-not-empty", lambda db: db.delete_space("s1"), StrataError, ["s1"]),
    ("delete_space-default", lambda db: db.delete_space("default"), StrataError, ["default"]),
    # variant names refuse the same things
    ("branch_use-ghost", lambda db: db.branch_use("ghost"), NotFoundError, ["ghost"]),
    ("branch_delete-ghost", lambda db: db.branch_delete("ghost"), NotFoundError, ["ghost"]),
    ("branch_create-existing", lambda db: db.branch_create("feature"), StrataError, ["feature"]),
    ("branch_create-empty", lambda db: db.branch_create(""), I, ["branch"]),
    ("branch_fork-ghost-source", lambda db: db.branch_fork("ghost", "x"), NotFoundError, ["ghost"]),
    ("branch_fork-existing-dest", lambda db: db.branch_fork("default", "feature"), StrataError, ["feature"]),
    ("branch_diff-ghost", lambda db: db.branch_diff("ghost", "default"), NotFoundError, ["ghost"]),
    ("branch_merge-ghost-target", lambda db: db.branch_merge("feature", "ghost"), NotFoundError, ["ghost"]),
    ("branch_merge-bad-strategy", lambda db: db.branch_merge("feature", "default", "newest"), I, ["newest"]),
    ("space_use-empty", lambda db: db.space_use(""), I, ["space"]),
    ("space_delete-not-empty", lambda db: db.space_delete("s1"), StrataError, ["s1"]),
    ("space_delete-ghost", lambda db: db.space_delete("ghost"), NotFoundError, ["ghost"]),
    ("state_cas-expected-wrong-type", lambda db: db.state_cas(CELL, 1, expected="3"), TypeError, ["expected"]),
    ("vector_search-filters-bad-op", lambda db: db.vector_search(COLL, GOOD_VEC, 1, filters=[{"field": "t", "op": "like", "value": 1}]), I, ["like"]),
    ("vector_search-metric-unknown", lambda db: db.vector_search(COLL, GOOD_VEC, 1, metric="manhattan"), I, ["manhattan"]),
    ("event_list-negative-limit-variant", lambda db: db.event_list("audit", limit=-1), I, ["limit"]),
    # transactions
    ("commit-without-txn", lambda db: db.commit(), StrataError, ["transaction"]),
    ("rollback-without-txn", lambda db: db.rollback(), StrataError, ["transaction"]),
    ("begin-twice", lambda db: (db.begin(), db.kv_put("in-txn", 1), db.begin()), StrataError, ["transaction"]),
    ("write-in-read-only", lambda db: (db.begin(read_only=True), db.kv_put("ro", 1)), StrataError, ["read-only"]),
]


@pytest.mark.parametrize("call, exc, words", [pytest.param(c, e, w, id=i) for i, c, e, w in CASES])
def test_refused(pdb, call, exc, words):
    check_refused(pdb, call, exc, words)


def test_huge_k_and_limits_are_not_errors(pdb):
    """The largest int64 values are valid counts: everything is returned, no overflow."""
    assert len(pdb.search("main", k=2**63 - 1, mode="keyword")) >= 1
    assert [r["key"] for r in pdb.vector_search(COLL, GOOD_VEC, k=2**63 - 1)] != []
    assert pdb.kv_list_paginated(limit=2**63 - 1)["cursor"] is None
    assert pdb.json_list(2**63 - 1)["cursor"] is None
    assert len(pdb.event_list("audit", limit=2**63 - 1)) == 1
    assert pdb.kv_get(KEY, as_of=2**63 - 1) == {"tag": "main", "n": 2}


def test_invalid_import_bundle_file(pdb, tmp_path):
    junk = tmp_path / "junk.bundle"
    junk.write_bytes(b"this is not a bundle" * 100)
    check_refused(pdb, lambda db: db.branch_import(str(junk)), StrataError, ["bundle"])
    empty = tmp_path / "empty.bundle"
    empty.write_bytes(b"")
    check_refused(pdb, lambda db: db.branch_import(str(empty)), StrataError, ["bundle"])
    try:
        info = pdb.branch_validate_bundle(str(junk))
    except StrataError as e:
        assert "bundle" in str(e).lower()
    else:
        assert info["checksums_valid"] is False


def test_bad_values_inside_transaction_keep_the_transaction(pdb):
    """A refused write inside a transaction neither commits nor aborts the others."""
    before = H.db_state(pdb)
    pdb.begin()
    pdb.kv_put("txn-ok", 1)
    with pytest.raises(InvalidInputError):
        pdb.kv_put("", 1)
    with pytest.raises(InvalidInputError):
        pdb.vector_upsert(COLL, "n", [math.nan] * DIM)
    assert pdb.txn_is_active()
    assert pdb.kv_get("txn-ok") == 1
    pdb.rollback()
    assert H.digest_of(H.db_state(pdb)) == H.digest_of(before)


# ----------------------------------------------------------------- keys the engine may accept


def test_vector_key_with_nul_round_trips_or_is_refused(db):
    db.vector_create_collection("c", 2)
    try:
        db.vector_upsert("c", "a\x00b", [1.0, 0.0])
    except InvalidInputError as e:
        assert "key" in str(e).lower()
        assert db.vector_collection_stats("c")["count"] == 0
        return
    assert db.vector_get("c", "a\x00b")["key"] == "a\x00b"
    assert db.vector_get("c", "a") is None
    assert [r["key"] for r in db.vector_search("c", [1.0, 0.0], k=5)] == ["a\x00b"]


def test_vector_key_over_1024_bytes_round_trips_or_is_refused(db):
    db.vector_create_collection("c", 2)
    key = "v" * 2000
    try:
        db.vector_upsert("c", key, [1.0, 0.0])
    except InvalidInputError as e:
        assert "key" in str(e).lower()
        return
    assert db.vector_get("c", key)["key"] == key


# ----------------------------------------------------------------- huge values


def test_100mb_bytes_value_round_trips_or_is_refused(db):
    """Decided by the engine: it stores large values (no size limit below fjall's), so a
    100 MB value must come back byte for byte, in every primitive that stores values."""
    big = bytes(range(256)) * (100 * 1024 * 1024 // 256)
    assert len(big) == 100 * 1024 * 1024
    v = db.kv_put("big", big)
    assert type(v) is int and v > 0
    got = db.kv_get("big")
    assert type(got) is bytes and len(got) == len(big) and got == big
    del got
    db.kv_put("small", 1)
    assert db.kv_get("small") == 1
    assert db.kv_delete("big") is True
    assert db.kv_get("big") is None


def test_large_values_in_other_primitives(db):
    blob = b"\xab" * (8 * 1024 * 1024)
    db.state_set("c", blob)
    assert db.state_get("c") == blob
    seq = db.event_append("t", {"blob": blob})
    assert db.event_get(seq)["value"]["blob"] == blob
    db.json_set("d", "$", {"blob": blob})
    assert db.json_get("d", "$.blob") == blob
    big_list = list(range(200_000))
    db.kv_put("list", big_list)
    assert db.kv_get("list") == big_list


# ----------------------------------------------------------------- closed handle

CLOSED_CALLS = {
    "kv_put": lambda db: db.kv_put("k", 1),
    "kv_get": lambda db: db.kv_get("k"),
    "kv_delete": lambda db: db.kv_delete("k"),
    "kv_list": lambda db: db.kv_list(),
    "kv_history": lambda db: db.kv_history("k"),
    "kv_get_versioned": lambda db: db.kv_get_versioned("k"),
    "kv_list_paginated": lambda db: db.kv_list_paginated(),
    "state_set": lambda db: db.state_set("c", 1),
    "state_get": lambda db: db.state_get("c"),
    "state_init": lambda db: db.state_init("c", 1),
    "state_cas": lambda db: db.state_cas("c", 1),
    "state_delete": lambda db: db.state_delete("c"),
    "state_list": lambda db: db.state_list(),
    "state_history": lambda db: db.state_history("c"),
    "state_get_versioned": lambda db: db.state_get_versioned("c"),
    "event_append": lambda db: db.event_append("t", 1),
    "event_get": lambda db: db.event_get(0),
    "event_list": lambda db: db.event_list("t"),
    "event_len": lambda db: db.event_len(),
    "event_list_paginated": lambda db: db.event_list_paginated("t"),
    "json_set": lambda db: db.json_set("d", "$", {}),
    "json_get": lambda db: db.json_get("d", "$"),
    "json_delete": lambda db: db.json_delete("d", "$"),
    "json_list": lambda db: db.json_list(10),
    "json_history": lambda db: db.json_history("d"),
    "json_get_versioned": lambda db: db.json_get_versioned("d"),
    "vector_create_collection": lambda db: db.vector_create_collection("c", 2),
    "vector_delete_collection": lambda db: db.vector_delete_collection("c"),
    "vector_list_collections": lambda db: db.vector_list_collections(),
    "vector_upsert": lambda db: db.vector_upsert("c", "k", [1.0, 0.0]),
    "vector_get": lambda db: db.vector_get("c", "k"),
    "vector_delete": lambda db: db.vector_delete("c", "k"),
    "vector_search": lambda db: db.vector_search("c", [1.0, 0.0], k=1),
    "vector_search_filtered": lambda db: db.vector_search_filtered("c", [1.0, 0.0], k=1),
    "vector_collection_stats": lambda db: db.vector_collection_stats("c"),
    "vector_batch_upsert": lambda db: db.vector_batch_upsert("c", []),
    "current_branch": lambda db: db.current_branch(),
    "set_branch": lambda db: db.set_branch("default"),
    "create_branch": lambda db: db.create_branch("b"),
    "list_branches": lambda db: db.list_branches(),
    "delete_branch": lambda db: db.delete_branch("b"),
    "branch_exists": lambda db: db.branch_exists("default"),
    "branch_get": lambda db: db.branch_get("default"),
    "fork_branch": lambda db: db.fork_branch("f"),
    "diff_branches": lambda db: db.diff_branches("default", "default"),
    "merge_branches": lambda db: db.merge_branches("default"),
    "current_space": lambda db: db.current_space(),
    "set_space": lambda db: db.set_space("s"),
    "list_spaces": lambda db: db.list_spaces(),
    "delete_space": lambda db: db.delete_space("s"),
    "delete_space_force": lambda db: db.delete_space_force("s"),
    "space_create": lambda db: db.space_create("s"),
    "space_exists": lambda db: db.space_exists("s"),
    "transaction": lambda db: db.transaction().__enter__(),
    "begin": lambda db: db.begin(),
    "commit": lambda db: db.commit(),
    "rollback": lambda db: db.rollback(),
    "txn_info": lambda db: db.txn_info(),
    "txn_is_active": lambda db: db.txn_is_active(),
    "search": lambda db: db.search("x"),
    "ping": lambda db: db.ping(),
    "info": lambda db: db.info(),
    "flush": lambda db: db.flush(),
    "compact": lambda db: db.compact(),
    "time_range": lambda db: db.time_range(),
    "branch_export": lambda db: db.branch_export("default", "/tmp/strata-spec-closed.bundle"),
    "branch_import": lambda db: db.branch_import("/tmp/strata-spec-closed.bundle"),
    "branch_validate_bundle": lambda db: db.branch_validate_bundle("/tmp/strata-spec-closed.bundle"),
    "configure_model": lambda db: db.configure_model(),
}


def test_closed_calls_cover_the_reference():
    assert set(CLOSED_CALLS) == set(H.REFERENCE_SIGNATURES)


@pytest.fixture(scope="module")
def closed_db(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("closed") / "db")
    db = Strata.open(path)
    db.kv_put("k", "kept")
    db.close()
    return db, path


@pytest.mark.parametrize("method", sorted(CLOSED_CALLS))
def test_closed_handle(closed_db, method):
    db, _ = closed_db
    with pytest.raises(ClosedError) as info:
        CLOSED_CALLS[method](db)
    assert "closed" in str(info.value).lower()
    assert info.value.code == "closed"


ALIAS_CLOSED_CALLS = {
    "branch_create": lambda db: db.branch_create("b"),
    "branch_list": lambda db: db.branch_list(),
    "branch_delete": lambda db: db.branch_delete("b"),
    "branch_fork": lambda db: db.branch_fork("default", "f"),
    "branch_diff": lambda db: db.branch_diff("default", "default"),
    "branch_merge": lambda db: db.branch_merge("default", "default"),
    "branch_use": lambda db: db.branch_use("default"),
    "space_list": lambda db: db.space_list(),
    "space_delete": lambda db: db.space_delete("s"),
    "space_use": lambda db: db.space_use("s"),
    "in_transaction": lambda db: db.in_transaction(),
}


@pytest.mark.parametrize("method", sorted(ALIAS_CLOSED_CALLS))
def test_closed_handle_variant_names(closed_db, method):
    db, _ = closed_db
    with pytest.raises(ClosedError):
        ALIAS_CLOSED_CALLS[method](db)


def test_closed_handle_calls_changed_nothing(closed_db):
    # runs after the parametrized calls above (file order)
    _, path = closed_db
    again = Strata.open(path)
    try:
        assert again.kv_list() == ["k"] and again.kv_get("k") == "kept"
        assert again.list_branches() == ["default"]
        assert again.list_spaces() == ["default"]
        assert again.event_len() == 0 and again.state_list() == []
        assert again.vector_list_collections() == []
    finally:
        again.close()


def test_closed_handle_with_open_transaction_discards_it(db_path):
    db = Strata.open(db_path)
    db.begin()
    db.kv_put("pending", 1)
    db.close()
    with pytest.raises(ClosedError):
        db.commit()
    again = Strata.open(db_path)
    assert again.kv_get("pending") is None
    again.close()


# ----------------------------------------------------------------- concurrent begin


def test_concurrent_begin_from_two_threads(pdb):
    """Two threads call begin() on one handle at once: exactly one gets the
    transaction, the other a clear StrataError naming the transaction; the handle
    stays usable and nothing is written."""
    before = H.digest_of(H.db_state(pdb))
    for _ in range(20):
        barrier = threading.Barrier(2)
        results = []

        def go():
            barrier.wait()
            try:
                pdb.begin()
                results.append("ok")
            except StrataError as e:
                results.append(e)

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        oks = [r for r in results if r == "ok"]
        errs = [r for r in results if r != "ok"]
        assert len(oks) == 1 and len(errs) == 1, results
        assert "transaction" in str(errs[0]).lower()
        assert not isinstance(errs[0], ConflictError)
        assert pdb.txn_is_active()
        pdb.kv_put("in-txn", 1)
        pdb.rollback()
        assert not pdb.txn_is_active()
    assert H.digest_of(H.db_state(pdb)) == before


# ----------------------------------------------------------------- the digest has teeth

DIGEST_CHANGES = {
    "kv-feature-s1": lambda db: (db.set_branch("feature"), db.set_space("s1"), db.kv_put("k:main-s1:1", {"tag": "x"})),
    "kv-delete": lambda db: db.kv_delete("k:main:bytes"),
    "state-s1": lambda db: (db.set_space("s1"), db.state_set("cell:main-s1", 1)),  # same value, new version
    "event-feature": lambda db: (db.set_branch("feature"), db.event_append("audit", {})),
    "json-path": lambda db: db.json_set("doc:main", "$.deep.x", 2.5),
    "vector-embedding": lambda db: db.vector_upsert("vc_main", "a", [1.0, 0.0, 0.0, 0.001], {"tag": "main", "year": 2020}),
    "vector-metadata": lambda db: (db.set_space("s1"), db.vector_upsert("vc_main-s1", "c", [0.5, 0.5, 0.5, 0.0], {})),
    "new-collection": lambda db: db.vector_create_collection("extra", 2),
    "new-space": lambda db: (db.set_branch("feature"), db.space_create("new")),
    "new-branch": lambda db: db.create_branch("new"),
}


@pytest.mark.parametrize("change", sorted(DIGEST_CHANGES))
def test_digest_sees_every_change(db, change):
    """Any write anywhere (any branch, space, primitive) changes the digest, so the
    "database unchanged" checks above cannot pass vacuously."""
    H.populate(db)
    before = H.db_digest(db)
    assert H.db_digest(db) == before  # stable when nothing changes
    DIGEST_CHANGES[change](db)
    db.set_branch("default")
    db.set_space("default")
    assert H.db_digest(db) != before
