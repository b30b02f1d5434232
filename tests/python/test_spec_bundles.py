"""Reference section "Bundle Operations": branch_export, branch_import,
branch_validate_bundle; a round trip keeps every primitive, history and time travel."""

import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
from stratadb import NotFoundError, Strata, StrataError


def fill(db):
    db.kv_put("k", "v1")
    db.kv_put("k", "v2")
    db.state_set("c", 1)
    db.event_append("t", {"e": 1})
    db.json_set("d", "$", {"a": [1, 2]})
    db.vector_create_collection("vc", 2)
    db.vector_upsert("vc", "x", [1.0, 0.0], {"m": 1})
    db.set_space("s")
    db.kv_put("in-s", b"\x00bytes")
    db.set_space("default")


# ----------------------------------------------------------------- code examples


def test_example_export_import_validate(tmp_path, capsys):
    """The three examples in order on one database. Spec ambiguity: the bundle holds
    branch "default", which already exists where it is imported; the reference shows
    no way to rename. Accepted: a clear refusal naming the branch, or an import under
    another name that then holds the data. Never: default overwritten or merged."""
    bundle = str(tmp_path / "backup.bundle")
    db = Strata.cache()
    fill(db)
    before = H.db_state(db)["branches"]["default"]
    result = db.branch_export("default", bundle)
    print(f"Exported {result['entry_count']} entries")
    try:
        result = db.branch_import(bundle)
    except StrataError as e:
        assert "default" in str(e)
        imported = None
    else:
        print(f"Imported to branch {result['branch_id']}")
        imported = result["branch_id"]
    result = db.branch_validate_bundle(bundle)
    print(f"Valid: {result['checksums_valid']}")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Exported ") and int(out[0].split()[1]) >= 7
    assert out[-1] == "Valid: True"
    after = H.db_state(db)["branches"]
    assert after["default"] == before
    if imported is not None:
        assert imported != "default" and imported in after
        db.set_branch(imported)
        assert db.kv_get("k") == "v2"
    db.close()


def test_example_import_into_another_database(tmp_path):
    bundle = str(tmp_path / "backup.bundle")
    src = Strata.cache()
    src.create_branch("agent-run")
    src.set_branch("agent-run")
    fill(src)
    src.branch_export("agent-run", bundle)
    dst = Strata.cache()
    result = dst.branch_import(bundle)
    assert result["branch_id"] == "agent-run"
    dst.set_branch("agent-run")
    assert dst.kv_get("k") == "v2"
    src.close()
    dst.close()


# ----------------------------------------------------------------- round trips


def test_round_trip_keeps_all_data_and_history(tmp_path):
    bundle = str(tmp_path / "b.bundle")
    src = Strata.cache()
    fill(src)
    src.create_branch("exp")
    src.set_branch("exp")
    fill(src)
    src.kv_put("k", "exp-only")
    src.set_branch("default")
    export = src.branch_export("exp", bundle)
    assert export["entry_count"] >= 8
    dst = Strata.cache()
    imported = dst.branch_import(bundle)
    assert imported["branch_id"] == "exp"
    assert dst.branch_exists("exp")
    dst.set_branch("exp")
    src.set_branch("exp")
    # values, histories, events, vectors, spaces: everything but versions (renumbered)
    s_state, d_state = H.space_state(src), H.space_state(dst)

    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k != "version"}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    assert strip(d_state) == strip(s_state)
    assert sorted(dst.list_spaces()) == ["default", "s"]
    # timestamps are kept, so time travel answers the same
    hist = dst.kv_history("k")
    assert [e["value"] for e in hist] == ["exp-only", "v2", "v1"]
    assert dst.kv_get("k", as_of=hist[1]["timestamp"]) == "v2"
    src.close()
    dst.close()


def test_import_into_existing_name_is_refused(tmp_path):
    bundle = str(tmp_path / "b.bundle")
    db = Strata.cache()
    fill(db)
    db.branch_export("default", bundle)
    before = H.db_digest(db)
    with H.raises(StrataError, "default"):
        db.branch_import(bundle)  # "default" exists here
    assert H.db_digest(db) == before
    db.close()


def test_import_after_delete_restores_branch(tmp_path):
    bundle = str(tmp_path / "b.bundle")
    db = Strata.cache()
    db.create_branch("b")
    db.set_branch("b")
    db.kv_put("k", 1)
    db.set_branch("default")
    db.branch_export("b", bundle)
    db.delete_branch("b")
    db.branch_import(bundle)
    db.set_branch("b")
    assert db.kv_get("k") == 1
    db.close()


def test_validate_reports_details(tmp_path):
    bundle = str(tmp_path / "b.bundle")
    db = Strata.cache()
    fill(db)
    export = db.branch_export("default", bundle)
    info = db.branch_validate_bundle(bundle)
    assert info["checksums_valid"] is True
    assert info.get("entry_count", export["entry_count"]) == export["entry_count"]
    db.close()


def test_corrupt_bundle_is_refused(tmp_path):
    bundle = tmp_path / "b.bundle"
    db = Strata.cache()
    fill(db)
    db.branch_export("default", str(bundle))
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bundle.write_bytes(bytes(data))
    other = Strata.cache()
    before = H.db_digest(other)
    try:
        info = other.branch_validate_bundle(str(bundle))
    except StrataError as e:
        assert "bundle" in str(e).lower()
    else:
        assert info["checksums_valid"] is False
    with pytest.raises(StrataError):
        other.branch_import(str(bundle))
    assert H.db_digest(other) == before
    db.close()
    other.close()


def test_export_unknown_branch_and_missing_file(tmp_path):
    db = Strata.cache()
    with H.raises(NotFoundError, "ghost"):
        db.branch_export("ghost", str(tmp_path / "x.bundle"))
    assert not (tmp_path / "x.bundle").exists()
    with H.raises(StrataError, "nothere"):
        db.branch_import(str(tmp_path / "nothere.bundle"))
    with H.raises(StrataError, "nothere"):
        db.branch_validate_bundle(str(tmp_path / "nothere.bundle"))
    db.close()


def test_export_of_fork_contains_inherited_data(tmp_path):
    bundle = str(tmp_path / "f.bundle")
    db = Strata.cache()
    db.kv_put("base", 1)
    db.fork_branch("f")
    db.set_branch("f")
    db.kv_put("own", 2)
    db.set_branch("default")
    db.branch_export("f", bundle)
    dst = Strata.cache()
    dst.branch_import(bundle)
    dst.set_branch("f")
    assert dst.kv_list() == ["base", "own"]
    db.close()
    dst.close()
