"""The progress bar: drawn on a terminal, absent when piped or with --quiet."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import termios
from pathlib import Path

from aiomsg.testing import Simulator

from .support import (
    command,
    kill,
    run_cli,
    wait_exit,
    write_lines,
)

SUB = "sim-sub"


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


async def _run_on_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        proc = await asyncio.create_subprocess_exec(
            *command(*args), stdin=asyncio.subprocess.DEVNULL, stdout=side, stderr=side, env=env
        )
    finally:
        os.close(side)
    try:
        reader = asyncio.ensure_future(asyncio.to_thread(_read_all, main))
        code = await wait_exit(proc, 30)
        output = await asyncio.wait_for(reader, 10)
    finally:
        await kill(proc)
        os.close(main)
    return code, output.decode(errors="replace")


async def test_quiet_silences_progress_and_summary_not_results(
    sim: Simulator, env: dict[str, str]
) -> None:
    seeded = sim.add_sms_messages(2)
    assert seeded.batch_id is not None
    batch = await run_cli("8x8", "sms", "cancel-batch", SUB, seeded.batch_id, "--quiet", env=env)
    assert batch.code == 0
    assert batch.out.startswith(f"batch {seeded.batch_id}: 2 scheduled messages cancelled")
    assert batch.err == ""
    flow = sim.add_flow("channel-1", status="DRAFT")
    deleted = await run_cli(
        "8x8", "flows", "delete", sim.account_id, "channel-1", flow, "--quiet", env=env
    )
    assert deleted.code == 0
    assert flow in deleted.out
    assert deleted.err == ""
    missing = await run_cli(
        "8x8", "flows", "delete", sim.account_id, "channel-1", flow, "--quiet", env=env
    )
    assert missing.code == 1
    assert "404" in missing.err  # errors are still shown


async def test_progress_bar_on_a_terminal(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(30_000)
    source = write_lines(tmp_path / "uuids.txt", ids)

    code, output = await _run_on_a_terminal("revicom", "stop", str(source), env=env)

    assert code == 0, output
    assert "revicom stop" in output
    assert "100%|" in output  # the bar, with items done / total, rate and ETA
    assert "30.0k/30.0k" in output
    assert "items/s" in output
    assert "stopped" in output  # the summary follows


async def test_no_progress_bar_when_piped_or_quiet(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(30_000)
    source = write_lines(tmp_path / "uuids.txt", ids)

    piped = await run_cli("revicom", "stop", str(source), env=env)
    assert piped.code == 0
    assert "%|" not in piped.err
    assert "\r" not in piped.err
    assert "stopped" in piped.err  # the summary only

    code, output = await _run_on_a_terminal("revicom", "stop", str(source), "--quiet", env=env)
    assert code == 0
    assert output == ""
