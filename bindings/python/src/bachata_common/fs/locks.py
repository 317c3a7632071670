"""Who holds locks: ``/proc/locks`` for a scan's view of every file and directory in use, and
non-blocking ``flock`` tests on a directory about to be entered or removed."""

from __future__ import annotations

import fcntl
import os
from typing import Optional

__all__ = ["directory_locked", "lock_directory", "locked_files", "parse_proc_locks"]


def parse_proc_locks(text: str) -> set[tuple[int, int, int]]:
    """``(major, minor, inode)`` of each lock in ``/proc/locks`` text
    (``1: FLOCK ADVISORY WRITE 123 08:01:456 0 EOF``, device numbers in hex)."""
    found = set()
    for line in text.splitlines():
        fields = [field for field in line.split() if field != "->"]
        if len(fields) < 6:
            continue
        parts = fields[5].split(":")
        if len(parts) != 3:
            continue
        try:
            found.add((int(parts[0], 16), int(parts[1], 16), int(parts[2])))
        except ValueError:
            continue
    return found


def locked_files() -> set[tuple[int, int, int]]:
    """Every file or directory some process holds a lock on (empty when ``/proc`` is missing)."""
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as file:
            return parse_proc_locks(file.read())
    except OSError:
        return set()


def directory_locked(fd: int) -> bool:
    """Whether someone holds an ``flock`` on the open directory ``fd`` (tested, not kept)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def lock_directory(fd: int) -> Optional[int]:
    """A new descriptor of the directory ``fd`` holding an exclusive ``flock`` on it until
    closed; ``None`` when someone else holds a lock on it."""
    held = os.dup(fd)
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(held)
        return None
    except BaseException:
        os.close(held)
        raise
    return held
