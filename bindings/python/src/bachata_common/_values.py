"""Conversion between plain Python values and wasmtime's component values, driven by WIT types.

wasmtime represents a WIT value with Python objects whose shape depends on the type around it:
a variant is a ``Variant(tag, payload)`` only when its cases cannot be told apart by their
Python class, and a bare payload otherwise (so ``result<list<tensor>, string>`` errs with a plain
``str`` while ``result<option<string>, string>`` errs with ``Variant("err", ...)``). This module
turns every value into one plain, JSON-like shape instead, the one the shared test vectors use:

===================  =====================================================================
WIT                  plain Python
===================  =====================================================================
record               ``dict`` keyed by WIT field names (``{"error-code": ..., ...}``)
variant, result      ``{"tag": case}`` or ``{"tag": case, "val": payload}``
option               ``None`` or the payload
enum                 the case name (``"secret-manager"``)
tuple                ``tuple``
list                 ``list``
bool, numbers, text  themselves (an ``int`` is accepted where a float is expected; one out of
                     its type's range is refused with ``ValueError``)
===================  =====================================================================
"""

from __future__ import annotations

from typing import Any, Optional

from wasmtime import component as wc

__all__ = ["lift", "lower"]


def _cases(ty: Any) -> list[tuple[str, Optional[wc.ValType]]]:
    """The cases of a variant or result type, with their payload types."""
    if isinstance(ty, wc.ResultType):
        return [("ok", ty.ok), ("err", ty.err)]
    return ty.cases


def _tagged(ty: Any) -> bool:
    """Whether wasmtime wraps values of this variant-like type in ``Variant``.

    This is wasmtime's own rule (``VariantLikeType._tagged`` of the pinned release), asked
    rather than copied so both sides always agree.
    """
    return ty._tagged()


def _matches(case_ty: Optional[wc.ValType], value: Any) -> bool:
    """Whether a bare (untagged) ``value`` belongs to a case, by wasmtime's class test."""
    if case_ty is None:
        return value is None
    classes: set[type] = set()
    case_ty.add_classes(classes)
    return isinstance(value, tuple(classes))


def lift(ty: wc.ValType, value: Any) -> Any:
    """Turns a value wasmtime produced for type ``ty`` into its plain form."""
    if isinstance(ty, wc.RecordType):
        return {name: lift(field_ty, getattr(value, name)) for name, field_ty in ty.fields}
    if isinstance(ty, wc.TupleType):
        return tuple(lift(element_ty, item) for element_ty, item in zip(ty.elements, value))
    if isinstance(ty, wc.ListType):
        if isinstance(value, bytes):
            return value
        element_ty = ty.element
        return [lift(element_ty, item) for item in value]
    if isinstance(ty, wc.OptionType):
        return None if value is None else lift(ty.payload, value)
    if isinstance(ty, (wc.VariantType, wc.ResultType)):
        cases = _cases(ty)
        if _tagged(ty):
            tag, payload = value.tag, value.payload
            case_ty = dict(cases)[tag]
        else:
            tag, case_ty = next((name, t) for name, t in cases if _matches(t, value))
            payload = value
        if case_ty is None:
            return {"tag": tag}
        return {"tag": tag, "val": lift(case_ty, payload)}
    return value


def lower(ty: wc.ValType, value: Any) -> Any:
    """Turns a plain value into what wasmtime expects for type ``ty``."""
    if isinstance(ty, wc.RecordType):
        record = wc.Record()
        for name, field_ty in ty.fields:
            if name not in value:
                raise TypeError(f"record field {name!r} is missing from {sorted(value)}")
            setattr(record, name, lower(field_ty, value[name]))
        return record
    if isinstance(ty, wc.TupleType):
        return tuple(lower(element_ty, item) for element_ty, item in zip(ty.elements, value))
    if isinstance(ty, wc.ListType):
        element_ty = ty.element
        if isinstance(element_ty, wc.U8):
            return bytes(value)
        return [lower(element_ty, item) for item in value]
    if isinstance(ty, wc.OptionType):
        return None if value is None else lower(ty.payload, value)
    if isinstance(ty, (wc.VariantType, wc.ResultType)):
        cases = dict(_cases(ty))
        tag = value["tag"]
        if tag not in cases:
            raise ValueError(f"unknown case {tag!r}; expected one of {sorted(cases)}")
        case_ty = cases[tag]
        payload = None if case_ty is None else lower(case_ty, value.get("val"))
        return wc.Variant(tag, payload) if _tagged(ty) else payload
    if isinstance(ty, (wc.F32, wc.F64)) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    bounds = _INT_RANGES.get(type(ty))
    if bounds is not None and isinstance(value, int) and not bounds[0] <= value <= bounds[1]:
        # wasmtime would keep the low bits: another number than the caller's.
        raise ValueError(f"{value} is out of range for a WIT {type(ty).__name__.lower()} ({bounds[0]} to {bounds[1]})")
    return value


#: The values of each integer type.
_INT_RANGES = {
    wc.S8: (-(1 << 7), (1 << 7) - 1), wc.U8: (0, (1 << 8) - 1), wc.S16: (-(1 << 15), (1 << 15) - 1),
    wc.U16: (0, (1 << 16) - 1), wc.S32: (-(1 << 31), (1 << 31) - 1), wc.U32: (0, (1 << 32) - 1),
    wc.S64: (-(1 << 63), (1 << 63) - 1), wc.U64: (0, (1 << 64) - 1),
}
