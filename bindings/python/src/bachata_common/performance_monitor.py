"""The original app's ``PerformanceMonitor`` and its data classes, over
:mod:`bachata_common.monitor` (events in SQLite or PostgreSQL on the native host's schema, the
metrics and the A/B statistics computed by the policy component).

>>> import tempfile
>>> monitor = PerformanceMonitor(tempfile.mkdtemp())
>>> decision_id = monitor.log_recommendation_decision(
...     input_song="Obsesión", recommended_moves=["basic", "dip"], recommendation_scores=[0.9, 0.7],
...     weights_used={"tempo": 0.6}, processing_time_ms=41.0, song_features={"bpm": 128})
>>> _ = monitor.log_user_feedback(decision_id, "rating", feedback_value=5, move_id="basic")
>>> metrics = monitor.calculate_performance_metrics()
>>> metrics.total_recommendations, metrics.user_satisfaction_score, metrics["avg_processing_time_ms"]
(1, 1.0, 41.0)
"""

from __future__ import annotations

import collections
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional, Union

from .exceptions import ChoreographyGenerationError, ServiceUnavailableError
from .monitor import Monitor
from .monitor.experiments import Experiments
from .monitor.store import is_postgres

__all__ = ["ABTestConfig", "PerformanceMetrics", "PerformanceMonitor", "RecommendationDecision", "UserFeedback"]

_log = logging.getLogger("bachata_common")

#: Events kept in memory by ``recent_decisions`` and ``recent_feedback``.
RECENT = 1_000

#: The end stored for an A/B test set up without one (``end_date=None``: it runs until it is
#: replaced); read back as ``None``.
OPEN_END = datetime(9999, 12, 31, tzinfo=timezone.utc)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _at(ts_ms: int) -> datetime:
    """A stored time (milliseconds since the epoch) as a UTC ``datetime``."""
    return _EPOCH + timedelta(milliseconds=int(ts_ms))


def _to_ms(moment: datetime) -> datetime:
    """``moment`` to the millisecond, as it is stored."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass
class RecommendationDecision:
    """A recommendation decision as logged."""

    decision_id: str
    timestamp: datetime
    input_song: str
    recommended_moves: list
    recommendation_scores: list
    algorithm_version: str
    weights_used: dict
    processing_time_ms: float
    song_features: dict
    user_id: Optional[str] = None
    #: Given to ``log_recommendation_decision``; kept in memory only (not stored).
    user_preferences: Optional[dict] = None
    #: Given to ``log_recommendation_decision``; kept in memory only (not stored).
    session_id: Optional[str] = None


@dataclass
class UserFeedback:
    """A user's feedback on a decision as logged."""

    feedback_id: str
    decision_id: str
    timestamp: datetime
    feedback_type: str
    feedback_value: Optional[float] = None
    user_id: Optional[str] = None
    move_id: Optional[str] = None
    comments: Optional[str] = None


@dataclass
class PerformanceMetrics:
    """The metrics of a window; fields read as attributes or as keys (``metrics["precision"]``)."""

    total_recommendations: int = 0
    avg_processing_time_ms: float = 0.0
    avg_recommendation_score: float = 0.0
    user_satisfaction_score: float = 0.0
    recommendation_distribution: dict = field(default_factory=dict)
    accuracy: float = 0.0
    precision: float = 0.0
    recall: float = 0.0
    f1_score: float = 0.0
    processing_time_ms: dict = field(default_factory=dict)
    mean_rating: Optional[float] = None
    feedback_count: int = 0
    feedback: dict = field(default_factory=dict)
    ranking: dict = field(default_factory=dict)
    period: dict = field(default_factory=dict)
    algorithm_version: Optional[str] = None
    by_version: dict = field(default_factory=dict)

    def __getitem__(self, key: str):
        return getattr(self, key)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_metrics(cls, metrics: dict) -> "PerformanceMetrics":
        """From the monitor's metrics JSON (the native host's ``PerformanceMetrics``)."""
        return cls(
            total_recommendations=metrics["total_recommendations"],
            avg_processing_time_ms=metrics["avg_processing_time_ms"],
            avg_recommendation_score=metrics["avg_recommendation_score"],
            user_satisfaction_score=metrics["user_satisfaction_score"],
            recommendation_distribution={share["name"]: share["count"] for share in metrics["recommendation_distribution"]},
            accuracy=metrics["accuracy"],
            precision=metrics["precision"],
            recall=metrics["recall"],
            f1_score=metrics["f1_score"],
            processing_time_ms=metrics["processing_time_ms"],
            mean_rating=metrics["mean_rating"],
            feedback_count=metrics["feedback_count"],
            feedback={share["name"]: share["count"] for share in metrics["feedback"]},
            ranking=metrics["ranking"],
            period=metrics["period"],
            algorithm_version=metrics["algorithm_version"],
            by_version={
                name: cls.from_metrics(each) for name, each in metrics.get("by_version", {}).items()
            },
        )


@dataclass
class ABTestConfig:
    """An A/B test: ``algorithm_versions`` (the first is the control) split by
    ``traffic_split`` (weights summing to 1) from ``start_date`` to ``end_date`` (a date is the
    whole day, UTC; a naive ``datetime`` is local time, as the original app's
    ``datetime.now()``; ``end_date=None``: no end), judged on ``success_metrics`` (see
    ``experiments metrics``)."""

    test_id: str
    test_name: str
    start_date: Union[datetime, date, str]
    end_date: Union[datetime, date, str, None]
    algorithm_versions: list
    traffic_split: dict
    success_metrics: list = field(default_factory=lambda: ["user_satisfaction"])
    minimum_sample_size: int = 150
    coverage: float = 1.0
    seed: Optional[str] = None
    hash_version: int = 2
    namespace: Optional[tuple] = None
    sequential: bool = False
    correction: str = "none"

    def definition(self) -> dict:
        """The experiment definition (the native host's JSON fields): a naive ``datetime`` made
        UTC from local time, no end as :data:`OPEN_END`. The config itself is left as it is."""
        return {
            "test_id": self.test_id,
            "test_name": self.test_name,
            "start_date": _aware(self.start_date),
            "end_date": OPEN_END if self.end_date is None else _aware(self.end_date),
            "algorithm_versions": list(self.algorithm_versions),
            "traffic_split": dict(self.traffic_split),
            "coverage": self.coverage,
            "seed": self.seed,
            "hash_version": self.hash_version,
            "success_metrics": list(self.success_metrics),
            "minimum_sample_size": self.minimum_sample_size,
            "namespace": None if self.namespace is None else list(self.namespace),
            "sequential": self.sequential,
            "correction": self.correction,
        }

    @classmethod
    def from_definition(cls, definition: dict) -> "ABTestConfig":
        """A config from a stored definition (UTC dates; :data:`OPEN_END` read as no end)."""
        config = cls(**{name: definition[name] for name in (
            "test_id", "test_name", "start_date", "end_date", "algorithm_versions", "traffic_split", "success_metrics",
            "minimum_sample_size", "coverage", "seed", "hash_version", "namespace", "sequential", "correction",
        )})
        if isinstance(config.end_date, datetime) and config.end_date >= OPEN_END:
            config.end_date = None
        return config


def _aware(value):
    """A naive ``datetime`` as the UTC time it means read as local time (the original app
    compared its test dates with ``datetime.now()``); anything else as it is."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.astimezone(timezone.utc)
    return value


#: The most experiments one report analyzes (the most recently started).
MAX_REPORTED = 50


class PerformanceMonitor:
    """Recommendation decisions, feedback, metrics, reports and A/B tests.

    ``monitor_dir``: where the SQLite database (``monitor.sqlite3``) lives; by default the
    configured ``MONITOR_DATABASE`` (a SQLite file, or for a fleet a PostgreSQL connection string:
    a ``postgres://`` URI or libpq's ``keyword=value`` form). A new instance on the same database
    sees what an earlier one stored. ``database`` is the database as it may be shown (a
    connection string's password left out).

    Every event is stored when it is logged. ``recent_decisions`` and ``recent_feedback`` are
    the original's in-memory buffers: ``collections.deque(maxlen=1000)`` of
    :class:`RecommendationDecision` and :class:`UserFeedback`, oldest first, filled at
    construction with the latest 1,000 stored (whichever instance or host logged them) and
    appended to by this instance's logging."""

    def __init__(self, monitor_dir: Union[str, Path, None] = None, *, database: Optional[str] = None) -> None:
        if database is None:
            if monitor_dir is not None:
                database = str(Path(monitor_dir) / "monitor.sqlite3")
            else:
                from .config import EnvironmentConfig

                database = EnvironmentConfig().monitor.database
        self.data_dir = Path(monitor_dir) if monitor_dir is not None else (
            Path(database).parent if not is_postgres(database) else Path(".")
        )
        self.monitor = Monitor(database)
        self.database = self.monitor.database
        self.experiments = Experiments(self.monitor)
        #: The algorithm version of decisions outside any A/B test.
        self.current_algorithm_version = "1.0"
        #: The A/B tests this instance set up: test id → (the config given, its stored definition).
        self._ab_tests: dict[str, tuple[ABTestConfig, dict]] = {}
        #: The latest decisions and feedback: the latest stored when constructed, then each one
        #: this instance logs.
        self.recent_decisions: collections.deque = collections.deque(maxlen=RECENT)
        self.recent_feedback: collections.deque = collections.deque(maxlen=RECENT)
        self._load_recent()

    def __repr__(self) -> str:
        return f"PerformanceMonitor(database={self.database!r})"

    def close(self) -> None:
        self.monitor.close()

    def _load_recent(self) -> None:
        """``recent_decisions`` and ``recent_feedback`` from the latest stored events (a bounded
        read: the latest days only)."""
        decisions, feedback = self.monitor.latest(RECENT)
        for (decision_id, ts_ms, user_id, song, moves, scores, version, weights, processing, features) in decisions:
            self.recent_decisions.append(RecommendationDecision(
                decision_id=decision_id,
                timestamp=_at(ts_ms),
                input_song=song,
                recommended_moves=json.loads(moves),
                recommendation_scores=json.loads(scores),
                algorithm_version=version,
                weights_used=json.loads(weights),
                processing_time_ms=float(processing),
                song_features=json.loads(features),
                user_id=user_id,
            ))
        for (feedback_id, decision_id, ts_ms, kind, value, user_id, move_id, comments) in feedback:
            self.recent_feedback.append(UserFeedback(
                feedback_id=feedback_id,
                decision_id=decision_id,
                timestamp=_at(ts_ms),
                feedback_type=kind,
                feedback_value=None if value is None else float(value),
                user_id=user_id,
                move_id=move_id,
                comments=comments,
            ))

    def _persist_decisions(self) -> None:
        """Nothing to do: every decision is stored when it is logged (the original wrote its
        buffer to a JSON file every tenth decision)."""

    def _persist_feedback(self) -> None:
        """Nothing to do: every feedback event is stored when it is logged."""

    # -- events ---------------------------------------------------------------------------------

    def log_recommendation_decision(
        self,
        input_song: str,
        recommended_moves: list,
        recommendation_scores: list,
        weights_used: dict,
        processing_time_ms: float,
        song_features: dict,
        user_id: Optional[str] = None,
        user_preferences: Optional[dict] = None,
        session_id: Optional[str] = None,
        *,
        algorithm_version: Optional[str] = None,
    ) -> str:
        """Stores a decision; its id. Its version: ``algorithm_version`` when given, else the
        one an active A/B test serves ``user_id`` (the decision then names the test), else
        ``current_algorithm_version``. The parameters are the original's, in its order;
        ``user_preferences`` and ``session_id`` are kept on the decision in
        ``recent_decisions`` but not stored (the event schema has no place for them)."""
        experiment = variation = None
        if algorithm_version is None:
            algorithm_version = self.current_algorithm_version
            if user_id is not None:
                served = self._served(str(user_id))
                if served is not None:
                    experiment, algorithm_version = served
                    variation = algorithm_version
        now = _to_ms(datetime.now(timezone.utc))
        event = {
            "timestamp": now,
            "input_song": input_song,
            "recommended_moves": list(recommended_moves),
            "recommendation_scores": list(recommendation_scores),
            "weights_used": dict(weights_used or {}),
            "processing_time_ms": processing_time_ms,
            "song_features": dict(song_features or {}),
            "user_id": None if user_id is None else str(user_id),
            "algorithm_version": algorithm_version,
            "experiment_id": experiment,
            "variation": variation,
        }
        decision_id, _ = self.monitor.log_decision(event)
        self.recent_decisions.append(RecommendationDecision(
            decision_id=decision_id,
            timestamp=now,
            input_song=input_song,
            recommended_moves=list(recommended_moves),
            recommendation_scores=list(recommendation_scores),
            algorithm_version=algorithm_version,
            weights_used=dict(weights_used or {}),
            processing_time_ms=float(processing_time_ms),
            song_features=dict(song_features or {}),
            user_id=event["user_id"],
            user_preferences=user_preferences,
            session_id=session_id,
        ))
        return decision_id

    def log_user_feedback(
        self,
        decision_id: str,
        feedback_type: str,
        feedback_value: Optional[float] = None,
        move_id: Optional[str] = None,
        comments: Optional[str] = None,
        user_id: Optional[str] = None,
    ) -> str:
        """Stores feedback (``rating`` 1–5, ``like``, ``dislike``, ``skip``, ``use``) on a stored
        decision; its id. The parameters are the original's, in its order."""
        now = _to_ms(datetime.now(timezone.utc))
        feedback_id, _ = self.monitor.log_feedback({
            "timestamp": now,
            "decision_id": decision_id,
            "feedback_type": feedback_type,
            "feedback_value": feedback_value,
            "user_id": None if user_id is None else str(user_id),
            "move_id": move_id,
            "comments": comments,
        })
        self.recent_feedback.append(UserFeedback(
            feedback_id=feedback_id,
            decision_id=decision_id,
            timestamp=now,
            feedback_type=feedback_type,
            feedback_value=feedback_value,
            user_id=None if user_id is None else str(user_id),
            move_id=move_id,
            comments=comments,
        ))
        return feedback_id

    # -- metrics and reports --------------------------------------------------------------------

    def calculate_performance_metrics(self, days: int = 7, algorithm_version: Optional[str] = None) -> PerformanceMetrics:
        """The metrics of the last ``days`` days: operational figures, satisfaction and the
        ranking metrics (``accuracy``, ``precision``, ``recall``, ``f1_score``, ``ranking``)."""
        return PerformanceMetrics.from_metrics(self.monitor.metrics(days=days, version=algorithm_version))

    def generate_performance_report(self, days: int = 7) -> dict:
        """The report of the last ``days`` UTC days (today included): ``report_period``,
        ``generated_at``, ``overall_metrics``, ``daily_metrics``, ``top_recommended_moves``,
        ``feedback_trends`` (as the original: feedback type → how many were given in the
        period, every type listed), ``feedback_series`` (``totals`` and ``daily``: per day the
        counts by type and the satisfaction), ``active_ab_tests`` (their ids, as the original),
        ``algorithm_version`` (``current_algorithm_version``), and ``experiments``: the
        statistical analysis (:meth:`analyze_experiment`) of each A/B test running in the
        period."""
        now = datetime.now(timezone.utc)
        report = self.monitor.report(days=days, now=now)
        series = report["feedback_trends"]
        report["feedback_trends"] = {share["name"]: share["count"] for share in series["totals"]}
        report["feedback_series"] = series
        report["active_ab_tests"] = list(self.active_ab_tests)
        report["algorithm_version"] = self.current_algorithm_version
        since = now.timestamp() - days * 86_400
        running = [
            experiment["definition"]
            for experiment in self.experiments.list()
            if experiment["definition"]["start_date"] <= now
            and experiment["definition"]["end_date"].timestamp() >= since
        ]
        # The most recently started first, at most MAX_REPORTED (the native host's rule); one
        # that cannot be analyzed is a section saying why, never a failed report.
        running.sort(key=lambda d: d["test_id"])
        running.sort(key=lambda d: d["start_date"], reverse=True)
        report["experiments_omitted"] = max(0, len(running) - MAX_REPORTED)
        for definition in running[:MAX_REPORTED]:
            try:
                report["experiments"].append(self.experiments.analyze(definition["test_id"]))
            except Exception as error:  # noqa: BLE001 - one experiment never fails the report
                _log.warning("an experiment of the report could not be analyzed", extra={"test_id": definition["test_id"]})
                report["experiments"].append(
                    {"test_id": definition["test_id"], "error": f"could not be computed: {error}"}
                )
        return report

    # -- A/B tests ------------------------------------------------------------------------------

    def setup_ab_test(self, config: ABTestConfig) -> str:
        """Stores an A/B test (again with the same config: nothing changes; another test with
        its id: a ``ConflictError``); its id. ``config`` itself is kept, unchanged:
        ``active_ab_tests[config.test_id] is config`` while the stored test is still this one
        (what is stored has UTC dates)."""
        stored = self.experiments.create(config.definition())
        self._ab_tests[config.test_id] = (config, stored["definition"])
        _log.info("A/B test set up", extra={"test_id": config.test_id})
        return config.test_id

    def _running(self) -> list[dict]:
        """The definitions of the A/B tests running now, by id (read from the database, so every
        instance agrees)."""
        now = datetime.now(timezone.utc)
        return [
            experiment["definition"]
            for experiment in self.experiments.list()
            if experiment["definition"]["start_date"] <= now < experiment["definition"]["end_date"]
        ]

    @property
    def active_ab_tests(self) -> dict:
        """The A/B tests, by id: every stored test that has not ended (whichever instance or
        host set it up), and every one this instance set up. A test this instance set up is the
        :class:`ABTestConfig` given to :meth:`setup_ab_test` (the same object) while the stored
        test is still that one; any other is read from the database (UTC dates). Read afresh on
        each access: set tests up with :meth:`setup_ab_test`, not by assigning into the dict."""
        now = datetime.now(timezone.utc)
        tests = {}
        for experiment in self.experiments.list():
            definition = experiment["definition"]
            kept = self._ab_tests.get(definition["test_id"])
            if kept is not None and kept[1] == definition:
                tests[definition["test_id"]] = kept[0]
            elif definition["end_date"] > now or kept is not None:
                tests[definition["test_id"]] = ABTestConfig.from_definition(definition)
        return tests

    def _served(self, user_id: str) -> Optional[tuple[str, str]]:
        for definition in self._running():
            assignment = self.experiments.assign_definition(definition, user_id)
            if assignment["in-experiment"]:
                return definition["test_id"], assignment["version"]
        return None

    def get_algorithm_version_for_user(self, user_id: str) -> str:
        """The version an active A/B test serves ``user_id`` (the same each time; its exposure
        logged once), else ``current_algorithm_version``."""
        served = self._served(str(user_id))
        return served[1] if served else self.current_algorithm_version

    def analyze_experiment(self, test_id: str, correction: Optional[str] = None) -> dict:
        """The statistical analysis of an A/B test over its exposed units (GrowthBook's
        ``gbstats`` formulas, computed by the policy; the native host's ``experiments analyze``):
        ``arms`` (per version: ``units``, observed and expected share), ``comparisons`` of each
        success metric against the control, the ``sample_ratio`` check and the ``verdict``.
        ``correction`` adjusts the p-values (default: the test's). ``ValidationError`` (a
        ``ValueError``) for an unknown test."""
        return self.experiments.analyze(test_id, correction)

    def analyze_ab_test_results(self, test_id: str) -> dict:
        """The original's analysis: the decisions logged from the test's ``start_date`` up to its
        ``end_date`` (none: up to now) with each of its versions, whether or not a unit was
        assigned through the test.

        ``test_id``, ``test_name``, ``test_period`` (``start``, ``end``: ISO 8601 UTC, ``end``
        ``None`` for no end) and ``versions``: per version with decisions in the period (the
        control first), ``sample_size`` (its decisions), ``avg_processing_time_ms``,
        ``avg_recommendation_score`` (the mean of each decision's mean score),
        ``user_satisfaction_score`` (of the feedback on those decisions, as the metrics count it;
        0 without feedback), ``feedback_count``, ``avg_rating`` (the mean rating; ``None``
        without one) and ``feedback`` (type → count).

        Beside them, the exposure-based analysis (:meth:`analyze_experiment`): its keys at the
        top level (``arms``, ``comparisons``, ``sample_ratio``, ``verdict``, …) and, in each
        version's entry, ``units``, ``observed_share``, ``expected_share`` and each success
        metric's mean over the exposed units, under the metric's name (``like_rate``,
        ``user_satisfaction``, ``mean_rating``, ``processing_time_ms``, …). When it cannot be
        computed, ``experiment_error`` says why and the rest stands.

        An unknown test is a ``ValidationError`` (a ``ValueError``, as the original's)."""
        definition = self.experiments.get(test_id)["definition"]
        end = None if definition["end_date"] >= OPEN_END else definition["end_date"]
        figures = self.monitor.period_by_version(definition["start_date"], end, definition["algorithm_versions"])
        versions: dict[str, dict] = {}
        for version in definition["algorithm_versions"]:
            each = figures.get(version)
            if each is None or not each["decisions"]:
                continue
            versions[version] = {
                "sample_size": each["decisions"],
                "avg_processing_time_ms": each["avg_processing_time_ms"],
                "avg_recommendation_score": each["avg_recommendation_score"],
                "user_satisfaction_score": each["user_satisfaction_score"],
                "feedback_count": each["feedback_count"],
                "avg_rating": each["mean_rating"],
                "feedback": each["feedback"],
            }
        results = {
            "test_id": test_id,
            "test_name": definition["test_name"],
            "test_period": {
                "start": definition["start_date"].isoformat(),
                "end": None if end is None else end.isoformat(),
            },
            "versions": versions,
        }
        try:
            analysis = self.analyze_experiment(test_id)
        except ServiceUnavailableError:
            raise
        except ChoreographyGenerationError as error:
            _log.warning("an A/B test's exposure analysis could not be computed", extra={"test_id": test_id})
            return {**results, "experiment_error": f"could not be computed: {error}"}
        control = definition["algorithm_versions"][0]
        for arm in analysis["arms"]:
            if arm["version"] in versions:
                versions[arm["version"]].update(
                    units=arm["units"], observed_share=arm["observed_share"], expected_share=arm["expected_share"]
                )
        for comparison in analysis["comparisons"]:
            if control in versions:
                versions[control][comparison["metric"]] = comparison["control_mean"]
            if comparison["version"] in versions:
                versions[comparison["version"]][comparison["metric"]] = comparison["mean"]
        return {**analysis, **results}
