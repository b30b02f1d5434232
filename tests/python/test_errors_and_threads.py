"""Exception hierarchy, module surface and GIL release."""

import threading
import time

import pytest

import stratadb
from stratadb import Strata


def test_exception_hierarchy():
    assert issubclass(stratadb.StrataError, RuntimeError)
    for name in ("NotFoundError", "ConflictError", "InvalidInputError", "ClosedError", "LockedError"):
        cls = getattr(stratadb, name)
        assert issubclass(cls, stratadb.StrataError), name
        assert cls.__module__ == "stratadb"


def test_public_surface_is_documented():
    assert stratadb.__version__
    for name in ("open", "cache", "kv_put", "kv_get", "close"):
        doc = getattr(Strata, name).__doc__
        assert doc and len(doc) > 40, name
    # help() shows real signatures, not (*args, **kwargs).
    assert Strata.kv_put.__text_signature__ == "($self, key, value)"
    assert Strata.kv_get.__text_signature__ == "($self, key, as_of=None)"
    assert Strata.open.__text_signature__ == "(path, **options)"


def big_put_duration(db, size):
    blob = bytes(size)
    start = time.perf_counter()
    db.kv_put("blob", blob)
    return time.perf_counter() - start


def test_engine_calls_release_the_gil(db):
    # Find a value size whose put takes long enough to observe (>= 100 ms).
    size = 1 << 20
    while big_put_duration(db, size) < 0.1 and size < (256 << 20):
        size *= 2
    blob = bytes(size)

    ticks = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks.append(time.perf_counter())

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        time.sleep(0.02)
        start = time.perf_counter()
        db.kv_put("blob", blob)
        end = time.perf_counter()
    finally:
        stop.set()
        spinner.join()

    # If the put held the GIL, the spinner could only run at the very edges of the
    # call. Require it to have run in the middle half of the call.
    span = end - start
    middle = [t for t in ticks if start + span / 4 < t < end - span / 4]
    assert len(middle) > 10, (
        f"spinner made {len(middle)} steps during the middle of a {span * 1000:.0f} ms put"
    )


def test_two_threads_write_concurrently(db):
    errors = []

    def writer(tag):
        try:
            for i in range(200):
                db.kv_put(f"{tag}:{i}", {"tag": tag, "i": i})
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for tag in ("a", "b"):
        for i in (0, 199):
            assert db.kv_get(f"{tag}:{i}") == {"tag": tag, "i": i}


def test_close_while_other_thread_uses_handle(db):
    db.kv_put("k", 1)
    results = []

    def reader():
        try:
            for _ in range(500):
                results.append(db.kv_get("k"))
        except stratadb.ClosedError:
            results.append("closed")

    t = threading.Thread(target=reader)
    t.start()
    db.close()
    t.join()
    assert set(results) <= {1, "closed"}
    with pytest.raises(stratadb.ClosedError):
        db.kv_get("k")
