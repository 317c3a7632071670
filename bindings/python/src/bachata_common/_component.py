"""The policy components: each compiled once per process (and cached compiled on disk), run in
a fresh store for a call that lends capabilities and in a warm one for a pure call (:class:`_Warm`).

The process runs a policy set (see :mod:`bachata_common._policy_set`): each concern (an exported
interface of ``wit/world.wit``: ``errors``, ``config``, ``cleanup``, ``pose``, ``monitor``,
``events``, ``experiments``, ``organizer``, ``couple``) is answered by one component, the first of
``BACHATA_POLICY`` (or :func:`bachata_common.load_policy`) that exports it, else the stock policy
shipped in the package (world ``bachata:stock/stock``, which exports them all). A component imports at most four host
capabilities. This host lends:

- ``host-secrets``: the secret store of the current call (see :mod:`bachata_common.secrets`);
- ``host-fs`` and ``host-metrics``: the managed areas and the resource snapshot lent to the current
  call (see :mod:`bachata_common._lend`; :class:`bachata_common.ResourceManager` lends them to
  ``cleanup.run``). Without them, ``open-scan`` answers ``"host-fs is not available in this
  host"`` and the other functions trap with :class:`CapabilityUnavailable`;
- ``host-pose``: the frames of the running :class:`bachata_common.pose.PoseDetector` call, on ONNX
  Runtime (outside one, ``infer`` errs with ``"host-pose is not available in this host"``).

WASI is deny-all: no arguments, no environment variables, no preopened directories, an empty
stdin, and stdout/stderr discarded. The policy gets its inputs only as function arguments. All
components share one engine (a forked child compiles on an engine of its own; see
:func:`_after_fork_in_child`). A call lending capabilities gets a fresh store; a pure call (errors,
configuration, assignment, analysis, event rules) reuses the instance its thread's last clean pure
call left, and a call that traps leaves nothing behind for the next one, of that component or
another.

Values cross with the conversions :mod:`bachata_common._codec` compiles once per exported
function (wasmtime-py's public API, with :mod:`bachata_common._values`, when they are off:
:data:`FAST_CALLS`, or a wasmtime-py whose internals are not the pinned release's). Host
functions convert through the public API.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import signal
import threading
import time
from time import monotonic as _monotonic
from typing import Any, Callable, Iterator, Optional

import wasmtime
from wasmtime import component as wc

from . import _cache, _codec, _lend, _values
from .secrets import SecretStore, default_secret_store

__all__ = [
    "PolicyError",
    "COMPONENT_FILE",
    "call_lending",
    "POLICY_ENV",
    "CapabilityUnavailable",
    "PolicyNotFound",
    "call",
    "current_secrets",
]

PACKAGE = "bachata:common"
#: The contract version this host speaks (``wit/world.wit``).
VERSION = "1.2.0"
#: The concerns, one exported interface each, in the contract's order.
CONCERNS = ("errors", "config", "cleanup", "pose", "monitor", "events", "experiments", "organizer", "couple")
COMPONENT_FILE = "bachata_common_policy.wasm"
POLICY_ENV = "BACHATA_POLICY"

#: The secret store ``host-secrets`` answers from during the current call (``None``: the default).
current_secrets: contextvars.ContextVar[Optional[SecretStore]] = contextvars.ContextVar(
    "bachata_common_secrets", default=None
)


class PolicyNotFound(FileNotFoundError):
    """The policy component file could not be found."""


class CapabilityUnavailable(RuntimeError):
    """The policy called a host capability that this host does not lend (the call traps)."""


def interface_name(name: str) -> str:
    """The full name of an interface of the package, for example ``bachata:common/config@1.0.0``."""
    return f"{PACKAGE}/{name}@{VERSION}"


def split_name(name: str) -> tuple[Optional[str], str, Optional[str]]:
    """The package, interface and version of an import or export name:
    ``bachata:common/errors@1.0.0`` gives ``("bachata:common", "errors", "1.0.0")``; a plain
    name (``next-of``) gives ``(None, "next-of", None)``."""
    path, _, version = name.partition("@")
    package, slash, interface = path.rpartition("/")
    if not slash:
        return None, name, None
    return package, interface, version or None


def _unavailable_message(capability: str) -> str:
    return f"{capability} is not available in this host"


def _access_secret(project: str, name: str) -> dict:
    """``host-secrets.access``: asks the current call's secret store, never echoing a value."""
    store = current_secrets.get() or default_secret_store()
    try:
        value = store(project, name)
    except Exception as error:  # any failure of the store is the policy's `err(reason)`
        return {"tag": "err", "val": str(error) or type(error).__name__}
    if value is not None and not isinstance(value, str):
        return {"tag": "err", "val": f"the secret store returned a {type(value).__name__}, not text"}
    return {"tag": "ok", "val": value}


def _trap(capability: str) -> Callable[..., Any]:
    """An implementation for a function without an error result: it traps."""

    def unavailable(*_args: Any) -> Any:
        raise CapabilityUnavailable(_unavailable_message(capability))

    return unavailable


def _lent(capability: str) -> _lend.Lent:
    """The capabilities lent to the current call; traps when none are."""
    lent = _lend.current.get()
    if lent is None or (capability == "host-fs" and lent.areas is None):
        raise CapabilityUnavailable(_unavailable_message(capability))
    if capability == "host-metrics" and lent.metrics is None:
        raise CapabilityUnavailable(_unavailable_message(capability))
    return lent


#: The host type id of each resource type the imports name.
RESOURCE_TYPES = {("host-fs", "scan"): 0}


def _open_scan(area: str) -> dict:
    lent = _lend.current.get()
    if lent is None or lent.areas is None:
        return {"tag": "err", "val": {"tag": "io", "val": _unavailable_message("host-fs")}}
    opened = _lend.open_scan(lent, area)
    if opened["tag"] == "ok":
        opened = {"tag": "ok", "val": wc.ResourceHost.own(opened["val"], RESOURCE_TYPES[("host-fs", "scan")])}
    return opened


def _scan_next(scan: Any, maximum: int) -> dict:
    return _lend.next_page(_lent("host-fs"), scan.rep, maximum)


def _drop_scan(_store: Any, rep: int) -> None:
    """The destructor of ``scan``: the walk it stands for is closed."""
    lent = _lend.current.get()
    if lent is not None:
        lent.drop_scan(rep)


def _pose_infer(frames: list) -> dict:
    """``host-pose.infer``: the frames of the running :class:`bachata_common.pose.PoseDetector`
    call (``err`` outside one)."""
    from . import pose

    return pose.infer(frames)


#: What this host answers, per imported interface and function; any other function traps.
HOST_FUNCTIONS: dict[str, dict[str, Callable[..., Any]]] = {
    "host-secrets": {"access": _access_secret},
    "host-fs": {
        "areas": lambda: _lent("host-fs").areas.names(),
        "open-scan": _open_scan,
        "[method]scan.next": _scan_next,
        "remove": lambda area, reason, paths: _lend.remove(_lent("host-fs"), area, reason, paths),
    },
    "host-metrics": {
        "snapshot": lambda: _lent("host-metrics").metrics(),
    },
    "host-pose": {
        "infer": lambda frames: _pose_infer(frames),
    },
}

#: The destructor of each host resource type.
RESOURCE_DESTRUCTORS = {("host-fs", "scan"): _drop_scan}


def _read_stock() -> bytes:
    """The stock policy's bytes: the component shipped in the package (read next to this module
    when the package is a directory, else through ``importlib.resources``)."""
    beside = os.path.join(os.path.dirname(os.path.abspath(__file__)), COMPONENT_FILE)
    try:
        with open(beside, "rb") as shipped:
            return shipped.read()
    except OSError:
        pass
    from importlib import resources

    packaged = resources.files(__package__).joinpath(COMPONENT_FILE)
    if not packaged.is_file():
        raise PolicyNotFound(
            f"the policy component {COMPONENT_FILE} is not in the installed package; reinstall it "
            f"with BACHATA_POLICY_WASM=/path/to/{COMPONENT_FILE} pip install ./bindings/python"
        )
    return packaged.read_bytes()


def _adapt(func_ty: wc.FuncType, implementation: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a plain-valued implementation as a wasmtime host function of type ``func_ty``."""
    params = [ty for _, ty in func_ty.params]
    result = func_ty.result

    def host_function(store: Any, *args: Any) -> Any:
        call = _current_call.get()
        entered = _monotonic()
        try:
            lifted = []
            for ty, arg in zip(params, args):
                if isinstance(arg, wc.ResourceAny):
                    arg = arg.to_host(store)
                lifted.append(_values.lift(ty, arg))
            plain = implementation(*lifted)
            return None if result is None else _values.lower(result, plain)
        except BaseException as error:
            raise _kept(call, error) from None
        finally:
            if call is not None:
                call.returned(entered)

    return host_function


def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` (a resource destructor) raising as :func:`_adapt`'s host functions do."""

    def guarded(*args: Any) -> Any:
        try:
            return function(*args)
        except BaseException as error:
            raise _kept(_current_call.get(), error) from None

    return guarded


def _kept(call: Optional["_Call"], error: BaseException) -> BaseException:
    """What a host function raises into wasmtime for ``error``: a ``WasmtimeError`` (the
    policy traps), ``error`` being kept with the running call, which raises it when the call
    returns (:meth:`_Policy.call`).

    wasmtime-py keeps an exception a host function raises in one process-wide variable that
    whichever call fails next raises, on any thread; and one that is not an ``Exception``
    (``KeyboardInterrupt``, ``SystemExit``) escapes its C callback, which returns to wasmtime as
    if the function had succeeded (the process crashes). Neither happens to a ``WasmtimeError``.
    A signal whose Python handler runs in wasmtime-py's own code around the callback, before
    or after this function, is out of reach."""
    if call is None:
        return error if isinstance(error, Exception) else wasmtime.WasmtimeError(type(error).__name__)
    if call.failure is None:
        call.failure = error
    return wasmtime.WasmtimeError(f"the host raised {type(error).__name__}")


#: Environment variables of the call limits (the native host's names and defaults).
TIMEOUT_VAR, MEMORY_VAR = "BACHATA_POLICY_TIMEOUT_MS", "BACHATA_POLICY_MAX_MEMORY_MB"
_TIMEOUT_KEY, _MEMORY_KEY = os.fsencode(TIMEOUT_VAR), os.fsencode(MEMORY_VAR)
DEFAULT_TIMEOUT_MS, DEFAULT_MEMORY_MB = 5_000, 64
#: How often the engine's epoch advances: the deadline's resolution.
EPOCH_TICK = 0.05


class PolicyError(RuntimeError):
    """The policy failed a call (it trapped, ran past its deadline or out of its memory cap), or
    a component of the policy set was refused when loaded (``cannot load policy <file>: <reason>``)."""


def _limit(name: str, default: int, upper: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if not 1 <= number <= upper:
        # A plain ValueError: a ValidationError is made by the policy, which this limit governs.
        raise ValueError(f"{name}={value!r} is invalid: expected a whole number from 1 to {upper}")
    return number


_engine_lock = threading.Lock()
_shared_engine: Optional[wasmtime.Engine] = None
#: Every engine of the process: the ticker advances their epochs.
_engines: list[wasmtime.Engine] = []
#: Whether this process is a fork of one that had made an engine.
_forked = False


def _tick() -> None:
    while True:
        time.sleep(EPOCH_TICK)
        for engine in tuple(_engines):
            engine.increment_epoch()


def _start_ticker() -> None:
    threading.Thread(target=_tick, name="bachata-epoch", daemon=True).start()


def _engine() -> wasmtime.Engine:
    """The engine components compiled from now on run on (epoch interruption on), with one
    thread advancing the epoch of every engine every :data:`EPOCH_TICK` seconds, for the
    deadlines."""
    global _shared_engine
    with _engine_lock:
        if _shared_engine is None:
            config = wasmtime.Config()
            config.epoch_interruption = True
            if _forked:
                # wasmtime compiles on a pool of threads that stayed in the parent (the engine
                # made there would wait for them forever): a forked child compiles on its own.
                config.parallel_compilation = False
            engine = wasmtime.Engine(config)
            _engines.append(engine)
            if len(_engines) == 1:
                _start_ticker()
            _shared_engine = engine
        return _shared_engine


def _after_fork_in_child() -> None:
    """A forked child has only the thread that forked: the engines made before keep running
    the components compiled on them (the parent's policy set, warm instances) with a ticker of
    the child's own, and components compiled afterwards get an engine of the child's."""
    global _engine_lock, _policy_lock, _shared_engine, _forked, _idle_lock, _idle
    _engine_lock, _policy_lock, _idle_lock = threading.Lock(), threading.Lock(), threading.RLock()
    _idle = 0  # the other threads' instances are gone with them
    if _engines:
        _forked = True
        _shared_engine = None
        _start_ticker()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Call:
    """A call running on this thread: its store, whose deadline host functions push back, and
    the exception a host function raised during it (see :func:`_kept`)."""

    __slots__ = ("store", "ticks", "failure", "started", "host")

    def __init__(self, store: wasmtime.Store, ticks: int) -> None:
        self.store = store
        self.ticks = ticks
        self.failure: Optional[BaseException] = None
        self.started = _monotonic()
        #: Seconds spent in host functions so far.
        self.host = 0.0

    def returned(self, entered: float) -> None:
        """A host function entered at ``entered`` returns: the deadline counts the policy's own
        time (as the native host's ``arm_deadline``), what the host spent is given back and
        what the policy spent is not."""
        now = _monotonic()
        self.host += now - entered
        own = now - self.started - self.host
        self.store.set_epoch_deadline(max(1, self.ticks - int(own / EPOCH_TICK)))


#: The call running on this thread.
_current_call: contextvars.ContextVar[Optional[_Call]] = contextvars.ContextVar("bachata_common_call", default=None)


class _Policy:
    """A compiled component, its linker with every import defined, and its export types.

    ``exported`` maps each concern the component exports to its export name, ``imported`` each
    capability it imports to its import name (names as the component spells them, with its
    version). Each call runs in a fresh store with the native host's limits: a deadline of
    ``BACHATA_POLICY_TIMEOUT_MS`` (default 5000) of the policy's own time (epoch interruption;
    time spent in host functions does not count) and a memory cap of
    ``BACHATA_POLICY_MAX_MEMORY_MB`` (default 64)."""

    def __init__(self, wasm: bytes, engine: Optional[wasmtime.Engine] = None, origin: str = "embedded") -> None:
        self.engine = engine or _engine()
        #: Where the component came from: ``embedded`` or its file.
        self.origin = origin
        #: The contract version it was built against (set when a policy set loads it).
        self.contract = VERSION
        self.sha256 = hashlib.sha256(wasm).hexdigest()
        self.size = len(wasm)
        self.component, self.from_cache = _cache.load_reporting(self.engine, wasm, self.sha256)
        component_type = self.component.type
        imports = component_type.imports(self.engine)
        exports = component_type.exports(self.engine)
        #: Every import and export name of the component.
        self.import_names: list[str] = list(imports)
        self.export_names: list[str] = list(exports)
        self.exported: dict[str, str] = {}
        for name, item in exports.items():
            package, interface, _ = split_name(name)
            if package == PACKAGE and interface in CONCERNS and isinstance(item.ty, wc.ComponentInstanceType):
                self.exported.setdefault(interface, name)
        self.imported: dict[str, str] = {}
        for name, item in imports.items():
            package, interface, _ = split_name(name)
            if package == PACKAGE and isinstance(item.ty, wc.ComponentInstanceType):
                self.imported.setdefault(interface, name)
        self.linker = wc.Linker(self.engine)
        self.linker.add_wasip2()
        #: The host type id of each resource defined, by ``(capability, resource)``.
        self.host_resources: dict[tuple[str, str], int] = {}
        self._define_host_functions()
        self._exports: dict[tuple[str, str], _Export] = {}
        self._exports_lock = threading.Lock()
        #: Per thread, the instance left by the last clean call that lent nothing.
        self._local = threading.local()

    def _define_host_functions(self) -> None:
        imports = self.component.type.imports(self.engine)
        with self.linker.root() as root:
            for capability, functions in HOST_FUNCTIONS.items():
                name = self.imported.get(capability)
                if name is None:
                    continue
                imported = imports[name]
                with root.add_instance(name) as instance:
                    items = imported.ty.exports(self.engine).items()
                    # A component whose imports name a resource type (`scan`) links only when the
                    # type is defined. Each gets a host type of its own; a `scan` value's rep is
                    # the walk's number in the call's table, closed by its destructor.
                    # Its methods (`[method]scan.next`) are functions like the others, below.
                    for name, item in items:
                        if isinstance(item.ty, wc.ResourceType):
                            key = (capability, name)
                            resource_id = RESOURCE_TYPES.get(key, len(RESOURCE_TYPES) + len(self.host_resources))
                            self.host_resources[key] = resource_id
                            destructor = _guarded(RESOURCE_DESTRUCTORS.get(key, _drop_scan))
                            instance.add_resource(name, wc.ResourceType.host(resource_id), destructor)
                    for name, item in items:
                        if isinstance(item.ty, wc.FuncType):
                            implementation = functions.get(name) or _trap(capability)
                            instance.add_func(name, _adapt(item.ty, implementation))

    def _export(self, interface: str, function: str) -> "_Export":
        key = (interface, function)
        found = self._exports.get(key)
        if found is not None:
            return found
        with self._exports_lock:
            if key not in self._exports:
                name = self.exported.get(interface)
                iface_index = self.component.get_export_index(name) if name else None
                func_index = self.component.get_export_index(function, iface_index) if iface_index else None
                if func_index is None:
                    raise AttributeError(f"the policy exports no {interface}.{function}")
                iface_ty = self.component.type.exports(self.engine)[name].ty
                func_ty = iface_ty.exports(self.engine)[function].ty
                self._exports[key] = _Export(func_index, func_ty)
            return self._exports[key]

    def new_store(self) -> tuple[wasmtime.Store, int, int, int]:
        """A fresh deny-all store under the call limits, with its deadline in ticks, the
        deadline in milliseconds and the memory cap in MiB."""
        ticks, timeout_ms, memory_mb = _limits()
        return self._store((ticks, timeout_ms, memory_mb)), ticks, timeout_ms, memory_mb

    def _store(self, limits: tuple[int, int, int]) -> wasmtime.Store:
        ticks, _, memory_mb = limits
        store = wasmtime.Store(self.engine)
        store.set_wasi(wasmtime.WasiConfig())
        store.set_limits(memory_size=memory_mb << 20, table_elements=100_000, instances=32, tables=32)
        store.set_epoch_deadline(ticks)
        return store

    def call(self, interface: str, function: str, *args: Any) -> Any:
        """Calls an export with plain arguments in a deny-all store under the call limits; returns
        a plain value. A trap, a deadline or the memory cap raises :class:`PolicyError` (an
        exception a host function raised is raised as it is).

        A call that lends nothing (no files, metrics or frames, the default secret store) runs
        in the instance the previous such call of this thread left, when it ended cleanly under
        the same limits (see :class:`_Warm`); any other call, and any call after a failure, in a
        fresh one."""
        export = self._export(interface, function)
        if len(args) != len(export.params):
            raise TypeError(f"{interface}.{function} takes {len(export.params)} arguments, not {len(args)}")
        limits = _limits()
        ticks, timeout_ms, memory_mb = limits
        pure = _lend.current.get() is None and current_secrets.get() is None and not _fresh.get()
        # Taken out for the call: a call that fails leaves nothing behind.
        kept: Optional[_Warm] = getattr(self._local, "warm", None)
        if kept is not None:
            self._local.warm = None
            kept.unpark()
        warm = kept if pure else None
        if warm is None or warm.limits != limits:
            warm = _Warm(self._store(limits), limits)
        elif warm.context:
            _codec.set_epoch_deadline(warm.context, ticks)
        else:
            warm.store.set_epoch_deadline(ticks)
        store = warm.store
        running = _Call(store, ticks)
        token = _current_call.set(running)
        try:
            func, where = warm.func(self, export.index)
            fast = export.fast if FAST_CALLS else None
            if fast is not None:
                try:
                    result = fast.call(warm.context, where, args, store)
                except _codec.FallBack:  # an argument the compiled code does not expect
                    result = export.call_public(func, store, args)
            else:
                result = export.call_public(func, store, args)
            if pure:
                if where:
                    _codec.post_return(warm.context, where)
                else:
                    func.post_return(store)
                if warm.park():
                    self._local.warm = warm
        except BaseException as error:
            failure = running.failure
            if failure is not None:  # what a host function raised, as it was raised
                raise failure from None
            if not isinstance(error, (wasmtime.Trap, wasmtime.WasmtimeError)):
                raise
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            cause = lines[-1] if lines else type(error).__name__
            policy = f"the policy {self.origin} (sha256 {self.sha256[:12]})"
            if cause == "wasm trap: interrupt":
                raise PolicyError(
                    f"{policy} ran past its deadline of {timeout_ms} ms in {interface}.{function} "
                    f"({TIMEOUT_VAR})"
                ) from None
            raise PolicyError(
                f"{policy} failed in {interface}.{function} ({cause}): a bug in it, or its memory cap "
                f"of {memory_mb} MiB ({MEMORY_VAR})"
            ) from None
        finally:
            _current_call.reset(token)
        return result


#: Whether calls use the compiled conversions of :mod:`bachata_common._codec` when they are
#: available (``False``: every call converts through wasmtime-py's public API, the reference).
FAST_CALLS = True


class _Export:
    """An exported function: its index, its type read once (parameters and result), and its
    compiled conversions (``None``: the public path)."""

    __slots__ = ("index", "type", "params", "result", "fast")

    def __init__(self, index: wc.ExportIndex, func_ty: wc.FuncType) -> None:
        self.index = index
        self.type = func_ty
        self.params = [ty for _, ty in func_ty.params]
        self.result = func_ty.result
        #: The compiled conversions (``None``: the public path).
        self.fast: Optional[_codec.Function] = _codec.compile_function(func_ty)

    def call_public(self, func: wc.Func, store: wasmtime.Store, args: tuple) -> Any:
        """The call through wasmtime-py's public API (``Func.__call__``) and :mod:`._values`."""
        args = [arg.value if type(arg) is _codec.Prepared else arg for arg in args]
        result = func(store, *(_values.lower(ty, arg) for ty, arg in zip(self.params, args)))
        return None if self.result is None else _values.lift(self.result, result)


class _Warm:
    """An instance of a component in its store, kept by a thread between calls that lend
    nothing: what a policy keeps in its globals may reach the next such call of the thread, as
    in the native host (``host/src/runtime/warm.rs``). The host guarantees a call the sandbox
    of a fresh instance (deny-all WASI, the memory cap, its own deadline, only its own
    capabilities); an instance whose call raised (a trap, the deadline, the memory cap, a host
    function's exception) is dropped, and so is one of other limits. At most :data:`IDLE_MAX`
    instances wait between calls in the process (as in the native host): a thread whose
    instance would be one more drops it."""

    __slots__ = ("store", "limits", "instance", "funcs", "context", "idle")

    def __init__(self, store: wasmtime.Store, limits: tuple[int, int, int]) -> None:
        self.store = store
        self.limits = limits
        self.instance: Optional[wc.Instance] = None
        self.funcs: dict[Any, tuple[wc.Func, int]] = {}
        #: The address of the store's context, for the compiled calls (0 without them).
        self.context = _codec.address(store._context()) if _codec.AVAILABLE else 0
        #: Whether it counts among the idle instances.
        self.idle = False

    def park(self) -> bool:
        """Counts the instance among the idle ones; ``False`` when there are enough already."""
        global _idle
        with _idle_lock:
            if _idle >= IDLE_MAX:
                return False
            _idle += 1
            self.idle = True
        return True

    def unpark(self) -> None:
        """The instance is in use (or dropped): it no longer counts among the idle ones."""
        global _idle
        with _idle_lock:
            if self.idle:
                self.idle = False
                _idle -= 1

    def __del__(self) -> None:  # its thread ended, or the policy set was replaced
        if self.idle:
            try:
                self.unpark()
            except Exception:  # the interpreter is shutting down: the module is gone
                pass

    def func(self, policy: "_Policy", index: Any) -> tuple[wc.Func, int]:
        """The export at ``index`` and the address of its C handle (0 without the compiled
        calls), instantiating the component first if needed."""
        if self.instance is None:
            self.instance = policy.linker.instantiate(self.store, policy.component)
        found = self.funcs.get(index)
        if found is None:
            func = self.instance.get_func(self.store, index)
            found = self.funcs[index] = (func, _codec.address(func._func) if _codec.AVAILABLE else 0)
        return found


#: How many warm instances may wait between calls in the process (see :class:`_Warm`).
IDLE_MAX = 16
_idle = 0
# Reentrant: an instance's __del__ may run during a collection while this thread holds it.
_idle_lock = threading.RLock()

_limits_seen: tuple[Any, Any, tuple[int, int, int]] = (None, None, (0, 0, 0))
#: ``os.environ`` and the dict of bytes it keeps on POSIX, read without decoding.
_environ = os.environ
_environ_data: Optional[dict] = getattr(os.environ, "_data", None) if os.name == "posix" else None
if not isinstance(_environ_data, dict):
    _environ_data = None


def _limits() -> tuple[int, int, int]:
    """The call limits from the environment: the deadline in epoch ticks and in milliseconds,
    the memory cap in MiB (parsed again only when the variables change)."""
    global _limits_seen
    if _environ_data is not None and os.environ is _environ:
        timeout, memory = _environ_data.get(_TIMEOUT_KEY), _environ_data.get(_MEMORY_KEY)
    else:
        timeout, memory = os.environ.get(TIMEOUT_VAR), os.environ.get(MEMORY_VAR)
    seen = _limits_seen
    if seen[0] == timeout and seen[1] == memory and seen[2][0]:
        return seen[2]
    timeout_ms = _limit(TIMEOUT_VAR, DEFAULT_TIMEOUT_MS, 600_000)
    memory_mb = _limit(MEMORY_VAR, DEFAULT_MEMORY_MB, 4096)
    ticks = max(1, round(timeout_ms / 1000 / EPOCH_TICK))
    _limits_seen = (timeout, memory, (ticks, timeout_ms, memory_mb))
    return ticks, timeout_ms, memory_mb


#: Set while calls in this context must each get a fresh instance (they lend something the
#: call checks do not see, such as a pose batch's frames).
_fresh: contextvars.ContextVar[bool] = contextvars.ContextVar("bachata_common_fresh", default=False)


@contextlib.contextmanager
def fresh_instances() -> Iterator[None]:
    """Runs the calls of the ``with`` block each in a fresh instance."""
    token = _fresh.set(True)
    try:
        yield
    finally:
        _fresh.reset(token)


#: The process's policy set (a :class:`bachata_common._policy_set.PolicySet`; anything with a
#: ``call(interface, function, *args)`` will do), loaded on first use.
_policy: Optional[Any] = None
_policy_lock = threading.Lock()


def _loaded() -> Any:
    """The process's policy set, loaded from ``BACHATA_POLICY`` on first use."""
    global _policy
    if _policy is None:
        from . import _policy_set

        with _policy_lock:
            if _policy is None:
                _policy = _policy_set.from_environment()
    return _policy


def call(interface: str, function: str, *args: Any) -> Any:
    """Calls ``interface.function`` of the policy (for example ``call("errors", "catalog")``)."""
    return _loaded().call(interface, function, *args)


def prepare(interface: str, function: str, index: int, value: Any, previous: Any = None) -> Any:
    """What to pass as argument ``index`` of ``interface.function`` for a plain ``value`` that
    calls will pass again unchanged: the value converted once (a :class:`_codec.Prepared`
    standing for it), or ``value`` itself when the compiled calls are off. ``previous``, what
    an earlier call returned for the same value, is returned when it is still good for the
    component answering ``interface`` now. The caller guarantees the value does not change."""
    loaded = _loaded()
    routes = getattr(loaded, "routes", None)
    part = routes.get(interface) if routes is not None else loaded
    if part is None or not FAST_CALLS:
        return value
    fast = part._export(interface, function).fast
    if fast is None:
        return value
    if type(previous) is _codec.Prepared and previous.made_for(fast, index):
        return previous
    return fast.prepare(index, value) or value


@contextlib.contextmanager
def sigint_deferred(cancel: Optional[threading.Event] = None) -> Iterator[None]:
    """Holds back Ctrl-C (SIGINT) while a call that runs Python host functions for long (a scan,
    an inference) is inside the component: a ``KeyboardInterrupt`` raised inside wasmtime-py's C
    callback, even before a host function's own code runs, crashes the process. Meanwhile SIGINT
    sets ``cancel`` (the call stops at its next page or batch) and is raised as
    ``KeyboardInterrupt`` once the call returned. Only in the main thread, and only when SIGINT
    has Python's default handler (an application's own handler is left alone)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    interrupted: list[int] = []

    def held(signum: int, _frame: Any) -> None:
        interrupted.append(signum)
        if cancel is not None:
            cancel.set()

    previous = signal.signal(signal.SIGINT, held)
    try:
        yield
    except BaseException:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt


def call_lending(lent: _lend.Lent, interface: str, function: str, *args: Any) -> Any:
    """Calls ``interface.function`` lending ``lent``'s capabilities; scans left open are closed
    afterwards, and a rule the policy broke (see :mod:`bachata_common._lend`) raises
    :class:`~bachata_common._lend.PolicyViolation` whatever the call returned. Ctrl-C during the
    call cancels it and is raised once it returned (:func:`sigint_deferred`)."""
    token = _lend.current.set(lent)
    own_cancel = lent.cancel is None
    if own_cancel:
        lent.cancel = threading.Event()
    try:
        with sigint_deferred(lent.cancel if own_cancel else None):
            result = _loaded().call(interface, function, *args)
    finally:
        _lend.current.reset(token)
        if own_cancel:
            lent.cancel = None
        lent.close()
    summary = lent.audit.summary()
    if summary:
        raise _lend.PolicyViolation(f"the policy broke the host's rules in {interface}.{function}: {summary}")
    return result
