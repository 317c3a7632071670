"""What the host looks at before it scans or touches an entry: one ``statx`` call (through
``ctypes``; Python's ``os.stat`` does not report mount ids) that tells the kind, size, times and,
above all, which mount the entry lives on.

Two entries are on the same mount when their mount ids (``STATX_MNT_ID``, Linux 5.8) are equal:
this sees a bind mount of the same filesystem, which a device-number comparison misses. Without
mount ids the device number is compared and an entry flagged ``STATX_ATTR_MOUNT_ROOT`` is another
mount (the systemd-tmpfiles rule) — the native host's rule, ``host/src/capabilities/fs/stat.rs``.
Where the C library has no ``statx``, ``os.stat`` gives the device number alone.
"""

from __future__ import annotations

import ctypes
import os
import stat as _stat
import struct
import threading
from typing import NamedTuple, Optional, Union

__all__ = ["FILE", "DIRECTORY", "SYMLINK", "OTHER", "Mount", "Stat", "quick_stat_at", "stat_at", "stat_fd"]

#: Entry kinds, numbered as in ``host-fs``'s packed pages.
FILE, DIRECTORY, SYMLINK, OTHER = 0, 1, 2, 3

_AT_SYMLINK_NOFOLLOW = 0x100
_AT_NO_AUTOMOUNT = 0x800
_AT_EMPTY_PATH = 0x1000
_STATX_BASIC_STATS = 0x7FF
_STATX_MNT_ID = 0x1000
_STATX_ATTR_MOUNT_ROOT = 0x2000

# struct statx, up to stx_mnt_id (linux/stat.h).
_STATX = struct.Struct("<IIQIIIH2xQQQQqI4xqI4xqI4xqI4xIIIIQ")


class Mount(NamedTuple):
    """Which mount an entry lives on."""

    device: int
    mount_id: Optional[int]
    mount_root: bool

    def holds(self, other: "Mount") -> bool:
        """Whether an entry at ``other`` is on this same mount (and is not the root of another)."""
        if self.device != other.device:
            return False
        if self.mount_id is not None and other.mount_id is not None:
            return self.mount_id == other.mount_id
        return not other.mount_root


class Stat(NamedTuple):
    """The facts of one entry, read without following a link."""

    kind: int
    size: int
    mtime: int
    mtime_nsec: int
    ctime_ns: int
    inode: int
    uid: int
    mode: int
    dev_major: int
    dev_minor: int
    mount: Mount


def _kind(mode: int) -> int:
    if _stat.S_ISREG(mode):
        return FILE
    if _stat.S_ISDIR(mode):
        return DIRECTORY
    if _stat.S_ISLNK(mode):
        return SYMLINK
    return OTHER


def _load_statx():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.statx
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    function.restype = ctypes.c_int
    return function


_statx = _load_statx()


_buffers = threading.local()


def _raw_statx(dirfd: int, name: bytes, flags: int) -> Stat:
    buffer = getattr(_buffers, "buffer", None)
    if buffer is None:
        buffer = _buffers.buffer = ctypes.create_string_buffer(256)
    if _statx(dirfd, name, flags, _STATX_BASIC_STATS | _STATX_MNT_ID, buffer) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    (
        mask,
        _blksize,
        attributes,
        _nlink,
        uid,
        _gid,
        mode,
        inode,
        size,
        _blocks,
        attributes_mask,
        _atime,
        _atime_nsec,
        _btime,
        _btime_nsec,
        ctime,
        ctime_nsec,
        mtime,
        mtime_nsec,
        _rdev_major,
        _rdev_minor,
        dev_major,
        dev_minor,
        mount_id,
    ) = _STATX.unpack_from(buffer)
    mount = Mount(
        os.makedev(dev_major, dev_minor),
        mount_id if mask & _STATX_MNT_ID else None,
        bool(attributes_mask & _STATX_ATTR_MOUNT_ROOT and attributes & _STATX_ATTR_MOUNT_ROOT),
    )
    return Stat(
        _kind(mode),
        size,
        mtime,
        min(mtime_nsec, 999_999_999),
        ctime * 1_000_000_000 + ctime_nsec,
        inode,
        uid,
        mode & 0o7777,
        dev_major,
        dev_minor,
        mount,
    )


def _from_os_stat(result: os.stat_result) -> Stat:
    mtime_ns = result.st_mtime_ns
    return Stat(
        _kind(result.st_mode),
        result.st_size,
        mtime_ns // 1_000_000_000,
        mtime_ns % 1_000_000_000,
        result.st_ctime_ns,
        result.st_ino,
        result.st_uid,
        result.st_mode & 0o7777,
        os.major(result.st_dev),
        os.minor(result.st_dev),
        Mount(result.st_dev, None, False),
    )


def stat_at(dirfd: int, name: Union[str, bytes]) -> Stat:
    """``name`` inside the directory ``dirfd``, without following a link or triggering an automount."""
    raw = os.fsencode(name)
    if _statx is not None:
        return _raw_statx(dirfd, raw, _AT_SYMLINK_NOFOLLOW | _AT_NO_AUTOMOUNT)
    return _from_os_stat(os.stat(raw, dir_fd=dirfd, follow_symlinks=False))


def quick_stat_at(dirfd: int, name: Union[str, bytes]) -> Stat:
    """``name`` inside ``dirfd`` by ``os.stat`` (no link followed): the device number but no
    mount id — for walks of an area no mount lies below (see ``Areas.walk``)."""
    return _from_os_stat(os.stat(name, dir_fd=dirfd, follow_symlinks=False))


def stat_fd(fd: int) -> Stat:
    """The open file or directory ``fd`` itself."""
    if _statx is not None:
        return _raw_statx(fd, b"", _AT_EMPTY_PATH)
    return _from_os_stat(os.fstat(fd))

