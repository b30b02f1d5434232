"""8 threads on one handle mixing writes, reads, searches and transactions.

A handle has one transaction at a time, shared by every thread using it: while one
thread's transaction is open, other threads' calls run inside it (a write then returns
version 0 and is only real if that transaction commits; if it conflicts, the other
thread's "acknowledged" write is gone and an event sequence it was given is reused).
So, like any correct program sharing a handle, the workers coordinate: writes take a
shared gate, a transaction takes it exclusively (reads and searches take nothing and
run at any time, inside a transaction too). Checked: every acknowledged KV/JSON/vector
write is there with its value; event sequence numbers are unique and dense, and each
holds the payload of the append that got it; the CAS counter equals the number of
successful CAS calls; every transaction commits."""

import random
import threading

import numpy as np

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
from stratadb import Strata, StrataError

THREADS = 8
ROUNDS = 60


class Gate:
    """Many writers or one transaction (writer-preferring, so transactions run)."""

    def __init__(self):
        self._c = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    def shared(self):
        gate = self

        class _Ctx:
            def __enter__(self):
                with gate._c:
                    while gate._exclusive or gate._waiting:
                        gate._c.wait()
                    gate._shared += 1

            def __exit__(self, *exc):
                with gate._c:
                    gate._shared -= 1
                    gate._c.notify_all()

        return _Ctx()

    def exclusive(self):
        gate = self

        class _Ctx:
            def __enter__(self):
                with gate._c:
                    gate._waiting += 1
                    while gate._exclusive or gate._shared:
                        gate._c.wait()
                    gate._waiting -= 1
                    gate._exclusive = True

            def __exit__(self, *exc):
                with gate._c:
                    gate._exclusive = False
                    gate._c.notify_all()

        return _Ctx()


def test_hammer_one_handle(db):
    db.state_init("counter", 0)
    db.vector_create_collection("vecs", 4)
    db.kv_put("seed", "hammer seed words")

    acked_kv, acked_json, acked_vec = {}, {}, {}
    appended = []  # (seq, payload)
    cas_ok = []
    txns_done = []
    errors = []
    lock = threading.Lock()
    gate = Gate()
    start = threading.Barrier(THREADS)

    def worker(t):
        rng = random.Random(t)
        try:
            start.wait()
            for i in range(ROUNDS):
                op = rng.randrange(8)
                if op < 5:
                    with gate.shared():
                        if op == 0:
                            key, val = f"kv:{t}:{i}", {"t": t, "i": i}
                            v = db.kv_put(key, val)
                            assert type(v) is int and v >= 0
                            with lock:
                                acked_kv[key] = val
                        elif op == 1:
                            payload = {"t": t, "i": i}
                            seq = db.event_append("hammer", payload)
                            with lock:
                                appended.append((seq, payload))
                        elif op == 2:
                            cur = db.state_get_versioned("counter")
                            r = db.state_cas("counter", cur["value"] + 1, expected_version=cur["version"])
                            if r is not None:
                                with lock:
                                    cas_ok.append((t, i))
                        elif op == 3:
                            key = f"doc:{t}:{i}"
                            db.json_set(key, "$", {"t": t, "i": i, "text": "hammer json"})
                            with lock:
                                acked_json[key] = {"t": t, "i": i, "text": "hammer json"}
                        elif op == 4:
                            key = f"v:{t}:{i}"
                            emb = [1.0 + t, 1.0 + i, 1.0, 0.5]
                            db.vector_upsert("vecs", key, emb, {"t": t})
                            with lock:
                                acked_vec[key] = emb
                elif op == 5:
                    hits = db.search("hammer", k=5)
                    assert all(set(h) >= {"entity", "primitive", "score", "rank", "snippet"} for h in hits)
                    res = db.vector_search("vecs", [1.0, 1.0, 1.0, 0.5], k=3)
                    assert len(res) <= 3
                elif op == 6:
                    # reads of own earlier writes
                    assert db.kv_get("seed") == "hammer seed words"
                    with lock:
                        sample = list(acked_kv.items())[:5]
                    for key, val in sample:
                        got = db.kv_get(key)
                        assert got == val, (key, got, val)
                else:
                    # a transaction of our own: exclusive, so no other thread's write joins
                    # it or races its commit; it must commit
                    key = f"txn:{t}:{i}"
                    with gate.exclusive():
                        with db.transaction():
                            assert db.kv_put(key + ":a", i) == 0
                            assert db.kv_put(key + ":b", i) == 0
                            assert db.kv_get(key + ":a") == i
                            seq = db.event_append("hammer", {"txn": key})
                            cur = db.state_get_versioned("counter")
                            r = db.state_cas("counter", cur["value"] + 1, expected_version=cur["version"])
                            assert r == 0  # pending in the transaction
                    with lock:
                        acked_kv[key + ":a"] = i
                        acked_kv[key + ":b"] = i
                        appended.append((seq, {"txn": key}))
                        cas_ok.append((t, i))
                        txns_done.append(key)
        except Exception as e:  # reported below
            errors.append((t, repr(e)))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads), "a worker hung"
    assert errors == []
    assert not db.txn_is_active()
    assert txns_done, "no transaction ever ran"

    for key, val in acked_kv.items():
        assert db.kv_get(key) == val, key
    for key, val in acked_json.items():
        assert db.json_get(key, "$") == val, key
    for key, emb in acked_vec.items():
        np.testing.assert_array_equal(db.vector_get("vecs", key)["embedding"], np.array(emb, dtype=np.float32))
    assert db.vector_collection_stats("vecs")["count"] == len(acked_vec)

    seqs = [s for s, _ in appended]
    assert len(seqs) == len(set(seqs)), "duplicated event sequence numbers"
    assert sorted(seqs) == list(range(len(seqs)))
    assert db.event_len() == len(seqs)
    for seq, payload in appended:
        ev = db.event_get(seq)
        assert ev["value"] == payload, (seq, ev, payload)
    hammer_events = db.event_list("hammer")
    assert [e["sequence"] for e in hammer_events] == sorted(seqs)

    assert db.state_get("counter") == len(cas_ok)
    hist = db.state_history("counter")
    assert len(hist) == len(cas_ok) + 1  # init + one version per successful CAS

    # keyword search sees every committed JSON doc
    assert len(db.search("hammer json", k=1000, primitives=["json"])) == len(acked_json)


def test_hammer_cas_across_handles(db_path):
    """8 threads, each with its own handle on one database (independent transactions):
    CAS increments, some inside explicit transactions that may conflict."""
    handles = [Strata.open(db_path) for _ in range(THREADS)]
    handles[0].state_init("n", 0)
    ok, errors = [], []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(t):
        h = handles[t]
        rng = random.Random(100 + t)
        try:
            start.wait()
            for i in range(40):
                if rng.random() < 0.3:
                    h.begin()
                    cur = h.state_get_versioned("n")
                    r = h.state_cas("n", cur["value"] + 1, expected_version=cur["version"])
                    h.event_append("inc", {"t": t, "i": i})
                    try:
                        h.commit()
                    except StrataError as e:
                        assert e.code == "conflict", e
                        continue
                    if r is not None:
                        with lock:
                            ok.append((t, i))
                else:
                    cur = h.state_get_versioned("n")
                    if h.state_cas("n", cur["value"] + 1, expected_version=cur["version"]) is not None:
                        with lock:
                            ok.append((t, i))
        except Exception as e:
            errors.append((t, repr(e)))
            if h.txn_is_active():
                h.rollback()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    try:
        assert errors == []
        assert handles[0].state_get("n") == len(ok)
        n = handles[0].event_len()
        assert [handles[0].event_get(i)["sequence"] for i in range(n)] == list(range(n))
        assert handles[0].event_get(n) is None
    finally:
        for h in handles:
            h.close()


def test_many_commits_from_threads_while_others_read(db_path):
    # Past several background applies (the engine hands every 4096 waiting commits to
    # a thread of its own, and reads find them there until they are in the store):
    # 4 writer threads commit 20k puts on disk while 2 reader threads read back what
    # was acknowledged, by key and by listing; a reopen finds every write.
    db = Strata.open(db_path)
    writers, per_writer = 4, 5_000
    acked = [-1] * writers
    done = threading.Event()
    errors = []

    def write(w):
        try:
            for i in range(per_writer):
                db.kv_put(f"w{w}/{i:05d}", i)
                acked[w] = i
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    def read(seed):
        rng = random.Random(seed)
        try:
            while not done.is_set():
                w = rng.randrange(writers)
                upto = acked[w]
                if upto < 0:
                    continue
                i = rng.randint(0, upto)
                assert db.kv_get(f"w{w}/{i:05d}") == i, (w, i)
                if rng.random() < 0.01:
                    assert len(db.kv_list(prefix=f"w{w}/")) > upto
        except Exception as e:
            errors.append(e)

    readers = [threading.Thread(target=read, args=(s,)) for s in range(2)]
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in readers + threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert not errors, errors[:3]
    db.close()
    db = Strata.open(db_path)
    for w in range(writers):
        keys = db.kv_list(prefix=f"w{w}/")
        assert len(keys) == per_writer
        assert db.kv_get(f"w{w}/{per_writer - 1:05d}") == per_writer - 1
    db.close()
