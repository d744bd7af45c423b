"""Run ``python -m aiomsg`` as a subprocess against a simulator in the test process.

Every wait is bounded: a command that outlives its timeout is killed (by its pid)
and the test fails.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiomsg.testing import Simulator

CLI_TIMEOUT = 30.0
WAIT_TIMEOUT = 20.0


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def cli_env(sim: Simulator | None, **extra: str) -> dict[str, str]:
    """The environment of a command: the simulator's URLs and credentials, no others."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOMSG_")}
    env.pop("COLUMNS", None)
    if sim is not None:
        env.update(
            AIOMSG_8X8_CHATAPPS_URL=sim.chatapps_url,
            AIOMSG_8X8_SMS_URL=sim.sms_url,
            AIOMSG_REVICOM_URL=sim.revicom_url,
            AIOMSG_8X8_API_KEY=sim.api_key,
            AIOMSG_REVICOM_TOKEN=sim.revicom_token,
        )
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    # -W error: an unclosed session or a stray warning fails the command.
    return [sys.executable, "-W", "error", "-m", "aiomsg", *args]


async def run_cli(
    *args: str,
    env: dict[str, str],
    stdin: bytes | None = None,
    timeout: float = CLI_TIMEOUT,
) -> Result:
    """Run the command to the end and return its exit code and output."""
    proc = await asyncio.create_subprocess_exec(
        *command(*args),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except TimeoutError:
        await kill(proc)
        raise AssertionError(f"aiomsg {' '.join(args)} did not finish in {timeout} s") from None
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


async def start_cli(
    *args: str, env: dict[str, str], stderr: Path, stdin: Path | None = None
) -> asyncio.subprocess.Process:
    """Start the command in the background (output to a file, so it never blocks);
    ``stdin`` is a file piped into its standard input."""
    err = os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    source = os.open(stdin, os.O_RDONLY) if stdin is not None else asyncio.subprocess.DEVNULL
    try:
        return await asyncio.create_subprocess_exec(
            *command(*args),
            stdin=source,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
    finally:
        os.close(err)
        if stdin is not None:
            os.close(source)


async def kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the process (by its pid) and reap it."""
    if proc.returncode is None:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    await asyncio.wait_for(proc.wait(), 10)


async def wait_exit(proc: asyncio.subprocess.Process, timeout: float = CLI_TIMEOUT) -> int:
    try:
        return await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        await kill(proc)
        raise AssertionError(f"the command did not exit within {timeout} s") from None


async def wait_until(
    condition: Callable[[], bool], what: str, timeout: float = WAIT_TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def uuids(n: int, salt: int = 0) -> list[str]:
    """``n`` distinct, repeatable uuids."""
    return [str(uuid.UUID(int=(salt << 64) + i + 1, version=4)) for i in range(n)]


def write_lines(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def line_messages(n: int, *, with_ids: bool = True) -> list[dict[str, Any]]:
    """LINE messages in the API's camelCase shape; every other one without an id."""
    out = []
    for i in range(n):
        message: dict[str, Any] = {
            "user": {"msisdn": f"+659{i:07d}"},
            "content": {"title": "Reminder", "icon": "bell"},
        }
        if with_ids and i % 2:
            message["clientMessageId"] = f"msg-{i}"
        out.append(message)
    return out


def write_jsonl(path: Path, messages: Sequence[dict[str, Any]]) -> Path:
    return write_lines(path, (json.dumps(m) for m in messages))


def read_report(path: Path) -> list[dict[str, Any]]:
    """Report records, parsed (CSV values converted back to the JSON Lines types)."""
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            assert list(row) == ["index", "line", "id", "outcome", "code", "error"]
            row["line"] = int(row["line"])
            row["index"] = int(row["index"])
            row["code"] = int(row["code"]) if row["code"] else None
            row["id"] = row["id"] or None
            row["error"] = row["error"] or None
        return rows
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for record in records:
        assert list(record) == ["index", "line", "id", "outcome", "code", "error"]
    return records


def by_index(records: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The records ordered by index, checking each of ``range(n)`` appears exactly once."""
    indices = sorted(r["index"] for r in records)
    assert indices == list(range(n)), "every input item is reported exactly once"
    return sorted(records, key=lambda r: r["index"])


def journal_records(path: Path) -> list[dict[str, Any]]:
    """The complete records of a journal (its header first)."""
    data = path.read_bytes() if path.exists() else b""
    return [json.loads(line) for line in data.split(b"\n")[:-1]]


def sent_uuids(requests: Iterable[Any]) -> list[str]:
    return [u for r in requests for u in (r.body or {}).get("uuids", [])]


def sent_message_ids(requests: Iterable[Any]) -> list[str]:
    return [m["clientMessageId"] for r in requests for m in (r.body or {}).get("messages", [])]
