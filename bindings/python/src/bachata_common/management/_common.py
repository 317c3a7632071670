"""What the management commands share: the configured services, errors as ``CommandError`` with
the native command line's exit codes (2 invalid input or configuration, 1 other failures),
names made safe for a terminal, and files written atomically without replacing a link."""

from __future__ import annotations

import json
import os
import stat
import tempfile
import unicodedata
from datetime import date, datetime
from pathlib import Path

from django.core.management.base import CommandError

from .. import _django_settings
from ..exceptions import ChoreographyGenerationError, ValidationError

#: Exit codes, as the native command line's.
INVALID = 2
FAILED = 1

_BIDI = {"\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}


def services() -> _django_settings.Services:
    """The configured services; a ``CommandError`` (exit 2) naming every error of the
    ``BACHATA_COMMON`` setting (``manage.py`` runs the system checks first; ``call_command``
    does not)."""
    from ..apps import services as configured
    from django.conf import settings

    errors = [
        problem for problem in _django_settings.problems(getattr(settings, _django_settings.SETTING, None))
        if problem.is_error
    ]
    if errors:
        raise CommandError(
            "; ".join(f"{problem.message} ({problem.id})" for problem in errors), returncode=INVALID
        )
    return configured()


def failure(error: BaseException) -> CommandError:
    """``error`` as a ``CommandError``: exit 2 for invalid input, 1 otherwise."""
    if isinstance(error, CommandError):
        return error
    if isinstance(error, ValidationError):
        return CommandError(printable(str(error)), returncode=INVALID)
    if isinstance(error, ChoreographyGenerationError):
        return CommandError(printable(str(error)), returncode=FAILED)
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return CommandError(printable(f"{where}{error.strerror or error}"), returncode=FAILED)
    return CommandError(printable(f"{type(error).__name__}: {error}"), returncode=FAILED)


def printable(text: str) -> str:
    """Control and bidirectional formatting characters as escapes (``\\n``, ``\\u{1b}``): a name
    cannot forge lines or drive the terminal."""
    out = []
    for char in str(text):
        if char in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        elif unicodedata.category(char) == "Cc" or char in _BIDI:
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return "".join(out)


def human_bytes(count: int) -> str:
    """``512 B``, ``1.5 KiB``, ``3.2 GiB`` (as the native command line)."""
    value, unit = float(count), 0
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    while value >= 1024.0 and unit < len(units) - 1:
        value /= 1024.0
        unit += 1
    return f"{count} B" if unit == 0 else f"{value:.1f} {units[unit]}"


def _json_default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return os.fspath(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value, indent=None) -> str:
    """``value`` as JSON (dates as ISO 8601 text)."""
    return json.dumps(value, default=_json_default, indent=indent, ensure_ascii=False)


def check_target(path, option: str):
    """The ``lstat`` of ``path`` (``None`` when there is nothing there); a ``CommandError``
    (exit 2) when something other than a regular file is there: a link (even to a file), a
    device, a FIFO or a directory."""
    path = Path(path)
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise failure(error) from None
    if not stat.S_ISREG(found.st_mode):
        raise CommandError(
            printable(
                f"--{option}: {path} exists and is not a regular file (a link, a device or a directory): "
                "give a file path"
            ),
            returncode=INVALID,
        )
    return found


def write_file(path, data: bytes, option: str) -> Path:
    """Writes ``data`` to ``path`` atomically: a temporary file in the same directory, flushed to
    disk, renamed over. Only a regular file is ever replaced: a link (even to a file), a device,
    a FIFO or a directory at ``path`` is refused (exit 2), checked before writing and again right
    before the rename. A replaced file keeps its mode; a new one is 0600."""
    path = Path(path)
    existing = check_target(path, option)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise failure(error) from None
    try:
        with os.fdopen(handle, "wb") as file:
            if existing is not None:
                os.fchmod(file.fileno(), stat.S_IMODE(existing.st_mode))
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        check_target(path, option)
        os.rename(temporary, path)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise failure(error) from None
        raise
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    return path
