"""Reports: one record per input item, JSON Lines or CSV, in input order whatever order
requests finish in; the reorder buffer is bounded and says when it overflowed."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from aiomsg.cli.report import InputOrder, Row
from aiomsg.testing import Fault, Simulator

from .support import (
    by_index,
    read_report,
    run_cli,
    uuids,
    write_lines,
)

SUB = "sim-sub"


def _csv(path: Path) -> list[dict[str, object]]:
    copy = path.with_name("upper.csv")
    copy.write_bytes(path.read_bytes())
    return read_report(copy)


async def test_reports_account_for_every_line_in_jsonl_and_csv(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = [*sim.add_revicom_messages(30), *uuids(20)]
    source = write_lines(tmp_path / "uuids.txt", ids)
    for name in ("report.jsonl", "report.csv", "REPORT.CSV"):
        report = tmp_path / name
        result = await run_cli("revicom", "stop", str(source), "--report", str(report), env=env)
        assert result.code == 1
        rows = by_index(read_report(report) if name != "REPORT.CSV" else _csv(report), 50)
        assert [r["id"] for r in rows] == ids
        assert [r["outcome"] for r in rows] == ["stopped"] * 30 + ["not_found"] * 20


async def test_report_to_stdout(sim: Simulator, env: dict[str, str]) -> None:
    ids = sim.add_revicom_messages(3)
    result = await run_cli(
        "revicom", "stop", "--report", "-", env=env, stdin="\n".join(ids).encode()
    )
    assert result.code == 0
    assert len(result.out.splitlines()) == 3


async def test_records_are_in_input_order_with_their_line_numbers(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    umids = sim.add_sms_messages(60).umids
    lines = ["# umids to cancel", ""]
    for i, umid in enumerate(umids):
        lines.append(umid)
        if i % 7 == 0:
            lines.append("")  # blank lines shift line numbers away from positions
        if i == 10:
            lines.append("not-a-umid")
    source = write_lines(tmp_path / "umids.txt", lines)
    journal, report = tmp_path / "job.journal", tmp_path / "report.jsonl"
    args = ("8x8", "sms", "cancel", SUB, str(source), "--journal", str(journal),
            "--report", str(report), "--skip-invalid", "--concurrency", "4")  # fmt: skip
    # The first requests take a while: the later ones finish first.
    sim.inject(Fault.stall(0.5), route="sms.cancel_message", times=3)

    first = await run_cli(*args, env=env)

    assert first.code == 1, first.err  # the bad line
    expected_lines = [n for n, text in enumerate(lines, 1) if text and not text.startswith("#")]
    rows = read_report(report)
    assert [r["index"] for r in rows] == list(range(61)), "in input order, unsorted"
    assert [r["line"] for r in rows] == expected_lines
    bad = rows[11]
    assert bad["outcome"] == "failed"
    assert bad["error"].startswith(f"line {bad['line']}:")

    # Resumed (everything replayed from the journal), the order and lines are the same.
    again = await run_cli(*args, "--report", str(tmp_path / "again.csv"), env=env)
    assert again.code == 1, again.err
    replayed = read_report(tmp_path / "again.csv")
    assert [(r["index"], r["line"], r["id"]) for r in replayed] == [
        (r["index"], r["line"], r["id"]) for r in rows
    ]


async def test_a_resume_interleaves_replayed_and_new_records_in_order(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(25_000)
    source = write_lines(tmp_path / "ids.txt", ids)
    journal, report = tmp_path / "job.journal", tmp_path / "report.jsonl"
    args = ("revicom", "stop", str(source), "--journal", str(journal), "--report", str(report),
            "--concurrency", "3")  # fmt: skip
    sim.inject(Fault.status(500), route="revicom.stop", times=1)  # the first request fails

    first = await run_cli(*args, env=env)
    assert first.code == 4, first.err
    second = await run_cli(*args, env=env)
    assert second.code == 0, second.err
    rows = read_report(report)
    assert [r["index"] for r in rows] == list(range(25_000))
    assert [r["id"] for r in rows] == ids
    assert [r["line"] for r in rows] == list(range(1, 25_001))


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(1, 40), st.integers(1, 30))
def test_input_order_writes_every_record_once_and_in_order_within_its_bound(
    data: st.DataObject, n: int, bound: int
) -> None:
    settled = sorted(data.draw(st.sets(st.integers(0, n - 1))))
    sent = [i for i in range(n) if i not in settled]
    # Requests: consecutive runs of the sent positions, finishing in any order.
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(sent) - 1)))))
    requests = [sent[a:b] for a, b in zip([0, *cuts], [*cuts, len(sent)], strict=True)]
    requests = [r for r in requests if r]
    order = data.draw(st.permutations(requests))
    written: list[int] = []

    def row(i: int) -> Row:
        return (i, i + 1, str(i), "stopped", 200, None)

    buffer = InputOrder(
        lambda rows: written.extend(r[0] for r in rows), 0, (row(i) for i in settled), bound
    )
    buffer.flush()
    for request in order:
        buffer.add([row(i) for i in request])
    buffer.finish()

    assert sorted(written) == list(range(n)), "every record exactly once"
    if buffer.late == 0:
        assert written == list(range(n))
    if max((len(r) for r in requests), default=0) * len(requests) <= bound:
        assert buffer.late == 0, "within its bound the order is exact"
