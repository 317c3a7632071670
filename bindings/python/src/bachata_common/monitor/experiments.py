"""A/B experiments beside the monitor's events, from Python (``host/src/services/experiments/`` and
``host/src/capabilities/store/experiments.rs``): definitions checked by the policy and stored as
the native host stores them (either host reads the other's), GrowthBook-compatible assignment by
the policy with each unit's exposure logged once, and the analysis the policy computes from
per-variation sums aggregated in SQL."""

from __future__ import annotations

import json
import logging
import marshal
import operator
import re
import time as _time
import weakref
from importlib import resources
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional, Union

from .. import _component, policy
from ..exceptions import ChoreographyGenerationError, ConflictError, ValidationError
from . import Monitor

__all__ = ["Experiments", "definition_from"]

_log = logging.getLogger("bachata_common")

DEFAULT_MINIMUM_SAMPLE_SIZE = 150
DEFAULT_HASH_VERSION = 2
MAX_UNIT_CHARS = 1_000
#: Most units one :meth:`Experiments.assign_many` takes.
MAX_ASSIGN_BATCH = 100_000
_CORRECTIONS = {"none": "none", "off": "none", "holm_bonferroni": "holm_bonferroni", "holm": "holm_bonferroni",
                "benjamini_hochberg": "benjamini_hochberg", "bh": "benjamini_hochberg"}
_FIELDS = ("test_id", "test_name", "start_date", "end_date", "algorithm_versions", "traffic_split", "coverage", "seed",
           "hash_version", "success_metrics", "minimum_sample_size", "namespace", "sequential", "correction")

#: The per-unit quantities of the analysis, as SQL over ``per_unit`` (the native host's).
_COLUMNS = {
    "decisions": "decisions",
    "processing-ms": "processing_ms",
    "likes": "likes",
    "dislikes": "dislikes",
    "skips": "skips",
    "uses": "uses",
    "ratings": "ratings",
    "rating-sum": "rating_sum",
    "satisfied": "(likes + uses + (rating_sum - ratings) / 4)",
    "judged": "(likes + uses + dislikes + skips + ratings)",
}

def _per_unit() -> str:
    """The per-unit CTE of the analysis: the native host's own query (``host/sql/``, packaged)."""
    return resources.files(__package__.rpartition(".")[0]).joinpath("sql", "experiments_per_unit.sql").read_text(
        encoding="utf-8"
    )


def _invalid(field: str, value, message: str) -> ValidationError:
    return ValidationError(message, field=field, value=None if value is None else str(value)[:120])


def _instant(field: str, value, end: bool) -> datetime:
    """A definition's date: a ``date`` or ``YYYY-MM-DD`` is that day's start (for the end date:
    the next day's start, the day included), a ``datetime`` or RFC 3339 time is itself (naive:
    UTC)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value + timedelta(days=1 if end else 0), time(0), timezone.utc)
    elif isinstance(value, str):
        text = value.strip()
        try:
            day = date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            day = None
        if day is not None:
            return _instant(field, day, end)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(field, value, f"{field}: {value!r} is not a date (YYYY-MM-DD) or an RFC 3339 time") from None
        if moment.tzinfo is None:
            raise _invalid(field, value, f"{field}: {value!r} is not a date (YYYY-MM-DD) or an RFC 3339 time")
    else:
        raise _invalid(field, value, f"{field}: expected a date (YYYY-MM-DD) or an RFC 3339 time")
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _rfc3339(moment: datetime) -> str:
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)
#: What a unit id may not hold: C0 and C1 control characters and DEL.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _ms(moment: datetime) -> int:
    return int((moment - _EPOCH) // _MILLISECOND)


def _whole(field: str, value, bits: int) -> int:
    """``value`` as a whole number of ``bits`` unsigned bits (the native host's type)."""
    number = int(value)
    if not 0 <= number < 1 << bits:
        raise _invalid(field, value, f"{field}: {value!r} is out of range (0 to {(1 << bits) - 1})")
    return number


def definition_from(value: dict) -> dict:
    """A definition (the JSON fields of the native host's ``Definition``) with its defaults and
    dates as UTC ``datetime``s; ``ValidationError`` naming the field at fault."""
    unknown = sorted(set(value) - set(_FIELDS))
    if unknown:
        raise _invalid(unknown[0], None, f"{unknown[0]}: unknown field, expected one of {', '.join(_FIELDS)}")
    for field in ("test_id", "test_name", "start_date", "end_date", "algorithm_versions", "traffic_split", "success_metrics"):
        if value.get(field) is None:
            raise _invalid(field, None, f"{field}: missing field")
    split = value["traffic_split"]
    if not isinstance(split, dict):
        raise _invalid("traffic_split", split, "traffic_split: expected a map of version to weight")
    namespace = value.get("namespace")
    if namespace is not None and (not isinstance(namespace, (list, tuple)) or len(namespace) != 3):
        raise _invalid("namespace", namespace, 'namespace: expected ["id", start, end]')
    correction = str(value.get("correction") or "none").strip().lower().replace("-", "_")
    if correction not in _CORRECTIONS:
        raise _invalid("correction", correction, "correction: expected none, holm_bonferroni or benjamini_hochberg")
    return {
        "test_id": str(value["test_id"]),
        "test_name": str(value["test_name"]),
        "start_date": _instant("start_date", value["start_date"], False),
        "end_date": _instant("end_date", value["end_date"], True),
        "algorithm_versions": [str(version) for version in value["algorithm_versions"]],
        "traffic_split": {str(version): float(weight) for version, weight in sorted(split.items())},
        "coverage": float(value.get("coverage", 1.0) if value.get("coverage") is not None else 1.0),
        "seed": value.get("seed"),
        "hash_version": _whole("hash_version", value.get("hash_version") or DEFAULT_HASH_VERSION, 32),
        "success_metrics": [str(metric) for metric in value["success_metrics"]],
        "minimum_sample_size": _whole("minimum_sample_size", value.get("minimum_sample_size") or DEFAULT_MINIMUM_SAMPLE_SIZE, 64),
        "namespace": None if namespace is None else [str(namespace[0]), float(namespace[1]), float(namespace[2])],
        "sequential": bool(value.get("sequential", False)),
        "correction": _CORRECTIONS[correction],
    }


def _stored_json(definition: dict) -> str:
    """The definition as the native host stores it (its serde form)."""
    return json.dumps(
        {**definition, "start_date": _rfc3339(definition["start_date"]), "end_date": _rfc3339(definition["end_date"])},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _wit(definition: dict) -> dict:
    """The ``definition`` record the policy reads."""
    namespace = definition["namespace"]
    return {
        "test-id": definition["test_id"],
        "test-name": definition["test_name"],
        "start-ms": _ms(definition["start_date"]),
        "end-ms": _ms(definition["end_date"]),
        # Copies: a record kept by _assign_argument must not change with the caller's lists.
        "algorithm-versions": list(definition["algorithm_versions"]),
        "traffic-split": [(version, weight) for version, weight in definition["traffic_split"].items()],
        "coverage": definition["coverage"],
        "seed": definition["seed"] or definition["test_id"],
        "hash-version": definition["hash_version"],
        "success-metrics": list(definition["success_metrics"]),
        "minimum-sample-size": definition["minimum_sample_size"],
        "namespace": None if namespace is None else {"id": namespace[0], "start": namespace[1], "end": namespace[2]},
        "sequential": definition["sequential"],
    }


_EXPOSE = (
    "INSERT INTO exposures (test_id, unit, variation, exposed_at_ms) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (test_id, unit, variation) DO NOTHING"
)
_EXPOSED = "SELECT 1 FROM exposures WHERE test_id = $1 AND unit = $2 AND variation = $3"


#: The ``definition`` argument of ``experiments.assign`` converted once per definition (see
#: :func:`_assign_argument`), by :func:`_definition_key`: ``(argument, a weak reference to the
#: policy set)``. Emptied when it holds :data:`_ARGUMENTS_MAX`.
_ARGUMENTS: dict = {}
_ARGUMENTS_MAX = 256
#: What :func:`_wit` reads besides the dates, in one tuple.
_keyed = operator.itemgetter(
    "test_id", "test_name", "algorithm_versions", "traffic_split", "coverage", "seed", "hash_version",
    "success_metrics", "minimum_sample_size", "namespace", "sequential",
)


def _definition_key(definition: dict) -> Optional[tuple]:
    """A key that is equal for two definitions exactly when :func:`_wit` makes the same record of
    them, or ``None``: every other field it reads, in ``marshal``'s bytes (exact types only:
    ``1``, ``1.0`` and ``True`` differ, so do ``0.0`` and ``-0.0``, and so does the order of
    ``traffic_split``; anything else cannot be marshalled, hence no key), and the two dates,
    aware ``datetime`` instants, in milliseconds (two that compare equal may differ by ``fold``)."""
    start, end = definition["start_date"], definition["end_date"]
    if type(start) is not datetime or type(end) is not datetime or start.tzinfo is None or end.tzinfo is None:
        return None
    try:
        return marshal.dumps(_keyed(definition), 2), _ms(start), _ms(end)
    except (ValueError, KeyError, OverflowError):
        return None


def _assign_argument(definition: dict):
    """The ``definition`` argument of ``experiments.assign``, converted once and reused while the
    same definition (by :func:`_definition_key`) is assigned again under the same policy set."""
    key = _definition_key(definition)
    if key is None:
        return _wit(definition)
    found = _ARGUMENTS.get(key)
    policy_set = _component._policy
    if found is not None and policy_set is not None and found[1]() is policy_set:
        return found[0]
    # Converted from the definition given (what a found entry was made of may have changed).
    argument = _component.prepare("experiments", "assign", 0, _wit(definition), None if found is None else found[0])
    policy_set = _component._policy
    if policy_set is not None:
        if len(_ARGUMENTS) >= _ARGUMENTS_MAX:
            _ARGUMENTS.clear()
        _ARGUMENTS[key] = (argument, weakref.ref(policy_set))
    return argument


def _checked(result: dict):
    if result["tag"] == "err":
        raise ChoreographyGenerationError.from_app_error(result["val"])
    return result.get("val")


#: The fields whose values are enum cases: the native host's JSON writes them in snake_case.
_ENUM_FIELDS = {"kind", "outcome", "correction", "reason"}


def _snake(value, key: str = ""):
    """A policy record in the native host's JSON: snake_case keys and enum cases."""
    if isinstance(value, dict):
        return {name.replace("-", "_"): _snake(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_snake(item) for item in value]
    if isinstance(value, str) and key in _ENUM_FIELDS:
        return value.replace("-", "_")
    return value


class Experiments:
    """Experiments stored beside ``monitor``'s events."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    @staticmethod
    def _prepare(value: dict) -> tuple[dict, str]:
        definition = definition_from(value)
        if definition["seed"] is None:
            definition["seed"] = definition["test_id"]
        if definition["end_date"] <= definition["start_date"]:
            raise _invalid(
                "end_date",
                _rfc3339(definition["end_date"]),
                f"end_date ({_rfc3339(definition['end_date'])}) must be after start_date "
                f"({_rfc3339(definition['start_date'])})",
            )
        _checked(policy.experiments_check(_wit(definition)))
        return definition, _stored_json(definition)

    @staticmethod
    def _load(tx, test_id: str) -> dict:
        rows = tx.query("SELECT definition, created_at_ms, updated_at_ms FROM experiments WHERE test_id = $1", [test_id])
        if not rows:
            raise _invalid("test_id", test_id, f"there is no experiment {test_id!r}")
        return Experiments._experiment(rows[0])

    @staticmethod
    def _experiment(row) -> dict:
        text, created, updated = row
        try:
            definition = definition_from(json.loads(text))
        except (ValueError, ValidationError) as error:
            raise ChoreographyGenerationError(f"a stored experiment definition is unreadable: {error}") from None
        return {"definition": definition, "created_at_ms": int(created), "updated_at_ms": int(updated)}

    def create(self, value: dict) -> dict:
        """Stores a new experiment; again with the same definition changes nothing, with another
        it is a ``ConflictError`` (a ``ValidationError``; see :meth:`replace`)."""
        definition, text = self._prepare(value)
        now = _ms(datetime.now(timezone.utc))

        def body(tx):
            existing = tx.query("SELECT definition, created_at_ms, updated_at_ms FROM experiments WHERE test_id = $1",
                                [definition["test_id"]])
            if existing:
                stored = self._experiment(existing[0])
                if stored["definition"] == definition:
                    return stored
                raise ConflictError(
                    f"experiment {definition['test_id']!r} exists with another definition: replace it explicitly",
                    field="test_id",
                    value=definition["test_id"],
                )
            tx.execute("INSERT INTO experiments (test_id, definition, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $3)",
                       [definition["test_id"], text, now])
            _log.info("experiment created", extra={"test_id": definition["test_id"]})
            return self._load(tx, definition["test_id"])

        return self.monitor._write(body)

    def replace(self, value: dict) -> dict:
        """Replaces an experiment's definition; once units are exposed, its versions cannot change."""
        definition, text = self._prepare(value)
        now = _ms(datetime.now(timezone.utc))

        def body(tx):
            existing = self._load(tx, definition["test_id"])
            if existing["definition"]["algorithm_versions"] != definition["algorithm_versions"] and tx.query(
                "SELECT 1 FROM exposures WHERE test_id = $1 LIMIT 1", [definition["test_id"]]
            ):
                raise _invalid(
                    "algorithm_versions",
                    ", ".join(definition["algorithm_versions"]),
                    f"experiment {definition['test_id']!r} has exposures: its versions cannot change (they are "
                    f"{', '.join(existing['definition']['algorithm_versions'])}); define a new experiment",
                )
            tx.execute("UPDATE experiments SET definition = $1, updated_at_ms = $2 WHERE test_id = $3",
                       [text, now, definition["test_id"]])
            return self._load(tx, definition["test_id"])

        return self.monitor._write(body)

    def list(self) -> list[dict]:
        """Every experiment, by key."""
        return self.monitor._read(lambda tx: [
            self._experiment(row)
            for row in tx.query("SELECT definition, created_at_ms, updated_at_ms FROM experiments ORDER BY test_id")
        ])

    def get(self, test_id: str) -> dict:
        """One experiment (``ValidationError`` when there is none)."""
        return self.monitor._read(lambda tx: self._load(tx, test_id))

    def assign(self, test_id: str, unit: str, now: Optional[datetime] = None) -> dict:
        """The variation ``unit`` is served (the policy's ``assignment``); its exposure is logged
        the first time."""
        return self.assign_definition(self.get(test_id)["definition"], unit, now)

    def assign_definition(self, definition: dict, unit: str, now: Optional[datetime] = None) -> dict:
        """:meth:`assign` for a definition already read (from :meth:`list`, say)."""
        unit = str(unit)
        if len(unit) > MAX_UNIT_CHARS or _CONTROL.search(unit):
            raise _invalid("unit", unit, f"the unit id must be at most {MAX_UNIT_CHARS} characters without control characters")
        test_id = definition["test_id"]
        now_ms = _time.time_ns() // 1_000_000 if now is None else _ms(now)
        assignment = _checked(policy.experiments_assign(_assign_argument(definition), unit, now_ms))
        if assignment["in-experiment"]:
            self._expose(test_id, unit, assignment["variation"], now_ms)
        return assignment

    def assign_many(self, test_id: str, units, now: Optional[datetime] = None) -> list[dict]:
        """The variation each of ``units`` is served, in their order (:meth:`assign` for many,
        as the native ``Experiments::assign_many``): the definition read once, the exposures of the
        units in the experiment logged (each unit's first) in one transaction. 1 to
        :data:`MAX_ASSIGN_BATCH` units; a unit at fault refuses the whole batch, naming it
        (``units[3]``), before anything is logged."""
        units = [str(unit) for unit in units]
        if not 1 <= len(units) <= MAX_ASSIGN_BATCH:
            raise _invalid("units", len(units), f"a batch of assignments takes 1 to {MAX_ASSIGN_BATCH} units, not {len(units)}")
        for index, unit in enumerate(units):
            if len(unit) > MAX_UNIT_CHARS or _CONTROL.search(unit):
                raise _invalid(
                    f"units[{index}]", unit,
                    f"unit {index}: the unit id must be at most {MAX_UNIT_CHARS} characters without control characters",
                )
        definition = self.get(test_id)["definition"]
        argument = _assign_argument(definition)
        now_ms = _time.time_ns() // 1_000_000 if now is None else _ms(now)
        assignments = [_checked(policy.experiments_assign(argument, unit, now_ms)) for unit in units]
        exposed = [
            [test_id, unit, assignment["variation"], now_ms]
            for unit, assignment in zip(units, assignments)
            if assignment["in-experiment"]
        ]
        if exposed:
            def body(tx) -> None:
                for row in exposed:
                    tx.execute(_EXPOSE, row)

            self.monitor._write(body)
        return assignments

    def _expose(self, test_id: str, unit: str, variation: int, now_ms: int) -> None:
        """Logs the exposure of ``unit`` to ``variation`` unless it is logged already. On SQLite a
        read looks first (the write lock is not taken for nothing); an exposure it sees is
        exactly what the insert would have kept."""
        monitor = self.monitor
        if monitor.engine == "sqlite" and monitor._exists(_EXPOSED, (test_id, unit, variation)):
            return
        monitor._write(lambda tx: tx.execute(_EXPOSE, [test_id, unit, variation, now_ms]))

    def analyze(self, test_id: str, correction: Optional[str] = None) -> dict:
        """The analysis of an experiment (the native host's ``Analysis`` JSON), its p-values
        adjusted by ``correction`` (default: the definition's)."""
        metrics = {metric["name"]: metric for metric in policy.experiments_metrics()}

        def body(tx):
            experiment = self._load(tx, test_id)
            definition = experiment["definition"]
            pairs = []
            for name in definition["success_metrics"]:
                if name not in metrics:
                    raise _invalid("success_metrics", name, f"the policy knows no metric {name!r}")
                pairs.append((metrics[name]["numerator"], metrics[name]["denominator"]))
            select = ["variation", "COUNT(*)"]
            for numerator, denominator in pairs:
                x = _COLUMNS[numerator]
                select += [f"SUM({x})", f"SUM({x} * {x})"]
                if denominator is not None:
                    y = _COLUMNS[denominator]
                    select += [f"SUM({y})", f"SUM({y} * {y})", f"SUM({x} * {y})"]
            arms = [
                {
                    "units": 0,
                    "metrics": [
                        {"numerator": {"sum": 0.0, "sum-squares": 0.0},
                         "denominator": None if denominator is None else {"sum": 0.0, "sum-squares": 0.0},
                         "sum-products": 0.0}
                        for _, denominator in pairs
                    ],
                }
                for _ in definition["algorithm_versions"]
            ]
            end_ms = _ms(definition["end_date"])
            for row in tx.query(
                f"{_per_unit()} SELECT {', '.join(select)} FROM per_unit GROUP BY variation ORDER BY variation",
                [test_id, end_ms],
            ):
                index = int(row[0])
                if not 0 <= index < len(arms):
                    continue
                values = [0.0 if value is None else float(value) for value in row[2:]]
                arm = arms[index]
                arm["units"] = int(row[1])
                at = 0
                for (_, denominator), sums in zip(pairs, arm["metrics"]):
                    sums["numerator"] = {"sum": values[at], "sum-squares": values[at + 1]}
                    at += 2
                    if denominator is not None:
                        sums["denominator"] = {"sum": values[at], "sum-squares": values[at + 1]}
                        sums["sum-products"] = values[at + 2]
                        at += 3
            multi = tx.query(
                "SELECT COUNT(*) FROM (SELECT unit FROM exposures WHERE test_id = $1 GROUP BY unit HAVING COUNT(*) > 1) "
                "AS several",
                [test_id],
            )[0][0]
            return definition, arms, int(multi)

        definition, arms, multi = self.monitor._read(body)
        chosen = _CORRECTIONS.get(str(correction or definition["correction"]).lower().replace("-", "_"))
        if chosen is None:
            raise _invalid("correction", correction, "correction: expected none, holm_bonferroni or benjamini_hochberg")
        analysis = _checked(policy.experiments_analyze({
            "definition": _wit(definition),
            "arms": arms,
            "multi-exposed": multi,
            "correction": chosen.replace("_", "-"),
        }))
        return _snake(analysis)
