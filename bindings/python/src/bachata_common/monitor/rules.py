"""The monitor's event rules, asked of the policy (``events``, contract 1.1): what a decision or a
feedback must meet before it is stored, the defaults it gets, and the words of the events the store
refuses. The rules and their messages live in the policy component, not here: this module only
decodes what a Python caller passed (dicts, ``datetime`` or RFC 3339 times, numbers) into the
contract's records and the answer back into what :mod:`.events` writes, with a UUID for an event
that is still without an id."""

from __future__ import annotations

import calendar
import math
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from .. import _component
from ..exceptions import ChoreographyGenerationError, ConflictError, ValidationError

__all__ = ["check_decisions", "check_feedback", "in_batch", "refused"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


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
    time = time.astimezone(timezone.utc)
    return {"seconds": calendar.timegm(time.utctimetuple()), "nanoseconds": time.microsecond * 1000}


def _time(field: str, value: Any) -> Optional[dict]:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _undecodable(field, value, "an RFC 3339 time") from None
    if not isinstance(value, datetime):
        raise _undecodable(field, value, "an RFC 3339 time")
    return instant(value)


def _datetime(time: Optional[dict]) -> datetime:
    if time is None:
        raise _component.PolicyError("events answered an event without a time")
    try:
        return _EPOCH + timedelta(seconds=time["seconds"], microseconds=time["nanoseconds"] // 1000)
    except OverflowError:
        raise _component.PolicyError("events answered an event at no representable time") from None


def _decision(event: dict) -> dict:
    if not isinstance(event, dict):
        raise _undecodable("body", type(event).__name__, "an event (a dict)")
    features = []
    for name, value in _mapping("song_features", event.get("song_features"), "a dict of numbers or texts").items():
        name = _text("song_features", name)
        if isinstance(value, str):
            features.append((name, {"tag": "text", "val": value}))
        else:
            features.append((name, {"tag": "number", "val": _number(f"song_features.{name}", value)}))
    weights = _mapping("weights_used", event.get("weights_used"), "a dict of numbers")
    scores = _list("recommendation_scores", event.get("recommendation_scores"), "a list of numbers")
    return {
        "decision-id": _optional_text("decision_id", event.get("decision_id")),
        "timestamp": _time("timestamp", event.get("timestamp")),
        "user-id": _optional_text("user_id", event.get("user_id"), numbers=True),
        "input-song": _text("input_song", event.get("input_song")),
        "recommended-moves": [
            _text(f"recommended_moves[{i}]", move)
            for i, move in enumerate(_list("recommended_moves", event.get("recommended_moves"), "a list of move ids"))
        ],
        "recommendation-scores": [_number(f"recommendation_scores[{i}]", s) for i, s in enumerate(scores)],
        "algorithm-version": _optional_text("algorithm_version", event.get("algorithm_version")),
        "weights-used": [(_text("weights_used", name), _number(f"weights_used.{name}", w)) for name, w in weights.items()],
        "processing-time-ms": _number("processing_time_ms", event.get("processing_time_ms")),
        "song-features": features,
        "experiment-id": _optional_text("experiment_id", event.get("experiment_id")),
        "variation": _optional_text("variation", event.get("variation")),
    }


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


def _ask(function: str, records: list, now: datetime, batch: bool) -> list:
    answer = _component.call("events", function, records, instant(now), batch)
    if answer["tag"] == "err":
        raise ChoreographyGenerationError.from_app_error(answer["val"])
    checked = answer["val"]
    if len(checked) != len(records):
        raise _component.PolicyError(
            f"events.{function} answered {len(checked)} event(s) for the {len(records)} it was given"
        )
    return checked


def check_decisions(events: list, now: datetime, batch: bool) -> list[dict]:
    """Decisions that met the policy's rules, ready to store: ``decision_id`` (a new UUID when
    none was given), ``timestamp`` (``datetime`` in UTC), ``weights_used`` and ``song_features``
    as dicts sorted by name... (``ValidationError`` naming the field otherwise; in a ``batch``,
    as ``[index].field``)."""
    checked = _ask("check-decisions", _decode_all(events, _decision, batch), now, batch)
    out = []
    for decision in checked:
        version = decision["algorithm-version"]
        if version is None:
            raise _component.PolicyError("events.check-decisions answered a decision without an algorithm version")
        out.append(
            {
                "decision_id": decision["decision-id"] or str(uuid.uuid4()),
                "timestamp": _datetime(decision["timestamp"]),
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
    checked = _ask("check-feedback", _decode_all(events, _feedback, batch), now, batch)
    return [
        {
            "feedback_id": event["feedback-id"] or str(uuid.uuid4()),
            "decision_id": event["decision-id"],
            "timestamp": _datetime(event["timestamp"]),
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
