"""The managed areas: each root opened once, relative to the data directory's descriptor and
without following a link, with the mount it lives on; scans and removal batches go to the area
they name. The native host's ``Areas`` (``host/src/capabilities/fs/areas.rs``)."""

from __future__ import annotations

import errno
import os
import re
import resource
from pathlib import Path
from typing import Iterable, Optional

from ..exceptions import ValidationError
from . import names
from .locks import locked_files
from .remove import OUT_OF_BOUNDS, REFUSED, Removal, remove_batch, split_relative
from .stat import DIRECTORY, FILE, SYMLINK, Mount, stat_at, stat_fd
from .walk import Walker, open_dir_nofollow

__all__ = ["Area", "Areas", "raise_open_file_limit", "valid_area_name"]

_AREA_NAME = re.compile(r"[a-z0-9_-]{1,64}")


def valid_area_name(name: str) -> bool:
    """Whether ``name`` can name an area: 1 to 64 of ``a-z``, ``0-9``, ``_``, ``-``."""
    return _AREA_NAME.fullmatch(name) is not None


_raised = False


def raise_open_file_limit() -> None:
    """Raises the soft limit on open files to the hard limit, once: a deep walk keeps one
    directory per level open."""
    global _raised
    if _raised:
        return
    _raised = True
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError):
        pass


def _data_dir_error(path: Path, message: str) -> ValidationError:
    return ValidationError(message, field="BACHATA_DATA_DIR", value=str(path))


def _prepare_data_dir(data_dir: Path) -> None:
    """Makes sure the data directory exists and is a directory (it may be reached through links
    the operator set up), with a clear error for a file or a dangling link."""
    try:
        if data_dir.stat().st_mode and data_dir.is_dir():
            return
        raise _data_dir_error(data_dir, f"the data directory {data_dir} exists and is not a directory")
    except FileNotFoundError:
        pass
    if data_dir.is_symlink():
        raise _data_dir_error(
            data_dir, f"the data directory {data_dir} is a symbolic link to something that does not exist"
        )
    data_dir.mkdir(parents=True, exist_ok=True)


def _unescape_mount_path(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), text)


def mounts_below(path: Path) -> bool:
    """Whether a mount point lies strictly below ``path`` (``/proc/self/mountinfo``); true when
    it cannot be read, so walks then look at every entry's mount id."""
    prefix = str(path).rstrip("/") + "/"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as file:
            for line in file:
                fields = line.split(" ", 5)
                if len(fields) > 4 and _unescape_mount_path(fields[4]).startswith(prefix):
                    return True
    except OSError:
        return True
    return False


def _reopen(fd: int) -> int:
    """A new open description of the directory ``fd`` (``.`` relative to it): its listing has
    its own position, so two walks of one area never share one."""
    return os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)


class Area:
    """One managed area: a directory descriptor and the mount it lives on."""

    def __init__(self, name: str, path: Path, fd: int) -> None:
        self.name = name
        self.path = path
        self.fd = fd
        own = stat_fd(fd)
        self.mount: Mount = own.mount
        self.inode = own.inode


def _open_area(data_fd: int, data_dir: Path, name: str) -> Area:
    path = data_dir / name

    def refuse(what: str) -> ValidationError:
        return _data_dir_error(
            data_dir,
            f"the area root {path} {what}; an area root must be a real directory inside the data "
            "directory (replace it by a directory, or point BACHATA_DATA_DIR elsewhere)",
        )

    try:
        found = stat_at(data_fd, name)
        if found.kind == SYMLINK:
            raise refuse("is a symbolic link, which is never followed")
        if found.kind != DIRECTORY:
            raise refuse("is not a directory")
    except FileNotFoundError:
        try:
            os.mkdir(name, 0o777, dir_fd=data_fd)
        except FileExistsError:
            pass
    try:
        fd = open_dir_nofollow(data_fd, name)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise refuse("is a symbolic link, which is never followed") from None
        if error.errno == errno.ENOTDIR:
            raise refuse("is not a directory") from None
        raise
    return Area(name, path, fd)


class Areas:
    """The managed areas under a data directory, each opened once as a directory descriptor."""

    def __init__(self, data_dir, area_names: Iterable[str]) -> None:
        raise_open_file_limit()
        self._data_fd: Optional[int] = None
        self.areas: list[Area] = []
        given = Path(data_dir)
        _prepare_data_dir(given)
        #: The data directory as configured (relative to the working directory when relative).
        self.given = given
        self.root = Path(os.path.realpath(given))
        self._data_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for name in area_names:
                if not valid_area_name(name):
                    raise ValidationError(f"invalid area name {name!r}", field="BACHATA_AREAS", value=name)
                self.areas.append(_open_area(self._data_fd, self.root, name))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Closes every descriptor."""
        for area in self.areas:
            os.close(area.fd)
        self.areas = []
        if self._data_fd is not None:
            os.close(self._data_fd)
            self._data_fd = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def names(self) -> list[str]:
        """The area names."""
        return [area.name for area in self.areas]

    def area(self, name: str) -> Optional[Area]:
        """Area ``name``, if managed."""
        for area in self.areas:
            if area.name == name:
                return area
        return None

    def path(self, name: str) -> Optional[Path]:
        """The directory of area ``name``."""
        area = self.area(name)
        return area.path if area else None

    def displaced(self, area: Area) -> Optional[str]:
        """Why the area's root is no longer the directory opened at start, if it is not."""
        moved = (
            f"the root of area `{area.name}` was moved or replaced since it was opened; restart to "
            "manage the new one"
        )
        try:
            now = stat_at(self._data_fd, area.name)
        except FileNotFoundError:
            return moved
        except OSError as error:
            return f"cannot check the root of area `{area.name}`: {error}"
        if now.kind == DIRECTORY and now.inode == area.inode and now.mount.device == area.mount.device:
            return None
        return moved

    def walk(self, name: str, locks: Optional[set] = None, cancelled=None) -> Walker:
        """A streaming walk of area ``name``; ``LookupError`` for an unknown area, ``OSError``
        when its root was moved or cannot be read."""
        area = self.area(name)
        if area is None:
            raise LookupError(name)
        reason = self.displaced(area)
        if reason:
            raise OSError(errno.ESTALE, reason)
        return Walker(
            _reopen(area.fd),
            "",
            area.mount,
            locked_files() if locks is None else locks,
            cancelled,
            files_by_device=not mounts_below(area.path),
        )

    def walk_under(self, name: str, relative: str) -> Optional[Walker]:
        """A walk of the directory ``relative`` of area ``name`` (paths stay relative to the
        area root); ``None`` when it does not exist; ``ValueError`` for a path that is not plain,
        leaves the area's mount or goes through a link."""
        area = self.area(name)
        if area is None:
            raise ValueError(f"unknown area `{name}`")
        reason = self.displaced(area)
        if reason:
            raise ValueError(reason)
        parents, last = split_relative(relative)
        fd = _reopen(area.fd)
        try:
            for part in [*parents, last]:
                try:
                    following = open_dir_nofollow(fd, names.decode(part))
                except FileNotFoundError:
                    return None
                except OSError as error:
                    raise ValueError(f"cannot open `{relative}`: {error}") from None
                os.close(fd)
                fd = following
            if not area.mount.holds(stat_fd(fd).mount):
                raise ValueError(f"`{relative}` is on another mount")
            walker = Walker(fd, relative, area.mount, locked_files())
            fd = -1
            return walker
        finally:
            if fd >= 0:
                os.close(fd)

    def remove(self, name: str, paths: list[str], since_ns=None, dry_run=False, cancelled=None) -> list[Removal]:
        """Removes ``paths`` from area ``name`` in order."""
        area = self.area(name)
        if area is None:
            return [Removal(path, OUT_OF_BOUNDS, 0, f"unknown area `{name}`") for path in paths]
        reason = self.displaced(area)
        if reason:
            return [Removal(path, REFUSED, 0, reason) for path in paths]
        return remove_batch(area, paths, since_ns, dry_run, cancelled)

    def usage(self) -> list[dict]:
        """Size and file count of every area, by a streaming walk."""
        out = []
        for area in self.areas:
            exists = os.path.isdir(area.path) and not os.path.islink(area.path)
            size = files = 0
            try:
                walker = self.walk(area.name, locks=set())
            except OSError:
                walker = None
            if walker is not None:
                for tag, value in walker:
                    if tag == "entry" and value[1] == FILE:
                        size += value[2]
                        files += 1
            out.append({"name": area.name, "exists": exists, "size": size, "file-count": files})
        return out
