"""Policy sets: each concern answered by the first component of the set that exports it, else by
the stock policy; components of another contract version, exporting nothing known, importing
what the host does not lend or exporting an interface not as the contract defines it are refused.

The components are built here from WAT text. :func:`component` writes one exporting whole
interfaces of the contract, with the function types the stock policy exports (read through
wasmtime), each function trapping unless given a body.
"""

import hashlib
import json
import os
import time
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime
from wasmtime import component as wc

import bachata_common
from bachata_common import PolicyError, PolicyNotFound, _component, _policy_set, load_policy, policy, policy_info

HOST = _component.VERSION

PRIMITIVES = {
    wc.Bool: "bool", wc.S8: "s8", wc.U8: "u8", wc.S16: "s16", wc.U16: "u16", wc.S32: "s32",
    wc.U32: "u32", wc.S64: "s64", wc.U64: "u64", wc.F32: "f32", wc.F64: "f64", wc.Char: "char",
    wc.String: "string",
}
FLAT = {"s64": ["i64"], "u64": ["i64"], "f32": ["f32"], "f64": ["f64"], "string": ["i32", "i32"]}
#: The types a component must name (export) wherever a function it exports uses them.
NAMED = (wc.RecordType, wc.VariantType, wc.EnumType, wc.FlagsType)


class _Types:
    """The component's type definitions, each compound type once, in dependency order."""

    def __init__(self):
        self.defined = []  # (type, index name, definition)

    def ref(self, ty):
        for kind, name in PRIMITIVES.items():
            if isinstance(ty, kind):
                return name
        for known, name, _ in self.defined:
            if type(known) is type(ty) and known == ty:
                return name
        if isinstance(ty, wc.RecordType):
            body = "(record " + " ".join(f'(field "{n}" {self.ref(t)})' for n, t in ty.fields) + ")"
        elif isinstance(ty, wc.VariantType):
            cases = (f'(case "{n}")' if t is None else f'(case "{n}" {self.ref(t)})' for n, t in ty.cases)
            body = "(variant " + " ".join(cases) + ")"
        elif isinstance(ty, wc.EnumType):
            body = "(enum " + " ".join(f'"{n}"' for n in ty.names) + ")"
        elif isinstance(ty, wc.FlagsType):
            body = "(flags " + " ".join(f'"{n}"' for n in ty.names) + ")"
        elif isinstance(ty, wc.OptionType):
            body = f"(option {self.ref(ty.payload)})"
        elif isinstance(ty, wc.ListType):
            body = f"(list {self.ref(ty.element)})"
        elif isinstance(ty, wc.TupleType):
            body = "(tuple " + " ".join(self.ref(t) for t in ty.elements) + ")"
        elif isinstance(ty, wc.ResultType):
            ok = "" if ty.ok is None else " " + self.ref(ty.ok)
            err = "" if ty.err is None else f" (error {self.ref(ty.err)})"
            body = f"(result{ok}{err})"
        else:
            raise TypeError(f"no WAT for {ty!r}")
        name = f"$t{len(self.defined)}"
        self.defined.append((ty, name, body))
        return name

    def named(self):
        return [name for ty, name, _ in self.defined if isinstance(ty, NAMED)]


def _join(a, b):
    if a == b:
        return a
    return "i32" if {a, b} == {"i32", "f32"} else "i64"


def _flat(ty):
    """The canonical ABI's flattening of a type."""
    for kind, name in PRIMITIVES.items():
        if isinstance(ty, kind):
            return FLAT.get(name, ["i32"])
    if isinstance(ty, wc.ListType):
        return ["i32", "i32"]
    if isinstance(ty, wc.RecordType):
        return [flat for _, t in ty.fields for flat in _flat(t)]
    if isinstance(ty, wc.TupleType):
        return [flat for t in ty.elements for flat in _flat(t)]
    if isinstance(ty, wc.EnumType):
        return ["i32"]
    if isinstance(ty, wc.FlagsType):
        return ["i32"] * ((len(ty.names) + 31) // 32)
    if isinstance(ty, wc.VariantType):
        payloads = [t for _, t in ty.cases]
    elif isinstance(ty, wc.OptionType):
        payloads = [None, ty.payload]
    elif isinstance(ty, wc.ResultType):
        payloads = [ty.ok, ty.err]
    else:
        raise TypeError(f"cannot flatten {ty!r}")
    joined = []
    for payload in payloads:
        for index, flat in enumerate([] if payload is None else _flat(payload)):
            if index < len(joined):
                joined[index] = _join(joined[index], flat)
            else:
                joined.append(flat)
    return ["i32", *joined]


def _core_signature(ty):
    params = [flat for _, t in ty.params for flat in _flat(t)]
    results = [] if ty.result is None else _flat(ty.result)
    return (["i32"] if len(params) > 16 else params), (["i32"] if len(results) > 1 else results)


def component(interfaces, version=HOST, bodies=None, signatures=None, drop=(), imports=()):
    """WAT of a component exporting each of ``interfaces`` as ``bachata:common/<name>@<version>``
    with the stock policy's function types. ``bodies[(interface, function)]`` is a function's
    core body (default: ``unreachable``); ``signatures[(interface, function)]`` replaces its type
    (``(component params and result, core params, core results)``); the functions of ``drop``
    are left out; ``imports`` are import lines."""
    stock = _policy_set.stock()
    engine, exports = stock.engine, stock.component.type.exports(stock.engine)
    bodies, signatures = bodies or {}, signatures or {}
    types = _Types()
    core, lifted, instances = [], [], []
    for interface in interfaces:
        items = exports[stock.exported[interface]].ty.exports(engine)
        functions = []
        for function, item in items.items():
            if not isinstance(item.ty, wc.FuncType) or (interface, function) in drop:
                continue
            if (interface, function) in signatures:
                component_type, core_params, core_results = signatures[(interface, function)]
            else:
                ty = item.ty
                component_type = " ".join(f'(param "{n}" {types.ref(t)})' for n, t in ty.params)
                if ty.result is not None:
                    component_type += f" (result {types.ref(ty.result)})"
                core_params, core_results = _core_signature(ty)
            core_name = f"{interface}.{function}"
            core.append(
                f'(func (export "{core_name}")'
                + "".join(f" (param {p})" for p in core_params)
                + "".join(f" (result {r})" for r in core_results)
                + f" {bodies.get((interface, function), 'unreachable')})"
            )
            index = f"$f{len(lifted)}"
            lifted.append(
                f'(func {index} {component_type} (canon lift (core func $core "{core_name}") '
                f'(memory (core memory $core "memory")) (realloc (core func $core "realloc"))))'
            )
            functions.append((function, index))
        instances.append((f"bachata:common/{interface}@{version}", functions))
    lines = ["(component", *imports]
    lines += [
        "(core module $m",
        '  (memory (export "memory") 1)',
        "  (global $next (mut i32) (i32.const 1024))",
        '  (func (export "realloc") (param i32 i32 i32 i32) (result i32) (local $at i32)',
        "    global.get $next local.get 2 i32.add i32.const 1 i32.sub",
        "    i32.const 0 local.get 2 i32.sub i32.and local.tee $at",
        "    local.get 3 i32.add global.set $next local.get $at)",
        *core,
        ")",
        "(core instance $core (instantiate $m))",
        *(f"(type {name} {body})" for _, name, body in types.defined),
        *lifted,
    ]
    for number, (name, functions) in enumerate(instances):
        exported = [f'(export "{type_name[1:]}" (type {type_name}))' for type_name in types.named()]
        exported += [f'(export "{function}" (func {index}))' for function, index in functions]
        lines.append(f"(instance $i{number} {' '.join(exported)})")
        lines.append(f'(export "{name}" (instance $i{number}))')
    lines.append(")")
    return "\n".join(lines)


def write(path, wat):
    path.write_bytes(wasmtime.wat2wasm(wat))
    return path


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: A core function body answering ``http-status`` (it takes a string: two i32) with ``status``.
def status(code):
    return {("errors", "http-status"): f"i32.const {code}"}


@pytest.fixture(autouse=True)
def own_policy_set(monkeypatch, tmp_path):
    """Whatever set a test loads, the process's set is put back afterwards; the test's
    components are compiled into a cache of its own."""
    monkeypatch.setattr(_component, "_policy", _component._policy)
    monkeypatch.setenv("BACHATA_CACHE_DIR", str(tmp_path / "compile-cache"))


@pytest.fixture
def teapot(tmp_path):
    """Exports only ``errors``: ``http-status`` answers 418, the rest traps."""
    return write(tmp_path / "teapot.wasm", component(["errors"], bodies=status(418)))


@pytest.fixture
def metrics(tmp_path):
    """Exports ``errors`` (``http-status`` answers 419) and ``monitor`` (``satisfaction``
    answers 0.25)."""
    bodies = {**status(419), ("monitor", "satisfaction"): "f64.const 0.25"}
    return write(tmp_path / "metrics.wasm", component(["errors", "monitor"], bodies=bodies))


def test_each_concern_is_answered_by_the_first_component_that_exports_it(teapot, metrics):
    info = load_policy([teapot, metrics])
    assert policy.http_status("VALIDATION_ERROR") == 418
    assert policy.monitor_satisfaction([]) == 0.25
    # The concerns neither exports: the stock policy.
    assert policy.experiments_hash("seed", "a", 2) == 0.0505
    assert policy.organizer_normalize_label("Lady-Turn") == "lady_turn"
    assert policy.load_config({})["tag"] == "ok"

    stock = _policy_set.stock()
    assert info == policy_info()
    assert info["errors"] == {"origin": str(teapot), "sha256": sha256(teapot), "contract": HOST}
    assert info["monitor"] == {"origin": str(metrics), "sha256": sha256(metrics), "contract": HOST}
    for concern in ("config", "cleanup", "pose", "experiments", "organizer", "couple"):
        assert info[concern] == {"origin": "embedded", "sha256": stock.sha256, "contract": HOST}
    assert info.files == [str(teapot), str(metrics)]
    answers = {component["origin"]: component["answers"] for component in info.components}
    assert answers == {
        str(teapot): ["errors"],
        str(metrics): ["monitor"],
        "embedded": ["config", "cleanup", "pose", "events", "experiments", "organizer", "couple"],
    }
    assert json.loads(json.dumps(info)) == dict(info)


def test_order_matters(teapot, metrics):
    load_policy([metrics, teapot])
    assert policy.http_status("VALIDATION_ERROR") == 419
    assert policy_info()["errors"]["origin"] == str(metrics)
    assert policy_info().components[1]["answers"] == []
    load_policy([teapot, metrics])
    assert policy.http_status("VALIDATION_ERROR") == 418


def test_one_path_and_no_path(teapot):
    assert load_policy(str(teapot))["errors"]["origin"] == str(teapot)
    assert policy.http_status("VALIDATION_ERROR") == 418
    assert load_policy([]).files == []
    assert policy.http_status("VALIDATION_ERROR") == 400


def test_bachata_policy_lists_the_files(teapot, metrics, monkeypatch):
    load_policy([])
    stock_satisfaction = policy.monitor_satisfaction([])
    monkeypatch.setenv("BACHATA_POLICY", f"{metrics}{os.pathsep}{teapot}")
    info = load_policy()  # what BACHATA_POLICY lists
    assert info.files == [str(metrics), str(teapot)]
    assert policy.http_status("VALIDATION_ERROR") == 419

    script = (
        "from bachata_common import policy, policy_info\n"
        "print(policy.http_status('VALIDATION_ERROR'), policy.monitor_satisfaction([]), "
        "policy_info()['monitor']['origin'], policy_info()['config']['origin'])"
    )
    for listed, expected in (
        (f"{teapot}{os.pathsep}{metrics}", f"418 0.25 {metrics} embedded"),
        (f"{metrics}{os.pathsep}{teapot}", f"419 0.25 {metrics} embedded"),
        (f"{teapot}{os.pathsep}", f"418 {stock_satisfaction} embedded embedded"),  # empty entries: none
        (str(teapot), f"418 {stock_satisfaction} embedded embedded"),  # one file: a list of one
    ):
        env = {**os.environ, "BACHATA_POLICY": listed}
        run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == expected


def test_a_trap_in_one_component_leaves_the_others_and_itself_working(teapot, metrics):
    load_policy([teapot, metrics])
    with pytest.raises(PolicyError, match=r"errors\.catalog \(wasm trap"):
        policy.catalog()
    assert policy.monitor_satisfaction([]) == 0.25
    assert policy.experiments_equal_weights(2) == [0.5, 0.5]
    assert policy.http_status("VALIDATION_ERROR") == 418


def test_user_components_keep_the_deadline_and_the_memory_cap(tmp_path, monkeypatch):
    spin = {("errors", "http-status"): "(loop $forever (br $forever)) unreachable"}
    grow = {
        ("monitor", "satisfaction"): (
            "i32.const 1024 memory.grow i32.const -1 i32.eq (if (then unreachable)) f64.const 1"
        )
    }
    load_policy(
        [
            write(tmp_path / "spin.wasm", component(["errors"], bodies=spin)),
            write(tmp_path / "grow.wasm", component(["monitor"], bodies=grow)),
        ]
    )
    monkeypatch.setenv("BACHATA_POLICY_TIMEOUT_MS", "300")
    with pytest.raises(PolicyError, match=r"deadline of 300 ms in errors\.http-status"):
        policy.http_status("VALIDATION_ERROR")
    with pytest.raises(PolicyError, match="memory cap of 64 MiB"):
        policy.monitor_satisfaction([])
    monkeypatch.setenv("BACHATA_POLICY_MAX_MEMORY_MB", "128")
    assert policy.monitor_satisfaction([]) == 1.0
    assert policy.organizer_normalize_label("Mambo Step") == "mambo_step"


def test_each_file_has_its_compile_cache_entry(teapot, metrics, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("BACHATA_CACHE_DIR", str(cache))
    first = load_policy([teapot, metrics])
    assert [c["from_cache"] for c in first.components[:2]] == [False, False]
    entries = sorted(path.name for path in cache.iterdir())
    assert len(entries) == 2
    assert any(sha256(teapot)[:32] in name for name in entries)
    assert any(sha256(metrics)[:32] in name for name in entries)
    again = load_policy([metrics, teapot])
    assert [c["from_cache"] for c in again.components[:2]] == [True, True]
    assert policy.http_status("VALIDATION_ERROR") == 419


def refusal(paths):
    with pytest.raises(PolicyError) as refused:
        load_policy(paths)
    return str(refused.value)


@pytest.mark.parametrize(
    "version, accepted",
    [
        ("1.0.0", True),  # an older minor of the same major
        ("1.0.3", True),
        ("1.1.0", True),
        ("1.1.2", True),  # a patch: the same minor
        ("1.2.0", True),
        ("1.3.0", False),  # a newer minor than the host's
        ("2.0.0", False),  # another major
        ("0.9.0", False),
        ("1.1.0-rc1", False),  # a pre-release
    ],
)
def test_the_contract_version_rule(version, accepted, tmp_path):
    assert HOST == "1.2.0"  # the cases below are written for this host
    path = write(tmp_path / f"errors-{version}.wasm", component(["errors"], version=version, bodies=status(418)))
    if accepted:
        info = load_policy([path])
        assert info["errors"] == {"origin": str(path), "sha256": sha256(path), "contract": version}
        assert policy.http_status("VALIDATION_ERROR") == 418
    else:
        message = refusal([path])
        assert message.startswith(f"cannot load policy {path}: ")
        assert f"built against bachata:common@{version}; this host speaks bachata:common@{HOST}" in message


def test_an_older_component_imports_what_it_was_built_against(tmp_path):
    """A component of 1.0.x imports the capabilities under its own version's names."""
    access = (
        '(import "bachata:common/host-secrets@1.0.3" (instance '
        '(export "access" (func (param "project" string) (param "name" string) '
        "(result (result (option string) (error string)))))))"
    )
    path = write(tmp_path / "older.wasm", component(["errors"], version="1.0.3", bodies=status(418), imports=[access]))
    assert load_policy([path])["errors"]["contract"] == "1.0.3"
    assert policy.http_status("VALIDATION_ERROR") == 418


def test_refusals_name_the_file_and_the_reason(tmp_path, teapot):
    nothing = write(
        tmp_path / "nothing.wasm",
        """(component
          (core module $m (func (export "f") (result i32) i32.const 1))
          (core instance $i (instantiate $m))
          (func $f (result u32) (canon lift (core func $i "f")))
          (instance $x (export "f" (func $f)))
          (export "bachata:common/nope@1.2.0" (instance $x)))""",
    )
    function = write(
        tmp_path / "function.wasm",
        """(component
          (core module $m (func (export "f") (result i32) i32.const 1))
          (core instance $i (instantiate $m))
          (func $f (result u32) (canon lift (core func $i "f")))
          (export "bachata:common/errors@1.2.0" (func $f)))""",
    )
    bare = write(
        tmp_path / "bare.wasm",
        component(["errors"], imports=['(import "bachata:common/host-fs@1.2.0" (func))']),
    )
    unknown = write(
        tmp_path / "unknown.wasm",
        component(
            ["errors"],
            imports=['(import "bachata:common/host-unknown@1.2.0" (instance (export "poke" (func))))'],
        ),
    )
    leak = write(
        tmp_path / "leak.wasm",
        component(
            ["errors"],
            imports=['(import "bachata:common/host-secrets@1.2.0" (instance (export "leak" (func))))'],
        ),
    )
    wasi = write(
        tmp_path / "wasi.wasm",
        component(["errors"], imports=['(import "wasi:http/outgoing-handler@0.2.0" (instance (export "handle" (func))))']),
    )
    partial = write(tmp_path / "partial.wasm", component(["errors"], drop={("errors", "catalog")}))
    retyped = write(
        tmp_path / "retyped.wasm",
        component(
            ["errors"],
            signatures={("errors", "http-status"): ('(param "error-code" string) (result u32)', ["i32", "i32"], ["i32"])},
        ),
    )
    mixed = write(
        tmp_path / "mixed.wasm",
        component(["errors"], version="1.0.0").replace(
            "(component", '(component (import "bachata:common/host-pose@1.0.1" (instance))', 1
        ),
    )
    unversioned = write(tmp_path / "unversioned.wasm", component(["errors"]).replace("errors@1.2.0", "errors"))
    core = tmp_path / "core.wasm"
    core.write_bytes(wasmtime.wat2wasm("(module)"))
    text = tmp_path / "text.wasm"
    text.write_text("(component)")
    empty = tmp_path / "empty.wasm"
    empty.write_bytes(b"")
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(b"\0asm\x0d\0\x01\0garbage")
    fifo = tmp_path / "fifo.wasm"
    os.mkfifo(fifo)
    cases = [
        (fifo, "it is a FIFO; a policy must be a regular .wasm file"),
        (nothing, "exports nothing this host calls (it exports bachata:common/nope@1.2.0)"),
        (function, "exports nothing this host calls (it exports bachata:common/errors@1.2.0)"),
        (bare, "needs an import this host does not provide: component imports function `bachata:common/host-fs@1.2.0`"),
        (unknown, "needs an import this host does not provide: bachata:common/host-unknown@1.2.0"),
        (leak, "needs an import this host does not provide: bachata:common/host-secrets@1.2.0 has no function `leak`"),
        (wasi, "needs an import this host does not provide: component imports instance `wasi:http/outgoing-handler@0.2.0`"),
        (partial, "exports bachata:common/errors@1.2.0 but not as bachata:common@1.2.0 defines it: it has no function `catalog`"),
        (retyped, "exports bachata:common/errors@1.2.0 but not as bachata:common@1.2.0 defines it: `http-status`"),
        (mixed, "mixes contract versions bachata:common@1.0.1 and bachata:common@1.0.0"),
        (unversioned, "imports or exports bachata:common/errors without a version"),
        (core, "a core WebAssembly module, not a component"),
        (text, "not a WebAssembly file"),
        (empty, "the file is empty"),
        (broken, "not a valid component"),
        (tmp_path, "it is a directory; a policy must be a regular .wasm file"),
    ]
    for path, reason in cases:
        message = refusal([teapot, path])
        assert message.startswith(f"cannot load policy {path}: "), message
        assert reason in message, message
    with pytest.raises(PolicyNotFound, match="missing.wasm: no such file"):
        load_policy([teapot, tmp_path / "missing.wasm"])


def test_a_refused_set_replaces_nothing(teapot, tmp_path):
    load_policy([teapot])
    newer = write(tmp_path / "newer.wasm", component(["errors"], version="1.3.0", bodies=status(419)))
    with pytest.raises(PolicyError, match="newer.wasm"):
        load_policy([newer])
    assert policy.http_status("VALIDATION_ERROR") == 418
    assert policy_info().files == [str(teapot)]


def test_a_file_larger_than_the_limit_is_refused(teapot, monkeypatch, tmp_path):
    big = tmp_path / "big.wasm"
    big.write_bytes(teapot.read_bytes() + b"\0" * (1 << 20))
    monkeypatch.setenv("BACHATA_POLICY_MAX_FILE_MB", "1")
    assert "policy files are limited to 1048576 bytes (BACHATA_POLICY_MAX_FILE_MB)" in refusal([big])


#: Components built against each released contract (``tests/compat/<version>/``).
COMPAT = sorted((Path(__file__).resolve().parents[3] / "tests" / "compat").glob("*/*.wasm"))


@pytest.mark.parametrize("path", COMPAT, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_components_built_against_released_contracts_load_and_answer(path):
    info = load_policy([path])
    mine = info.components[0]
    assert mine["contract"] == path.parent.name
    assert mine["answers"] and all(info[concern]["origin"] == str(path) for concern in mine["answers"])
    if "errors" in mine["answers"]:
        assert policy.http_status("VALIDATION_ERROR") == 400
    if "organizer" in mine["answers"]:
        assert policy.organizer_normalize_label("Lady-Turn") == "lady_turn"


def test_a_cleanup_component_of_the_set_is_lent_the_files_and_metrics(tmp_path):
    """``cleanup.run`` of a component from a file gets ``host-fs`` and ``host-metrics``, as the
    stock policy does."""
    size_first = Path(__file__).resolve().parents[3] / "tests" / "compat" / "1.0.0" / "size-first.wasm"
    if not size_first.is_file():
        pytest.skip(f"{size_first} is not in this checkout")
    manager = bachata_common.ResourceManager(data_dir=tmp_path / "data", areas=["temp", "cache"])
    manager.areas  # the areas' directories are made when first used
    old = tmp_path / "data" / "temp" / "old.tmp"
    old.write_text("stale")
    os.utime(old, (1_000_000_000, 1_000_000_000))
    assert load_policy([size_first])["cleanup"]["origin"] == str(size_first)
    assert manager.cleanup_temporary_files_sync(force=True, dry_run=True)["files_removed"] == 1
    assert old.exists()
    assert manager.cleanup_temporary_files_sync(force=True)["files_removed"] == 1
    assert not old.exists()
    manager.areas.close()


def test_the_public_names():
    assert bachata_common.load_policy is load_policy and bachata_common.policy_info is policy_info
    assert {"load_policy", "policy_info"} <= set(bachata_common.__all__)
    info = load_policy([])
    assert set(info) == set(_component.CONCERNS)
    assert {entry["origin"] for entry in info.values()} == {"embedded"}


def test_a_failing_call_names_the_component_that_failed(teapot):
    load_policy([teapot])
    with pytest.raises(PolicyError) as raised:
        policy.catalog()  # the teapot traps in everything but http-status
    assert str(teapot) in str(raised.value) and sha256(teapot)[:12] in str(raised.value)


def test_error_messages_follow_the_policy_set_loaded(tmp_path):
    from bachata_common import ERROR_MESSAGES

    stock_codes = set(ERROR_MESSAGES)
    assert "VALIDATION_ERROR" in stock_codes
    load_policy([write(tmp_path / "traps.wasm", component(["errors"], bodies=status(418)))])
    with pytest.raises(PolicyError):
        list(ERROR_MESSAGES)  # read from the new set's catalog (which traps), not the old table
    load_policy([])
    assert set(ERROR_MESSAGES) == stock_codes


def test_a_file_named_twice_is_refused(teapot, tmp_path):
    with pytest.raises(PolicyError, match="names the same file as"):
        load_policy([teapot, teapot])
    link = tmp_path / "link.wasm"
    link.symlink_to(teapot)
    with pytest.raises(PolicyError, match="names the same file as"):
        load_policy([teapot, link])


#: `examples/size-first` (world `cleanup-policy`), built by the Rust suite (`cargo test`).
SIZE_FIRST = (
    Path(__file__).resolve().parents[3] / "target" / "test-policies" / "wasm32-wasip2" / "wasm-release"
    / "size_first_policy.wasm"
)


@pytest.mark.skipif(not SIZE_FIRST.is_file(), reason=f"{SIZE_FIRST} is built by the Rust suite (cargo test)")
def test_the_rust_example_evicts_the_largest_files_first_in_this_host(tmp_path):
    """The Rust example exports only ``cleanup``: under the cache cap it evicts the largest
    files first, where the stock policy evicts the oldest."""

    def kept(files_from_policy) -> list:
        data = tmp_path / files_from_policy
        manager = bachata_common.ResourceManager(data_dir=data, areas=["temp", "cache"])
        manager.areas
        now = time.time()
        for name, size, hours in [("old-small.bin", 100, 3), ("mid.bin", 300, 2), ("big.bin", 700, 1)]:
            path = data / "cache" / name
            path.write_bytes(b"x" * size)
            os.utime(path, (now - hours * 3600, now - hours * 3600))
        manager.max_cache_size_gb = 1000 / 1024**3
        manager.run_cleanup()
        manager.areas.close()
        return sorted(path.name for path in (data / "cache").iterdir())

    info = load_policy([SIZE_FIRST])
    assert info["cleanup"]["origin"] == str(SIZE_FIRST)
    assert {concern for concern, source in info.items() if source["origin"] == "embedded"} == set(
        _component.CONCERNS
    ) - {"cleanup"}
    try:
        largest_first = kept("size-first")
    finally:
        load_policy([])
    assert largest_first == ["mid.bin", "old-small.bin"]
    assert kept("stock") == ["big.bin"]
