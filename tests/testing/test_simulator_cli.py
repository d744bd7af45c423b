"""``aiomsg simulator`` as an operator runs it: the installed command in a subprocess.

Every wait is bounded; each simulator is stopped by its pid (SIGINT, then SIGKILL
if it lingers) and reaped before the test ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

AIOMSG = str(Path(sys.executable).with_name("aiomsg"))
START_TIMEOUT = 20.0
JOB_TIMEOUT = 60.0


@dataclass
class Running:
    proc: asyncio.subprocess.Process
    text: str
    env: dict[str, str]
    files: dict[str, tuple[int, Path]]
    url: str
    account_id: str


def _client_env(text: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOMSG_")}
    env.update(re.findall(r"^export (AIOMSG_\w+)=(\S+)$", text, re.MULTILINE))
    return env


@asynccontextmanager
async def simulator(*args: str) -> AsyncIterator[Running]:
    proc = await asyncio.create_subprocess_exec(
        AIOMSG, "simulator", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []

        async def read_banner() -> None:
            assert proc.stdout is not None
            while not lines or "Press Ctrl-C" not in lines[-1]:
                line = await proc.stdout.readline()
                if not line:
                    assert proc.stderr is not None
                    err = (await proc.stderr.read()).decode()
                    raise AssertionError(f"the simulator ended: {''.join(lines)}{err}")
                lines.append(line.decode())

        await asyncio.wait_for(read_banner(), START_TIMEOUT)
        text = "".join(lines)
        files = {
            label: (int(count), Path(path))
            for label, count, path in re.findall(r"^  (.+): (\d+) in (.+)$", text, re.MULTILINE)
        }
        url = re.search(r"listening on (\S+)", text)
        account = re.search(r"^account id: +(\S+)$", text, re.MULTILINE)
        assert url is not None, text
        assert account is not None, text
        yield Running(proc, text, _client_env(text), files, url[1], account[1])
    finally:
        if proc.returncode is None:
            os.kill(proc.pid, signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                os.kill(proc.pid, signal.SIGKILL)
                await asyncio.wait_for(proc.wait(), 10)


async def run(*args: str, env: dict[str, str], timeout: float = JOB_TIMEOUT) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        AIOMSG, *args, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        os.kill(proc.pid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)
        raise AssertionError(f"aiomsg {' '.join(args)} did not finish in {timeout} s") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def _file(running: Running, label: str) -> tuple[int, Path]:
    found = [v for k, v in running.files.items() if k.startswith(label)]
    assert len(found) == 1, running.text
    return found[0]


def _outcomes(report: Path) -> set[str]:
    return {json.loads(line)["outcome"] for line in report.read_text().splitlines()}


async def test_a_rehearsal_seeds_ids_into_printed_files_that_a_real_job_acts_on(
    tmp_path: Path,
) -> None:
    async with simulator(
        "--no-demo-data", "--seed-dir", str(tmp_path), "--seed-revicom-count", "3000",
        "--seed-sms", "20", "--seed-chatapps", "7", "--seed-line", "25", "--seed-flows", "2",
        "--latency", "1ms-3ms",
    ) as sim:  # fmt: skip
        assert "export AIOMSG_8X8_API_KEY=sim-api-key" in sim.text
        assert "export AIOMSG_REVICOM_TOKEN=sim-revicom-token" in sim.text
        count, uuids = _file(sim, "Revicom uuids")
        assert count == 3000
        assert uuids.parent == tmp_path
        assert len(set(uuids.read_text().split())) == 3000
        assert [(n, p.name) for n, p in (_file(sim, "SMS"), _file(sim, "Chat Apps"))] == [
            (20, "sms-umids.txt"), (7, "chatapps-umids.txt"),
        ]  # fmt: skip
        report = tmp_path / "stop.jsonl"
        code, out = await run(
            "revicom", "stop", str(uuids), "--journal", str(tmp_path / "j"),
            "--report", str(report), env=sim.env,
        )  # fmt: skip
        assert code == 0, out
        assert _outcomes(report) == {"stopped"}
        for api, label in (("sms", "SMS"), ("chatapps", "Chat Apps")):
            code, out = await run(
                "8x8", api, "cancel", "sim-sub", str(_file(sim, label)[1]), env=sim.env
            )
            assert code == 0, out
        count, line = _file(sim, "LINE")
        assert count == 25
        code, out = await run("8x8", "line", "send", "sim-sub", str(line), env=sim.env)
        assert code == 0, out
        count, flows = _file(sim, "WhatsApp Flows")
        channel, flow = flows.read_text().splitlines()[0].split()
        code, out = await run("8x8", "flows", "delete", sim.account_id, channel, flow, env=sim.env)
        assert code == 0, out


async def test_an_operators_own_file_is_seeded_and_a_job_can_be_interrupted_and_resumed(
    tmp_path: Path,
) -> None:
    mine = [f"00000000-0000-4000-8000-{i:012x}" for i in range(30_000)]
    # What real files hold: a comment, blank lines, a duplicate, upper case.
    text = "# to stop\n" + "\n".join(mine) + f"\n\n{mine[0].upper()}\n"
    source = tmp_path / "campaign.txt"
    source.write_text(text)
    async with simulator(
        "--no-demo-data", "--seed-revicom", str(source), "--seed-dir", str(tmp_path),
        "--latency", "400ms-500ms",
    ) as sim:  # fmt: skip
        assert _file(sim, "Revicom uuids (queued) from your file") == (30_000, source)
        assert source.read_text() == text  # the input is never written
        journal, report = tmp_path / "stop.journal", tmp_path / "stop.jsonl"
        args = ("revicom", "stop", str(source), "--journal", str(journal), "--concurrency", "1")
        job = await asyncio.create_subprocess_exec(
            AIOMSG, *args, env=sim.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(2000):  # until the first request's answer is journaled
                if journal.exists() and journal.read_bytes().count(b"\n") >= 2:
                    break
                await asyncio.sleep(0.01)
            os.kill(job.pid, signal.SIGINT)
            assert await asyncio.wait_for(job.wait(), JOB_TIMEOUT) == 3
        finally:
            if job.returncode is None:
                os.kill(job.pid, signal.SIGKILL)
                await asyncio.wait_for(job.wait(), 10)
        code, out = await run(*args, "--report", str(report), env=sim.env)
        assert code == 0, out
        assert _outcomes(report) == {"stopped"}


async def _call(method: str, url: str, auth: str) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers={"Authorization": auth}, json=None) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


async def test_rate_limit_answers_429_with_retry_after_like_8x8(tmp_path: Path) -> None:
    async with simulator(
        "--no-demo-data", "--seed-dir", str(tmp_path), "--seed-sms", "6", "--rate-limit", "1",
        "--revicom-rate-limit", "1",
    ) as sim:  # fmt: skip
        umids = _file(sim, "SMS")[1].read_text().split()
        answers = [
            await _call(
                "DELETE",
                f"{sim.url}/sms/api/v1/subaccounts/sim-sub/messages/{u}",
                "Bearer sim-api-key",
            )
            for u in umids[:3]
        ]
        assert answers[0][0] == 200
        limited = [a for a in answers if a[0] == 429]
        assert limited, answers
        for _, headers, body in limited:
            assert int(headers["Retry-After"]) >= 1
            assert json.loads(body)["code"] == 1100
        # A job still ends well: the client waits as told and tries again.
        rest = tmp_path / "rest.txt"
        rest.write_text("\n".join(umids[3:]))
        code, out = await run(
            "8x8", "sms", "cancel", "sim-sub", str(rest), "--concurrency", "1", env=sim.env
        )
        assert code == 0, out
        retries = re.search(r"retries (\d+)", out)
        assert retries is not None, out
        assert int(retries[1]) >= 1, out  # it met the limit and waited


@pytest.mark.parametrize(("name", "status"), [("503", 503), ("429", 429), ("500", 500)])
async def test_fault_rate_injects_the_named_faults(name: str, status: int) -> None:
    async with simulator("--fault-rate", "1", "--faults", name) as sim:
        url = f"{sim.url}/revicom/api/v1/message/stop"
        assert (await _call("POST", url, "Basic sim-revicom-token"))[0] == status


@pytest.mark.parametrize("option", [(), ("--flow-delete-status", "204")])
async def test_a_draft_flow_delete_answers_200_unless_told_204(
    tmp_path: Path, option: tuple[str, ...]
) -> None:
    async with simulator("--seed-flows", "1", "--seed-dir", str(tmp_path), *option) as sim:
        channel, flow = _file(sim, "WhatsApp Flows")[1].read_text().split()
        url = f"{sim.url}/chatapps/api/v1/accounts/{sim.account_id}/channels/{channel}/flows/{flow}"
        got = await _call("DELETE", url, "Bearer sim-api-key")
        assert (got[0], got[2]) == ((204 if option else 200), b"")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--faults", "nope", "--fault-rate", "0.1"), "unknown fault 'nope'"),
        (("--latency", "fast"), "latency"),
        (("--latency", "2s-1s"), "low end"),
        (("--fault-rate", "2"), "--fault-rate"),
        (("--rate-limit", "-1"), "--rate-limit"),
        (("--seed-sms", "-1"), "--seed-sms"),
        (("--seed-revicom", "MISSING"), "MISSING"),
        (("--seed-revicom", "BAD"), "line 2: not a uuid"),
        (("--seed-sms", "2", "--seed-dir", "TAKEN"), "exists"),
    ],
)
async def test_bad_options_exit_2_before_listening(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("3fa85f64-5717-4562-b3fc-2c963f66afa6\nnot-a-uuid\n")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "sms-umids.txt").write_text("keep me\n")
    swap = {"MISSING": str(tmp_path / "missing.txt"), "BAD": str(bad), "TAKEN": str(taken)}
    code, out = await run("simulator", *(swap.get(a, a) for a in args), env=dict(os.environ))
    assert code == 2, out
    assert message.replace("MISSING", "missing.txt") in out
    assert "listening" not in out
    assert (taken / "sms-umids.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in taken.iterdir()) == ["sms-umids.txt"]
