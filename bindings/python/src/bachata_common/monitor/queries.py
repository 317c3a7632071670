"""Reading back what the metrics need, aggregated from the per-day totals
(``host/src/capabilities/store/queries.rs``): never a list that grows with the events, except the
judged decisions, which are streamed in pages."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Callable, Optional

from .histogram import Histogram, MoveCounts
from .store import Store

__all__ = [
    "MAX_MOVES",
    "Window",
    "daily_totals",
    "day_name",
    "judged_decisions",
    "latest_decisions",
    "latest_feedback",
    "period_totals",
    "versions",
    "window_totals",
]

#: The most moves a window lists.
MAX_MOVES = 10_000
#: A day in milliseconds.
DAY_MS = 86_400_000


class Window:
    """Days ``start..=end`` (day numbers, UTC) and an optional algorithm version."""

    def __init__(self, start: int, end: int, version: Optional[str] = None) -> None:
        self.start, self.end, self.version = start, end, version

    def params(self) -> list:
        return [self.start, self.end] + ([self.version] if self.version is not None else [])

    def condition(self, day: str) -> str:
        version = " AND algorithm_version = $3" if self.version is not None else ""
        return f"{day} >= $1 AND {day} <= $2{version}"


def day_name(day: int) -> str:
    """``YYYY-MM-DD`` of a day number."""
    return datetime.fromtimestamp(day * 86_400, tz=timezone.utc).strftime("%Y-%m-%d")


def _empty_decisions() -> dict:
    return {"decisions": 0, "processing-ms-sum": 0.0, "scored": 0, "score-sum": 0.0, "latency": []}


def _decision_totals(tx: Store, window: Window, by_day: bool) -> dict[int, dict]:
    totals: dict[int, tuple[dict, Histogram]] = {}
    for day, decisions, total, scored, score_sum, latency in tx.iterate(
        "SELECT day, decisions, processing_ms_sum, scored, score_sum, latency FROM decision_rollup "
        f"WHERE {window.condition('day')} ORDER BY day, algorithm_version",
        window.params(),
    ):
        key = day if by_day else 0
        entry, histogram = totals.setdefault(key, (_empty_decisions(), Histogram()))
        entry["decisions"] += int(decisions)
        entry["processing-ms-sum"] += float(total)
        entry["scored"] += int(scored)
        entry["score-sum"] += float(score_sum)
        histogram.merge(Histogram.decode(latency))
    out = {}
    for key, (entry, histogram) in totals.items():
        entry["latency"] = histogram.latency()
        out[key] = entry
    return out


def _feedback_totals(tx: Store, window: Window, by_day: bool) -> dict[int, list]:
    select = "day" if by_day else "CAST(0 AS BIGINT)"
    group = "day, feedback_type" if by_day else "feedback_type"
    totals: dict[int, list] = {}
    for day, kind, events, valued, value_sum in tx.iterate(
        f"SELECT {select}, feedback_type, CAST(SUM(events) AS BIGINT), CAST(SUM(valued) AS BIGINT), SUM(value_sum) "
        f"FROM feedback_rollup WHERE {window.condition('day')} GROUP BY {group} ORDER BY {group}",
        window.params(),
    ):
        totals.setdefault(int(day), []).append(
            {"feedback-type": kind, "count": int(events), "valued": int(valued), "value-sum": float(value_sum)}
        )
    return totals


def window_totals(tx: Store, window: Window) -> dict:
    """The ``window-totals`` record of a window."""
    decisions = _decision_totals(tx, window, False).get(0, _empty_decisions())
    feedback = _feedback_totals(tx, window, False).get(0, [])
    counts = MoveCounts()
    for (moves,) in tx.iterate(f"SELECT moves FROM decision_rollup WHERE {window.condition('day')}", window.params()):
        counts.merge(MoveCounts.decode(moves))
    return {"decisions": decisions, "feedback": feedback, "moves": counts.top(MAX_MOVES)}


def daily_totals(tx: Store, window: Window) -> list[dict]:
    """Every day of the window, in order (zeros for a quiet day): ``day-totals`` records."""
    decisions = _decision_totals(tx, window, True)
    feedback = _feedback_totals(tx, window, True)
    return [
        {"day": day_name(day), "decisions": decisions.get(day, _empty_decisions()), "feedback": feedback.get(day, [])}
        for day in range(window.start, window.end + 1)
    ]


def versions(tx: Store, window: Window) -> list[str]:
    """The algorithm versions with decisions in the window, in order."""
    return [
        row[0]
        for row in tx.query(
            f"SELECT DISTINCT algorithm_version FROM decision_rollup WHERE {window.condition('day')} "
            "ORDER BY algorithm_version",
            window.params(),
        )
    ]


def judged_decisions(tx: Store, window: Window, page_size: int, each: Callable[[str, list], None]) -> None:
    """Streams the window's decisions that have feedback, with their feedback oldest first, in
    pages of at most ``page_size`` ``judged-decision`` records of one version: ``each(version,
    page)``."""
    pages: dict[str, list] = {}
    current = (None, None)
    for version, decision, move_count, rank, kind, value in tx.iterate(
        "SELECT algorithm_version, decision_id, move_count, move_rank, feedback_type, feedback_value FROM feedback "
        f"WHERE {window.condition('decision_day')} ORDER BY decision_day, decision_id, ts_ms, feedback_id",
        window.params(),
    ):
        page = pages.setdefault(version, [])
        if current != (version, decision) or not page:
            if len(page) >= page_size:
                each(version, page)
                page = pages[version] = []
            page.append({"moves": int(move_count), "judgments": []})
            current = (version, decision)
        page[-1]["judgments"].append(
            {"rank": int(rank), "feedback-type": kind, "value": None if value is None else float(value)}
        )
    for version in sorted(pages):
        if pages[version]:
            each(version, pages[version])


def latest_decisions(tx: Store, limit: int) -> list:
    """The latest ``limit`` decisions, oldest first: ``(decision_id, ts_ms, user_id, input_song,
    recommended_moves, recommendation_scores, algorithm_version, weights_used,
    processing_time_ms, song_features)`` rows, lists and maps as their JSON text. Read from the
    newest day back (the day index), so only the latest days are looked at."""
    rows = tx.query(
        "SELECT decision_id, ts_ms, user_id, input_song, recommended_moves, recommendation_scores, algorithm_version, "
        "weights_used, processing_time_ms, song_features FROM decisions "
        "ORDER BY day DESC, ts_ms DESC, decision_id DESC LIMIT $1",
        [int(limit)],
    )
    return rows[::-1]


def latest_feedback(tx: Store, limit: int) -> list:
    """The latest ``limit`` feedback events, oldest first: ``(feedback_id, decision_id, ts_ms,
    feedback_type, feedback_value, user_id, move_id, comments)`` rows."""
    rows = tx.query(
        "SELECT feedback_id, decision_id, ts_ms, feedback_type, feedback_value, user_id, move_id, comments "
        "FROM feedback ORDER BY day DESC, ts_ms DESC, feedback_id DESC LIMIT $1",
        [int(limit)],
    )
    return rows[::-1]


def _period_parts(start_ms: int, end_ms: Optional[int]) -> tuple[Optional[tuple[int, Optional[int]]], list]:
    """A period ``start_ms..end_ms`` (end excluded; ``None``: no end) as the whole days it covers
    (``(first, last)``, ``last`` ``None`` when open; ``None`` when there is none) and the parts
    of days at its edges (``[(day, from_ms, to_ms)]``)."""
    if end_ms is not None and end_ms <= start_ms:
        return None, []
    first = -(-start_ms // DAY_MS)
    last = None if end_ms is None else end_ms // DAY_MS - 1
    whole = (first, last) if last is None or first <= last else None
    edges = []
    start_day = start_ms // DAY_MS
    if start_ms % DAY_MS:
        to_ms = (start_day + 1) * DAY_MS
        edges.append((start_day, start_ms, to_ms if end_ms is None else min(to_ms, end_ms)))
    if end_ms is not None and end_ms % DAY_MS:
        end_day = end_ms // DAY_MS
        if end_day != start_day or not start_ms % DAY_MS:
            edges.append((end_day, max(end_day * DAY_MS, start_ms), end_ms))
    return whole, edges


def period_totals(tx: Store, start_ms: int, end_ms: Optional[int], versions: list[str]) -> dict[str, dict]:
    """Per algorithm version of ``versions``, the ``window-totals`` record (moves left out) of the
    decisions logged from ``start_ms`` up to ``end_ms`` (excluded; ``None``: no end), and of
    the feedback on them whenever it was given. The whole days come from the per-day totals and
    the feedback index; only the decisions of the period's edge days are read one by one."""
    versions = sorted(set(versions))
    if not versions:
        return {}
    whole, edges = _period_parts(start_ms, end_ms)
    decisions: dict[str, tuple[dict, Histogram]] = {}
    feedback: dict[tuple[str, str], dict] = {}

    def entry(version: str) -> tuple[dict, Histogram]:
        return decisions.setdefault(version, (_empty_decisions(), Histogram()))

    def add_feedback(version, kind, events, valued, value_sum) -> None:
        each = feedback.setdefault((version, kind), {"feedback-type": kind, "count": 0, "valued": 0, "value-sum": 0.0})
        each["count"] += int(events)
        each["valued"] += int(valued)
        each["value-sum"] += float(value_sum or 0.0)

    def among(first: int) -> str:
        return ", ".join(f"${first + index}" for index in range(len(versions)))

    if whole is not None:
        first, last = whole
        bounds = "day >= $1" + ("" if last is None else " AND day <= $2")
        params = [first] + ([] if last is None else [last])
        at = len(params) + 1
        for version, count, total, scored, score_sum, latency in tx.iterate(
            "SELECT algorithm_version, decisions, processing_ms_sum, scored, score_sum, latency FROM decision_rollup "
            f"WHERE {bounds} AND algorithm_version IN ({among(at)}) ORDER BY day, algorithm_version",
            params + versions,
        ):
            totals, histogram = entry(version)
            totals["decisions"] += int(count)
            totals["processing-ms-sum"] += float(total)
            totals["scored"] += int(scored)
            totals["score-sum"] += float(score_sum)
            histogram.merge(Histogram.decode(latency))
        for row in tx.iterate(
            "SELECT algorithm_version, feedback_type, COUNT(*), COUNT(feedback_value), SUM(feedback_value) FROM feedback "
            f"WHERE {bounds.replace('day', 'decision_day')} AND algorithm_version IN ({among(at)}) "
            "GROUP BY algorithm_version, feedback_type ORDER BY algorithm_version, feedback_type",
            params + versions,
        ):
            add_feedback(*row)
    for day, from_ms, to_ms in edges:
        params = [day, from_ms, to_ms] + versions
        for version, processing, scores in tx.iterate(
            "SELECT algorithm_version, processing_time_ms, recommendation_scores FROM decisions "
            f"WHERE day = $1 AND ts_ms >= $2 AND ts_ms < $3 AND algorithm_version IN ({among(4)})",
            params,
        ):
            totals, histogram = entry(version)
            totals["decisions"] += 1
            totals["processing-ms-sum"] += float(processing)
            histogram.add(float(processing))
            values = json.loads(scores)
            if values:
                # As the per-day totals count it: each decision's mean score.
                totals["scored"] += 1
                totals["score-sum"] += sum(values) / len(values)
        for row in tx.iterate(
            "SELECT f.algorithm_version, f.feedback_type, COUNT(*), COUNT(f.feedback_value), SUM(f.feedback_value) "
            "FROM feedback f JOIN decisions d ON d.decision_id = f.decision_id "
            f"WHERE f.decision_day = $1 AND d.ts_ms >= $2 AND d.ts_ms < $3 AND f.algorithm_version IN ({among(4)}) "
            "GROUP BY f.algorithm_version, f.feedback_type ORDER BY f.algorithm_version, f.feedback_type",
            params,
        ):
            add_feedback(*row)
    out = {}
    for version in versions:
        totals, histogram = decisions.get(version, (_empty_decisions(), Histogram()))
        totals["latency"] = histogram.latency()
        kinds = [each for (name, _), each in sorted(feedback.items()) if name == version]
        if totals["decisions"] or kinds:
            out[version] = {"decisions": totals, "feedback": kinds, "moves": []}
    return out
