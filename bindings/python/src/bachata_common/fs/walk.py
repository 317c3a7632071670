"""The streaming walk of an area: depth first, a directory listed before what it holds, one open
directory (and its listing) per level of the current path and nothing else, so memory does not
grow with the area. Never through a link or into another mount; stops when cancelled.
The native host's walk (``host/src/capabilities/fs/walk.rs``), step for step."""

from __future__ import annotations

import os
from collections import deque
from typing import Callable, Optional, Union

from . import names
from .stat import DIRECTORY, FILE, Mount, quick_stat_at, stat_at

__all__ = ["MAX_DEPTH", "Walker", "open_dir_nofollow"]

#: Deepest level a walk descends to; a directory deeper than this is listed, not entered.
MAX_DEPTH = 4096
#: How often (in entries) a walk looks at its cancel switch.
CANCEL_CHECK_EVERY = 1024

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_dir_nofollow(dirfd: int, name) -> int:
    """Opens the directory ``name`` inside ``dirfd`` for reading, without following a link."""
    return os.open(name, _DIR_FLAGS, dir_fd=dirfd)



def _part_of_open_database(dir_fd: int, name: Union[str, bytes], size: int, locks) -> bool:
    """Whether ``name`` is a file of an SQLite database some process has open: the database
    ``X`` while ``X-shm`` is locked, or its journal ``X-wal``/``X-journal`` while ``X`` or
    ``X-shm`` is locked (the native host's ``part_of_open_database``). Only database-like
    files are looked at: a size in whole 512-byte pages, or a journal's name."""
    if not locks:
        return False
    raw = os.fsencode(name)

    def locked(sibling: bytes) -> bool:
        try:
            found = stat_at(dir_fd, sibling)
        except OSError:
            return False
        return found.kind == FILE and (found.dev_major, found.dev_minor, found.inode) in locks

    for suffix in (b"-wal", b"-journal"):
        if raw.endswith(suffix) and len(raw) > len(suffix):
            base = raw[: -len(suffix)]
            return locked(base) or locked(base + b"-shm")
    return size > 0 and size % 512 == 0 and locked(raw + b"-shm")

class _Level:
    __slots__ = ("fd", "listing", "prefix")

    def __init__(self, fd: int, prefix: str) -> None:
        self.fd = fd
        self.prefix = prefix
        self.listing = os.scandir(fd)

    def close(self) -> None:
        self.listing.close()
        os.close(self.fd)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


class Walker:
    """A walk below one directory of an area. Owns ``start_fd`` (closed when the walk ends).

    Entries are ``(path, kind, size, mtime, mtime_nanos, locked)``; problems ``(path, reason)``.
    Every directory is looked at with ``statx`` (its mount id) before it is entered; with
    ``files_by_device`` (no mount below the area when the walk began) other entries are looked
    at with the cheaper ``os.stat``, their device number compared — a file mounted there since
    is still refused by its removal, which looks at mount ids.
    """

    def __init__(
        self,
        start_fd: int,
        prefix: str,
        mount: Mount,
        locks: set,
        cancelled: Optional[Callable[[], bool]] = None,
        files_by_device: bool = False,
    ) -> None:
        self.mount = mount
        self.files_by_device = files_by_device
        self.locks = locks
        self._cancelled = cancelled
        try:
            self.stack = [_Level(start_fd, prefix)]
        except BaseException:
            os.close(start_fd)
            raise
        self.queued: deque = deque()
        self.seen = 0
        self.was_cancelled = False
        self.end_reported = False

    def close(self) -> None:
        """Closes every directory still open."""
        while self.stack:
            self.stack.pop().close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    @property
    def done(self) -> bool:
        """Whether nothing more will come."""
        return not self.stack and not self.queued

    def __iter__(self):
        return self

    def __next__(self):
        """The next ``("entry", entry)`` or ``("problem", problem)``."""
        while True:
            if self.queued:
                return self.queued.popleft()
            if not self.stack:
                raise StopIteration
            self.seen += 1
            if self.seen % CANCEL_CHECK_EVERY == 0 and self._cancelled is not None and self._cancelled():
                self.was_cancelled = True
                self.close()
                raise StopIteration
            found = self._advance()
            if found is not None:
                return found

    def page(self, maximum: int) -> tuple[str, int, list]:
        """Up to ``maximum`` more entries, packed as ``host-fs`` pages carry them
        (``kind:locked:size:mtime:nanos:path`` and a NUL each); with how many and the problems
        met on the way."""
        packed = []
        problems = []
        while len(packed) < maximum:
            found = next(self, None)
            if found is None:
                break
            tag, value = found
            if tag == "problem":
                problems.append(value)
                continue
            path, kind, size, mtime, nanos, locked = value
            packed.append(f"{kind}:{1 if locked else 0}:{size}:{mtime}:{nanos}:{path}\0")
        return "".join(packed), len(packed), problems

    def _advance(self):
        depth = len(self.stack)
        level = self.stack[-1]
        try:
            item = next(level.listing, None)
        except OSError as error:
            # A listing that fails once is not read further.
            self.stack.pop().close()
            return ("problem", (level.prefix, str(error)))
        if item is None:
            self.stack.pop().close()
            return None
        name = item.name
        path = _join(level.prefix, names.encode(name))
        try:
            if self.files_by_device and not item.is_dir(follow_symlinks=False):
                found = quick_stat_at(level.fd, name)
                if found.kind == DIRECTORY:  # replaced by a directory since it was listed
                    found = stat_at(level.fd, name)
            else:
                found = stat_at(level.fd, name)
        except FileNotFoundError:
            return None
        except OSError as error:
            return ("problem", (path, error.strerror or str(error)))
        if not self.mount.holds(found.mount):
            return None
        kind = found.kind
        locked = kind in (FILE, DIRECTORY) and (found.dev_major, found.dev_minor, found.inode) in self.locks
        if kind == FILE and not locked:
            locked = _part_of_open_database(level.fd, name, found.size, self.locks)
        entry = (path, kind, 0 if kind == DIRECTORY else found.size, max(found.mtime, 0), found.mtime_nsec, locked)
        if kind == DIRECTORY:
            if depth >= MAX_DEPTH:
                self.queued.append(("problem", (path, f"deeper than {MAX_DEPTH} levels: not entered")))
            else:
                try:
                    fd = open_dir_nofollow(level.fd, name)
                    try:
                        self.stack.append(_Level(fd, path))
                    except BaseException:
                        os.close(fd)
                        raise
                except FileNotFoundError:
                    pass
                except OSError as error:
                    self.queued.append(("problem", (path, error.strerror or str(error))))
        return ("entry", entry)
