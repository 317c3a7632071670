"""A dataset root for the directory organizer, as the native host opens it
(``host/src/capabilities/dataset/mod.rs``): every access relative to the root's descriptor, one
path component at a time, never through a symbolic link, never onto another mount, and every
move ``renameat2(RENAME_NOREPLACE)`` so nothing is ever overwritten.

``renameat2`` is called through ``ctypes`` (glibc 2.28+): Python's ``os.rename`` replaces an
existing target, and a check-then-rename leaves a window in which another process can create the
target. Where the call or the flag is missing (``ENOSYS``, ``EINVAL``: old kernels, some
filesystems), a hard link then an unlink of the source does the move — the link fails when the
target exists, so nothing is overwritten either.
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Union

from ..fs.stat import DIRECTORY, FILE, SYMLINK, Stat, stat_at, stat_fd
from ..fs.walk import open_dir_nofollow

__all__ = [
    "Dataset",
    "FileId",
    "PathRefused",
    "RootId",
    "canonical_path",
    "components",
    "MOVED",
    "TARGET_EXISTS",
    "MISSING",
    "CHANGED",
    "REFUSED",
    "FAILED",
]

#: What became of one move.
MOVED, TARGET_EXISTS, MISSING, CHANGED, REFUSED, FAILED = "moved", "target_exists", "missing", "changed", "refused", "failed"

#: The deepest folder the survey enters.
MAX_DEPTH = 64
_RENAME_NOREPLACE = 1


class FileId(NamedTuple):
    """Which file a path named when it was planned: inode, size and modification time (an inode
    number alone is reused as soon as a file is deleted)."""

    inode: int
    size: int
    mtime: int
    mtime_nsec: int

    @classmethod
    def of(cls, stat: Stat) -> "FileId":
        return cls(stat.inode, stat.size, stat.mtime, stat.mtime_nsec)


class RootId(NamedTuple):
    """Which directory a dataset root is: its device and inode. The same directory whatever path
    reaches it (renamed, through a bind mount of its filesystem), and only that one; a journal
    records it."""

    device: int
    inode: int

    @classmethod
    def of_path(cls, path: Union[str, os.PathLike]) -> "RootId":
        """The directory ``path`` names now (a link followed, as :class:`Dataset` follows one; a
        relative path from the current directory): opened as the root is, then looked at."""
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            found = stat_fd(fd)
        finally:
            os.close(fd)
        return cls(found.mount.device, found.inode)


def canonical_path(root: Union[str, os.PathLike]) -> str:
    """``root``'s canonical absolute path (links resolved), or its absolute path when it cannot
    be resolved: what a journal records for people (the root is matched by :class:`RootId`)."""
    try:
        return str(Path(root).resolve(strict=True))
    except (OSError, RuntimeError):
        return os.path.abspath(root)


class PathRefused(Exception):
    """A path component is a symbolic link, another mount or not a directory, or the path is not
    a plain relative one."""


def components(path: str) -> list[str]:
    """A relative path's components; :class:`PathRefused` when it is absolute, empty, or has an
    empty, ``.`` or ``..`` component or a NUL."""
    parts = path.split("/")
    if path.startswith("/") or any(part in ("", ".", "..") or "\0" in part for part in parts):
        raise PathRefused(f"{path!r} is not a plain relative path inside the root")
    return parts


def _load_renameat2():
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _load_syncfs():
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_renameat2 = _load_renameat2()
_syncfs = _load_syncfs()


def rename_noreplace(from_dir: int, source: str, to_dir: int, target: str) -> None:
    """Moves ``source`` (in ``from_dir``) to ``target`` (in ``to_dir``) unless ``target`` exists
    (``FileExistsError``)."""
    if _renameat2 is not None:
        if _renameat2(from_dir, os.fsencode(source), to_dir, os.fsencode(target), _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(code, os.strerror(code), target)
    os.link(source, target, src_dir_fd=from_dir, dst_dir_fd=to_dir, follow_symlinks=False)
    os.unlink(source, dir_fd=from_dir)


class Dataset:
    """An opened dataset root (the root itself may be reached through a link: the caller's
    choice; nothing below it is)."""

    def __init__(self, root: Union[str, os.PathLike]) -> None:
        self.root = Path(root)
        self.fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.mount = stat_fd(self.fd).mount

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def id(self) -> RootId:
        """Which directory the root is (the one opened, whatever its path names now)."""
        found = stat_fd(self.fd)
        return RootId(found.mount.device, found.inode)

    def holds(self, path: str, file: FileId) -> bool:
        """Whether ``path`` names the regular file ``file`` (errors and refusals are a no)."""
        try:
            kind, found = self.find(path)
        except (PathRefused, OSError):
            return False
        return kind == "file" and FileId.of(found) == file

    def _parent(self, parts: list[str], create: bool) -> Optional[int]:
        """A new descriptor of the directory holding ``parts[:-1]``, opened component by
        component (``create`` makes missing ones, mode 0755); ``None`` when one is missing."""
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self.fd)
        try:
            for part in parts[:-1]:
                try:
                    found = stat_at(fd, part)
                except FileNotFoundError:
                    if not create:
                        os.close(fd)
                        return None
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                else:
                    if found.kind == SYMLINK:
                        raise PathRefused(f"{part!r} is a symbolic link")
                    if found.kind != DIRECTORY:
                        raise PathRefused(f"{part!r} is not a directory")
                    if not self.mount.holds(found.mount):
                        raise PathRefused(f"{part!r} is on another filesystem")
                try:
                    following = open_dir_nofollow(fd, part)
                except OSError as error:
                    if error.errno == errno.ELOOP:
                        raise PathRefused(f"{part!r} is a symbolic link") from None
                    raise
                os.close(fd)
                fd = following
                if not self.mount.holds(stat_fd(fd).mount):
                    raise PathRefused(f"{part!r} is on another filesystem")
        except BaseException:
            os.close(fd)
            raise
        return fd

    def find(self, path: str):
        """What ``path`` names: ``("file", stat)``, ``("missing", None)`` or ``("not-a-file",
        None)``; :class:`PathRefused` for a path through a link or another mount, ``OSError``
        when the system refuses."""
        parts = components(path)
        fd = self._parent(parts, create=False)
        if fd is None:
            return ("missing", None)
        try:
            found = stat_at(fd, parts[-1])
        except FileNotFoundError:
            return ("missing", None)
        finally:
            os.close(fd)
        if found.kind == FILE:
            return ("file", found)
        if found.kind == SYMLINK:
            raise PathRefused(f"{path!r} is a symbolic link")
        return ("not-a-file", None)

    def move_file(self, source: str, target: str, expected: Optional[FileId] = None) -> tuple[str, Optional[str]]:
        """Moves ``source`` to ``target`` when ``source`` is still the file ``expected``, making
        the target's directories; never overwrites. Returns the outcome and a reason."""
        try:
            source_parts, target_parts = components(source), components(target)
        except PathRefused as refused:
            return (REFUSED, str(refused))
        try:
            source_dir = self._parent(source_parts, create=False)
        except PathRefused as refused:
            return (REFUSED, str(refused))
        except OSError as error:
            return (FAILED, str(error))
        if source_dir is None:
            return (MISSING, None)
        target_dir = None
        try:
            name = source_parts[-1]
            try:
                found = stat_at(source_dir, name)
            except FileNotFoundError:
                return (MISSING, None)
            if found.kind != FILE or (expected is not None and FileId.of(found) != expected):
                return (CHANGED, None)
            try:
                target_dir = self._parent(target_parts, create=True)
            except PathRefused as refused:
                return (REFUSED, str(refused))
            if target_dir is None:
                return (FAILED, "the target's folder could not be made")
            try:
                rename_noreplace(source_dir, name, target_dir, target_parts[-1])
            except FileExistsError:
                return (TARGET_EXISTS, None)
            except FileNotFoundError:
                return (MISSING, None)
            return (MOVED, None)
        except OSError as error:
            return (FAILED, f"{error.strerror or error} (os error {error.errno})")
        finally:
            os.close(source_dir)
            if target_dir is not None:
                os.close(target_dir)

    def sync(self) -> None:
        """Flushes the root's filesystem (the moves' directory entries) to disk, before the
        annotation file is made to point at them (``syncfs``; ``sync`` where it is missing)."""
        if _syncfs is not None and _syncfs(self.fd) == 0:
            return
        os.sync()

    def survey(self, is_video: Callable[[str], bool], is_category: Callable[[str], bool]) -> dict:
        """The dataset's structure: video files, folders, and the videos already at
        ``<category>/<label>/<file>``; links and other filesystems counted as skipped, never
        entered."""
        structure = {"video_files": 0, "folders": 0, "organized_files": 0, "per_category": {}, "skipped": 0}
        stack = [(os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self.fd), 0, None)]
        while stack:
            fd, depth, top = stack.pop()
            try:
                with os.scandir(fd) as listing:
                    names = [entry.name for entry in listing]
            except OSError:
                structure["skipped"] += 1
                os.close(fd)
                continue
            for name in names:
                try:
                    found = stat_at(fd, name)
                except OSError:
                    structure["skipped"] += 1
                    continue
                if found.kind == DIRECTORY and self.mount.holds(found.mount) and depth < MAX_DEPTH:
                    structure["folders"] += 1
                    try:
                        stack.append((open_dir_nofollow(fd, name), depth + 1, top if top is not None else name))
                    except OSError:
                        structure["skipped"] += 1
                elif found.kind == FILE:
                    if is_video(name):
                        structure["video_files"] += 1
                        if depth == 2 and top is not None and is_category(top):
                            structure["organized_files"] += 1
                            structure["per_category"][top] = structure["per_category"].get(top, 0) + 1
                else:
                    structure["skipped"] += 1
            os.close(fd)
        structure["per_category"] = dict(sorted(structure["per_category"].items()))
        return structure
