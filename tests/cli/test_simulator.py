"""``aiomsg simulator``: serves until stopped, cleans up, refuses an unusable address."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from pathlib import Path

import pytest

from .support import (
    cli_env,
    command,
    kill,
    run_cli,
    wait_exit,
)


def _names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


async def test_simulator_command_serves_until_interrupted() -> None:
    proc = await asyncio.create_subprocess_exec(
        *command("simulator", "--port", "0"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(None),
    )
    try:
        banner = await _banner(proc)
        url = re.search(r"listening on (http://\S+)", banner)
        queued = re.search(r"revicom_queued: (.*)", banner)
        assert url is not None
        assert queued is not None
        env = cli_env(None, AIOMSG_REVICOM_URL=f"{url[1]}/revicom",
                      AIOMSG_REVICOM_TOKEN="sim-revicom-token")  # fmt: skip
        stop = await run_cli("revicom", "stop", "--report", "-", env=env,
                             stdin="\n".join(queued[1].split()).encode())  # fmt: skip
        assert stop.code == 0, stop.err
        assert stop.out.count('"stopped"') == 3
        os.kill(proc.pid, signal.SIGINT)
        assert await wait_exit(proc, 20) == 0
    finally:
        await kill(proc)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_simulator_over_tls_removes_its_certificate_files_when_stopped(
    stop: signal.Signals, tmp_path: Path
) -> None:
    proc = await asyncio.create_subprocess_exec(
        *command("simulator", "--tls"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=cli_env(None, TMPDIR=str(tmp_path)),
    )
    try:
        await _banner(proc)
        assert [name[:11] for name in _names(tmp_path)] == ["aiomsg-sim-"]
        os.kill(proc.pid, stop)
        assert await wait_exit(proc, 20) == 0
    finally:
        await kill(proc)
    assert _names(tmp_path) == [], "the TLS files are removed"


@pytest.mark.parametrize("tls", [False, True])
async def test_simulator_on_a_busy_port_is_a_usage_error(tls: bool, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = ["simulator", "--port", str(port), *(["--tls"] if tls else [])]
        result = await run_cli(*args, env=cli_env(None, TMPDIR=str(tmp_path)))
    assert result.code == 2, result.err
    assert f"cannot listen on 127.0.0.1:{port}" in result.err
    assert "Traceback" not in result.err
    assert _names(tmp_path) == [], "no TLS files left behind"


async def test_simulator_on_an_address_not_of_this_machine_is_a_usage_error() -> None:
    result = await run_cli("simulator", "--host", "192.0.2.1", env=cli_env(None))
    assert result.code == 2, result.err
    assert "cannot listen on 192.0.2.1:0" in result.err


async def _banner(proc: asyncio.subprocess.Process) -> str:
    """What the simulator prints once it listens (up to its "Press Ctrl-C" line)."""
    assert proc.stdout is not None
    banner = ""
    while "Press Ctrl-C" not in banner:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line, "the simulator exited early"
        banner += line.decode()
    return banner
