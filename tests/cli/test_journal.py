"""The resume journal and the position ranges it is built on, in process."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiomsg._cli_ranges import IndexRanges, ranges_of
from aiomsg._journal import JobIdentity, Journal, JournalError

IDENTITY = JobIdentity(
    command="revicom stop", params=(), input_name="ids.txt", input_digest="ab" * 32,
    items=100, shard=None,
)  # fmt: skip


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
    other = IndexRanges([(5, 15), (40, 45)])
    assert [i for a, b in ranges.minus(other) for i in range(a, b)] == sorted(
        expected - set(range(5, 15)) - set(range(40, 45))
    )
    assert ranges_of(sorted(expected)) == listed
    assert ranges.overlaps(10, 20) == bool(expected & set(range(10, 20)))


def test_replay_merges_out_of_order_records_by_position(tmp_path: Path) -> None:
    path = str(tmp_path / "j")
    journal = Journal.open(path, IDENTITY)
    journal.record_done([(10, 20)], [(10, "stopped", 200, None)])
    journal.record_done([(0, 5), (30, 32)], [(6, "not_found", 404, None), (1, "failed", None, "x")])
    journal.record_done([(5, 10)], [(5, "maybe_stopped", 202, None)])
    journal.close()

    reopened = Journal.open(path, IDENTITY, readonly=True)
    rows = list(reopened.replay())
    assert [r[0] for r in rows] == [*range(20), 30, 31]
    assert rows[0] == (0, "not_found", 404, None)
    assert rows[5] == (5, "maybe_stopped", 202, None)
    assert rows[-1] == (31, "failed", None, "x")
    assert list(reopened.done) == [(0, 20), (30, 32)]


def test_a_torn_last_record_is_ignored_and_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "j"
    journal = Journal.open(str(path), IDENTITY)
    journal.record_done([(0, 10)], [(10, "stopped", 200, None)])
    journal.close()
    with open(path, "ab") as f:
        f.write(b'{"done": [[10, 20]], "r": [[10, "sto')  # killed mid-write

    journal = Journal.open(str(path), IDENTITY)
    assert list(journal.done) == [(0, 10)]
    journal.record_done([(10, 12)], [(2, "stopped", 200, None)])
    journal.close()
    assert list(Journal.open(str(path), IDENTITY, readonly=True).done) == [(0, 12)]
    assert path.read_bytes().count(b"\n") == 3


@pytest.mark.parametrize(
    ("record", "why"),
    [
        (b"garbage\n", "damaged at line 3"),
        (b'{"done": [[0, 5]], "r": [[5, "stopped", 200, null]]}\n', "finished twice"),
        (b'{"done": [[95, 105]], "r": [[10, "stopped", 200, null]]}\n', "outside the input"),
        (b'{"done": [[50, 55]], "r": [[4, "stopped", 200, null]]}\n', "do not add up"),
        (b'{"done": [[50, 55]], "r": [[5, "exploded", 200, null]]}\n', "bad outcome"),
    ],
)
def test_a_damaged_journal_is_refused(tmp_path: Path, record: bytes, why: str) -> None:
    path = tmp_path / "j"
    journal = Journal.open(str(path), IDENTITY)
    journal.record_done([(0, 10)], [(10, "stopped", 200, None)])
    journal.close()
    with open(path, "ab") as f:
        f.write(record + b'{"sent": [[60, 70]]}\n')
    with pytest.raises(JournalError, match=why):
        Journal.open(str(path), IDENTITY)


def test_another_job_is_refused_and_in_flight_is_sent_minus_done(tmp_path: Path) -> None:
    path = str(tmp_path / "j")
    journal = Journal.open(path, IDENTITY, sync_each=True)
    journal.record_sent([(0, 30)])
    journal.record_done([(0, 10)], [(10, "accepted", None, None)])
    with pytest.raises(JournalError, match="in use by another aiomsg process"):
        Journal.open(path, IDENTITY)
    journal.close()
    assert list(Journal.open(path, IDENTITY, readonly=True).in_flight()) == [(10, 30)]

    other = JobIdentity(
        command="8x8 sms cancel", params=(("sub_account", "s"),), input_name="ids.txt",
        input_digest="ab" * 32, items=100, shard=None,
    )  # fmt: skip
    with pytest.raises(JournalError, match="belongs to another job") as raised:
        Journal.open(path, other)
    assert "'aiomsg revicom stop' over 100 items" in str(raised.value)
    assert not (tmp_path / "missing").exists()
    assert list(Journal.open(str(tmp_path / "missing"), IDENTITY, readonly=True).done) == []
    assert not (tmp_path / "missing").exists()
