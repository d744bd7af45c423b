"""``aiomsg report merge``: the shards' reports as one, every position exactly once."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from aiomsg.cli import main
from aiomsg.cli.journal import JobIdentity, Journal, read_header
from aiomsg.cli.plan import _shard_range

from .support import read_report

ITEMS = 1_003
IDENTITY = JobIdentity(
    command="revicom stop", params=(), input_name="ids.txt", input_digest="ab" * 32,
    items=ITEMS, shard=None,
)  # fmt: skip


def _rows(lo: int, hi: int) -> list[dict[str, object]]:
    return [
        {"index": i, "line": i + 2, "id": f"u{i}", "outcome": "stopped", "code": 200,
         "error": None}
        for i in range(lo, hi)
    ]  # fmt: skip


def _write_report(path: Path, rows: list[dict[str, object]]) -> Path:
    if path.suffix == ".csv":
        lines = ["index,line,id,outcome,code,error"]
        lines += [f"{r['index']},{r['line']},{r['id']},{r['outcome']},{r['code']}," for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _shards(tmp_path: Path, n: int, identity: JobIdentity = IDENTITY) -> list[tuple[Path, Path]]:
    """Each shard's report and journal, as ``--shard K/n`` runs leave them."""
    out = []
    for k in range(1, n + 1):
        lo, hi = _shard_range(identity.items, (k, n))
        report = _write_report(tmp_path / f"shard-{k}.jsonl", _rows(lo, hi))
        journal = tmp_path / f"shard-{k}.journal"
        Journal.open(str(journal), dataclasses.replace(identity, shard=f"{k}/{n}")).close()
        out.append((report, journal))
    return out


def _merge(out: Path, *paths: Path, journals: tuple[Path, ...] = ()) -> int:
    args = ["report", "merge", str(out), *map(str, paths)]
    if journals:  # as a shell glob gives them: --journal shard-*.journal
        args += ["--journal", *map(str, journals)]
    return main(args)


def test_shard_reports_merge_in_input_order(tmp_path: Path) -> None:
    shards = _shards(tmp_path, 3)
    reports = [r for r, _ in shards]
    out = tmp_path / "all.jsonl"
    # Given in any order, and one of them CSV: the merge is in input order.
    csv_report = _write_report(tmp_path / "shard-2.csv", json_rows := _rows(334, 668))
    code = _merge(out, reports[2], csv_report, reports[0], journals=tuple(j for _, j in shards))
    assert code == 0
    merged = read_report(out)
    assert merged == _rows(0, ITEMS)
    assert merged[334:668] == json_rows
    csv_out = tmp_path / "all.csv"
    assert _merge(csv_out, *reports) == 0
    assert read_report(csv_out) == _rows(0, ITEMS)


def test_a_report_with_late_records_is_merged_in_order(tmp_path: Path) -> None:
    rows = _rows(0, 10)
    late = _write_report(tmp_path / "a.jsonl", [*rows[:3], *rows[5:], *rows[3:5]])
    out = tmp_path / "all.jsonl"
    assert _merge(out, late) == 0
    assert read_report(out) == rows


def test_missing_positions_are_named_as_ranges_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = _shards(tmp_path, 3)
    out = tmp_path / "all.jsonl"
    journals = tuple(j for _, j in shards)
    assert _merge(out, shards[0][0], shards[2][0], journals=journals) == 3
    err = capsys.readouterr().err
    assert "positions missing from the reports: 334 positions (334-667)" in err
    assert not out.exists()
    # The last shard missing: only the journals know the input's length.
    assert _merge(out, shards[0][0], shards[1][0], journals=journals) == 3
    assert (
        "positions missing from the reports: 335 positions (668-1,002)" in capsys.readouterr().err
    )
    assert not out.exists()
    # A gap inside a report: positions, not a shard.
    holes = _write_report(tmp_path / "holes.jsonl", [*_rows(0, 5), *_rows(7, 8), *_rows(9, 12)])
    assert _merge(out, holes) == 3
    assert "positions missing from the reports: 3 positions (5-6, 8)" in capsys.readouterr().err


def test_millions_of_missing_positions_are_a_few_ranges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [r for i in range(0, 60, 2) for r in _rows(i * 100_000, i * 100_000 + 1)]
    sparse = _write_report(tmp_path / "sparse.jsonl", rows)
    assert _merge(tmp_path / "out.jsonl", sparse) == 3
    err = capsys.readouterr().err
    assert "... and 17 more ranges" in err
    assert len(err) < 1_000


def test_doubled_positions_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shards = _shards(tmp_path, 3)
    out = tmp_path / "all.jsonl"
    assert _merge(out, shards[0][0], shards[1][0], shards[2][0], shards[0][0]) == 2
    assert "doubled across the reports: 334 positions (0-333)" in capsys.readouterr().err
    # A shard of a run with another shard count overlaps two shards.
    other = _write_report(tmp_path / "other.jsonl", _rows(*_shard_range(ITEMS, (2, 4))))
    assert _merge(out, *(r for r, _ in shards), other) == 2
    assert "doubled across the reports: 251 positions (250-500)" in capsys.readouterr().err
    # The same position twice within one report.
    twice = _write_report(tmp_path / "twice.jsonl", [*_rows(0, 3), *_rows(2, 3)])
    assert _merge(out, twice) == 2
    assert "doubled across the reports: 1 position (2)" in capsys.readouterr().err
    assert not out.exists()


def test_journals_of_another_input_or_command_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a").mkdir()
    shards = _shards(tmp_path / "a", 2)
    other_input = dataclasses.replace(IDENTITY, input_digest="cd" * 32)
    (tmp_path / "b").mkdir()
    others = _shards(tmp_path / "b", 2, other_input)
    out = tmp_path / "all.jsonl"
    reports = (shards[0][0], others[1][0])
    assert _merge(out, *reports, journals=(shards[0][1], others[1][1])) == 2
    assert "are of different jobs" in capsys.readouterr().err

    (tmp_path / "c").mkdir()
    cancel = dataclasses.replace(IDENTITY, command="8x8 sms cancel", params=(("sub", "s"),))
    cancels = _shards(tmp_path / "c", 2, cancel)
    assert _merge(out, *reports, journals=(shards[0][1], cancels[1][1])) == 2
    assert "are of different jobs" in capsys.readouterr().err

    (tmp_path / "d").mkdir()
    args = dataclasses.replace(cancel, params=(("sub", "t"),))
    other_args = _shards(tmp_path / "d", 2, args)
    assert read_header(str(other_args[1][1])).job != read_header(str(cancels[0][1])).job
    assert _merge(out, *reports, journals=(cancels[0][1], other_args[1][1])) == 2
    assert "are of different jobs" in capsys.readouterr().err

    (tmp_path / "e").mkdir()
    four = _shards(tmp_path / "e", 4)
    assert _merge(out, *reports, journals=(shards[0][1], four[1][1])) == 2
    assert "are of different jobs" in capsys.readouterr().err

    # The same shard's journal twice; reports longer than the journals' input.
    assert _merge(out, *reports, journals=(shards[0][1], shards[0][1])) == 2
    assert "given twice" in capsys.readouterr().err
    longer = _write_report(tmp_path / "longer.jsonl", _rows(0, ITEMS + 5))
    assert _merge(out, longer, journals=(shards[0][1], shards[1][1])) == 2
    assert "reports are of another input" in capsys.readouterr().err
    assert not out.exists()


def test_the_merged_report_never_overwrites_what_it_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = _shards(tmp_path, 2)
    report, journal = shards[0]
    before = report.read_bytes()
    alias = tmp_path / "alias.jsonl"
    alias.symlink_to(report)
    for out in (report, alias):
        assert _merge(out, report, shards[1][0]) == 2
        assert "refusing to overwrite it" in capsys.readouterr().err
    assert report.read_bytes() == before
    assert _merge(journal, report, shards[1][0]) == 2
    assert "is an aiomsg journal" in capsys.readouterr().err
    assert _merge(tmp_path / "x.jsonl", report, journal) == 2
    assert "give it with --journal" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"index": 0}\n', encoding="utf-8")
    assert _merge(tmp_path / "x.jsonl", bad) == 2
    assert "is not a report record" in capsys.readouterr().err


def test_journals_of_earlier_versions_have_no_job_field_and_still_merge(tmp_path: Path) -> None:
    shards = _shards(tmp_path, 2)
    for _, journal in shards:
        head, rest = journal.read_bytes().split(b"\n", 1)
        header = json.loads(head)
        del header["job"]
        journal.write_bytes(json.dumps(header, separators=(",", ":")).encode() + b"\n" + rest)
        assert read_header(str(journal)).job is None
    out = tmp_path / "all.jsonl"
    assert _merge(out, *(r for r, _ in shards), journals=tuple(j for _, j in shards)) == 0
    assert len(read_report(out)) == ITEMS


def test_the_merged_exit_code_is_the_whole_job_s(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _write_report(tmp_path / "a.jsonl", _rows(0, 5))
    rows = _rows(5, 10)
    rows[1] = {**rows[1], "outcome": "not_found", "code": 404}
    second = _write_report(tmp_path / "b.jsonl", rows)
    out = tmp_path / "all.jsonl"
    assert _merge(out, first, second) == 1
    assert "merged 10 records from 2 reports: 1 not_found, 9 stopped" in capsys.readouterr().err
    assert read_report(out)[6]["outcome"] == "not_found"
    # A shard cut short: merged whole, but the job is not finished (resume the shard).
    rows[2] = {**rows[2], "outcome": "not_attempted", "code": None}
    _write_report(second, rows)
    assert _merge(out, first, second) == 3
    assert [r["outcome"] for r in read_report(out)].count("not_attempted") == 1
