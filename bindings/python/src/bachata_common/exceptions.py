"""The error catalog as Python exceptions, drop-in for the original ``common`` module.

Every exception is built by the policy's ``errors.make-error``: its ``error_code`` and ``details``
come from the component, never from a copy of the catalog in Python. Details are text (the WIT
carries them as ``list<tuple<string, string>>``), so non-text values are converted with ``str``.

>>> error = YouTubeDownloadError("HTTP 410", url="https://youtu.be/x")
>>> error.error_code, error.details, error.http_status
('YOUTUBE_DOWNLOAD_ERROR', {'url': 'https://youtu.be/x'}, 400)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Iterator, NamedTuple, Optional

from . import policy

__all__ = [
    "ChoreographyGenerationError",
    "YouTubeDownloadError",
    "MusicAnalysisError",
    "MoveAnalysisError",
    "VideoGenerationError",
    "ValidationError",
    "ConflictError",
    "ResourceError",
    "ServiceUnavailableError",
    "Problem",
    "ERROR_MESSAGES",
    "get_user_friendly_message",
]

Details = Optional[Mapping[str, Any]]


class Problem(NamedTuple):
    """One configuration problem (WIT ``config.problem``)."""

    variable: str
    value: Optional[str]
    expected: str
    message: str


def _text(value: Any) -> Optional[str]:
    return None if value is None else str(value)


class ChoreographyGenerationError(Exception):
    """Base exception for choreography generation errors (``GENERATION_ERROR``).

    ``error_code`` overrides the catalog code when given (the original signature allowed it).
    """

    def __init__(self, message: str, error_code: Optional[str] = None, details: Details = None) -> None:
        self._build({"tag": "generation"}, message, details)
        if error_code is not None:
            self.app_error["error-code"] = error_code
            self.error_code = error_code

    def _build(self, kind: dict, message: str, details: Details) -> None:
        self._adopt(policy.make_error(kind, message, {key: str(v) for key, v in (details or {}).items()}))

    def _adopt(self, app_error: dict) -> None:
        Exception.__init__(self, app_error["message"])
        #: The WIT ``app-error`` this exception stands for, in plain form.
        self.app_error = app_error
        self.message: str = app_error["message"]
        self.error_code: str = app_error["error-code"]
        self.details: dict[str, str] = dict(app_error["details"])

    def _set_context(self, payload: Any) -> None:
        """Sets the attributes carried by the error kind's payload (none for the base kind)."""

    @classmethod
    def from_app_error(cls, app_error: dict) -> "ChoreographyGenerationError":
        """The exception for a plain WIT ``app-error``, of the class its kind calls for."""
        kind = app_error["kind"]
        exception_class = _BY_KIND.get(kind["tag"], ChoreographyGenerationError)
        exception = exception_class.__new__(exception_class)
        exception._adopt(app_error)
        exception._set_context(kind.get("val"))
        return exception

    @property
    def http_status(self) -> int:
        """The HTTP status an API answers with for this error."""
        return policy.http_status(self.error_code)

    def to_problem(self, error_type: Optional[str] = None, instance: Optional[str] = None) -> dict:
        """This error as an RFC 9457 problem document; ``error_type`` picks the user message."""
        import json

        return json.loads(policy.problem_json(self.app_error, error_type, instance))


class YouTubeDownloadError(ChoreographyGenerationError):
    """A YouTube video could not be downloaded (``YOUTUBE_DOWNLOAD_ERROR``)."""

    def __init__(self, message: str, url: Optional[str] = None, details: Details = None) -> None:
        self._build({"tag": "youtube-download", "val": url}, message, details)
        self.url = url

    def _set_context(self, payload: Any) -> None:
        self.url = payload


class MusicAnalysisError(ChoreographyGenerationError):
    """An audio track could not be analysed (``MUSIC_ANALYSIS_ERROR``)."""

    def __init__(self, message: str, audio_path: Optional[str] = None, details: Details = None) -> None:
        self._build({"tag": "music-analysis", "val": _text(audio_path)}, message, details)
        self.audio_path = audio_path

    def _set_context(self, payload: Any) -> None:
        self.audio_path = payload


class MoveAnalysisError(ChoreographyGenerationError):
    """Dance moves could not be extracted from a video (``MOVE_ANALYSIS_ERROR``)."""

    def __init__(self, message: str, video_path: Optional[str] = None, details: Details = None) -> None:
        self._build({"tag": "move-analysis", "val": _text(video_path)}, message, details)
        self.video_path = video_path

    def _set_context(self, payload: Any) -> None:
        self.video_path = payload


class VideoGenerationError(ChoreographyGenerationError):
    """The output video could not be produced (``VIDEO_GENERATION_ERROR``)."""

    def __init__(self, message: str, details: Details = None) -> None:
        self._build({"tag": "video-generation"}, message, details)


class ValidationError(ChoreographyGenerationError, ValueError):
    """An input or setting was rejected (``VALIDATION_ERROR``).

    Also a ``ValueError``, which the original configuration code raised. ``problems`` lists
    every configuration problem when the error comes from :class:`EnvironmentConfig`.
    """

    def __init__(self, message: str, field: Optional[str] = None, value: Any = None, details: Details = None) -> None:
        self._build({"tag": "validation", "val": {"field": field, "value": _text(value)}}, message, details)
        self.field = field
        self.value = value
        self.problems: list[Problem] = []

    def _set_context(self, payload: Any) -> None:
        self.field = payload["field"]
        self.value = payload["value"]
        self.problems = []


class ConflictError(ValidationError):
    """A record was sent again under the id of a stored one (or of an earlier one of the same
    batch) with other content: nothing was written. The native host's ``Conflict``: a
    ``VALIDATION_ERROR`` whose ``field`` is the id's name (``decision_id``, ``feedback_id``,
    ``test_id``) and ``value`` the id, answered by an API with HTTP 409 rather than 400.

    A ``ValidationError`` (and so a ``ValueError``): code catching those catches it too.
    """

    #: The HTTP status an API answers with for a conflict with stored data.
    HTTP_STATUS = 409

    @property
    def http_status(self) -> int:
        return self.HTTP_STATUS

    def to_problem(self, error_type: Optional[str] = None, instance: Optional[str] = None) -> dict:
        problem = super().to_problem(error_type, instance)
        problem["status"] = self.HTTP_STATUS
        return problem


class ResourceError(ChoreographyGenerationError):
    """A system resource ran short (``RESOURCE_ERROR``)."""

    def __init__(self, message: str, resource_type: Optional[str] = None, details: Details = None) -> None:
        self._build({"tag": "resource", "val": resource_type}, message, details)
        self.resource_type = resource_type

    def _set_context(self, payload: Any) -> None:
        self.resource_type = payload


class ServiceUnavailableError(ChoreographyGenerationError):
    """A service the operation depends on did not answer (``SERVICE_UNAVAILABLE_ERROR``)."""

    def __init__(self, message: str, service_name: Optional[str] = None, details: Details = None) -> None:
        self._build({"tag": "service-unavailable", "val": service_name}, message, details)
        self.service_name = service_name

    def _set_context(self, payload: Any) -> None:
        self.service_name = payload


_BY_KIND: dict[str, type[ChoreographyGenerationError]] = {
    "generation": ChoreographyGenerationError,
    "youtube-download": YouTubeDownloadError,
    "music-analysis": MusicAnalysisError,
    "move-analysis": MoveAnalysisError,
    "video-generation": VideoGenerationError,
    "validation": ValidationError,
    "resource": ResourceError,
    "service-unavailable": ServiceUnavailableError,
}


def get_user_friendly_message(error_code: str, error_type: str = "default") -> str:
    """The end-user message for a code and type; ``An error occurred: <CODE>`` when unknown."""
    return policy.user_friendly_message(error_code, error_type)


class _ErrorMessages(Mapping):
    """``{error_code: {error_type: message}}`` from the policy's catalog, read on first use."""

    def __init__(self) -> None:
        self._table: Optional[dict[str, Mapping[str, str]]] = None
        self._lock = threading.Lock()

    def _loaded(self) -> dict[str, Mapping[str, str]]:
        with self._lock:
            if self._table is None:
                table: dict[str, dict[str, str]] = {}
                for entry in policy.catalog():
                    table.setdefault(entry["error-code"], {})[entry["error-type"]] = entry["message"]
                self._table = {code: MappingProxyType(messages) for code, messages in table.items()}
            return self._table

    def forget(self) -> None:
        """Drops the table: the next use reads the catalog of the policy set loaded since."""
        with self._lock:
            self._table = None

    def __getitem__(self, error_code: str) -> Mapping[str, str]:
        return self._loaded()[error_code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __repr__(self) -> str:
        return repr({code: dict(messages) for code, messages in self._loaded().items()})


#: The user-facing messages of the catalog: ``ERROR_MESSAGES["VALIDATION_ERROR"]["default"]``.
ERROR_MESSAGES: Mapping[str, Mapping[str, str]] = _ErrorMessages()
