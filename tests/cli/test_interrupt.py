"""Ctrl-C: the first stops sending and waits for requests in flight (exit 3), the second
exits at once leaving the journal usable."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from aiomsg.testing import Fault, Simulator

from .support import (
    by_index,
    journal_records,
    kill,
    read_report,
    run_cli,
    sent_uuids,
    start_cli,
    wait_exit,
    wait_until,
    write_lines,
)

SUB = "sim-sub"


def _done(journal: Path) -> list[dict[str, object]]:
    return [r for r in journal_records(journal) if "done" in r]


async def test_ctrl_c_stops_sending_waits_for_in_flight_and_exits_3(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(60_000)
    source = write_lines(tmp_path / "uuids.txt", ids)
    journal, report = tmp_path / "job.journal", tmp_path / "report.jsonl"
    args = ("revicom", "stop", str(source), "--journal", str(journal), "--report", str(report))
    sim.inject(Fault.stall(1.0), route="revicom.stop", after=2)  # the third takes a second

    proc = await start_cli(*args, "--concurrency", "1", env=env, stderr=tmp_path / "err")
    try:
        await wait_until(lambda: len(sim.requests) == 3, "the third request to arrive")
        os.kill(proc.pid, signal.SIGINT)
        code = await wait_exit(proc, 15)
    finally:
        await kill(proc)
    assert code == 3
    err = (tmp_path / "err").read_text()
    assert "stopping" in err
    assert "re-run with the same --journal" in err
    # Each unsent item is counted once (not once as not_attempted and again as
    # interrupted).
    assert "incomplete: 30,000 items not processed" in err
    assert "30,000 of 60,000 items" in err
    assert len(sim.requests) == 3, "no request after Ctrl-C"
    assert sim.requests[2].status == 200, "the request in flight was waited for"
    # The report still covers every item: those never sent are not_attempted.
    partial = by_index(read_report(report), 60_000)
    assert {r["outcome"] for r in partial[:30_000]} == {"stopped"}
    assert {r["outcome"] for r in partial[30_000:]} == {"not_attempted"}
    assert [r["id"] for r in partial] == ids
    assert len(_done(journal)) == 3, "not_attempted items are not journaled as finished"

    result = await run_cli(*args, env=env)
    assert result.code == 0, result.err
    assert sorted(sent_uuids(sim.requests[3:])) == sorted(ids[30_000:])
    rows = by_index(read_report(report), 60_000)
    assert {r["outcome"] for r in rows} == {"stopped"}


async def test_second_ctrl_c_exits_at_once_leaving_the_journal_usable(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(40_000)
    source = write_lines(tmp_path / "uuids.txt", ids)
    journal, report = tmp_path / "job.journal", tmp_path / "report.csv"
    args = ("revicom", "stop", str(source), "--journal", str(journal), "--report", str(report))
    sim.inject(Fault.stall(60), route="revicom.stop", after=1)

    proc = await start_cli(*args, "--concurrency", "1", env=env, stderr=tmp_path / "err")
    try:
        await wait_until(lambda: len(sim.requests) == 2, "the second request to arrive")
        os.kill(proc.pid, signal.SIGINT)
        await wait_until(lambda: "stopping" in (tmp_path / "err").read_text(), "the first stop")
        os.kill(proc.pid, signal.SIGINT)
        code = await wait_exit(proc, 5)  # well before the 5 s grace period ends
    finally:
        await kill(proc)
    assert code == 3
    assert "exiting now" in (tmp_path / "err").read_text()
    sim.clear_faults()

    result = await run_cli(*args, env=env)
    assert result.code == 0, result.err
    rows = by_index(read_report(report), 40_000)
    assert [r["id"] for r in rows] == ids
    assert sorted(sent_uuids(sim.requests[2:])) == sorted(ids[10_000:])


async def test_ctrl_c_stops_a_cancel_within_a_workers_take(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    umids = sim.add_chatapps_messages(200).umids
    source = write_lines(tmp_path / "umids.txt", umids)
    journal, report = tmp_path / "cancel.journal", tmp_path / "report.csv"
    args = ("8x8", "chatapps", "cancel", SUB, str(source), "--journal", str(journal),
            "--report", str(report))  # fmt: skip
    route = "chatapps.cancel_message"
    # One worker takes 16 umids at a time and sends them one by one; the fourth
    # request takes a second, and Ctrl-C arrives meanwhile.
    sim.inject(Fault.stall(1.0), route=route, after=3)

    proc = await start_cli(*args, "--concurrency", "1", env=env, stderr=tmp_path / "err")
    try:
        await wait_until(lambda: len(sim.requests) == 4, "the fourth request to arrive")
        os.kill(proc.pid, signal.SIGINT)
        code = await wait_exit(proc, 15)
    finally:
        await kill(proc)

    assert code == 3
    assert len(sim.requests) == 4, "nothing sent after Ctrl-C, not even within the take"
    assert sim.requests[3].status == 200, "the request in flight was waited for"
    rows = by_index(read_report(report), 200)
    assert [r["outcome"] for r in rows] == ["cancelled"] * 4 + ["not_attempted"] * 196
    assert "incomplete: 196 items not processed" in (tmp_path / "err").read_text()
    assert sum(stop - start for r in _done(journal) for start, stop in r["done"]) == 4

    result = await run_cli(*args, env=env)
    assert result.code == 0, result.err
    assert sorted(r.match["umid"] for r in sim.requests[4:]) == sorted(umids[4:])
    assert {r["outcome"] for r in by_index(read_report(report), 200)} == {"cancelled"}
