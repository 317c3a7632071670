"""Shared helpers: where the repository's shared test vectors are."""

import json
from pathlib import Path

import pytest

#: ``tests/vectors`` of the repository this package lives in (bindings/python/tests/../../..).
VECTORS = Path(__file__).resolve().parents[3] / "tests" / "vectors"


def vectors(name: str) -> dict:
    """One vector file, parsed."""
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


@pytest.fixture
def no_dotenv(tmp_path, monkeypatch):
    """Runs the test in an empty working directory, so no stray ``.env`` is read."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def restore_environ():
    """Restores ``os.environ`` after every test: building an ``EnvironmentConfig`` copies the
    ``.env`` file's variables into it, as the original app did."""
    import os

    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
