"""The policy's exports as plain functions: one per WIT function, plain values in and out.

Values take the plain shape described in ``tests/vectors/README.md``: records are dicts keyed by
WIT field names (``"error-code"``), variants and results are ``{"tag": ..., "val": ...}``, options
are ``None`` or the value, enums are their case names. A WIT ``result`` is returned as such, never
raised; the friendlier API is :class:`bachata_common.EnvironmentConfig` and the exception classes.

>>> from bachata_common import policy
>>> policy.http_status("VALIDATION_ERROR")
400
>>> policy.make_error({"tag": "resource", "val": "memory"}, "memory use at 97%")["error-code"]
'RESOURCE_ERROR'
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional, Union

from ._component import CapabilityUnavailable, PolicyNotFound, call, current_secrets
from .secrets import SecretStore

__all__ = [
    "CapabilityUnavailable",
    "PolicyNotFound",
    "load_config",
    "make_error",
    "code_of",
    "user_friendly_message",
    "catalog",
    "http_status",
    "problem_json",
    "cleanup_run",
    "cleanup_assess",
    "pose_detect",
    "monitor_satisfaction",
    "monitor_summarize",
    "monitor_relevance",
    "monitor_rank",
    "monitor_combine",
    "monitor_ranking",
    "monitor_daily",
]

Pairs = Union[Mapping[str, str], Iterable[tuple[str, str]]]


def _pairs(items: Pairs) -> list[tuple[str, str]]:
    pairs = items.items() if isinstance(items, Mapping) else items
    return [(str(key), str(value)) for key, value in pairs]


def load_config(env: Pairs, dotenv: Optional[str] = None, secrets: Optional[SecretStore] = None) -> dict:
    """``config.load``: resolves configuration from exactly these variables and ``.env`` text.

    ``secrets`` answers ``host-secrets`` in cloud mode (default:
    :func:`bachata_common.secrets.default_secret_store`). Returns
    ``{"tag": "ok", "val": resolved-config}`` or ``{"tag": "err", "val": config-error}``.
    """
    token = current_secrets.set(secrets)
    try:
        return call("config", "load", _pairs(env), dotenv)
    finally:
        current_secrets.reset(token)


def make_error(kind: dict, message: str, details: Pairs = ()) -> dict:
    """``errors.make-error``: an ``app-error`` of ``kind`` with its code and context details."""
    return call("errors", "make-error", kind, message, _pairs(details))


def code_of(kind: dict) -> str:
    """``errors.code-of``: the stable machine code of a kind."""
    return call("errors", "code-of", kind)


def user_friendly_message(error_code: str, error_type: str = "default") -> str:
    """``errors.user-friendly-message``: the end-user message for a code and type."""
    return call("errors", "user-friendly-message", error_code, error_type)


def catalog() -> list[dict]:
    """``errors.catalog``: every catalog entry, by code, ``default`` first."""
    return call("errors", "catalog")


def http_status(error_code: str) -> int:
    """``errors.http-status``: the HTTP status an API answers with for a code."""
    return call("errors", "http-status", error_code)


def problem_json(error: dict, error_type: Optional[str] = None, instance: Optional[str] = None) -> str:
    """``errors.problem-json``: an RFC 9457 ``application/problem+json`` document (text)."""
    return call("errors", "problem-json", error, error_type, instance)


#: ``run-options.max-samples`` when not given: the native host's default.
DEFAULT_SAMPLES = 1000


def cleanup_run(
    settings: dict,
    now: int,
    force: bool = False,
    dry_run: bool = False,
    max_samples: int = DEFAULT_SAMPLES,
) -> dict:
    """``cleanup.run``: needs ``host-fs``, which this host does not lend.

    ``now``, ``force``, ``dry_run`` and ``max_samples`` make its ``run-options`` record.
    Raises :class:`CapabilityUnavailable` (``host-fs is not available in this host``).
    """
    options = {"now": now, "force": force, "dry-run": dry_run, "max-samples": max_samples}
    return call("cleanup", "run", settings, options)


def cleanup_assess(settings: dict, snapshot: dict) -> dict:
    """``cleanup.assess``: the warnings a resource snapshot raises."""
    return call("cleanup", "assess", settings, snapshot)


def pose_detect(frames: list[dict], cfg: dict) -> dict:
    """``pose.detect``: needs ``host-pose``, which this host does not lend, so it errs."""
    return call("pose", "detect", frames, cfg)


def monitor_satisfaction(feedback: list[dict]) -> float:
    """``monitor.satisfaction``: user satisfaction in [0, 1] from ``feedback-totals`` records."""
    return call("monitor", "satisfaction", feedback)


def monitor_summarize(window: dict, top: int) -> dict:
    """``monitor.summarize``: the ``operational`` metrics of a ``window-totals``."""
    return call("monitor", "summarize", window, top)


def monitor_relevance(feedback_type: str, value: Optional[float] = None) -> Optional[bool]:
    """``monitor.relevance``: whether a piece of feedback marks a move relevant (``None``: no judgment).

    >>> monitor_relevance("rating", 4), monitor_relevance("skip"), monitor_relevance("rating", 3)
    (True, False, None)
    """
    return call("monitor", "relevance", feedback_type, value)


def monitor_rank(k: int, totals: dict, page: list[dict]) -> dict:
    """``monitor.rank``: ``ranking-totals`` with a page of ``judged-decision`` records added."""
    return call("monitor", "rank", k, totals, page)


def monitor_combine(a: dict, b: dict) -> dict:
    """``monitor.combine``: the ``ranking-totals`` of two sets of decisions as one."""
    return call("monitor", "combine", a, b)


def monitor_ranking(k: int, totals: dict) -> dict:
    """``monitor.ranking``: the ``ranking-metrics`` at cut-off ``k`` from the totals of every page."""
    return call("monitor", "ranking", k, totals)


def monitor_daily(days: list[dict]) -> list[dict]:
    """``monitor.daily``: the ``day-metrics`` of each ``day-totals``, in the order given."""
    return call("monitor", "daily", days)
