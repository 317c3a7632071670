"""The compiled conversions (``bachata_common._codec``) against wasmtime-py's public path, the
reference (``Func.__call__`` and ``bachata_common._values``):

- every value type of the contract (each export's and each host function's parameters and
  result) and, from a component written for the test, the rest of WIT's types (flags, char,
  ``list<u8>``, every number type, resources), with random values converted all four ways
  (fast or public lowering, fast or public lifting);
- every export called both ways with random arguments, and with arguments of the wrong shape
  (the same error both ways);
- the shared vectors (``tests/vectors/*.json``, :mod:`test_vectors`) run again here with every
  call made both ways and the answers compared;
- arguments converted once (``_component.prepare``) and the experiments' definition cache;
- the public path taken, with one log line, when wasmtime-py's internals are not as expected.
"""

import ctypes
import logging
import math
import random
import struct
from ctypes import addressof, pointer

import pytest
import wasmtime
from wasmtime import component as wc

from bachata_common import _codec, _component, _lend, _values, policy
from bachata_common._policy_set import stock

# The shared vectors, collected again in this module; the autouse fixture below makes every
# call of theirs both ways.
from test_vectors import *  # noqa: F401,F403

pytestmark = pytest.mark.skipif(not _codec.AVAILABLE, reason=f"the compiled calls are off: {_codec.REASON}")

#: A component whose imports use the WIT types the contract does not (only their types are
#: read; nothing is instantiated).
EXTRA_TYPES = """
(component
  (type $flags (flags "read" "write" "exec"))
  (import "fl" (type $fl (eq $flags)))
  (type $record (record (field "a" s8) (field "b" s16) (field "c" u16) (field "d" f32) (field "e" char)
                        (field "f" (list u8)) (field "g" $fl) (field "h" u8) (field "i" s64) (field "j" u64)))
  (import "rec" (type $rec (eq $record)))
  (type $variant (variant (case "none") (case "int" s64) (case "text" string) (case "pair" (tuple u8 bool))
                          (case "more" (list $rec))))
  (import "var" (type $var (eq $variant)))
  (type $enum (enum "x" "y-z" "w"))
  (import "en" (type $en (eq $enum)))
  (import "res" (type $res (sub resource)))
  (import "echo" (func (param "r" $rec) (param "v" $var) (param "o" (option (option u32))) (param "l" (list (list u8)))
                       (param "e" $en) (param "b" (list bool)) (param "n" (list s16)) (param "f" (list f32))
                       (result (tuple $rec $var (result (list $fl) (error char)) (result) (option $en)))))
  (import "handles" (func (param "own" (own $res)) (param "borrow" (borrow $res)) (result (list (own $res)))))
)
"""


@pytest.fixture(scope="module")
def engine():
    return wasmtime.Engine()


@pytest.fixture(scope="module")
def extra(engine):
    component = wc.Component(engine, wasmtime.wat2wasm(EXTRA_TYPES))
    return component.type.imports(engine)


@pytest.fixture
def store(engine):
    return wasmtime.Store(engine)


def contract_functions():
    """``(name, FuncType, exported)`` of every function of the stock policy's interfaces, the
    host functions it imports included."""
    part = stock()
    found = []
    for names, exported in ((part.component.type.exports(part.engine), True), (part.component.type.imports(part.engine), False)):
        for name, item in names.items():
            if not isinstance(item.ty, wc.ComponentInstanceType) or not name.startswith("bachata:common/"):
                continue
            for function, member in item.ty.exports(part.engine).items():
                if isinstance(member.ty, wc.FuncType):
                    found.append((f"{_component.split_name(name)[1]}.{function}", member.ty, exported))
    return found


CONTRACT = contract_functions()
EXPORTS = [(name, ty) for name, ty, exported in CONTRACT if exported]

INTS = {
    wc.S8: (-(2**7), 2**7 - 1), wc.U8: (0, 2**8 - 1), wc.S16: (-(2**15), 2**15 - 1), wc.U16: (0, 2**16 - 1),
    wc.S32: (-(2**31), 2**31 - 1), wc.U32: (0, 2**32 - 1), wc.S64: (-(2**63), 2**63 - 1), wc.U64: (0, 2**64 - 1),
}


def value_of(ty, rnd: random.Random, depth: int = 0, small: bool = False):
    """A random plain value of ``ty`` (``small``: numbers and lists a policy call handles
    quickly)."""
    for kind, (low, high) in INTS.items():
        if isinstance(ty, kind):
            if small:
                return rnd.randint(max(low, -1000), min(high, 1000))
            return rnd.choice([low, high, 0, 1, rnd.randint(low, high)])
    if isinstance(ty, wc.Bool):
        return rnd.random() < 0.5
    if isinstance(ty, wc.F32):
        return rnd.choice([0.0, -0.0, 1.5, float("inf"), float("nan"), struct.unpack("<f", struct.pack("<f", rnd.uniform(-1e9, 1e9)))[0]])
    if isinstance(ty, wc.F64):
        if small:
            return rnd.choice([0.0, -0.0, 0.5, 1, rnd.uniform(-2, 2), rnd.uniform(0, 1)])
        return rnd.choice([0.0, -0.0, 5e-324, float("inf"), -float("inf"), float("nan"), 7, rnd.uniform(-1e300, 1e300)])
    if isinstance(ty, wc.Char):
        return rnd.choice(["a", "é", "\U0001F600", "\0", chr(rnd.randint(0xE000, 0xFFFD))])
    if isinstance(ty, wc.String):
        return rnd.choice([
            "", "x", "VALIDATION_ERROR", "héllo wörld", "\U0001F600" * 3, "a\0b", "line\nbreak",
            "".join(chr(rnd.randint(32, 0xD7FF)) for _ in range(rnd.randint(0, 40))),
        ])
    if isinstance(ty, wc.ListType):
        if isinstance(ty.element, wc.U8):
            return bytes(rnd.randint(0, 255) for _ in range(rnd.randint(0, 70)))
        count = rnd.randint(0, 4 if depth < 3 else 1)
        return [value_of(ty.element, rnd, depth + 1, small) for _ in range(count)]
    if isinstance(ty, wc.RecordType):
        return {name: value_of(field, rnd, depth + 1, small) for name, field in ty.fields}
    if isinstance(ty, wc.TupleType):
        return tuple(value_of(element, rnd, depth + 1, small) for element in ty.elements)
    if isinstance(ty, wc.OptionType):
        return None if rnd.random() < 0.3 else value_of(ty.payload, rnd, depth + 1, small)
    if isinstance(ty, (wc.ResultType, wc.VariantType)):
        cases = [("ok", ty.ok), ("err", ty.err)] if isinstance(ty, wc.ResultType) else ty.cases
        tag, case = rnd.choice(cases)
        return {"tag": tag} if case is None else {"tag": tag, "val": value_of(case, rnd, depth + 1, small)}
    if isinstance(ty, wc.EnumType):
        return rnd.choice(ty.names)
    if isinstance(ty, wc.FlagsType):
        return {name for name in ty.names if rnd.random() < 0.5}
    raise TypeError(f"no random value for {ty!r}")


def same(a, b) -> bool:
    """Equal, of the same types all the way down, floats bit for bit (NaN and -0.0 included)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b


VAL = _codec.ffi.wasmtime_component_val_t if _codec.AVAILABLE else None


def public_lower(ty, value, store):
    """``value`` lowered by the public path into a C value the C API owns."""
    raw = VAL()
    ty.convert_to_c(store, _values.lower(ty, value), pointer(raw))
    return raw


def round_trips(ty, value, store):
    """``value`` lowered and lifted four ways: public/public (the reference), fast/public,
    public/fast and fast/fast."""
    codec = _codec.compile_type(ty)
    assert codec is not None
    reference = _values.lift(ty, ty.convert_from_c(public_lower(ty, value, store)))

    lowered = codec.lower(value, store)
    assert lowered is not None, f"the compiled lowering refused {value!r}"
    anchor, address, buf, kept = lowered
    copy = VAL()
    _codec._val_clone(address, addressof(copy))
    fast_public = _values.lift(ty, ty.convert_from_c(copy))

    raw = public_lower(ty, value, store)
    try:
        public_fast = codec.lift(addressof(raw))
    finally:
        _codec._val_delete(addressof(raw))

    fast_fast = codec.lift(address)
    return reference, fast_public, public_fast, fast_fast


def has_resource(ty) -> bool:
    """Whether a handle is part of ``ty`` (those are checked by
    :func:`test_resources_are_handed_over_as_handles`)."""
    if isinstance(ty, (wc.OwnType, wc.BorrowType)):
        return True
    if isinstance(ty, wc.RecordType):
        return any(has_resource(field) for _, field in ty.fields)
    if isinstance(ty, wc.TupleType):
        return any(has_resource(element) for element in ty.elements)
    if isinstance(ty, wc.ListType):
        return has_resource(ty.element)
    if isinstance(ty, wc.OptionType):
        return has_resource(ty.payload)
    if isinstance(ty, wc.ResultType):
        return any(case is not None and has_resource(case) for case in (ty.ok, ty.err))
    if isinstance(ty, wc.VariantType):
        return any(case is not None and has_resource(case) for _, case in ty.cases)
    return False


def check_type(ty, store, rnd, count):
    compared = 0
    for _ in range(count):
        value = value_of(ty, rnd)
        try:
            public_lower(ty, value, store)
        except (TypeError, ValueError):
            continue  # a value the public path cannot take (option<option<T>>'s inner none)
        reference, *others = round_trips(ty, value, store)
        for way, got in zip(("fast/public", "public/fast", "fast/fast"), others):
            assert same(got, reference), f"{way}: {value!r} gave {got!r}, the public path {reference!r}"
        compared += 1
    return compared


def test_the_fast_path_is_on_with_the_pinned_wasmtime():
    assert _codec.AVAILABLE and _codec.REASON is None
    assert all(_component._loaded().part("errors")._export("errors", name).fast is not None
               for name in ("catalog", "user-friendly-message", "make-error"))


@pytest.mark.parametrize("name,func_ty,exported", CONTRACT, ids=[name for name, _, _ in CONTRACT])
def test_every_contract_type_round_trips(name, func_ty, exported, store):
    rnd = random.Random(name)
    types = [ty for _, ty in func_ty.params] + ([func_ty.result] if func_ty.result is not None else [])
    assert all(_codec.compile_type(ty) is not None for ty in types), "a contract type is not compiled"
    for ty in types:
        if not has_resource(ty):
            assert check_type(ty, store, rnd, 25) > 0


def test_the_other_wit_types_round_trip(extra, store):
    rnd = random.Random(7)
    echo = extra["echo"].ty
    for ty in [ty for _, ty in echo.params] + [echo.result]:
        check_type(ty, store, rnd, 120)


def test_number_edges_and_bytes(extra, store):
    record = dict(extra["echo"].ty.params)["r"]
    base = value_of(record, random.Random(1))
    for field, ty in record.fields:
        if type(ty) in INTS:
            low, high = INTS[type(ty)]
            for number in (low, high, 0, -1 if low < 0 else 1):
                value = {**base, field: number}
                reference, *others = round_trips(record, value, store)
                assert all(same(other, reference) for other in others)
    for data in (b"", b"\0", bytes(range(256)) * 3):
        value = {**base, "f": data, "d": 3.0, "e": "\U0010FFFF"}
        reference, *others = round_trips(record, value, store)
        assert reference["f"] == data and all(same(other, reference) for other in others)
    # What the public path accepts besides bytes for a list<u8>, and an int for an f32.
    reference, *others = round_trips(record, {**base, "f": [1, 2, 255], "d": 2}, store)
    assert reference["f"] == b"\x01\x02\xff" and all(same(other, reference) for other in others)


def test_a_surrogate_char_is_refused_not_passed_to_the_c_api(extra):
    record = dict(extra["echo"].ty.params)["r"]
    codec = _codec.compile_type(record)
    value = {**value_of(record, random.Random(2)), "e": "\ud800"}
    with pytest.raises(ValueError, match="surrogate"):
        codec.lower(value)


def test_resources_are_handed_over_as_handles(extra, store):
    handles = extra["handles"].ty
    function = _codec.compile_function(handles)
    assert function is not None
    own, borrow = wc.ResourceHost.own(5, 9), wc.ResourceHost.borrow(6, 9)
    lowered = function.lower_args((own, borrow), store)
    assert lowered is not None
    buf, relocations, kept = lowered
    anchor, base = _codec._relocate(buf, relocations)
    params = [ty for _, ty in handles.params]
    lifted = []
    for index, ty in enumerate(params):
        copy = VAL()
        _codec._val_clone(base + 32 * index, addressof(copy))
        lifted.append(_values.lift(ty, ty.convert_from_c(copy)).to_host(store))
    assert [(host.rep, host.type, host.owned) for host in lifted] == [(5, 9, True), (6, 9, False)]
    # A list of owned handles, both ways.
    codec = _codec.compile_type(handles.result)
    anchor, address, buf, kept = codec.lower([wc.ResourceHost.own(7, 9), wc.ResourceHost.own(8, 9)], store)
    copy = VAL()
    _codec._val_clone(address, addressof(copy))
    back = _values.lift(handles.result, handles.result.convert_from_c(copy))
    assert [(item.to_host(store).rep, item.owned) for item in back] == [(7, True), (8, True)]
    raw = public_lower(handles.result, [wc.ResourceHost.own(3, 9)], store)
    try:
        [item] = codec.lift(addressof(raw))
    finally:
        _codec._val_delete(addressof(raw))
    assert isinstance(item, wc.ResourceAny) and item.to_host(store).rep == 3


# -- calls, both ways ------------------------------------------------------------------------------


def both_ways(interface, function, *args):
    """The answer (or the exception) of a call through the compiled conversions and through the
    public path."""
    return both_ways_afresh(interface, function, lambda: args)


def assert_same_outcome(outcomes, what):
    (fast_kind, fast), (public_kind, public) = outcomes
    assert fast_kind == public_kind, f"{what}: {fast!r} against the public path's {public!r}"
    if fast_kind == "ok":
        assert same(fast, public), f"{what}: {fast!r} against the public path's {public!r}"
    else:
        assert type(fast) is type(public) and str(fast) == str(public), f"{what}: {fast!r} / {public!r}"


@pytest.mark.parametrize("name,func_ty", EXPORTS, ids=[name for name, _ in EXPORTS])
def test_every_export_answers_the_same_both_ways(name, func_ty):
    interface, function = name.split(".")
    rnd = random.Random(name)
    params = [ty for _, ty in func_ty.params]
    for _ in range(12):
        args = [value_of(ty, rnd, small=True) for ty in params]
        assert_same_outcome(both_ways(interface, function, *args), f"{name}{tuple(args)!r}")


#: Arguments of the wrong shape (made afresh for each way: a generator is used up by a call).
WRONG_SHAPES = [
    ("errors", "user-friendly-message", lambda: (b"VALIDATION_ERROR", "default")),
    ("errors", "user-friendly-message", lambda: (None, "default")),
    ("errors", "http-status", lambda: (42,)),
    ("errors", "make-error", lambda: ({"tag": "no-such-kind"}, "m", [])),
    ("errors", "make-error", lambda: ({"val": "x"}, "m", [])),
    ("errors", "make-error", lambda: ({"tag": "generation"}, "m", [("a",)])),
    ("errors", "make-error", lambda: ({"tag": "generation"}, "m", ("a", "b"))),
    ("errors", "make-error", lambda: ({"tag": "generation"}, "m", (pair for pair in [("a", "b")]))),
    ("errors", "make-error", lambda: ({"tag": "generation"}, "m", {"a": "b"})),
    ("errors", "make-error", lambda: ({"tag": "validation", "val": {"field": "f"}}, "m", [])),
    ("errors", "make-error", lambda: ({"tag": "generation"}, "m", [("a", "b", "extra")])),
    ("errors", "make-error", lambda: ({"tag": "generation"}, "m", [["a", "b"]])),
    ("errors", "problem-json", lambda: ({"kind": {"tag": "generation"}, "message": "m", "error-code": "E"}, None, None)),
    ("experiments", "hash", lambda: ("seed", "unit", -1)),
    ("experiments", "hash", lambda: ("seed", "unit", 2.0)),
    ("experiments", "hash", lambda: ("seed", "unit", True)),
    ("experiments", "bucket-ranges", lambda: (2, "half", None)),
    ("experiments", "bucket-ranges", lambda: (2, 1, [0.5, 0.5])),
    ("experiments", "bucket-ranges", lambda: (2, 1.0, (0.5, 0.5))),
    ("experiments", "bucket-ranges", lambda: (2, 1.0, [0.5, None])),
    ("experiments", "bucket-ranges", lambda: (2, 1.0, [0.5, True])),
    ("experiments", "choose-variation", lambda: (0.5, [(0.0, 0.5), (0.5, 1.0, 9.0)])),
    ("experiments", "choose-variation", lambda: (0.5, [[0.0, 0.5]])),
    ("experiments", "choose-variation", lambda: (0.5, [(0.0,)])),
    ("experiments", "adjust", lambda: ([0.01, 0.2], "no-such-correction")),
    ("experiments", "adjust", lambda: ([0.01, 0.2], 3)),
    ("monitor", "relevance", lambda: ("rating", True)),
    ("monitor", "relevance", lambda: ("rating", "4")),
    ("organizer", "categorize", lambda: ("Lady-Turn", [{"name": "turns", "labels": "lady_turn"}], None)),
    ("organizer", "categorize", lambda: ("\ud800", [], None)),
]


def both_ways_afresh(interface, function, make):
    outcomes = []
    for fast in (True, False):
        previous = _component.FAST_CALLS
        _component.FAST_CALLS = fast
        try:
            outcomes.append(("ok", _component.call(interface, function, *make())))
        except Exception as error:  # compared by the caller
            outcomes.append(("raised", error))
        finally:
            _component.FAST_CALLS = previous
    return outcomes


@pytest.mark.parametrize("interface,function,make", WRONG_SHAPES, ids=[f"{i}.{f}-{n}" for n, (i, f, _) in enumerate(WRONG_SHAPES)])
def test_wrong_shapes_fail_or_pass_as_on_the_public_path(interface, function, make):
    assert_same_outcome(both_ways_afresh(interface, function, make), f"{interface}.{function}{make()!r}")


@pytest.fixture(autouse=True)
def every_call_both_ways(request, monkeypatch):
    """For the shared vectors collected here: each pure call is made through the compiled
    conversions and through the public path, and must answer the same."""
    if request.node.function.__module__ != "test_vectors":
        yield
        return
    original = _component._Policy.call
    calls = []

    def call(self, interface, function, *args):
        if _lend.current.get() is not None:  # files lent: made once
            return original(self, interface, function, *args)
        outcomes = []
        for fast in (True, False):
            monkeypatch.setattr(_component, "FAST_CALLS", fast)
            try:
                outcomes.append(("ok", original(self, interface, function, *args)))
            except Exception as error:
                outcomes.append(("raised", error))
        monkeypatch.setattr(_component, "FAST_CALLS", True)
        assert_same_outcome(outcomes, f"{interface}.{function}")
        calls.append(function)
        kind, answer = outcomes[0]
        if kind == "raised":
            raise answer
        return answer

    monkeypatch.setattr(_component._Policy, "call", call)
    yield
    assert calls, "the vector made no call"


# -- arguments converted once ------------------------------------------------------------------


DEFINITION = {
    "test-id": "t1", "test-name": "T", "start-ms": 0, "end-ms": 4_102_444_800_000,
    "algorithm-versions": ["a", "b"], "traffic-split": [("a", 0.5), ("b", 0.5)], "coverage": 1.0, "seed": "t1",
    "hash-version": 2, "success-metrics": ["like_rate"], "minimum-sample-size": 150, "namespace": None,
    "sequential": False,
}


def test_a_prepared_argument_answers_as_its_value():
    prepared = _component.prepare("experiments", "assign", 0, DEFINITION)
    assert isinstance(prepared, _codec.Prepared) and prepared.value is DEFINITION
    assert _component.prepare("experiments", "assign", 0, DEFINITION, prepared) is prepared
    for unit in ("u1", "u2", "someone else"):
        expected = policy.experiments_assign(DEFINITION, unit, 1_000)
        assert same(policy.experiments_assign(prepared, unit, 1_000), expected)
        assert_same_outcome(both_ways("experiments", "assign", prepared, unit, 1_000), "prepared")
    # Anywhere else it stands for its value.
    assert same(policy.experiments_check(prepared), policy.experiments_check(DEFINITION))
    # A component answering `experiments` anew (another policy set) gets the value.
    _component._loaded().part("experiments")._exports.clear()
    try:
        assert same(policy.experiments_assign(prepared, "u1", 1_000), policy.experiments_assign(DEFINITION, "u1", 1_000))
        assert _component.prepare("experiments", "assign", 0, DEFINITION, prepared) is not prepared
    finally:
        _component._loaded().part("experiments")._exports.clear()


def test_a_value_that_cannot_be_prepared_is_passed_as_it_is():
    assert _component.prepare("experiments", "assign", 1, "unit") == "unit"  # a string: nothing to gain
    broken = {**DEFINITION, "coverage": "all"}
    assert _component.prepare("experiments", "assign", 0, broken) is broken


def test_the_definition_key_is_exact():
    from datetime import datetime, timezone

    from bachata_common.monitor.experiments import _definition_key, definition_from

    definition = definition_from({
        "test_id": "t", "test_name": "T", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "algorithm_versions": ["a", "b"], "traffic_split": {"a": 0.5, "b": 0.5}, "success_metrics": ["like_rate"],
    })
    key = _definition_key(definition)
    assert key is not None and _definition_key(dict(definition)) == key
    variants = [
        {"coverage": True}, {"coverage": 1}, {"traffic_split": {"b": 0.5, "a": 0.5}},
        {"traffic_split": {"a": 0.5, "b": 0.5000000000000001}},
        {"namespace": ["n", 0.0, 0.5]}, {"namespace": ["n", -0.0, 0.5]}, {"sequential": 0}, {"hash_version": 2.0},
        {"seed": "t"}, {"start_date": datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=timezone.utc)},
    ]
    keys = [_definition_key({**definition, **change}) for change in variants]
    assert key not in keys and len(set(keys)) == len(keys)
    # The record holds milliseconds: a microsecond more is the same record.
    assert _definition_key({**definition, "start_date": datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc)}) == key
    assert _definition_key({**definition, "seed": object()}) is None
    assert _definition_key({**definition, "start_date": datetime(2026, 1, 1)}) is None


def test_assignments_follow_a_definition_changed_in_place(tmp_path):
    from bachata_common.monitor import Monitor
    from bachata_common.monitor.experiments import Experiments

    experiments = Experiments(Monitor(str(tmp_path / "m.sqlite3")))
    experiments.create({"test_id": "t", "test_name": "T", "start_date": "2026-01-01", "end_date": "2027-12-31",
                        "algorithm_versions": ["a", "b"], "traffic_split": {"a": 0.5, "b": 0.5},
                        "success_metrics": ["like_rate"]})
    definition = experiments.get("t")["definition"]
    now = __import__("datetime").datetime(2026, 6, 1, tzinfo=__import__("datetime").timezone.utc)
    units = [f"u{index}" for index in range(40)]
    first = [experiments.assign_definition(definition, unit, now)["variation"] for unit in units]
    definition["traffic_split"] = {"a": 0.0, "b": 1.0}  # the same dict object, another split
    second = [experiments.assign_definition(definition, unit, now)["variation"] for unit in units]
    assert set(first) == {0, 1} and set(second) == {1}


def test_exposures_are_logged_once_per_unit_and_variation(tmp_path):
    from datetime import datetime, timezone

    from bachata_common.monitor import Monitor
    from bachata_common.monitor.experiments import Experiments

    monitor = Monitor(str(tmp_path / "m.sqlite3"))
    experiments = Experiments(monitor)
    experiments.create({"test_id": "t", "test_name": "T", "start_date": "2026-01-01", "end_date": "2027-12-31",
                        "algorithm_versions": ["a", "b"], "traffic_split": {"a": 0.5, "b": 0.5},
                        "success_metrics": ["like_rate"]})
    definition = experiments.get("t")["definition"]
    first = datetime(2026, 6, 1, tzinfo=timezone.utc)
    for moment in (first, datetime(2026, 6, 2, tzinfo=timezone.utc)):
        for unit in ("u1", "u2", "u3"):
            experiments.assign_definition(definition, unit, moment)
    rows = monitor._read(lambda tx: tx.query("SELECT unit, variation, exposed_at_ms FROM exposures ORDER BY unit"))
    assert [row[0] for row in rows] == ["u1", "u2", "u3"]
    assert {row[2] for row in rows} == {int(first.timestamp() * 1000)}
    # Another split serves u1 another variation: a second exposure, the first kept.
    definition["traffic_split"] = {"a": 0.0, "b": 1.0} if rows[0][1] == 0 else {"a": 1.0, "b": 0.0}
    experiments.assign_definition(definition, "u1", first)
    assert len(monitor._read(lambda tx: tx.query("SELECT 1 FROM exposures WHERE unit = 'u1'"))) == 2


# -- when the internals are not as expected ------------------------------------------------------


def test_the_public_path_is_taken_and_said_once_when_the_internals_differ(monkeypatch, caplog):
    from bachata_common._component import _Policy

    monkeypatch.setattr(_codec, "AVAILABLE", False)
    monkeypatch.setattr(_codec, "REASON", "wasmtime._ffi lays out component values otherwise (val)")
    monkeypatch.setattr(_codec, "_reported", False)
    part = _Policy(_component._read_stock())
    with caplog.at_level(logging.WARNING, logger="bachata_common"):
        assert part.call("errors", "http-status", "VALIDATION_ERROR") == 400
        assert part.call("errors", "make-error", {"tag": "generation"}, "m", [])["error-code"] == "GENERATION_ERROR"
    assert part._export("errors", "http-status").fast is None
    said = [record.getMessage() for record in caplog.records if "public API" in record.getMessage()]
    assert len(said) == 1 and "lays out component values otherwise" in said[0]
