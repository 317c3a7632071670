"""The monitor's events (``host/src/types/monitor/`` and ``host/src/capabilities/store/events.rs``):
the rules a decision or a feedback must meet, and writing them — each once (a retry with the same
id and content writes nothing; the same id with other content is a :class:`ConflictError`), with
the per-day totals they add to, in one transaction per batch.

Numbers are bounded so that sums of many stay finite: a processing time from 0 to one day in
milliseconds, scores, weights and feedback values of magnitude at most 1e9, numeric song features
at most 1e15. Free text (comments, text song features) may hold line ends and tabs but no other
control character. Lists and maps are stored as JSON written as the native host writes it, so a
repeated event is recognized whichever host stored the first."""

from __future__ import annotations

import calendar
import json
import math
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Optional

from ..exceptions import ConflictError, ValidationError
from .histogram import Histogram, MoveCounts
from .store import Store

__all__ = [
    "DEFAULT_ALGORITHM_VERSION",
    "FEEDBACK_TYPES",
    "check_decision",
    "check_feedback",
    "day_of",
    "insert_decisions",
    "insert_feedback",
    "prune",
]

DEFAULT_ALGORITHM_VERSION = "1.0"
FEEDBACK_TYPES = ("rating", "like", "dislike", "skip", "use")
MAX_COMMENT_CHARS = 2_000
MAX_MOVES = 1_000
MAX_ENTRIES = 256
MAX_ID_BYTES = 128
MAX_TEXT_CHARS = 1_000
#: The longest processing time of a decision, in milliseconds (one day).
MAX_PROCESSING_TIME_MS = 86_400_000.0
#: The largest magnitude of a score, weight or feedback value.
MAX_MAGNITUDE = 1e9
#: The largest magnitude of a numeric song feature (integers up to it are exact).
MAX_FEATURE_MAGNITUDE = 1e15
MAX_CLOCK_SKEW_SECS = 24 * 3600
#: The most rows one statement writes (statements cut into powers of two).
ROWS_PER_STATEMENT = 256


def day_of(ts_ms: int) -> int:
    """The day number (days since 1970-01-01, UTC) of a time in milliseconds."""
    return ts_ms // 86_400_000


def _shorten(value: str) -> str:
    return value if len(value) <= 120 else value[:120] + "…"


def invalid(field: str, value: Optional[str], message: str) -> ValidationError:
    """A ``VALIDATION_ERROR`` naming ``field``."""
    return ValidationError(message, field=field, value=None if value is None else _shorten(str(value)))


def _check_id(field: str, value) -> str:
    text = value if isinstance(value, str) else None
    if (
        text is None
        or not text
        or len(text.encode()) > MAX_ID_BYTES
        or not all(c.isascii() and (c.isalnum() or c in "._:-") for c in text)
    ):
        raise invalid(
            field,
            None if value is None else str(value),
            f"{field} must be 1 to {MAX_ID_BYTES} characters of letters, digits, '.', '_', ':' and '-'",
        )
    return text


def _check_text(field: str, value, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, None if value is None else str(value), f"{field} must not be empty")
    if len(value) > limit:
        raise invalid(field, value, f"{field} is longer than {limit} characters")
    if any(_is_control(c) and c not in "\n\t" for c in value):
        raise invalid(field, value, f"{field} must not contain control characters")
    return value


def _float(value) -> Optional[float]:
    """``value`` as a float when it is a number (``inf`` for an integer too large for one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def shown(value) -> str:
    """A number as the native host shows it (Rust's ``Display`` of ``f64``: ``1``, ``0.5``,
    ``100000000000000000000``, ``NaN``, ``inf``); anything else as ``str`` does."""
    number = _float(value)
    if number is None:
        return str(value)
    if isinstance(value, int) and not math.isfinite(number):
        return str(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    text = format(Decimal(repr(number)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _exponent(limit: float) -> str:
    """A bound as Rust's ``{:e}`` writes it: ``1e9``, ``1.5e3``."""
    _sign, digits, exponent = Decimal(repr(limit)).normalize().as_tuple()
    text = "".join(map(str, digits))
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{mantissa}e{exponent + len(text) - 1}"


def _check_bounded(field: str, value, limit: float) -> float:
    """A number from ``-limit`` to ``limit``: sums of many stay finite, so no figure overflows."""
    number = _float(value)
    if number is None or not (math.isfinite(number) and abs(number) <= limit):
        raise invalid(field, shown(value), f"{field} must be a number from -{_exponent(limit)} to {_exponent(limit)}")
    return number


def _check_finite(field: str, value) -> float:
    return _check_bounded(field, value, MAX_MAGNITUDE)


def _is_control(c: str) -> bool:
    """Unicode's control characters (``Cc``): C0, DEL and C1."""
    return ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0


def _check_free_text(field: str, text: str) -> None:
    """Free text (comments, song features) may hold line ends and tabs, but no other control
    character (NUL, ESC, DEL, C1 codes)."""
    if any(_is_control(c) and c not in "\n\r\t" for c in text):
        raise invalid(field, None, f"{field} must not contain control characters other than line ends and tabs")


def _timestamp(field: str, value, now: datetime) -> datetime:
    if value is None:
        return now
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise invalid(field, value, f"{field} must be an RFC 3339 time") from None
    if not isinstance(value, datetime):
        raise invalid(field, str(value), f"{field} must be an RFC 3339 time")
    if value.tzinfo is None:
        value = value.astimezone()  # a naive time is local, as the original app's datetime.now()
    value = value.astimezone(timezone.utc)
    if (value - now).total_seconds() > MAX_CLOCK_SKEW_SECS:
        raise invalid(field, value.isoformat(), f"{field} is more than a day in the future")
    if value.timestamp() < 0:
        raise invalid(field, value.isoformat(), f"{field} is before 1970")
    return value


def check_decision(event: dict, now: datetime) -> dict:
    """A decision that met every rule, its id, time and version filled in (``ValidationError``
    naming the field otherwise)."""
    decision_id = event.get("decision_id")
    if decision_id is not None:
        _check_id("decision_id", decision_id)
    timestamp = _timestamp("timestamp", event.get("timestamp"), now)
    user_id = event.get("user_id")
    if user_id is not None:
        user_id = _check_text("user_id", str(user_id) if isinstance(user_id, int) else user_id)
    song = _check_text("input_song", event.get("input_song"))
    moves = event.get("recommended_moves")
    if not isinstance(moves, (list, tuple)):
        raise invalid("recommended_moves", None, "recommended_moves must be a list of move ids")
    if len(moves) > MAX_MOVES:
        raise invalid(
            "recommended_moves", None, f"recommended_moves lists {len(moves)} moves; at most {MAX_MOVES} are allowed"
        )
    moves = [_check_text(f"recommended_moves[{i}]", move) for i, move in enumerate(moves)]
    scores = event.get("recommendation_scores")
    if not isinstance(scores, (list, tuple)) or len(scores) != len(moves):
        count = len(scores) if isinstance(scores, (list, tuple)) else 0
        raise invalid(
            "recommendation_scores",
            str(count),
            f"recommendation_scores has {count} values but recommended_moves has {len(moves)} moves; they must "
            "be the same length",
        )
    scores = [_check_finite(f"recommendation_scores[{i}]", score) for i, score in enumerate(scores)]
    version = event.get("algorithm_version")
    version = _check_id("algorithm_version", DEFAULT_ALGORITHM_VERSION if version is None else version)
    weights = event.get("weights_used") or {}
    if not isinstance(weights, dict):
        raise invalid("weights_used", None, "weights_used must map names to numbers")
    if len(weights) > MAX_ENTRIES:
        raise invalid("weights_used", None, f"weights_used has {len(weights)} entries; at most {MAX_ENTRIES} are allowed")
    weights = {_check_text("weights_used", name): _check_finite(f"weights_used.{name}", value) for name, value in weights.items()}
    processing = event.get("processing_time_ms")
    number = _float(processing)
    if number is None or not 0.0 <= number <= MAX_PROCESSING_TIME_MS:
        raise invalid(
            "processing_time_ms",
            shown(processing),
            f"processing_time_ms must be from 0 to {shown(MAX_PROCESSING_TIME_MS)} (one day), not {shown(processing)}",
        )
    processing = number
    features = event.get("song_features") or {}
    if not isinstance(features, dict):
        raise invalid("song_features", None, "song_features must map names to numbers or texts")
    if len(features) > MAX_ENTRIES:
        raise invalid("song_features", None, f"song_features has {len(features)} entries; at most {MAX_ENTRIES} are allowed")
    checked_features: dict[str, Any] = {}
    for name, value in features.items():
        _check_text("song_features", name)
        if isinstance(value, str):
            if len(value) > MAX_TEXT_CHARS:
                raise invalid(f"song_features.{name}", value, f"song_features.{name} is longer than {MAX_TEXT_CHARS} characters")
            _check_free_text(f"song_features.{name}", value)
            checked_features[name] = value
        else:
            checked_features[name] = _check_bounded(f"song_features.{name}", value, MAX_FEATURE_MAGNITUDE)
    experiment = event.get("experiment_id")
    if experiment is not None:
        _check_id("experiment_id", experiment)
    variation = event.get("variation")
    if variation is not None:
        _check_id("variation", variation)
    return {
        "decision_id": decision_id or str(uuid.uuid4()),
        "timestamp": timestamp,
        "user_id": user_id,
        "input_song": song,
        "recommended_moves": moves,
        "recommendation_scores": [_positive_zero(score) for score in scores],
        "algorithm_version": version,
        "weights_used": {name: _positive_zero(weight) for name, weight in sorted(weights.items())},
        "processing_time_ms": _positive_zero(processing),
        "song_features": {name: _positive_zero(value) for name, value in sorted(checked_features.items())},
        "experiment_id": experiment,
        "variation": variation,
    }


def _positive_zero(value):
    """``-0.0`` as ``0.0`` (the native host's ``positive_zero``): one zero, so a latency sorts
    with the others and a retry compares equal."""
    return value + 0.0 if isinstance(value, float) else value


def check_feedback(event: dict, now: datetime) -> dict:
    """Feedback that met every rule needing no stored data, its id and time filled in."""
    feedback_id = event.get("feedback_id")
    if feedback_id is not None:
        _check_id("feedback_id", feedback_id)
    decision_id = _check_id("decision_id", event.get("decision_id"))
    timestamp = _timestamp("timestamp", event.get("timestamp"), now)
    user_id = event.get("user_id")
    if user_id is not None:
        user_id = _check_text("user_id", str(user_id) if isinstance(user_id, int) else user_id)
    kind = event.get("feedback_type")
    if kind not in FEEDBACK_TYPES:
        raise invalid(
            "feedback_type",
            None if kind is None else str(kind),
            f"unknown feedback_type {_shorten(str(kind))!r}: expected one of rating, like, dislike, skip, use",
        )
    value = event.get("feedback_value")
    if kind == "rating":
        if value is None:
            raise invalid("feedback_value", None, "feedback_value is required for a rating (1 to 5)")
        number = _float(value)
        if number is None or not 1.0 <= number <= 5.0:
            raise invalid("feedback_value", shown(value), f"a rating must be from 1 to 5, not {shown(value)}")
        value = number
    elif value is not None:
        value = _check_finite("feedback_value", value)
    move_id = event.get("move_id")
    if move_id is not None:
        _check_text("move_id", move_id)
    comments = event.get("comments")
    if isinstance(comments, str):
        _check_free_text("comments", comments)
    if comments is not None and (not isinstance(comments, str) or len(comments) > MAX_COMMENT_CHARS):
        raise invalid(
            "comments",
            None,
            f"comments has {len(str(comments))} characters; at most {MAX_COMMENT_CHARS} are allowed",
        )
    return {
        "feedback_id": feedback_id or str(uuid.uuid4()),
        "decision_id": decision_id,
        "timestamp": timestamp,
        "user_id": user_id,
        "feedback_type": kind,
        "feedback_value": _positive_zero(value),
        "move_id": move_id,
        "comments": comments,
    }


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


def _in_batch(error: ValidationError, index: int) -> ValidationError:
    return ValidationError(f"event {index}: {error.message}", field=f"[{index}].{error.field}", value=error.value)


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
            error = invalid("decision_id", event["decision_id"], f"no decision {event['decision_id']!r} is stored")
            raise _in_batch(error, index) if batch else error
        move = event["move_id"]
        if move is None:
            ranks.append(0)
        elif move in parent[2]:
            ranks.append(parent[2].index(move) + 1)
        else:
            error = invalid("move_id", move, f"{move!r} is not one of decision {event['decision_id']!r}'s moves")
            raise _in_batch(error, index) if batch else error
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


def _conflict(field: str, id_: str) -> ConflictError:
    return ConflictError(f'{field} "{id_}" is already stored with other content', field=field, value=id_)


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
