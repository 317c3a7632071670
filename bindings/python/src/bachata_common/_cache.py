"""The compile cache: the policy component compiled to native code once, then loaded from disk
(``Component.deserialize``) in a few milliseconds by every later process — the native host's
cache (``host/src/runtime/cache.rs``), for wasmtime-py.

Entries are keyed by the component's sha256, the wasmtime-py version and the engine's settings
(epoch interruption). Loading precompiled
code runs it, so an entry is trusted only when its directory and file belong to this user and
nobody else can write them; each entry ends with a sha256 of what precedes it, so a truncated or
corrupted file is detected. Anything untrusted, corrupt or stale is compiled afresh and
rewritten: the cache can slow nothing down and break nothing.

``BACHATA_CACHE_DIR`` names the directory (``off`` or empty turns the cache off); else
``$XDG_CACHE_HOME/bachata-common``, else ``~/.cache/bachata-common``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Optional

import wasmtime
from wasmtime import component as wc

__all__ = ["cache_dir", "load", "load_reporting"]

_DIGEST = 32
_version: Optional[str] = None


def _warning(message: str, *args: object) -> None:
    import logging

    logging.getLogger("bachata_common").warning(message, *args)


def _wasmtime_version() -> str:
    """The installed wasmtime-py's version: from the one ``wasmtime-<version>.dist-info`` beside
    the package (a directory listing), else from ``importlib.metadata`` (slower to import)."""
    global _version
    if _version is None:
        found = None
        try:
            site = os.path.dirname(os.path.dirname(os.path.abspath(wasmtime.__file__)))
            names = [name for name in os.listdir(site) if name.startswith("wasmtime-") and name.endswith(".dist-info")]
            if len(names) == 1:
                found = names[0][len("wasmtime-"):-len(".dist-info")]
        except OSError:
            pass
        if not found:
            try:
                from importlib.metadata import version

                found = version("wasmtime")
            except Exception:
                found = "unknown"
        _version = found
    return _version


def cache_dir() -> Optional[Path]:
    """The cache directory, or ``None`` when the cache is off or there is nowhere to put it."""
    given = os.environ.get("BACHATA_CACHE_DIR")
    if given is not None:
        return None if given in ("", "off") else Path(given)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "bachata-common"
    home = os.environ.get("HOME")
    return Path(home) / ".cache" / "bachata-common" if home else None


def _trusted(path: Path, directory: bool) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    kind_ok = stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)
    return kind_ok and info.st_uid == os.geteuid() and not info.st_mode & 0o022


def _entry(directory: Path, wasm: bytes, digest: Optional[str] = None) -> Path:
    digest = digest or hashlib.sha256(wasm).hexdigest()
    return directory / f"python-wasmtime-{_wasmtime_version()}-epoch-{digest[:32]}.cwasm"


def _read(path: Path) -> Optional[bytes]:
    if not (_trusted(path.parent, True) and _trusted(path, False)):
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    body, trailer = data[:-_DIGEST], data[-_DIGEST:]
    if len(data) <= _DIGEST or hashlib.sha256(body).digest() != trailer:
        _warning("compile cache entry %s is corrupt; compiling afresh", path)
        return None
    return body


def _write(path: Path, compiled: bytes) -> None:
    from .fs.atomic import write_atomically

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not _trusted(path.parent, True):
        _warning("compile cache directory %s is not this user's alone; not writing to it", path.parent)
        return
    write_atomically(path, compiled + hashlib.sha256(compiled).digest(), mode=0o600)


def load(engine: wasmtime.Engine, wasm: bytes) -> wc.Component:
    """The component ``wasm`` for ``engine``: from the cache when a trusted entry exists, else
    compiled (and the entry written)."""
    return load_reporting(engine, wasm)[0]


def load_reporting(engine: wasmtime.Engine, wasm: bytes, digest: Optional[str] = None) -> tuple[wc.Component, bool]:
    """:func:`load`, and whether the compiled code came from the cache. Each component of a
    policy set has its own entry (entries are keyed by the component's bytes; ``digest``, their
    sha256 in hex, when already known)."""
    directory = cache_dir()
    if directory is None:
        return wc.Component(engine, wasm), False
    path = _entry(directory, wasm, digest)
    cached = _read(path)
    if cached is not None:
        try:
            return wc.Component.deserialize(engine, cached), True
        except wasmtime.WasmtimeError as error:
            _warning("compile cache entry %s cannot be loaded (%s); compiling afresh", path, error)
    component = wc.Component(engine, wasm)
    try:
        _write(path, bytes(component.serialize()))
    except OSError as error:
        _warning("cannot write the compile cache entry %s: %s", path, error)
    return component, False
