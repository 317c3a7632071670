"""The temp file manager of the original ``common`` app: scoped temp files and directories in the
``temp`` area, per-user directories, and tracking of what is in use — with the native host's rules
(``host/src/services/temp/``).

Files are created exclusively with mode 0600 through the parent directory's descriptor and held
under an exclusive ``flock`` while in use; directories are created with mode 0700 and locked the
same way. The cleaner skips anything locked, so a live temp file is never removed under its user.
Both are removed on exit, also when the code using them fails.

>>> import asyncio, tempfile
>>> from bachata_common import ResourceManager, TempFileManager
>>> manager = TempFileManager(ResourceManager(data_dir=tempfile.mkdtemp()))
>>> async def mix():
...     async with manager.temp_file(suffix=".wav", user_id="42") as path:
...         path.write_bytes(b"RIFF")
...         return path.stat().st_mode & 0o777, path.parent.name
>>> asyncio.run(mix())
(384, 'user_42')
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import secrets
import shutil
import threading
from pathlib import Path
from typing import Optional, Union

from .exceptions import ValidationError
from .fs.remove import IN_USE, REMOVED, VANISHED, NOT_EMPTY
from .fs.stat import DIRECTORY, stat_at, stat_fd
from .fs.walk import open_dir_nofollow

__all__ = ["TEMP_AREA", "TempFileManager", "check_user_id", "temp_file_manager"]

_log = logging.getLogger("bachata_common")

#: The area temp files live in.
TEMP_AREA = "temp"
#: Files removed per batch when a user's directory is cleaned.
USER_BATCH = 4096

_USER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_AFFIX = re.compile(r"[A-Za-z0-9._-]{0,64}")
_FILE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

UserId = Union[str, int]


def check_user_id(user_id: UserId) -> str:
    """The user id as text; ``ValidationError`` unless it is 1 to 64 of ``A-Z``, ``a-z``,
    ``0-9``, ``_``, ``-`` (so ``../..`` never names a directory)."""
    text = str(user_id)
    if isinstance(user_id, bool) or _USER_ID.fullmatch(text) is None:
        raise ValidationError(
            f"invalid user id {text!r}: use 1 to 64 letters, digits, `_` or `-`", field="user_id", value=text
        )
    return text


def _check_affix(field: str, affix: str) -> None:
    if not isinstance(affix, str) or _AFFIX.fullmatch(affix) is None or ".." in affix:
        raise ValidationError(
            f"invalid {field} {affix!r}: use at most 64 letters, digits, `.`, `_` or `-`",
            field=field,
            value=str(affix),
        )


class _Live:
    """One live temp entry: its path, the parent's descriptor and name, and the locked handle."""

    __slots__ = ("path", "parent_fd", "name", "fd", "inode", "directory")

    def __init__(self, path: Path, parent_fd: int, name: str, fd: int, directory: bool) -> None:
        self.path = path
        self.parent_fd = parent_fd
        self.name = name
        self.fd = fd
        self.inode = stat_fd(fd).inode
        self.directory = directory

    def remove(self) -> None:
        """Removes the entry if its name still names it (never what replaced it), then lets go
        of the lock and the descriptors."""
        try:
            try:
                current = stat_at(self.parent_fd, self.name)
            except FileNotFoundError:
                return
            if current.inode != self.inode:
                _log.warning("temp entry %s was replaced; the replacement is kept", self.path)
                return
            if self.directory:
                shutil.rmtree(self.name, dir_fd=self.parent_fd)
            else:
                os.unlink(self.name, dir_fd=self.parent_fd)
        except OSError as error:
            _log.warning("could not remove temp entry %s: %s", self.path, error)
        finally:
            os.close(self.fd)
            os.close(self.parent_fd)


class _Scoped:
    """A temp file or directory for ``async with`` or ``with``: created on entry (yielding its
    ``Path``), removed on exit, whatever the body did."""

    def __init__(self, manager: "TempFileManager", create) -> None:
        self._manager = manager
        self._create = create
        self._id: Optional[int] = None

    def __enter__(self) -> Path:
        self._id, path = self._create()
        return path

    def __exit__(self, *_exc) -> None:
        if self._id is not None:
            self._manager._release(self._id)
            self._id = None

    async def __aenter__(self) -> Path:
        return self.__enter__()

    async def __aexit__(self, *exc) -> None:
        self.__exit__(*exc)


class TempFileManager:
    """Creates and tracks temp files and directories in the ``temp`` area of a resource manager
    (by default :data:`bachata_common.resource_manager`)."""

    def __init__(self, resource_manager=None) -> None:
        self._resource_manager = resource_manager
        self._lock = threading.Lock()
        self._live: dict[int, _Live] = {}
        self._next_id = 0

    # -- where things go ---------------------------------------------------------------------

    def _manager(self):
        if self._resource_manager is None:
            from .resources import resource_manager

            self._resource_manager = resource_manager
        return self._resource_manager

    def _temp_area(self):
        areas = self._manager().areas
        area = areas.area(TEMP_AREA)
        if area is None:
            raise ValidationError(
                "the `temp` area must be managed", field="BACHATA_AREAS", value=",".join(areas.names())
            )
        reason = areas.displaced(area)
        if reason:
            raise OSError(errno.ESTALE, reason)
        return area

    @property
    def temp_root(self) -> Path:
        """The ``temp`` area's directory."""
        return self._temp_area().path

    def _user_dir(self, user_id: UserId) -> tuple[Path, int]:
        """The directory of a user (``temp/user_<id>``, mode 0700, created when missing) and a
        descriptor of it, reached through the area's descriptor without following a link. One
        owned by someone else, a link or a file is refused; one open to others is tightened."""
        text = check_user_id(user_id)
        area = self._temp_area()
        name = f"user_{text}"
        path = area.path / name
        try:
            os.mkdir(name, 0o700, dir_fd=area.fd)
        except FileExistsError:
            pass

        def refuse(why: str) -> ValidationError:
            return ValidationError(
                f"the temp directory of user {text!r} ({path}) {why}; it is not used", field="user_id", value=text
            )

        try:
            fd = open_dir_nofollow(area.fd, name)
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                raise refuse("is a symbolic link or not a directory") from None
            raise
        try:
            found = stat_fd(fd)
            if found.uid != os.geteuid():
                raise refuse(f"belongs to another user (uid {found.uid})")
            if found.mode & 0o077:
                os.fchmod(fd, 0o700)
                _log.warning("a user temp directory was open to others; its mode is now 0700: %s", path)
        except BaseException:
            os.close(fd)
            raise
        return path, fd

    def _directory(self, directory, user_id: Optional[UserId]) -> tuple[Path, int]:
        """The directory new entries go to and a descriptor of it: the user's, or ``directory``
        (inside the ``temp`` area, created when missing, never through a link), or the area."""
        if directory is not None and user_id is not None:
            raise ValidationError("give either a directory or a user id, not both", field="directory", value=str(directory))
        if user_id is not None:
            return self._user_dir(user_id)
        area = self._temp_area()
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=area.fd)
        if directory is None:
            return area.path, fd
        given = Path(directory)
        relative = os.path.relpath(os.path.normpath(area.path / given), area.path)
        parts = Path(relative).parts
        if relative == "." or not parts or parts[0] == ".." or os.path.isabs(relative):
            os.close(fd)
            raise ValidationError(
                f"the temp directory {str(directory)!r} is not inside the temp area {area.path}",
                field="directory",
                value=str(directory),
            )
        try:
            for part in parts:
                try:
                    os.mkdir(part, 0o700, dir_fd=fd)
                except FileExistsError:
                    pass
                try:
                    following = open_dir_nofollow(fd, part)
                except OSError as error:
                    if error.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise ValidationError(
                            f"the temp directory {str(directory)!r} goes through `{part}`, a symbolic link or "
                            "not a directory",
                            field="directory",
                            value=str(directory),
                        ) from None
                    raise
                os.close(fd)
                fd = following
        except BaseException:
            os.close(fd)
            raise
        return area.path / relative, fd

    def get_user_temp_directory(self, user_id: UserId) -> Path:
        """The temp directory of ``user_id`` (``<temp>/user_<id>``, mode 0700), created when
        missing. As in the original, the path is relative to the working directory when the data
        directory is configured relative (``data/temp/user_123``) and still names this directory
        from here; otherwise it is absolute."""
        path, fd = self._user_dir(user_id)
        os.close(fd)
        areas = self._manager().areas
        if areas.given.is_absolute():
            return path
        relative = areas.given / path.relative_to(areas.root)
        return relative if os.path.realpath(relative) == os.fspath(path) else path

    # -- scoped entries ------------------------------------------------------------------------

    def _track(self, live: _Live) -> int:
        with self._lock:
            self._next_id += 1
            self._live[self._next_id] = live
            return self._next_id

    def _release(self, entry_id: int) -> bool:
        with self._lock:
            live = self._live.pop(entry_id, None)
        if live is None:
            return False
        live.remove()
        return True

    def _create_file(self, suffix: str, prefix: str, directory, user_id) -> tuple[int, Path]:
        _check_affix("suffix", suffix)
        _check_affix("prefix", prefix)
        parent, parent_fd = self._directory(directory, user_id)
        try:
            for _ in range(100):
                name = f"{prefix}{secrets.token_hex(6)}{suffix}"
                try:
                    fd = os.open(name, _FILE_FLAGS, 0o600, dir_fd=parent_fd)
                    break
                except FileExistsError:
                    continue
            else:
                raise FileExistsError(errno.EEXIST, "no free temp file name", str(parent))
            fcntl.flock(fd, fcntl.LOCK_EX)
            live = _Live(parent / name, parent_fd, name, fd, directory=False)
        except BaseException:
            os.close(parent_fd)
            raise
        _log.debug("temp file created: %s", live.path)
        return self._track(live), live.path

    def _create_directory(self, prefix: str, parent, user_id) -> tuple[int, Path]:
        _check_affix("prefix", prefix)
        where, parent_fd = self._directory(parent, user_id)
        try:
            for _ in range(100):
                name = f"{prefix}{secrets.token_hex(6)}"
                try:
                    os.mkdir(name, 0o700, dir_fd=parent_fd)
                    break
                except FileExistsError:
                    continue
            else:
                raise FileExistsError(errno.EEXIST, "no free temp directory name", str(where))
            fd = open_dir_nofollow(parent_fd, name)
            fcntl.flock(fd, fcntl.LOCK_EX)
            live = _Live(where / name, parent_fd, name, fd, directory=True)
        except BaseException:
            os.close(parent_fd)
            raise
        return self._track(live), live.path

    def temp_file(self, suffix: str = "", prefix: str = "temp_", directory=None, user_id: Optional[UserId] = None) -> _Scoped:
        """A temp file named ``<prefix>XXXXXXXXXXXX<suffix>`` for ``async with`` (or ``with``):
        it exists (empty, mode 0600, locked so the cleaner skips it) inside the block and is
        removed after it, also on error. It goes in the user's directory when ``user_id`` is given,
        in ``directory`` (inside the ``temp`` area) when given, else in the area."""
        return _Scoped(self, lambda: self._create_file(suffix, prefix, directory, user_id))

    def temp_directory(self, prefix: str = "temp_dir_", parent=None, user_id: Optional[UserId] = None) -> _Scoped:
        """A temp directory (mode 0700, locked) for ``async with`` (or ``with``), removed with
        what it holds after the block (never following a link inside it)."""
        return _Scoped(self, lambda: self._create_directory(prefix, parent, user_id))

    # -- what is alive ------------------------------------------------------------------------

    @property
    def active_files(self) -> set[Path]:
        """The temp files and directories alive now."""
        with self._lock:
            return {live.path for live in self._live.values()}

    def get_active_file_count(self) -> int:
        """How many temp files and directories are alive."""
        with self._lock:
            return len(self._live)

    def cleanup_all_active_files_sync(self) -> int:
        """Removes every live temp file and directory now (their blocks' exits become no-ops);
        returns how many were removed."""
        with self._lock:
            ids = list(self._live)
        return sum(1 for entry_id in ids if self._release(entry_id))

    async def cleanup_all_active_files(self) -> int:
        """Async form of :meth:`cleanup_all_active_files_sync`, as the original (the work runs in
        a thread)."""
        from .resources import _asyncio

        return await _asyncio().to_thread(self.cleanup_all_active_files_sync)

    # -- a user's files -----------------------------------------------------------------------

    def cleanup_user_temp_files_sync(self, user_id: UserId) -> dict:
        """Removes ``user_id``'s directory and everything in it that is not in use; other users'
        directories are never touched (``user_1`` is not a prefix of ``user_10``). Returns
        ``{files_removed, bytes_freed, skipped_in_use, directory_removed}``."""
        text = check_user_id(user_id)
        areas = self._manager().areas
        self._temp_area()
        directory = f"user_{text}"
        report = {"files_removed": 0, "bytes_freed": 0, "skipped_in_use": 0, "directory_removed": False}
        walker = areas.walk_under(TEMP_AREA, directory)
        if walker is None:
            return report
        directories: list[str] = []
        files: list[str] = []
        try:
            for tag, value in walker:
                if tag != "entry":
                    continue
                if value[1] == DIRECTORY:
                    directories.append(value[0])
                else:
                    files.append(value[0])
                    if len(files) >= USER_BATCH:
                        self._remove_user_files(areas, files, report)
                        files = []
        finally:
            walker.close()
        self._remove_user_files(areas, files, report)
        directories.sort(key=lambda path: path.count("/"), reverse=True)
        directories.append(directory)
        outcomes = areas.remove(TEMP_AREA, directories)
        report["directory_removed"] = bool(outcomes) and outcomes[-1].status == REMOVED
        return report

    @staticmethod
    def _remove_user_files(areas, files: list[str], report: dict) -> None:
        for removal in areas.remove(TEMP_AREA, files):
            if removal.status == REMOVED:
                report["files_removed"] += 1
                report["bytes_freed"] += removal.bytes
            elif removal.status == IN_USE:
                report["skipped_in_use"] += 1
            elif removal.status not in (VANISHED, NOT_EMPTY):
                _log.warning("could not remove %s: %s", removal.path, removal.reason)

    async def cleanup_user_temp_files(self, user_id: UserId) -> dict:
        """Async form of :meth:`cleanup_user_temp_files_sync` (the work runs in a thread)."""
        from .resources import _asyncio

        return await _asyncio().to_thread(self.cleanup_user_temp_files_sync, user_id)


#: The process-wide temp file manager, over :data:`bachata_common.resource_manager`.
temp_file_manager = TempFileManager()
