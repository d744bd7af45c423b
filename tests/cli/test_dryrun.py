"""--dry-run: the whole input checked and the plan shown; nothing sent."""

from __future__ import annotations

from pathlib import Path

from aiomsg.testing import Simulator

from .support import (
    cli_env,
    line_messages,
    run_cli,
    uuids,
    write_jsonl,
    write_lines,
)

SUB = "sim-sub"


async def test_dry_run_sends_nothing(sim: Simulator, tmp_path: Path) -> None:
    env = cli_env(sim)
    del env["AIOMSG_8X8_API_KEY"], env["AIOMSG_REVICOM_TOKEN"]  # not needed for a dry run
    ids = write_lines(tmp_path / "uuids.txt", uuids(25_000))
    messages = write_jsonl(tmp_path / "messages.jsonl", line_messages(1_500))

    stop = await run_cli("revicom", "stop", str(ids), "--dry-run", env=env)
    assert stop.code == 0, stop.err
    assert "would send 25,000 uuids in 3 requests" in stop.out
    assert f"POST {sim.revicom_url}/api/v1/message/stop  10,000 uuids (items 0-9,999)" in stop.out

    cancel = await run_cli("8x8", "sms", "cancel", SUB, str(ids), "--dry-run", env=env)
    assert cancel.code == 0, cancel.err
    assert "in 25,000 requests" in cancel.out
    assert f"DELETE {sim.sms_url}/api/v1/subaccounts/{SUB}/messages/" in cancel.out
    assert "... and 24,990 more requests" in cancel.out

    line = await run_cli("8x8", "line", "send", SUB, str(messages), "--dry-run", env=env)
    assert line.code == 0, line.err
    assert "would send 1,500 messages in 2 requests" in line.out
    # A dry run has no outcomes to report: the combination is refused, not ignored.
    report = tmp_path / "r"
    refused = await run_cli(
        "8x8", "line", "send", SUB, str(messages), "--dry-run", "--report", str(report),
        env=env,
    )  # fmt: skip
    assert refused.code == 2
    assert "--dry-run writes no report" in refused.err
    assert refused.out == ""

    bad = write_lines(tmp_path / "bad.txt", ["nope"])
    invalid = await run_cli("revicom", "stop", str(bad), "--dry-run", env=env)
    assert invalid.code == 2
    skipped = await run_cli("revicom", "stop", str(bad), "--dry-run", "--skip-invalid", env=env)
    assert skipped.code == 1
    assert "1 bad line would be reported failed" in skipped.out

    assert sim.requests == []
    assert not (tmp_path / "r").exists()
