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
import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Optional, Union

from .monitor import MAX_DAYS, Monitor
from .monitor.experiments import Experiments
from .monitor.store import is_postgres

__all__ = ["ABTestConfig", "PerformanceMetrics", "PerformanceMonitor", "RecommendationDecision", "UserFeedback"]

_log = logging.getLogger("bachata_common")

#: Events kept in memory by ``recent_decisions`` and ``recent_feedback``.
RECENT = 1_000


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
    whole day, UTC), judged on ``success_metrics`` (see ``experiments metrics``)."""

    test_id: str
    test_name: str
    start_date: Union[datetime, date, str]
    end_date: Union[datetime, date, str]
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
        """The experiment definition (the native host's JSON fields)."""
        return {
            "test_id": self.test_id,
            "test_name": self.test_name,
            "start_date": self.start_date,
            "end_date": self.end_date,
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
        return cls(**{name: definition[name] for name in (
            "test_id", "test_name", "start_date", "end_date", "algorithm_versions", "traffic_split", "success_metrics",
            "minimum_sample_size", "coverage", "seed", "hash_version", "namespace", "sequential", "correction",
        )})


#: The most experiments one report analyzes (the most recently started).
MAX_REPORTED = 50


class PerformanceMonitor:
    """Recommendation decisions, feedback, metrics, reports and A/B tests.

    ``monitor_dir``: where the SQLite database (``monitor.sqlite3``) lives; by default the
    configured ``MONITOR_DATABASE`` (a SQLite file, or for a fleet a PostgreSQL connection string:
    a ``postgres://`` URI or libpq's ``keyword=value`` form). A new instance on the same database
    sees what an earlier one stored. ``database`` is the database as it may be shown (a
    connection string's password left out)."""

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
        #: The latest decisions and feedback logged by this instance.
        self.recent_decisions: collections.deque = collections.deque(maxlen=RECENT)
        self.recent_feedback: collections.deque = collections.deque(maxlen=RECENT)

    def __repr__(self) -> str:
        return f"PerformanceMonitor(database={self.database!r})"

    def close(self) -> None:
        self.monitor.close()

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
        algorithm_version: Optional[str] = None,
    ) -> str:
        """Stores a decision; its id. Its version: ``algorithm_version`` when given, else the
        one an active A/B test serves ``user_id`` (the decision then names the test), else
        ``current_algorithm_version``."""
        experiment = variation = None
        if algorithm_version is None:
            algorithm_version = self.current_algorithm_version
            if user_id is not None:
                served = self._served(str(user_id))
                if served is not None:
                    experiment, algorithm_version = served
                    variation = algorithm_version
        event = {
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
            timestamp=datetime.now(timezone.utc),
            input_song=input_song,
            recommended_moves=list(recommended_moves),
            recommendation_scores=list(recommendation_scores),
            algorithm_version=algorithm_version,
            weights_used=dict(weights_used or {}),
            processing_time_ms=float(processing_time_ms),
            song_features=dict(song_features or {}),
            user_id=event["user_id"],
        ))
        return decision_id

    def log_user_feedback(
        self,
        decision_id: str,
        feedback_type: str,
        feedback_value: Optional[float] = None,
        user_id: Optional[str] = None,
        move_id: Optional[str] = None,
        comments: Optional[str] = None,
    ) -> str:
        """Stores feedback (``rating`` 1–5, ``like``, ``dislike``, ``skip``, ``use``) on a stored
        decision; its id."""
        feedback_id, _ = self.monitor.log_feedback({
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
            timestamp=datetime.now(timezone.utc),
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
        """``report_period``, ``overall_metrics``, ``daily_metrics``, ``top_recommended_moves``,
        ``feedback_trends`` and the analysis of each A/B test running in the period."""
        now = datetime.now(timezone.utc)
        report = self.monitor.report(days=days, now=now)
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
        """Stores an A/B test (again with the same config: nothing changes); its id."""
        self.experiments.create(config.definition())
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
        """The A/B tests running now, by id."""
        return {definition["test_id"]: ABTestConfig.from_definition(definition) for definition in self._running()}

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

    def analyze_ab_test_results(self, test_id: str) -> dict:
        """``test_id``, ``versions`` (per version: ``sample_size``, its observed and expected
        share, each success metric's mean, and ``avg_processing_time_ms`` of its decisions), the
        ``comparisons`` against the control, the ``sample_ratio`` check and the ``verdict``."""
        analysis = self.experiments.analyze(test_id)
        definition = self.experiments.get(test_id)["definition"]
        versions: dict[str, dict] = {}
        for arm in analysis["arms"]:
            versions[arm["version"]] = {
                "sample_size": arm["units"],
                "observed_share": arm["observed_share"],
                "expected_share": arm["expected_share"],
            }
        control = definition["algorithm_versions"][0]
        for comparison in analysis["comparisons"]:
            versions.setdefault(control, {})[comparison["metric"]] = comparison["control_mean"]
            versions.setdefault(comparison["version"], {})[comparison["metric"]] = comparison["mean"]
        days = max(1, min(MAX_DAYS, (datetime.now(timezone.utc) - definition["start_date"]).days + 1))
        for version, figures in versions.items():
            metrics = self.monitor.metrics(days=days, version=version)
            figures["avg_processing_time_ms"] = metrics["avg_processing_time_ms"]
            figures["total_recommendations"] = metrics["total_recommendations"]
        return {**analysis, "test_id": test_id, "versions": versions}
