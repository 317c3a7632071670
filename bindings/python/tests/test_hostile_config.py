"""Hostile ``.env`` files: a secret written in a malformed ``.env`` line or an invalid connection
string never appears in the error, and a ``.env`` the policy refuses (a syntax error, an expansion
chain past the policy's memory cap) copies nothing into ``os.environ``."""

import os
import subprocess
import sys
import threading
import time

import pytest

from bachata_common.config import EnvironmentConfig
from bachata_common.exceptions import ChoreographyGenerationError, ValidationError

SECRET = "hunter2-s3cr3t"

MALFORMED = [
    f'ELASTICSEARCH_PASSWORD="{SECRET}" trailing',
    f"ELASTICSEARCH_PASSWORD='{SECRET}",
    f'ELASTICSEARCH_PASSWORD={SECRET}"x',
    f'ELASTICSEARCH_PASSWORD="{SECRET}\\q"',
    f"ELASTICSEARCH_PASSWORD=${{{SECRET}",
    f"BACHATA_API_TOKEN='{SECRET}",
    f"MONITOR_DATABASE=postgres://alice:{SECRET}@db.example:99999/app",
    f"MONITOR_DATABASE=postgres://alice:{SECRET}@db.example/app?x",
    f"MONITOR_DATABASE=postgres://alice:{SECRET}@[::1/app",
    f"MONITOR_DATABASE=host=db.example password='{SECRET}",
]


def _everything_said(error: BaseException) -> str:
    return " ".join([str(error), repr(error), repr(getattr(error, "problems", None)), repr(vars(error))])


@pytest.mark.parametrize("line", MALFORMED)
def test_a_secret_in_a_refused_dotenv_line_is_never_in_the_error(no_dotenv, line):
    (no_dotenv / ".env").write_text(f"{line}\nCANARY_AFTER=1\n", encoding="utf-8")
    with pytest.raises(ChoreographyGenerationError) as refused:
        EnvironmentConfig()
    assert SECRET not in _everything_said(refused.value)
    assert "CANARY_AFTER" not in os.environ, "nothing is copied from a refused .env"


def test_an_expansion_chain_past_the_memory_cap_copies_nothing_and_the_policy_recovers(no_dotenv):
    lines = ["A0=" + "x" * 1000] + [f"A{i + 1}=${{A{i}}}${{A{i}}}" for i in range(24)]
    (no_dotenv / ".env").write_text("\n".join(lines) + "\nCANARY_AFTER=1\n", encoding="utf-8")
    with pytest.raises(Exception):  # the policy's memory cap, or a refusal of the expansion
        EnvironmentConfig()
    assert not any(name == "CANARY_AFTER" or name.startswith("A") and name[1:].isdigit() for name in os.environ)
    assert EnvironmentConfig(None, environ={"ELASTICSEARCH_PORT": "9201"}).elasticsearch.port == 9201


def test_threads_building_configs_from_one_dotenv_agree(no_dotenv):
    (no_dotenv / ".env").write_text(
        "".join(f"HOSTILE_V{i}=v{i}\n" for i in range(300)) + "ELASTICSEARCH_PORT=9300\n", encoding="utf-8"
    )
    ports, errors = [], []

    def build():
        try:
            for _ in range(3):
                ports.append(EnvironmentConfig().elasticsearch.port)
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and ports == [9300] * 24
    assert all(os.environ[f"HOSTILE_V{i}"] == f"v{i}" for i in range(300))


def test_a_dotenv_is_copied_only_after_every_check_passed(no_dotenv, monkeypatch):
    (no_dotenv / "data" / "temp").mkdir(parents=True)
    (no_dotenv / "link").symlink_to(no_dotenv / "data" / "temp")
    (no_dotenv / ".env").write_text("MONITOR_DATABASE=link/x.sqlite3\nLEAKED_VAR=hunter2\n", encoding="utf-8")
    monkeypatch.delenv("LEAKED_VAR", raising=False)
    monkeypatch.delenv("MONITOR_DATABASE", raising=False)
    with pytest.raises(ValidationError):
        EnvironmentConfig()
    assert "LEAKED_VAR" not in os.environ


@pytest.mark.parametrize("kind", ["fifo", "zero", "directory", "huge", "not-utf-8"])
def test_a_dotenv_that_is_not_a_small_text_file_is_a_clear_error_at_once(no_dotenv, kind):
    env = no_dotenv / ".env"
    if kind == "fifo":
        os.mkfifo(env)
    elif kind == "zero":
        env.symlink_to("/dev/zero")
    elif kind == "directory":
        env.mkdir()
    elif kind == "huge":
        with open(env, "wb") as file:
            file.truncate(200 * 1024 * 1024)
    else:
        env.write_bytes(b"A=1\nPASSWORD=s3cr\xff\xfet\n")
    started = time.monotonic()
    with pytest.raises(ValidationError) as raised:
        EnvironmentConfig(environ={})
    assert time.monotonic() - started < 10
    text = str(raised.value)
    assert ".env" in text and "s3cr" not in text
    if kind == "not-utf-8":
        assert "line 2" in text and raised.value.__cause__ is None and raised.value.__suppress_context__


def test_the_secretmanager_attribute_is_absent_without_google_s_package():
    code = (
        "import sys\n"
        "sys.modules['google'] = None\n"
        "from bachata_common.config import environment_config as ec\n"
        "print(hasattr(ec, 'secretmanager'), getattr(ec, 'secretmanager', 'none'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "none"], done.stderr
