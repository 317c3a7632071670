"""Configuration resolved by the policy, drop-in for the original ``EnvironmentConfig``.

The policy's ``config.load`` does the parsing and validation; this module only gathers the inputs
(the process environment and the text of a ``.env`` file) and shapes the result as the original
dataclasses. As the original (which called python-dotenv's ``load_dotenv()``), building it copies
the ``.env`` file's variables into ``os.environ`` where they are not already set, so code that
reads the environment afterwards sees them; ``export_dotenv=False`` turns that off. Unlike the
original it reports every problem at once in a :class:`~bachata_common.exceptions.ValidationError`.

>>> config = EnvironmentConfig(env_file=None, environ={"ELASTICSEARCH_PORT": "9201"})
>>> config.environment, config.elasticsearch.port, config.yolov8.confidence_threshold
('local', 9201, 0.3)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, NamedTuple, Optional, Union

from .. import policy
from ..exceptions import ChoreographyGenerationError, Problem, ValidationError
from ..fs.regular import FileTooBig, NotRegularFile, read_regular
from ..secrets import SecretStore

_log = logging.getLogger("bachata_common")

__all__ = [
    "ElasticsearchConfig",
    "YOLOv8Config",
    "ResourceSettings",
    "DaemonSettings",
    "MonitorSettings",
    "Setting",
    "EnvironmentConfig",
]


@dataclass
class ElasticsearchConfig:
    """Elasticsearch connection settings (``ELASTICSEARCH_*``); secrets are left out of ``repr``.

    Field names and defaults are the original ones; ``index`` is the WIT name of ``index_name``.
    """

    host: str
    port: int
    index_name: str
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    use_ssl: bool = False
    verify_certs: bool = True
    max_connections: int = 10
    timeout: int = 30
    retry_on_timeout: bool = True
    api_key: Optional[str] = field(default=None, repr=False)

    @property
    def index(self) -> str:
        """``ELASTICSEARCH_INDEX`` (the original name is ``index_name``)."""
        return self.index_name


@dataclass
class YOLOv8Config:
    """YOLO pose settings (``YOLOV8_*``), with the original field names and defaults."""

    model_name: str = "yolov8n-pose.pt"
    confidence_threshold: float = 0.3
    device: str = "cpu"
    iou_threshold: float = 0.5
    max_det: int = 10
    threads: int = 0
    models_dir: Optional[str] = None
    runtime_library: Optional[str] = None

    @property
    def max_detections(self) -> int:
        """``YOLOV8_MAX_DET`` (the original name is ``max_det``)."""
        return self.max_det


@dataclass
class ResourceSettings:
    """Resource management settings (``BACHATA_DATA_DIR``, cleanup and monitoring)."""

    data_dir: str
    areas: tuple[str, ...]
    max_temp_age_hours: float
    max_cache_size_gb: float
    cache_low_water_ratio: float
    memory_warning_threshold: float
    disk_warning_threshold: float
    memory_critical_threshold: float
    monitor_interval_secs: int
    cleanup_interval_hours: float


@dataclass
class DaemonSettings:
    """Settings of the daemon's HTTP endpoint; the token is left out of ``repr``."""

    listen: str
    api_token: Optional[str] = field(default=None, repr=False)


@dataclass
class MonitorSettings:
    """Settings of the performance monitor's event store (``MONITOR_*``).

    ``database`` is a SQLite file or a PostgreSQL connection string in any form libpq takes (a
    ``postgres://`` or ``postgresql://`` URI, or ``host=... dbname=...``), which may hold a
    password, so it is left out of ``repr``. A SQLite file inside a managed area is refused.
    """

    database: str = field(repr=False)
    retention_days: int = 90


class Setting(NamedTuple):
    """One resolved setting: its value as text (``***`` for secrets) and where it came from."""

    name: str
    value: str
    source: str
    secret: bool


#: Largest ``.env`` file accepted (1 MiB, as the native host): configuration, not data.
MAX_DOTENV_BYTES = 1 << 20


def _read_dotenv(env_file: Union[str, os.PathLike, None]) -> Optional[str]:
    """The text of the ``.env`` file, or ``None`` when there is none. The file is opened
    without blocking (a FIFO never hangs the process) and must be a regular file of at most
    :data:`MAX_DOTENV_BYTES` in UTF-8, else a :class:`ValidationError` names it (never its
    content)."""
    if env_file is None:
        return None
    path = os.fspath(env_file)

    def refuse(why: str) -> ValidationError:
        return ValidationError(f"env file {path} {why}", field="env_file", value=path)

    try:
        data = read_regular(path, MAX_DOTENV_BYTES)
    except FileNotFoundError:
        return None
    except NotRegularFile as refused:
        raise refuse(f"is not a regular file (it is {refused.kind})") from None
    except FileTooBig as refused:
        raise refuse(f"is {refused.size} bytes; a .env file may be at most {MAX_DOTENV_BYTES} bytes") from None
    except (OSError, ValueError) as error:
        raise refuse(f"cannot be read: {getattr(error, 'strerror', None) or error}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise refuse(f"line {line}: not valid UTF-8 text") from None


def __getattr__(name: str):
    """``secretmanager``: Google's ``google.cloud.secretmanager`` module, imported on first use
    (the original module imported it here, and code patches ``...environment_config.secretmanager
    .SecretManagerServiceClient`` to stand in for Secret Manager)."""
    if name == "secretmanager":
        try:
            from google.cloud import secretmanager
        except ImportError:
            raise AttributeError(
                f"module {__name__!r} has no attribute 'secretmanager': google-cloud-secret-manager "
                "is not installed (pip install 'bachata_common[gcp]')"
            ) from None
        return secretmanager
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _export_dotenv(dotenv: str) -> None:
    """Copies the variables of ``.env`` text, as the policy parses them, into ``os.environ`` where
    they are not set yet (the effect of python-dotenv's ``load_dotenv()``)."""
    result = policy.dotenv_variables(dotenv)
    if result["tag"] == "err":
        _raise_config_error(result["val"])
    for name, value in result["val"]:
        if name in os.environ:
            continue
        try:
            os.environ[name] = value
        except ValueError:  # a name or value the C environment cannot hold (NUL, '=')
            _log.warning("%s from .env is not copied into the environment: not a valid variable", name)


def _raise_config_error(config_error: dict) -> None:
    """Raises the exception for a WIT ``config-error``: usually a ``ValidationError``."""
    exception = ChoreographyGenerationError.from_app_error(config_error["error"])
    if isinstance(exception, ValidationError):
        exception.problems = [Problem(**problem) for problem in config_error["problems"]]
    raise exception


def _real_path(path: str) -> str:
    """Where ``path`` is or would be: made absolute from the working directory, its longest
    existing part resolved through links, the rest applied as written (the native host's
    ``real_path``)."""
    absolute = os.path.join(os.getcwd(), path)
    components = [part for part in absolute.split(os.sep)]
    for split in range(len(components), 0, -1):
        prefix = os.sep.join(components[:split]) or os.sep
        if not os.path.lexists(prefix):
            continue
        real = os.path.realpath(prefix)
        for part in components[split:]:
            if part == "..":
                real = os.path.dirname(real)
            elif part not in ("", "."):
                real = os.path.join(real, part)
        return real
    return os.path.normpath(absolute)


def _database_outside_areas(database: str, data_dir: str, areas: tuple) -> None:
    """Where a SQLite database really is, through links, ``..`` and absolute or relative
    paths, whether its folder exists yet or not: inside a managed area, cleanup would remove
    its journal (the policy refuses one written inside; the native host's
    ``services/config.rs`` makes the same check)."""
    from ..monitor.store import is_postgres, masked

    if is_postgres(database):
        return
    path = _real_path(database)
    folder = os.path.dirname(path)
    for area in areas:
        area_dir = _real_path(os.path.join(data_dir, area))
        if path == area_dir or folder == area_dir or folder.startswith(area_dir + os.sep):
            expected = "a database outside the managed areas"
            shown = masked(database)
            message = (
                f"MONITOR_DATABASE={shown!r} is invalid: expected {expected} (it is inside "
                f"`{area}` at {area_dir}, whose old files cleanup removes)"
            )
            error = ValidationError(f"configuration is invalid: {message}", field="MONITOR_DATABASE", value=shown)
            error.problems = [Problem("MONITOR_DATABASE", shown, expected, message)]
            raise error


class EnvironmentConfig:
    """The service's configuration for the current environment (``local`` or ``cloud``).

    Reads ``os.environ`` (or ``environ``) and the ``.env`` file ``env_file`` (relative to the
    working directory, ignored when missing; the environment wins over it, and in cloud mode only
    its ``ENVIRONMENT`` is used), and resolves them with the policy. In cloud mode, values missing
    from the environment come from ``secrets`` (default: Google Cloud Secret Manager when
    installed).

    In ``local`` mode, reading ``os.environ`` (no ``environ`` given), the ``.env`` file's variables
    (every one, not only this configuration's, with the values the policy parsed) are then copied
    into ``os.environ`` where a variable is not already set, as python-dotenv's ``load_dotenv()``
    did in the original; ``export_dotenv=False`` leaves ``os.environ`` untouched. Nothing is
    copied when the configuration is invalid.

    Raises :class:`~bachata_common.exceptions.ValidationError` listing every problem, or
    :class:`~bachata_common.exceptions.ServiceUnavailableError` when a secret could not be read.
    """

    def __init__(
        self,
        env_file: Union[str, os.PathLike, None] = ".env",
        *,
        environ: Optional[Mapping[str, str]] = None,
        secrets: Optional[SecretStore] = None,
        export_dotenv: bool = True,
    ) -> None:
        env = os.environ if environ is None else environ
        dotenv = _read_dotenv(env_file)
        result = policy.load_config(env, dotenv, secrets)
        if result["tag"] == "err":
            _raise_config_error(result["val"])
        resolved = result["val"]
        es, yolo, resources, daemon, monitor = (
            resolved["elasticsearch"],
            resolved["yolo"],
            resolved["resources"],
            resolved["daemon"],
            resolved["monitor"],
        )
        #: ``"local"`` or ``"cloud"``.
        self.environment: str = resolved["environment"]
        #: ``GCP_PROJECT_ID``; always set in the cloud.
        self.gcp_project_id: Optional[str] = resolved["gcp-project-id"]
        self.elasticsearch = ElasticsearchConfig(
            host=es["host"],
            port=es["port"],
            index_name=es["index"],
            username=es["username"],
            password=es["password"],
            use_ssl=es["use-ssl"],
            verify_certs=es["verify-certs"],
            max_connections=es["max-connections"],
            timeout=es["timeout-secs"],
            retry_on_timeout=es["retry-on-timeout"],
            api_key=es["api-key"],
        )
        self.yolov8 = YOLOv8Config(
            model_name=yolo["model"],
            confidence_threshold=yolo["confidence"],
            device=yolo["device"],
            iou_threshold=yolo["iou-threshold"],
            max_det=yolo["max-det"],
            threads=yolo["threads"],
            models_dir=yolo["models-dir"],
            runtime_library=yolo["runtime-library"],
        )
        self.resources = ResourceSettings(
            **{name.replace("-", "_"): value for name, value in resources.items() if name != "areas"},
            areas=tuple(resources["areas"]),
        )
        self.daemon = DaemonSettings(listen=daemon["listen"], api_token=daemon["api-token"])
        self.monitor = MonitorSettings(database=monitor["database"], retention_days=monitor["retention-days"])
        _database_outside_areas(self.monitor.database, self.resources.data_dir, self.resources.areas)
        # Only a configuration that passed every check changes the process environment.
        if export_dotenv and environ is None and dotenv is not None and self.environment == "local":
            _export_dotenv(dotenv)
        #: Every setting with its source, in a stable order, secrets shown as ``***``.
        self.settings: list[Setting] = [Setting(**item) for item in resolved["settings"]]

    def current_environment(self) -> dict[str, str]:
        """The variables that give this configuration's current values (as changed since it
        was read): ``ENVIRONMENT``, ``GCP_PROJECT_ID``, ``ELASTICSEARCH_*`` and ``YOLOV8_*``. A
        section set to ``None`` gives its required values empty."""

        def text(value) -> str:
            if isinstance(value, bool):
                return "true" if value else "false"
            return str(value)

        pairs: dict[str, object] = {"ENVIRONMENT": self.environment, "GCP_PROJECT_ID": self.gcp_project_id}
        es = self.elasticsearch
        if es is None:
            pairs.update(ELASTICSEARCH_HOST="")
        else:
            pairs.update(
                ELASTICSEARCH_HOST=es.host,
                ELASTICSEARCH_PORT=es.port,
                ELASTICSEARCH_INDEX=es.index_name,
                ELASTICSEARCH_USERNAME=es.username,
                ELASTICSEARCH_PASSWORD=es.password,
                ELASTICSEARCH_API_KEY=es.api_key,
                ELASTICSEARCH_USE_SSL=es.use_ssl,
                ELASTICSEARCH_VERIFY_CERTS=es.verify_certs,
                ELASTICSEARCH_MAX_CONNECTIONS=es.max_connections,
                ELASTICSEARCH_TIMEOUT=es.timeout,
                ELASTICSEARCH_RETRY_ON_TIMEOUT=es.retry_on_timeout,
            )
        yolo = self.yolov8
        if yolo is None:
            pairs.update(YOLOV8_MODEL="")
        else:
            pairs.update(
                YOLOV8_MODEL=yolo.model_name,
                YOLOV8_CONFIDENCE=yolo.confidence_threshold,
                YOLOV8_DEVICE=yolo.device,
                YOLOV8_IOU_THRESHOLD=yolo.iou_threshold,
                YOLOV8_MAX_DET=yolo.max_det,
                YOLOV8_THREADS=yolo.threads,
                BACHATA_MODELS_DIR=yolo.models_dir,
                BACHATA_ORT_LIB=yolo.runtime_library,
            )
        return {name: text(value) for name, value in pairs.items() if value is not None}

    def validate(self) -> bool:
        """Checks the current values (after changes to ``elasticsearch``, ``yolov8``, …) with the
        policy's rules; ``True`` when valid, else :class:`ValidationError` naming each problem,
        with the original app's sentence for its rule (``Elasticsearch port must be a positive
        integer``, …). Secrets are not read."""
        result = policy.load_config(self.current_environment(), None, lambda _project, _name: None)
        if result["tag"] == "err":
            _raise_config_error(result["val"])
        return True

    #: The original name of :meth:`validate`.
    _validate_config = validate

    @property
    def is_local(self) -> bool:
        """Whether the service runs locally (``ENVIRONMENT=local``, the default)."""
        return self.environment == "local"

    @property
    def is_cloud(self) -> bool:
        """Whether the service runs in Google Cloud (``ENVIRONMENT=cloud``)."""
        return self.environment == "cloud"

    def __repr__(self) -> str:
        return (
            f"EnvironmentConfig(environment={self.environment!r}, "
            f"gcp_project_id={self.gcp_project_id!r}, elasticsearch={self.elasticsearch!r}, "
            f"yolov8={self.yolov8!r}, resources={self.resources!r}, daemon={self.daemon!r}, "
            f"monitor={self.monitor!r})"
        )
