"""Writing the monitor's events (``host/src/capabilities/store/events.rs``) once they met the
policy's rules (:mod:`.rules`): each once (a retry with the same id and content writes nothing;
the same id with other content is a :class:`ConflictError`), with the per-day totals they add to,
in one transaction per batch. Lists and maps are stored as JSON written as the native host writes
it, so a repeated event is recognized whichever host stored the first."""

from __future__ import annotations

import calendar
import json
import math
from datetime import datetime

from ..exceptions import ValidationError
from . import rules
from .histogram import Histogram, MoveCounts
from .store import Store

__all__ = [
    "day_of",
    "insert_decisions",
    "insert_feedback",
    "prune",
]

#: The most rows one statement writes (statements cut into powers of two).
ROWS_PER_STATEMENT = 256


def day_of(ts_ms: int) -> int:
    """The day number (days since 1970-01-01, UTC) of a time in milliseconds."""
    return ts_ms // 86_400_000


def _ms(time: datetime) -> int:
    """Milliseconds since the epoch, in integers (no float rounding)."""
    return calendar.timegm(time.utctimetuple()) * 1000 + time.microsecond // 1000


def _number_json(number: float) -> str:
    """A float as ``serde_json`` writes it (``ryu``): the shortest digits that read back, in
    decimal from 1e-5 to below 1e16 (``0.00001``, ``128.0``), else ``1e-7``, ``1.5e16``."""
    text = repr(number)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    sign = ""
    if mantissa.startswith("-"):
        sign, mantissa = "-", mantissa[1:]
    digits = mantissa.replace(".", "")
    point = int(exponent) + 1  # the value is 0.digits × 10^point
    if -5 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if 0 < point <= 16:
        if len(digits) <= point:
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    return f"{sign}{digits[0]}{'.' + digits[1:] if len(digits) > 1 else ''}e{point - 1}"


def _json(value) -> str:
    """Compact JSON as the native host writes it (``serde_json``), byte for byte: the stored
    text is compared when an event is repeated."""
    if isinstance(value, float):
        return _number_json(value) if math.isfinite(value) else "null"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json(str(key))}:{_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _values(rows: int, columns: int) -> str:
    return ", ".join(
        "(" + ", ".join(f"${row * columns + column + 1}" for column in range(columns)) + ")" for row in range(rows)
    )


def _insert_rows(tx: Store, head: str, tail: str, columns: int, rows: list[list]) -> list:
    """``INSERT INTO {head} VALUES … {tail}`` over ``rows`` in statements of a power of two rows;
    the rows the statements' ``RETURNING`` answered."""
    answered = []
    at = 0
    while at < len(rows):
        left = len(rows) - at
        size = min(ROWS_PER_STATEMENT, 1 << (left.bit_length() - 1))
        chunk = rows[at : at + size]
        at += size
        sql = f"INSERT INTO {head} VALUES {_values(size, columns)} {tail}"
        params = [value for row in chunk for value in row]
        if "RETURNING" in tail:
            answered.extend(tx.query(sql, params))
        else:
            tx.execute(sql, params)
    return answered


_DECISIONS = (
    "decisions (decision_id, ts_ms, day, user_id, input_song, recommended_moves, recommendation_scores, "
    "move_count, algorithm_version, weights_used, processing_time_ms, song_features, experiment_id, variation)"
)


def insert_decisions(tx: Store, decisions: list[dict]) -> list[tuple[str, bool]]:
    """Writes a batch of decisions (rows in id order); ``(id, stored)`` for each, in the order
    given. One already stored (or repeated in the batch) is written and counted once; one whose
    id is stored (or given earlier in the batch) with other content is a :class:`ConflictError`
    (raise it inside the transaction: nothing is written)."""
    order = sorted(range(len(decisions)), key=lambda index: decisions[index]["decision_id"])
    rows = []
    for index in order:
        decision = decisions[index]
        ts_ms = _ms(decision["timestamp"])
        rows.append(
            [
                decision["decision_id"],
                ts_ms,
                day_of(ts_ms),
                decision["user_id"],
                decision["input_song"],
                _json(decision["recommended_moves"]),
                _json(decision["recommendation_scores"]),
                len(decision["recommended_moves"]),
                decision["algorithm_version"],
                _json(decision["weights_used"]),
                decision["processing_time_ms"],
                _json(decision["song_features"]),
                decision["experiment_id"],
                decision["variation"],
            ]
        )
    inserted = {row[0] for row in _insert_rows(
        tx, _DECISIONS, "ON CONFLICT (decision_id) DO NOTHING RETURNING decision_id", 14, rows
    )}
    _check_repeats(
        tx,
        "decision_id",
        "SELECT decision_id, user_id, input_song, recommended_moves, recommendation_scores, algorithm_version, "
        "weights_used, processing_time_ms, song_features, experiment_id, variation FROM decisions WHERE decision_id IN",
        [(row[0], _decision_content(row)) for row in rows],
        inserted,
    )
    stored = [False] * len(decisions)
    days: dict[tuple[int, str], dict] = {}
    for index in order:
        decision = decisions[index]
        if decision["decision_id"] not in inserted:
            continue
        inserted.discard(decision["decision_id"])
        stored[index] = True
        key = (day_of(_ms(decision["timestamp"])), decision["algorithm_version"])
        delta = days.setdefault(
            key, {"decisions": 0, "sum": 0.0, "scored": 0, "score_sum": 0.0, "latency": Histogram(), "moves": MoveCounts()}
        )
        delta["decisions"] += 1
        delta["sum"] += decision["processing_time_ms"]
        delta["latency"].add(decision["processing_time_ms"])
        scores = decision["recommendation_scores"]
        if scores:
            delta["scored"] += 1
            delta["score_sum"] += sum(scores) / len(scores)
        delta["moves"].add(decision["recommended_moves"])
    for (day, version), delta in sorted(days.items()):
        _add_to_day(tx, day, version, delta)
    return [(decision["decision_id"], flag) for decision, flag in zip(decisions, stored)]


def _add_to_day(tx: Store, day: int, version: str, delta: dict) -> None:
    tx.execute(
        "INSERT INTO decision_rollup (day, algorithm_version, decisions, processing_ms_sum, scored, score_sum, "
        "latency, moves) VALUES ($1, $2, 0, 0, 0, 0, '[]', '[]') ON CONFLICT (day, algorithm_version) DO NOTHING",
        [day, version],
    )
    lock = " FOR UPDATE" if tx.postgres else ""
    rows = tx.query(
        "SELECT decisions, processing_ms_sum, scored, score_sum, latency, moves FROM decision_rollup "
        f"WHERE day = $1 AND algorithm_version = $2{lock}",
        [day, version],
    )
    decisions, total, scored, score_sum, latency, moves = rows[0]
    histogram = Histogram.decode(latency)
    histogram.merge(delta["latency"])
    counts = MoveCounts.decode(moves)
    counts.merge(delta["moves"])
    tx.execute(
        "UPDATE decision_rollup SET decisions = $1, processing_ms_sum = $2, scored = $3, score_sum = $4, "
        "latency = $5, moves = $6 WHERE day = $7 AND algorithm_version = $8",
        [
            decisions + delta["decisions"],
            total + delta["sum"],
            scored + delta["scored"],
            score_sum + delta["score_sum"],
            histogram.encode(),
            counts.encode(),
            day,
            version,
        ],
    )


_FEEDBACK = (
    "feedback (feedback_id, decision_id, ts_ms, day, user_id, feedback_type, feedback_value, move_id, comments, "
    "decision_day, algorithm_version, move_count, move_rank)"
)
_FEEDBACK_ROLLUP = "feedback_rollup (day, algorithm_version, feedback_type, events, valued, value_sum)"
_FEEDBACK_ROLLUP_UPDATE = (
    "ON CONFLICT (day, algorithm_version, feedback_type) DO UPDATE SET "
    "events = feedback_rollup.events + excluded.events, valued = feedback_rollup.valued + excluded.valued, "
    "value_sum = feedback_rollup.value_sum + excluded.value_sum"
)


def insert_feedback(tx: Store, feedback: list[dict], batch: bool) -> list[tuple[str, bool]]:
    """Writes a batch of feedback; each must name a stored decision and, when it names a move,
    one of that decision's moves (else nothing is written). A repeated ``feedback_id`` must
    repeat its content, as for decisions."""
    ids = sorted({event["decision_id"] for event in feedback})
    parents: dict[str, tuple[int, str, list]] = {}
    for start in range(0, len(ids), ROWS_PER_STATEMENT):
        chunk = ids[start : start + ROWS_PER_STATEMENT]
        placeholders = ", ".join(f"${i}" for i in range(1, len(chunk) + 1))
        for decision_id, day, version, moves in tx.query(
            "SELECT decision_id, day, algorithm_version, recommended_moves FROM decisions "
            f"WHERE decision_id IN ({placeholders})",
            chunk,
        ):
            parents[decision_id] = (day, version, json.loads(moves))
    ranks = []
    for index, event in enumerate(feedback):
        parent = parents.get(event["decision_id"])
        if parent is None:
            raise rules.refused({"tag": "unknown-decision", "val": event["decision_id"]}, index if batch else None)
        move = event["move_id"]
        if move is None:
            ranks.append(0)
        elif move in parent[2]:
            ranks.append(parent[2].index(move) + 1)
        else:
            refusal = {"decision-id": event["decision_id"], "move-id": move}
            raise rules.refused({"tag": "unknown-move", "val": refusal}, index if batch else None)
    order = sorted(range(len(feedback)), key=lambda index: feedback[index]["feedback_id"])
    rows = []
    for index in order:
        event = feedback[index]
        day, version, moves = parents[event["decision_id"]]
        ts_ms = _ms(event["timestamp"])
        rows.append(
            [
                event["feedback_id"],
                event["decision_id"],
                ts_ms,
                day_of(ts_ms),
                event["user_id"],
                event["feedback_type"],
                event["feedback_value"],
                event["move_id"],
                event["comments"],
                day,
                version,
                len(moves),
                ranks[index],
            ]
        )
    inserted = {row[0] for row in _insert_rows(
        tx, _FEEDBACK, "ON CONFLICT (feedback_id) DO NOTHING RETURNING feedback_id", 13, rows
    )}
    _check_repeats(
        tx,
        "feedback_id",
        "SELECT feedback_id, decision_id, user_id, feedback_type, feedback_value, move_id, comments FROM feedback "
        "WHERE feedback_id IN",
        [(row[0], _feedback_content(row)) for row in rows],
        inserted,
    )
    stored = [False] * len(feedback)
    rollup: dict[tuple[int, str, str], list] = {}
    for index in order:
        event = feedback[index]
        if event["feedback_id"] not in inserted:
            continue
        inserted.discard(event["feedback_id"])
        stored[index] = True
        _day, version, _moves = parents[event["decision_id"]]
        entry = rollup.setdefault((day_of(_ms(event["timestamp"])), version, event["feedback_type"]), [0, 0, 0.0])
        entry[0] += 1
        if event["feedback_value"] is not None:
            entry[1] += 1
            entry[2] += event["feedback_value"]
    _insert_rows(
        tx,
        _FEEDBACK_ROLLUP,
        _FEEDBACK_ROLLUP_UPDATE,
        6,
        [[day, version, kind, events, valued, total] for (day, version, kind), (events, valued, total) in sorted(rollup.items())],
    )
    return [(event["feedback_id"], flag) for event, flag in zip(feedback, stored)]


def _decision_content(row: list) -> tuple:
    """What identifies a decision's content (all but its time, which a retry may leave to the
    server), as the row's columns read back: ``user_id`` … ``variation`` of :data:`_DECISIONS`
    without ``move_count``."""
    return (row[3], row[4], row[5], row[6], row[8], row[9], row[10], row[11], row[12], row[13])


def _feedback_content(row: list) -> tuple:
    """What identifies a feedback event's content (all but its time): ``decision_id``,
    ``user_id``, ``feedback_type``, ``feedback_value``, ``move_id``, ``comments``."""
    return (row[1], row[4], row[5], row[6], row[7], row[8])


def _conflict(field: str, id_: str) -> ValidationError:
    return rules.refused({"tag": "conflict", "val": {"field": field, "id": id_}}, None)


def _check_repeats(tx: Store, field: str, select: str, events: list[tuple[str, tuple]], inserted: set) -> None:
    """A repeated id must repeat its content: an event whose id was already stored (or given
    twice in the batch) with other content is a :class:`ConflictError` naming the id. ``events``
    are ``(id, content)`` in id order; ``select`` reads the id and the content's columns, in
    order (``... WHERE id IN``); ``inserted`` holds the ids this batch wrote."""
    first: dict[str, tuple] = {}
    for id_, content in events:
        seen = first.setdefault(id_, content)
        if seen is not content and seen != content:
            raise _conflict(field, id_)
    repeated = sorted(id_ for id_ in first if id_ not in inserted)
    for start in range(0, len(repeated), ROWS_PER_STATEMENT):
        chunk = repeated[start : start + ROWS_PER_STATEMENT]
        placeholders = ", ".join(f"${i}" for i in range(1, len(chunk) + 1))
        differs = sorted(
            row[0] for row in tx.query(f"{select} ({placeholders})", chunk) if tuple(row[1:]) != first[row[0]]
        )
        if differs:
            raise _conflict(field, differs[0])


#: The largest BIGINT, for a time computed from a day.
_I64 = (-(2**63), 2**63 - 1)


def prune(tx: Store, first_kept_day: int) -> dict:
    """Removes events, exposures and per-day totals of days before ``first_kept_day``. Feedback
    goes with its decision: feedback of a removed decision is removed whatever its own day, and
    the per-day totals of the days it was counted in (kept days) are counted again from the
    feedback that stays, so no figure counts a removed event. ``{"decisions", "feedback",
    "exposures"}``: how many of each were removed."""
    day = [first_kept_day]
    # Kept days whose totals count feedback of a decision about to be removed.
    recount = [row[0] for row in tx.query("SELECT DISTINCT day FROM feedback WHERE decision_day < $1 AND day >= $1", day)]
    feedback = tx.execute("DELETE FROM feedback WHERE day < $1 OR decision_day < $1", day)
    before_ms = min(max(first_kept_day * 86_400_000, _I64[0]), _I64[1])
    exposures = tx.execute("DELETE FROM exposures WHERE exposed_at_ms < $1", [before_ms])
    decisions = tx.execute("DELETE FROM decisions WHERE day < $1", day)
    for table in ("decision_rollup", "feedback_rollup"):
        tx.execute(f"DELETE FROM {table} WHERE day < $1", day)
    for kept in sorted(recount):
        tx.execute("DELETE FROM feedback_rollup WHERE day = $1", [kept])
        tx.execute(
            f"INSERT INTO {_FEEDBACK_ROLLUP} SELECT day, algorithm_version, feedback_type, COUNT(*), "
            "COUNT(feedback_value), COALESCE(SUM(feedback_value), 0) FROM feedback WHERE day = $1 "
            "GROUP BY day, algorithm_version, feedback_type",
            [kept],
        )
    return {"decisions": decisions, "feedback": feedback, "exposures": exposures}
