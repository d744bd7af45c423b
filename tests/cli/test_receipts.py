"""``aiomsg 8x8 receipts serve`` and ``aiomsg 8x8 line reconcile``, run as subprocesses.

A LINE job loses the answers of a request (the simulator takes it, then drops the
connection): those messages end ``unknown``. Receipts shaped like 8x8's v9 are
POSTed to ``receipts serve`` by the test, and ``line reconcile`` turns every
``unknown`` into a known fate without sending anything.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import sqlite3
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aiomsg.cli.receipts import parse_duration
from aiomsg.testing import Fault, Simulator
from tests.receipts.support import encode, receipt

from .support import (
    by_index,
    cli_env,
    command,
    kill,
    line_messages,
    run_cli,
    sent_message_ids,
    wait_exit,
    write_jsonl,
)

LINE_ROUTE = "chatapps.send_line_notification_batch"
AUTH = "Basic cmVjZWlwdHM6dGVzdA=="
FIELDS = ["index", "line", "id", "outcome", "code", "error", "state"]
# 1,000 messages a request: the second request carries the last three.
ITEMS = 1003


def read_reconciled(path: Path) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for record in records:
        assert list(record) == FIELDS
    return records


async def start_serve(
    store: Path, env: dict[str, str], *extra: str
) -> tuple[asyncio.subprocess.Process, str]:
    """Start ``receipts serve`` on a free port; its process and the URL it printed."""
    proc = await asyncio.create_subprocess_exec(
        *command("8x8", "receipts", "serve", "--port", "0", "--store", str(store), *extra),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
    except TimeoutError:
        await kill(proc)
        raise AssertionError("receipts serve printed no URL") from None
    url = line.decode().strip()
    if not url.startswith("http://127.0.0.1:"):
        await kill(proc)
        raise AssertionError(f"receipts serve printed {url!r}")
    return proc, url


async def post_receipts(url: str, bodies: Sequence[dict[str, Any]]) -> list[int]:
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def post(body: dict[str, Any]) -> int:
            async with session.post(url, data=encode(body), headers=headers) as resp:
                return resp.status

        return list(await asyncio.gather(*(post(b) for b in bodies)))


def dr(cmid: str, state: str, **kwargs: Any) -> dict[str, Any]:
    """A v9 receipt for ``cmid`` (its umid derived from it)."""
    umid = str(uuid.uuid5(uuid.NAMESPACE_URL, cmid))
    detail = {"delivered": "delivered_to_recipient", "read": "read_by_recipient"}.get(state)
    return receipt(umid, state=state, detail=detail, client_message_id=cmid, **kwargs)


class Job:
    def __init__(self, tmp_path: Path, sim: Simulator) -> None:
        self.dir = tmp_path
        self.input = write_jsonl(tmp_path / "messages.jsonl", line_messages(ITEMS))
        self.journal = tmp_path / "job.journal"
        self.store = tmp_path / "receipts.db"
        self.sim = sim
        self.env = cli_env(sim, AIOMSG_RECEIPTS_AUTHORIZATION=AUTH)


@pytest.fixture
async def job(sim: Simulator, tmp_path: Path) -> Job:
    """A LINE job whose second request was taken by 8x8 and its answer lost."""
    j = Job(tmp_path, sim)
    sim.inject(Fault.reset_after_body(), route=LINE_ROUTE, after=1)
    sent = await run_cli(
        "8x8", "line", "send", "sim-sub", str(j.input), "--journal", str(j.journal),
        "--concurrency", "1", "--quiet", env=j.env,
    )  # fmt: skip
    assert sent.code == 1, sent.err
    return j


def reconcile_args(j: Job, report: Path, *extra: str) -> list[str]:
    return [
        "8x8", "line", "reconcile", "--journal", str(j.journal), "--store", str(j.store),
        "--report", str(report), *extra,
    ]  # fmt: skip


async def test_serve_then_reconcile_leaves_no_unknown(job: Job) -> None:
    taken = sent_message_ids(job.sim.requests)
    assert len(taken) == ITEMS  # 8x8 took every message, answers lost for 3
    requests_before = len(job.sim.requests)
    serve, url = await start_serve(job.store, job.env, "--quiet")
    try:
        # Before any receipt: the three stay unknown (exit 1), nothing else changes.
        first = job.dir / "first.jsonl"
        result = await run_cli(*reconcile_args(job, first), env=job.env)
        assert result.code == 1, result.err
        records = by_index(read_reconciled(first), ITEMS)
        unknown = [r for r in records if r["outcome"] == "unknown"]
        assert [r["index"] for r in unknown] == [1000, 1001, 1002]
        assert all(r["state"] is None and r["error"] for r in unknown)
        assert sum(r["outcome"] == "accepted" for r in records) == 1000

        # 8x8's receipts arrive (one retried): the lost ones and a few taken earlier.
        lost = [r["id"] for r in unknown]
        bodies = [dr(lost[0], "delivered"), dr(lost[1], "queued"), dr(lost[2], "read")]
        bodies += [dr(lost[2], "read"), dr(records[0]["id"], "delivered")]
        assert await post_receipts(url, bodies) == [200] * len(bodies)

        second = job.dir / "second.csv"
        result = await run_cli(*reconcile_args(job, second), env=job.env)
        assert result.code == 0, result.err
        assert "resolved from receipts: 3" in result.err
    finally:
        os.kill(serve.pid, signal.SIGTERM)
        assert await wait_exit(serve) == 0
    assert len(job.sim.requests) == requests_before  # reconcile never sends
    rows = list(csv.DictReader(io.StringIO(second.read_text(encoding="utf-8"), newline="")))
    assert list(rows[0]) == FIELDS
    assert [int(r["index"]) for r in rows] == list(range(ITEMS))
    assert {r["outcome"] for r in rows} == {"accepted"}
    assert [r["state"] for r in rows[1000:]] == ["delivered", "queued", "read"]
    assert rows[0]["state"] == "delivered"
    assert rows[1]["state"] == ""  # accepted, no receipt yet
    assert all(r["error"] == "" for r in rows[1000:])
    # The store is closed cleanly with every acknowledged receipt (one repeat).
    with sqlite3.connect(job.store) as db:
        assert db.execute("SELECT count(*) FROM receipts").fetchone()[0] == 4


async def test_a_rejected_receipt_makes_the_item_rejected(job: Job) -> None:
    serve, url = await start_serve(job.store, job.env, "--quiet")
    try:
        lost = sent_message_ids(job.sim.requests)[1000:]
        bodies = [dr(c, "delivered") for c in lost[:2]]
        bodies.append(dr(lost[2], "rejected", error_code=3003, error_message="bad user"))
        assert await post_receipts(url, bodies) == [200] * 3
    finally:
        os.kill(serve.pid, signal.SIGINT)
        assert await wait_exit(serve) == 0
    report = job.dir / "after.jsonl"
    result = await run_cli(*reconcile_args(job, report, "--quiet"), env=job.env)
    assert result.code == 1
    assert result.err == ""
    last = read_reconciled(report)[-1]
    assert (last["outcome"], last["code"], last["state"]) == ("rejected", 3003, "rejected")


async def test_reconcile_waits_for_the_last_receipts(job: Job) -> None:
    serve, url = await start_serve(job.store, job.env, "--quiet")
    try:
        report = job.dir / "waited.jsonl"
        proc = await asyncio.create_subprocess_exec(
            *command(*reconcile_args(job, report, "--wait", "5m", "--quiet")),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=job.env,
        )
        try:
            lost = sent_message_ids(job.sim.requests)[1000:]
            assert await post_receipts(url, [dr(c, "delivered") for c in lost]) == [200] * 3
            # It ends once every unknown is resolved, long before five minutes.
            assert await wait_exit(proc, 30) == 0
        finally:
            await kill(proc)
    finally:
        os.kill(serve.pid, signal.SIGTERM)
        assert await wait_exit(serve) == 0
    assert {r["outcome"] for r in read_reconciled(report)} == {"accepted"}


async def test_another_input_is_refused(job: Job) -> None:
    changed = job.dir / "changed.jsonl"
    changed.write_bytes(job.input.read_bytes().replace(b"Reminder", b"Remindex", 1))
    sqlite3.connect(job.store).close()
    report = job.dir / "r.jsonl"
    result = await run_cli(*reconcile_args(job, report, "--input", str(changed)), env=job.env)
    assert result.code == 2
    assert "not the input of this journal" in result.err
    assert not report.exists()
    # The input the journal names, moved away: refused too, never guessed.
    job.input.rename(job.dir / "moved.jsonl")
    result = await run_cli(*reconcile_args(job, report), env=job.env)
    assert result.code == 2
    assert "messages.jsonl" in result.err


@pytest.mark.parametrize("target", ["input", "journal", "store"])
async def test_the_report_never_overwrites_what_reconcile_reads(job: Job, target: str) -> None:
    sqlite3.connect(job.store).close()
    path = {"input": job.input, "journal": job.journal, "store": job.store}[target]
    before = path.read_bytes()
    alias = job.dir / "alias"
    alias.symlink_to(path)
    result = await run_cli(*reconcile_args(job, alias), env=job.env)
    assert result.code == 2
    assert "refusing to overwrite" in result.err
    assert path.read_bytes() == before


async def test_a_missing_store_is_refused_not_created(job: Job) -> None:
    report = job.dir / "r.jsonl"
    result = await run_cli(*reconcile_args(job, report), env=job.env)
    assert result.code == 2
    assert "no receipt store" in result.err
    assert not job.store.exists()


async def test_a_journal_of_another_command_is_refused(sim: Simulator, tmp_path: Path) -> None:
    env = cli_env(sim)
    umids = tmp_path / "umids.txt"
    umids.write_text("".join(f"{uuid.UUID(int=i + 1, version=4)}\n" for i in range(2)))
    journal = tmp_path / "cancel.journal"
    await run_cli(
        "8x8", "sms", "cancel", "sub-1", str(umids), "--journal", str(journal), "--quiet", env=env
    )
    store = tmp_path / "r.db"
    sqlite3.connect(store).close()
    result = await run_cli(
        "8x8", "line", "reconcile", "--journal", str(journal), "--store", str(store), env=env
    )
    assert result.code == 2
    assert "8x8 line send" in result.err
    not_journal = await run_cli(
        "8x8", "line", "reconcile", "--journal", str(umids), "--store", str(store), env=env
    )
    assert not_journal.code == 2


async def test_serve_refuses_a_file_that_is_not_a_store(job: Job) -> None:
    before = job.journal.read_bytes()
    result = await run_cli(
        "8x8", "receipts", "serve", "--port", "0", "--store", str(job.journal), env=job.env
    )
    assert result.code == 2
    assert "not a SQLite database" in result.err
    assert job.journal.read_bytes() == before


async def test_serve_needs_the_authorization(tmp_path: Path) -> None:
    env = cli_env(None)
    store = tmp_path / "r.db"
    result = await run_cli(
        "8x8", "receipts", "serve", "--port", "0", "--store", str(store), env=env
    )
    assert result.code == 2
    assert "AIOMSG_RECEIPTS_AUTHORIZATION" in result.err
    named = await run_cli(
        "8x8", "receipts", "serve", "--port", "0", "--store", str(store),
        "--authorization-env", "MY_DR_AUTH", env={**env, "MY_DR_AUTH": " "},
    )  # fmt: skip
    assert named.code == 2
    assert "MY_DR_AUTH" in named.err
    assert not store.exists()


async def test_serve_refuses_a_wrong_authorization(tmp_path: Path) -> None:
    store = tmp_path / "r.db"
    env = cli_env(None, AIOMSG_RECEIPTS_AUTHORIZATION=AUTH)
    serve, url = await start_serve(store, env)
    try:
        timeout = aiohttp.ClientTimeout(total=20)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            body = encode(dr("m-1", "delivered"))
            async with session.post(url, data=body, headers={"Authorization": "Basic x"}) as r:
                assert r.status == 401
    finally:
        os.kill(serve.pid, signal.SIGTERM)
        assert await wait_exit(serve) == 0
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM receipts").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("1.5", 1.5), ("500ms", 0.5), ("30s", 30.0), ("10m", 600.0), ("1h", 3600.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "-1", "10 minutes", "1d", "inf", "nan"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def _journal_of(tmp_path: Path) -> Path:
    from aiomsg.cli.journal import JobIdentity, Journal

    identity = JobIdentity(
        command="8x8 line send", params=(("sub_account", "s"),), input_name="m.jsonl",
        input_digest="cd" * 32, items=10, shard="2/3",
    )  # fmt: skip
    path = tmp_path / "j"
    journal = Journal.open(str(path), identity)
    journal.record_sent([(3, 6)])
    journal.record_done([(3, 5)], [(2, "accepted", None, None)])
    journal.close()
    return path


def test_journal_read_takes_any_job_read_only(tmp_path: Path) -> None:
    from aiomsg.cli.journal import Journal

    path = _journal_of(tmp_path)
    before = path.read_bytes()
    journal, job = Journal.read(str(path))
    assert (job.command, job.input_name, job.items, job.shard) == (
        "8x8 line send", "m.jsonl", 10, "2/3",
    )  # fmt: skip
    assert list(journal.replay()) == [(3, "accepted", None, None), (4, "accepted", None, None)]
    assert list(journal.in_flight()) == [(5, 6)]
    journal.close()
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "cannot read"),
        (b"", "not an aiomsg journal"),
        (b'{"journal":"aiomsg","ver', "not an aiomsg journal"),
        (b"not json\n", "not an aiomsg journal"),
        (b"SQLite format 3\x00\n", "not an aiomsg journal"),
    ],
)
def test_journal_read_refuses_what_is_not_a_journal(
    tmp_path: Path, content: bytes | None, match: str
) -> None:
    from aiomsg.cli.journal import Journal, JournalError

    path = tmp_path / "j"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(JournalError, match=match):
        Journal.read(str(path))
    assert path.exists() == (content is not None)


def test_journal_read_refuses_a_damaged_journal(tmp_path: Path) -> None:
    from aiomsg.cli.journal import Journal, JournalError

    path = _journal_of(tmp_path)
    with path.open("ab") as f:
        f.write(b'{"done":[[7,99]],"r":[[92,"accepted",null,null]]}\n')
    with pytest.raises(JournalError, match="damaged"):
        Journal.read(str(path))


async def test_a_shard_read_from_standard_input_is_reconciled(
    sim: Simulator, tmp_path: Path
) -> None:
    env = cli_env(sim, AIOMSG_RECEIPTS_AUTHORIZATION=AUTH)
    source = write_jsonl(tmp_path / "m.jsonl", line_messages(20))
    journal = tmp_path / "j"
    sim.inject(Fault.reset_after_body(), route=LINE_ROUTE)
    sent = await run_cli(
        "8x8", "line", "send", "sim-sub", "-", "--shard", "2/2", "--journal", str(journal),
        "--quiet", env=env, stdin=source.read_bytes(),
    )  # fmt: skip
    assert sent.code == 1
    taken = sent_message_ids(sim.requests)
    assert len(taken) == 10
    store = tmp_path / "r.db"
    serve, url = await start_serve(store, env, "--quiet")
    try:
        assert await post_receipts(url, [dr(c, "delivered") for c in taken]) == [200] * 10
    finally:
        os.kill(serve.pid, signal.SIGTERM)
        assert await wait_exit(serve) == 0
    report = tmp_path / "r.jsonl"
    args = ["8x8", "line", "reconcile", "--journal", str(journal), "--store", str(store)]
    no_input = await run_cli(*args, "--report", str(report), env=env)
    assert no_input.code == 2
    assert "--input" in no_input.err
    done = await run_cli(*args, "--report", str(report), "--input", str(source), env=env)
    assert done.code == 0, done.err
    records = read_reconciled(report)
    assert [r["index"] for r in records] == list(range(10, 20))
    assert [r["line"] for r in records] == list(range(11, 21))
    assert [r["id"] for r in records] == taken
    assert {(r["outcome"], r["state"]) for r in records} == {("accepted", "delivered")}


async def test_an_unfinished_job_exits_3_and_a_repeat_shares_its_first_fate(
    tmp_path: Path,
) -> None:
    import hashlib

    from aiomsg.cli.journal import JobIdentity, Journal
    from aiomsg.receipts import DeliveryReceipt, ReceiptRecord, SQLiteReceiptStore, decode_webhook

    messages = line_messages(3, with_ids=False)
    for i, m in enumerate(messages):
        m["clientMessageId"] = f"m-{i}"
    other = {**messages[2], "clientMessageId": "m-0"}  # another message reusing m-0
    source = write_jsonl(tmp_path / "m.jsonl", [*messages, messages[1], other])
    identity = JobIdentity(
        command="8x8 line send", params=(), input_name=str(source),
        input_digest=hashlib.sha256(source.read_bytes()).hexdigest(), items=5, shard=None,
    )  # fmt: skip
    journal = Journal.open(str(tmp_path / "j"), identity)
    journal.record_sent([(0, 2)])  # position 1's answer was lost; 2 to 4 never sent
    journal.record_done([(0, 1)], [(1, "accepted", None, None)])
    journal.close()
    store = tmp_path / "r.db"
    body = encode(dr("m-1", "read"))
    decoded = decode_webhook(body)
    assert isinstance(decoded, DeliveryReceipt)
    async with SQLiteReceiptStore(store) as s:
        await s.add([ReceiptRecord.from_receipt(decoded, body)])
    report = tmp_path / "r.jsonl"
    result = await run_cli(
        "8x8", "line", "reconcile", "--journal", str(tmp_path / "j"), "--store", str(store),
        "--report", str(report), env=cli_env(None),
    )  # fmt: skip
    assert result.code == 3, result.err
    assert "not sent yet" in result.err
    got = [(r["id"], r["outcome"], r["state"]) for r in read_reconciled(report)]
    assert got == [
        ("m-0", "accepted", None),
        ("m-1", "accepted", "read"),
        ("m-2", "not_attempted", None),
        ("m-1", "accepted", "read"),  # the same message as position 1: its fate
        ("m-0", "failed", None),  # the send fails another message reusing an id
    ]
    to_stdout = await run_cli(
        "8x8", "line", "reconcile", "--journal", str(tmp_path / "j"), "--store", str(store),
        "--report", "-", "--quiet", env=cli_env(None),
    )  # fmt: skip
    assert (to_stdout.code, to_stdout.err) == (3, "")
    assert to_stdout.out == report.read_text(encoding="utf-8")
    for bad in ("soon", "-1", "2d", "25h"):
        wrong = await run_cli(
            "8x8", "line", "reconcile", "--journal", str(tmp_path / "j"), "--store",
            str(store), "--wait", bad, env=cli_env(None),
        )  # fmt: skip
        assert wrong.code == 2
        assert "--wait" in wrong.err


async def test_sigterm_mid_traffic_loses_no_acknowledged_receipt(tmp_path: Path) -> None:
    store = tmp_path / "r.db"
    env = cli_env(None, AIOMSG_RECEIPTS_AUTHORIZATION=AUTH)
    serve, url = await start_serve(store, env, "--quiet")
    acknowledged: list[str] = []
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    try:
        timeout = aiohttp.ClientTimeout(total=20)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def post(cmid: str) -> None:
                try:
                    body = encode(dr(cmid, "delivered"))
                    async with session.post(url, data=body, headers=headers) as resp:
                        if resp.status == 200:
                            acknowledged.append(cmid)
                except aiohttp.ClientError:
                    pass  # refused or cut off by the stop: 8x8 would deliver it again

            tasks = [asyncio.create_task(post(f"m-{i}")) for i in range(300)]
            for _ in range(1000):  # until some are stored, at most 20 s
                if len(acknowledged) >= 20:
                    break
                await asyncio.sleep(0.02)
            os.kill(serve.pid, signal.SIGTERM)
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
    finally:
        code = await wait_exit(serve)
    assert code == 0
    assert len(acknowledged) >= 20
    with sqlite3.connect(store) as db:
        stored = {row[0] for row in db.execute("SELECT client_message_id FROM receipts")}
    assert set(acknowledged) <= stored
