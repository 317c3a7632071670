"""Text shown to people (the native host's ``types/text.rs``): control and bidirectional
formatting characters written as escapes, so that a file name cannot forge lines or drive the
terminal."""

from __future__ import annotations

import unicodedata

__all__ = ["printable"]

_BIDI = {"\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text) -> str:
    """``text`` with control and bidirectional formatting characters as escapes (``\\n``,
    ``\\u{1b}``)."""
    out = []
    for char in str(text):
        if char in _NAMED:
            out.append(_NAMED[char])
        elif unicodedata.category(char) == "Cc" or char in _BIDI:
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return "".join(out)
