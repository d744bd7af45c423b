"""The resume journal and the position ranges it is built on, in process."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from aiomsg.cli.journal import JobIdentity, Journal, JournalError

IDENTITY = JobIdentity(
    command="revicom stop", params=(), input_name="ids.txt", input_digest="ab" * 32,
    items=100, shard=None,
)  # fmt: skip


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


@pytest.mark.parametrize(
    "content",
    [
        b"my notes, no newline at the end",
        b"3fa85f64-5717-4562-b3fc-2c963f66afa6",
        b'{"journal": "something else"',
        b'{"journal":"aiomsx"',
    ],
)
@pytest.mark.parametrize("readonly", [False, True])
def test_a_file_that_is_not_a_journal_is_never_overwritten(
    tmp_path: Path, content: bytes, readonly: bool
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(JournalError, match="is not an aiomsg journal; it was left as it is"):
        Journal.open(str(path), IDENTITY, readonly=readonly)
    assert path.read_bytes() == content


@pytest.mark.parametrize("cut", [1, 12, 20, 40, -1])
def test_a_torn_header_is_a_fresh_start(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "j"
    Journal.open(str(path), IDENTITY).close()
    header = path.read_bytes()
    path.write_bytes(header[:cut])  # killed while writing the header

    journal = Journal.open(str(path), IDENTITY)
    journal.record_done([(0, 2)], [(2, "stopped", 200, None)])
    journal.close()
    assert path.read_bytes().startswith(header)
    assert list(Journal.open(str(path), IDENTITY, readonly=True).done) == [(0, 2)]


def test_unsent_withdraws_only_what_it_names_and_order_counts(tmp_path: Path) -> None:
    path = str(tmp_path / "j")
    journal = Journal.open(path, IDENTITY, sync_each=True)
    journal.record_sent([(0, 30)])
    journal.record_unsent([(10, 20)])  # refused: provably not taken
    journal.record_sent([(10, 15)])  # sent again, answer never came
    journal.record_done([(0, 5)], [(5, "accepted", None, None)])
    journal.close()
    assert list(Journal.open(path, IDENTITY, readonly=True).in_flight()) == [(5, 15), (20, 30)]


def test_the_endpoint_is_part_of_the_identity(tmp_path: Path) -> None:
    path = str(tmp_path / "j")
    here = dataclasses.replace(IDENTITY, endpoint=(("base_url", "https://a.example"),))
    there = dataclasses.replace(IDENTITY, endpoint=(("base_url", "https://b.example"),))
    Journal.open(path, here).close()
    with pytest.raises(JournalError, match=r"against base_url https://a\.example") as raised:
        Journal.open(path, there)
    assert "this run is" in str(raised.value)
    assert "against base_url https://b.example" in str(raised.value)
    Journal.open(path, here).close()
