"""Binding-specific behaviour beyond the spec walk: NumPy input forms, model callbacks,
search time ranges, transaction edge cases, bundle validation and the CLI."""

import subprocess
import sys
import threading

import numpy as np
import pytest

import stratadb
from stratadb import InvalidInputError, NotFoundError, Strata, StrataError, TransactionError

# ----------------------------------------------------------------- vectors


def test_vector_inputs_of_every_form(db):
    db.vector_create_collection("c", 3)
    m = np.arange(12, dtype=np.float32).reshape(3, 4)
    forms = {
        "f32": np.array([1, 2, 3], dtype=np.float32),
        "strided": m[:, 1],  # non-contiguous float32 view: [1, 5, 9]
        "f64": np.array([1.5, 2.5, 3.5]),
        "int-array": np.array([1, 2, 3]),
        "list": [1, 2.5, 3],
        "tuple": (0.0, 0.0, 1.0),
    }
    for key, vec in forms.items():
        db.vector_upsert("c", key, vec)
    assert db.vector_get("c", "strided")["embedding"].tolist() == [1.0, 5.0, 9.0]
    got = db.vector_get("c", "f64")
    assert got["embedding"].dtype == np.float32 and got["embedding"].shape == (3,)
    assert got["embedding"].tolist() == [1.5, 2.5, 3.5]
    assert got["metadata"] is None and got["version"] > 0 and got["timestamp"] > 0


@pytest.mark.parametrize("bad", [np.zeros((2, 3), dtype=np.float32), "abc", b"abc", [1, "x", 3], 7])
def test_bad_vectors_are_refused(db, bad):
    db.vector_create_collection("c", 3)
    with pytest.raises(InvalidInputError, match="vector"):
        db.vector_upsert("c", "k", bad)


def test_float32_array_is_not_copied_on_the_way_in(db):
    # A big contiguous float32 array is read in place; this only checks it round-trips
    # and that the caller's array is left untouched and writable.
    db.vector_create_collection("big", 4096)
    arr = np.random.default_rng(0).random(4096, dtype=np.float32)
    before = arr.copy()
    db.vector_upsert("big", "k", arr)
    assert arr.flags.writeable and np.array_equal(arr, before)
    np.testing.assert_array_equal(db.vector_get("big", "k")["embedding"], arr)


def test_vector_search_before_the_collection_existed_is_empty(db):
    db.vector_create_collection("c", 2)
    db.vector_upsert("c", "a", [1, 0])
    assert db.vector_search("c", [1, 0], k=3, as_of=1) == []
    with pytest.raises(NotFoundError):
        db.vector_search("ghost", [1, 0], k=3, as_of=1)


def test_batch_upsert_returns_one_version_per_item_and_zero_in_txn(db):
    db.vector_create_collection("c", 2)
    vs = db.vector_batch_upsert("c", [{"key": str(i), "vector": [i, 1]} for i in range(5)])
    assert len(vs) == 5 and len(set(vs)) == 1 and vs[0] > 0
    with db.transaction():
        assert db.vector_batch_upsert("c", [{"key": "t", "vector": [1, 1]}]) == [0]
    assert db.vector_collection_stats("c")["count"] == 6


# ----------------------------------------------------------------- models


def test_embedder_list_of_lists_and_numpy(db):
    calls = []

    def embed(texts):
        calls.append(list(texts))
        return [[float(len(t)), 1.0] for t in texts]

    db.kv_put("a", "alpha beta")
    db.configure_model(embed=embed)
    assert db.search("alpha", k=3)[0]["entity"] == "a"
    assert calls and all(isinstance(t, str) for batch in calls for t in batch)

    db.configure_model(embed=lambda texts: np.ones((len(texts), 2), dtype=np.float64))
    assert db.search("alpha", k=3)[0]["entity"] == "a"
    db.configure_model()


def test_callback_exceptions_become_strata_errors(db):
    db.kv_put("a", "alpha")

    def broken(texts):
        raise ValueError("model exploded")

    db.configure_model(embed=broken)
    with pytest.raises(StrataError, match="model exploded") as info:
        db.search("alpha")
    assert info.value.code == "model"
    db.configure_model(embed=lambda texts: [[1.0]] * (len(texts) + 1))  # wrong row count
    with pytest.raises(StrataError, match="vectors for"):
        db.search("alpha", mode="hybrid")
    db.configure_model()
    assert db.search("alpha")[0]["entity"] == "a"


def test_expand_and_rerank_are_used(db):
    db.kv_put("cat", "felines purr")
    db.kv_put("dog", "canines bark")
    db.configure_model(expand=lambda q: ["canines"] if "dog" in q else [])
    assert [h["entity"] for h in db.search("dog", k=5)] == ["dog"]
    db.configure_model(rerank=lambda q, docs: [1.0 if "purr" in d else 0.0 for d in docs])
    db.kv_put("both", "felines purr canines bark")
    hits = db.search("canines felines", k=5, rerank=True)
    assert {h["entity"] for h in hits[:2]} == {"cat", "both"}
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    db.configure_model()


def test_configure_model_refuses_non_callables(db):
    with pytest.raises(TypeError, match="embed"):
        db.configure_model(embed=42)


def test_threads_searching_with_a_python_model_do_not_deadlock(db):
    for i in range(50):
        db.kv_put(f"k{i}", f"document number {i} about topic {i % 5}")
    db.configure_model(embed=lambda texts: np.ones((len(texts), 4), dtype=np.float32))
    errors = []

    def worker():
        try:
            for _ in range(10):
                assert len(db.search("topic document", k=5)) == 5
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads) and errors == []
    db.configure_model()


# ----------------------------------------------------------------- search time ranges


def test_time_range_date_only_end_covers_the_day(db):
    db.kv_put("k", "needle")
    ts = db.kv_get_versioned("k")["timestamp"]
    import datetime

    day = datetime.datetime.fromtimestamp(ts / 1e6, tz=datetime.timezone.utc).date().isoformat()
    assert [h["entity"] for h in db.search("needle", time_range={"start": day, "end": day})] == ["k"]
    assert db.search("needle", time_range={"end": "1971-01-01"}) == []
    assert [h["entity"] for h in db.search("needle", time_range={"start": ts, "end": ts})] == ["k"]


@pytest.mark.parametrize(
    "bad",
    [{"start": "yesterday"}, {"end": "2026-02-30"}, {"start": "2026-02-02", "end": "2026-02-01"}, {"when": "2026-01-01"}],
)
def test_bad_time_ranges(db, bad):
    with pytest.raises(InvalidInputError):
        db.search("x", time_range=bad)


# ----------------------------------------------------------------- transactions


def test_transaction_rolls_back_and_propagates(db):
    with pytest.raises(KeyError):
        with db.transaction():
            db.kv_put("a", 1)
            raise KeyError("boom")
    assert db.kv_get("a") is None and not db.in_transaction()


def test_transaction_error_for_misuse(db):
    db.begin()
    with pytest.raises(TransactionError, match="already active"):
        db.begin()
    info = db.txn_info()
    assert info["status"] == "active" and info["id"] > 0 and info["started_at"] > 0
    assert isinstance(db.commit(), int)
    with pytest.raises(TransactionError):
        db.commit()
    with pytest.raises(TransactionError):
        db.rollback()
    assert issubclass(TransactionError, StrataError)


def test_with_gives_the_handle_and_read_only_refuses_writes(db):
    with db.transaction() as txn_db:
        assert txn_db is db
        assert db.kv_put("a", 1) == 0
    with pytest.raises(StrataError):
        with db.transaction(read_only=True):
            db.kv_put("b", 1)
    assert db.kv_get("b") is None and not db.txn_is_active()


# ----------------------------------------------------------------- bundles and CLI


def test_bundle_validation_reports_corruption(db, tmp_path):
    db.kv_put("k", "v")
    path = tmp_path / "b.bundle"
    db.branch_export("default", path)
    assert db.branch_validate_bundle(path)["checksums_valid"] is True
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    result = db.branch_validate_bundle(str(path))
    assert result["checksums_valid"] is False and "checksum" in result["error"]
    with pytest.raises(NotFoundError):
        db.branch_validate_bundle(tmp_path / "missing.bundle")


def test_cli_version_and_summary(tmp_path):
    out = subprocess.run([sys.executable, "-m", "stratadb"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"stratadb {stratadb.__version__}"
    path = tmp_path / "db"
    with Strata.open(path) as db:
        db.kv_put("a", 1)
        db.event_append("t", {})
        db.fork_branch("exp")
    out = subprocess.run([sys.executable, "-m", "stratadb", str(path)], capture_output=True, text=True, check=True)
    assert "branch exp (forked from default" in out.stdout
    assert "space default: kv 1, state 0, events 1, json 0, vectors 0" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "stratadb", str(tmp_path / "nope")], capture_output=True, text=True)
    assert bad.returncode == 1 and "not a database directory" in bad.stderr


def test_help_is_useful():
    doc = Strata.kv_put.__doc__
    assert "version" in doc and ">>>" in doc
    assert Strata.state_cas.__text_signature__ == "($self, cell, new_value, expected_version=None, *, expected=None)"
    assert Strata.search.__text_signature__ == (
        "($self, query, k=None, primitives=None, time_range=None, mode=None, expand=None, rerank=None)"
    )


# ----------------------------------------------------------------- allocator


def _thp_mode() -> str:
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            text = f.read()
    except OSError:
        return "unknown"
    return text.split("[", 1)[1].split("]", 1)[0] if "[" in text else "unknown"


@pytest.mark.skipif(_thp_mode() != "madvise", reason="needs transparent huge pages in madvise mode")
def test_the_engine_heap_takes_no_transparent_huge_pages():
    # The extension stops mimalloc from madvising huge pages (repeated 2 MiB page
    # faults made appends several times slower); huge pages stay on for the rest of
    # the process. In a fresh interpreter: 200k appends put no huge page in our heap,
    # and a NumPy array allocated afterwards still gets them.
    from conftest import run_python

    out = run_python(
        """
        def huge_kb():
            for line in open("/proc/self/smaps_rollup"):
                if line.startswith("AnonHugePages:"):
                    return int(line.split()[1])
            return 0
        from stratadb import Strata
        db = Strata.cache()
        for i in range(200_000):
            db.event_append("t", {"n": i})
        ours = huge_kb()
        import numpy as np
        a = np.ones(40_000_000)
        a[::512] = 2.0
        print(ours, huge_kb() - ours)
        """,
        timeout=120,
    )
    ours, numpy_kb = (int(x) for x in out.stdout.split())
    assert ours == 0, f"{ours} KiB of huge pages in the engine's heap"
    assert numpy_kb > 0, "huge pages were turned off for the whole process"
