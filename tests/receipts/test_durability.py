"""A receipt the receiver acknowledged survives the receiver being killed (kill -9)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import anyio
import pytest

from aiomsg.receipts import SQLiteReceiptStore
from tests.receipts.support import AUTH, encode, receipt

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 600
KILL_AFTER = 200  # acknowledgements seen before the receiver is killed
WORKERS = 16


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("synchronous", ["full", "normal"])
async def test_every_acknowledged_receipt_survives_kill_9(tmp_path: Path, synchronous: str) -> None:
    db = tmp_path / "receipts.db"
    env = {**os.environ, "RECEIPTS_TEST_AUTH": AUTH}
    # subprocess.Popen (in a worker thread) rather than asyncio's subprocesses: the
    # test needs the child's own exit status, which asyncio's child watcher reports
    # as 255 when it loses a race with the kill.
    proc = await anyio.to_thread.run_sync(
        functools.partial(
            subprocess.Popen,
            [sys.executable, "-m", "tests.receipts.receiver_process", str(db), synchronous],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
        )
    )
    acked: list[str] = []
    killed = anyio.Event()
    try:
        assert proc.stdout is not None
        with anyio.fail_after(30):
            line = await anyio.to_thread.run_sync(proc.stdout.readline, abandon_on_cancel=True)
        url = f"http://127.0.0.1:{int(line)}/"
        queue = iter(range(TOTAL))

        async def worker(session: aiohttp.ClientSession) -> None:
            for i in queue:
                body = encode(receipt(umid=f"u-{i}", client_message_id=f"m-{i}"))
                try:
                    async with session.post(url, data=body, headers={"Authorization": AUTH}) as r:
                        if r.status == 200:
                            acked.append(f"m-{i}")
                except aiohttp.ClientError:
                    return  # the receiver is gone
                if len(acked) >= KILL_AFTER and not killed.is_set():
                    proc.send_signal(signal.SIGKILL)  # receipts are still in flight
                    killed.set()

        with anyio.fail_after(60):
            async with aiohttp.ClientSession() as session, anyio.create_task_group() as tg:
                for _ in range(WORKERS):
                    tg.start_soon(worker, session)
    finally:
        if proc.poll() is None:
            proc.kill()
        await anyio.to_thread.run_sync(functools.partial(proc.wait, timeout=30))
        if proc.stdout is not None:
            proc.stdout.close()
    assert killed.is_set()
    assert proc.returncode == -signal.SIGKILL
    assert KILL_AFTER <= len(acked) < TOTAL
    async with SQLiteReceiptStore(db) as store:
        found = await store.latest_by_client_message_id(acked)
        assert sorted(found) == sorted(acked)  # nothing acknowledged was lost
        assert await store.count() >= len(acked)
