"""Resuming with --journal after kill -9 and Ctrl-C: nothing lost, nothing finished redone,
and no LINE request whose answer never came sent again unless asked."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from aiomsg.testing import Fault, Simulator

from .support import (
    by_index,
    journal_records,
    kill,
    line_messages,
    read_report,
    run_cli,
    sent_message_ids,
    sent_uuids,
    start_cli,
    uuids,
    wait_exit,
    wait_until,
    write_jsonl,
    write_lines,
)

SUB = "sim-sub"
LINE_ROUTE = "chatapps.send_line_notification_batch"


def _done(journal: Path) -> list[dict[str, object]]:
    return [r for r in journal_records(journal) if "done" in r]


async def test_kill_9_mid_stop_then_resume(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = uuids(200_000)
    source = write_lines(tmp_path / "uuids.txt", ids)
    journal, report = tmp_path / "job.journal", tmp_path / "report.jsonl"
    args = ("revicom", "stop", str(source), "--journal", str(journal), "--report", str(report))
    # Six requests go through; every later one stalls, so the kill lands mid-job.
    sim.inject(Fault.stall(60), route="revicom.stop", after=6, probability=1.0)

    proc = await start_cli(*args, "--concurrency", "2", env=env, stderr=tmp_path / "err")
    try:
        await wait_until(
            lambda: len(_done(journal)) == 6 and len(sim.requests) == 8,
            "six finished requests and two stalled ones",
        )
    finally:
        await kill(proc)
    assert proc.returncode == -signal.SIGKILL
    first = list(sim.requests)
    finished = {u for r in first if r.status == 200 for u in r.body["uuids"]}
    stalled = {u for r in first if r.status is None for u in r.body["uuids"]}
    assert len(finished) == 60_000
    assert len(stalled) == 20_000
    # The killed run put no half report in place; its partial file is beside it.
    assert not report.exists()
    (partial,) = _partials(tmp_path)
    assert {r["id"] for r in read_report(partial.rename(tmp_path / "partial.jsonl"))} <= finished
    sim.clear_faults()

    result = await run_cli(*args, env=env)

    assert result.code == 1, result.err  # the uuids are unknown to the simulator
    rows = by_index(read_report(report), 200_000)
    assert [r["id"] for r in rows] == ids
    assert {r["outcome"] for r in rows} == {"not_found"}
    resent = sent_uuids(sim.requests[len(first) :])
    assert finished.isdisjoint(resent), "finished chunks are not sent again"
    assert stalled <= set(resent), "requests in flight are stops: safe to repeat"
    assert sorted(resent) == sorted(set(ids) - finished)  # each remaining uuid once
    assert "60,000 items finished by earlier runs" in result.err

    # A finished job re-run sends nothing and still reports everything.
    before = len(sim.requests)
    again = await run_cli(*args, "--report", str(tmp_path / "again.csv"), env=env)
    assert again.code == 1
    assert len(sim.requests) == before
    by_index(read_report(tmp_path / "again.csv"), 200_000)


async def test_kill_9_with_a_line_request_in_flight(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    messages = line_messages(5_000)
    source = write_jsonl(tmp_path / "messages.jsonl", messages)
    journal, report = tmp_path / "line.journal", tmp_path / "report.jsonl"
    args = ("8x8", "line", "send", SUB, str(source), "--journal", str(journal))
    sim.inject(Fault.stall(60), route=LINE_ROUTE, after=2)  # the third request hangs

    proc = await start_cli(*args, "--concurrency", "1", env=env, stderr=tmp_path / "err")
    try:
        await wait_until(lambda: len(sim.requests) == 3, "the third request to arrive")
    finally:
        await kill(proc)
    in_flight = sent_message_ids(sim.requests[2:])
    assert len(in_flight) == 1_000
    records = journal_records(journal)
    assert {"sent": [[2000, 3000]]} in records, "journaled before it left"
    sim.clear_faults()

    # Resumed without --resend-unknown: the messages in flight are not sent again.
    held = await run_cli(*args, "--report", str(report), env=env)
    assert held.code == 1, held.err
    second = sim.requests[3:]
    assert len(second) == 2
    assert set(in_flight).isdisjoint(sent_message_ids(second))
    rows = by_index(read_report(report), 5_000)
    assert {r["outcome"] for r in rows[:2000] + rows[3000:]} == {"accepted"}
    assert {r["outcome"] for r in rows[2000:3000]} == {"unknown"}
    assert [r["id"] for r in rows[2000:3000]] == in_flight  # reconcilable by clientMessageId
    assert "--resend-unknown" in rows[2000]["error"]

    # Asked to, it sends them again (with the same clientMessageIds) and nothing else.
    resent = await run_cli(*args, "--resend-unknown", "--report", str(report), env=env)
    assert resent.code == 0, resent.err
    third = sim.requests[5:]
    assert sent_message_ids(third) == in_flight
    rows = by_index(read_report(report), 5_000)
    assert {r["outcome"] for r in rows} == {"accepted"}
    assert len(sim.find_messages(api="chatapps")) == 5_000


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


async def test_a_journal_from_another_input_is_refused(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    journal = tmp_path / "job.journal"
    first = write_lines(tmp_path / "a.txt", sim.add_revicom_messages(5))
    assert (
        await run_cli("revicom", "stop", str(first), "--journal", str(journal), env=env)
    ).code == 0
    requests = len(sim.requests)
    content = journal.read_bytes()

    other = write_lines(tmp_path / "b.txt", uuids(5))
    refused = await run_cli("revicom", "stop", str(other), "--journal", str(journal), env=env)
    assert refused.code == 2
    assert "belongs to another job" in refused.err
    assert "Nothing was sent" in refused.err
    sms = await run_cli("8x8", "sms", "cancel", SUB, str(first), "--journal", str(journal), env=env)
    assert sms.code == 2
    sharded = await run_cli(
        "revicom", "stop", str(first), "--journal", str(journal), "--shard", "1/2", env=env
    )
    assert sharded.code == 2
    assert len(sim.requests) == requests
    assert journal.read_bytes() == content

    journal.write_text("not a journal\n")
    damaged = await run_cli("revicom", "stop", str(first), "--journal", str(journal), env=env)
    assert damaged.code == 2
    assert "not an aiomsg journal" in damaged.err

    # A file without a final newline is not a torn journal header: never overwritten.
    journal.write_text("precious notes")
    kept = await run_cli("revicom", "stop", str(first), "--journal", str(journal), env=env)
    assert kept.code == 2
    assert "not an aiomsg journal; it was left as it is" in kept.err
    assert journal.read_text() == "precious notes"
    assert len(sim.requests) == requests


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


async def test_a_second_ctrl_c_leaves_no_copy_of_standard_input(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    ids = sim.add_revicom_messages(20_000)
    source = write_lines(tmp_path / "uuids.txt", ids)
    sim.inject(Fault.stall(60), route="revicom.stop", after=1)
    env = {**env, "TMPDIR": str(spool_dir)}

    proc = await start_cli(
        "revicom", "stop", "-", "--concurrency", "1", env=env, stderr=tmp_path / "err",
        stdin=source,
    )  # fmt: skip
    try:
        await wait_until(lambda: len(sim.requests) == 2, "the second request to arrive")
        assert _names(spool_dir) == [], "the copy of stdin is unlinked at once"
        os.kill(proc.pid, signal.SIGINT)
        await wait_until(lambda: "stopping" in (tmp_path / "err").read_text(), "the first stop")
        os.kill(proc.pid, signal.SIGINT)
        assert await wait_exit(proc, 5) == 3
    finally:
        await kill(proc)
    assert _names(spool_dir) == []


def _partials(path: Path) -> list[Path]:
    return sorted(path.glob(".report.jsonl.*.partial"))


def _names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())
