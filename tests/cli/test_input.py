"""Inputs: bad lines send nothing (or are reported failed with --skip-invalid), name
their line and field, never show a phone number; standard input leaves no copy behind."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from aiomsg.testing import Fault, Simulator

from .support import (
    by_index,
    kill,
    line_messages,
    read_report,
    run_cli,
    sent_uuids,
    start_cli,
    uuids,
    wait_exit,
    wait_until,
    write_lines,
)

SUB = "sim-sub"


def _names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


async def test_a_bad_line_sends_nothing(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    good = uuids(3)
    source = write_lines(
        tmp_path / "uuids.txt", [good[0], "# fine", good[1], "nope", "+6591234567"]
    )

    result = await run_cli("revicom", "stop", str(source), env=env)

    assert result.code == 2
    assert "2 bad lines; nothing was sent" in result.err
    assert "line 4: 'nope' is not a uuid" in result.err
    assert "line 5:" in result.err
    assert "91234567" not in result.err  # a phone number is never echoed
    assert "--skip-invalid" in result.err
    assert sim.requests == []


async def test_a_bad_jsonl_line_names_line_and_field(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    messages = line_messages(3)
    messages[1]["content"]["icon"] = "sparkles"
    lines = [*map(json.dumps, messages), "[1, 2]", "{oops"]
    source = write_lines(tmp_path / "messages.jsonl", lines)

    result = await run_cli("8x8", "line", "send", SUB, str(source), env=env)

    assert result.code == 2
    assert "line 2: message.content.icon" in result.err
    assert "line 4: expected a JSON object" in result.err
    assert "line 5: not valid JSON" in result.err
    assert sim.requests == []


async def test_skip_invalid_reports_bad_lines_as_failed(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    good = sim.add_revicom_messages(3)
    source = write_lines(tmp_path / "uuids.txt", [good[0], "bad-1", good[1], "bad-2", good[2]])
    report = tmp_path / "report.jsonl"

    result = await run_cli(
        "revicom", "stop", str(source), "--skip-invalid", "--report", str(report), env=env
    )

    assert result.code == 1
    rows = by_index(read_report(report), 5)
    assert [r["outcome"] for r in rows] == ["stopped", "failed", "stopped", "failed", "stopped"]
    assert rows[1]["id"] == "bad-1"
    assert rows[1]["error"].startswith("line 2: 'bad-1' is not a uuid")
    assert sent_uuids(sim.requests) == good


async def test_phone_numbers_in_bad_lines_are_masked_everywhere(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    good = sim.add_revicom_messages(1)
    bad = ["+65 9123 4567", "+65-9123-4568", "tel:6591234569", "bad-1"]
    source = write_lines(tmp_path / "uuids.txt", [*good, *bad])
    report = tmp_path / "report.jsonl"

    refused = await run_cli("revicom", "stop", str(source), env=env)
    skipped = await run_cli(
        "revicom", "stop", str(source), "--skip-invalid", "--report", str(report), env=env
    )

    assert refused.code == 2
    assert skipped.code == 1, skipped.err
    rows = by_index(read_report(report), 5)
    shown = refused.err + skipped.err + report.read_text()
    for number in ("9123", "91234568", "91234569", "659123"):
        assert number not in shown.replace("***", "")
    assert [r["id"] for r in rows[1:]] == ["***4567", "***4568", "tel:***4569", "bad-1"]
    assert "'***4567' is not a uuid" in refused.err
    assert sent_uuids(sim.requests) == good


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
