"""Opening, closing, reopening, cache databases, options and path errors."""

import json
import os

import pytest

from conftest import run_python
from stratadb import (
    ClosedError,
    InvalidInputError,
    LockedError,
    NotFoundError,
    Strata,
    StrataError,
)


def test_reopen_keeps_data(db_path):
    values = {"s": "text", "i": 7, "f": 0.25, "b": b"\x00\x01", "l": [1, [2]], "d": {"k": None}}
    db = Strata.open(db_path)
    for k, v in values.items():
        db.kv_put(k, v)
    db.close()
    assert os.path.isdir(db_path)

    db = Strata.open(db_path)
    assert {k: db.kv_get(k) for k in values} == values
    db.close()


def test_versions_continue_after_reopen(db_path):
    with Strata.open(db_path) as db:
        v1 = db.kv_put("k", 1)
    with Strata.open(db_path) as db:
        assert db.kv_put("k", 2) > v1


def test_open_accepts_pathlike(tmp_path):
    with Strata.open(tmp_path / "db") as db:
        db.kv_put("k", 1)
    assert (tmp_path / "db").is_dir()


@pytest.mark.parametrize("durability", ["standard", "always", "none"])
def test_durability_options_persist_across_close(db_path, durability):
    with Strata.open(db_path, durability=durability) as db:
        db.kv_put("k", durability)
    with Strata.open(db_path) as db:
        assert db.kv_get("k") == durability


def test_bad_durability_is_rejected(db_path):
    with pytest.raises(InvalidInputError, match="durability"):
        Strata.open(db_path, durability="sometimes")
    with pytest.raises(InvalidInputError, match="durability"):
        Strata.open(db_path, durability=1)


def test_unknown_option_is_a_type_error(db_path):
    with pytest.raises(TypeError, match="durabilty"):
        Strata.open(db_path, durabilty="always")


def test_standard_durability_survives_process_crash(db_path):
    # The child writes and dies without closing (no flush, no destructors).
    run_python(
        """
        import os, sys
        from stratadb import Strata
        db = Strata.open(sys.argv[1])
        db.kv_put("k", {"survived": True})
        os._exit(0)
        """,
        db_path,
    )
    with Strata.open(db_path) as db:
        assert db.kv_get("k") == {"survived": True}


def test_context_manager_closes(db_path):
    with Strata.open(db_path) as db:
        db.kv_put("k", 1)
    with pytest.raises(ClosedError):
        db.kv_get("k")
    assert "closed" in repr(db)


def test_context_manager_closes_on_exception(db_path):
    with pytest.raises(KeyError):
        with Strata.open(db_path) as db:
            db.kv_put("k", 1)
            raise KeyError("boom")
    with pytest.raises(ClosedError):
        db.kv_put("k", 2)


def test_closed_handle_raises_closed_error_everywhere(db):
    db.close()
    db.close()  # idempotent
    for call in (lambda: db.kv_put("k", 1), lambda: db.kv_get("k"), lambda: db.__enter__()):
        with pytest.raises(ClosedError) as info:
            call()
        assert isinstance(info.value, RuntimeError)
        assert info.value.code == "closed"


def test_cannot_construct_directly():
    with pytest.raises(TypeError):
        Strata()  # type: ignore[call-arg]


def test_cache_databases_are_independent():
    a, b = Strata.cache(), Strata.cache()
    a.kv_put("k", "a")
    assert b.kv_get("k") is None
    a.close()
    b.close()


CACHE_CHILD = """
    import gc, json, os, sys
    from stratadb import Strata
    tmp = sys.argv[1]
    seen = {}
    db = Strata.cache()
    db.kv_put("k", b"x" * 100_000)
    seen["open"] = sorted(os.listdir(tmp))
    db.close()
    seen["closed"] = sorted(os.listdir(tmp))
    db2 = Strata.cache()
    db2.kv_put("k", 1)
    seen["open2"] = sorted(os.listdir(tmp))
    del db2
    gc.collect()
    seen["dropped"] = sorted(os.listdir(tmp))
    print(json.dumps(seen))
"""


def test_cache_leaves_no_files_behind(tmp_path):
    # Run in a child whose cache dir is ours, so we can see exactly what it creates
    # (by default caches live under /dev/shm when it has room; STRATA_CACHE_DIR wins).
    proc = run_python(
        CACHE_CHILD,
        str(tmp_path),
        env={"TMPDIR": str(tmp_path), "STRATA_CACHE_DIR": str(tmp_path)},
    )
    seen = json.loads(proc.stdout)
    assert len(seen["open"]) == 1 and seen["open"][0].startswith("strata-cache-"), seen
    assert seen["closed"] == []
    assert len(seen["open2"]) == 1
    assert seen["dropped"] == []
    assert os.listdir(tmp_path) == []


def test_missing_parent_directory(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist") as info:
        Strata.open(str(tmp_path / "no" / "such" / "db"))
    assert isinstance(info.value, RuntimeError)
    assert not (tmp_path / "no").exists()


def test_path_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("not a database")
    with pytest.raises(InvalidInputError, match="not a directory") as info:
        Strata.open(str(f))
    assert isinstance(info.value, RuntimeError)
    assert f.read_text() == "not a database"


LOCK_HOLDER = """
    import sys
    from stratadb import Strata
    db = Strata.open(sys.argv[1])
    db.kv_put("holder", "child")
    print("ready", flush=True)
    sys.stdin.readline()
    db.close()
    print("closed", flush=True)
"""


def test_directory_held_by_another_process(db_path):
    import subprocess
    import sys
    import textwrap

    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(LOCK_HOLDER), db_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        line = child.stdout.readline()
        assert line.strip() == "ready", child.stderr.read() if child.stderr else line
        with pytest.raises(LockedError, match="locked by another process") as info:
            Strata.open(db_path)
        assert isinstance(info.value, StrataError) and isinstance(info.value, RuntimeError)
        assert info.value.code == "locked"
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "closed"
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # Once the other process is gone, the database opens and has its data.
    with Strata.open(db_path) as db:
        assert db.kv_get("holder") == "child"
