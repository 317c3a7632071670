"""What this host lends the policy during one call: ``host-fs`` over the managed areas and
``host-metrics``, with the native host's audit (``host/src/runtime/host/fs.rs``).

A call is stopped (and the violation reported) when the policy asks to remove outside an area,
sends more than :data:`MAX_REMOVAL_BATCH` paths at once, opens more than
:data:`MAX_SCANS_PER_AREA` scans of one area or asks for a page after the end of a scan. A
cancelled call stops at its next scan, page or removal batch. In a dry run the host checks and
answers each path and removes nothing. After ``cleanup.run`` the report is checked against what
the host did (:func:`check_report`).
"""

from __future__ import annotations

import contextvars
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from .fs.areas import Areas
    from .fs.remove import Removal

__all__ = [
    "MAX_PAGE",
    "MAX_REMOVAL_BATCH",
    "MAX_SCANS_PER_AREA",
    "Audit",
    "Cancelled",
    "Lent",
    "PolicyViolation",
    "check_report",
    "current",
]

#: Most paths one ``host-fs.remove`` call may name.
MAX_REMOVAL_BATCH = 65_536
#: Most entries one page of a scan holds, whatever the policy asks.
MAX_PAGE = 65_536
#: Most scans a call may open per area.
MAX_SCANS_PER_AREA = 16
#: Most violations an audit keeps word for word.
KEPT_VIOLATIONS = 8



class PolicyViolation(RuntimeError):
    """The policy broke a rule of the host (removals outside the areas, oversized batches,
    impossible reports): its answer is not used."""


class Cancelled(RuntimeError):
    """The call was cancelled (``shutdown``); ``files_removed``/``bytes_freed`` say what it had
    removed until then."""

    def __init__(self, message: str, files_removed: int = 0, bytes_freed: int = 0) -> None:
        super().__init__(message)
        self.files_removed = files_removed
        self.bytes_freed = bytes_freed


class Audit:
    """What the policy did with the capabilities during one call."""

    def __init__(self, limit: int) -> None:
        self.violations: list[str] = []
        self.more_violations = 0
        #: Per ``(area, reason)``: ``[entries, bytes]`` removed (in a dry run: answered).
        self.totals: dict[tuple[str, str], list[int]] = {}
        #: The first ``limit`` removals: ``(area, path)`` to ``(bytes, reason)``.
        self.first: dict[tuple[str, str], tuple[int, str]] = {}
        self.limit = limit
        self.scans_opened: dict[str, int] = {}

    def violation(self, sentence: str) -> None:
        if len(self.violations) < KEPT_VIOLATIONS:
            self.violations.append(sentence)
        else:
            self.more_violations += 1

    def summary(self) -> Optional[str]:
        if not self.violations:
            return None
        text = "; ".join(self.violations)
        if self.more_violations:
            text += f"; and {self.more_violations} more"
        return text

    def record(self, area: str, reason: str, removed: "list[Removal]") -> None:
        if not removed:
            return
        totals = self.totals.setdefault((area, reason), [0, 0])
        for removal in removed:
            totals[0] += 1
            totals[1] += removal.bytes
            if len(self.first) < self.limit:
                self.first[(area, removal.path)] = (removal.bytes, reason)

    def removed_files(self) -> int:
        return sum(entries for entries, _ in self.totals.values())

    def removed_bytes(self) -> int:
        return sum(freed for _, freed in self.totals.values())


class Lent:
    """The capabilities lent to one call.

    ``areas``: the managed areas (``None``: ``host-fs`` is not available); ``metrics``: a
    callable returning a ``system-resources`` record (``None``: not available); ``cancel``: an
    event that stops the call; ``on_removed(area, reason, removals)``: called with each batch's
    removals, for logs and progress.
    """

    def __init__(
        self,
        areas: "Optional[Areas]" = None,
        metrics: Optional[Callable[[], dict]] = None,
        dry_run: bool = False,
        max_samples: int = 1000,
        cancel: Optional[threading.Event] = None,
        on_removed: Optional[Callable[[str, str, list], None]] = None,
    ) -> None:
        self.areas = areas
        self.metrics = metrics
        self.dry_run = dry_run
        self.cancel = cancel
        self.on_removed = on_removed
        self.audit = Audit(max_samples)
        self.since_ns = time.time_ns()
        self.scans: dict[int, Any] = {}
        self._next_rep = 0

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def stop_if_cancelled(self) -> None:
        if self.cancelled():
            raise Cancelled(
                "the call was cancelled",
                self.audit.removed_files(),
                self.audit.removed_bytes(),
            )

    def add_scan(self, walker) -> int:
        self._next_rep += 1
        self.scans[self._next_rep] = walker
        return self._next_rep

    def drop_scan(self, rep: int) -> None:
        walker = self.scans.pop(rep, None)
        if walker is not None:
            walker.close()

    def close(self) -> None:
        for rep in list(self.scans):
            self.drop_scan(rep)


#: The capabilities lent to the call running in this context (``None``: none).
current: contextvars.ContextVar[Optional[Lent]] = contextvars.ContextVar("bachata_common_lent", default=None)


def open_scan(lent: Lent, area: str) -> dict:
    """``host-fs.open-scan``: ``{"tag": "ok", "val": rep}`` or the ``fs-error``."""
    lent.stop_if_cancelled()
    if lent.areas is None or lent.areas.area(area) is None:
        return {"tag": "err", "val": {"tag": "unknown-area", "val": area}}
    opened = lent.audit.scans_opened.get(area, 0) + 1
    lent.audit.scans_opened[area] = opened
    if opened > MAX_SCANS_PER_AREA:
        lent.audit.violation(f"opened more than {MAX_SCANS_PER_AREA} scans of area `{area}` in one call")
        raise PolicyViolation(f"host-fs.open-scan: more than {MAX_SCANS_PER_AREA} scans of area `{area}` in one call")
    try:
        walker = lent.areas.walk(area, cancelled=lent.cancelled)
    except OSError as error:
        return {"tag": "err", "val": {"tag": "io", "val": error.strerror or str(error)}}
    return {"tag": "ok", "val": lent.add_scan(walker)}


def next_page(lent: Lent, rep: int, maximum: int) -> dict:
    """``scan.next``: the next page, its entries packed."""
    lent.stop_if_cancelled()
    walker = lent.scans.get(rep)
    if walker is None:
        raise PolicyViolation("host-fs: scan.next on a scan this call does not hold")
    if walker.end_reported:
        lent.audit.violation("asked for a page after the end of a scan")
        raise PolicyViolation("host-fs: scan.next called after the scan ended")
    packed, _count, problems = walker.page(min(max(maximum, 1), MAX_PAGE))
    if walker.was_cancelled:
        lent.stop_if_cancelled()
    done = walker.done
    if done:
        walker.end_reported = True
    return {
        "entries": packed,
        "problems": [{"path": path, "reason": reason} for path, reason in problems],
        "done": done,
    }


def _pack_outcomes(outcomes: "list[Removal]") -> str:
    """A batch's outcomes as ``host-fs.remove`` answers them (``status:bytes:±reason`` and a NUL
    each; the host's own refusals, out of bounds and cancelled, are ``refused`` to the policy)."""
    packed = []
    for outcome in outcomes:
        status = outcome.status if outcome.status <= 5 else 4
        reason = "-" if outcome.reason is None else "+" + outcome.reason.replace("\0", " ")
        packed.append(f"{status}:{outcome.bytes}:{reason}\0")
    return "".join(packed)


def remove(lent: Lent, area: str, reason: str, packed: str) -> str:
    """``host-fs.remove``: the batch's outcomes, packed."""
    from .fs.remove import CANCELLED, OUT_OF_BOUNDS, REMOVED, Removal

    lent.stop_if_cancelled()
    if packed == "":
        paths: list[str] = []
    elif not packed.endswith("\0"):
        lent.audit.violation("sent removal paths not in the packed form")
        raise PolicyViolation("host-fs.remove: the last path is not followed by a NUL")
    else:
        paths = packed[:-1].split("\0")
    if len(paths) > MAX_REMOVAL_BATCH:
        lent.audit.violation(f"asked to remove {len(paths)} paths in one call (at most {MAX_REMOVAL_BATCH})")
        raise PolicyViolation(
            f"host-fs.remove called with {len(paths)} paths; the limit is {MAX_REMOVAL_BATCH} per call"
        )
    if lent.areas is None:
        outcomes = [Removal(path, OUT_OF_BOUNDS, 0, f"unknown area `{area}`") for path in paths]
    else:
        outcomes = lent.areas.remove(area, paths, lent.since_ns, lent.dry_run, lent.cancelled)
    for outcome in outcomes:
        if outcome.status == OUT_OF_BOUNDS:
            lent.audit.violation(
                f"asked to remove `{outcome.path}` in area `{area}`, which is outside the area "
                f"({outcome.reason or 'refused'})"
            )
    removed = [outcome for outcome in outcomes if outcome.status == REMOVED]
    lent.audit.record(area, reason, removed)
    if lent.on_removed is not None and removed:
        lent.on_removed(area, reason, removed)
    if any(outcome.status == CANCELLED for outcome in outcomes):
        lent.stop_if_cancelled()
    return _pack_outcomes(outcomes)


def _phase_totals(phase: dict) -> tuple[int, int]:
    return (phase["files-removed"] + phase["directories-removed"], phase["bytes-freed"])


def check_report(report: dict, dry_run: bool, max_samples: int, audit: Audit) -> None:
    """Raises ``ValueError`` saying why ``report`` (a ``cleanup-report``) is not one a policy
    could honestly give after what the host did (the native host's ``CleanupReport::check``)."""
    if report["dry-run"] != dry_run:
        raise ValueError(f"the report says dry_run={report['dry-run']} for a call with dry_run={dry_run}")
    removals, errors = report["removals"], report["errors"]
    if len(removals) > max_samples or len(errors) > max_samples:
        raise ValueError(
            f"{len(removals)} removal(s) and {len(errors)} problem(s) are listed; at most {max_samples} "
            "of each were asked for"
        )
    if report["error-count"] < len(errors):
        raise ValueError(f"{len(errors)} problem(s) are listed but the count says {report['error-count']}")
    seen = set()
    for removal in removals:
        key = (removal["area"], removal["path"])
        if key in seen:
            raise ValueError(f"`{removal['path']}` in area `{removal['area']}` is listed twice")
        seen.add(key)
        made = audit.first.get(key)
        if made is None:
            raise ValueError(
                f"`{removal['path']}` in area `{removal['area']}` is listed as removed, but it is not "
                f"among the first {max_samples} removals the host made"
            )
        if made != (removal["bytes"], removal["reason"]):
            raise ValueError(
                f"`{removal['path']}` in area `{removal['area']}` is listed with {removal['bytes']} bytes "
                f"for `{removal['reason']}`; the host freed {made[0]} for `{made[1]}`"
            )
    listed = set()
    sums = {"age": [0, 0, 0], "cache-cap": [0, 0, 0]}
    for area in report["areas"]:
        if area["area"] in listed:
            raise ValueError(f"area `{area['area']}` is listed twice")
        listed.add(area["area"])
        for phase, reason in ((area["temporary-files"], "age"), (area["cache-cleanup"], "cache-cap")):
            claimed = _phase_totals(phase)
            made = tuple(audit.totals.get((area["area"], reason), (0, 0)))
            if claimed != made:
                raise ValueError(
                    f"area `{area['area']}` reports {claimed[0]} removal(s) of {claimed[1]} bytes for "
                    f"`{reason}`; the host made {made[0]} of {made[1]} bytes"
                )
            total = sums[reason]
            total[0] += phase["files-removed"]
            total[1] += phase["bytes-freed"]
            total[2] += phase["directories-removed"]
    for (area, reason), (entries, _) in audit.totals.items():
        if entries > 0 and area not in listed:
            raise ValueError(
                f"the host removed entries in area `{area}` for `{reason}`, which the report does not list"
            )
    for phase, reason in ((report["temporary-files"], "age"), (report["cache-cleanup"], "cache-cap")):
        if [phase["files-removed"], phase["bytes-freed"], phase["directories-removed"]] != sums[reason]:
            raise ValueError("the phase totals are not the sums over the areas")
