"""Running a job: resuming after kill -9 loses nothing and redoes nothing finished; items
whose request failed as a whole (not an answer about the item) are sent again once the
cause is fixed; answers and bad input are final."""

from __future__ import annotations

import signal
from pathlib import Path

from aiomsg.testing import Fault, Simulator

from .support import (
    by_index,
    cli_env,
    journal_records,
    kill,
    line_messages,
    read_report,
    run_cli,
    sent_message_ids,
    sent_uuids,
    start_cli,
    uuids,
    wait_until,
    write_jsonl,
    write_lines,
)

SUB = "sim-sub"
LINE_ROUTE = "chatapps.send_line_notification_batch"


def _done(journal: Path) -> list[dict[str, object]]:
    return [r for r in journal_records(journal) if "done" in r]


def _partials(path: Path) -> list[Path]:
    return sorted(path.glob(".report.jsonl.*.partial"))


def _done_positions(journal: Path) -> set[int]:
    return {
        i
        for record in journal_records(journal)
        for start, stop in record.get("done", [])
        for i in range(start, stop)
    }


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


async def test_a_cancel_refused_401_is_sent_again_once_the_key_is_fixed(
    sim: Simulator, tmp_path: Path
) -> None:
    env = cli_env(sim)
    del env["AIOMSG_8X8_API_KEY"]
    wrong, right = tmp_path / "wrong-key", tmp_path / "right-key"
    wrong.write_text("not-the-key")
    right.write_text(sim.api_key)
    umids = sim.add_sms_messages(6).umids
    source = write_lines(tmp_path / "umids.txt", umids)
    journal, report = tmp_path / "cancel.journal", tmp_path / "report.jsonl"
    args = ("8x8", "sms", "cancel", SUB, str(source), "--journal", str(journal),
            "--report", str(report))  # fmt: skip

    refused = await run_cli(*args, "--api-key-file", str(wrong), env=env)

    assert refused.code == 4, refused.err  # every request failed as a whole
    rows = by_index(read_report(report), 6)
    assert {(r["outcome"], r["code"]) for r in rows} == {("failed", 1200)}
    assert _done_positions(journal) == set(), "a refused request is not an answer"
    assert "6 items failed because the request failed" in refused.err
    assert "sends them again" in refused.err

    fixed = await run_cli(*args, "--api-key-file", str(right), env=env)

    assert fixed.code == 0, fixed.err
    assert {r["outcome"] for r in by_index(read_report(report), 6)} == {"cancelled"}
    assert all(sim.message(u).state == "cancelled" for u in umids)
    assert len(sim.requests_for("sms.cancel_message")) == 12


async def test_server_faults_wrong_urls_and_rate_limits_are_retried_answers_are_not(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    scheduled = sim.add_chatapps_messages(8).umids
    unknown = uuids(2)
    source = write_lines(tmp_path / "umids.txt", [*scheduled, *unknown, "bad-line"])
    journal, report = tmp_path / "cancel.journal", tmp_path / "report.jsonl"
    args = ("8x8", "chatapps", "cancel", SUB, str(source), "--journal", str(journal),
            "--report", str(report), "--concurrency", "1", "--skip-invalid")  # fmt: skip
    route = "chatapps.cancel_message"
    # A 500 (not retried), a 404 without 8x8's code (a proxy's page: a wrong URL, not
    # "message not found"), then a 429 asking for an hour: that one and every later
    # request of the run fail at once (the scope stays paused). A rule counts only the
    # requests no earlier rule took: each lets the first two through.
    sim.inject(Fault.status(500), route=route, after=2, times=1)
    sim.inject(Fault.non_json_body(404), route=route, after=2, times=1)
    sim.inject(Fault.rate_limited(3600), route=route, after=2, times=1)

    first = await run_cli(*args, env=env)

    assert first.code == 4, first.err  # some requests failed as a whole
    rows = by_index(read_report(report), 11)
    assert [r["outcome"] for r in rows[:3]] == ["cancelled", "cancelled", "failed"]
    assert rows[3]["outcome"] == "failed"
    assert rows[3]["code"] is None  # a 404 without 1300
    assert {r["outcome"] for r in rows[4:10]} == {"failed"}
    assert rows[10]["outcome"] == "failed"  # the bad line: never sent
    assert _done_positions(journal) == {0, 1}
    assert len(sim.requests_for(route)) == 5
    sim.clear_faults()

    second = await run_cli(*args, env=env)

    assert second.code == 1, second.err  # the unknown umids and the bad line
    resent = [r.match["umid"] for r in sim.requests_for(route)[5:]]
    assert resent == [*scheduled[2:], *unknown], "only the request failures, in order"
    rows = by_index(read_report(report), 11)
    assert [r["outcome"] for r in rows] == ["cancelled"] * 8 + ["not_found"] * 2 + ["failed"]
    assert rows[10]["id"] == "bad-line"

    # Everything is final now: a third run sends nothing.
    third = await run_cli(*args, env=env)
    assert third.code == 1
    assert len(sim.requests_for(route)) == 13


async def test_a_revicom_stop_failing_as_a_whole_is_sent_again(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(25_000)
    source = write_lines(tmp_path / "uuids.txt", ids)
    journal, report = tmp_path / "stop.journal", tmp_path / "report.jsonl"
    args = ("revicom", "stop", str(source), "--journal", str(journal), "--report", str(report),
            "--concurrency", "1")  # fmt: skip
    sim.inject(Fault.status(500), route="revicom.stop", after=1, times=1)

    first = await run_cli(*args, env=env)

    assert first.code == 4, first.err
    rows = by_index(read_report(report), 25_000)
    assert [r["outcome"] for r in rows[::10_000]] == ["stopped", "failed", "stopped"]
    second = await run_cli(*args, env=env)
    assert second.code == 0, second.err
    assert sent_uuids(sim.requests[3:]) == ids[10_000:20_000]
    assert {r["outcome"] for r in read_report(report)} == {"stopped"}


async def test_a_line_request_refused_is_sent_again_but_one_that_may_have_arrived_is_not(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    messages = line_messages(3_000, with_ids=False)
    source = write_jsonl(tmp_path / "messages.jsonl", messages)
    journal, report = tmp_path / "line.journal", tmp_path / "report.jsonl"
    args = ("8x8", "line", "send", SUB, str(source), "--journal", str(journal),
            "--report", str(report), "--concurrency", "1")  # fmt: skip
    # The second request is refused (401: provably not taken), the third fails with
    # a 500 (it may have been taken: unknown).
    sim.inject(Fault.status(401), route=LINE_ROUTE, after=1, times=1)
    sim.inject(Fault.status(500), route=LINE_ROUTE, after=1, times=1)

    first = await run_cli(*args, env=env)

    assert first.code == 4, first.err
    rows = by_index(read_report(report), 3_000)
    assert [r["outcome"] for r in rows[::1000]] == ["accepted", "failed", "unknown"]
    refused = sent_message_ids(sim.requests[1:2])
    maybe = sent_message_ids(sim.requests[2:3])
    assert {"unsent": [[1000, 2000]]} in journal_records(journal)
    sim.clear_faults()

    second = await run_cli(*args, env=env)

    assert second.code == 1, second.err  # the unknown ones are held
    assert sent_message_ids(sim.requests[3:]) == refused, "re-sent with the same ids"
    rows = by_index(read_report(report), 3_000)
    assert {r["outcome"] for r in rows[:2000]} == {"accepted"}
    assert {r["outcome"] for r in rows[2000:]} == {"unknown"}
    assert [r["id"] for r in rows[2000:]] == maybe

    third = await run_cli(*args, "--resend-unknown", env=env)
    assert third.code == 0, third.err
    assert sent_message_ids(sim.requests[4:]) == maybe
