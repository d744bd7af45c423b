"""Position ranges: a set of positions kept as ranges holds exactly what was added."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from aiomsg.cli.ranges import IndexRanges, ranges_of


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20))))
def test_ranges_hold_exactly_the_positions_added(spans: list[tuple[int, int]]) -> None:
    ranges = IndexRanges()
    expected: set[int] = set()
    for start, length in spans:
        ranges.add(start, start + length)
        expected.update(range(start, start + length))
    assert [i for a, b in ranges for i in range(a, b)] == sorted(expected)
    assert ranges.count == len(expected)
    assert ranges.count_in(10, 30) == len([i for i in expected if 10 <= i < 30])
    assert all((i in ranges) == (i in expected) for i in range(90))
    cursor = ranges.cursor()
    assert [i for i in range(90) if i in cursor] == sorted(expected)
    listed = list(ranges)
    assert all(b < c for (_, b), (c, _) in itertools.pairwise(listed))  # no touching
    removed = IndexRanges(ranges)
    removed.discard(12, 33)
    assert [i for a, b in removed for i in range(a, b)] == sorted(expected - set(range(12, 33)))
    other = IndexRanges([(5, 15), (40, 45)])
    assert [i for a, b in ranges.minus(other) for i in range(a, b)] == sorted(
        expected - set(range(5, 15)) - set(range(40, 45))
    )
    assert ranges_of(sorted(expected)) == listed
    assert ranges.overlaps(10, 20) == bool(expected & set(range(10, 20)))
