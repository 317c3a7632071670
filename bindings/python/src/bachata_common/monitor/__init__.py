"""The performance monitor from Python (``host/src/services/monitor/``): recommendation decisions
and user feedback stored durably — SQLite, or PostgreSQL for a fleet, on the native host's schema,
so either host reads what the other wrote — and the quality metrics the policy component
computes from them (``monitor.summarize``, ``rank``, ``combine``, ``ranking``, ``daily``).

>>> import tempfile
>>> monitor = Monitor(tempfile.mkdtemp() + "/monitor.sqlite3")
>>> decision, stored = monitor.log_decision({"input_song": "Obsesión", "recommended_moves": ["basic", "dip"],
...     "recommendation_scores": [0.9, 0.7], "processing_time_ms": 38.0})
>>> _ = monitor.log_feedback({"decision_id": decision, "feedback_type": "like"})
>>> metrics = monitor.metrics()
>>> metrics["total_recommendations"], metrics["user_satisfaction_score"]
(1, 1.0)
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import Optional

from .. import policy
from ..exceptions import ConflictError, ServiceUnavailableError, ValidationError
from . import events, queries, rules
from .store import Store, StoreError, masked, redacted

__all__ = ["DEFAULT_K", "MAX_BATCH", "MAX_DAYS", "ConflictError", "Monitor", "StoreError"]

_log = logging.getLogger("bachata_common")

#: The most events one batch may hold.
MAX_BATCH = 1_000
#: The longest window, in days.
MAX_DAYS = 3_650
#: The default ranking cut-off.
DEFAULT_K = 5
#: Judged decisions handed to the policy per call.
RANKING_PAGE = 4_096
#: Top moves in a report.
TOP_MOVES = 10

_ZERO_RANKING = {
    "judged": 0,
    "with-relevant": 0,
    "precision-sum": 0.0,
    "recall-sum": 0.0,
    "hits": 0,
    "reciprocal-rank-sum": 0.0,
    "ndcg-sum": 0.0,
    "first-relevant": 0,
}


def _snake(value):
    """A policy record with snake_case keys (the native host's JSON), recursively."""
    if isinstance(value, dict):
        return {key.replace("-", "_"): _snake(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_snake(item) for item in value]
    return value


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"days must be from 1 to {MAX_DAYS}, not {days}", field="days", value=str(days))
    return days


class Period:
    """The ``days`` UTC days ending on ``now``'s day."""

    def __init__(self, days: int, now: datetime) -> None:
        self.end = events.day_of(int(now.timestamp() * 1000))
        self.start = self.end - days + 1
        self.days = days

    def window(self, version: Optional[str] = None) -> queries.Window:
        return queries.Window(self.start, self.end, version)

    def as_dict(self) -> dict:
        return {"start": queries.day_name(self.start), "end": queries.day_name(self.end), "days": self.days}


class Monitor:
    """The event store ``database`` names (a SQLite file, or a PostgreSQL connection string: a
    ``postgres://`` URI or libpq's ``keyword=value`` form) and what is computed from it. Writes
    and reads use a connection each.

    ``database`` is kept as it may be shown (a connection string without its password, see
    :func:`~bachata_common.monitor.store.masked`); no ``repr``, log or error shows the password.
    """

    def __init__(self, database: str, retention_days: int = 90) -> None:
        database = str(database)
        #: The database as it may be shown (a PostgreSQL password left out).
        self.database = masked(database)
        self.retention_days = retention_days
        try:
            self._writer = Store(database)
            self._reader = Store(database)
        except StoreError as error:
            raise ServiceUnavailableError(redacted(str(error), database), service_name="monitor_database") from None
        self.engine = "postgres" if self._writer.postgres else "sqlite"
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Monitor({self.database!r}, engine={self.engine!r})"

    def close(self) -> None:
        self._writer.close()
        self._reader.close()

    def _write(self, body):
        try:
            return self._writer.run_write(body)
        except StoreError as error:
            raise ServiceUnavailableError(str(error), service_name="monitor_database") from None

    def _read(self, body):
        try:
            with self._reader.read() as tx:
                return body(tx)
        except StoreError as error:
            raise ServiceUnavailableError(str(error), service_name="monitor_database") from None

    def _exists(self, sql: str, params: tuple) -> bool:
        """Whether one query, read on its own, finds a row (see :meth:`Store.exists`)."""
        try:
            return self._reader.exists(sql, params)
        except StoreError as error:
            raise ServiceUnavailableError(str(error), service_name="monitor_database") from None

    # -- events ---------------------------------------------------------------------------------

    def log_decision(self, event: dict) -> tuple[str, bool]:
        """Stores a decision once; ``(decision_id, stored)`` (``stored`` is false for a retry of
        an id already stored with the same content). ``ValidationError`` names the field at
        fault; ``ConflictError`` (a ``ValidationError``) the id stored with other content, and
        nothing is written."""
        decisions = rules.check_decisions([event], _now(), False)
        return self._write(lambda tx: events.insert_decisions(tx, decisions))[0]

    def log_decisions(self, batch: list[dict]) -> list[tuple[str, bool]]:
        """Stores a batch of decisions in one transaction: all or none (an id given twice with
        other content, or stored with other content, is a ``ConflictError``)."""
        self._check_batch(batch)
        decisions = rules.check_decisions(batch, _now(), True)
        return self._write(lambda tx: events.insert_decisions(tx, decisions))

    def log_feedback(self, event: dict) -> tuple[str, bool]:
        """Stores feedback on a stored decision once; ``(feedback_id, stored)``; its id stored
        with other content is a ``ConflictError``."""
        feedback = rules.check_feedback([event], _now(), False)
        return self._write(lambda tx: events.insert_feedback(tx, feedback, False))[0]

    def log_feedbacks(self, batch: list[dict]) -> list[tuple[str, bool]]:
        """Stores a batch of feedback in one transaction: all or none."""
        self._check_batch(batch)
        feedback = rules.check_feedback(batch, _now(), True)
        return self._write(lambda tx: events.insert_feedback(tx, feedback, True))

    @staticmethod
    def _check_batch(batch: list) -> None:
        if not isinstance(batch, (list, tuple)):
            raise ValidationError(
                f"a batch is a list of events, not a {type(batch).__name__}", field="events", value=None
            )
        if not batch:
            raise ValidationError("the batch is empty", field="events", value="0")
        if len(batch) > MAX_BATCH:
            raise ValidationError(
                f"a batch holds at most {MAX_BATCH} events, not {len(batch)}", field="events", value=str(len(batch))
            )

    def prune(self, now: Optional[datetime] = None) -> dict:
        """Removes events and experiment exposures older than the retention (whole UTC days);
        feedback of a removed decision goes with it, and the totals of kept days that counted
        it are counted again. ``{"decisions", "feedback", "exposures"}`` removed."""
        now = now or _now()
        first_kept = events.day_of(int(now.timestamp() * 1000)) - self.retention_days + 1
        return self._write(lambda tx: events.prune(tx, first_kept))

    # -- what is computed -----------------------------------------------------------------------

    def metrics(self, days: int = 7, version: Optional[str] = None, k: int = DEFAULT_K, now: Optional[datetime] = None) -> dict:
        """The metrics of the last ``days`` UTC days (today included), of one algorithm version or
        of every one (then also ``by_version``), ranking at cut-off ``k``: the native host's
        ``PerformanceMetrics`` JSON."""
        period = Period(_check_days(days), now or _now())
        return self._read(lambda tx: self._metrics(tx, period, version, max(int(k), 1))[0])

    def _ranking(self, tx, window: queries.Window, k: int) -> tuple[dict, dict]:
        totals: dict[str, dict] = {}

        def each(version: str, page: list) -> None:
            totals[version] = policy.monitor_rank(k, totals.get(version, dict(_ZERO_RANKING)), page)

        queries.judged_decisions(tx, window, RANKING_PAGE, each)
        overall = dict(_ZERO_RANKING)
        for version_totals in totals.values():
            overall = policy.monitor_combine(overall, version_totals)
        return policy.monitor_ranking(k, overall), {
            version: policy.monitor_ranking(k, version_totals) for version, version_totals in totals.items()
        }

    def _metrics(self, tx, period: Period, version: Optional[str], k: int) -> tuple[dict, list]:
        window = period.window(version)
        operational = policy.monitor_summarize(queries.window_totals(tx, window), TOP_MOVES)
        overall, by_version = self._ranking(tx, window, k)
        metrics = _metrics_record(period, version, operational, overall)
        if version is None:
            metrics["by_version"] = {}
            for name in queries.versions(tx, window):
                each = policy.monitor_summarize(queries.window_totals(tx, period.window(name)), TOP_MOVES)
                ranking = by_version.get(name) or policy.monitor_ranking(k, dict(_ZERO_RANKING))
                metrics["by_version"][name] = _metrics_record(period, name, each, ranking)
            if not metrics["by_version"]:
                del metrics["by_version"]
        return metrics, _snake(operational["top-moves"])

    def latest(self, limit: int) -> tuple[list, list]:
        """The latest ``limit`` decisions and the latest ``limit`` feedback events, each oldest
        first, as rows (:func:`~bachata_common.monitor.queries.latest_decisions`,
        :func:`~bachata_common.monitor.queries.latest_feedback`), read in one snapshot."""
        return self._read(lambda tx: (queries.latest_decisions(tx, limit), queries.latest_feedback(tx, limit)))

    def period_by_version(self, start: datetime, end: Optional[datetime], versions: list[str]) -> dict[str, dict]:
        """The figures of the decisions logged from ``start`` up to ``end`` (excluded; ``None``: no
        end) with each of ``versions``, and of the feedback on them: per version with any,
        ``decisions``, ``avg_processing_time_ms``, ``processing_time_ms`` (p50, p95, p99),
        ``avg_recommendation_score``, ``user_satisfaction_score``, ``mean_rating``,
        ``feedback_count`` and ``feedback`` (type → count), computed by the policy as the
        metrics are."""
        start_ms = events._ms(start.astimezone(timezone.utc))
        end_ms = None if end is None else events._ms(end.astimezone(timezone.utc))
        totals = self._read(lambda tx: queries.period_totals(tx, start_ms, end_ms, list(versions)))
        out = {}
        for version, each in totals.items():
            figures = policy.monitor_summarize(each, TOP_MOVES)
            out[version] = {
                "decisions": figures["decisions"],
                "avg_processing_time_ms": figures["processing-ms-mean"],
                "processing_time_ms": _snake(figures["processing-ms"]),
                "avg_recommendation_score": figures["score-mean"],
                "user_satisfaction_score": figures["satisfaction"],
                "mean_rating": figures["mean-rating"],
                "feedback_count": figures["feedback-count"],
                "feedback": {share["name"]: share["count"] for share in figures["feedback"]},
            }
        return out

    def report(self, days: int = 7, now: Optional[datetime] = None) -> dict:
        """The report of the last ``days`` days: ``report_period``, ``generated_at``,
        ``overall_metrics``, ``daily_metrics``, ``top_recommended_moves``, ``feedback_trends``
        (the native host's ``Report`` JSON)."""
        now = now or _now()
        period = Period(_check_days(days), now)

        def body(tx):
            overall, top = self._metrics(tx, period, None, DEFAULT_K)
            daily = _snake(policy.monitor_daily(queries.daily_totals(tx, period.window())))
            return {
                "report_period": period.as_dict(),
                "generated_at": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "overall_metrics": overall,
                "daily_metrics": daily,
                "top_recommended_moves": top,
                "feedback_trends": {
                    "totals": overall["feedback"],
                    "daily": [
                        {
                            "date": day["day"],
                            "counts": {share["name"]: share["count"] for share in day["feedback"]},
                            "satisfaction": day["satisfaction"],
                        }
                        for day in daily
                    ],
                },
                "experiments": [],
                "experiments_omitted": 0,
            }

        return self._read(body)


def _metrics_record(period: Period, version: Optional[str], operational: dict, ranking: dict) -> dict:
    return {
        "period": period.as_dict(),
        "algorithm_version": version,
        "total_recommendations": operational["decisions"],
        "avg_processing_time_ms": operational["processing-ms-mean"],
        "processing_time_ms": _snake(operational["processing-ms"]),
        "avg_recommendation_score": operational["score-mean"],
        "user_satisfaction_score": operational["satisfaction"],
        "mean_rating": operational["mean-rating"],
        "recommendation_distribution": _snake(operational["move-distribution"]),
        "feedback_count": operational["feedback-count"],
        "feedback": _snake(operational["feedback"]),
        "ranking": _snake(ranking),
        "accuracy": ranking["accuracy"],
        "precision": ranking["precision"],
        "recall": ranking["recall"],
        "f1_score": ranking["f1"],
    }
