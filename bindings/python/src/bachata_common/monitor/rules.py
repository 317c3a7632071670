"""The monitor's event rules, asked of the policy (``events``, contract 1.1): what a decision or a
feedback must meet before it is stored, the defaults it gets, and the words of the events the store
refuses. The rules and their messages live in the policy component, not here: this module only
decodes what a Python caller passed (dicts, ``datetime`` or RFC 3339 times, numbers) into the
contract's records and the answer back into what :mod:`.events` writes, with a UUID for an event
that is still without an id.

Whatever a policy's rules, what it accepts must be storable (the native host's
``runtime/convert/events.rs`` holds the same): finite numbers (processing times not negative),
one score per move and at most 10,000 moves, times from 1970 to the end of year 9999, ids not
empty and no text holding a NUL character; an answer otherwise is a :class:`PolicyError`. A long
batch is checked in calls of at most 4 MiB of estimated data (the policy's memory cap holds the
arguments and the answer), each naming its events by their index in the whole batch."""

from __future__ import annotations

import calendar
import math
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

from .. import _component
from ..exceptions import ChoreographyGenerationError, ConflictError, ValidationError

__all__ = ["check_decisions", "check_feedback", "in_batch", "refused"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The latest time a stored event may have: the end of year 9999.
_LAST_SECOND = 253_402_300_799
#: The most moves a stored decision may have.
MAX_STORED_MOVES = 10_000
#: The most data, estimated, one call of ``check-*`` is given.
CALL_BYTES = 4 << 20
#: An RFC 3339 time, as the native host reads one (``T`` or a space; ``Z`` or an offset).
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def in_batch(error: ValidationError, index: int) -> ValidationError:
    """An error of this host's decoding naming the event ``index`` of a batch, as the policy
    names the events its rules refuse (``[index].field``, ``event index: ...``)."""
    field = error.details.get("field")
    return ValidationError(
        f"event {index}: {error.message}",
        field=None if field is None else f"[{index}].{field}",
        value=error.details.get("value"),
    )


def _undecodable(field: str, value: Any, expected: str) -> ValidationError:
    shown = str(value)
    return ValidationError(
        f"{field} must be {expected}",
        field=field,
        value=shown if len(shown) <= 120 else shown[:120] + "…",
    )


def _number(field: str, value: Any) -> float:
    """``value`` as a float (an integer too large for one is infinite: the policy refuses it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _undecodable(field, value, "a number")
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _undecodable(field, value, "a text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _undecodable(field, value.encode("utf-8", "backslashreplace").decode(), "Unicode text") from None
    return value


def _optional_text(field: str, value: Any, numbers: bool = False) -> Optional[str]:
    if value is None:
        return None
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(field, value)


def _list(field: str, value: Any, expected: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise _undecodable(field, value, expected)
    return list(value)


def _mapping(field: str, value: Any, expected: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _undecodable(field, value, expected)
    return value


def instant(time: datetime) -> dict:
    """A time as the contract's ``instant`` (a naive time is local, as ``datetime.now()``)."""
    if time.tzinfo is None:
        time = time.astimezone()
    offset = time.utcoffset() or timedelta(0)
    # The fields as written, less the offset: no datetime arithmetic, so year 1 and 9999 work.
    seconds = calendar.timegm(time.replace(tzinfo=None).timetuple()) - int(offset.total_seconds())
    return {"seconds": seconds, "nanoseconds": time.microsecond * 1000}


def _rfc3339(field: str, text: str) -> dict:
    """An RFC 3339 text as an ``instant`` (a leap second as the last instant of the second before)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise _undecodable(field, text, "an RFC 3339 time")
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    fraction = match.group(7) or ""
    nanoseconds = int((fraction[1:] + "000000000")[:9]) if fraction else 0
    if second == 60:
        second, nanoseconds = 59, 999_999_999
    try:
        written = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise _undecodable(field, text, "an RFC 3339 time") from None
    offset = 0
    if match.group(9):
        sign = 1 if match.group(9) == "+" else -1
        hours, minutes = int(match.group(10)), int(match.group(11))
        if hours > 23 or minutes > 59:
            raise _undecodable(field, text, "an RFC 3339 time")
        offset = sign * (hours * 3600 + minutes * 60)
    return {"seconds": calendar.timegm(written.timetuple()) - offset, "nanoseconds": nanoseconds}


def _time(field: str, value: Any) -> Optional[dict]:
    if value is None:
        return None
    if isinstance(value, str):
        return _rfc3339(field, value)
    if not isinstance(value, datetime):
        raise _undecodable(field, value, "an RFC 3339 time")
    try:
        return instant(value)
    except (ValueError, OverflowError):
        raise _undecodable(field, value, "a time") from None


def _violation(function: str, reason: str) -> _component.PolicyError:
    return _component.PolicyError(f"the policy was stopped in `events.{function}`: it answered {reason}")


def _datetime(function: str, time: Optional[dict]) -> datetime:
    if time is None:
        raise _violation(function, "an event without a time")
    seconds, nanoseconds = time["seconds"], time["nanoseconds"]
    if not 0 <= seconds <= _LAST_SECOND or not 0 <= nanoseconds < 1_000_000_000:
        raise _violation(function, f"an event at {seconds}.{nanoseconds:09} s from 1970, outside 1970 to 9999")
    return _EPOCH + timedelta(seconds=seconds, microseconds=nanoseconds // 1000)


def _storable_text(function: str, text: Optional[str]) -> None:
    if text is not None and "\0" in text:
        raise _violation(function, "a text holding a NUL character")


def _storable_id(function: str, field: str, value: Optional[str]) -> None:
    if value == "":
        raise _violation(function, f"an empty {field}")
    _storable_text(function, value)


def _storable_number(function: str, name: str, value: float) -> None:
    if not math.isfinite(value):
        raise _violation(function, f"a {name} of {value}")


def _storable_decision(decision: dict) -> None:
    function = "check-decisions"
    _storable_id(function, "decision_id", decision["decision-id"])
    moves, scores = decision["recommended-moves"], decision["recommendation-scores"]
    if len(moves) > MAX_STORED_MOVES:
        raise _violation(function, f"a decision of {len(moves)} moves (at most {MAX_STORED_MOVES} are stored)")
    if len(scores) != len(moves):
        raise _violation(function, f"a decision of {len(moves)} moves with {len(scores)} scores")
    texts = [decision["input-song"], decision["user-id"], decision["algorithm-version"], decision["experiment-id"],
             decision["variation"], *moves, *(name for name, _ in decision["weights-used"]),
             *(name for name, _ in decision["song-features"])]
    for text in texts:
        _storable_text(function, text)
    for score in scores:
        _storable_number(function, "score", score)
    for _, weight in decision["weights-used"]:
        _storable_number(function, "weight", weight)
    for _, feature in decision["song-features"]:
        if feature["tag"] == "number":
            _storable_number(function, "song feature", feature["val"])
        else:
            _storable_text(function, feature["val"])
    processing = decision["processing-time-ms"]
    if not (math.isfinite(processing) and processing >= 0):
        raise _violation(function, f"a processing time of {processing} ms")


def _storable_feedback(feedback: dict) -> None:
    function = "check-feedback"
    _storable_id(function, "feedback_id", feedback["feedback-id"])
    _storable_id(function, "decision_id", feedback["decision-id"])
    for text in (feedback["feedback-type"], feedback["user-id"], feedback["move-id"], feedback["comments"]):
        _storable_text(function, text)
    if feedback["feedback-value"] is not None:
        _storable_number(function, "feedback value", feedback["feedback-value"])


def _decision(event: dict) -> dict:
    if not isinstance(event, dict):
        raise _undecodable("body", type(event).__name__, "an event (a dict)")
    # Decoded in the contract's field order, so the first field named is the policy's first.
    record: dict = {
        "decision-id": _optional_text("decision_id", event.get("decision_id")),
        "timestamp": _time("timestamp", event.get("timestamp")),
        "user-id": _optional_text("user_id", event.get("user_id"), numbers=True),
        "input-song": _text("input_song", event.get("input_song")),
    }
    moves = _list("recommended_moves", event.get("recommended_moves"), "a list of move ids")
    record["recommended-moves"] = [_text(f"recommended_moves[{i}]", move) for i, move in enumerate(moves)]
    scores = _list("recommendation_scores", event.get("recommendation_scores"), "a list of numbers")
    record["recommendation-scores"] = [_number(f"recommendation_scores[{i}]", s) for i, s in enumerate(scores)]
    record["algorithm-version"] = _optional_text("algorithm_version", event.get("algorithm_version"))
    weights = _mapping("weights_used", event.get("weights_used"), "a dict of numbers")
    record["weights-used"] = [
        (_text("weights_used", name), _number(f"weights_used.{name}", weight)) for name, weight in weights.items()
    ]
    record["processing-time-ms"] = _number("processing_time_ms", event.get("processing_time_ms"))
    features = []
    for name, value in _mapping("song_features", event.get("song_features"), "a dict of numbers or texts").items():
        name = _text("song_features", name)
        if isinstance(value, str):
            features.append((name, {"tag": "text", "val": _text(f"song_features.{name}", value)}))
        else:
            features.append((name, {"tag": "number", "val": _number(f"song_features.{name}", value)}))
    record["song-features"] = features
    record["experiment-id"] = _optional_text("experiment_id", event.get("experiment_id"))
    record["variation"] = _optional_text("variation", event.get("variation"))
    return record


def _feedback(event: dict) -> dict:
    if not isinstance(event, dict):
        raise _undecodable("body", type(event).__name__, "an event (a dict)")
    value = event.get("feedback_value")
    return {
        "feedback-id": _optional_text("feedback_id", event.get("feedback_id")),
        "decision-id": _text("decision_id", event.get("decision_id")),
        "timestamp": _time("timestamp", event.get("timestamp")),
        "user-id": _optional_text("user_id", event.get("user_id"), numbers=True),
        "feedback-type": _text("feedback_type", event.get("feedback_type")),
        "feedback-value": None if value is None else _number("feedback_value", value),
        "move-id": _optional_text("move_id", event.get("move_id")),
        "comments": _optional_text("comments", event.get("comments")),
    }


def _decode_all(events: list, decode, batch: bool) -> list:
    records = []
    for index, event in enumerate(events):
        try:
            records.append(decode(event))
        except ValidationError as error:
            raise (in_batch(error, index) if batch else error) from None
    return records


def _decision_bytes(record: dict) -> int:
    """A rough size of a decision's data, in bytes (as the native host estimates it)."""
    text = lambda value: 0 if value is None else len(value)  # noqa: E731
    return (
        256
        + text(record["decision-id"]) + text(record["user-id"]) + len(record["input-song"])
        + sum(16 + len(move) for move in record["recommended-moves"])
        + 8 * len(record["recommendation-scores"])
        + text(record["algorithm-version"])
        + sum(24 + len(name) for name, _ in record["weights-used"])
        + sum(32 + len(name) + (8 if f["tag"] == "number" else len(f["val"])) for name, f in record["song-features"])
        + text(record["experiment-id"]) + text(record["variation"])
    )


def _feedback_bytes(record: dict) -> int:
    text = lambda value: 0 if value is None else len(value)  # noqa: E731
    return (
        128 + text(record["feedback-id"]) + len(record["decision-id"]) + text(record["user-id"])
        + len(record["feedback-type"]) + text(record["move-id"]) + text(record["comments"])
    )


def _parts(records: list, size: Callable[[dict], int]):
    """Consecutive parts of at most :data:`CALL_BYTES` (at least one event each), with the
    index of each part's first event."""
    start = 0
    while start < len(records):
        total, end = size(records[start]), start + 1
        while end < len(records) and total + size(records[end]) <= CALL_BYTES:
            total += size(records[end])
            end += 1
        yield start, records[start:end]
        start = end


def _ask(function: str, records: list, now: datetime, batch: bool, size: Callable[[dict], int]) -> list:
    checked = []
    moment = instant(now)
    for start, part in _parts(records, size):
        answer = _component.call("events", function, part, moment, start if batch else None)
        if answer["tag"] == "err":
            error = answer["val"]
            if error["kind"]["tag"] != "validation":
                raise _violation(function, f"a {error['error-code']} for a rule's failure")
            raise ChoreographyGenerationError.from_app_error(error)
        if len(answer["val"]) != len(part):
            raise _violation(function, f"{len(answer['val'])} event(s) for the {len(part)} it was given")
        checked.extend(answer["val"])
    return checked


def check_decisions(events: list, now: datetime, batch: bool) -> list[dict]:
    """Decisions that met the policy's rules, ready to store: ``decision_id`` (a new UUID when
    none was given), ``timestamp`` (``datetime`` in UTC), ``weights_used`` and ``song_features``
    as dicts sorted by name... (``ValidationError`` naming the field otherwise; in a ``batch``,
    as ``[index].field``)."""
    checked = _ask("check-decisions", _decode_all(events, _decision, batch), now, batch, _decision_bytes)
    out = []
    for decision in checked:
        version = decision["algorithm-version"]
        if version is None:
            raise _violation("check-decisions", "a decision without an algorithm version")
        _storable_decision(decision)
        out.append(
            {
                "decision_id": decision["decision-id"] or str(uuid.uuid4()),
                "timestamp": _datetime("check-decisions", decision["timestamp"]),
                "user_id": decision["user-id"],
                "input_song": decision["input-song"],
                "recommended_moves": decision["recommended-moves"],
                "recommendation_scores": decision["recommendation-scores"],
                "algorithm_version": version,
                "weights_used": dict(decision["weights-used"]),
                "processing_time_ms": decision["processing-time-ms"],
                "song_features": {name: feature["val"] for name, feature in decision["song-features"]},
                "experiment_id": decision["experiment-id"],
                "variation": decision["variation"],
            }
        )
    return out


def check_feedback(events: list, now: datetime, batch: bool) -> list[dict]:
    """Feedback that met the policy's rules needing no stored decision, ready to store (a new
    UUID as ``feedback_id`` when none was given)."""
    checked = _ask("check-feedback", _decode_all(events, _feedback, batch), now, batch, _feedback_bytes)
    for event in checked:
        _storable_feedback(event)
    return [
        {
            "feedback_id": event["feedback-id"] or str(uuid.uuid4()),
            "decision_id": event["decision-id"],
            "timestamp": _datetime("check-feedback", event["timestamp"]),
            "user_id": event["user-id"],
            "feedback_type": event["feedback-type"],
            "feedback_value": event["feedback-value"],
            "move_id": event["move-id"],
            "comments": event["comments"],
        }
        for event in checked
    ]


def refused(refusal: dict, index: Optional[int]) -> ValidationError:
    """The policy's error for an event the store refused (``refusal``: the WIT variant, for
    example ``{"tag": "unknown-decision", "val": "d-1"}``); a :class:`ConflictError` for an id
    stored with other content."""
    app_error = _component.call("events", "refused", refusal, index)
    if refusal["tag"] == "conflict":
        error = ConflictError.__new__(ConflictError)
        error._adopt(app_error)
        error._set_context(app_error["kind"].get("val"))
        return error
    return ChoreographyGenerationError.from_app_error(app_error)
