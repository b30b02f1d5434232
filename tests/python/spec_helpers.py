"""Helpers for the spec suite (tests/python/test_spec_*.py, test_aliases.py,
test_bad_input.py, test_threads_hammer.py).

Nothing here touches the database at import time, so every test module stays importable
while the binding is incomplete: a test of a method that does not exist yet fails with
AttributeError, it is never skipped.

- `db_state(db)` walks every branch, space and primitive of a handle and returns plain
  data (values, versions, timestamps, histories, events, vectors); `db_digest(db)` hashes
  it. Bad-input tests take a digest before and after each call: a refused call must
  leave the database unchanged.
- `PRIMS`: one adapter per keyed primitive (kv, state, json, vector) so the same checks
  (time travel, transactions, branch and space isolation) run over each of them.
- `raises(cls, *words)`: `pytest.raises` that also checks the message names the thing.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import re
import shutil
import struct
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np
import pytest

# ----------------------------------------------------------------- fast fresh databases


class _Pool:
    """Fresh databases made ahead of time on background threads. Opening and closing a
    database costs ~0.2 s of wall time but only ~7 ms of CPU (it mostly waits), so
    overlapping them with the tests keeps the suite fast while every test still gets a
    brand-new database of its own."""

    def __init__(self, make, close, ahead=3):
        self._make, self._close = make, close
        self._ready: "queue.Queue" = queue.Queue()
        self._exec = ThreadPoolExecutor(max_workers=ahead + 1, thread_name_prefix="spec-db-pool")
        for _ in range(ahead):
            self._exec.submit(self._produce)

    def _produce(self):
        try:
            self._ready.put((True, self._make()))
        except BaseException as e:  # handed to the test that takes it
            self._ready.put((False, e))

    def take(self):
        ok, item = self._ready.get(timeout=120)
        self._exec.submit(self._produce)
        if not ok:
            raise item
        return item

    def give_back(self, item):
        self._exec.submit(self._close, item)

    def shutdown(self):
        self._exec.shutdown(wait=True)
        while not self._ready.empty():
            ok, item = self._ready.get()
            if ok:
                self._close(item)


def _make_cache():
    from stratadb import Strata

    return Strata.cache()


def _close_quietly(db):
    try:
        db.close()
    except Exception:
        pass


def _make_pair():
    from stratadb import Strata

    d = tempfile.mkdtemp(prefix="strata-spec-pair-")
    path = d + "/db"
    return (Strata.open(path), Strata.open(path), d)


def _close_pair(item):
    a, b, d = item
    _close_quietly(a)
    _close_quietly(b)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def _spec_cache_pool():
    pool = _Pool(_make_cache, _close_quietly)
    yield pool
    pool.shutdown()


@pytest.fixture(scope="module")
def _spec_pair_pool():
    pool = _Pool(_make_pair, _close_pair, ahead=2)
    yield pool
    pool.shutdown()


@pytest.fixture
def db(_spec_cache_pool):
    """A fresh throwaway database (overrides conftest's `db` where imported)."""
    handle = _spec_cache_pool.take()
    yield handle
    _spec_cache_pool.give_back(handle)


@pytest.fixture
def pair(_spec_pair_pool):
    """Two handles on one fresh on-disk database (overrides conftest's `pair`)."""
    item = _spec_pair_pool.take()
    yield item[0], item[1]
    _spec_pair_pool.give_back(item)


# ----------------------------------------------------------------- small utilities


def now_us() -> int:
    """Wall-clock time in microseconds since the epoch (the unit of `as_of`)."""
    return time.time_ns() // 1000


def vec(dim: int, seed: int) -> np.ndarray:
    """A deterministic float32 vector with components in [-1, 1) and a non-zero norm."""
    rng = np.random.default_rng(seed)
    v = rng.random(dim, dtype=np.float32) * 2 - 1
    v[0] += 0.01  # never all-zero
    return v.astype(np.float32)


def unit(dim: int, axis: int, scale: float = 1.0) -> List[float]:
    """A list with `scale` at `axis` and zeros elsewhere."""
    out = [0.0] * dim
    out[axis] = scale
    return out


@contextlib.contextmanager
def raises(cls, *words: str) -> Iterator[Any]:
    """`pytest.raises(cls)` that also requires each of `words` (case-insensitive) in the
    message, so an error names what was wrong. Yields the ExceptionInfo."""
    with pytest.raises(cls) as info:
        yield info
    msg = full_message(info.value).lower()
    for w in words:
        assert w.lower() in msg, f"{cls.__name__} message does not mention {w!r}: {info.value!r}"


def full_message(exc: BaseException) -> str:
    """The message plus any notes (PyO3 >= 0.30 names the argument of a failed
    conversion in a note, "while processing 'key'", which tracebacks show)."""
    notes = getattr(exc, "__notes__", None) or []
    return "\n".join([str(exc), *map(str, notes)])


def message_names_one_of(exc: BaseException, words) -> bool:
    msg = full_message(exc).lower()
    return any(w.lower() in msg for w in words)


# ----------------------------------------------------------------- digest of a database


def _canon(h, x: Any) -> None:
    """Feeds a type-tagged, unambiguous encoding of `x` into hasher `h`."""
    if x is None:
        h.update(b"N")
    elif x is True:
        h.update(b"T")
    elif x is False:
        h.update(b"F")
    elif isinstance(x, int):
        s = str(x).encode()
        h.update(b"I" + struct.pack("<Q", len(s)) + s)
    elif isinstance(x, float):
        h.update(b"D" + struct.pack("<d", x))
    elif isinstance(x, str):
        b = x.encode("utf-8", "surrogatepass")
        h.update(b"S" + struct.pack("<Q", len(b)) + b)
    elif isinstance(x, (bytes, bytearray)):
        h.update(b"B" + struct.pack("<Q", len(x)) + bytes(x))
    elif isinstance(x, np.ndarray):
        b = np.ascontiguousarray(x).tobytes()
        h.update(b"A" + str(x.dtype).encode() + str(x.shape).encode() + struct.pack("<Q", len(b)) + b)
    elif isinstance(x, (list, tuple)):
        h.update(b"L" + struct.pack("<Q", len(x)))
        for item in x:
            _canon(h, item)
    elif isinstance(x, dict):
        h.update(b"O" + struct.pack("<Q", len(x)))
        for k, v in x.items():
            _canon(h, k)
            _canon(h, v)
    else:
        r = repr(x).encode()
        h.update(b"R" + struct.pack("<Q", len(r)) + r)


def digest_of(data: Any) -> str:
    h = hashlib.sha256()
    _canon(h, data)
    return h.hexdigest()


def _json_keys(db) -> List[str]:
    keys: List[str] = []
    cursor = None
    for _ in range(100_000):
        page = db.json_list(100, cursor=cursor)
        keys.extend(page["keys"])
        cursor = page.get("cursor")
        if cursor is None:
            return keys
    raise AssertionError("json_list never returned a None cursor")


def _vector_keys(db, coll: dict) -> List[str]:
    """Every key of a collection: there is no vector listing call, so search with k =
    count (collections in these tests are small, i.e. exact)."""
    if coll["count"] == 0:
        return []
    query = np.ones(coll["dimension"], dtype=np.float32)
    hits = db.vector_search(coll["name"], query, k=coll["count"])
    return sorted(hit["key"] for hit in hits)


def _plain_vector(entry):
    """A vector_get result with the ndarray as (dtype, list), so states compare with ==."""
    if entry is None:
        return None
    out = dict(entry)
    emb = out.get("embedding")
    if isinstance(emb, np.ndarray):
        out["embedding"] = (str(emb.dtype), emb.tolist())
    return out


def space_state(db) -> Dict[str, Any]:
    """Everything visible in the handle's current branch and space."""
    out: Dict[str, Any] = {}
    kv = {}
    for k in db.kv_list():
        kv[k] = {"cur": db.kv_get_versioned(k), "hist": db.kv_history(k)}
    out["kv"] = kv
    st = {}
    for c in db.state_list():
        st[c] = {"cur": db.state_get_versioned(c), "hist": db.state_history(c)}
    out["state"] = st
    n = db.event_len()
    out["events"] = [db.event_get(i) for i in range(n)]
    js = {}
    for k in _json_keys(db):
        js[k] = {"cur": db.json_get_versioned(k), "hist": db.json_history(k)}
    out["json"] = js
    vs = {}
    for c in sorted(db.vector_list_collections(), key=lambda c: c["name"]):
        # memory_bytes and index_type describe a derived, lazily built index: a read may
        # change them. Everything else is data.
        stable = {f: c[f] for f in ("name", "dimension", "metric", "count")}
        vs[c["name"]] = {
            "info": stable,
            "vectors": {k: _plain_vector(db.vector_get(c["name"], k)) for k in _vector_keys(db, c)},
        }
    out["vectors"] = vs
    return out


def db_state(db) -> Dict[str, Any]:
    """All data of every branch and space, as plain Python data. Restores the handle's
    current branch and space. Must not be called inside a transaction."""
    assert not db.txn_is_active(), "db_state() called inside a transaction"
    branch, space = db.current_branch(), db.current_space()
    out: Dict[str, Any] = {"branches": {}}
    try:
        for b in sorted(db.list_branches()):
            db.set_branch(b)
            info = db.branch_get(b)
            spaces = {}
            for s in sorted(db.list_spaces()):
                db.set_space(s)
                spaces[s] = space_state(db)
            out["branches"][b] = {"info": info, "time_range": db.time_range(b), "spaces": spaces}
    finally:
        db.set_branch(branch)
        db.set_space(space)
    out["total_keys"] = db.info()["total_keys"]
    return out


def db_digest(db) -> str:
    """SHA-256 over `db_state(db)`."""
    return digest_of(db_state(db))


def populate(db) -> None:
    """A bit of everything: two branches (default, feature) and two spaces (default, s1),
    with KV, state, events, JSON and a vector collection in each place."""
    def fill(tag: str) -> None:
        db.kv_put(f"k:{tag}:1", {"tag": tag, "n": 1})
        db.kv_put(f"k:{tag}:1", {"tag": tag, "n": 2})
        db.kv_put(f"k:{tag}:bytes", b"\x00\x01" + tag.encode())
        db.state_set(f"cell:{tag}", 0)
        db.state_set(f"cell:{tag}", 1)
        db.event_append("audit", {"tag": tag, "i": 0})
        db.event_append("other", {"tag": tag, "i": 1})
        db.json_set(f"doc:{tag}", "$", {"name": tag, "list": [1, 2, 3], "deep": {"x": 1.5}})
        db.json_set(f"doc:{tag}", "$.deep.y", "why")
        db.vector_create_collection(f"vc_{tag}", 4, metric="cosine")
        db.vector_upsert(f"vc_{tag}", "a", [1.0, 0.0, 0.0, 0.0], {"tag": tag, "year": 2020})
        db.vector_upsert(f"vc_{tag}", "b", [0.0, 1.0, 0.0, 0.0], {"tag": tag, "year": 2024})
        db.vector_upsert(f"vc_{tag}", "c", [0.5, 0.5, 0.5, 0.0])

    fill("main")
    db.space_create("s1")
    db.set_space("s1")
    fill("main-s1")
    db.set_space("default")
    db.fork_branch("feature")
    db.set_branch("feature")
    fill("feat")
    db.set_branch("default")


# ----------------------------------------------------------------- primitive adapters


class Prim:
    """Uniform access to a keyed primitive, for checks shared by the section files."""

    name = "?"
    supports_as_of = True
    #: whether keys() (for vectors: a search) sees a transaction's own pending writes
    keys_see_pending = True

    def setup(self, db) -> None:
        """Anything a scope needs before writes (e.g. a vector collection)."""

    def value(self, i: int) -> Any:
        return {"i": i, "text": f"value {i}"}

    def write(self, db, key: str, value: Any) -> int:
        raise NotImplementedError

    def read(self, db, key: str, as_of: Optional[int] = None) -> Any:
        raise NotImplementedError

    def versioned(self, db, key: str) -> Optional[dict]:
        raise NotImplementedError

    def delete(self, db, key: str) -> Any:
        raise NotImplementedError

    def keys(self, db) -> List[str]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class KvPrim(Prim):
    name = "kv"

    def write(self, db, key, value):
        return db.kv_put(key, value)

    def read(self, db, key, as_of=None):
        return db.kv_get(key, as_of=as_of) if as_of is not None else db.kv_get(key)

    def versioned(self, db, key):
        return db.kv_get_versioned(key)

    def delete(self, db, key):
        return db.kv_delete(key)

    def keys(self, db):
        return db.kv_list()


class StatePrim(Prim):
    name = "state"

    def write(self, db, key, value):
        return db.state_set(key, value)

    def read(self, db, key, as_of=None):
        return db.state_get(key, as_of=as_of) if as_of is not None else db.state_get(key)

    def versioned(self, db, key):
        return db.state_get_versioned(key)

    def delete(self, db, key):
        return db.state_delete(key)

    def keys(self, db):
        return db.state_list()


class JsonPrim(Prim):
    name = "json"

    def write(self, db, key, value):
        return db.json_set(key, "$", value)

    def read(self, db, key, as_of=None):
        if as_of is not None:
            return db.json_get(key, "$", as_of=as_of)
        return db.json_get(key, "$")

    def versioned(self, db, key):
        return db.json_get_versioned(key)

    def delete(self, db, key):
        return db.json_delete(key, "$")

    def keys(self, db):
        return _json_keys(db)


class VectorPrim(Prim):
    """Vectors keyed in collection "pc" (dimension 3); a value is the metadata dict and
    the embedding is derived from it, so reads compare both."""

    name = "vector"
    supports_as_of = False  # vector_get has no as_of; vector_search does (tested apart)
    keys_see_pending = False  # keys() is a search; the spec says nothing of pending writes
    COLL = "pc"

    def setup(self, db):
        names = [c["name"] for c in db.vector_list_collections()]
        if self.COLL not in names:
            db.vector_create_collection(self.COLL, 3)

    @staticmethod
    def emb(value) -> List[float]:
        i = value["i"]
        return [1.0 + i, 2.0, 3.0 - i * 0.5]

    def write(self, db, key, value):
        self.setup(db)
        return db.vector_upsert(self.COLL, key, self.emb(value), value)

    def read(self, db, key, as_of=None):
        assert as_of is None
        got = db.vector_get(self.COLL, key)
        if got is None:
            return None
        md = got["metadata"]
        if md is not None:
            np.testing.assert_array_equal(got["embedding"], np.array(self.emb(md), dtype=np.float32))
        return md

    def versioned(self, db, key):
        got = db.vector_get(self.COLL, key)
        if got is None:
            return None
        return {"value": got["metadata"], "version": got["version"], "timestamp": got["timestamp"]}

    def delete(self, db, key):
        return db.vector_delete(self.COLL, key)

    def keys(self, db):
        for c in db.vector_list_collections():
            if c["name"] == self.COLL:
                return _vector_keys(db, c)
        return []


PRIMS = {"kv": KvPrim(), "state": StatePrim(), "json": JsonPrim(), "vector": VectorPrim()}


# ----------------------------------------------------------------- shared checks


def check_missing(db, p: Prim) -> None:
    p.setup(db)
    assert p.read(db, "never-written") is None
    assert p.versioned(db, "never-written") is None
    p.write(db, "other", p.value(1))
    assert p.read(db, "never-written") is None
    assert p.versioned(db, "never-written") is None
    assert "never-written" not in p.keys(db)


def check_versioned_matches_write(db, p: Prim) -> None:
    before = now_us()
    v = p.write(db, "k", p.value(1))
    after = now_us()
    got = p.versioned(db, "k")
    assert got is not None
    assert got["value"] == p.value(1)
    assert type(got["version"]) is int and got["version"] == v and v > 0
    assert type(got["timestamp"]) is int
    # the commit timestamp is taken during the call (µs; allow 1 s of clock slack)
    assert before - 1_000_000 <= got["timestamp"] <= after + 1_000_000


def check_time_travel(db, p: Prim) -> None:
    """as_of with timestamps taken from get_versioned between writes."""
    p.setup(db)
    p.write(db, "tt", p.value(1))
    t1 = p.versioned(db, "tt")["timestamp"]
    p.write(db, "tt", p.value(2))
    t2 = p.versioned(db, "tt")["timestamp"]
    p.delete(db, "tt")
    assert t2 > t1
    assert p.read(db, "tt") is None
    assert p.read(db, "tt", as_of=t1 - 1) is None
    assert p.read(db, "tt", as_of=t1) == p.value(1)
    assert p.read(db, "tt", as_of=t2 - 1) == p.value(1)
    assert p.read(db, "tt", as_of=t2) == p.value(2)
    assert p.read(db, "tt", as_of=now_us() + 10_000_000) is None  # after the delete
    # a key that never existed is None at any time
    assert p.read(db, "tt-never", as_of=t2) is None


def check_txn_commit(a, b, p: Prim) -> None:
    """`a` and `b` are two handles on one database. Writes in a's transaction return 0,
    are visible to a (read-your-writes), invisible to b until commit; commit returns the
    version the data then carries."""
    p.setup(a)
    base = p.write(a, "t:old", p.value(0))
    a.begin()
    try:
        assert a.txn_is_active()
        assert p.write(a, "t:new", p.value(1)) == 0
        assert p.write(a, "t:old", p.value(2)) == 0
        assert p.read(a, "t:new") == p.value(1)
        assert p.read(a, "t:old") == p.value(2)
        if p.keys_see_pending:
            assert "t:new" in p.keys(a)
        assert p.read(b, "t:new") is None
        assert p.read(b, "t:old") == p.value(0)
        assert "t:new" not in p.keys(b)
        version = a.commit()
    except BaseException:
        if a.txn_is_active():
            a.rollback()
        raise
    assert not a.txn_is_active()
    assert type(version) is int and version > base
    for h in (a, b):
        assert p.read(h, "t:new") == p.value(1)
        assert p.read(h, "t:old") == p.value(2)
        assert p.versioned(h, "t:new")["version"] == version
        assert p.versioned(h, "t:old")["version"] == version


def check_txn_rollback(a, b, p: Prim) -> None:
    p.setup(a)
    p.write(a, "r:old", p.value(0))
    before = p.versioned(a, "r:old")
    a.begin()
    p.write(a, "r:new", p.value(1))
    p.write(a, "r:old", p.value(2))
    assert p.read(a, "r:new") == p.value(1)
    a.rollback()
    assert not a.txn_is_active()
    for h in (a, b):
        assert p.read(h, "r:new") is None
        assert p.versioned(h, "r:old") == before
        assert "r:new" not in p.keys(h)


def check_txn_context_manager(db, p: Prim) -> None:
    p.setup(db)
    with db.transaction():
        assert db.txn_is_active()
        assert p.write(db, "cm:1", p.value(1)) == 0
    assert not db.txn_is_active()
    assert p.read(db, "cm:1") == p.value(1)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with db.transaction():
            p.write(db, "cm:2", p.value(2))
            p.write(db, "cm:1", p.value(3))
            raise Boom()
    assert not db.txn_is_active()
    assert p.read(db, "cm:2") is None
    assert p.read(db, "cm:1") == p.value(1)


def check_branch_isolation(db, p: Prim) -> None:
    """Writes on a non-default branch are invisible on default, and the other way."""
    p.setup(db)
    p.write(db, "shared", p.value(0))
    db.create_branch("iso")
    db.set_branch("iso")
    try:
        assert db.current_branch() == "iso"
        p.setup(db)
        # an empty branch does not see default's data
        assert p.read(db, "shared") is None
        p.write(db, "on-iso", p.value(1))
        p.write(db, "shared", p.value(2))
        assert p.read(db, "on-iso") == p.value(1)
        db.set_branch("default")
        assert p.read(db, "on-iso") is None
        assert "on-iso" not in p.keys(db)
        assert p.read(db, "shared") == p.value(0)
        p.write(db, "on-default", p.value(3))
        db.set_branch("iso")
        assert p.read(db, "on-default") is None
        assert p.read(db, "shared") == p.value(2)
        assert sorted(p.keys(db)) == ["on-iso", "shared"]
    finally:
        db.set_branch("default")


def check_fork_isolation(db, p: Prim) -> None:
    """A fork sees its source's data at the fork; later writes on either side stay there."""
    p.setup(db)
    p.write(db, "f:a", p.value(1))
    db.fork_branch("forked")
    p.write(db, "f:a", p.value(2))  # after the fork, on default
    db.set_branch("forked")
    try:
        assert p.read(db, "f:a") == p.value(1)
        p.write(db, "f:b", p.value(3))
        db.set_branch("default")
        assert p.read(db, "f:b") is None
        assert p.read(db, "f:a") == p.value(2)
    finally:
        db.set_branch("default")


def check_space_isolation(db, p: Prim) -> None:
    p.setup(db)
    p.write(db, "shared", p.value(0))
    db.set_space("other")
    try:
        assert db.current_space() == "other"
        p.setup(db)
        assert p.read(db, "shared") is None
        p.write(db, "in-other", p.value(1))
        p.write(db, "shared", p.value(2))
        db.set_space("default")
        assert db.current_space() == "default"
        assert p.read(db, "in-other") is None
        assert p.read(db, "shared") == p.value(0)
        assert "in-other" not in p.keys(db)
        p.write(db, "in-default", p.value(3))
        db.set_space("other")
        assert p.read(db, "in-default") is None
        assert p.read(db, "shared") == p.value(2)
        assert sorted(p.keys(db)) == ["in-other", "shared"]
    finally:
        db.set_space("default")


# ----------------------------------------------------------------- the reference's signatures

#: Every method of the reference with its parameters in order (name, default or REQUIRED).
REQUIRED = object()
R = REQUIRED
REFERENCE_SIGNATURES: Dict[str, List[tuple]] = {
    "kv_put": [("key", R), ("value", R)],
    "kv_get": [("key", R), ("as_of", None)],
    "kv_delete": [("key", R)],
    "kv_list": [("prefix", None)],
    "kv_history": [("key", R)],
    "kv_get_versioned": [("key", R)],
    "kv_list_paginated": [("prefix", None), ("limit", None), ("cursor", None)],
    "state_set": [("cell", R), ("value", R)],
    "state_get": [("cell", R), ("as_of", None)],
    "state_init": [("cell", R), ("value", R)],
    "state_cas": [("cell", R), ("new_value", R), ("expected_version", None)],
    "state_delete": [("cell", R)],
    "state_list": [("prefix", None)],
    "state_history": [("cell", R)],
    "state_get_versioned": [("cell", R)],
    "event_append": [("event_type", R), ("payload", R)],
    "event_get": [("sequence", R)],
    "event_list": [("event_type", R)],
    "event_len": [],
    "event_list_paginated": [("event_type", R), ("limit", None), ("after", None)],
    "json_set": [("key", R), ("path", R), ("value", R)],
    "json_get": [("key", R), ("path", R), ("as_of", None)],
    "json_delete": [("key", R), ("path", R)],
    "json_list": [("limit", R), ("prefix", None), ("cursor", None)],
    "json_history": [("key", R)],
    "json_get_versioned": [("key", R)],
    "vector_create_collection": [("collection", R), ("dimension", R), ("metric", None)],
    "vector_delete_collection": [("collection", R)],
    "vector_list_collections": [],
    "vector_upsert": [("collection", R), ("key", R), ("vector", R), ("metadata", None)],
    "vector_get": [("collection", R), ("key", R)],
    "vector_delete": [("collection", R), ("key", R)],
    "vector_search": [("collection", R), ("query", R), ("k", R), ("as_of", None)],
    "vector_search_filtered": [
        ("collection", R), ("query", R), ("k", R), ("metric", None), ("filter", None)
    ],
    "vector_collection_stats": [("collection", R)],
    "vector_batch_upsert": [("collection", R), ("vectors", R)],
    "current_branch": [],
    "set_branch": [("branch", R)],
    "create_branch": [("branch", R)],
    "list_branches": [],
    "delete_branch": [("branch", R)],
    "branch_exists": [("name", R)],
    "branch_get": [("name", R)],
    "fork_branch": [("destination", R)],
    "diff_branches": [("branch_a", R), ("branch_b", R)],
    "merge_branches": [("source", R), ("strategy", None)],
    "current_space": [],
    "set_space": [("space", R)],
    "list_spaces": [],
    "delete_space": [("space", R)],
    "delete_space_force": [("space", R)],
    "space_create": [("space", R)],
    "space_exists": [("space", R)],
    "transaction": [("read_only", False)],
    "begin": [("read_only", None)],
    "commit": [],
    "rollback": [],
    "txn_info": [],
    "txn_is_active": [],
    "search": [
        ("query", R), ("k", None), ("primitives", None), ("time_range", None),
        ("mode", None), ("expand", None), ("rerank", None),
    ],
    "ping": [],
    "info": [],
    "flush": [],
    "compact": [],
    "time_range": [("branch", None)],
    "branch_export": [("branch", R), ("path", R)],
    "branch_import": [("path", R)],
    "branch_validate_bundle": [("path", R)],
    # not in the reference's text, but part of the binding's brief
    "configure_model": [("embed", None), ("expand", None), ("rerank", None)],
}

_PARAM = re.compile(r"^\s*(\*{0,2})([A-Za-z_][A-Za-z0-9_]*)\s*(?:=\s*(.*))?$")


def parse_text_signature(sig: str) -> List[tuple]:
    """Parses a PyO3 `__text_signature__` such as "($self, key, as_of=None)" into
    [(name, default_text_or_None_if_required, kind)] without $self."""
    inner = sig.strip()
    assert inner.startswith("(") and inner.endswith(")"), sig
    inner = inner[1:-1]
    out = []
    kw_only = False
    for raw in [p for p in inner.split(",") if p.strip()]:
        raw = raw.strip()
        if raw.startswith("$"):
            continue
        if raw == "*":
            kw_only = True
            continue
        if raw == "/":
            continue
        m = _PARAM.match(raw)
        assert m, f"cannot parse parameter {raw!r} of {sig}"
        stars, name, default = m.groups()
        kind = "var" if stars else ("kw" if kw_only else "pos")
        out.append((name, default, kind))
    return out
