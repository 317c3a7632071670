"""Reading back what the metrics need, aggregated from the per-day totals
(``host/src/capabilities/store/queries.rs``): never a list that grows with the events, except the
judged decisions, which are streamed in pages."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Optional

from .histogram import Histogram, MoveCounts
from .store import Store

__all__ = ["MAX_MOVES", "Window", "daily_totals", "day_name", "judged_decisions", "versions", "window_totals"]

#: The most moves a window lists.
MAX_MOVES = 10_000


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
