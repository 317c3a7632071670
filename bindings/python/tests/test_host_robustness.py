"""The host against callers and host functions that misbehave: values that change while they are
converted, exceptions that are not ``Exception`` raised inside a host function, ``fork``, host
functions called often, integers out of range, a definition changed after it was used.

What could crash the interpreter runs in a child process, so a regression fails one test."""

import subprocess
import sys
import textwrap

import pytest

from bachata_common import _codec, _component


def run_isolated(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter; a crash is a non-zero return code."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)


def assert_ran(done: subprocess.CompletedProcess, expected: str) -> None:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip().splitlines()[-1] == expected, done.stdout + done.stderr


# -- a list or set that changes while it is written --------------------------------------------

@pytest.mark.parametrize("mode", ["lying-len", "grown-by-a-field-read", "shrunk"])
def test_a_list_changing_while_it_is_lowered_is_written_as_one_snapshot(mode):
    done = run_isolated(f"""
        from bachata_common import _component
        mode = {mode!r}
        if mode == "lying-len":
            class Sneaky(list):
                def __len__(self):
                    return 1
            mapping = Sneaky([{{"name": n, "labels": [n + "x"]}} for n in "abc"])
        elif mode == "shrunk":
            class Short(list):
                def __len__(self):
                    return 5
            mapping = Short([{{"name": "a", "labels": ["x"]}}])
        else:
            mapping = []
            class Rec(dict):
                def __getitem__(self, key):
                    if key == "labels" and len(mapping) < 400:
                        mapping.extend({{"name": "zz", "labels": ["q"]}} for _ in range(100))
                    return dict.__getitem__(self, key)
            mapping.append(Rec({{"name": "a", "labels": ["x"]}}))
        print(_component.call("organizer", "check-mapping", mapping))
    """)
    assert_ran(done, "{'tag': 'ok'}")


def test_a_list_another_thread_appends_to_is_lowered_safely():
    done = run_isolated("""
        import sys, threading
        from bachata_common import _component
        shared = [{"name": f"c{i}", "labels": [f"l{i}", "m"]} for i in range(1000)]
        stop = False
        def grow():
            while not stop:
                shared.append({"name": "zz", "labels": ["q"]})
                if len(shared) > 3000:
                    del shared[1500:]
        thread = threading.Thread(target=grow, daemon=True)
        thread.start()
        sys.setswitchinterval(1e-6)
        for _ in range(300):
            try:
                _component.call("organizer", "check-mapping", shared)
            except Exception:
                pass
        stop = True
        print("survived")
    """)
    assert_ran(done, "survived")


@pytest.mark.skipif(not _codec.AVAILABLE, reason="the compiled calls are off")
def test_a_set_of_flags_with_a_lying_length_is_written_as_one_snapshot():
    import wasmtime
    from wasmtime import component as wc

    engine = wasmtime.Engine()
    component = wc.Component(engine, wasmtime.wat2wasm(
        '(component (type $f (flags "read" "write" "exec")) (import "fl" (type $fl (eq $f)))'
        ' (import "take" (func (param "f" (list $fl)))))'))
    flags = dict(component.type.imports(engine)["take"].ty.params)["f"].element
    codec = _codec.compile_type(flags)

    class Sneaky(set):
        def __len__(self):
            return 1

    lowered = codec.lower(Sneaky({"read", "write", "exec"}))
    assert lowered is not None
    assert codec.lift(lowered[1]) == {"read", "write", "exec"}


# -- what a host function raises ----------------------------------------------------------------

@pytest.mark.parametrize("fast", [True, False], ids=["compiled", "public"])
@pytest.mark.parametrize("mode", ["raise", "signal", "exit"])
def test_keyboard_interrupt_or_exit_in_a_host_function_is_raised_by_the_call(mode, fast):
    done = run_isolated(f"""
        import os, signal, sys, time
        from bachata_common import _component, policy
        _component.FAST_CALLS = {fast!r}
        calls = []
        def store(project, name):
            calls.append(name)
            if len(calls) == 2:
                if {mode!r} == "raise":
                    raise KeyboardInterrupt
                if {mode!r} == "exit":
                    sys.exit(3)
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, handled while the store runs
                time.sleep(0.05)
            return {{"elasticsearch-host": "h", "elasticsearch-port": "9243"}}.get(name, "v")
        try:
            policy.load_config([("ENVIRONMENT", "cloud"), ("GCP_PROJECT_ID", "p")], None, secrets=store)
            print("returned")
        except BaseException as error:
            print("raised", type(error).__name__)
        print(policy.http_status("VALIDATION_ERROR"))
    """)
    expected = "SystemExit" if mode == "exit" else "KeyboardInterrupt"
    assert_ran(done, "400")
    assert f"raised {expected}" in done.stdout


def test_a_keyboard_interrupt_during_a_cleanup_scan_is_raised_cleanly(tmp_path):
    done = run_isolated(f"""
        import os, pathlib, signal, threading
        from bachata_common import ResourceManager
        temp = pathlib.Path({str(tmp_path)!r}) / "data" / "temp"
        for i in range(100):
            folder = temp / f"d{{i}}"
            folder.mkdir(parents=True)
            for j in range(100):
                (folder / f"f{{j}}.tmp").write_bytes(b"x")
        manager = ResourceManager(data_dir=temp.parent)
        manager.run_cleanup(dry_run=True)
        outcomes = set()
        for delay in (0.01, 0.03, 0.06):
            timer = threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGINT))
            timer.start()
            try:
                manager.run_cleanup(dry_run=True)
                timer.join()
                threading.Event().wait(0.5)  # the signal is handled here if the scan was done
                outcomes.add("finished")
            except KeyboardInterrupt:
                outcomes.add("interrupted")
        manager.run_cleanup(dry_run=True)
        print("interrupted" in outcomes)
    """)
    assert_ran(done, "True")


def test_a_host_functions_exception_is_raised_in_its_own_thread_only(tmp_path, monkeypatch):
    import threading

    import test_policy
    from test_policy_set import component, status, write

    from bachata_common import CapabilityUnavailable, PolicyError, load_policy, policy

    monkeypatch.setattr(_component, "_policy", _component._loaded())  # put back afterwards
    monkeypatch.setenv("BACHATA_CACHE_DIR", str(tmp_path / "compile-cache"))
    # errors from a component whose functions trap (http-status answers 418); the rest stock.
    load_policy([write(tmp_path / "teapot.wasm", component(["errors"], bodies=status(418)))])
    seen = {"lending": set(), "trapping": set()}

    def lending():  # cleanup.run without files lent: a host function raises CapabilityUnavailable
        for _ in range(300):
            try:
                policy.cleanup_run(test_policy.CLEANUP_SETTINGS, now=1_700_000_000, dry_run=True)
            except BaseException as error:
                seen["lending"].add(type(error))

    def trapping():
        for _ in range(300):
            try:
                policy.catalog()
            except BaseException as error:
                seen["trapping"].add(type(error))

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=lending), threading.Thread(target=trapping)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert seen == {"lending": {CapabilityUnavailable}, "trapping": {PolicyError}}


# -- the deadline counts the policy's own time --------------------------------------------------

def spin_and_ask(spins: int) -> str:
    """WAT of a component whose ``errors.http-status`` loops forever: ``spins`` iterations of a
    busy loop, then a call of ``host-secrets.access``."""
    from test_policy_set import component

    access = ('(import "bachata:common/host-secrets@1.2.0" (instance $secrets (export "access" (func (param "project" string) '
              '(param "name" string) (result (result (option string) (error string)))))))')
    body = (f"(local $i i32) (loop $outer (local.set $i (i32.const 0)) "
            f"(loop $busy (br_if $busy (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const {spins})))) "
            "(call $access (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 4096)) "
            "(br $outer)) unreachable")
    wat = component(["errors"], bodies={("errors", "http-status"): body}, imports=[access])
    shim = ('(alias export $secrets "access" (func $access))\n'
            '(core module $shim (table (export "t") 1 1 funcref) (func (export "0") (param i32 i32 i32 i32 i32) '
            'local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 i32.const 0 call_indirect (param i32 i32 i32 i32 i32)))\n'
            '(core instance $shim_i (instantiate $shim))\n')
    wat = wat.replace("(core module $m\n", shim + "(core module $m\n"
                      '  (import "host" "access" (func $access (param i32 i32 i32 i32 i32)))\n', 1)
    return wat.replace(
        "(core instance $core (instantiate $m))",
        '(alias core export $shim_i "0" (core func $shim0))\n(alias core export $shim_i "t" (core table $shimt))\n'
        '(core instance $core (instantiate $m (with "host" (instance (export "access" (func $shim0))))))\n'
        '(core func $lowered (canon lower (func $access) (memory (core memory $core "memory")) (realloc (core func $core "realloc"))))\n'
        '(core module $fix (import "" "f" (func (param i32 i32 i32 i32 i32))) (import "" "t" (table 1 1 funcref)) (elem (i32.const 0) func 0))\n'
        '(core instance (instantiate $fix (with "" (instance (export "f" (func $lowered)) (export "t" (table $shimt))))))', 1)


@pytest.mark.parametrize("spins", [5_000_000, 2_000])
def test_a_policy_calling_the_host_often_still_meets_its_deadline(tmp_path, spins):
    from test_policy_set import write

    path = write(tmp_path / "spin-and-ask.wasm", spin_and_ask(spins))
    done = run_isolated(f"""
        import os, time
        os.environ["BACHATA_POLICY_TIMEOUT_MS"] = "300"
        os.environ["BACHATA_CACHE_DIR"] = {str(tmp_path / "cache")!r}
        from bachata_common import PolicyError, load_policy, policy, secrets
        load_policy([{str(path)!r}])
        calls = []
        def slow(project, name):  # the host's time: 0.7 s in all, given back to the policy
            calls.append(name)
            if len(calls) <= 7:
                time.sleep(0.1)
            return None
        secrets._default = slow
        started = time.monotonic()
        try:
            policy.http_status("X")
        except PolicyError as error:
            elapsed = time.monotonic() - started
            print("deadline" if "ran past its deadline" in str(error) else error)
            print(len(calls) > 7, 0.7 < elapsed < 3, flush=True)
    """, timeout=30)
    assert_ran(done, "True True")
    assert "deadline" in done.stdout


# -- fork -------------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork")
def test_a_forked_child_keeps_deadlines_and_compiles(tmp_path):
    from test_policy_set import component, status, write

    spin = write(tmp_path / "spin.wasm", component(["errors"], bodies={("errors", "http-status"): "(loop $forever (br $forever)) unreachable"}))
    teapot = write(tmp_path / "teapot.wasm", component(["errors"], bodies=status(418)))
    done = run_isolated(f"""
        import os, signal, time
        os.environ["BACHATA_POLICY_TIMEOUT_MS"] = "300"
        os.environ["BACHATA_CACHE_DIR"] = {str(tmp_path / "cache")!r}
        from bachata_common import PolicyError, load_policy, policy
        policy.monitor_satisfaction([])  # the engine and its ticker start in the parent
        load_policy([{str(spin)!r}])
        def stopped():
            started = time.monotonic()
            try:
                policy.http_status("X")
            except PolicyError as error:
                return "ran past its deadline" in str(error) and time.monotonic() - started < 2
        assert stopped()
        pid = os.fork()
        if pid == 0:
            signal.alarm(20)
            ok = stopped()                       # the parent's components, the child's ticker
            load_policy([{str(teapot)!r}])       # compiled in the child (no compile cache hit)
            ok = ok and policy.http_status("X") == 418
            load_policy([{str(spin)!r}])
            os._exit(0 if ok and stopped() else 1)
        _, status = os.waitpid(pid, 0)
        print(status)
    """, timeout=60)
    assert_ran(done, "0")


# -- integers out of range ----------------------------------------------------------------------

INT_RANGES = {"s8": (-(2**7), 2**7 - 1), "u8": (0, 2**8 - 1), "s16": (-(2**15), 2**15 - 1), "u16": (0, 2**16 - 1),
              "s32": (-(2**31), 2**31 - 1), "u32": (0, 2**32 - 1), "s64": (-(2**63), 2**63 - 1), "u64": (0, 2**64 - 1)}


@pytest.mark.parametrize("name", sorted(INT_RANGES))
def test_an_integer_out_of_its_types_range_is_refused_on_both_paths(name):
    import wasmtime
    from wasmtime import component as wc

    from bachata_common import _values

    engine = wasmtime.Engine()
    component = wc.Component(engine, wasmtime.wat2wasm(f'(component (import "f" (func (param "x" {name}))))'))
    ty = dict(component.type.imports(engine)["f"].ty.params)["x"]
    low, high = INT_RANGES[name]
    codec = _codec.compile_type(ty) if _codec.AVAILABLE else None
    for number in (low, high):
        assert _values.lower(ty, number) == number
        if codec is not None:
            assert codec.lift(codec.lower(number)[1]) == number
    for number in (low - 1, high + 1, 2 * high + 2, -(2**64) - 1):
        with pytest.raises(ValueError, match="out of range"):
            _values.lower(ty, number)
        if codec is not None:
            assert codec.lower(number) is None  # the call takes the public path, which raises


@pytest.mark.parametrize("fast", [True, False], ids=["compiled", "public"])
def test_a_call_with_an_integer_out_of_range_raises_instead_of_wrapping(fast, monkeypatch):
    from bachata_common import policy
    from bachata_common.monitor import _ZERO_RANKING

    monkeypatch.setattr(_component, "FAST_CALLS", fast)
    assert policy.monitor_ranking(3, dict(_ZERO_RANKING)) is not None
    with pytest.raises(ValueError, match="out of range for a WIT u32"):
        policy.monitor_ranking(2**32 + 3, dict(_ZERO_RANKING))


@pytest.mark.parametrize("field,value", [("hash_version", 2**32 + 2), ("hash_version", -1),
                                         ("minimum_sample_size", -5), ("minimum_sample_size", 2**64 + 150)])
def test_a_definition_field_out_of_range_is_refused_by_name(tmp_path, field, value):
    from bachata_common import ValidationError
    from bachata_common.monitor import Monitor
    from bachata_common.monitor.experiments import Experiments

    experiments = Experiments(Monitor(str(tmp_path / "m.sqlite3")))
    definition = {"test_id": "t", "test_name": "T", "start_date": "2024-01-01", "end_date": "2030-01-01",
                  "algorithm_versions": ["a", "b"], "traffic_split": {"a": 0.5, "b": 0.5},
                  "success_metrics": ["user_satisfaction"], field: value}
    with pytest.raises(ValidationError, match=f"{field}: .* out of range"):
        experiments.create(definition)


# -- the experiments' definition cache ----------------------------------------------------------

def stock_file():
    import os

    return os.path.join(os.path.dirname(_component.__file__), _component.COMPONENT_FILE)


@pytest.fixture
def experiments(tmp_path, monkeypatch):
    from bachata_common.monitor import Monitor
    from bachata_common.monitor import experiments as module

    monkeypatch.setattr(_component, "_policy", _component._loaded())  # put back afterwards
    monkeypatch.setattr(module, "_ARGUMENTS", {})
    made = module.Experiments(Monitor(str(tmp_path / "m.sqlite3")))
    made.create({"test_id": "t", "test_name": "T", "start_date": "2024-01-01", "end_date": "2030-01-01",
                 "algorithm_versions": ["a", "b"], "traffic_split": {"a": 0.5, "b": 0.5},
                 "success_metrics": ["user_satisfaction"]})
    return made


@pytest.mark.parametrize("mode", ["compiled", "public", "policy-reloaded"])
def test_a_definition_changed_after_use_does_not_change_what_an_equal_one_is_served(experiments, mode, monkeypatch):
    from datetime import datetime, timezone

    from bachata_common import load_policy

    if mode == "public":
        monkeypatch.setattr(_component, "FAST_CALLS", False)
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    mine = experiments.get("t")["definition"]
    first = experiments.assign_definition(mine, "u1", now)
    mine["traffic_split"] = {"b": 0.5, "a": 0.5}
    mine["algorithm_versions"][:] = ["b", "a"]  # the caller's copy, reordered in place
    experiments.assign_definition(mine, "u1", now)
    if mode == "policy-reloaded":
        load_policy([stock_file()])
    assert experiments.assign_definition(experiments.get("t")["definition"], "u1", now) == first


def test_definitions_whose_dates_differ_only_by_fold_are_told_apart(experiments):
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    new_york = ZoneInfo("America/New_York")
    first = datetime(2024, 11, 3, 1, 30, tzinfo=new_york, fold=0)  # 05:30 UTC
    second = datetime(2024, 11, 3, 1, 30, tzinfo=new_york, fold=1)  # 06:30 UTC, yet == first
    definition = experiments.get("t")["definition"]
    now = datetime(2024, 11, 3, 6, 0, tzinfo=timezone.utc)
    assert experiments.assign_definition({**definition, "start_date": first}, "u2", now)["in-experiment"]
    assert experiments.assign_definition({**definition, "start_date": second}, "u2", now)["reason"] == "not-started"


def test_the_definition_cache_does_not_keep_replaced_policy_sets_alive(experiments):
    import gc
    import weakref

    from bachata_common import load_policy, policy
    from bachata_common.monitor.experiments import _assign_argument

    definition = experiments.get("t")["definition"]
    replaced = []
    for index in range(3):
        load_policy([stock_file()])
        replaced.append(weakref.ref(_component._policy))
        definition = {**definition, "test_name": f"T{index}"}
        policy.experiments_assign(_assign_argument(definition), "u", 1_735_000_000_000)
    load_policy([stock_file()])
    gc.collect()
    assert [ref() for ref in replaced] == [None, None, None]


@pytest.mark.parametrize("fast", [True, False], ids=["compiled", "public"])
def test_a_record_given_as_a_defaultdict_without_a_field_is_refused_untouched(fast, monkeypatch):
    from collections import defaultdict

    from bachata_common import policy

    monkeypatch.setattr(_component, "FAST_CALLS", fast)
    category = defaultdict(list, {"name": "basic_moves"})  # no "labels"
    with pytest.raises(TypeError, match="'labels' is missing"):
        policy.organizer_check_mapping([category])
    assert dict(category) == {"name": "basic_moves"}
    complete = defaultdict(list, {"name": "basic_moves", "labels": ["Basic Step"]})
    assert policy.organizer_check_mapping([complete]) == policy.organizer_check_mapping([dict(complete)])


# -- warm instances -----------------------------------------------------------------------------

def test_at_most_sixteen_warm_instances_wait_in_the_process():
    done = run_isolated("""
        import gc, threading
        from bachata_common import _component, policy
        barrier = threading.Barrier(25)
        def work():
            policy.http_status("VALIDATION_ERROR")  # a pure call: its instance may stay warm
            barrier.wait()
            barrier.wait()
        threads = [threading.Thread(target=work) for _ in range(24)]
        for thread in threads:
            thread.start()
        barrier.wait()
        idle = _component._idle
        barrier.wait()
        for thread in threads:
            thread.join()
        gc.collect()
        print(idle, _component._idle, policy.http_status("VALIDATION_ERROR"), _component._idle)
    """)
    assert_ran(done, "16 0 400 1")
