"""The resource manager of the original ``common`` app, with the policy component deciding and
this host lending files and metrics: system resources, cleanup of the managed areas by age and
cache size, resource warnings, monitoring and scheduled cleanup.

The decisions are the component's ``cleanup.run`` and ``cleanup.assess``; the files are reached
only through :mod:`bachata_common.fs` (descriptors, no link ever followed, no other mount
entered, locked files kept), and every report is checked against what the host did.

>>> from bachata_common import resource_manager
>>> resource_manager.max_temp_age_hours, resource_manager.memory_warning_threshold
(24.0, 85.0)
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from pathlib import Path
from typing import Optional

from . import _component, _lend
from ._metrics import Metrics
from .config import EnvironmentConfig, ResourceSettings
from .exceptions import ChoreographyGenerationError, ResourceError, ValidationError
from .fs.areas import Areas
from ._background import (
    FINAL_CLEANUP_SECS,
    LIVE_FILES_SECS,
    STOP_MONITORING_SECS,
    STOP_SCHEDULE_SECS,
    Shutdown,
    Started,
    Stopping,
    bounded,
    check_interval,
    is_running,
    request_stop,
    start,
)

__all__ = ["ResourceManager", "resource_manager"]

_log = logging.getLogger("bachata_common")


def _asyncio():
    """``asyncio``, imported on first use (most callers never need it)."""
    import asyncio

    return asyncio

_GB = 1024.0**3
_MB = 1024.0**2
#: An age limit no file reaches (hours): the cache-only cleanup keeps every file by age.
_NEVER_HOURS = 1e9
#: A cache cap no area reaches (GiB): the age-only cleanup never trims the cache.
_NEVER_GB = 1e12


def _round2(value: float) -> float:
    return round(value, 2)


class ResourceManager:
    """Manages the areas under one data directory (``BACHATA_DATA_DIR``, areas
    ``BACHATA_AREAS``) with the policy component.

    Configuration is read on first use (from the environment and ``.env``, or ``config``);
    ``data_dir`` and ``areas`` override it. The thresholds are attributes, as in the original:
    ``max_temp_age_hours`` (24), ``max_cache_size_gb`` (5), ``memory_warning_threshold`` (85,
    percent) and ``disk_warning_threshold`` (90, percent); set them to change later cleanups and
    warnings (``del`` one to go back to the configured value).
    """

    def __init__(self, data_dir=None, areas=None, *, config: Optional[EnvironmentConfig] = None) -> None:
        self._given_data_dir = data_dir
        self._given_areas = tuple(areas) if areas is not None else None
        self._config = config
        self._settings: Optional[ResourceSettings] = None
        self._areas: Optional[Areas] = None
        self._metrics: Optional[Metrics] = None
        self._overrides: dict[str, float] = {}
        self._open_lock = threading.Lock()
        self._running_cancel: Optional[threading.Event] = None
        #: Starting and stopping the background work is one step at a time.
        self._background_lock = threading.RLock()
        self._running_lock = threading.Lock()
        #: The scheduled cleanup: an asyncio task or a thread (``None`` when none is scheduled).
        self.cleanup_task = None
        #: The monitoring: an asyncio task or a thread (``None`` when not monitoring).
        self.monitoring_task = None

    # -- configuration --------------------------------------------------------------------------

    @property
    def settings(self) -> ResourceSettings:
        """The resource settings (read on first use)."""
        if self._settings is None:
            config = self._config or EnvironmentConfig()
            self._settings = config.resources
        return self._settings

    def _setting(self, name: str, scale: float = 1.0) -> float:
        if name in self._overrides:
            return self._overrides[name]
        return float(getattr(self.settings, name)) * scale

    @property
    def max_temp_age_hours(self) -> float:
        """Files older than this many hours are removed."""
        return self._setting("max_temp_age_hours")

    @max_temp_age_hours.setter
    def max_temp_age_hours(self, value: float) -> None:
        self._overrides["max_temp_age_hours"] = float(value)

    @max_temp_age_hours.deleter
    def max_temp_age_hours(self) -> None:
        self._overrides.pop("max_temp_age_hours", None)

    @property
    def max_cache_size_gb(self) -> float:
        """The ``cache`` area is trimmed (oldest first) when larger than this many GiB."""
        return self._setting("max_cache_size_gb")

    @max_cache_size_gb.setter
    def max_cache_size_gb(self, value: float) -> None:
        self._overrides["max_cache_size_gb"] = float(value)

    @max_cache_size_gb.deleter
    def max_cache_size_gb(self) -> None:
        self._overrides.pop("max_cache_size_gb", None)

    @property
    def memory_warning_threshold(self) -> float:
        """Memory use above this percentage raises a warning."""
        return self._setting("memory_warning_threshold", 100.0)

    @memory_warning_threshold.setter
    def memory_warning_threshold(self, value: float) -> None:
        self._overrides["memory_warning_threshold"] = float(value)

    @memory_warning_threshold.deleter
    def memory_warning_threshold(self) -> None:
        self._overrides.pop("memory_warning_threshold", None)

    @property
    def disk_warning_threshold(self) -> float:
        """Disk use above this percentage raises a warning."""
        return self._setting("disk_warning_threshold", 100.0)

    @disk_warning_threshold.setter
    def disk_warning_threshold(self, value: float) -> None:
        self._overrides["disk_warning_threshold"] = float(value)

    @disk_warning_threshold.deleter
    def disk_warning_threshold(self) -> None:
        self._overrides.pop("disk_warning_threshold", None)

    def cleanup_settings(self) -> dict:
        """The ``cleanup-settings`` record the policy gets (thresholds as ratios)."""
        settings = self.settings
        return {
            "max-temp-age-hours": self.max_temp_age_hours,
            "max-cache-size-gb": self.max_cache_size_gb,
            "cache-low-water-ratio": settings.cache_low_water_ratio,
            "memory-warning-threshold": self.memory_warning_threshold / 100.0,
            "disk-warning-threshold": self.disk_warning_threshold / 100.0,
            "memory-critical-threshold": max(settings.memory_critical_threshold, self.memory_warning_threshold / 100.0),
        }

    def configure(self, data_dir=None, areas=None) -> None:
        """Sets the data directory and the area names used when the areas are first opened (for
        example from Django settings at start-up); ``None`` is the configuration's
        (``BACHATA_DATA_DIR``, ``BACHATA_AREAS``). Raises :class:`ResourceError` once the areas
        are open: a manager never moves to another directory while in use."""
        with self._open_lock:
            if self._areas is not None:
                raise ResourceError(
                    f"the areas under {self._areas.root} are open already; configure the resource "
                    "manager before its first use",
                    resource_type="configuration",
                )
            self._given_data_dir = data_dir
            self._given_areas = tuple(areas) if areas is not None else None

    # -- the areas ------------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """The data directory."""
        return self.areas.root

    @property
    def areas(self) -> Areas:
        """The managed areas, opened (created when missing) on first use."""
        if self._areas is None:
            with self._open_lock:
                if self._areas is None:
                    data_dir = self._given_data_dir or self.settings.data_dir
                    names = self._given_areas or tuple(self.settings.areas)
                    self._areas = Areas(data_dir, names)
                    self._metrics = Metrics(self._areas)
        return self._areas

    @property
    def metrics(self) -> Metrics:
        """The snapshot taker."""
        self.areas
        assert self._metrics is not None
        return self._metrics

    @property
    def temp_directories(self) -> list[Path]:
        """The managed areas' directories."""
        areas = self.areas
        return [area.path for area in areas.areas]

    # -- resources ------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """A ``system-resources`` record (bytes and ratios)."""
        return self.metrics.snapshot()

    def get_system_resources(self) -> dict:
        """``memory.{total_gb, available_gb, used_gb, percent_used}``, ``disk.{total_gb, free_gb,
        used_gb, percent_used}``, ``cpu``, and ``temp_directories.{path: {exists, size_mb,
        file_count}}``, with exact byte fields beside the rounded ones."""
        snapshot = self.snapshot()
        memory, disk = snapshot["memory"], snapshot["disk"]
        paths = {area.name: str(area.path) for area in self.areas.areas}
        return {
            "timestamp": snapshot["taken-at"],
            "memory": {
                "total_gb": _round2(memory["total"] / _GB),
                "available_gb": _round2(memory["available"] / _GB),
                "used_gb": _round2(memory["used"] / _GB),
                "percent_used": _round2(memory["used-ratio"] * 100.0),
                "total_bytes": memory["total"],
                "available_bytes": memory["available"],
                "used_bytes": memory["used"],
                "container_limited": memory["container-limited"],
            },
            "disk": {
                "total_gb": _round2(disk["total"] / _GB),
                "free_gb": _round2(disk["free"] / _GB),
                "used_gb": _round2(disk["used"] / _GB),
                "percent_used": _round2(disk["used-ratio"] * 100.0),
                "total_bytes": disk["total"],
                "free_bytes": disk["free"],
                "used_bytes": disk["used"],
            },
            "cpu": {
                "percent_used": _round2(snapshot["cpu-ratio"] * 100.0),
                "load_average": list(snapshot["load-average"]),
            },
            "temp_directories": {
                paths.get(area["name"], area["name"]): {
                    "exists": area["exists"],
                    "size_mb": _round2(area["size"] / _MB),
                    "size_bytes": area["size"],
                    "file_count": area["file-count"],
                }
                for area in snapshot["areas"]
            },
        }

    def assess(self, snapshot: Optional[dict] = None) -> dict:
        """The policy's verdict on a snapshot (taken now when not given): ``warnings`` and
        ``emergency-cleanup``."""
        snapshot = snapshot if snapshot is not None else self.snapshot()
        return _component.call("cleanup", "assess", self.cleanup_settings(), snapshot)

    # -- cleanup --------------------------------------------------------------------------------

    def run_cleanup(self, *, force: bool = False, dry_run: bool = False, settings: Optional[dict] = None,
                    max_samples: int = 1000) -> dict:
        """Runs the policy's ``cleanup.run`` over the areas and returns its checked
        ``cleanup-report``. One cleanup runs at a time per data directory (an ``flock`` on it,
        also across processes): while another runs this raises :class:`ResourceError`."""
        areas = self.areas
        lock_fd = os.open(areas.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ResourceError(
                    f"a cleanup of {areas.root} is already running", resource_type="cleanup"
                ) from None
            cancel = threading.Event()
            with self._running_lock:
                self._running_cancel = cancel
            lent = _lend.Lent(
                areas=areas,
                metrics=self.metrics.snapshot,
                dry_run=dry_run,
                max_samples=max_samples,
                cancel=cancel,
            )
            options = {"now": int(time.time()), "force": force, "dry-run": dry_run, "max-samples": max_samples}
            try:
                outcome = _component.call_lending(lent, "cleanup", "run", settings or self.cleanup_settings(), options)
            finally:
                with self._running_lock:
                    self._running_cancel = None
                if not dry_run and self._metrics is not None:
                    self._metrics.invalidate_area_usage()
        finally:
            os.close(lock_fd)
        if outcome["tag"] == "err":
            raise ChoreographyGenerationError.from_app_error(outcome["val"])
        report = outcome["val"]
        try:
            _lend.check_report(report, dry_run, max_samples, lent.audit)
        except ValueError as error:
            raise _lend.PolicyViolation(f"cleanup.run returned an impossible report: {error}") from None
        _log.info(
            "cleanup finished",
            extra={
                "force": force,
                "dry_run": dry_run,
                "files_removed": report["temporary-files"]["files-removed"] + report["cache-cleanup"]["files-removed"],
                "bytes_freed": report["temporary-files"]["bytes-freed"] + report["cache-cleanup"]["bytes-freed"],
                "skipped_in_use": report["skipped-in-use"],
                "errors": report["error-count"],
            },
        )
        return report

    def cleanup_temporary_files_sync(self, force: bool = False, dry_run: bool = False) -> dict:
        """Removes files older than ``max_temp_age_hours`` (every file not in use with
        ``force``), then directories left empty, in every area. Returns ``{files_removed,
        bytes_freed, directories_processed}`` and the details (``directories_removed``,
        ``skipped_in_use``, ``vanished``, ``error_count``, ``errors``, ``dry_run``)."""
        settings = dict(self.cleanup_settings(), **{"max-cache-size-gb": _NEVER_GB})
        report = self.run_cleanup(force=force, dry_run=dry_run, settings=settings)
        phase = report["temporary-files"]
        return {
            "files_removed": phase["files-removed"],
            "bytes_freed": phase["bytes-freed"],
            "directories_processed": report["directories-processed"],
            "directories_removed": phase["directories-removed"],
            "skipped_in_use": report["skipped-in-use"],
            "vanished": report["vanished"],
            "error_count": report["error-count"],
            "errors": report["errors"],
            "dry_run": report["dry-run"],
        }

    async def cleanup_temporary_files(self, force: bool = False, dry_run: bool = False) -> dict:
        """Async form of :meth:`cleanup_temporary_files_sync` (the work runs in a thread)."""
        return await _asyncio().to_thread(self.cleanup_temporary_files_sync, force, dry_run)

    def cleanup_cache_directory_sync(self, dry_run: bool = False) -> dict:
        """Trims the ``cache`` area to ``cache_low_water_ratio`` of ``max_cache_size_gb`` when it
        is larger than the cap, oldest files first. Returns ``{files_removed, bytes_freed}``."""
        settings = dict(self.cleanup_settings(), **{"max-temp-age-hours": _NEVER_HOURS})
        report = self.run_cleanup(dry_run=dry_run, settings=settings)
        phase = report["cache-cleanup"]
        return {
            "files_removed": phase["files-removed"],
            "bytes_freed": phase["bytes-freed"],
            "skipped_in_use": report["skipped-in-use"],
            "dry_run": report["dry-run"],
        }

    async def cleanup_cache_directory(self, dry_run: bool = False) -> dict:
        """Async form of :meth:`cleanup_cache_directory_sync`."""
        return await _asyncio().to_thread(self.cleanup_cache_directory_sync, dry_run)

    # -- monitoring and schedules ---------------------------------------------------------------

    def check_resources(self) -> dict:
        """One monitoring round: a snapshot judged by the policy, each warning logged, and a
        forced cleanup when the policy asks for an emergency one. Returns the assessment."""
        assessment = self.assess()
        for warning in assessment["warnings"]:
            _log.warning(warning["message"], extra={"resource": warning["resource"], "level": warning["level"]})
        if assessment["emergency-cleanup"]:
            _log.warning("emergency cleanup: memory use is critical")
            try:
                self.cleanup_temporary_files_sync(force=True)
            except ResourceError as error:
                _log.warning("emergency cleanup skipped: %s", error)
        return assessment

    def start_monitoring(self, interval_seconds: Optional[float] = None) -> "Started":
        """Starts checking resources every ``interval_seconds`` (default
        ``BACHATA_MONITOR_INTERVAL`` seconds) in the background and returns at once, as the
        original did: warnings are logged, an emergency cleanup runs when the policy asks for
        one, a round that fails is logged and the next one runs. The work is an asyncio task
        (``monitoring_task``) when called inside a running event loop, else a daemon thread.
        Monitoring already running is left as it is. The result may be awaited (``await
        resource_manager.start_monitoring()``, as in the original) and returns at once too.
        :meth:`stop_monitoring` or :meth:`shutdown` ends it."""
        given = interval_seconds if interval_seconds is not None else self.settings.monitor_interval_secs
        interval = check_interval(given, "interval_seconds", given)
        with self._background_lock:
            if self.monitoring_active:
                return Started(self.monitoring_task)
            self.monitoring_task = start(self._monitor_loop(interval), self._monitor_thread, interval, "monitor")
        _log.info("resource monitoring started", extra={"interval_seconds": interval})
        return Started(self.monitoring_task)

    @property
    def monitoring_active(self) -> bool:
        """Whether monitoring is running."""
        return is_running(self.monitoring_task)

    def stop_monitoring(self) -> "Stopping":
        """Stops monitoring (a round in progress finishes). Returns at once; awaiting the result
        waits, at most 30 seconds, for the monitoring to end."""
        with self._background_lock:
            task, self.monitoring_task = self.monitoring_task, None
        request_stop(task)
        if task is not None:
            _log.info("resource monitoring stopped")
        return Stopping([task], STOP_MONITORING_SECS)

    async def _monitor_loop(self, interval: float) -> None:
        asyncio = _asyncio()
        while True:
            try:
                await asyncio.to_thread(self.check_resources)
            except Exception as error:  # one failed round must not end the monitoring
                _log.error("resource monitoring round failed: %s", error)
            await asyncio.sleep(interval)

    def _monitor_thread(self, interval: float, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.check_resources()
            except Exception as error:  # one failed round must not end the monitoring
                _log.error("resource monitoring round failed: %s", error)
            if stop.wait(interval):
                break

    async def _cleanup_loop(self, interval_hours: float) -> None:
        asyncio = _asyncio()
        while True:
            await asyncio.sleep(interval_hours * 3600.0)
            try:
                await asyncio.to_thread(self._cleanup_round)
            except Exception as error:  # a failed round must not end the schedule
                _log.error("scheduled cleanup failed: %s", error)

    def _cleanup_thread(self, interval_hours: float, stop: threading.Event) -> None:
        while not stop.wait(interval_hours * 3600.0):
            try:
                self._cleanup_round()
            except Exception as error:  # a failed round must not end the schedule
                _log.error("scheduled cleanup failed: %s", error)

    def _cleanup_round(self) -> None:
        self.cleanup_temporary_files_sync()
        self.cleanup_cache_directory_sync()

    def schedule_cleanup(self, interval_hours: float = 6) -> "Started":
        """Cleans every ``interval_hours`` (temporary files by age, then the cache by size) in
        the background and returns at once, as the original did: an asyncio task when called
        inside a running event loop, else a daemon thread (``cleanup_task``). There is one
        schedule: calling it again replaces the previous one (with the new interval) rather than
        adding another. The result may be awaited (``await
        resource_manager.schedule_cleanup(interval_hours=6)``) and returns at once too."""
        try:
            seconds = float(interval_hours) * 3600.0
        except (TypeError, ValueError, OverflowError):
            seconds = float("nan")
        hours = check_interval(seconds, "interval_hours", interval_hours) / 3600.0
        with self._background_lock:
            self._cancel_schedule()
            self.cleanup_task = start(self._cleanup_loop(hours), self._cleanup_thread, hours, "cleanup")
        _log.info("cleanup scheduled", extra={"interval_hours": hours})
        return Started(self.cleanup_task)

    @property
    def cleanup_tasks(self) -> list:
        """The running schedule, as the original's list of cleanup tasks (one at most here)."""
        return [self.cleanup_task] if is_running(self.cleanup_task) else []

    def _cancel_schedule(self):
        with self._background_lock:
            task, self.cleanup_task = self.cleanup_task, None
        request_stop(task)
        return task

    def cancel_running(self) -> bool:
        """Cancels the cleanup running in this process, if any (it stops at its next scan page
        or removal); true when there was one."""
        with self._running_lock:
            cancel = self._running_cancel
        if cancel is None:
            return False
        cancel.set()
        return True

    def shutdown(self, *, final_cleanup: bool = True) -> "Shutdown":
        """Stops monitoring and the schedule and cancels a running cleanup, then, as the
        original did, runs a last cleanup of expired temporary files (when the areas were used;
        ``final_cleanup=False`` skips it) and removes the temp file manager's live files.

        Everything is bounded: 30 seconds for monitoring to stop, 60 for the schedule, 120 for
        the last cleanup (then cancelled), 60 for the live files. Inside a running event loop
        the waiting happens when the result is awaited (``await resource_manager.shutdown()``);
        called without a running loop, it happens before this returns. The manager may be
        started again afterwards."""
        monitoring = self.stop_monitoring()
        schedule = self._cancel_schedule()
        self.cancel_running()
        stopping = [monitoring, Stopping([schedule], STOP_SCHEDULE_SECS)]
        shutdown = Shutdown(self, stopping, final_cleanup)
        try:
            _asyncio().get_running_loop()
        except RuntimeError:
            shutdown.finish()
        return shutdown

    def _final_cleanup(self, final_cleanup: bool) -> None:
        """The last cleanup of :meth:`shutdown`, bounded; then the live temp files."""
        if final_cleanup and self._areas is not None:
            # A cleanup cancelled by the shutdown stops at its next page: the last one waits
            # for it rather than finding the data directory locked.
            deadline = time.monotonic() + STOP_SCHEDULE_SECS
            while self._running_cancel is not None and time.monotonic() < deadline:
                time.sleep(0.02)
            if not bounded(self.cleanup_temporary_files_sync, FINAL_CLEANUP_SECS, "final cleanup"):
                self.cancel_running()
        from .temp_files import temp_file_manager

        if temp_file_manager._resource_manager is self:
            bounded(temp_file_manager.cleanup_all_active_files_sync, LIVE_FILES_SECS, "temp file cleanup at shutdown")
        _log.info("resource manager shut down")


#: The process-wide resource manager (configuration read on first use).
resource_manager = ResourceManager()
