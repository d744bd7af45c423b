"""The summary and exit codes: requests failing as a whole exit 4 and a re-run sends them;
every summary line agrees with the report."""

from __future__ import annotations

import os
import re
import signal
import socket
from collections import Counter
from pathlib import Path

from aiomsg.testing import Fault, Simulator

from .support import (
    by_index,
    cli_env,
    read_report,
    run_cli,
    start_cli,
    uuids,
    wait_exit,
    wait_until,
    write_lines,
)

SUB = "sim-sub"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _summary(path: Path) -> str:
    return path.read_text(encoding="utf-8")


async def test_requests_failing_as_a_whole_exit_4_and_a_rerun_sends_them(
    sim: Simulator, tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(3)
    source = write_lines(tmp_path / "ids.txt", [*ids, *uuids(1)])
    journal, report = tmp_path / "job.journal", tmp_path / "report.jsonl"
    args = ("revicom", "stop", str(source), "--journal", str(journal), "--report", str(report))

    wrong = await run_cli(*args, env=cli_env(sim, AIOMSG_REVICOM_TOKEN="wrong"))
    assert wrong.code == 4, wrong.err
    assert {r["outcome"] for r in read_report(report)} == {"failed"}
    assert "4 items failed because the request failed" in wrong.err

    nobody = cli_env(sim, AIOMSG_REVICOM_URL=f"http://127.0.0.1:{_closed_port()}")
    unreachable = await run_cli("revicom", "stop", str(source), env=nobody)
    assert unreachable.code == 4, unreachable.err

    fixed = await run_cli(*args, env=cli_env(sim))
    assert fixed.code == 1, fixed.err  # an answer: one uuid is not found
    rows = by_index(read_report(report), 4)
    assert [r["outcome"] for r in rows] == ["stopped"] * 3 + ["not_found"]


async def test_a_single_request_failing_exits_4(sim: Simulator) -> None:
    env = cli_env(sim, AIOMSG_8X8_API_KEY="wrong")
    batch = await run_cli("8x8", "sms", "cancel-batch", SUB, uuids(1)[0], env=env)
    assert batch.code == 4, batch.err
    flow = await run_cli("8x8", "flows", "delete", sim.account_id, "c", "f", env=env)
    assert flow.code == 4, flow.err


async def test_after_the_grace_period_every_summary_line_agrees_with_the_report(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(50_000)
    source = write_lines(tmp_path / "uuids.txt", ids)
    report = tmp_path / "report.jsonl"
    sim.inject(Fault.stall(60), route="revicom.stop", after=1)  # never answers in time

    proc = await start_cli(
        "revicom", "stop", str(source), "--report", str(report), "--concurrency", "1",
        env=env, stderr=tmp_path / "err",
    )  # fmt: skip
    try:
        await wait_until(lambda: len(sim.requests) == 2, "the second request to arrive")
        os.kill(proc.pid, signal.SIGINT)
        code = await wait_exit(proc, 20)  # the grace period (5 s) runs out
    finally:
        if proc.returncode is None:
            os.kill(proc.pid, signal.SIGKILL)
    assert code == 3
    counts = Counter(r["outcome"] for r in by_index(read_report(report), 50_000))
    assert counts == {"stopped": 10_000, "unknown": 10_000, "not_attempted": 30_000}
    err = _summary(tmp_path / "err")
    assert "10,000 of 50,000 items" in err
    assert "incomplete: 40,000 items not processed" in err
    for outcome, n in counts.items():
        assert re.search(rf"^  {outcome} +{n:,}$", err, re.M), outcome
