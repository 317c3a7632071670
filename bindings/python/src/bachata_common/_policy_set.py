"""The policy set: which component answers each concern, with the native host's rules.

``BACHATA_POLICY`` lists component files separated by ``os.pathsep`` (``:``), or
:func:`load_policy` is given them. Each concern (``errors``, ``config``, ``cleanup``, ``pose``,
``monitor``, ``events``, ``experiments``, ``organizer``, ``couple``) is answered by the first of them that exports its
interface (``bachata:common/<concern>@<version>``), else by the stock policy shipped in the
package. :func:`policy_info` tells where each concern comes from.

A file is refused, with a :class:`~bachata_common.PolicyError` reading ``cannot load policy
<file>: <reason>``, when it is not a regular file of at most ``BACHATA_POLICY_MAX_FILE_MB`` (64)
MiB, not a component, built against another contract version, exports none of the nine
interfaces, imports something this host does not lend, or exports a concern's interface but not
as the contract defines it. A file that does not exist raises
:class:`~bachata_common.PolicyNotFound`. A refused set replaces nothing.

Versions: every ``bachata:common`` name a component imports or exports carries one version, of
this host's major and with a minor at most this host's (``1.0.0`` components load in a ``1.x``
host); a pre-release, another major or a newer minor is refused, and so is a mix of versions.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any, Iterable, Optional, Union

import wasmtime
from wasmtime import component as wc

from . import _component
from .fs.regular import FileTooBig, NotRegularFile, read_regular
from ._component import CONCERNS, PACKAGE, POLICY_ENV, VERSION, PolicyError, PolicyNotFound, _Policy, split_name

__all__ = ["PolicySet", "PolicySetInfo", "load_policy", "policy_info", "EMBEDDED", "MAX_FILE_VAR"]

#: The origin of the stock policy, shipped in the package.
EMBEDDED = "embedded"
#: Largest policy file read, in MiB (1 to 1024; default 64), as in the native host.
MAX_FILE_VAR = "BACHATA_POLICY_MAX_FILE_MB"
DEFAULT_MAX_FILE_MB = 64
#: The contract this host speaks, ``bachata:common@1.2.0``.
CONTRACT = f"{PACKAGE}@{VERSION}"
#: The interfaces of the package this host lends a component: its capabilities and the types.
LENT = frozenset(_component.HOST_FUNCTIONS) | {"types"}

_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")

PathLike = Union[str, "os.PathLike[str]"]


class _Refused(Exception):
    """Why a component is refused (the loader adds the file)."""


def _version(text: str) -> Optional[tuple[int, int, bool]]:
    """``(major, minor, pre-release)`` of ``major.minor.patch[-pre][+build]``, else ``None``."""
    match = _VERSION.fullmatch(text)
    if match is None:
        return None
    return int(match[1]), int(match[2]), match[4] is not None


_HOST = _version(VERSION)


def contract_version(names: Iterable[str]) -> str:
    """The contract version of a component's ``bachata:common`` names: all one version, of this
    host's major and a minor at most this host's (the host's own when it names none)."""
    found: Optional[str] = None
    for name in names:
        package, _, version = split_name(name)
        if package != PACKAGE:
            continue
        if version is None:
            raise _Refused(f"imports or exports {name} without a version; build it against {CONTRACT}")
        parsed = _version(version)
        if parsed is None or parsed[0] != _HOST[0] or parsed[1] > _HOST[1] or parsed[2]:
            raise _Refused(
                f"built against {PACKAGE}@{version}; this host speaks {CONTRACT} and loads components "
                f"built against {PACKAGE}@{_HOST[0]}.0.0 up to {CONTRACT}: rebuild the policy against "
                f"the WIT of {CONTRACT}"
            )
        if found is None:
            found = version
        elif found != version:
            raise _Refused(f"mixes contract versions {PACKAGE}@{found} and {PACKAGE}@{version}")
    return found or VERSION


def check_header(wasm: bytes) -> None:
    """Refuses, with a reason a person can act on, bytes that are not a component."""
    if not wasm:
        raise _Refused("the file is empty")
    if len(wasm) < 8 or wasm[:4] != b"\0asm":
        raise _Refused("not a WebAssembly file (no `\\0asm` header)")
    if wasm[4:8] == b"\x01\0\0\0":
        raise _Refused("a core WebAssembly module, not a component; build the policy with `--target wasm32-wasip2`")


def read_policy_file(path: str) -> bytes:
    """The bytes of the policy file ``path`` (links followed): a regular file of at most
    ``BACHATA_POLICY_MAX_FILE_MB`` MiB, opened without blocking (a FIFO is refused, not read)."""
    limit = _component._limit(MAX_FILE_VAR, DEFAULT_MAX_FILE_MB, 1024) << 20
    try:
        return read_regular(path, limit)
    except FileNotFoundError:
        raise PolicyNotFound(f"cannot load policy {path}: no such file") from None
    except NotRegularFile as refused:
        raise PolicyError(
            f"cannot load policy {path}: it is {refused.kind}; a policy must be a regular .wasm file"
        ) from None
    except FileTooBig as refused:
        raise PolicyError(
            f"cannot load policy {path}: it is {refused.size} bytes; policy files are limited to {limit} bytes "
            f"({MAX_FILE_VAR})"
        ) from None
    except OSError as error:
        raise PolicyError(f"cannot load policy {path}: {error.strerror or error}") from None


def _same(a: Any, b: Any) -> bool:
    """Whether two value types (of two components) are the same, structurally; a resource handle
    is compared by its kind (``own`` or ``borrow``), since each component has its own resource
    types (linking checks those)."""
    if a is None or b is None:
        return a is None and b is None
    if type(a) is not type(b):
        return False
    if isinstance(a, (wc.OwnType, wc.BorrowType)):
        return True
    if isinstance(a, wc.RecordType):
        return _same_named(a.fields, b.fields)
    if isinstance(a, wc.VariantType):
        return _same_named(a.cases, b.cases)
    if isinstance(a, (wc.EnumType, wc.FlagsType)):
        return list(a.names) == list(b.names)
    if isinstance(a, wc.OptionType):
        return _same(a.payload, b.payload)
    if isinstance(a, wc.ResultType):
        return _same(a.ok, b.ok) and _same(a.err, b.err)
    if isinstance(a, wc.ListType):
        return _same(a.element, b.element)
    if isinstance(a, wc.TupleType):
        return len(a.elements) == len(b.elements) and all(map(_same, a.elements, b.elements))
    return bool(a == b)


def _same_named(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x == y and _same(s, t) for (x, s), (y, t) in zip(a, b))


def _same_function(a: Any, b: Any) -> bool:
    """Whether two function types take the same parameters (by type) and give the same result."""
    return (
        len(a.params) == len(b.params)
        and all(_same(x, y) for (_, x), (_, y) in zip(a.params, b.params))
        and _same(a.result, b.result)
    )


def _conforms(part: _Policy, reference: _Policy, concern: str) -> None:
    """Refuses ``part`` unless its interface of ``concern`` has every function of the stock
    policy's (the contract's), each of the same type."""
    name = part.exported[concern]
    ours = part.component.type.exports(part.engine)[name].ty.exports(part.engine)
    theirs_name = reference.exported[concern]
    theirs = reference.component.type.exports(reference.engine)[theirs_name].ty.exports(reference.engine)
    for function, item in theirs.items():
        if not isinstance(item.ty, wc.FuncType):
            continue
        expected = item.ty
        found = ours.get(function)
        problem = None
        if found is None or not isinstance(found.ty, wc.FuncType):
            problem = f"it has no function `{function}`"
        elif not _same_function(found.ty, expected):
            problem = f"`{function}` is not of the type {CONTRACT} gives it"
        if problem:
            raise _Refused(f"exports {name} but not as {CONTRACT} defines it: {problem}")


def _imports_lent(part: _Policy, reference: _Policy) -> None:
    """Refuses ``part`` when it imports an interface of the package this host does not lend, or
    a function of a lent one this host does not implement or with another type than the stock
    policy's."""
    for name in part.import_names:
        package, interface, _ = split_name(name)
        if package != PACKAGE:
            continue
        if interface not in LENT:
            raise _Refused(
                f"needs an import this host does not provide: {name} (this host lends "
                f"{', '.join(f'{PACKAGE}/{lent}' for lent in sorted(LENT))})"
            )
        if part.imported.get(interface) != name:  # not an instance, or a second version: linking tells
            continue
        functions = _component.HOST_FUNCTIONS.get(interface, {})
        items = part.component.type.imports(part.engine)[name].ty.exports(part.engine)
        reference_name = reference.imported.get(interface)
        reference_items = (
            reference.component.type.imports(reference.engine)[reference_name].ty.exports(reference.engine)
            if reference_name
            else {}
        )
        for function, item in items.items():
            if not isinstance(item.ty, wc.FuncType):
                continue
            if function not in functions:
                raise _Refused(f"needs an import this host does not provide: {name} has no function `{function}`")
            wanted = reference_items.get(function)
            if wanted is None or not isinstance(wanted.ty, wc.FuncType):
                continue
            if not _same_function(item.ty, wanted.ty):
                raise _Refused(
                    f"needs an import this host does not provide: {name}'s `{function}` is not of the "
                    f"type {CONTRACT} gives it"
                )


def _links(part: _Policy) -> None:
    """Instantiates ``part`` once, in a store like a call's: refuses it when an import is not
    defined (WASI beyond the deny-all context, for example) or it cannot start."""
    store, *_ = part.new_store()
    try:
        part.linker.instantiate(store, part.component)
    except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        first = lines[0] if lines else type(error).__name__
        if "not found in the linker" in first:
            raise _Refused(f"needs an import this host does not provide: {first}") from None
        raise _Refused(f"cannot be instantiated: {lines[-1] if lines else first}") from None


def load_part(wasm: bytes, origin: str, reference: _Policy) -> _Policy:
    """A component of the set, checked against the contract (``reference``: the stock policy)."""
    try:
        check_header(wasm)
        try:
            part = _Policy(wasm, origin=origin)
        except wasmtime.WasmtimeError as error:
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            raise _Refused(f"not a valid component: {'; '.join(lines) or type(error).__name__}") from None
        part.contract = contract_version(part.import_names + part.export_names)
        if not part.exported:
            found = ", ".join(part.export_names) or "nothing"
            raise _Refused(
                f"exports nothing this host calls (it exports {found}); a policy exports one or more of "
                f"the interfaces {', '.join(f'{PACKAGE}/{concern}' for concern in CONCERNS)}"
            )
        _imports_lent(part, reference)
        for concern in part.exported:
            _conforms(part, reference, concern)
        _links(part)
    except _Refused as refused:
        raise PolicyError(f"cannot load policy {origin}: {refused}") from None
    return part


_stock: Optional[_Policy] = None
_stock_lock = threading.Lock()


def stock() -> _Policy:
    """The stock policy shipped in the package, loaded once per process."""
    global _stock
    with _stock_lock:
        if _stock is None:
            part = _Policy(_component._read_stock(), origin=EMBEDDED)
            part.contract = contract_version(part.import_names + part.export_names)
            _stock = part
        return _stock


class PolicySetInfo(dict):
    """Where each concern is answered from: ``{concern: {"origin": path or "embedded", "sha256":
    hex, "contract": "1.2.0"}}``, with ``files`` (the files of the set, in order) and
    ``components`` (each component of the set, the files in order then the stock policy:
    ``origin``, ``sha256``, ``size``, ``contract``, ``exports``, ``imports``, ``from_cache`` and
    ``answers``, the concerns it answers)."""

    files: list[str]
    components: list[dict]


class PolicySet:
    """Components in order, the stock policy last; each concern answered by the first that
    exports it. ``call`` picks the component of the concern (a dict lookup) and calls it."""

    def __init__(self, parts: list[_Policy], stock_part: _Policy) -> None:
        self.parts = [*parts, stock_part]
        self.routes: dict[str, _Policy] = {}
        for concern in CONCERNS:
            for part in self.parts:
                if concern in part.exported:
                    self.routes[concern] = part
                    break

    def part(self, concern: str) -> _Policy:
        """The component answering ``concern``."""
        return self.routes[concern]

    def call(self, interface: str, function: str, *args: Any) -> Any:
        """Calls ``interface.function`` of the component answering that concern."""
        part = self.routes.get(interface)
        if part is None:
            raise AttributeError(f"the policy exports no {interface}.{function}")
        return part.call(interface, function, *args)

    def info(self) -> PolicySetInfo:
        """Where each concern comes from, the files and the components."""
        info = PolicySetInfo(
            {
                concern: {"origin": part.origin, "sha256": part.sha256, "contract": part.contract}
                for concern, part in self.routes.items()
            }
        )
        info.files = [part.origin for part in self.parts[:-1]]
        info.components = [
            {
                "origin": part.origin,
                "sha256": part.sha256,
                "size": part.size,
                "contract": part.contract,
                "exports": list(part.export_names),
                "imports": list(part.import_names),
                "from_cache": part.from_cache,
                "answers": [concern for concern, answering in self.routes.items() if answering is part],
            }
            for part in self.parts
        ]
        return info


def _paths(paths: Union[PathLike, Iterable[PathLike], None]) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return [os.fspath(path) for path in paths or ()]


def load(paths: Union[PathLike, Iterable[PathLike]]) -> PolicySet:
    """The policy set of ``paths`` (then the stock policy), every file checked."""
    reference = stock()
    listed = _paths(paths)
    _refuse_repeated_files(listed)
    parts = [load_part(read_policy_file(path), path, reference) for path in listed]
    return PolicySet(parts, reference)


def _refuse_repeated_files(paths) -> None:
    """Refuses a set naming one file twice (the same path, or a link to a file already named),
    as the native host does."""
    seen: dict[tuple[int, int], object] = {}
    for path in paths:
        try:
            found = os.stat(path)
        except (OSError, ValueError):
            continue  # reported when the file is read
        identity = (found.st_dev, found.st_ino)
        if identity in seen:
            raise PolicyError(
                f"cannot load policy {path}: names the same file as {seen[identity]} earlier in the "
                "policy set; name each file once"
            )
        seen[identity] = path


def environment_paths() -> list[str]:
    """The files ``BACHATA_POLICY`` lists (``os.pathsep``-separated; empty entries skipped)."""
    return [path for path in os.environ.get(POLICY_ENV, "").split(os.pathsep) if path]


def from_environment() -> PolicySet:
    """The policy set ``BACHATA_POLICY`` names (the stock policy alone when it is unset)."""
    return load(environment_paths())


def load_policy(paths: Union[PathLike, Iterable[PathLike], None] = None) -> PolicySetInfo:
    """Sets the process's policy set: the component files ``paths`` (a list, or one path; ``None``:
    what ``BACHATA_POLICY`` lists), each concern answered by the first that exports it, else by
    the stock policy. Replaces the current set once every file is loaded and checked (a refused
    file raises :class:`~bachata_common.PolicyError`, a missing one
    :class:`~bachata_common.PolicyNotFound`, and the current set stays). Returns
    :func:`policy_info` of the new set."""
    loaded = from_environment() if paths is None else load(paths)
    with _component._policy_lock:
        _component._policy = loaded
    # What was read from the previous set's catalog is read again from the new one.
    from .exceptions import ERROR_MESSAGES

    ERROR_MESSAGES.forget()
    return loaded.info()


def policy_info() -> PolicySetInfo:
    """Where each concern of the process's policy set comes from: ``{concern: {"origin": path
    or "embedded", "sha256": hex, "contract": "1.2.0"}}``; ``.files`` lists the set's files,
    ``.components`` describes each component (see :class:`PolicySetInfo`). Loads the set from
    ``BACHATA_POLICY`` when none is loaded yet."""
    loaded = _component._loaded()
    if not isinstance(loaded, PolicySet):  # one component put in place by hand
        return PolicySet([], loaded).info()
    return loaded.info()
