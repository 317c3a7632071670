"""``host-metrics`` for the Python host: memory from ``psutil`` with the cgroup v2/v1 limit applied
when lower (as the native host does, ``host/src/capabilities/metrics.rs``), the disk of the data
directory, CPU, load and the managed areas' usage (measured by a streaming walk, reused for
:data:`AREA_USAGE_MAX_AGE` seconds)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Optional

from .fs.areas import Areas

__all__ = ["AREA_USAGE_MAX_AGE", "Metrics", "effective_memory", "read_cgroup_memory"]

#: Seconds a measured usage of the areas is reused.
AREA_USAGE_MAX_AGE = 60.0
#: cgroup v1 reports "no limit" as a huge page-aligned number; anything this large is none.
_V1_UNLIMITED_FLOOR = 1 << 60
#: The shortest interval over which a CPU ratio means something.
_CPU_MIN_INTERVAL = 0.2


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text()
    except OSError:
        return None


def _number(text: Optional[str]) -> Optional[int]:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def read_cgroup_memory(root: Path, proc_self_cgroup: str) -> Optional[tuple[Optional[int], Optional[int]]]:
    """``(limit, usage)`` of this process's cgroup under ``root`` (normally ``/sys/fs/cgroup``),
    v2 first (its own group, then the root), then v1; a limit of ``None`` is unlimited; ``None``
    when no cgroup memory files are found."""
    own = next((line[3:].strip() for line in proc_self_cgroup.splitlines() if line.startswith("0::")), None)
    candidates = ([root / own.lstrip("/")] if own is not None else []) + [root]
    for directory in candidates:
        maximum = _read(directory / "memory.max")
        if maximum is not None:
            limit = None if maximum.strip() == "max" else _number(maximum)
            return limit, _number(_read(directory / "memory.current"))
    v1 = root / "memory"
    limit_text = _read(v1 / "memory.limit_in_bytes")
    if limit_text is None:
        return None
    limit = _number(limit_text)
    if limit is not None and limit >= _V1_UNLIMITED_FLOOR:
        limit = None
    return limit, _number(_read(v1 / "memory.usage_in_bytes"))


def effective_memory(total: int, available: int, cgroup) -> dict:
    """The ``memory`` record: the machine's figures, or the container's when its limit is lower."""

    def ratio(used: int, whole: int) -> float:
        return 0.0 if whole == 0 else min(max(used / whole, 0.0), 1.0)

    if cgroup is not None and cgroup[0] is not None and cgroup[0] < total:
        limit, usage = cgroup
        used = min(usage if usage is not None else max(total - available, 0), limit)
        return {
            "total": limit,
            "available": limit - used,
            "used": used,
            "used-ratio": ratio(used, limit),
            "container-limited": True,
        }
    used = max(total - available, 0)
    return {"total": total, "available": available, "used": used, "used-ratio": ratio(used, total), "container-limited": False}


def disk_usage(path: Path) -> dict:
    """The ``disk`` record of the filesystem holding ``path`` (``used / (used + free)``, as ``df``)."""
    info = os.statvfs(path)
    block = max(info.f_frsize, 1)
    total = info.f_blocks * block
    free = info.f_bavail * block
    used = max(total - info.f_bfree * block, 0)
    return {"total": total, "free": free, "used": used, "used-ratio": 0.0 if used + free == 0 else used / (used + free)}


class Metrics:
    """Takes ``system-resources`` snapshots; keeps the CPU sampler and the last area usage."""

    def __init__(self, areas: Areas, cgroup_root: Path = Path("/sys/fs/cgroup")) -> None:
        self.areas = areas
        self.cgroup_root = cgroup_root
        import psutil  # imported on first use: `import bachata_common` stays light

        self._psutil = psutil
        self._lock = threading.Lock()
        self._cpu_primed = time.monotonic()
        psutil.cpu_percent(interval=None)
        self._area_usage: Optional[tuple[float, list]] = None

    def invalidate_area_usage(self) -> None:
        """Forgets the measured area usage (after a cleanup changed the areas)."""
        with self._lock:
            self._area_usage = None

    def area_usage(self) -> list:
        with self._lock:
            cached = self._area_usage
        if cached is not None and time.monotonic() - cached[0] < AREA_USAGE_MAX_AGE:
            return cached[1]
        usage = self.areas.usage()
        with self._lock:
            self._area_usage = (time.monotonic(), usage)
        return usage

    def snapshot(self) -> dict:
        """One snapshot. The first waits until the CPU sampler has a meaningful interval."""
        waited = time.monotonic() - self._cpu_primed
        if waited < _CPU_MIN_INTERVAL:
            time.sleep(_CPU_MIN_INTERVAL - waited)
        cpu = self._psutil.cpu_percent(interval=None) / 100.0
        memory = self._psutil.virtual_memory()
        try:
            with open("/proc/self/cgroup", encoding="utf-8") as file:
                proc_self_cgroup = file.read()
        except OSError:
            proc_self_cgroup = ""
        cgroup = read_cgroup_memory(self.cgroup_root, proc_self_cgroup)
        try:
            disk = disk_usage(self.areas.root)
        except OSError:
            disk = {"total": 0, "free": 0, "used": 0, "used-ratio": 0.0}
        try:
            load = os.getloadavg()
        except OSError:
            load = (0.0, 0.0, 0.0)
        return {
            "taken-at": int(time.time()),
            "memory": effective_memory(memory.total, memory.available, cgroup),
            "disk": disk,
            "cpu-ratio": min(max(cpu, 0.0), 1.0),
            "load-average": tuple(float(value) for value in load),
            "areas": self.area_usage(),
        }
