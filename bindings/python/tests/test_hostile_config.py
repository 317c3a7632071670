"""Hostile ``.env`` files: a secret written in a malformed ``.env`` line or an invalid connection
string never appears in the error, and a ``.env`` the policy refuses (a syntax error, an expansion
chain past the policy's memory cap) copies nothing into ``os.environ``."""

import os
import threading

import pytest

from bachata_common.config import EnvironmentConfig
from bachata_common.exceptions import ChoreographyGenerationError

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
