"""Every type of the spec's value table round-trips exactly; bad values fail clearly."""

import math

import pytest

from stratadb import InvalidInputError, StrataError

MAX_NESTING = 256

ROUND_TRIPS = [
    None,
    True,
    False,
    0,
    -1,
    42,
    2**63 - 1,
    -(2**63),
    0.0,
    -0.0,
    1.5,
    1e308,
    5e-324,
    math.inf,
    -math.inf,
    "",
    "plain",
    "unicode: ünïcödé 漢字 🚀 \u0000 nul",
    b"",
    b"\x00\xff\x10binary",
    [],
    [1, "two", 3.0, None, True, b"\x01"],
    {},
    {"name": "Alice", "age": 30, "tags": ["a", "b"], "nested": {"deep": [{"x": [1, [2, [3]]]}]}},
    {"ключ": "значение", "": "empty key", "🔑": {"🔑": "🔒"}},
]


@pytest.mark.parametrize("value", ROUND_TRIPS, ids=repr)
def test_round_trip(db, value):
    db.kv_put("k", value)
    got = db.kv_get("k")
    assert got == value
    assert type(got) is type(value)


def test_bool_stays_bool_and_int_stays_int(db):
    db.kv_put("t", True)
    db.kv_put("one", 1)
    db.kv_put("mixed", [True, 1, False, 0])
    assert db.kv_get("t") is True
    assert type(db.kv_get("one")) is int
    assert [type(x) for x in db.kv_get("mixed")] == [bool, int, bool, int]


def test_float_keeps_type_and_sign(db):
    db.kv_put("f", 2.0)
    db.kv_put("negzero", -0.0)
    assert type(db.kv_get("f")) is float
    assert math.copysign(1.0, db.kv_get("negzero")) == -1.0


def test_nan_round_trips(db):
    db.kv_put("nan", math.nan)
    db.kv_put("nested", {"x": [math.nan]})
    got = db.kv_get("nan")
    assert isinstance(got, float) and math.isnan(got)
    assert math.isnan(db.kv_get("nested")["x"][0])


def test_dict_order_is_kept(db):
    value = {"z": 1, "a": 2, "m": 3}
    db.kv_put("k", value)
    assert list(db.kv_get("k")) == ["z", "a", "m"]


def test_tuple_reads_back_as_list_and_bytearray_as_bytes(db):
    db.kv_put("t", (1, (2, "x")))
    db.kv_put("ba", bytearray(b"abc"))
    assert db.kv_get("t") == [1, [2, "x"]]
    got = db.kv_get("ba")
    assert got == b"abc" and type(got) is bytes


def test_large_bytes_round_trip(db):
    blob = bytes(range(256)) * 4096  # 1 MiB
    db.kv_put("blob", blob)
    assert db.kv_get("blob") == blob


@pytest.mark.parametrize("big", [2**63, -(2**63) - 1, 10**40])
def test_ints_beyond_64_bits_are_refused(db, big):
    with pytest.raises(InvalidInputError, match="64 bits"):
        db.kv_put("k", big)
    assert db.kv_get("k") is None


def test_big_int_error_names_the_location(db):
    with pytest.raises(InvalidInputError, match=r'value\["a"\]\[1\]'):
        db.kv_put("k", {"a": [0, 2**64]})


def test_non_str_dict_keys_are_refused(db):
    with pytest.raises(InvalidInputError, match="dict keys must be str"):
        db.kv_put("k", {1: "x"})
    with pytest.raises(InvalidInputError, match="dict keys must be str"):
        db.kv_put("k", {"ok": {b"bytes-key": 1}})


@pytest.mark.parametrize("bad", [{1, 2}, object(), 1 + 2j, frozenset()], ids=repr)
def test_unsupported_types_are_refused(db, bad):
    with pytest.raises(InvalidInputError, match="not supported"):
        db.kv_put("k", bad)


def nested(levels):
    value = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def test_nesting_up_to_the_limit_round_trips(db):
    value = nested(MAX_NESTING)
    db.kv_put("deep", value)
    assert db.kv_get("deep") == value


def test_nesting_beyond_the_limit_is_refused(db):
    with pytest.raises(InvalidInputError, match="nested deeper than 256"):
        db.kv_put("deep", nested(MAX_NESTING + 1))
    deep_dict = {}
    cur = deep_dict
    for _ in range(MAX_NESTING + 10):
        cur["x"] = {}
        cur = cur["x"]
    with pytest.raises(InvalidInputError, match="nested deeper"):
        db.kv_put("deep", deep_dict)


def test_self_referencing_container_is_refused(db):
    loop = []
    loop.append(loop)
    with pytest.raises(InvalidInputError):
        db.kv_put("loop", loop)


def test_conversion_errors_are_runtime_errors_with_a_code(db):
    with pytest.raises(RuntimeError) as info:
        db.kv_put("k", {1: 2})
    assert isinstance(info.value, StrataError)
    assert info.value.code == "invalid_input"
