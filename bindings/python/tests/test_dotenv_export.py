"""Building an ``EnvironmentConfig`` copies ``.env`` into ``os.environ``, as the original app's
call to python-dotenv's ``load_dotenv()`` did: the process environment still wins, every variable
of the file is copied (not only the configuration's), and it can be turned off."""

import os

import pytest

from bachata_common import EnvironmentConfig, ValidationError


def test_the_env_file_is_copied_into_os_environ_where_unset(no_dotenv, monkeypatch):
    (no_dotenv / ".env").write_text(
        "DJANGO_SECRET_KEY='s3cr3t value'\nELASTICSEARCH_HOST=from-file\nGEMINI_API_KEY=${DJANGO_SECRET_KEY}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("ELASTICSEARCH_HOST", "from-process")
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    config = EnvironmentConfig()
    assert config.elasticsearch.host == "from-process"
    assert os.environ["ELASTICSEARCH_HOST"] == "from-process"
    assert os.environ["DJANGO_SECRET_KEY"] == "s3cr3t value"
    assert os.environ["GEMINI_API_KEY"] == "s3cr3t value"


def test_export_dotenv_false_leaves_os_environ_alone(no_dotenv, monkeypatch):
    (no_dotenv / ".env").write_text("ONLY_IN_FILE=1\n", encoding="utf-8")
    monkeypatch.delenv("ONLY_IN_FILE", raising=False)
    EnvironmentConfig(export_dotenv=False)
    assert "ONLY_IN_FILE" not in os.environ


def test_a_given_environ_mapping_is_never_written(no_dotenv, monkeypatch):
    (no_dotenv / ".env").write_text("ONLY_IN_FILE=1\n", encoding="utf-8")
    monkeypatch.delenv("ONLY_IN_FILE", raising=False)
    environ = {"ELASTICSEARCH_PORT": "9201"}
    EnvironmentConfig(environ=environ)
    assert environ == {"ELASTICSEARCH_PORT": "9201"}
    assert "ONLY_IN_FILE" not in os.environ


def test_an_invalid_configuration_copies_nothing(no_dotenv, monkeypatch):
    (no_dotenv / ".env").write_text("ONLY_IN_FILE=1\nYOLOV8_CONFIDENCE=7\n", encoding="utf-8")
    monkeypatch.delenv("ONLY_IN_FILE", raising=False)
    monkeypatch.delenv("YOLOV8_CONFIDENCE", raising=False)
    with pytest.raises(ValidationError):
        EnvironmentConfig()
    assert "ONLY_IN_FILE" not in os.environ


def test_the_cloud_reads_no_env_file_into_os_environ(no_dotenv, monkeypatch):
    (no_dotenv / ".env").write_text("ONLY_IN_FILE=1\n", encoding="utf-8")
    monkeypatch.delenv("ONLY_IN_FILE", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "cloud")
    monkeypatch.setenv("GCP_PROJECT_ID", "p")
    monkeypatch.setenv("ELASTICSEARCH_HOST", "es")
    monkeypatch.setenv("ELASTICSEARCH_API_KEY", "k")
    monkeypatch.setenv("ELASTICSEARCH_PORT", "443")
    secrets = {"elasticsearch-username": "", "elasticsearch-password": "", "yolov8-model-name": "m.onnx"}
    EnvironmentConfig(secrets=lambda _project, name: secrets.get(name))
    assert "ONLY_IN_FILE" not in os.environ
