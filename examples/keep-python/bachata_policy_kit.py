"""A small kit for bachata-common cleanup policies written in Python.

The host lends ``host-fs`` (``wit/host-fs.wit``) in packed forms that keep every host fast:
a scan page is one text of NUL-terminated entries, a removal batch one text of paths and its
answer one text of outcomes. This module hides them, and builds the ``cleanup-report`` that the
host checks against what it removed:

    run = CleanupRun(options)
    for area in run.areas():
        for entry in area.walk():            # page by page; a directory after what it holds
            if entry.kind == FILE and is_old(entry):
                area.remove(entry, "age")    # queued, sent in bounded batches
    return run.report()

- ``Area.walk`` scans an area a page at a time, so memory does not grow with the area. It
  yields files, links and other entries as listed, and each directory once everything below it
  has been seen, with ``emptied`` telling whether everything below it was removed.
- ``Area.remove`` queues a removal for a reason (``age`` or ``cache-cap``); batches of at most
  ``BATCH`` paths go to the host as they fill. An entry that is locked, or below a locked
  directory, is kept and counted in ``skipped-in-use`` (each locked directory once).
- ``CleanupRun.report`` returns totals per area and phase, the first ``max-samples`` removals
  and problems, exactly as the host saw them (in a dry run, the removals it would make).

Pure helpers (``unpack_entries``, ``pack_paths``, ``unpack_outcomes``) work without the host.
"""

from typing import Iterator, List, Optional

PAGE = 1024
"""Entries asked for per scan page."""
BATCH = 4096
"""Most paths sent in one removal batch (the host refuses more than 65,536)."""

FILE, DIRECTORY, SYMLINK, OTHER = "file", "directory", "symlink", "other"
_KINDS = {"0": FILE, "1": DIRECTORY, "2": SYMLINK, "3": OTHER}

REMOVED, VANISHED, IN_USE, NOT_EMPTY, REFUSED, FAILED = range(6)
"""Outcome statuses of a removal (see ``remove`` in ``wit/host-fs.wit``)."""

REASONS = ("age", "cache-cap")


class Entry:
    """One entry of a scan.

    ``path`` is relative to the area, ``/``-separated, in the host's form of names (a name that
    is not UTF-8 is written with ``\\xNN`` escapes): hand it back unchanged. ``size`` is in
    bytes (0 for directories), ``mtime`` in whole seconds since the epoch and ``mtime_nanos``
    its sub-second part. ``locked`` is set when a process holds a lock on the entry itself,
    ``held`` when it or a directory above it is locked (the host removes nothing there).
    ``emptied`` is meaningful for directories yielded by ``Area.walk``: every entry below was
    asked to be removed during that walk."""

    __slots__ = ("kind", "locked", "size", "mtime", "mtime_nanos", "path", "holder", "emptied",
                 "going")

    def __init__(self, kind, locked, size, mtime, mtime_nanos, path):
        self.kind = kind
        self.locked = locked
        self.size = size
        self.mtime = mtime
        self.mtime_nanos = mtime_nanos
        self.path = path
        self.holder: Optional[str] = None  # the outermost locked directory at or above it
        self.emptied = True
        self.going = False

    @property
    def name(self) -> str:
        """The last segment of the path."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def held(self) -> bool:
        return self.locked or self.holder is not None

    def __repr__(self) -> str:
        return f"Entry({self.kind}, {self.path!r}, size={self.size}, mtime={self.mtime})"


class Outcome:
    """What the host did with one path of a removal batch."""

    __slots__ = ("status", "bytes", "reason")

    def __init__(self, status: int, bytes: int, reason: Optional[str]):
        self.status = status
        self.bytes = bytes
        self.reason = reason


def _items(packed: str, what: str) -> List[str]:
    if not packed:
        return []
    if not packed.endswith("\0"):
        raise ValueError(f"the last {what} is not followed by a NUL")
    return packed[:-1].split("\0")


def _number(text: str, what: str, item: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"{what} of {item!r} is not a number")
    return int(text)


def unpack_entries(packed: str) -> List[Entry]:
    """A page's entries from their packed form (``kind:locked:size:mtime:nanos:path\\0``)."""
    entries = []
    for item in _items(packed, "entry"):
        fields = item.split(":", 5)
        if len(fields) != 6:
            raise ValueError(f"entry {item!r} does not have six fields")
        kind, locked, size, mtime, nanos, path = fields
        if kind not in _KINDS:
            raise ValueError(f"entry kind {kind!r} is not 0 to 3")
        if locked not in ("0", "1"):
            raise ValueError(f"the locked flag of {item!r} is not 0 or 1")
        nanos = _number(nanos, "the mtime nanoseconds", item)
        if nanos >= 1_000_000_000:
            raise ValueError(f"the mtime nanoseconds of {item!r} are not below 10^9")
        entries.append(Entry(_KINDS[kind], locked == "1", _number(size, "the size", item),
                             _number(mtime, "the mtime", item), nanos, path))
    return entries


def pack_paths(paths: List[str]) -> str:
    """A removal batch's paths, each followed by a NUL."""
    return "".join(path + "\0" for path in paths)


def unpack_outcomes(packed: str) -> List[Outcome]:
    """A removal batch's outcomes from their packed form (``status:bytes:-`` or ``+reason``)."""
    outcomes = []
    for item in _items(packed, "outcome"):
        fields = item.split(":", 2)
        if len(fields) != 3 or fields[0] not in ("0", "1", "2", "3", "4", "5"):
            raise ValueError(f"outcome {item!r} is not status:bytes:reason")
        reason = fields[2]
        if reason == "-":
            why = None
        elif reason.startswith("+"):
            why = reason[1:]
        else:
            raise ValueError(f"the reason of {item!r} is neither - nor +...")
        outcomes.append(Outcome(int(fields[0]), _number(fields[1], "the bytes", item), why))
    return outcomes


def _below(path: str, directory: str) -> bool:
    return len(path) > len(directory) and path.startswith(directory) and \
        path[len(directory)] == "/"


def _phase():
    from wit_world.exports.cleanup import PhaseReport

    return PhaseReport(files_removed=0, bytes_freed=0, directories_removed=0)


def invalid_setting(field: str, value: float, expected: str):
    """The ``Err`` to raise for a cleanup setting no configuration would produce."""
    from componentize_py_types import Err
    from wit_world.imports.types import AppError, ErrorKind_Validation, ValidationContext

    return Err(AppError(
        kind=ErrorKind_Validation(ValidationContext(field=field, value=str(value))),
        message=f"cleanup setting {field}={value} is invalid: expected {expected}",
        error_code="VALIDATION_ERROR",
        details=[("field", field), ("value", str(value))],
    ))


class CleanupRun:
    """One call of ``cleanup.run``: the areas to clean and the report being built."""

    def __init__(self, options):
        from wit_world.exports.cleanup import CleanupReport

        self.now: int = options.now
        self.force: bool = options.force
        self.dry_run: bool = options.dry_run
        self.max_samples: int = options.max_samples
        self._report = CleanupReport(
            temporary_files=_phase(), cache_cleanup=_phase(), areas=[],
            directories_processed=0, skipped_in_use=0, vanished=0, errors=[], error_count=0,
            dry_run=options.dry_run, removals=[])
        self._current: Optional["Area"] = None

    def areas(self) -> Iterator["Area"]:
        """The managed areas, in the host's order; each one's totals end when the next
        starts (or at ``report``)."""
        from wit_world.imports import host_fs

        for name in host_fs.areas():
            yield self._begin(name)

    def _begin(self, name: str) -> "Area":
        self._end()
        self._current = Area(self, name)
        return self._current

    def _end(self) -> None:
        area, self._current = self._current, None
        if area is None:
            return
        area.flush()
        area._ended = True
        for total, part in ((self._report.temporary_files, area._report.temporary_files),
                            (self._report.cache_cleanup, area._report.cache_cleanup)):
            total.files_removed += part.files_removed
            total.bytes_freed += part.bytes_freed
            total.directories_removed += part.directories_removed
        self._report.areas.append(area._report)

    def _problem(self, area: str, path: str, reason: str) -> None:
        from wit_world.exports.cleanup import CleanupProblem

        self._report.error_count += 1
        if len(self._report.errors) < self.max_samples:
            self._report.errors.append(CleanupProblem(area=area, path=path, reason=reason))

    def is_old(self, entry: Entry, max_age_hours: float) -> bool:
        """Whether ``entry`` is strictly older than ``max_age_hours`` at ``now`` (always, when
        the run is forced)."""
        return self.force or max(self.now - entry.mtime, 0) > max_age_hours * 3600.0

    def report(self):
        """The finished ``cleanup-report`` (sends what is still queued)."""
        self._end()
        return self._report


class Area:
    """One managed area during a run: its scans, its removal batches, its totals."""

    def __init__(self, run: CleanupRun, name: str):
        from wit_world.exports.cleanup import AreaReport

        self.run = run
        self.name = name
        self._report = AreaReport(area=name, entries_scanned=0, temporary_files=_phase(),
                                  cache_cleanup=_phase())
        self._ended = False
        self._processed = False
        self._reason = "age"
        self._paths: List[str] = []
        self._queue: List[Entry] = []
        self._counted = set()  # locked directories already counted in skipped-in-use
        self._left = 0  # bytes of regular files the last walk listed that stay
        self._kept = 0  # bytes of regular files the host kept although asked to remove them

    def _alive(self) -> None:
        if self._ended:
            raise RuntimeError(f"area {self.name!r} is finished: another area has started")

    def walk(self, page_size: int = PAGE) -> Iterator[Entry]:
        """Every entry below the area, a scan page at a time: files, links and other entries as
        the host lists them, each directory once everything below it has been seen. Problems
        the scan meets go into the report; an area that cannot be scanned yields nothing."""
        from componentize_py_types import Err
        from wit_world.imports import host_fs

        self._alive()
        try:
            scan = host_fs.open_scan(self.name)
        except Err as error:
            failure = error.value
            if isinstance(failure, host_fs.FsError_UnknownArea):
                self.run._problem(self.name, "", f"unknown area `{failure.value}`")
            else:
                self.run._problem(self.name, "", failure.value)
            return
        if not self._processed:
            self._processed = True
            self.run._report.directories_processed += 1
        self.flush()
        self._left = self._kept = 0
        stack: List[Entry] = []
        last: Optional[Entry] = None
        with scan:
            while True:
                page = scan.next(page_size)
                entries = unpack_entries(page.entries)
                self._report.entries_scanned += len(entries)
                for problem in page.problems:
                    self.run._problem(self.name, problem.path, problem.reason)
                for entry in entries:
                    self._settle(last, stack)
                    last = None
                    while stack and not _below(entry.path, stack[-1].path):
                        finished = stack.pop()
                        yield finished
                        self._settle(finished, stack)
                    if stack:
                        entry.holder = stack[-1].holder
                    if entry.kind == DIRECTORY:
                        if entry.locked and entry.holder is None:
                            entry.holder = entry.path
                        stack.append(entry)
                    else:
                        yield entry
                        last = entry
                if page.done:
                    break
        self._settle(last, stack)
        while stack:
            finished = stack.pop()
            yield finished
            self._settle(finished, stack)

    def _settle(self, entry: Optional[Entry], stack: List[Entry]) -> None:
        """Counts what the caller decided about ``entry``: what stays keeps its directory."""
        if entry is None or entry.going:
            return
        if stack:
            stack[-1].emptied = False
        if entry.kind == FILE:
            self._left += entry.size

    def remove(self, entry: Entry, reason: str = "age") -> bool:
        """Queues ``entry`` for removal for ``reason`` (``age`` or ``cache-cap``). An entry the
        host would refuse because of a lock is kept and counted in ``skipped-in-use``; returns
        whether the entry was queued."""
        self._alive()
        if reason not in REASONS:
            raise ValueError(f"reason {reason!r} is not one of {REASONS}")
        if entry.held:
            if entry.holder is None:
                self.run._report.skipped_in_use += 1
            elif entry.holder not in self._counted:
                self._counted.add(entry.holder)
                self.run._report.skipped_in_use += 1
            return False
        if entry.going:
            return True
        if reason != self._reason:
            self.flush()
            self._reason = reason
        entry.going = True
        self._paths.append(entry.path)
        self._queue.append(entry)
        if len(self._queue) >= BATCH:
            self.flush()
        return True

    def bytes_left(self) -> int:
        """Bytes of the regular files the last walk listed that are still there (in a dry run:
        would be) after its removals: those not removed and those the host kept."""
        self.flush()
        return self._left + self._kept

    def flush(self) -> None:
        """Sends the queued removals and counts their outcomes."""
        if not self._queue:
            return
        from wit_world.imports import host_fs
        from wit_world.exports.cleanup import PlannedRemoval

        queue, self._queue = self._queue, []
        paths, self._paths = self._paths, []
        reason = self._reason
        wit_reason = host_fs.RemovalReason.AGE if reason == "age" else \
            host_fs.RemovalReason.CACHE_CAP
        outcomes = unpack_outcomes(host_fs.remove(self.name, wit_reason, pack_paths(paths)))
        report = self.run._report
        if len(outcomes) != len(queue):
            self.run._problem(self.name, "", f"the host answered {len(outcomes)} outcomes for "
                              f"{len(queue)} paths")
        phase = self._report.temporary_files if reason == "age" else \
            self._report.cache_cleanup
        for entry, outcome in zip(queue, outcomes):
            kept = True
            if outcome.status == REMOVED:
                kept = False
                if entry.kind == DIRECTORY:
                    phase.directories_removed += 1
                else:
                    phase.files_removed += 1
                phase.bytes_freed += outcome.bytes
                if len(report.removals) < self.run.max_samples:
                    report.removals.append(PlannedRemoval(
                        area=self.name, path=entry.path, bytes=outcome.bytes, reason=reason))
            elif outcome.status == VANISHED:
                kept = False
                report.vanished += 1
            elif outcome.status == IN_USE:
                report.skipped_in_use += 1
            elif outcome.status in (REFUSED, FAILED):
                self.run._problem(self.name, entry.path, outcome.reason or "not removed")
            if kept and entry.kind == FILE:
                self._kept += entry.size
