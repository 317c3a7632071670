"""Reading a small file whole, safely (the native host's ``capabilities/regular_file.rs``): a
regular file only (never a FIFO, device or directory, which could block the reader or never
end), opened without blocking and checked on the open file, read with its bound whatever the
file claims. Callers word the refusal for what the file is (a policy, a ``.env``)."""

from __future__ import annotations

import os
import stat

__all__ = ["FileTooBig", "NotRegularFile", "read_regular", "what_it_is"]


class NotRegularFile(Exception):
    """Not a regular file; ``kind`` says what it is (``a FIFO``, ``a device``, …)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class FileTooBig(Exception):
    """More bytes than the bound; ``size`` is its size (or what was read, when it grew)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def what_it_is(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_regular(path, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (links followed), at most ``limit``; an
    :class:`OSError` when it cannot be opened or read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise NotRegularFile(what_it_is(found.st_mode))
        if found.st_size > limit:
            raise FileTooBig(found.st_size)
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileTooBig(len(data))
    return data
