"""A handle inherited through os.fork(): refused in the child, harmless at its exit.

A forked child has the parent's memory but not the engine's threads, and the files
are the parent's: before these checks a child could write the parent's journal behind
its back, and a child that exited normally hung at exit waiting for threads that did
not exist (so did the parent, waiting for the child).
"""

import json
import os
import select
import signal
import time

import pytest

from conftest import run_python
from stratadb import ClosedError, LockedError, Strata

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    # Python 3.12+ warns about fork() in a process with threads: that is the point.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def _in_child(work) -> dict:
    """Runs `work()` in a forked child and returns the dict it returned (as JSON)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's teardown
        os.close(read_end)
        try:
            out = work()
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            out = {"unexpected": repr(e)}
        os.write(write_end, json.dumps(out).encode())
        os._exit(0)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + 60
    try:
        while True:
            ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung")
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(b"".join(chunks))


def test_an_inherited_handle_is_refused_and_the_parent_keeps_its_data(db_path):
    db = Strata.open(db_path)
    db.kv_put("k", "parent")

    def child() -> dict:
        out = {}
        for name, call in [
            ("get", lambda: db.kv_get("k")),
            ("put", lambda: db.kv_put("k", "child")),
            ("append", lambda: db.event_append("t", {"from": "child"})),
        ]:
            try:
                call()
                out[name] = "allowed"
            except ClosedError as e:
                out[name] = str(e)
        db.close()  # nothing to close in the child; must not hang or raise
        try:
            Strata.open(db_path)
            out["reopen"] = "opened"
        except LockedError:
            out["reopen"] = "locked"
        with Strata.cache() as fresh:  # a database of its own works
            fresh.kv_put("x", 1)
            out["fresh"] = fresh.kv_get("x")
        return out

    out = _in_child(child)
    for name in ("get", "put", "append"):
        assert "before this process was forked" in out[name], out
    assert out["reopen"] == "locked", out
    assert out["fresh"] == 1, out
    # The parent is untouched and goes on working.
    assert db.kv_get("k") == "parent"
    db.kv_put("k2", "after")
    db.close()
    with Strata.open(db_path) as again:
        assert again.kv_get("k") == "parent"
        assert again.kv_get("k2") == "after"
        assert again.event_len() == 0


def test_a_child_that_exits_normally_does_not_hang(db_path):
    # Interpreter finalization in the child drops the inherited handle: before the
    # fix it waited forever for the engine's threads. A fresh interpreter, so that the
    # child's exit runs the usual finalization.
    proc = run_python(
        """
        import os, sys, time
        from stratadb import Strata
        db = Strata.open(sys.argv[1])
        for i in range(5000):
            db.kv_put(f"k{i}", i)
        pid = os.fork()
        if pid == 0:
            sys.exit(0)  # normal exit: finalization drops the inherited handle
        start = time.monotonic()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert db.kv_get("k4999") == 4999
        db.close()
        print(f"child exited in {time.monotonic() - start:.2f}s")
        """,
        db_path,
        timeout=60,
    )
    assert "child exited" in proc.stdout
