"""Behaviour of EnvironmentConfig, after the original app's configuration tests."""

import re

import pytest

from bachata_common import (
    ElasticsearchConfig,
    EnvironmentConfig,
    ServiceUnavailableError,
    ValidationError,
    YOLOv8Config,
)


def config(**environ):
    """The configuration of exactly these variables, without a ``.env`` file."""
    return EnvironmentConfig(env_file=None, environ=environ)


def rejected(**environ) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        config(**environ)
    return caught.value


def cloud_store(**overrides):
    """A secret store holding every secret the cloud configuration reads."""
    secrets = {
        "elasticsearch-host": "es.cloud.example.com",
        "elasticsearch-port": "9243",
        "elasticsearch-username": "elastic",
        "elasticsearch-password": "secret123",
        "yolov8-model-name": "yolov8n-pose.pt",
        **overrides,
    }
    return lambda project, name: secrets.get(name) if project == "test-project" else None


def test_defaults():
    cfg = config()
    assert cfg.environment == "local" and cfg.is_local and not cfg.is_cloud
    assert cfg.gcp_project_id is None
    es = cfg.elasticsearch
    assert (es.host, es.port, es.index_name, es.index) == (
        "localhost",
        9200,
        "bachata_move_embeddings",
        "bachata_move_embeddings",
    )
    assert (es.username, es.password, es.api_key) == (None, None, None)
    assert es.use_ssl is False and es.verify_certs is True and es.retry_on_timeout is True
    assert (es.max_connections, es.timeout) == (10, 30)
    yolo = cfg.yolov8
    assert (yolo.model_name, yolo.confidence_threshold, yolo.device) == ("yolov8n-pose.pt", 0.3, "cpu")
    assert (yolo.iou_threshold, yolo.max_det, yolo.max_detections, yolo.threads) == (0.5, 10, 10, 0)
    assert cfg.resources.areas == ("temp", "cache", "output")
    assert cfg.resources.max_cache_size_gb == 5.0
    assert cfg.daemon.listen == "127.0.0.1:9464" and cfg.daemon.api_token is None
    assert (cfg.monitor.database, cfg.monitor.retention_days) == ("data/monitor.sqlite3", 90)
    assert all(setting.source == "default" for setting in cfg.settings)


def test_dataclass_defaults_are_the_policys():
    """The dataclasses' own defaults (the original signatures) match what the policy resolves."""
    cfg = config()
    assert YOLOv8Config() == cfg.yolov8
    es = cfg.elasticsearch
    assert ElasticsearchConfig(host=es.host, port=es.port, index_name=es.index_name) == es


def test_load_local_config_from_environment():
    cfg = config(
        ENVIRONMENT="local",
        ELASTICSEARCH_HOST="localhost",
        ELASTICSEARCH_PORT="9200",
        ELASTICSEARCH_INDEX="test_index",
        ELASTICSEARCH_USERNAME="test_user",
        ELASTICSEARCH_PASSWORD="test_pass",
        ELASTICSEARCH_USE_SSL="false",
        YOLOV8_MODEL="yolov8n-pose.pt",
        YOLOV8_CONFIDENCE="0.5",
        YOLOV8_DEVICE="cuda",
    )
    assert cfg.environment == "local"
    es = cfg.elasticsearch
    assert (es.host, es.port, es.index_name) == ("localhost", 9200, "test_index")
    assert (es.username, es.password, es.use_ssl) == ("test_user", "test_pass", False)
    assert (cfg.yolov8.model_name, cfg.yolov8.confidence_threshold, cfg.yolov8.device) == (
        "yolov8n-pose.pt",
        0.5,
        "cuda",
    )


def test_reads_os_environ_and_the_env_file(no_dotenv, monkeypatch):
    (no_dotenv / ".env").write_text("ELASTICSEARCH_HOST=from-dotenv\nYOLOV8_MAX_DET=4\n", encoding="utf-8")
    monkeypatch.setenv("ELASTICSEARCH_HOST", "from-env")
    cfg = EnvironmentConfig()
    assert cfg.elasticsearch.host == "from-env"
    assert cfg.yolov8.max_det == 4
    sources = {setting.name: setting.source for setting in cfg.settings}
    assert (sources["ELASTICSEARCH_HOST"], sources["YOLOV8_MAX_DET"]) == ("environment", "dotenv")


def test_a_missing_env_file_is_no_env_file(no_dotenv):
    cfg = EnvironmentConfig(env_file=no_dotenv / "missing.env", environ={})
    assert cfg.elasticsearch.host == "localhost"


def test_ssl_parsing():
    assert config(ELASTICSEARCH_USE_SSL="true").elasticsearch.use_ssl is True
    cfg = config(ELASTICSEARCH_USE_SSL="true", ELASTICSEARCH_VERIFY_CERTS="false")
    assert cfg.elasticsearch.use_ssl is True and cfg.elasticsearch.verify_certs is False


def test_api_key_forces_tls_on_port_443():
    es = config(ELASTICSEARCH_API_KEY="key-123", ELASTICSEARCH_USE_SSL="false").elasticsearch
    assert (es.api_key, es.port, es.use_ssl, es.verify_certs) == ("key-123", 443, True, True)


def test_invalid_environment():
    error = rejected(ENVIRONMENT="invalid")
    assert isinstance(error, ValueError)
    assert error.error_code == "VALIDATION_ERROR"
    assert (error.field, error.value) == ("ENVIRONMENT", "invalid")
    assert "ENVIRONMENT" in str(error) and "`local` or `cloud`" in str(error)
    assert [problem.variable for problem in error.problems] == ["ENVIRONMENT"]


def test_empty_host():
    error = rejected(ELASTICSEARCH_HOST="", ELASTICSEARCH_PORT="9200")
    assert error.field == "ELASTICSEARCH_HOST"
    assert "ELASTICSEARCH_HOST" in error.details


def test_negative_port():
    error = rejected(ELASTICSEARCH_PORT="-1")
    assert (error.field, error.value) == ("ELASTICSEARCH_PORT", "-1")
    assert "1 to 65535" in error.problems[0].expected


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_confidence_out_of_range(value):
    error = rejected(YOLOV8_CONFIDENCE=value)
    assert (error.field, error.value) == ("YOLOV8_CONFIDENCE", value)
    assert "between 0 and 1" in str(error)


def test_missing_yolov8_model_uses_the_default():
    assert config(ELASTICSEARCH_HOST="localhost").yolov8.model_name == "yolov8n-pose.pt"


def test_every_problem_is_reported_at_once():
    error = rejected(ELASTICSEARCH_PORT="abc", YOLOV8_CONFIDENCE="7", YOLOV8_DEVICE="gpu")
    variables = ["ELASTICSEARCH_PORT", "YOLOV8_CONFIDENCE", "YOLOV8_DEVICE"]
    assert [problem.variable for problem in error.problems] == variables
    assert list(error.details) == variables
    assert "3 problems" in error.message and all(name in error.message for name in variables)
    assert error.field == "ELASTICSEARCH_PORT"


def test_missing_gcp_project_id_in_cloud():
    error = rejected(ENVIRONMENT="cloud")
    assert error.field == "GCP_PROJECT_ID" and error.value is None
    assert "GCP_PROJECT_ID is required" in str(error)


def test_cloud_reads_missing_values_from_the_secret_store():
    cfg = EnvironmentConfig(
        env_file=None,
        environ={"ENVIRONMENT": "cloud", "GCP_PROJECT_ID": "test-project"},
        secrets=cloud_store(),
    )
    assert cfg.is_cloud and cfg.gcp_project_id == "test-project"
    es = cfg.elasticsearch
    assert (es.host, es.port, es.username, es.password) == ("es.cloud.example.com", 9243, "elastic", "secret123")
    assert cfg.yolov8.model_name == "yolov8n-pose.pt"
    password = next(setting for setting in cfg.settings if setting.name == "ELASTICSEARCH_PASSWORD")
    assert (password.value, password.source, password.secret) == ("***", "secret-manager", True)


def test_a_failing_secret_store_is_service_unavailable_without_the_value():
    def store(_project, name):
        if name == "elasticsearch-port":
            raise ConnectionError("connection refused")
        return "s3cr3t-value"

    with pytest.raises(ServiceUnavailableError) as caught:
        EnvironmentConfig(env_file=None, environ={"ENVIRONMENT": "cloud", "GCP_PROJECT_ID": "p"}, secrets=store)
    error = caught.value
    assert error.service_name == "secret_manager" and error.http_status == 503
    assert "elasticsearch-port" in error.message and "connection refused" in error.message
    assert "s3cr3t-value" not in error.message


def test_cloud_without_the_secret_manager_library_fails_clearly():
    try:
        import google.cloud.secretmanager  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("google-cloud-secret-manager is installed")
    with pytest.raises(ServiceUnavailableError, match="google-cloud-secret-manager is not installed"):
        config(ENVIRONMENT="cloud", GCP_PROJECT_ID="p")


def test_monitor_settings():
    cfg = config(BACHATA_DATA_DIR="/srv/bachata", MONITOR_RETENTION_DAYS="30")
    assert (cfg.monitor.database, cfg.monitor.retention_days) == ("/srv/bachata/monitor.sqlite3", 30)
    url = "postgres://app@db.internal:5432/monitor"
    assert config(MONITOR_DATABASE=url).monitor.database == url
    error = rejected(MONITOR_RETENTION_DAYS="0")
    assert [problem.variable for problem in error.problems] == ["MONITOR_RETENTION_DAYS"]


def test_secrets_stay_out_of_repr():
    cfg = config(
        ELASTICSEARCH_PASSWORD="hunter2",
        ELASTICSEARCH_API_KEY="key-123",
        BACHATA_API_TOKEN="tok-456",
        MONITOR_DATABASE="postgres://app:pw-789@db/monitor",
    )
    text = repr(cfg) + repr(cfg.settings)
    assert cfg.elasticsearch.password == "hunter2" and cfg.daemon.api_token == "tok-456"
    assert cfg.monitor.database == "postgres://app:pw-789@db/monitor"
    for secret in ("hunter2", "key-123", "tok-456", "pw-789"):
        assert secret not in text


@pytest.mark.parametrize(
    "environ, sentence",
    [
        ({"ENVIRONMENT": "x"}, "Invalid ENVIRONMENT: x. Must be 'local' or 'cloud'"),
        ({"ENVIRONMENT": "cloud"}, "GCP_PROJECT_ID environment variable required for cloud environment"),
        ({"ELASTICSEARCH_HOST": ""}, "Elasticsearch connection is required"),
        ({"ELASTICSEARCH_PORT": "-1"}, "Elasticsearch port must be a positive integer"),
        ({"ELASTICSEARCH_PORT": "0"}, "Elasticsearch port must be a positive integer"),
        ({"ELASTICSEARCH_INDEX": ""}, "Elasticsearch index name is required"),
        ({"YOLOV8_MODEL": ""}, "YOLOv8 model name is required"),
        ({"YOLOV8_CONFIDENCE": "1.5"}, "YOLOv8 confidence threshold must be between 0.0 and 1.0"),
        ({"YOLOV8_IOU_THRESHOLD": "-0.1"}, "YOLOv8 IoU threshold must be between 0.0 and 1.0"),
        ({"YOLOV8_DEVICE": "tpu"}, "YOLOv8 device must be 'cpu' or 'cuda'"),
    ],
)
def test_the_original_sentences_are_in_the_messages(environ, sentence):
    with pytest.raises(ValueError, match=re.escape(sentence)) as caught:
        config(**environ)
    error = caught.value
    assert isinstance(error, ValidationError)
    variable = next(iter(environ)) if environ != {"ENVIRONMENT": "cloud"} else "GCP_PROJECT_ID"
    problem = next(problem for problem in error.problems if problem.variable == variable)
    assert sentence in problem.message and variable in problem.message
    assert sentence in error.details[variable]


def test_validate_checks_values_changed_after_loading():
    loaded = config()
    assert loaded.validate() is True
    loaded.elasticsearch.port = -1
    with pytest.raises(ValueError, match="Elasticsearch port must be a positive integer"):
        loaded.validate()
    loaded.elasticsearch.port = 9200
    loaded.yolov8.confidence_threshold = 2.0
    with pytest.raises(ValueError, match=re.escape("YOLOv8 confidence threshold must be between 0.0 and 1.0")):
        loaded._validate_config()
    loaded.yolov8 = None
    loaded.elasticsearch = None
    with pytest.raises(ValidationError) as caught:
        loaded.validate()
    assert "Elasticsearch connection is required" in str(caught.value)
    assert "YOLOv8 model name is required" in str(caught.value)


def test_a_database_inside_a_managed_area_is_refused(tmp_path):
    # Written inside an area: the policy's rule.
    assert rejected(MONITOR_DATABASE="data/temp/m.db").field == "MONITOR_DATABASE"
    # Reached through a link or an absolute path: the host's check, as the native host's.
    area = tmp_path / "data" / "temp"
    area.mkdir(parents=True)
    (tmp_path / "db").symlink_to(area)
    for database in (str(tmp_path / "db" / "m.db"), str(area / "m.db")):
        error = rejected(MONITOR_DATABASE=database, BACHATA_DATA_DIR=str(tmp_path / "data"))
        assert error.field == "MONITOR_DATABASE"
        assert error.problems and "managed areas" in error.problems[0].expected
    config(MONITOR_DATABASE=str(tmp_path / "monitor.sqlite3"), BACHATA_DATA_DIR=str(tmp_path / "data"))


def test_a_database_in_an_area_whose_folders_do_not_exist_yet_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Absolute database, relative data directory; and the other way round.
    assert rejected(MONITOR_DATABASE=str(tmp_path / "data" / "temp" / "n9" / "x.db")).field == "MONITOR_DATABASE"
    error = rejected(MONITOR_DATABASE="data/temp/n7/x.db", BACHATA_DATA_DIR=str(tmp_path / "data"))
    assert error.field == "MONITOR_DATABASE"
