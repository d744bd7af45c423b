"""The delivery-receipt loop through the command line alone: ``webhooks set``
registers ``receipts serve``, ``line send`` loses the answers of one request in ten,
the simulator delivers 8x8's receipts (retrying those that fell due while the
receiver was down), and ``line reconcile`` leaves nothing ``unknown``; every
clientMessageId went out exactly once."""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from pathlib import Path

import aiomsg
from aiomsg.testing import Fault, Simulator

from .support import cli_env, line_messages, run_cli, sent_message_ids, wait_exit, write_jsonl
from .test_receipts import AUTH, read_reconciled, start_serve

LINE_ROUTE = "chatapps.send_line_notification_batch"
TOTAL = 10_000


async def settle(sim: Simulator, seconds: float, step: float) -> None:
    """Move the simulated clock ``seconds`` forward by ``step``, delivering what is due."""
    for _ in range(round(seconds / step)):
        sim.advance(step)
        await sim.receipts.drain()


async def test_send_serve_and_reconcile_leave_no_unknown(tmp_path: Path) -> None:
    messages = write_jsonl(tmp_path / "messages.jsonl", line_messages(TOTAL))
    journal, store = tmp_path / "send.journal", tmp_path / "receipts.db"
    async with Simulator(rate_limit=None, seed=15) as sim:
        sim.receipts.read_share = 0.1  # fewer receipts to wait for; the loop is the same
        env = cli_env(sim, AIOMSG_RECEIPTS_AUTHORIZATION=AUTH)
        serve, url = await start_serve(store, env, "--quiet")
        try:
            registered = await run_cli(
                "8x8", "webhooks", "set", sim.account_id, "--url", url, "--type", "CADR",
                env=env,
            )  # fmt: skip
            assert registered.code == 0, registered.err
            # The fourth request is taken, then its connection dropped before the answer.
            sim.inject(Fault.reset_after_body(), route=LINE_ROUTE, after=3, times=1)
            sent = await run_cli(
                "8x8", "line", "send", "sim-sub", str(messages), "--journal", str(journal),
                "--report", str(tmp_path / "send.jsonl"), "--concurrency", "1", "--quiet",
                env=env,
            )  # fmt: skip
            assert sent.code == 1, sent.err
            send_report = [
                json.loads(x) for x in (tmp_path / "send.jsonl").read_text().splitlines()
            ]
            outcomes = Counter(r["outcome"] for r in send_report)
            assert outcomes == {"accepted": TOTAL - 1000, "unknown": 1000}

            await settle(sim, 1, 1)  # the "queued" receipts, and the "sent" ones
            # The receiver goes down while the final states fall due: 8x8 retries them
            # (1, 10, 30, 90 s later), and the receiver comes back on the same URL.
            os.kill(serve.pid, signal.SIGTERM)
            assert await wait_exit(serve) == 0
            await settle(sim, 2, 2)
            assert sim.receipts.retried >= TOTAL
            port = url.split(":")[2].split("/")[0]
            serve, again = await start_serve(store, env, "--quiet", "--port", port)
            assert again == url
            await settle(sim, 240, 5)  # finals, reads and every retry
            assert (sim.receipts.failed, sim.receipts.overflowed) == (0, 0)
            requests_before = len(sim.requests)

            out = tmp_path / "reconciled.jsonl"
            result = await run_cli(
                "8x8", "line", "reconcile", "--journal", str(journal), "--store", str(store),
                "--report", str(out), env=env,
            )  # fmt: skip
            assert result.code == 0, result.err
            assert len(sim.requests) == requests_before  # reconcile never sends
            seen = Counter(sent_message_ids(sim.requests_for(LINE_ROUTE)))
        finally:
            os.kill(serve.pid, signal.SIGTERM)
            assert await wait_exit(serve) == 0
    records = read_reconciled(out)
    assert sorted(r["index"] for r in records) == list(range(TOTAL))
    assert {r["outcome"] for r in records} == {aiomsg.Outcome.ACCEPTED.value}
    assert {r["state"] for r in records} <= {"delivered", "undelivered", "read"}
    assert len(seen) == TOTAL
    assert set(seen.values()) == {1}
