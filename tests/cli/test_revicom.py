"""``aiomsg revicom stop`` against the simulator: from a file and from standard input."""

from __future__ import annotations

from pathlib import Path

from aiomsg.testing import Simulator

from .support import (
    by_index,
    read_report,
    run_cli,
    sent_uuids,
    uuids,
    write_lines,
)


async def test_revicom_stop_from_a_file(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(25_000)
    source = write_lines(tmp_path / "uuids.txt", ids)
    report = tmp_path / "report.jsonl"

    result = await run_cli("revicom", "stop", str(source), "--report", str(report), env=env)

    assert result.code == 0, result.err
    rows = by_index(read_report(report), len(ids))
    assert [r["id"] for r in rows] == ids
    assert {(r["outcome"], r["code"], r["error"]) for r in rows} == {("stopped", 200, None)}
    assert len(sim.requests_for("revicom.stop")) == 3  # 10,000 uuids per request
    assert "stopped" in result.err
    assert "requests 3" in result.err
    assert result.out == ""


async def test_revicom_stop_from_stdin_with_comments_and_blank_lines(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    queued = sim.add_revicom_messages(2)
    sent = sim.add_revicom_messages(1, state="sent")
    unknown = uuids(1)[0]
    text = f"# to stop\n\n  {queued[0]}  \n{sent[0]}\n\t\n# more\n{queued[1]}\r\n{unknown}\n"
    report = tmp_path / "report.csv"

    result = await run_cli(
        "revicom", "stop", "-", "--report", str(report), env=env, stdin=text.encode()
    )

    assert result.code == 1, result.err  # not every uuid could be stopped
    rows = by_index(read_report(report), 4)
    assert [(r["id"], r["outcome"], r["code"]) for r in rows] == [
        (queued[0], "stopped", 200),
        (sent[0], "not_stoppable", 403),
        (queued[1], "stopped", 200),
        (unknown, "not_found", 404),
    ]
    assert sent_uuids(sim.requests) == [queued[0], sent[0], queued[1], unknown]
    assert "2 items did not succeed" in result.err
