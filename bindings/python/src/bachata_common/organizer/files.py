"""The annotation file's folder, opened once by descriptor (``host/src/capabilities/dataset/folder.rs``):
the annotation file, its ``.bak`` and the organizer's journal are read and replaced relative to
it, never through a symbolic link, so whoever can write in the folder cannot make a run read or
write anything else.

Reads take regular files only: looked at without following a link, opened ``O_NOFOLLOW`` and
``O_NONBLOCK`` (a FIFO never hangs the run), checked again by ``fstat``, then read up to a stated
limit (the read stops at the limit plus one byte). A replacement is written to a temporary file
beside the name, fsynced, and renamed over the name only when the name still holds the file that
was read (same device and inode, size and modification time, checked right before the rename);
otherwise nothing is written.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import stat
from pathlib import Path
from typing import NamedTuple, Optional, Union

__all__ = ["FileError", "Folder", "Identity", "ReadFile", "read_file"]

_TEMPORARY = itertools.count()


class FileError(Exception):
    """A file of the folder cannot be read or replaced; ``kind`` says why (``missing``, ``link``,
    ``not-a-file``, ``too-large``, ``changed-while-read``, ``replaced``, ``not-a-name``), the
    message in the native host's words."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _missing() -> FileError:
    return FileError("missing", "there is no such file")


def _link() -> FileError:
    return FileError("link", "it is a symbolic link, not a regular file (give the file itself)")


def _not_a_file(mode: int) -> FileError:
    if stat.S_ISDIR(mode):
        kind = "directory"
    elif stat.S_ISLNK(mode):
        kind = "symbolic link"
    else:
        kind = "FIFO, socket or device"
    return FileError("not-a-file", f"it is not a regular file but a {kind}")


def _too_large(limit: int) -> FileError:
    return FileError("too-large", f"it is larger than the limit of {limit} bytes")


def _changed_while_read() -> FileError:
    return FileError("changed-while-read", "it changed while it was read; run again")


def _replaced() -> FileError:
    return FileError(
        "replaced", "it was replaced or changed after it was read (by another file or a link); nothing was written"
    )


class Identity(NamedTuple):
    """Which file a name held when it was read: enough to tell it from a replacement or an
    edit."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    mode: int

    @classmethod
    def of(cls, found: os.stat_result) -> "Identity":
        return cls(found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, stat.S_IMODE(found.st_mode))

    def same(self, other: "Identity") -> bool:
        """The same file, unchanged (the mode may differ)."""
        return self[:4] == other[:4]


class ReadFile(NamedTuple):
    """A file read whole: its bytes, a descriptor of the very file read (whatever becomes of its
    name; the caller closes it) and its identity."""

    data: bytes
    fd: int
    identity: Identity


def _read_bounded(fd: int, identity: Identity, limit: int) -> bytes:
    if identity.size > limit:
        raise _too_large(limit)
    chunks, total, offset = [], 0, 0
    while total <= limit:
        chunk = os.pread(fd, min(1 << 20, limit + 1 - total), offset)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        offset += len(chunk)
    if total > limit:
        raise _too_large(limit)
    if total != identity.size or not Identity.of(os.fstat(fd)).same(identity):
        raise _changed_while_read()
    return b"".join(chunks)


class Folder:
    """A folder opened by descriptor (following links on the way there: the caller's choice)."""

    def __init__(self, path: Union[str, os.PathLike]) -> None:
        self.path = Path(path)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    @classmethod
    def of_file(cls, path: Union[str, os.PathLike]) -> "tuple[Folder, str]":
        """The folder of the file ``path`` and the file's name (``FileError`` ``not-a-name`` when
        ``path`` does not end in one)."""
        text = os.fspath(path)
        name = os.path.basename(text)
        if not name or name in (".", ".."):
            raise FileError("not-a-name", "it is not a file name")
        return cls(os.path.dirname(text) or "."), name

    def duplicate(self) -> "Folder":
        """A second handle on the same folder (its own descriptor)."""
        copy = Folder.__new__(Folder)
        copy.path, copy.fd = self.path, os.dup(self.fd)
        return copy

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "Folder":
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def lock(self) -> bool:
        """An exclusive ``flock`` on the folder (held while the folder is open); ``False`` when
        another process holds it."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def read(self, name: str, limit: int) -> Optional[ReadFile]:
        """The regular file ``name``, read whole when at most ``limit`` bytes; ``None`` when there
        is none. A link, a directory, a FIFO or a device is refused without being read."""
        try:
            looked = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(looked.st_mode):
            raise _link()
        if not stat.S_ISREG(looked.st_mode):
            raise _not_a_file(looked.st_mode)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        try:
            fd = os.open(name, flags, dir_fd=self.fd)
        except FileNotFoundError:
            return None
        except OSError as error:
            if error.errno == errno.ELOOP:  # a link by now
                raise _link() from None
            raise
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):
                raise _not_a_file(opened.st_mode)
            identity = Identity.of(opened)
            if (identity.device, identity.inode) != (looked.st_dev, looked.st_ino):
                raise _changed_while_read()
            return ReadFile(_read_bounded(fd, identity, limit), fd, identity)
        except BaseException:
            os.close(fd)
            raise

    def read_existing(self, name: str, limit: int) -> ReadFile:
        """:meth:`read`, a missing file being ``FileError`` ``missing``."""
        read = self.read(name, limit)
        if read is None:
            raise _missing()
        return read

    @staticmethod
    def reread(fd: int, identity: Identity, limit: int) -> bytes:
        """The content of the file read (``fd``) again, when it is still as it was."""
        try:
            return _read_bounded(fd, identity, limit)
        except FileError as error:
            if error.kind == "changed-while-read":
                raise _replaced() from None
            raise

    def check(self, name: str, expected: Identity) -> None:
        """``FileError`` ``replaced`` unless ``name`` still holds the file ``expected``."""
        try:
            found = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            raise _replaced() from None
        if not stat.S_ISREG(found.st_mode) or not Identity.of(found).same(expected):
            raise _replaced()

    def replace(self, name: str, data: bytes, expected: Optional[Identity] = None, mode: int = 0o600) -> Identity:
        """Replaces ``name`` by ``data`` atomically (a temporary file beside it, written, fsynced,
        renamed over, the folder fsynced), with permission bits ``mode``. With ``expected``, only
        when ``name`` is still that file (checked before anything is written and right before the
        rename: ``FileError`` ``replaced`` otherwise, nothing changed). Whatever ``name`` is, it is
        replaced as an entry, never followed. The new file's identity."""
        if expected is not None:
            self.check(name, expected)
        temporary = f".{name}.{os.getpid()}-{next(_TEMPORARY)}.tmp"
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=self.fd
        )
        try:
            try:
                os.fchmod(fd, mode & 0o7777)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
                identity = Identity.of(os.fstat(fd))
            finally:
                os.close(fd)
            if expected is not None:
                self.check(name, expected)
            os.rename(temporary, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except BaseException:
            try:
                os.unlink(temporary, dir_fd=self.fd)
            except OSError:
                pass
            raise
        try:
            os.fsync(self.fd)
        except OSError:
            pass
        return identity

    def remove(self, name: str) -> None:
        """Removes the entry ``name`` (a link itself, never what it points to); nothing when there
        is none."""
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            pass


def read_file(path: Union[str, os.PathLike], limit: int) -> bytes:
    """The regular file at ``path`` (its folder reached as the path says, the file itself never
    through a link), at most ``limit`` bytes."""
    folder, name = Folder.of_file(path)
    with folder:
        read = folder.read_existing(name, limit)
        os.close(read.fd)
        return read.data
