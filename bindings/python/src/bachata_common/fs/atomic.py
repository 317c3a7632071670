"""Files replaced atomically: written beside, flushed to disk, renamed over — a reader sees the
old file or the new one, never half of either (the organizer's annotations and journal, the
compile cache)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Optional, Union

__all__ = ["write_atomically"]


def write_atomically(
    path: Union[str, os.PathLike],
    data: bytes,
    mode: Optional[int] = None,
    before_rename: Optional[Callable[[], None]] = None,
) -> None:
    """Writes ``data`` to ``path`` atomically: a temporary file beside it (mode ``mode``, else the
    existing file's, else 0600), fsync, ``before_rename()`` (which may refuse by raising), rename
    over, fsync of the directory."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode is not None:
            os.fchmod(handle, mode)
        else:
            try:
                os.fchmod(handle, os.stat(path).st_mode & 0o7777)
            except FileNotFoundError:
                pass
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if before_rename is not None:
            before_rename()
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
