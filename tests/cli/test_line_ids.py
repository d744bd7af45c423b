"""A clientMessageId is sent at most once per job, across its requests and across the
runs of a resumed job: a repeat of an identical message gets the first one's outcome,
a different message reusing the id is failed and never sent."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from aiomsg.testing import Fault, Simulator

from .support import (
    by_index,
    line_messages,
    read_report,
    run_cli,
    sent_message_ids,
    write_jsonl,
    write_lines,
)

SUB = "sim-sub"
LINE_ROUTE = "chatapps.send_line_notification_batch"


def _accepted_ids(sim: Simulator) -> list[str]:
    return [
        m["clientMessageId"]
        for r in sim.requests_for(LINE_ROUTE)
        if r.status is not None and r.status < 300
        for m in (r.body or {}).get("messages", [])
    ]


async def test_a_resumed_line_job_never_sends_an_id_twice(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    messages: list[dict[str, Any]] = line_messages(2_500)
    first, derived = messages[0], messages[10]
    first["clientMessageId"] = "order-1"
    messages[1_500] = json.loads(json.dumps(first))  # identical, in the second request
    clash = json.loads(json.dumps(messages[2_200]))
    clash["clientMessageId"] = "order-1"  # another message reusing the id
    messages[2_200] = clash
    derived.pop("clientMessageId", None)  # an id derived from the content ...
    messages[2_400] = json.loads(json.dumps(derived))  # ... shared by an identical line
    source = write_jsonl(tmp_path / "messages.jsonl", messages)
    journal, report = tmp_path / "line.journal", tmp_path / "report.jsonl"
    args = ("8x8", "line", "send", SUB, str(source), "--journal", str(journal),
            "--report", str(report), "--concurrency", "1")  # fmt: skip
    # The first request is taken; then 8x8 refuses for an hour: the rest fail as a
    # whole (provably not taken) and are left for a re-run.
    sim.inject(Fault.rate_limited(3600), route=LINE_ROUTE, after=1)

    run1 = await run_cli(*args, env=env)

    assert run1.code == 4, run1.err
    rows = by_index(read_report(report), 2_500)
    assert rows[0]["outcome"] == "accepted"
    assert rows[1_500]["outcome"] == "accepted", "the first one's outcome, not sent"
    sim.clear_faults()

    run2 = await run_cli(*args, env=env)

    assert run2.code == 1, run2.err  # the clash
    sent = _accepted_ids(sim)
    assert [i for i, n in Counter(sent).items() if n > 1] == [], "no id sent twice"
    assert sent.count("order-1") == 1
    assert len(sent) == 2_500 - 3
    rows = by_index(read_report(report), 2_500)
    assert rows[1_500]["outcome"] == "accepted"
    assert rows[1_500]["id"] == "order-1"
    assert rows[2_400]["outcome"] == "accepted"
    assert rows[2_400]["id"] == rows[10]["id"]
    assert rows[2_200]["outcome"] == "failed"
    assert rows[2_200]["id"] == "order-1"
    assert f"line {rows[0]['line']} has this clientMessageId" in rows[2_200]["error"]
    assert Counter(r["outcome"] for r in rows) == {"accepted": 2_499, "failed": 1}
    assert "accepted" in run2.err

    plan = await run_cli(*args[:5], "--dry-run", env=env)
    assert plan.code == 0, plan.err
    assert "3 messages repeat an earlier clientMessageId: not sent (1 of them" in plan.out
    assert "would send 2,497 messages" in plan.out

    # A third run sends nothing and reports the same.
    before = len(sim.requests_for(LINE_ROUTE))
    run3 = await run_cli(*args, env=env)
    assert run3.code == 1, run3.err
    assert len(sim.requests_for(LINE_ROUTE)) == before
    assert by_index(read_report(report), 2_500) == rows


async def test_identical_messages_in_different_requests_are_sent_once(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    messages = line_messages(1_200, with_ids=False)
    messages[1_100] = messages[5]  # identical: same derived id, in the second request
    source = write_jsonl(tmp_path / "messages.jsonl", messages)
    report = tmp_path / "report.jsonl"

    result = await run_cli("8x8", "line", "send", SUB, str(source), "--report", str(report),
                           env=env)  # fmt: skip

    assert result.code == 0, result.err
    sent = _accepted_ids(sim)
    assert len(sent) == len(set(sent)) == 1_199
    rows = by_index(read_report(report), 1_200)
    assert rows[1_100]["id"] == rows[5]["id"]
    assert {r["outcome"] for r in rows} == {"accepted"}


async def test_identical_lines_share_one_id_and_are_sent_once(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    message = {"user": {"msisdn": "+6591230000"}, "content": {"title": "Hi", "icon": "bell"}}
    same = '{ "content": {"icon": "bell", "title": "Hi"},  "user": {"msisdn": "+6591230000"} }'
    other = {"user": {"msisdn": "+6591230001"}, "content": {"title": "Hi", "icon": "bell"}}
    source = write_lines(
        tmp_path / "messages.jsonl", [json.dumps(message), same, json.dumps(other)]
    )
    report = tmp_path / "report.jsonl"
    args = ("8x8", "line", "send", SUB, str(source), "--report", str(report))

    result = await run_cli(*args, env=env)

    assert result.code == 0, result.err
    rows = by_index(read_report(report), 3)
    assert [r["outcome"] for r in rows] == ["accepted"] * 3
    assert rows[0]["id"] == rows[1]["id"] != rows[2]["id"]
    (request,) = sim.requests_for("chatapps.send_line_notification_batch")
    assert sent_message_ids([request]) == [rows[0]["id"], rows[2]["id"]], "sent once"
    assert len(sim.find_messages(api="chatapps")) == 2

    # The ids come from the input and the content: the same on every run over this
    # input (so a resume agrees with the first run), another for the same message in
    # another input (so reconciling by id never mixes two jobs up).
    again = await run_cli("8x8", "line", "send", SUB, str(source), "--report", "-", env=env)
    assert [json.loads(line)["id"] for line in again.out.splitlines()] == [
        rows[0]["id"], rows[1]["id"], rows[2]["id"]
    ]  # fmt: skip
    write_lines(tmp_path / "other.jsonl", [json.dumps(other), json.dumps(message)])
    elsewhere = await run_cli(
        "8x8", "line", "send", SUB, str(tmp_path / "other.jsonl"), "--report", "-", env=env
    )
    ids = [json.loads(line)["id"] for line in elsewhere.out.splitlines()]
    assert ids[0] != rows[2]["id"]
    assert ids[1] != rows[0]["id"]


async def test_a_resumed_cancel_job_never_cancels_a_umid_twice(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    """An 8x8 umid to cancel is sent at most once per job, across runs too: a second
    cancel would only report "nothing to cancel" about the first one's work."""
    umids = sim.add_sms_messages(12).umids
    lines = [*umids, umids[0], umids[11], umids[0]]  # repeats of a first run's umid
    source = write_lines(tmp_path / "umids.txt", lines)
    journal, report = tmp_path / "cancel.journal", tmp_path / "report.jsonl"
    args = ("8x8", "sms", "cancel", SUB, str(source), "--journal", str(journal),
            "--report", str(report), "--concurrency", "1")  # fmt: skip
    route = "sms.cancel_message"
    sim.inject(Fault.rate_limited(3600), route=route, after=4)

    run1 = await run_cli(*args, env=env)

    assert run1.code != 0, run1.err
    rows = by_index(read_report(report), 15)
    assert rows[0]["outcome"] == "cancelled"
    sim.clear_faults()

    run2 = await run_cli(*args, env=env)

    assert run2.code == 0, run2.err
    taken = [r.path.rsplit("/", 1)[1] for r in sim.requests_for(route) if r.status == 200]
    assert Counter(taken) == Counter(umids), "each umid cancelled once, across both runs"
    rows = by_index(read_report(report), 15)
    assert [r["outcome"] for r in rows] == ["cancelled"] * 15
    assert [r["id"] for r in rows] == lines

    plan = await run_cli(*args[:5], "--dry-run", env=env)
    assert plan.code == 0, plan.err
    assert "3 umids repeat an earlier line: not sent" in plan.out


async def test_revicom_once_per_job_stops_a_repeated_uuid_once_across_runs(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    """``revicom stop --once-per-job``: a uuid repeated in a later request (and in a
    later run) is not stopped again; each repeat gets its first's outcome."""
    uuids = sim.add_revicom_messages(10_002)
    lines = [*uuids, uuids[0], uuids[10_001]]  # past the first request of 10,000
    source = write_lines(tmp_path / "uuids.txt", lines)
    journal, report = tmp_path / "stop.journal", tmp_path / "report.jsonl"
    args = ("revicom", "stop", str(source), "--journal", str(journal), "--report",
            str(report), "--concurrency", "1", "--once-per-job")  # fmt: skip
    route = "revicom.stop"
    sim.inject(Fault.rate_limited(3600), route=route, after=1)

    run1 = await run_cli(*args, env=env)

    assert run1.code != 0, run1.err
    sim.clear_faults()
    run2 = await run_cli(*args, env=env)

    assert run2.code == 0, run2.err
    stopped = [
        u for r in sim.requests_for(route) if r.status == 200 for u in (r.body or {})["uuids"]
    ]
    assert Counter(stopped) == Counter(uuids), "each uuid stopped once, across both runs"
    rows = by_index(read_report(report), len(lines))
    assert [r["id"] for r in rows] == lines
    assert [r["outcome"] for r in rows] == ["stopped"] * len(lines)

    plan = await run_cli(*args[:2], str(source), "--once-per-job", "--dry-run", env=env)
    assert plan.code == 0, plan.err
    assert "2 uuids repeat an earlier line: not sent" in plan.out

    # The rule is part of the job: the journal does not resume without it.
    other = await run_cli(*args[:-1], env=env)
    assert other.code == 2, other.err
