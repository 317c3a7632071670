"""What one row of totals per day and algorithm version holds besides its sums, stored as compact
JSON and merged when read (the native host's format, ``host/src/capabilities/store/histogram.rs``):
processing times as a histogram keyed by the top bits of the time's double (``[[bucket, count,
min_ms, max_ms], …]``) and how often each move was recommended (``[[move_id, recommended,
first], …]``)."""

from __future__ import annotations

import json
import struct

from .store import StoreError

__all__ = ["Histogram", "MoveCounts", "bucket_of"]

#: Mantissa bits kept in a bucket key: 32 buckets per doubling, each at most 3.2 % wide.
MANTISSA_BITS = 5
_DOUBLE = struct.Struct("<d")
_BITS = struct.Struct("<Q")


def bucket_of(ms: float) -> int:
    """The bucket of a processing time in milliseconds (times are never negative)."""
    (bits,) = _BITS.unpack(_DOUBLE.pack(max(ms, 0.0)))
    return bits >> (52 - MANTISSA_BITS)


def _number(value):
    """A float as the native host writes it (an integral value keeps its ``.0``)."""
    return float(value)


class Histogram:
    """A histogram of processing times."""

    def __init__(self) -> None:
        self.buckets: dict[int, list] = {}

    def add(self, ms: float) -> None:
        # -0.0 is the zero of the first bucket, not a sign bit past every positive time.
        if isinstance(ms, float):
            ms = ms + 0.0
        entry = self.buckets.setdefault(bucket_of(ms), [0, ms, ms])
        entry[0] += 1
        entry[1] = min(entry[1], ms)
        entry[2] = max(entry[2], ms)

    def merge(self, other: "Histogram") -> None:
        for bucket, (count, low, high) in other.buckets.items():
            entry = self.buckets.setdefault(bucket, [0, low, high])
            entry[0] += count
            entry[1] = min(entry[1], low)
            entry[2] = max(entry[2], high)

    def encode(self) -> str:
        rows = [[bucket, count, _number(low), _number(high)] for bucket, (count, low, high) in sorted(self.buckets.items())]
        return json.dumps(rows, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> "Histogram":
        histogram = cls()
        try:
            for bucket, count, low, high in json.loads(text):
                histogram.buckets[int(bucket)] = [int(count), float(low), float(high)]
        except (ValueError, TypeError) as error:
            raise StoreError(f"a stored latency histogram is not valid: {error}") from None
        return histogram

    def latency(self) -> list[dict]:
        """The ``latency-bucket`` records, in ascending order of time."""
        return [
            {"count": count, "min-ms": low, "max-ms": high} for _, (count, low, high) in sorted(self.buckets.items())
        ]


class MoveCounts:
    """How often each move was recommended (by any decision, and first), by move id."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}

    def add(self, moves: list[str]) -> None:
        """Counts one decision's moves, best first (a move listed twice counts once)."""
        seen = set()
        for rank, move in enumerate(moves):
            if move in seen:
                continue
            seen.add(move)
            entry = self.counts.setdefault(move, [0, 0])
            entry[0] += 1
            entry[1] += 1 if rank == 0 else 0

    def merge(self, other: "MoveCounts") -> None:
        for move, (recommended, first) in other.counts.items():
            entry = self.counts.setdefault(move, [0, 0])
            entry[0] += recommended
            entry[1] += first

    def encode(self) -> str:
        return json.dumps([[move, r, f] for move, (r, f) in sorted(self.counts.items())], separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def decode(cls, text: str) -> "MoveCounts":
        counts = cls()
        try:
            for move, recommended, first in json.loads(text):
                counts.counts[str(move)] = [int(recommended), int(first)]
        except (ValueError, TypeError) as error:
            raise StoreError(f"stored move counts are not valid: {error}") from None
        return counts

    def top(self, limit: int) -> list[dict]:
        """The ``move-totals`` records, most recommended first (ties by move id), at most ``limit``."""
        ordered = sorted(self.counts.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
        return [{"move-id": move, "recommended": r, "first": f} for move, (r, f) in ordered]
