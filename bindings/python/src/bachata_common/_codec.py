"""The fast call path: component values converted by code compiled once per function type.

wasmtime-py's public call (``Func.__call__``) reads the function's type through the C API on
every call and converts each value by walking that type in Python, and :mod:`._values` walks it
once more to reach the plain shapes this package speaks: for a call whose work in WebAssembly
takes microseconds, the conversion cost thirty times more. This module reads each type tree
once and generates Python code for it (:func:`compile_function`):

- a *lowering* function writing the plain arguments (the shapes :mod:`._values` documents:
  records as dicts keyed by WIT field names, variants and results as ``{"tag": ..., "val":
  ...}``, options as ``None`` or the payload, enums as case names, tuples, lists, ``bytes`` for
  ``list<u8>``, flags as a ``set`` of names, resources as wasmtime's handles) straight into the
  C API's ``wasmtime_component_val_t`` layout, in one ``bytearray`` (names of fields, cases and
  flags are encoded once and kept with the generated code; a string points at its encoded
  ``bytes``);
- a *lifting* function reading the C value the call wrote back (one ``ctypes.string_at`` per
  array, payload and string) into the same plain shapes.

The call is ``wasmtime_component_func_call`` with those C values. It only reads its arguments
(it copies them into wasmtime's own values), so their memory stays Python's; the result is
freed with one ``wasmtime_component_val_delete``. An argument that calls pass again unchanged
can be converted once (:class:`Prepared`, :func:`bachata_common._component.prepare`).

This relies on wasmtime-py's internal FFI bindings (``wasmtime._ffi``: the library handle, the
``ctypes`` declarations of the value structures, the kind constants; the type classes of
``wasmtime.component._types``), as ``Func.__call__`` itself does, in the pinned release
(``wasmtime==50.0.1`` in ``pyproject.toml``). On import their layout is checked against what
the generated code assumes; if anything differs or is missing, :data:`AVAILABLE` is false, one
line is logged (on the first call), and every call goes through the public path
(:mod:`._values` and ``Func.__call__``), which stays the reference: the tests compare both
paths over every type of the contract.

Arguments the generated code does not expect (another type, a missing field, an unknown case,
an iterator where a list is expected) are handed to the public path, which raises the error it
always raised; nothing has run in WebAssembly at that point. Only a ``char`` that is a
surrogate is refused here (``ValueError``): the C API would abort the process on it.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any, Callable, Optional

__all__ = [
    "AVAILABLE", "REASON", "Codec", "FallBack", "Function", "Prepared", "Unsupported", "compile_function",
    "compile_type",
]


def _logger() -> Any:
    import logging

    return logging.getLogger("bachata_common")


class Unsupported(Exception):
    """A type the compiled code does not handle (``future``, ``stream``, ``error-context``, …):
    calls of its functions take the public path."""


class _Bad(Exception):
    """A value the compiled lowering does not expect: the call takes the public path instead."""


# -- the internals this path relies on -----------------------------------------------------------

#: Whether the fast path can be used with the installed wasmtime-py.
AVAILABLE = False
#: Why it cannot (``None`` when it can).
REASON: Optional[str] = None

try:  # the pinned wasmtime-py's internals; anything missing turns the fast path off
    from wasmtime import WasmtimeError
    from wasmtime import _ffi as ffi
    from wasmtime.component import _types as _wt
    from wasmtime.component._resources import ResourceAny, ResourceHost

    _K = {
        name: getattr(ffi, f"WASMTIME_COMPONENT_{name}").value
        for name in (
            "BOOL", "S8", "U8", "S16", "U16", "S32", "U32", "S64", "U64", "F32", "F64", "CHAR", "STRING",
            "LIST", "RECORD", "TUPLE", "VARIANT", "ENUM", "OPTION", "RESULT", "FLAGS", "RESOURCE",
        )
    }
    _VAL = ffi.wasmtime_component_val_t
    _LAYOUT = {
        "val": ctypes.sizeof(_VAL),
        "val.of": _VAL.of.offset,
        "entry": ctypes.sizeof(ffi.wasmtime_component_valrecord_entry),
        "entry.val": ffi.wasmtime_component_valrecord_entry.val.offset,
        "name": ctypes.sizeof(ffi.wasm_byte_vec_t),
        "name.data": ffi.wasm_byte_vec_t.data.offset,
        "list.data": ffi.wasmtime_component_vallist.data.offset,
        "record.data": ffi.wasmtime_component_valrecord.data.offset,
        "tuple.data": ffi.wasmtime_component_valtuple.data.offset,
        "flags.data": ffi.wasmtime_component_valflags.data.offset,
        "variant.val": ffi.wasmtime_component_valvariant.val.offset,
        "result.val": ffi.wasmtime_component_valresult.val.offset,
        "union": ctypes.sizeof(ffi.wasmtime_component_valunion),
    }
    _EXPECTED = {
        "val": 32, "val.of": 8, "entry": 48, "entry.val": 16, "name": 16, "name.data": 8, "list.data": 8,
        "record.data": 8, "tuple.data": 8, "flags.data": 8, "variant.val": 16, "result.val": 8, "union": 24,
    }
    _wrong = sorted(key for key, size in _EXPECTED.items() if _LAYOUT.get(key) != size)
    if len(set(_K.values())) != len(_K) or not all(0 <= kind < 256 for kind in _K.values()) or _K["BOOL"]:
        # A zeroed value must be `false` (what the C API may drop before writing a result).
        REASON = "the value kinds of wasmtime._ffi are not distinct bytes with `bool` as 0"
    elif _wrong:
        REASON = f"wasmtime._ffi lays out component values otherwise ({', '.join(_wrong)})"
    elif ctypes.sizeof(ctypes.c_void_p) != 8:
        REASON = "not a 64-bit process"
    else:
        _dll = ffi.dll

        def _bound(name: str, restype: Any, *argtypes: Any) -> Any:
            # A function object of our own (``dll[name]`` makes a new one): wasmtime-py's own
            # declarations of the same symbol stay as they are.
            function = _dll[name]
            function.restype = restype
            function.argtypes = list(argtypes)
            return function

        _vp, _size = ctypes.c_void_p, ctypes.c_size_t
        _func_call = _bound("wasmtime_component_func_call", _vp, _vp, _vp, _vp, _size, _vp, _size)
        _post_return = _bound("wasmtime_component_func_post_return", _vp, _vp, _vp)
        _val_delete = _bound("wasmtime_component_val_delete", None, _vp)
        _val_clone = _bound("wasmtime_component_val_clone", None, _vp, _vp)
        _epoch_deadline = _bound("wasmtime_context_set_epoch_deadline", None, _vp, ctypes.c_uint64)
        _resource_clone = _bound(
            "wasmtime_component_resource_any_clone", ctypes.POINTER(ffi.wasmtime_component_resource_any_t), _vp
        )
        _ERROR = ctypes.POINTER(ffi.wasmtime_error_t)
        _TYPES = (
            _wt.Bool, _wt.S8, _wt.U8, _wt.S16, _wt.U16, _wt.S32, _wt.U32, _wt.S64, _wt.U64, _wt.F32, _wt.F64,
            _wt.Char, _wt.String, _wt.ListType, _wt.RecordType, _wt.TupleType, _wt.VariantType, _wt.EnumType,
            _wt.OptionType, _wt.ResultType, _wt.FlagsType, _wt.OwnType, _wt.BorrowType,
        )
        #: The types of arguments worth converting once (see :class:`Prepared`).
        _PREPARABLE = (_wt.RecordType, _wt.ListType, _wt.TupleType, _wt.VariantType, _wt.OptionType,
                       _wt.ResultType, _wt.FlagsType)
        AVAILABLE = True
except Exception as error:  # an attribute or module missing: another wasmtime-py
    REASON = f"wasmtime-py's internals are not those of the pinned release ({type(error).__name__}: {error})"


def _bytes_data_offset() -> int:
    """Where a ``bytes`` object's data starts, from its ``id()`` (CPython: after a 32-byte
    header), checked on a probe; 0 when it is not so (the data is then copied)."""
    try:
        probe = b"bachata-common: where bytes keep their data"
        offset = (ctypes.cast(ctypes.c_char_p(probe), ctypes.c_void_p).value or 0) - id(probe)
        if 0 < offset <= 64 and ctypes.string_at(id(probe) + offset, len(probe)) == probe:
            other = bytes(range(200))
            if ctypes.string_at(id(other) + offset, len(other)) == other:
                return offset
    except Exception:
        pass
    return 0


_BYTES_DATA = _bytes_data_offset()
_reported = False


def report() -> None:
    """Logs, once per process, that calls take the public path and why."""
    global _reported
    if not _reported and not AVAILABLE:
        _reported = True
        _logger().warning("component calls convert values through wasmtime's public API (slower): %s", REASON)


# -- code generation -----------------------------------------------------------------------------

_string_at = ctypes.string_at
_PAD = [b"\0" * n for n in range(8)]


def _packer(fmt: str) -> Callable[..., None]:
    return struct.Struct("<" + fmt).pack_into


def _unpacker(fmt: str) -> Callable[..., tuple]:
    return struct.Struct("<" + fmt).unpack_from


def _to_float(value: Any) -> float:
    """What ``_values.lower`` and wasmtime accept for ``f32``/``f64``: a float, or an int."""
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise _Bad


_PACK_F32 = _packer("B7xf")
_PACK_U32 = _packer("B7xI")


def _write_f32(buf: bytearray, at: int, value: Any) -> None:
    value = _to_float(value)
    try:
        _PACK_F32(buf, at, _K["F32"], value)
    except OverflowError:  # beyond an f32: ctypes stores an infinity
        _PACK_F32(buf, at, _K["F32"], float("inf") if value > 0 else float("-inf"))


def _write_char(buf: bytearray, at: int, value: Any) -> None:
    if not isinstance(value, str) or len(value) != 1:
        raise _Bad
    code = ord(value)
    if 0xD800 <= code <= 0xDFFF:
        raise ValueError(f"a WIT char cannot be the surrogate U+{code:04X}")
    _PACK_U32(buf, at, _K["CHAR"], code)


_UNPACK_NAME = _unpacker("8xQQ")
_UNPACK_POINTER = _unpacker("8xQ")


def _read_string(mem: Any, at: int) -> str:
    size, data = _UNPACK_NAME(mem, at)
    return _string_at(data, size).decode("utf-8") if size else ""


class _Names:
    """Names (fields, cases, flags) encoded once, as ``(size, address)`` of a buffer kept alive."""

    def __init__(self) -> None:
        self.buffers: list[Any] = []

    def __call__(self, name: str) -> tuple[int, int]:
        data = name.encode("utf-8")
        buffer = ctypes.create_string_buffer(data, len(data) + 1)
        self.buffers.append(buffer)
        return len(data), ctypes.addressof(buffer)


#: Integer types: the pack format for lowering (which refuses a number out of the type's range:
#: the public path then raises) and the unpack format for lifting.
_INTS = {
    "S8": ("b", "b"), "U8": ("B", "B"), "S16": ("h", "h"), "U16": ("H", "H"),
    "S32": ("i", "i"), "U32": ("I", "I"), "S64": ("q", "q"), "U64": ("Q", "Q"),
}


#: The key of :data:`_INTS` of each integer type.
_INT_NAMES = (
    {_wt.S8: "S8", _wt.U8: "U8", _wt.S16: "S16", _wt.U16: "U16", _wt.S32: "S32", _wt.U32: "U32", _wt.S64: "S64",
     _wt.U64: "U64"}
    if AVAILABLE
    else {}
)


class _Generator:
    """Generates the lowering and lifting functions of one function type."""

    def __init__(self) -> None:
        self.names = _Names()
        self.count = 0
        self.ns: dict[str, Any] = {
            "_Bad": _Bad,
            "_PAD": _PAD,
            "_Z32": bytes(32),
            "_sat": _string_at,
            "_enc": str.encode,
            "_tof": _to_float,
            "_wf32": _write_f32,
            "_wchar": _write_char,
            "_lstr": _read_string,
            "_PKQ": _packer("B7xQ"),
            "_PKQQ": _packer("B7xQQ"),
            "_PKd": _packer("B7xd"),
            "_UPQ": _unpacker("Q"),
            "_UPQQ": _unpacker("QQ"),
            "_UPQQQ": _unpacker("QQQ"),
            "_ITSS": struct.Struct("<8xQQ8x").iter_unpack,
            "_list": list,
            "_dict": dict,
            "_tuple": tuple,
            "_lt": (list, tuple),
        }
        for fmt, _ in _INTS.values():
            self.ns[f"_PK{fmt}"] = _packer(f"B7x{fmt}")
        for _, fmt in _INTS.values():
            self.ns[f"_UP{fmt}"] = _unpacker(fmt)
        self.ns["_UPf"], self.ns["_UPd"] = _unpacker("f"), _unpacker("d")

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, value: Any, prefix: str = "_c") -> str:
        name = self.fresh(prefix)
        self.ns[name] = value
        return name

    def define(self, name: str, lines: list[str]) -> str:
        exec("\n".join(lines), self.ns)
        return name

    # -- lowering: statements writing the local `value` into the slot at offset `at` of `b` -----

    def write(self, ty: Any, value: str, at: str, indent: str) -> list[str]:
        K = _K
        if isinstance(ty, _wt.Bool):
            return [f"{indent}if {value} is True: b[{at} + 8] = 1",
                    f"{indent}elif {value} is not False: raise _Bad"]
        name = _INT_NAMES.get(type(ty))
        if name is not None:
            fmt = _INTS[name][0]
            return [f"{indent}if {value}.__class__ is not int and not isinstance({value}, int): raise _Bad",
                    f"{indent}_PK{fmt}(b, {at}, {K[name]}, {value})"]
        if isinstance(ty, _wt.F64):
            return [f"{indent}if {value}.__class__ is not float: {value} = _tof({value})",
                    f"{indent}_PKd(b, {at}, {K['F64']}, {value})"]
        if isinstance(ty, _wt.F32):
            return [f"{indent}_wf32(b, {at}, {value})"]
        if isinstance(ty, _wt.Char):
            return [f"{indent}_wchar(b, {at}, {value})"]
        if isinstance(ty, _wt.String):
            data, where = self.fresh("e"), self.fresh("a")
            if _BYTES_DATA:  # the bytes object's own buffer, kept alive in `k`
                return [f"{indent}{data} = _enc({value})",
                        f"{indent}k.append({data})",
                        f"{indent}_PKQQ(b, {at}, {K['STRING']}, len({data}), id({data}) + {_BYTES_DATA})"]
            return [f"{indent}{data} = _enc({value})",
                    f"{indent}if {data}:",
                    f"{indent}    {where} = len(b)",
                    f"{indent}    b += {data}",
                    f"{indent}    _PKQQ(b, {at}, {K['STRING']}, len({data}), {where})",
                    f"{indent}    r.append({at} + 16)",
                    f"{indent}else: b[{at}] = {K['STRING']}"]
        if isinstance(ty, _wt.EnumType):
            slots = {}
            for case in ty.names:
                size, address = self.names(case)
                slots[case] = struct.pack("<B7xQQ8x", K["ENUM"], size, address)
            return [f"{indent}b[{at}:{at} + 32] = {self.const(slots, '_EN')}[{value}]"]
        if isinstance(ty, _wt.OptionType):
            where, inner = self.fresh("a"), self.fresh("x")
            return [f"{indent}if {value} is None: b[{at}] = {K['OPTION']}",
                    f"{indent}else:",
                    *self._payload(where, indent + "    "),
                    f"{indent}    _PKQ(b, {at}, {K['OPTION']}, {where})",
                    f"{indent}    r.append({at} + 8)",
                    f"{indent}    {inner} = {value}",
                    *self.write(ty.payload, inner, where, indent + "    ")]
        if isinstance(ty, (_wt.ResultType, _wt.VariantType)):
            return self._write_cases(ty, value, at, indent)
        return [f"{indent}{self.writer(ty)}(b, {at}, {value}, r, k)"]

    @staticmethod
    def _payload(where: str, indent: str) -> list[str]:
        """Statements reserving one zeroed, aligned value slot at the end of ``b``, at ``where``."""
        return [f"{indent}{where} = len(b)",
                f"{indent}if {where} & 7: b += _PAD[-{where} & 7]; {where} = len(b)",
                f"{indent}b += _Z32"]

    def _write_cases(self, ty: Any, value: str, at: str, indent: str) -> list[str]:
        K = _K
        result = isinstance(ty, _wt.ResultType)
        cases = [("ok", ty.ok), ("err", ty.err)] if result else ty.cases
        tag, where, inner = self.fresh("t"), self.fresh("a"), self.fresh("x")
        lines = [f"{indent}{tag} = {value}['tag']"]
        for index, (case, case_ty) in enumerate(cases):
            lines.append(f"{indent}{'if' if index == 0 else 'elif'} {tag} == {case!r}:")
            body = indent + "    "
            if result:
                head = f"_PKQQ(b, {at}, {K['RESULT']}, {1 if case == 'ok' else 0}, {{}})"
                pointer = f"{at} + 16"
            else:
                size, address = self.names(case)
                prefix = self.const(struct.pack("<B7xQQ", K["VARIANT"], size, address), "_VP")
                lines.append(f"{body}b[{at}:{at} + 24] = {prefix}")
                head = f"_UQ(b, {at} + 24, {{}})"
                self.ns["_UQ"] = _packer("Q")
                pointer = f"{at} + 24"
            if case_ty is None:
                if result:
                    lines.append(f"{body}{head.format(0)}")
                continue
            lines += [*self._payload(where, body),
                      f"{body}{head.format(where)}",
                      f"{body}r.append({pointer})",
                      f"{body}{inner} = {value}.get('val')",
                      *self.write(case_ty, inner, where, body)]
        lines.append(f"{indent}else: raise _Bad")
        return lines

    def writer(self, ty: Any) -> str:
        """The name of a generated function ``(b, at, value, r, k)`` writing a value of ``ty``."""
        K = _K
        name = self.fresh("_w")
        if isinstance(ty, _wt.RecordType):
            fields = ty.fields
            template = bytearray()
            for field, _ in fields:
                size, address = self.names(field)
                template += struct.pack("<QQ32x", size, address)
            template_name = self.const(bytes(template), "_TPL")
            field_names = self.const(tuple(field for field, _ in fields), "_FN")
            lines = [f"def {name}(b, o, v, r, k):",
                     # A mapping other than a dict may make up a missing field (a defaultdict
                     # would insert it): each is looked for first, as on the public path.
                     "    if v.__class__ is not _dict:",
                     f"        for f in {field_names}:",
                     "            if f not in v: raise _Bad",
                     "    a = len(b)",
                     "    if a & 7: b += _PAD[-a & 7]; a = len(b)",
                     f"    b += {template_name}",
                     f"    _PKQQ(b, o, {K['RECORD']}, {len(fields)}, a)",
                     "    r.append(o + 16)"]
            for index, (field, field_ty) in enumerate(fields):
                at, item = self.fresh("q"), self.fresh("x")
                lines += [f"    {at} = a + {index * 48 + 16}",
                          f"    {item} = v[{field!r}]",
                          *self.write(field_ty, item, at, "    ")]
            return self.define(name, lines)
        if isinstance(ty, _wt.TupleType):
            elements = ty.elements
            count = len(elements)
            lines = [f"def {name}(b, o, v, r, k):",
                     "    if v.__class__ is not _tuple and v.__class__ is not _list and not isinstance(v, _lt): raise _Bad",
                     f"    if len(v) < {count}: raise _Bad",
                     "    a = len(b)",
                     "    if a & 7: b += _PAD[-a & 7]; a = len(b)",
                     f"    b += {self.const(bytes(32 * count), '_Z')}",
                     f"    _PKQQ(b, o, {K['TUPLE']}, {count}, a)",
                     "    r.append(o + 16)"]
            for index, element_ty in enumerate(elements):
                at, item = self.fresh("q"), self.fresh("x")
                lines += [f"    {at} = a + {index * 32}",
                          f"    {item} = v[{index}]",
                          *self.write(element_ty, item, at, "    ")]
            return self.define(name, lines)
        if isinstance(ty, _wt.ListType):
            element = ty.element
            if isinstance(element, _wt.U8):
                return self.define(name, [
                    f"def {name}(b, o, v, r, k):",
                    "    if v.__class__ is not bytes:",
                    "        if not isinstance(v, (bytes, bytearray, memoryview, _list, _tuple)): raise _Bad",
                    "        v = bytes(v)",
                    "    n = len(v)",
                    f"    if not n: b[o] = {K['LIST']}; return",
                    "    a = len(b)",
                    "    if a & 7: b += _PAD[-a & 7]; a = len(b)",
                    "    b += bytes(n << 5)",
                    f"    b[a:a + (n << 5):32] = {self.const(bytes([K['U8']]), '_KB')} * n",
                    "    b[a + 8:a + (n << 5):32] = v",
                    f"    _PKQQ(b, o, {K['LIST']}, n, a)",
                    "    r.append(o + 16)",
                ])
            item = self.fresh("x")
            return self.define(name, [
                f"def {name}(b, o, v, r, k):",
                "    if v.__class__ is not _tuple:",
                "        if v.__class__ is not _list and not isinstance(v, _lt): raise _Bad",
                # A snapshot: the slots are sized from it, so a list that changes while it is
                # written (another thread, a lying `__len__`, a field read appending to it)
                # cannot make the loop write past them.
                "        v = _tuple(v)",
                "    n = len(v)",
                f"    if not n: b[o] = {K['LIST']}; return",
                "    a = len(b)",
                "    if a & 7: b += _PAD[-a & 7]; a = len(b)",
                "    b += bytes(n << 5)",
                f"    _PKQQ(b, o, {K['LIST']}, n, a)",
                "    r.append(o + 16)",
                "    s = a",
                f"    for {item} in v:",
                *self.write(element, item, "s", "        "),
                "        s += 32",
            ])
        if isinstance(ty, _wt.FlagsType):
            self.ns["_write_flags"] = _write_flags
            names = {flag: self.names(flag) for flag in ty.names}
            return self.define(name, [
                f"def {name}(b, o, v, r, k):",
                f"    _write_flags(b, o, v, r, {self.const(names, '_FL')})",
            ])
        if isinstance(ty, (_wt.OwnType, _wt.BorrowType)):
            self.ns["_write_resource"] = _write_resource
            return self.define(name, [
                f"def {name}(b, o, v, r, k):",
                "    _write_resource(b, o, v, k)",
            ])
        raise Unsupported(f"no compiled conversion for {type(ty).__name__}")

    # -- lifting: an expression reading the value in the slot at offset `at` of the bytes `mem` --

    def read(self, ty: Any, mem: str, at: str) -> str:
        if isinstance(ty, _wt.Bool):
            return f"({mem}[{at} + 8] != 0)"
        if isinstance(ty, _wt.U8):
            return f"{mem}[{at} + 8]"
        name = _INT_NAMES.get(type(ty))
        if name is not None:
            return f"_UP{_INTS[name][1]}({mem}, {at} + 8)[0]"
        if isinstance(ty, _wt.F32):
            return f"_UPf({mem}, {at} + 8)[0]"
        if isinstance(ty, _wt.F64):
            return f"_UPd({mem}, {at} + 8)[0]"
        if isinstance(ty, _wt.Char):
            return f"chr(_UPI({mem}, {at} + 8)[0])"
        if isinstance(ty, _wt.String):
            return f"_lstr({mem}, {at})"
        return f"{self.reader(ty)}({mem}, {at})"

    def reader(self, ty: Any) -> str:
        """The name of a generated function ``(mem, at)`` reading a value of ``ty``."""
        K = _K
        name = self.fresh("_r")
        if isinstance(ty, _wt.RecordType):
            fields = ty.fields
            items = ", ".join(f"{field!r}: {self.read(field_ty, 'e', str(index * 48 + 16))}"
                              for index, (field, field_ty) in enumerate(fields))
            return self.define(name, [
                f"def {name}(m, o):",
                f"    e = _sat(_UPQQ(m, o + 8)[1], {len(fields) * 48})",
                f"    return {{{items}}}",
            ])
        if isinstance(ty, _wt.TupleType):
            elements = ty.elements
            items = "".join(f"{self.read(element_ty, 'e', str(index * 32))}, "
                            for index, element_ty in enumerate(elements))
            return self.define(name, [
                f"def {name}(m, o):",
                f"    e = _sat(_UPQQ(m, o + 8)[1], {len(elements) * 32})",
                f"    return ({items})",
            ])
        if isinstance(ty, _wt.ListType):
            element = ty.element
            empty = "b''" if isinstance(element, _wt.U8) else "[]"
            lines = [f"def {name}(m, o):",
                     "    n, p = _UPQQ(m, o + 8)",
                     f"    if not n: return {empty}",
                     "    a = _sat(p, n << 5)"]
            if isinstance(element, _wt.U8):
                lines.append("    return a[8::32]")
            elif isinstance(element, _wt.Bool):
                lines.append("    return [x != 0 for x in a[8::32]]")
            elif isinstance(element, _wt.String):
                lines.append("    return [_sat(q, s).decode('utf-8') if s else '' for s, q in _ITSS(a)]")
            elif type(element) in _INT_NAMES or isinstance(element, (_wt.F32, _wt.F64)):
                fmt = "f" if isinstance(element, _wt.F32) else "d" if isinstance(element, _wt.F64) else \
                    _INTS[_INT_NAMES[type(element)]][1]
                pad = 24 - struct.calcsize("<" + fmt)
                iterate = self.const(struct.Struct(f"<8x{fmt}{pad}x").iter_unpack, "_IT")
                lines.append(f"    return [x for (x,) in {iterate}(a)]")
            else:
                lines.append(f"    return [{self.read(element, 'a', 'i')} for i in range(0, n << 5, 32)]")
            return self.define(name, lines)
        if isinstance(ty, _wt.OptionType):
            return self.define(name, [
                f"def {name}(m, o):",
                "    p = _UPQ(m, o + 8)[0]",
                "    if not p: return None",
                "    s = _sat(p, 32)",
                f"    return {self.read(ty.payload, 's', '0')}",
            ])
        if isinstance(ty, _wt.ResultType):
            def case(tag: str, case_ty: Any) -> str:
                if case_ty is None:
                    return f"{{'tag': {tag!r}}}"
                return f"{{'tag': {tag!r}, 'val': {self.read(case_ty, '_sat(p, 32)', '0')}}}"

            return self.define(name, [
                f"def {name}(m, o):",
                "    p = _UPQ(m, o + 16)[0]",
                f"    if m[o + 8]: return {case('ok', ty.ok)}",
                f"    return {case('err', ty.err)}",
            ])
        if isinstance(ty, _wt.VariantType):
            lines = [f"def {name}(m, o):",
                     "    n, d, p = _UPQQQ(m, o + 8)",
                     "    t = _sat(d, n)"]
            for tag, case_ty in ty.cases:
                if case_ty is None:
                    lines.append(f"    if t == {tag.encode('utf-8')!r}: return {{'tag': {tag!r}}}")
                else:
                    value = self.read(case_ty, "_sat(p, 32)", "0")
                    lines.append(f"    if t == {tag.encode('utf-8')!r}: return {{'tag': {tag!r}, 'val': {value}}}")
            lines.append("    raise ValueError(f'tag {t!r} not found in variant cases')")
            return self.define(name, lines)
        if isinstance(ty, _wt.EnumType):
            cases = self.const({case.encode("utf-8"): case for case in ty.names}, "_EC")
            return self.define(name, [
                f"def {name}(m, o):",
                "    n, p = _UPQQ(m, o + 8)",
                "    t = _sat(p, n)",
                f"    c = {cases}.get(t)",
                "    return t.decode('utf-8') if c is None else c",
            ])
        if isinstance(ty, _wt.FlagsType):
            self.ns["_read_flags"] = _read_flags
            return self.define(name, [f"def {name}(m, o):", "    return _read_flags(m, o)"])
        if isinstance(ty, (_wt.OwnType, _wt.BorrowType)):
            self.ns["_read_resource"] = _read_resource
            return self.define(name, [f"def {name}(m, o):", "    return _read_resource(m, o)"])
        raise Unsupported(f"no compiled conversion for {type(ty).__name__}")


def _write_flags(buf: bytearray, at: int, value: Any, relocations: list, names: dict) -> None:
    if not isinstance(value, set):
        raise _Bad
    value = tuple(value)  # a snapshot: the slots below are sized from it
    count = len(value)
    if not count:
        buf[at] = _K["FLAGS"]
        return
    where = len(buf)
    if where & 7:
        buf += _PAD[-where & 7]
        where = len(buf)
    buf += bytes(16 * count)
    for index, flag in enumerate(value):
        if not isinstance(flag, str) or flag not in names:
            raise _Bad
        struct.pack_into("<QQ", buf, where + 16 * index, *names[flag])
    struct.pack_into("<B7xQQ", buf, at, _K["FLAGS"], count, where)
    relocations.append(at + 16)


def _read_flags(mem: Any, at: int) -> set:
    count, data = _UNPACK_NAME(mem, at)
    if not count:
        return set()
    names = _string_at(data, 16 * count)
    return {
        _string_at(address, size).decode("utf-8") if size else "" for size, address in struct.iter_unpack("<QQ", names)
    }


def _write_resource(buf: bytearray, at: int, value: Any, keep: list) -> None:
    """A resource handle: wasmtime's ``ResourceAny`` as it is, a ``ResourceHost`` made one in the
    call's store (``keep[0]``); kept alive until the call returns."""
    if isinstance(value, ResourceHost):
        value = value.to_any(keep[0])
    elif not isinstance(value, ResourceAny):
        raise _Bad
    keep.append(value)
    address = ctypes.cast(value.ptr(), ctypes.c_void_p).value
    struct.pack_into("<B7xQ", buf, at, _K["RESOURCE"], address)


def _read_resource(mem: Any, at: int) -> Any:
    (address,) = _UNPACK_POINTER(mem, at)
    return ResourceAny._from_ptr(_resource_clone(address))


_LOWER_ERRORS = (_Bad, TypeError, KeyError, AttributeError, IndexError, OverflowError, struct.error, UnicodeError)


def _relocate(buf: bytearray, relocations: list) -> tuple[Any, int]:
    """Pins ``buf`` (it cannot be resized while the returned anchor lives) and turns the
    offsets at ``relocations`` into addresses; the anchor and the buffer's address."""
    anchor = ctypes.c_char.from_buffer(buf)
    base = ctypes.addressof(anchor)
    if relocations:
        words = memoryview(buf).cast("Q")
        for at in relocations:
            words[at >> 3] += base
        words.release()
    return anchor, base


class Function:
    """The compiled conversions of one function type, called from Python: its arguments lowered
    and its result lifted. (Host functions keep wasmtime-py's public path: they carry a page of
    a scan or a batch of removals as one string, so their conversion is a small part of a
    cleanup.)"""

    __slots__ = ("params", "lower", "lift", "result_at", "_names", "_generator", "_types", "_writers")

    def __init__(self, generator: _Generator, types: list, has_result: bool) -> None:
        ns = generator.ns
        params = len(types)
        self.params = params
        self._generator = generator
        self._types = types
        self._writers: dict[int, Callable[..., Any]] = {}
        self.lower = ns["_lower"]
        self.lift = ns["_lift"] if has_result else None
        #: Where the result slot is: after the parameters' slots.
        self.result_at = 32 * params
        # The encoded names the generated code points at.
        self._names = generator.names

    def lower_args(self, args: tuple, store: Any = None) -> Optional[tuple[bytearray, list, list]]:
        """The arguments as C values (and the result slot, zeroed) in one buffer, with the offsets
        of the pointers in it (relative to its start) and the objects to keep alive; ``None``
        when a value is not what the compiled code expects."""
        keep: list = [store]
        try:
            buf, relocations = self.lower(args, keep)
        except _LOWER_ERRORS:
            return None
        return buf, relocations, keep

    def call(self, context: int, func: int, args: tuple, store: Any = None) -> Any:
        """Calls the function at ``func`` (the address of a ``wasmtime_component_func_t``) in the
        store context ``context`` with plain ``args``; returns the plain result. Raises
        :class:`FallBack` when an argument is not what the compiled code expects (nothing ran)."""
        keep: list = [store]
        try:
            buf, relocations = self.lower(args, keep)
        except _LOWER_ERRORS:
            raise FallBack from None
        anchor, base = _relocate(buf, relocations)
        lift = self.lift
        if lift is None:
            error = _func_call(func, context, base, self.params, None, 0)
        else:
            at = self.result_at
            error = _func_call(func, context, base, self.params, base + at, 1)
        if error:
            # An exception a host function raised is the caller's to raise (wasmtime-py's process-wide
            # LAST_EXCEPTION may be another thread's): see _component._kept.
            raise WasmtimeError._from_ptr(ctypes.cast(error, _ERROR))
        if lift is None:
            return None
        try:
            return lift(buf, at)
        finally:
            _val_delete(base + at)

    def prepare(self, index: int, value: Any) -> Optional["Prepared"]:
        """Argument ``index`` converted once, for calls that pass the same value again (see
        :class:`Prepared`); ``None`` when its type is not a compound one or the value is not
        what the compiled code expects."""
        if not isinstance(self._types[index], _PREPARABLE):
            return None
        writer = self._writers.get(index)
        if writer is None:
            generator = self._generator
            name = generator.fresh("_lower_p")
            generator.define(name, [
                f"def {name}(v, k):",
                "    b = bytearray(32)",
                "    r = []",
                *generator.write(self._types[index], "v", "0", "    "),
                "    if len(b) & 7: b += _PAD[-len(b) & 7]",
                "    return b, r",
            ])
            writer = self._writers[index] = generator.ns[name]
        keep: list = [None]
        try:
            buf, relocations = writer(value, keep)
        except _LOWER_ERRORS:
            return None
        memory = ctypes.create_string_buffer(len(buf))
        base = ctypes.addressof(memory)
        if base & 7:
            return None
        if relocations:
            words = memoryview(buf).cast("Q")
            for at in relocations:
                words[at >> 3] += base
            words.release()
        data = bytes(buf)
        ctypes.memmove(memory, data, len(data))
        return Prepared(value, self._generator.ns[f"_OWN{index}"], data[:32], memory, keep)


class Prepared:
    """An argument converted once (:meth:`Function.prepare`): its C value lives in memory that
    does not move, and a call passing it copies only its 32-byte root. It is used by the
    parameter it was made for; passed anywhere else, or through the public path, it stands for
    its plain ``value``. The value must not change afterwards (the caller's cache key ensures
    that)."""

    __slots__ = ("value", "owner", "slot", "_memory", "_keep")

    def __init__(self, value: Any, owner: object, slot: bytes, memory: Any, keep: list) -> None:
        self.value = value
        self.owner = owner
        self.slot = slot
        self._memory = memory
        self._keep = keep

    def made_for(self, function: "Function", index: int) -> bool:
        """Whether this is argument ``index`` of ``function``'s compiled conversions."""
        return self.owner is function._generator.ns.get(f"_OWN{index}")


class Codec:
    """The compiled conversions of one value type (the tests' view of the generated code)."""

    __slots__ = ("write", "read", "_names")

    def __init__(self, generator: _Generator) -> None:
        self.write = generator.ns["_lower_value"]
        self.read = generator.ns["_lift"]
        self._names = generator.names

    def lower(self, value: Any, store: Any = None) -> Optional[tuple[Any, int, bytearray, list]]:
        """``value`` as a C value in memory Python owns: ``(anchor, address, buffer, kept)``
        (keep them all alive while the value is used); ``None`` when the value is not what the
        compiled code expects (the public path would raise)."""
        keep: list = [store]
        try:
            buf, relocations = self.write(value, keep)
        except _LOWER_ERRORS:
            return None
        anchor, base = _relocate(buf, relocations)
        return anchor, base, buf, keep

    def lift(self, address: int) -> Any:
        """The plain value of the C value at ``address`` (left as it is)."""
        return self.read(_string_at(address, 32), 0)


class FallBack(Exception):
    """An argument is not what the compiled code expects: call through the public path."""


def post_return(context: int, func: int) -> None:
    """``wasmtime_component_func_post_return`` (a no-op in the pinned wasmtime, kept for the
    API's contract)."""
    error = _post_return(func, context)
    if error:
        # An exception a host function raised is the caller's to raise (wasmtime-py's process-wide
        # LAST_EXCEPTION may be another thread's): see _component._kept.
        raise WasmtimeError._from_ptr(ctypes.cast(error, _ERROR))


def set_epoch_deadline(context: int, ticks: int) -> None:
    """``Store.set_epoch_deadline`` for the store context at ``context``."""
    _epoch_deadline(context, ticks)


def address(obj: Any) -> int:
    """The address of a ``ctypes`` object or pointer (a function's struct, a store context)."""
    if isinstance(obj, ctypes._Pointer):
        return ctypes.cast(obj, ctypes.c_void_p).value or 0
    return ctypes.addressof(obj)


def _generate(params: list, result: Any) -> _Generator:
    """The generated functions of a function type: ``_lower(args, k)`` (the arguments, then a
    zeroed result slot) and ``_lift(m, o)`` (the result); with a result, ``_lower_value(v, k)``
    too (a value of the result's type in a buffer of its own: :class:`Codec`)."""
    for ty in params + ([] if result is None else [result]):
        _check_supported(ty)
    generator = _Generator()
    lines = ["def _lower(args, k):",
             f"    b = bytearray({32 * (len(params) + (0 if result is None else 1))})",
             "    r = []"]
    generator.ns["_Prep"] = Prepared
    for index, ty in enumerate(params):
        item = generator.fresh("x")
        lines.append(f"    {item} = args[{index}]")
        if isinstance(ty, _PREPARABLE):
            # An argument prepared for this very parameter is copied; any other is unwrapped.
            generator.ns[f"_OWN{index}"] = object()
            lines += [f"    if {item}.__class__ is _Prep and {item}.owner is _OWN{index}:",
                      f"        b[{32 * index}:{32 * index + 32}] = {item}.slot",
                      "    else:",
                      f"        if {item}.__class__ is _Prep: {item} = {item}.value",
                      *generator.write(ty, item, str(32 * index), "        ")]
        else:
            lines.append(f"    if {item}.__class__ is _Prep: {item} = {item}.value")
            lines += generator.write(ty, item, str(32 * index), "    ")
    lines += ["    if len(b) & 7: b += _PAD[-len(b) & 7]", "    return b, r"]
    generator.define("_lower", lines)
    if result is not None:
        generator.define("_lift", ["def _lift(m, o):", f"    return {generator.read(result, 'm', 'o')}"])
        generator.define("_lower_value", [
            "def _lower_value(v, k):",
            "    b = bytearray(32)",
            "    r = []",
            *generator.write(result, "v", "0", "    "),
            "    if len(b) & 7: b += _PAD[-len(b) & 7]",
            "    return b, r",
        ])
    return generator


def compile_function(func_ty: Any) -> Optional[Function]:
    """The compiled conversions of a component function type; ``None`` when the fast path is off
    or a type in it is not handled (its calls take the public path)."""
    if not AVAILABLE:
        report()
        return None
    try:
        params = [ty for _, ty in func_ty.params]
        result = func_ty.result
        return Function(_generate(params, result), params, result is not None)
    except Unsupported as unsupported:
        _logger().debug("a function takes the public call path: %s", unsupported)
        return None


def compile_type(ty: Any) -> Optional[Codec]:
    """The compiled conversions of one value type (``None`` as for :func:`compile_function`)."""
    if not AVAILABLE:
        return None
    try:
        return Codec(_generate([], ty))
    except Unsupported:
        return None


def _check_supported(ty: Any) -> None:
    """Raises :class:`Unsupported` for a type (or a type inside it) the generated code lacks."""
    if not isinstance(ty, _TYPES):
        raise Unsupported(f"no compiled conversion for {type(ty).__name__}")
    if isinstance(ty, _wt.RecordType):
        for _, field in ty.fields:
            _check_supported(field)
    elif isinstance(ty, _wt.TupleType):
        for element in ty.elements:
            _check_supported(element)
    elif isinstance(ty, _wt.ListType):
        _check_supported(ty.element)
    elif isinstance(ty, _wt.OptionType):
        _check_supported(ty.payload)
    elif isinstance(ty, _wt.ResultType):
        for case in (ty.ok, ty.err):
            if case is not None:
                _check_supported(case)
    elif isinstance(ty, _wt.VariantType):
        for _, case in ty.cases:
            if case is not None:
                _check_supported(case)
