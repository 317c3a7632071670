"""The ``BACHATA_COMMON`` Django setting: what it may hold, its problems, and the services it
configures. This module does not import Django: the app (:mod:`bachata_common.apps`) reads the
setting and hands its value here, so the rules can be used and tested without Django.

>>> [problem.id for problem in problems({"MAX_TEMP_AGE_HOURS": "24", "MAX_CACHE_SIZE": 5})]
['bachata_common.E003', 'bachata_common.E002']
>>> problems({"DATA_DIR": "/srv/bachata/data", "MEMORY_WARNING_THRESHOLD": 80})
[]
"""

from __future__ import annotations

import difflib
import math
import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .fs.areas import valid_area_name

__all__ = ["KEYS", "SETTING", "Problem", "Services", "configure", "problems", "valid_values"]

#: The name of the Django setting.
SETTING = "BACHATA_COMMON"


@dataclass(frozen=True)
class Problem:
    """One problem of the setting: a system check id (``bachata_common.E00N`` or ``W00N``), the
    key it is about (``None`` for the whole setting), what is wrong and how to fix it."""

    id: str
    key: Optional[str]
    message: str
    hint: Optional[str] = None

    @property
    def is_error(self) -> bool:
        return ".E" in self.id


def _is_number(value: Any) -> bool:
    """A finite int or float (an int too large for a float is not)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _number(low: float, high: float, low_open: bool) -> Callable[[str, Any], list[Problem]]:
    """A number in ``[low, high]`` (``(low, high]`` when ``low_open``)."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"

    def check(key: str, value: Any) -> list[Problem]:
        if not _is_number(value):
            return [Problem("bachata_common.E003", key, f"{SETTING}['{key}'] must be a number, not {value!r}.")]
        if value < low or (low_open and value == low) or value > high:
            return [Problem("bachata_common.E004", key, f"{SETTING}['{key}'] = {value!r} is out of range: expected a number in {interval}.")]
        return []

    return check


def _percent(key: str, value: Any) -> list[Problem]:
    found = _number(0, 100, True)(key, value)
    if not found and value <= 1:
        found.append(Problem(
            "bachata_common.W001",
            key,
            f"{SETTING}['{key}'] = {value!r} is a percentage: warnings start above {value!r} %.",
            hint=f"Write {value * 100:g} for {value * 100:g} %, if a ratio was meant.",
        ))
    return found


def _directory(key: str, value: Any) -> list[Problem]:
    if not isinstance(value, (str, os.PathLike)) or isinstance(value, bytes):
        return [Problem("bachata_common.E003", key, f"{SETTING}['{key}'] must be a path (a str or a pathlib.Path), not {value!r}.")]
    if not os.fspath(value):
        return [Problem("bachata_common.E004", key, f"{SETTING}['{key}'] must not be empty.")]
    if "\0" in os.fspath(value):
        return [Problem("bachata_common.E004", key, f"{SETTING}['{key}'] must not contain a NUL character.")]
    try:
        found = os.stat(value)
    except (OSError, ValueError):
        return []  # created when first used
    if not stat.S_ISDIR(found.st_mode):
        return [Problem(
            "bachata_common.E005", key, f"{SETTING}['{key}'] = {os.fspath(value)!r} exists and is not a directory.",
        )]
    return []


def _areas(key: str, value: Any) -> list[Problem]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not all(isinstance(name, str) for name in value):
        return [Problem("bachata_common.E003", key, f"{SETTING}['{key}'] must be a list of area names, not {value!r}.")]
    wrong = [name for name in value if not valid_area_name(name)]
    if wrong:
        return [Problem("bachata_common.E004", key, f"{SETTING}['{key}']: {wrong[0]!r} is not an area name (1 to 64 of a-z, 0-9, _ and -).")]
    if len(set(value)) != len(value):
        return [Problem("bachata_common.E004", key, f"{SETTING}['{key}'] names an area twice.")]
    if "temp" not in value:
        return [Problem("bachata_common.E004", key, f"{SETTING}['{key}'] must include 'temp'.")]
    return []


def _database(key: str, value: Any) -> list[Problem]:
    if not isinstance(value, str):
        return [Problem("bachata_common.E003", key, f"{SETTING}['{key}'] must be a str (a SQLite file or a postgres:// URL).")]
    if not value:
        return [Problem("bachata_common.E004", key, f"{SETTING}['{key}'] must not be empty.")]
    if "\0" in value:
        return [Problem("bachata_common.E004", key, f"{SETTING}['{key}'] must not contain a NUL character.")]
    return []


#: Every key: its rule and what it sets (the README's table).
KEYS: dict[str, tuple[Callable[[str, Any], list[Problem]], str]] = {
    "DATA_DIR": (_directory, "the data directory of the managed areas (``BACHATA_DATA_DIR``)"),
    "AREAS": (_areas, "the managed areas' names (``BACHATA_AREAS``); must include ``temp``"),
    "MAX_TEMP_AGE_HOURS": (_number(0, 876_000, False), "files older than this many hours are removed"),
    "MAX_CACHE_SIZE_GB": (_number(0, 1_048_576, True), "the ``cache`` area's cap in GiB"),
    "MEMORY_WARNING_THRESHOLD": (_percent, "memory use above this percentage is a warning"),
    "DISK_WARNING_THRESHOLD": (_percent, "disk use above this percentage is a warning"),
    "MONITOR_DIR": (_directory, "the performance monitor's directory (``monitor.sqlite3`` in it)"),
    "MONITOR_DATABASE": (_database, "the performance monitor's database: a SQLite file or a PostgreSQL URL"),
}

#: The keys that set a threshold attribute of the resource manager.
THRESHOLDS = {
    "MAX_TEMP_AGE_HOURS": "max_temp_age_hours",
    "MAX_CACHE_SIZE_GB": "max_cache_size_gb",
    "MEMORY_WARNING_THRESHOLD": "memory_warning_threshold",
    "DISK_WARNING_THRESHOLD": "disk_warning_threshold",
}


def problems(value: Any) -> list[Problem]:
    """Every problem of the setting's value (``None``, the setting left out, has none)."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [Problem(
            "bachata_common.E001", None, f"{SETTING} must be a dict, not {type(value).__name__}.",
            hint=f"For example {SETTING} = {{'DATA_DIR': BASE_DIR / 'data'}}.",
        )]
    found: list[Problem] = []
    for key, item in value.items():
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            found.append(Problem(
                "bachata_common.E002", None, f"{SETTING} has an unknown key {key!r}.",
                hint=f"Did you mean {close[0]!r}?" if close else f"The keys are {', '.join(KEYS)}.",
            ))
            continue
        found.extend(KEYS[key][0](key, item))
    if "MONITOR_DIR" in value and "MONITOR_DATABASE" in value:
        found.append(Problem(
            "bachata_common.E006", "MONITOR_DATABASE", f"{SETTING} sets both MONITOR_DIR and MONITOR_DATABASE.",
            hint="Keep one: MONITOR_DIR for a SQLite file in a directory, MONITOR_DATABASE for any database.",
        ))
    return found


def valid_values(value: Any) -> dict:
    """The keys of the setting without an error (those with only a warning kept), as given.
    With both ``MONITOR_DIR`` and ``MONITOR_DATABASE`` (an error), ``MONITOR_DIR`` is kept."""
    if not isinstance(value, dict):
        return {}
    wrong = {problem.key for problem in problems(value) if problem.is_error}
    return {key: item for key, item in value.items() if key in KEYS and key not in wrong}


@dataclass
class Services:
    """What the setting configures: the resource manager the app and its commands use, and
    where the performance monitor stores its events."""

    resource_manager: Any
    data_dir: Optional[Path]
    monitor_dir: Optional[Path]
    monitor_database: Optional[str]
    values: dict = field(default_factory=dict)

    def performance_monitor(self):
        """A :class:`bachata_common.PerformanceMonitor` on the configured database: ``MONITOR_DATABASE``,
        else ``monitor.sqlite3`` in ``MONITOR_DIR``, else in ``DATA_DIR``, else the environment's
        ``MONITOR_DATABASE``."""
        from .performance_monitor import PerformanceMonitor

        if self.monitor_database is not None:
            return PerformanceMonitor(database=self.monitor_database)
        return PerformanceMonitor(self.monitor_dir if self.monitor_dir is not None else self.data_dir)


_lock = threading.Lock()
#: Resource managers made for a data directory and areas other than the environment's.
_managers: dict[tuple, Any] = {}
#: Process-wide managers this module pointed at a ``DATA_DIR`` or ``AREAS``, by id.
_pointed: dict[int, bool] = {}
#: The threshold attributes this module set on each manager (to undo when a key goes away).
_applied: dict[int, set[str]] = {}


def _manager_for(data_dir: Optional[Path], areas: Optional[tuple]):
    """The process-wide resource manager, pointed at ``data_dir`` and ``areas`` when it has not
    opened its areas yet (or already uses them); else one made for them."""
    from . import resources
    from .exceptions import ResourceError

    shared = resources.resource_manager
    if data_dir is None and areas is None:
        if _pointed.get(id(shared)):
            # The keys went away before the manager was used: back to the environment's.
            try:
                shared.configure()
                _pointed.pop(id(shared), None)
            except ResourceError:
                pass
        return shared
    try:
        shared.configure(data_dir=data_dir, areas=areas)
        _pointed[id(shared)] = True
        return shared
    except ResourceError:
        same_dir = data_dir is None or (
            shared._given_data_dir is not None and os.fspath(shared._given_data_dir) == os.fspath(data_dir)
        )
        if same_dir and (areas is None or shared._given_areas == areas):
            return shared
    key = (None if data_dir is None else os.fspath(data_dir), areas)
    with _lock:
        manager = _managers.get(key)
        if manager is None:
            manager = _managers[key] = resources.ResourceManager(data_dir=data_dir, areas=areas)
        return manager


def _apply_thresholds(manager, values: dict) -> None:
    with _lock:
        applied = _applied.setdefault(id(manager), set())
        for key, attribute in THRESHOLDS.items():
            if key in values:
                setattr(manager, attribute, float(values[key]))
                applied.add(attribute)
            elif attribute in applied:
                # The key was removed: back to the configured value.
                delattr(manager, attribute)
                applied.discard(attribute)


def configure(value: Any) -> Services:
    """The services of the setting's value: its valid keys applied (keys with an error are left
    out; the system checks report them). ``DATA_DIR`` and ``AREAS`` point the process-wide
    ``bachata_common.resource_manager`` at them when it has not been used yet (else a resource
    manager is made once per directory and areas); the thresholds are set on both. Nothing is
    opened or loaded here: the managers read their configuration and open the areas on first
    use."""
    from . import resources

    values = valid_values(value)
    data_dir = Path(values["DATA_DIR"]) if "DATA_DIR" in values else None
    areas = tuple(values["AREAS"]) if "AREAS" in values else None
    manager = _manager_for(data_dir, areas)
    _apply_thresholds(resources.resource_manager, values)
    if manager is not resources.resource_manager:
        _apply_thresholds(manager, values)
    return Services(
        resource_manager=manager,
        data_dir=data_dir,
        monitor_dir=Path(values["MONITOR_DIR"]) if "MONITOR_DIR" in values else None,
        monitor_database=values.get("MONITOR_DATABASE"),
        values=values,
    )

