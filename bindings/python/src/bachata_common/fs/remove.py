"""Removal batches: each path checked to be a plain relative path, its parent chain opened
without following links (reused between consecutive paths), files locked and unlinked while the
lock is held. The native host's removal (``host/src/capabilities/fs/remove.rs``), rule for rule."""

from __future__ import annotations

import errno
import fcntl
import os
import queue
import stat as _stat
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Optional

from . import names
from .locks import directory_locked, lock_directory
from .stat import DIRECTORY, FILE, SYMLINK, Stat, stat_at, stat_fd
from .walk import open_dir_nofollow

__all__ = [
    "REMOVED",
    "VANISHED",
    "IN_USE",
    "NOT_EMPTY",
    "REFUSED",
    "FAILED",
    "OUT_OF_BOUNDS",
    "CANCELLED",
    "Removal",
    "ParentCache",
    "remove_batch",
    "remove_in_order",
    "split_relative",
]

#: Batches smaller than this are removed on the calling thread.
PARALLEL_MIN_BATCH = 512
#: Most threads a removal batch uses (each mostly waits in the kernel, without the GIL).
MAX_REMOVAL_THREADS = 4

#: Statuses, numbered as ``host-fs``'s ``removal-status`` (the packed form) …
REMOVED, VANISHED, IN_USE, NOT_EMPTY, REFUSED, FAILED = 0, 1, 2, 3, 4, 5
#: … and two the host keeps to itself, answered to the policy as ``refused``.
OUT_OF_BOUNDS, CANCELLED = 6, 7

_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class Removal(NamedTuple):
    """The outcome for one path."""

    path: str
    status: int
    bytes: int
    reason: Optional[str]


def split_relative(path: str) -> tuple[list[str], str]:
    """A policy-supplied path's parent components and final name; ``ValueError`` for anything
    but plain relative components."""
    if not path:
        raise ValueError("empty path (the area root is never removed)")
    if "\0" in path:
        raise ValueError("path contains a NUL byte")
    if path.startswith("/"):
        raise ValueError("absolute paths are refused")
    parts = path.split("/")
    for part in parts:
        if part == "":
            raise ValueError("empty path segment (`//` or a trailing `/`)")
        if part == ".":
            raise ValueError("`.` is refused")
        if part == "..":
            raise ValueError("`..` is refused")
    return parts[:-1], parts[-1]


def _reason(error: OSError) -> str:
    return f"{error.strerror} (os error {error.errno})" if error.strerror else str(error)


class ParentCache:
    """The chain of directories opened for the last path, reused for the next one as far as the
    two share parents: removing a deep tree children first opens each directory once."""

    def __init__(self) -> None:
        self.chain: list[tuple[str, int]] = []

    def truncate(self, keep: int) -> None:
        while len(self.chain) > keep:
            os.close(self.chain.pop()[1])

    def close(self) -> None:
        self.truncate(0)


class _Stop(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _not_a_directory(base: int, part: str, name: bytes, since_ns: Optional[int]) -> _Stop:
    """Why a component could not be opened as a directory: it changed since the work began (a
    race: skipped and reported), or the policy named a path through a link (out of bounds)."""
    try:
        found = stat_at(base, name)
    except FileNotFoundError:
        return _Stop(VANISHED, "parent directory is gone")
    except OSError as error:
        return _Stop(FAILED, _reason(error))
    if found.kind == SYMLINK:
        if since_ns is not None and found.ctime_ns >= since_ns:
            return _Stop(
                REFUSED,
                f"`{part}` became a symbolic link during the cleanup; it is never followed, so "
                "this path was skipped",
            )
        return _Stop(OUT_OF_BOUNDS, f"`{part}` is a symbolic link, which is never followed")
    return _Stop(REFUSED, f"`{part}` is not a directory (it changed since the scan)")


def _open_parent(area, cache: ParentCache, parents: list[str], since_ns: Optional[int]) -> int:
    common = 0
    for (cached, _), wanted in zip(cache.chain, parents):
        if cached != wanted:
            break
        common += 1
    cache.truncate(common)
    for part in parents[common:]:
        try:
            name = names.decode(part)
        except ValueError as error:
            raise _Stop(OUT_OF_BOUNDS, str(error)) from None
        base = cache.chain[-1][1] if cache.chain else area.fd
        try:
            fd = open_dir_nofollow(base, name)
        except FileNotFoundError:
            raise _Stop(VANISHED, "parent directory is gone") from None
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _not_a_directory(base, part, name, since_ns) from None
            raise _Stop(FAILED, f"cannot open `{part}`: {_reason(error)}") from None
        try:
            found = stat_fd(fd)
            if not area.mount.holds(found.mount):
                raise _Stop(REFUSED, f"`{part}` is a mount point of another filesystem or a bind mount")
            if directory_locked(fd):
                raise _Stop(IN_USE, f"directory `{part}` is locked by a process")
        except OSError as error:
            os.close(fd)
            raise _Stop(FAILED, _reason(error)) from None
        except BaseException:
            os.close(fd)
            raise
        cache.chain.append((part, fd))
    return cache.chain[-1][1] if cache.chain else area.fd


def _os_failure(path: str, error: OSError) -> Removal:
    if error.errno == errno.ENOENT:
        return Removal(path, VANISHED, 0, None)
    return Removal(path, FAILED, 0, _reason(error))


def _remove_directory(dirfd: int, path: str, name: bytes, dry_run: bool) -> Removal:
    # A directory held under `flock` (a live temp directory) is in use; otherwise our own lock
    # is held until it is gone, so no one takes it in between.
    try:
        handle = open_dir_nofollow(dirfd, name)
    except OSError as error:
        return _os_failure(path, error)
    try:
        held = lock_directory(handle)
    except OSError as error:
        return _os_failure(path, error)
    finally:
        os.close(handle)
    if held is None:
        return Removal(path, IN_USE, 0, None)
    try:
        if dry_run:
            return Removal(path, REMOVED, 0, None)
        try:
            os.rmdir(name, dir_fd=dirfd)
        except OSError as error:
            if error.errno == errno.ENOTEMPTY:
                return Removal(path, NOT_EMPTY, 0, None)
            return _os_failure(path, error)
        return Removal(path, REMOVED, 0, None)
    finally:
        os.close(held)


class Closer:
    """Closes the descriptors of unlinked files on a background thread. The lock is held until
    the descriptor closes, and that last close frees the inode: the slow part on many
    filesystems (block frees, discards). The next removal goes on meanwhile; :meth:`drain`
    waits until every descriptor handed over is closed."""

    def __init__(self) -> None:
        self._queue: Optional[queue.SimpleQueue] = None
        self._thread: Optional[threading.Thread] = None

    def close(self, fd: int) -> None:
        if self._thread is None:
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._run, name="bachata-close", daemon=True)
            self._thread.start()
        assert self._queue is not None
        self._queue.put(fd)

    def _run(self) -> None:
        assert self._queue is not None
        while True:
            fd = self._queue.get()
            if fd is None:
                return
            try:
                os.close(fd)
            except OSError:
                pass

    def drain(self) -> None:
        if self._thread is not None and self._queue is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


def _remove_file(area, dirfd: int, path: str, name: bytes, looked_at: Stat, dry_run: bool, closer: Closer) -> Removal:
    """Removes a regular file: opened without following a link, checked to be the entry looked
    at, locked (non-blocking ``flock``) and unlinked while the lock is held, after checking once
    more that the name still names it.

    The name was looked at with ``statx`` (on the area's mount, by mount id); the later checks
    compare device and inode numbers (``os.fstat``, ``os.stat``), which name one file: a name
    mounted over since (a bind mount shows the same numbers) cannot be unlinked (``EBUSY``)."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dirfd)
    except PermissionError:
        return Removal(path, FAILED, 0, "permission denied: cannot check whether the file is in use")
    except OSError as error:
        return _os_failure(path, error)
    replaced = Removal(path, REFUSED, 0, "replaced while being removed (kept)")
    handed_over = False
    try:
        opened = os.fstat(fd)
        if (
            opened.st_dev != looked_at.mount.device
            or opened.st_ino != looked_at.inode
            or not _stat.S_ISREG(opened.st_mode)
        ):
            return replaced
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return Removal(path, IN_USE, 0, None)
        now = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
        if now.st_ino != opened.st_ino or now.st_dev != opened.st_dev:
            return replaced
        if dry_run:
            return Removal(path, REMOVED, opened.st_size, None)
        os.unlink(name, dir_fd=dirfd)
        closer.close(fd)
        handed_over = True
        return Removal(path, REMOVED, opened.st_size, None)
    except OSError as error:
        return _os_failure(path, error)
    finally:
        if not handed_over:
            os.close(fd)


def remove_one(
    area, cache: ParentCache, path: str, since_ns: Optional[int], dry_run: bool, closer: Closer
) -> Removal:
    """Removes one path of ``area`` (see :func:`remove_in_order`)."""
    try:
        parents, last = split_relative(path)
        name = names.decode(last)
    except ValueError as error:
        return Removal(path, OUT_OF_BOUNDS, 0, str(error))
    try:
        dirfd = _open_parent(area, cache, parents, since_ns)
    except _Stop as stop:
        return Removal(path, stop.status, 0, None if stop.status == VANISHED else stop.reason)
    # Look first (without following a link): only regular files are ever opened, so a FIFO or
    # device node is unlinked without being opened for I/O.
    try:
        found = stat_at(dirfd, name)
    except OSError as error:
        return _os_failure(path, error)
    if not area.mount.holds(found.mount):
        return Removal(path, REFUSED, 0, "a mount point of another filesystem or a bind mount")
    # A directory's own times change as its entries go; only an emptied one is removed.
    if found.kind != DIRECTORY and since_ns is not None and found.ctime_ns >= since_ns:
        return Removal(path, REFUSED, 0, "changed since the cleanup began (kept for the next one)")
    if found.kind == DIRECTORY:
        return _remove_directory(dirfd, path, name, dry_run)
    if found.kind == FILE:
        return _remove_file(area, dirfd, path, name, found, dry_run, closer)
    # The link itself (or a socket/FIFO/device entry) goes; nothing it points at is touched.
    if dry_run:
        return Removal(path, REMOVED, found.size, None)
    try:
        os.unlink(name, dir_fd=dirfd)
    except OSError as error:
        return _os_failure(path, error)
    return Removal(path, REMOVED, found.size, None)


def remove_in_order(area, paths, since_ns: Optional[int], dry_run: bool, cancelled=None) -> list[Removal]:
    """Removes ``paths`` of ``area`` in order with one parent cache; once ``cancelled()`` is
    true, the paths not yet attempted are answered ``CANCELLED``."""
    cache = ParentCache()
    closer = Closer()
    out = []
    try:
        for path in paths:
            if cancelled is not None and cancelled():
                out.append(Removal(path, CANCELLED, 0, "the cleanup was cancelled"))
            else:
                out.append(remove_one(area, cache, path, since_ns, dry_run, closer))
    finally:
        closer.drain()
        cache.close()
    return out


_pool: Optional[ThreadPoolExecutor] = None


def _workers() -> int:
    return min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
               MAX_REMOVAL_THREADS)


def remove_batch(area, paths, since_ns: Optional[int], dry_run: bool, cancelled=None) -> list[Removal]:
    """Removes a batch in order, spreading it over a few threads when it is large (the native
    host's rule): paths are grouped by their first component — two paths with different first
    components cannot be ancestor and descendant, so groups are independent — and each group
    keeps its order (children before parents, as the policy sends them)."""
    global _pool
    threads = _workers()
    if len(paths) < PARALLEL_MIN_BATCH or threads < 2:
        return remove_in_order(area, paths, since_ns, dry_run, cancelled)
    groups: dict[str, list[int]] = {}
    for index, path in enumerate(paths):
        groups.setdefault(path.split("/", 1)[0], []).append(index)
    work: list[list[int]] = [[] for _ in range(threads)]
    for group in sorted(groups.values(), key=len, reverse=True):
        min(work, key=len).extend(group)
    if _pool is None:
        _pool = ThreadPoolExecutor(MAX_REMOVAL_THREADS, thread_name_prefix="bachata-remove")
    results: list[Optional[Removal]] = [None] * len(paths)

    def run(indices: list[int]) -> list[tuple[int, Removal]]:
        indices.sort()
        done = remove_in_order(area, [paths[i] for i in indices], since_ns, dry_run, cancelled)
        return list(zip(indices, done))

    for future in [_pool.submit(run, indices) for indices in work if indices]:
        for index, removal in future.result():
            results[index] = removal
    return [
        removal if removal is not None else Removal(path, FAILED, 0, "removal worker failed")
        for removal, path in zip(results, paths)
    ]
