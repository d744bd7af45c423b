"""The 8x8 commands against the simulator: cancels, cancel-batch, LINE sends, flows."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiomsg.testing import Simulator

from .support import (
    by_index,
    line_messages,
    read_report,
    run_cli,
    sent_message_ids,
    uuids,
    write_jsonl,
    write_lines,
)

SUB = "sim-sub"


@pytest.mark.parametrize("api", ["sms", "chatapps"])
async def test_cancel_by_umid(
    api: str, sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    seed = sim.add_sms_messages if api == "sms" else sim.add_chatapps_messages
    scheduled = seed(40).umids
    sent = seed(1, state="sent").umids
    unknown = uuids(1)
    source = write_lines(tmp_path / "umids.txt", [*scheduled, *sent, *unknown])
    report = tmp_path / "report.jsonl"

    result = await run_cli("8x8", api, "cancel", SUB, str(source), "--report", str(report), env=env)

    assert result.code == 1, result.err  # one umid is unknown
    rows = by_index(read_report(report), 42)
    assert [r["outcome"] for r in rows] == ["cancelled"] * 40 + ["not_cancelled", "not_found"]
    assert rows[-1]["code"] == 1300
    assert all(sim.message(u).state == "cancelled" for u in scheduled)
    assert len(sim.requests_for(f"{api}.cancel_message")) == 42

    # Everything left is already cancelled: "not_cancelled" counts as success.
    again = await run_cli("8x8", api, "cancel", SUB, env=env, stdin="\n".join(scheduled).encode())
    assert again.code == 0, again.err
    assert "not_cancelled" in again.err


@pytest.mark.parametrize("api", ["sms", "chatapps"])
async def test_cancel_batch(api: str, sim: Simulator, env: dict[str, str]) -> None:
    seed = sim.add_sms_messages if api == "sms" else sim.add_chatapps_messages
    seeded = seed(7)
    assert seeded.batch_id is not None

    first = await run_cli("8x8", api, "cancel-batch", SUB, seeded.batch_id, env=env)
    assert first.code == 0, first.err
    assert "7 scheduled messages cancelled" in first.out
    assert all(sim.message(u).state == "cancelled" for u in seeded.umids)

    second = await run_cli("8x8", api, "cancel-batch", SUB, seeded.batch_id, env=env)
    assert second.code == 0
    assert "nothing left to cancel" in second.out

    bad = await run_cli("8x8", api, "cancel-batch", SUB, "not-a-uuid", env=env)
    assert bad.code == 2
    assert "batch_id" in bad.err
    assert len(sim.requests) == 2


async def test_line_send(sim: Simulator, env: dict[str, str], tmp_path: Path) -> None:
    messages = line_messages(2_500)
    source = write_jsonl(tmp_path / "messages.jsonl", messages)
    report = tmp_path / "report.jsonl"

    result = await run_cli(
        "8x8", "line", "send", SUB, str(source), "--report", str(report),
        "--client-batch-id", "campaign-7", env=env,
    )  # fmt: skip

    assert result.code == 0, result.err
    requests = sim.requests_for("chatapps.send_line_notification_batch")
    assert sorted(len(r.body["messages"]) for r in requests) == [500, 1000, 1000]
    assert {r.body["clientBatchId"] for r in requests} == {"campaign-7"}
    rows = by_index(read_report(report), 2_500)
    assert {r["outcome"] for r in rows} == {"accepted"}
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == 2_500
    assert ids[1::2] == [f"msg-{i}" for i in range(1, 2_500, 2)]  # kept as given
    assert sorted(sent_message_ids(requests)) == sorted(ids)  # generated ones as sent
    assert len(sim.find_messages(api="chatapps", state="scheduled")) == 2_500
    assert "LINE batchIds:" in result.err


async def test_line_send_from_stdin_with_a_rejected_message_exits_1(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    messages = line_messages(10)
    sim.reject_recipients([messages[3]["user"]["msisdn"]], code=3003)
    stdin = write_jsonl(tmp_path / "messages.jsonl", messages).read_bytes()
    report = tmp_path / "report.csv"

    result = await run_cli(
        "8x8", "line", "send", SUB, "-", "--report", str(report), env=env, stdin=stdin
    )

    assert result.code == 1
    rows = by_index(read_report(report), 10)
    assert [r["outcome"] for r in rows] == ["accepted"] * 3 + ["rejected"] + ["accepted"] * 6
    assert rows[3]["code"] == 3003
    assert "+659" not in result.err  # no phone number in the summary


async def test_flows_delete(sim: Simulator, env: dict[str, str]) -> None:
    draft = sim.add_flow("channel-1", status="DRAFT")
    published = sim.add_flow("channel-1", status="PUBLISHED")
    account = sim.account_id

    deleted = await run_cli("8x8", "flows", "delete", account, "channel-1", draft, env=env)
    assert deleted.code == 0, deleted.err
    assert draft in deleted.out
    assert [f.flow_id for f in sim.flows] == [published]

    refused = await run_cli("8x8", "flows", "delete", account, "channel-1", published, env=env)
    assert refused.code == 1
    assert "409" in refused.err
    assert "DRAFT" in refused.err

    missing = await run_cli("8x8", "flows", "delete", account, "channel-1", draft, env=env)
    assert missing.code == 1
    assert "404" in missing.err
