"""Entry names as the policy sees them (the native host's rule, ``host/src/capabilities/fs/names.rs``).

WIT strings are UTF-8; file names are any bytes but ``/`` and NUL. A name is passed as it is when
it is UTF-8 without a backslash; otherwise a backslash is written ``\\\\`` and each byte that is
not UTF-8 ``\\xNN`` (two lowercase hex digits). The form is reversible and canonical: the host
accepts back exactly the form it gave, so no spelling of ``..``, ``/`` or NUL can be smuggled
through an escape.

Python gives a file name as ``str`` with each undecodable byte as a lone surrogate
(``surrogateescape``): that is where the escapes come from.
"""

from __future__ import annotations

__all__ = ["decode", "encode"]

_HEX = "0123456789abcdef"


def encode(name: str) -> str:
    """The policy's form of a file name (as ``os.scandir`` gives it)."""
    if "\\" not in name:
        try:
            name.encode("utf-8")
            return name
        except UnicodeEncodeError:
            pass
    out = []
    for char in name:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        else:
            out.append(char)
    return "".join(out)


def decode(component: str) -> bytes:
    """The file name (bytes) a policy's name component stands for.

    Raises ``ValueError`` when it is not a form :func:`encode` gives.
    """
    if "\\" not in component:
        return component.encode("utf-8", "surrogatepass")
    raw = bytearray()
    index = 0
    text = component
    while index < len(text):
        char = text[index]
        if char != "\\":
            raw += char.encode("utf-8", "surrogatepass")
            index += 1
            continue
        following = text[index + 1 : index + 2]
        if following == "\\":
            raw += b"\\"
            index += 2
        elif following == "x" and len(text) >= index + 4 and all(c in _HEX for c in text[index + 2 : index + 4]):
            raw.append(int(text[index + 2 : index + 4], 16))
            index += 4
        else:
            raise ValueError(f"malformed escape in `{component}`")
    name = bytes(raw)
    if encode(name.decode("utf-8", "surrogateescape")) != component:
        raise ValueError(f"`{component}` is not the host's form of a file name")
    return name
