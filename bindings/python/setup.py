"""Build hook: puts the policy component into the package (``bachata_common/bachata_common_policy.wasm``)
and the monitor's schema files and shared queries, the native host's own (``host/migrations/*.sql``
→ ``bachata_common/migrations/``, ``host/sql/*.sql`` → ``bachata_common/sql/``), so both hosts
create and read one schema the same way.

The component comes from ``$BACHATA_POLICY_WASM`` when set; otherwise it is built from the
repository this directory lives in (two levels up), the same way the native host's build script
builds it. Everything else is in ``pyproject.toml``.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent.parent
PACKAGE = "bachata_common"
ARTIFACT = "bachata_common_policy.wasm"
GUEST_PACKAGE = "bachata-common-policy"
TARGET = "wasm32-wasip2"
PROFILE = "wasm-release"
TARGET_DIR = REPOSITORY / "target" / "guest-build"
MIGRATIONS = REPOSITORY / "host" / "migrations"
QUERIES = REPOSITORY / "host" / "sql"

# Settings of an outer build that must not reach the wasm build (as in host/build.rs).
STRIPPED_ENV = (
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_LLVM_COV",
    "LLVM_PROFILE_FILE",
)


def given_component():
    """The component named by ``$BACHATA_POLICY_WASM``, or None when it is not set."""
    given = os.environ.get("BACHATA_POLICY_WASM")
    if not given:
        return None
    path = Path(given)
    if not path.is_file():
        raise SetupError(f"BACHATA_POLICY_WASM={given} is not a file")
    return path


def build_component():
    """Builds the component with cargo in the repository and returns its path."""
    if not (REPOSITORY / "Cargo.toml").is_file() or not (REPOSITORY / "wit" / "world.wit").is_file():
        raise SetupError(
            f"no policy component: set BACHATA_POLICY_WASM to a built {ARTIFACT}, or install from "
            f"a checkout of the bachata-common repository (none found at {REPOSITORY})"
        )
    command = [
        "cargo",
        "build",
        "--package",
        GUEST_PACKAGE,
        "--target",
        TARGET,
        "--profile",
        PROFILE,
        "--target-dir",
        str(TARGET_DIR),
    ]
    env = {name: value for name, value in os.environ.items() if name not in STRIPPED_ENV}
    try:
        subprocess.run(command, cwd=REPOSITORY, env=env, check=True)
    except FileNotFoundError:
        raise SetupError(
            f"no policy component: cargo is not installed; set BACHATA_POLICY_WASM to a built {ARTIFACT}"
        ) from None
    except subprocess.CalledProcessError as error:
        raise SetupError(
            f"building the policy component failed ({' '.join(command)} exited with "
            f"{error.returncode}); if the {TARGET} target is missing, run `rustup target add {TARGET}`"
        ) from None
    return TARGET_DIR / TARGET / PROFILE / ARTIFACT


class BuildPyWithComponent(build_py):
    """``build_py`` that also copies the policy component into the package."""

    def run(self):
        super().run()
        source = given_component() or build_component()
        package_dir = HERE / "src" / PACKAGE if self.editable_mode else Path(self.build_lib) / PACKAGE
        package_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, package_dir / ARTIFACT)
        schema = sorted(MIGRATIONS.glob("*.sql"))
        if not schema:
            raise SetupError(f"no schema files in {MIGRATIONS}: install from a checkout of the repository")
        (package_dir / "migrations").mkdir(exist_ok=True)
        for file in schema:
            shutil.copyfile(file, package_dir / "migrations" / file.name)
        (package_dir / "sql").mkdir(exist_ok=True)
        for file in sorted(QUERIES.glob("*.sql")):
            shutil.copyfile(file, package_dir / "sql" / file.name)


setup(cmdclass={"build_py": BuildPyWithComponent})
