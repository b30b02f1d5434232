"""Reference section "Search": search() over primitives, k, primitives, time_range,
mode, expand, rerank, configure_model with Python callables; scoping to branch and space.

Assumed model call shapes (the reference only names configure_model's keywords):
embed(list[str]) -> list of vectors, expand(str) -> list[str],
rerank(str, list[str]) -> list[float] (one score per document, higher is better)."""

import datetime

import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
from stratadb import InvalidInputError, StrataError

HIT_FIELDS = {"entity", "primitive", "score", "rank", "snippet"}


def iso(us: int) -> str:
    return datetime.datetime.fromtimestamp(us / 1e6, tz=datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )


def corpus(db):
    db.kv_put("greeting", "hello world from the kv store")
    db.json_set("doc:1", "$", {"title": "hello world", "body": "a json document"})
    db.state_set("status", "hello world state cell")
    db.event_append("log", {"msg": "hello world event"})
    db.kv_put("unrelated", "nothing to see here")


# ----------------------------------------------------------------- code examples


def test_example_basic_search(db, capsys):
    corpus(db)
    results = db.search("hello world", k=10, primitives=["kv", "json"])
    for hit in results:
        print(f"{hit['entity']} ({hit['primitive']}): {hit['score']}")
    assert sorted((h["entity"], h["primitive"]) for h in results) == [
        ("doc:1", "json"),
        ("greeting", "kv"),
    ]
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_example_time_scoped_search(db):
    db.kv_put("incident", "deployment failures in production")
    results = db.search(
        "deployment failures",
        k=10,
        time_range={
            "start": "2026-02-07T00:00:00Z",
            "end": "2026-02-09T23:59:59Z",
        },
    )
    # written now, i.e. outside the example's February window (unless run then)
    now = datetime.datetime.now(datetime.timezone.utc)
    if not (datetime.datetime(2026, 2, 7, tzinfo=datetime.timezone.utc) <= now
            <= datetime.datetime(2026, 2, 10, tzinfo=datetime.timezone.utc)):
        assert results == []


def test_example_keyword_mode_no_expansion(db):
    db.kv_put("a", "auth login failed for user")
    db.kv_put("b", "unrelated")
    results = db.search("auth login", mode="keyword", expand=False)
    assert [h["entity"] for h in results] == ["a"]


def test_example_force_rerank_without_model(db):
    db.kv_put("a", "database issues everywhere")
    results = db.search("database issues", rerank=True)
    assert [h["entity"] for h in results] == ["a"]  # silently skipped: no model


# ----------------------------------------------------------------- result shape and ranking


def test_hit_shape_rank_and_order(db):
    db.kv_put("one", "apple")
    db.kv_put("three", "apple apple apple banana")
    db.kv_put("none", "banana")
    hits = db.search("apple", mode="keyword")
    assert [h["entity"] for h in hits] == ["three", "one"] or [h["entity"] for h in hits] == ["one", "three"]
    for i, h in enumerate(hits, start=1):
        assert set(h) >= HIT_FIELDS
        assert h["rank"] == i
        assert h["primitive"] == "kv"
        assert isinstance(h["score"], float) and h["score"] > 0
        assert "apple" in h["snippet"].lower()
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_k_limits_results_default_10(db):
    for i in range(15):
        db.kv_put(f"k{i:02d}", f"needle number {i}")
    assert len(db.search("needle")) == 10
    assert len(db.search("needle", k=3)) == 3
    assert len(db.search("needle", k=100)) == 15


def test_primitive_names(db):
    corpus(db)
    db.vector_create_collection("c", 2)
    db.vector_upsert("c", "v1", [1.0, 0.0], {"title": "hello world vector"})
    by_prim = {}
    for prim in ("kv", "state", "event", "json", "vector"):
        hits = db.search("hello world", primitives=[prim], mode="keyword")
        by_prim[prim] = sorted(h["entity"] for h in hits)
        assert all(h["primitive"] == prim for h in hits)
    assert by_prim == {
        "kv": ["greeting"],
        "state": ["status"],
        "event": ["0"],
        "json": ["doc:1"],
        "vector": ["c/v1"],
    }
    assert len(db.search("hello world", mode="keyword")) == 5
    assert db.search("hello world", primitives=[]) == []


def test_search_follows_updates_and_deletes(db):
    db.kv_put("k", "original words")
    assert [h["entity"] for h in db.search("original")] == ["k"]
    db.kv_put("k", "replacement text")
    assert db.search("original") == []
    assert [h["entity"] for h in db.search("replacement")] == ["k"]
    db.kv_delete("k")
    assert db.search("replacement") == []


def test_time_range_filters_by_commit_time(db):
    db.kv_put("early", "timestamped needle")
    t_early = db.kv_get_versioned("early")["timestamp"]
    db.kv_put("late", "timestamped needle")
    t_late = db.kv_get_versioned("late")["timestamp"]
    assert t_late > t_early
    # second precision is too coarse to split two commits made microseconds apart,
    # so use the full microsecond ISO form
    only_early = db.search("needle", time_range={"start": iso(t_early), "end": iso(t_early)})
    assert [h["entity"] for h in only_early] == ["early"]
    both = db.search("needle", time_range={"start": iso(t_early), "end": iso(t_late)})
    assert sorted(h["entity"] for h in both) == ["early", "late"]
    past = db.search("needle", time_range={"start": "1999-01-01", "end": "2000-01-01T00:00:00Z"})
    assert past == []


def test_unknown_mode_is_refused(db):
    with H.raises(InvalidInputError, "semantic"):
        db.search("x", mode="semantic")


# ----------------------------------------------------------------- models


def test_configure_model_expand(db):
    db.kv_put("car", "automobile repair shop")
    calls = []

    def expand(query):
        calls.append(query)
        return ["automobile"] if "car" in query else []

    assert db.search("car fix", mode="keyword") == []
    db.configure_model(expand=expand)
    hits = db.search("car fix", mode="keyword")
    assert [h["entity"] for h in hits] == ["car"]
    assert calls and calls[-1] == "car fix"
    n = len(calls)
    assert db.search("car fix", mode="keyword", expand=False) == []
    assert len(calls) == n  # forced off: not called


def test_configure_model_rerank(db):
    db.kv_put("a", "topic alpha")
    db.kv_put("b", "topic topic topic beta")

    def rerank(query, docs):
        # prefer documents that mention alpha
        return [1.0 if "alpha" in d else 0.0 for d in docs]

    plain = [h["entity"] for h in db.search("topic", rerank=False)]
    assert plain == ["b", "a"]
    db.configure_model(rerank=rerank)
    reranked = [h["entity"] for h in db.search("topic")]
    assert reranked == ["a", "b"]
    assert [h["entity"] for h in db.search("topic", rerank=False)] == ["b", "a"]


def test_configure_model_embed_enables_hybrid(db):
    db.kv_put("cat", "a cat sat on the mat")
    db.kv_put("dog", "dogs bark loudly")
    embedded = []

    def embed(texts):
        embedded.extend(texts)
        return [[1.0, 0.0] if ("cat" in t or "kitten" in t) else [0.0, 1.0] for t in texts]

    assert db.search("kitten") == []  # no shared word
    db.configure_model(embed=embed)
    hits = db.search("kitten", mode="hybrid")
    assert hits and hits[0]["entity"] == "cat"
    assert "kitten" in embedded
    assert db.search("kitten", mode="keyword") == []


def test_model_errors_surface_as_strata_errors(db):
    db.kv_put("a", "topic")

    def bad_rerank(query, docs):
        raise ValueError("reranker exploded")

    db.configure_model(rerank=bad_rerank)
    try:
        hits = db.search("topic")
    except (StrataError, ValueError) as e:
        assert "exploded" in str(e) or "rerank" in str(e).lower()
    else:
        assert [h["entity"] for h in hits] == ["a"]  # or the model is skipped
    db.configure_model()  # clears the models
    assert [h["entity"] for h in db.search("topic")] == ["a"]


# ----------------------------------------------------------------- scoping


def test_search_is_scoped_to_branch(db):
    db.kv_put("main-doc", "shared term")
    db.fork_branch("f")
    db.set_branch("f")
    db.kv_put("fork-doc", "shared term")
    assert sorted(h["entity"] for h in db.search("shared")) == ["fork-doc", "main-doc"]
    db.set_branch("default")
    assert [h["entity"] for h in db.search("shared")] == ["main-doc"]
    db.create_branch("empty")
    db.set_branch("empty")
    assert db.search("shared") == []


def test_search_is_scoped_to_space(db):
    db.kv_put("d", "spaced term")
    db.set_space("s")
    assert db.search("spaced") == []
    db.kv_put("s", "spaced term")
    assert [h["entity"] for h in db.search("spaced")] == ["s"]
    db.set_space("default")
    assert [h["entity"] for h in db.search("spaced")] == ["d"]


def test_search_sees_committed_transaction_not_rolled_back(db):
    with db.transaction():
        db.kv_put("t1", "transactional words")
    db.begin()
    db.kv_put("t2", "transactional words")
    db.rollback()
    assert [h["entity"] for h in db.search("transactional")] == ["t1"]
