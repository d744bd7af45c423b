"""A receipt the receiver acknowledged survives the receiver being killed (kill -9)."""

from __future__ import annotations

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
    proc = await anyio.open_process(
        [sys.executable, "-m", "tests.receipts.receiver_process", str(db), synchronous],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=None,
    )
    acked: list[str] = []
    killed = anyio.Event()
    try:
        assert proc.stdout is not None
        line = b""
        with anyio.fail_after(30):
            while not line.endswith(b"\n"):
                line += await proc.stdout.receive(64)
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
        with anyio.CancelScope(shield=True), anyio.fail_after(30):
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            await proc.aclose()
    assert killed.is_set()
    assert proc.returncode == -signal.SIGKILL
    assert KILL_AFTER <= len(acked) < TOTAL
    async with SQLiteReceiptStore(db) as store:
        found = await store.latest_by_client_message_id(acked)
        assert sorted(found) == sorted(acked)  # nothing acknowledged was lost
        assert await store.count() >= len(acked)
