"""What the management commands share: the configured services, errors as ``CommandError`` with
the native command line's exit codes (2 invalid input or configuration, 1 other failures),
names made safe for a terminal, and files written atomically without replacing a link."""

from __future__ import annotations

import json
import os
import stat
from datetime import date, datetime
from pathlib import Path

from django.core.management.base import CommandError

from .. import _django_settings
from .._text import printable
from ..fs.atomic import write_atomically
from ..exceptions import ChoreographyGenerationError, ValidationError

#: Exit codes, as the native command line's.
INVALID = 2
FAILED = 1



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
    """Writes ``data`` to ``path`` atomically (:func:`bachata_common.fs.atomic.write_atomically`).
    Only a regular file is ever replaced: a link (even to a file), a device, a FIFO or a
    directory at ``path`` is refused (exit 2), checked before writing and again right before the
    rename. A replaced file keeps its mode; a new one is 0600."""
    path = Path(path)
    check_target(path, option)
    try:
        write_atomically(path, data, before_rename=lambda: check_target(path, option))
    except OSError as error:
        raise failure(error) from None
    return path
