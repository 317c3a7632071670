"""What ``import bachata_common`` and a first policy call load: only what they need (the public
names are imported on first use; see ``bachata_common/__init__.py``)."""

import ast
import subprocess
import sys

import bachata_common

#: Modules neither ``import bachata_common`` nor a first call of the error catalog needs.
NOT_AT_FIRST_CALL = [
    "psutil", "sqlite3", "json", "logging", "django", "tempfile", "concurrent.futures", "importlib.metadata",
    "importlib.resources", "bachata_common.monitor", "bachata_common.resources", "bachata_common.config",
    "bachata_common.fs.remove", "bachata_common.performance_monitor", "bachata_common.organizer",
]


def loaded_after(code: str) -> set:
    """The modules ``code`` imports in a fresh interpreter."""
    script = f"import sys\nbefore = set(sys.modules)\n{code}\nprint(sorted(set(sys.modules) - before))"
    output = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    return set(ast.literal_eval(output.stdout.splitlines()[-1]))


def test_import_loads_nothing_but_the_package():
    loaded = loaded_after("import bachata_common")
    assert "bachata_common" in loaded
    assert not {name for name in loaded if name.startswith("bachata_common.")}
    assert "wasmtime" not in loaded and not loaded & set(NOT_AT_FIRST_CALL)


def test_a_first_call_loads_wasmtime_and_the_policy_only():
    loaded = loaded_after(
        "import bachata_common\n"
        "assert bachata_common.get_user_friendly_message('NOPE_ERROR') == 'An error occurred: NOPE_ERROR'"
    )
    assert "wasmtime" in loaded and "bachata_common._component" in loaded
    assert not loaded & set(NOT_AT_FIRST_CALL)


def test_every_public_name_and_submodule_is_there():
    for name in bachata_common.__all__:
        assert getattr(bachata_common, name) is not None, name
    assert set(bachata_common.__all__) <= set(dir(bachata_common))
    assert bachata_common.policy.http_status("VALIDATION_ERROR") == 400
    assert bachata_common.resource_manager is bachata_common.resources.resource_manager
    try:
        bachata_common.no_such_name
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("an unknown name was found")
