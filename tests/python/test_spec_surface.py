"""The whole reference surface: every method exists on Strata, is documented, and takes
the reference's parameters (names, order, defaults) so keyword calls written from the
reference work. Extra optional parameters (aliases) may follow."""

import inspect
import pathlib

import pytest

import spec_helpers as H
from spec_helpers import _spec_cache_pool, _spec_pair_pool, db, pair  # noqa: F401 (fixtures)
import stratadb
from stratadb import Strata

METHODS = sorted(H.REFERENCE_SIGNATURES)
STUBS = pathlib.Path(stratadb.__file__).with_name("_stratadb.pyi")


def parameters(method):
    """[(name, default_repr_or_None_if_required, kind)] without self, from the text
    signature (native methods) or inspect (Python-level methods)."""
    sig = getattr(method, "__text_signature__", None)
    if sig:
        return H.parse_text_signature(sig), sig
    s = inspect.signature(method)
    out = []
    for p in s.parameters.values():
        if p.name == "self":
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            out.append((p.name, None, "var"))
            continue
        default = None if p.default is p.empty else repr(p.default)
        out.append((p.name, default, "kw" if p.kind == p.KEYWORD_ONLY else "pos"))
    return out, str(s)


@pytest.mark.parametrize("name", METHODS)
def test_method_exists_with_reference_parameters(name):
    method = getattr(Strata, name)
    doc = method.__doc__ or ""
    assert len(doc.strip()) >= 20, f"{name} has no real docstring"
    params, sig = parameters(method)
    expected = H.REFERENCE_SIGNATURES[name]
    got_names = [p[0] for p in params if p[2] != "var"][: len(expected)]
    assert got_names == [e[0] for e in expected], f"{name}{sig}"
    for (pname, default, kind), (ename, edefault) in zip(params, expected):
        if edefault is H.REQUIRED:
            # required in the reference; the binding may make it optional (a superset,
            # e.g. json_list(limit=None) for the variant's json_list()), but it must stay
            # positional so reference calls work
            assert kind == "pos", f"{name}: {pname} must be positional"
        else:
            assert default == repr(edefault), f"{name}: {pname} default {default} != {edefault!r}"
    # anything after the reference's parameters must be optional
    for pname, default, kind in params[len(expected):]:
        assert default is not None or kind == "var", f"{name}: extra required parameter {pname}"


@pytest.mark.parametrize("name", METHODS)
def test_method_is_in_the_type_stubs(name):
    text = STUBS.read_text()
    assert f"def {name}(" in text, f"{name} missing from {STUBS.name}"


def test_exceptions_exported():
    for name in ("StrataError", "NotFoundError", "ConflictError", "InvalidInputError",
                 "ClosedError", "LockedError"):
        assert name in stratadb.__all__
        assert issubclass(getattr(stratadb, name), RuntimeError)


def test_errors_carry_codes(db):
    with pytest.raises(stratadb.NotFoundError) as info:
        db.set_branch("ghost")
    assert info.value.code == "not_found"
    db.begin()
    with pytest.raises(stratadb.StrataError) as info:
        db.begin()
    assert isinstance(info.value.code, str) and info.value.code
    db.rollback()
