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

from typing import Iterable, Mapping, Optional, Sequence, Union

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
    "experiments_check",
    "experiments_hash",
    "experiments_equal_weights",
    "experiments_bucket_ranges",
    "experiments_choose_variation",
    "experiments_in_namespace",
    "experiments_assign",
    "experiments_metrics",
    "experiments_analyze",
    "experiments_sample_ratio_p",
    "experiments_adjust",
    "organizer_stock_mapping",
    "organizer_normalize_label",
    "organizer_check_mapping",
    "organizer_categorize",
    "organizer_plan",
    "couple_update",
    "couple_lead_follow",
    "couple_iou",
    "couple_rate",
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


def dotenv_variables(dotenv: str) -> dict:
    """``config.dotenv-variables``: the variables ``.env`` text defines, as ``config.load`` reads
    them. Returns ``{"tag": "ok", "val": [(name, value), ...]}`` or ``{"tag": "err", "val":
    config-error}``."""
    return call("config", "dotenv-variables", dotenv)


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
    """``cleanup.run`` without areas lent: raises :class:`CapabilityUnavailable` (``host-fs is
    not available in this host``). :meth:`bachata_common.ResourceManager.run_cleanup` runs it
    lending the managed areas and the metrics.

    ``now``, ``force``, ``dry_run`` and ``max_samples`` make its ``run-options`` record.
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


def experiments_check(definition: dict) -> dict:
    """``experiments.check``: ``{"tag": "ok"}``, or ``{"tag": "err", "val": app-error}`` naming the
    field of the ``definition`` at fault."""
    return call("experiments", "check", definition)


def experiments_hash(seed: str, value: str, version: int) -> Optional[float]:
    """``experiments.hash``: GrowthBook's hash of ``value`` under ``seed``, in [0, 1) (``None`` for
    a version other than 1 or 2).

    >>> experiments_hash("seed", "a", 2), experiments_hash("", "a", 1), experiments_hash("abc", "def", 99)
    (0.0505, 0.22, None)
    """
    return call("experiments", "hash", seed, value, version)


def experiments_equal_weights(count: int) -> list[float]:
    """``experiments.equal-weights``: ``count`` equal weights summing to 1 (none when ``count`` ≤ 0)."""
    return call("experiments", "equal-weights", count)


def experiments_bucket_ranges(
    count: int, coverage: float, weights: Optional[Sequence[float]] = None
) -> list[tuple[float, float]]:
    """``experiments.bucket-ranges``: each variation's ``(start, end)`` range of [0, 1].

    Equal weights replace ``weights`` when they are ``None``, not ``count`` long, or not summing
    to 1 ± 0.01.

    >>> experiments_bucket_ranges(2, 0.5)
    [(0.0, 0.25), (0.5, 0.75)]
    """
    return call("experiments", "bucket-ranges", count, coverage, None if weights is None else list(weights))


def experiments_choose_variation(n: float, ranges: Iterable[tuple[float, float]]) -> int:
    """``experiments.choose-variation``: the index of the first range holding ``n``, or -1."""
    return call("experiments", "choose-variation", n, [tuple(pair) for pair in ranges])


def experiments_in_namespace(unit: str, namespace: dict) -> bool:
    """``experiments.in-namespace``: whether ``unit`` falls in the slice of a ``namespace`` record
    (``{"id": ..., "start": ..., "end": ...}``)."""
    return call("experiments", "in-namespace", unit, namespace)


def experiments_assign(definition: dict, unit: str, now_ms: int) -> dict:
    """``experiments.assign``: the ``assignment`` of ``unit`` at ``now_ms`` (milliseconds since the
    Unix epoch), as ``{"tag": "ok", "val": assignment}``, or ``{"tag": "err", "val": app-error}``
    when the ``definition`` breaks a rule of :func:`experiments_check`."""
    return call("experiments", "assign", definition, unit, now_ms)


def experiments_metrics() -> list[dict]:
    """``experiments.metrics``: the ``metric`` records an experiment can be judged on, in a
    stable order."""
    return call("experiments", "metrics")


def experiments_analyze(analysis_input: dict) -> dict:
    """``experiments.analyze``: the ``analysis`` of an ``analysis-input`` (its definition, the sums
    of each arm, the multi-exposed units and the correction), as ``{"tag": "ok", "val":
    analysis}``, or ``{"tag": "err", "val": app-error}`` when the input does not fit the
    definition."""
    return call("experiments", "analyze", analysis_input)


def experiments_sample_ratio_p(units: Sequence[int], weights: Sequence[float]) -> Optional[float]:
    """``experiments.sample-ratio-p``: the chi-square p-value of the ``units`` observed per
    variation against the ``weights`` (variations of weight 0 left out); ``None`` when fewer than
    two weights are positive or no unit was observed."""
    return call("experiments", "sample-ratio-p", list(units), list(weights))


def experiments_adjust(p_values: Sequence[float], correction: str) -> list[float]:
    """``experiments.adjust``: ``p_values`` adjusted by a ``correction`` (``"none"``,
    ``"holm-bonferroni"`` or ``"benjamini-hochberg"``), in their order.

    >>> experiments_adjust([0.025, 0.03], "holm-bonferroni")
    [0.05, 0.05]
    """
    return call("experiments", "adjust", list(p_values), correction)


def organizer_stock_mapping() -> list[dict]:
    """``organizer.stock-mapping``: the stock ``category`` records (``{"name": ..., "labels":
    [...]}``), in order: ``basic_moves``, ``partner_work``, ``turns_spins``, ``styling``,
    ``advanced``, ``transitions``.

    >>> [category["name"] for category in organizer_stock_mapping()][:3]
    ['basic_moves', 'partner_work', 'turns_spins']
    """
    return call("organizer", "stock-mapping")


def organizer_normalize_label(label: str) -> str:
    """``organizer.normalize-label``: ``label`` as compared: trimmed, lower-cased, ``-`` and spaces
    turned into ``_``.

    >>> organizer_normalize_label("Lady-Turn"), organizer_normalize_label("  CROSS BODY LEAD ")
    ('lady_turn', 'cross_body_lead')
    """
    return call("organizer", "normalize-label", label)


def organizer_check_mapping(mapping: Sequence[dict]) -> dict:
    """``organizer.check-mapping``: ``{"tag": "ok"}``, or ``{"tag": "err", "val": app-error}`` (a
    ``VALIDATION_ERROR``) when a category name is not a folder name (1 to 64 lower-case letters,
    digits, ``_`` or ``-``), a label is empty or not usable as a folder name, or a label
    (normalized) is in two categories."""
    return call("organizer", "check-mapping", list(mapping))


def organizer_categorize(
    label: str, mapping: Sequence[dict], default_category: Optional[str] = None
) -> Optional[tuple[str, str]]:
    """``organizer.categorize``: the ``(category, folder)`` of ``label`` under ``mapping`` (a list
    of ``category`` records, for example :func:`organizer_stock_mapping`).

    The normalized label must equal one of a category's labels, or equal it once underscores are
    dropped, never a substring; the folder is the mapping's spelling. An unknown label goes to
    ``default_category`` (its folder the normalized label), or nowhere (``None``).

    >>> stock = organizer_stock_mapping()
    >>> organizer_categorize("Lady-Turn", stock), organizer_categorize("spinning", stock)
    (('turns_spins', 'ladyturn'), None)
    >>> organizer_categorize("Mambo Step", stock, "other")
    ('other', 'mambo_step')
    """
    return call("organizer", "categorize", label, list(mapping), default_category)


def organizer_plan(
    clips: Sequence[dict], mapping: Sequence[dict], default_category: Optional[str] = None
) -> dict:
    """``organizer.plan``: the ``placement`` of every ``clip`` record (``{"clip-id": ...,
    "video-path": ..., "move-label": ...}``), in order, as ``{"tag": "ok", "val": placements}``;
    each has its ``current-path``, ``target-path`` and ``target-category`` (``None`` when the clip
    stays), a ``status`` (``"move"``, ``"already-organized"``, ``"unmapped"`` or ``"refused"``)
    and a ``reason`` for the last two. ``{"tag": "err", "val": app-error}`` when ``mapping``
    breaks a rule of :func:`organizer_check_mapping` or ``default_category`` is not a valid
    category name.

    >>> clip = {"clip-id": "a", "video-path": "in/a.mkv", "move-label": "Mambo Step"}
    >>> organizer_plan([clip], organizer_stock_mapping(), "other")["val"][0]["target-path"]
    'other/mambo_step/a.mkv'
    """
    return call("organizer", "plan", list(clips), list(mapping), default_category)


def couple_update(state: dict, frames: Sequence[Sequence[dict]], cfg: dict) -> dict:
    """``couple.update``: tracks the people of ``frames`` (each a list of ``bbox`` records
    ``{"x1", "y1", "x2", "y2"}``) from the tracker ``state`` (``{"tracks": [{"id", "bbox",
    "unseen"}], "next-id"}``; a video starts from no tracks and ``next-id`` 0) with ``cfg``
    (``{"iou-threshold", "max-age"}``), as ``{"tag": "ok", "val": (state, roles)}``: the state
    after the last frame and each frame's ``ids``, ``lead`` and ``follow``.

    >>> box = {"x1": 0.0, "y1": 0.0, "x2": 10.0, "y2": 20.0}
    >>> state, roles = couple_update({"tracks": [], "next-id": 0}, [[box], [box]],
    ...                              {"iou-threshold": 0.5, "max-age": 30})["val"]
    >>> roles[1], state["next-id"]
    ({'ids': [0], 'lead': 0, 'follow': None}, 1)
    """
    return call("couple", "update", state, [list(boxes) for boxes in frames], cfg)


def couple_lead_follow(boxes: Sequence[dict]) -> dict:
    """``couple.lead-follow``: the indices of the lead and the follow among one frame's boxes.

    >>> left, right = {"x1": 0.0, "y1": 0.0, "x2": 1.0, "y2": 1.0}, {"x1": 5.0, "y1": 0.0, "x2": 6.0, "y2": 1.0}
    >>> couple_lead_follow([right, left])["val"]
    {'lead': 1, 'follow': 0}
    """
    return call("couple", "lead-follow", list(boxes))


def couple_iou(a: dict, b: dict) -> float:
    """``couple.iou``: the intersection over union of two boxes, 0 to 1."""
    return call("couple", "iou", a, b)


def couple_rate(processed: int, both: int) -> dict:
    """``couple.rate``: a video's detection rate (``rate``) and whether it is ``low``.

    >>> couple_rate(10, 2)
    {'rate': 0.2, 'low': True}
    """
    return call("couple", "rate", processed, both)
