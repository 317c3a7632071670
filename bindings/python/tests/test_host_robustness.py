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
