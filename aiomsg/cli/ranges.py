"""Sets of input positions kept as ranges, so that millions of items cost a few numbers.

The command line tracks which input positions are finished, invalid or were in
flight when a run stopped. Those sets are long runs of consecutive positions, so
they are stored as sorted, disjoint ``[start, stop)`` ranges rather than per item.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

__all__ = ["IndexRanges", "ranges_of"]


class IndexRanges:
    """A set of non-negative integers stored as sorted, disjoint, non-touching ranges."""

    __slots__ = ("_starts", "_stops")

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        self._starts: list[int] = []
        self._stops: list[int] = []
        for start, stop in ranges:
            self.add(start, stop)

    def add(self, start: int, stop: int) -> None:
        """Add ``[start, stop)``, merging with the ranges it overlaps or touches."""
        if stop <= start:
            return
        starts, stops = self._starts, self._stops
        if not starts or start > stops[-1]:  # the common case: appending in order
            starts.append(start)
            stops.append(stop)
            return
        i = bisect_left(stops, start)
        j = bisect_right(starts, stop)
        if i < j:
            start = min(start, starts[i])
            stop = max(stop, stops[j - 1])
        starts[i:j] = [start]
        stops[i:j] = [stop]

    def discard(self, start: int, stop: int) -> None:
        """Remove ``[start, stop)``, splitting the ranges it cuts."""
        if stop <= start:
            return
        starts, stops = self._starts, self._stops
        i = bisect_right(stops, start)
        j = bisect_left(starts, stop)
        if i >= j:
            return
        kept_starts: list[int] = []
        kept_stops: list[int] = []
        if starts[i] < start:
            kept_starts.append(starts[i])
            kept_stops.append(start)
        if stops[j - 1] > stop:
            kept_starts.append(stop)
            kept_stops.append(stops[j - 1])
        starts[i:j] = kept_starts
        stops[i:j] = kept_stops

    def overlaps(self, start: int, stop: int) -> bool:
        """Whether any position of ``[start, stop)`` is in the set."""
        i = bisect_right(self._stops, start)
        return i < len(self._starts) and self._starts[i] < stop

    def __contains__(self, index: object) -> bool:
        if not isinstance(index, int):
            return False
        i = bisect_right(self._starts, index) - 1
        return i >= 0 and index < self._stops[i]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return zip(self._starts, self._stops, strict=True)

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IndexRanges):
            return NotImplemented
        return self._starts == other._starts and self._stops == other._stops

    __hash__ = None  # type: ignore[assignment]

    @property
    def count(self) -> int:
        """How many positions the set holds."""
        return sum(self._stops) - sum(self._starts)

    def count_in(self, lo: int, hi: int) -> int:
        """How many positions of ``[lo, hi)`` the set holds."""
        total = 0
        for i in range(bisect_right(self._stops, lo), len(self._starts)):
            start = self._starts[i]
            if start >= hi:
                break
            total += min(hi, self._stops[i]) - max(lo, start)
        return total

    def minus(self, other: IndexRanges) -> IndexRanges:
        """The positions of this set that are not in ``other``."""
        out = IndexRanges()
        for start, stop in self:
            cursor = start
            for o_start, o_stop in other.within(start, stop):
                if o_start > cursor:
                    out.add(cursor, o_start)
                cursor = max(cursor, o_stop)
            if cursor < stop:
                out.add(cursor, stop)
        return out

    def within(self, lo: int, hi: int) -> Iterator[tuple[int, int]]:
        """The ranges clipped to ``[lo, hi)``, in order."""
        for i in range(bisect_right(self._stops, lo), len(self._starts)):
            start = self._starts[i]
            if start >= hi:
                return
            yield max(lo, start), min(hi, self._stops[i])

    def cursor(self) -> RangeCursor:
        """A membership test for positions asked in ascending order (O(1) each)."""
        return RangeCursor(self._starts[:], self._stops[:])

    def __repr__(self) -> str:
        shown = ", ".join(f"[{a}, {b})" for a, b in list(self)[:6])
        more = " ..." if len(self._starts) > 6 else ""
        return f"IndexRanges({shown}{more})"


class RangeCursor:
    """Answers ``index in cursor`` for non-decreasing indices by walking the ranges once."""

    __slots__ = ("_i", "_starts", "_stops")

    def __init__(self, starts: list[int], stops: list[int]) -> None:
        self._starts = starts
        self._stops = stops
        self._i = 0

    def __contains__(self, index: int) -> bool:
        stops = self._stops
        i = self._i
        n = len(stops)
        while i < n and stops[i] <= index:
            i += 1
        self._i = i
        return i < n and self._starts[i] <= index


def ranges_of(indices: Iterable[int]) -> list[tuple[int, int]]:
    """Ascending distinct integers as a list of ``[start, stop)`` runs."""
    out: list[tuple[int, int]] = []
    start = stop = -1
    for i in indices:
        if i == stop:
            stop += 1
            continue
        if stop > start:
            out.append((start, stop))
        start, stop = i, i + 1
    if stop > start:
        out.append((start, stop))
    return out
