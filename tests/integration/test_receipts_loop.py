"""The delivery-receipt loop end to end over loopback HTTP: a LINE send loses some
answers, the simulator POSTs receipts to the aiomsg.receipts receiver (failing some
deliveries, restarting once), and reconcile leaves nothing ``unknown``."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

import aiomsg
from aiomsg.eightxeight.webhooks import Webhook
from aiomsg.receipts import ReceiptReceiver, SQLiteReceiptStore, reconcile
from aiomsg.testing import Fault, Simulator

from .conftest import SUB, line

AUTH = "Bearer receipts-loop-secret"
TOTAL = 10_000
BATCH = "chatapps.send_line_notification_batch"


class Receiver:
    """The aiomsg.receipts receiver on 127.0.0.1, behind a front that fails the first
    attempt of about one delivery in ten (503), and that can be restarted."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = 0
        self.failed_first = 0
        self._failed: set[int] = set()
        self._runner: web.AppRunner | None = None
        self._store: SQLiteReceiptStore | None = None
        self.receivers: list[ReceiptReceiver] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/8x8/receipts"

    async def start(self) -> None:
        store = self._store = SQLiteReceiptStore(self.db)
        await store.open()
        receiver = ReceiptReceiver(authorization=AUTH, store=store)
        self.receivers.append(receiver)
        handle = self._front(receiver.handle)
        app = web.Application()
        app.router.add_post("/8x8/receipts", handle)
        runner = self._runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._store is not None:
            await self._store.aclose()
            self._store = None

    def _front(
        self, handle: Callable[[web.Request], Awaitable[web.Response]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def front(request: web.Request) -> web.Response:
            key = zlib.crc32(await request.read())  # cached: the receiver reads it again
            if key % 10 == 0 and key not in self._failed:
                self._failed.add(key)
                self.failed_first += 1
                return web.Response(status=503)
            return await handle(request)

        return front


def sent_client_message_ids(sim: Simulator) -> Counter[str]:
    seen: Counter[str] = Counter()
    for rec in sim.requests_for(BATCH):
        body = json.loads(rec.raw_body)
        seen.update(m["clientMessageId"] for m in body["messages"])
    return seen


async def settle(sim: Simulator, seconds: float, step: float) -> None:
    """Move the simulated clock ``seconds`` forward by ``step`` and deliver what is due."""
    for _ in range(round(seconds / step)):
        sim.advance(step)
        await sim.receipts.drain()


async def test_lost_answers_are_reconciled_from_receipts(tmp_path: Path) -> None:
    receiver = Receiver(tmp_path / "receipts.db")
    await receiver.start()
    try:
        async with Simulator(seed=15) as sim, sim.eightbyeight(
            retry=aiomsg.RetryPolicy(max_attempts=1)
        ) as client:  # fmt: skip
            deliveries = sim.receipts
            deliveries.read_share = 0.1  # fewer receipts to wait for; the loop is the same
            await client.chatapps.set_webhooks(
                sim.account_id,
                [Webhook(sub_account_id="*", url=receiver.url, type="CADR",
                         http_authorization=AUTH)],
            )  # fmt: skip
            # One batch in ten is taken, then its connection dropped before the answer.
            sim.inject(Fault.reset_after_body(), route=BATCH, after=3, times=1)
            messages = [line(n) for n in range(TOTAL)]
            report = await client.chatapps.send_line_notifications(SUB, messages)
            assert report.counts[aiomsg.Outcome.UNKNOWN] == TOTAL // 10
            assert report.counts[aiomsg.Outcome.ACCEPTED] == TOTAL - TOTAL // 10

            await settle(sim, 1, 1)  # the "queued" receipts, and the "sent" ones
            await receiver.stop()  # down while the final states fall due: all refused
            await settle(sim, 2, 2)
            refused = deliveries.retried - receiver.failed_first
            await receiver.start()
            await settle(sim, 240, 5)  # finals, reads and every retry (1/10/30/90 s)

            assert (deliveries.failed, deliveries.overflowed, deliveries.unroutable) == (0, 0, 0)
            assert receiver.failed_first > 0
            assert refused >= TOTAL  # every final state, first tried while it was down
            first, second = receiver.receivers  # restarted once, both stored receipts
            assert first.stored > 0
            assert second.stored > 0
            seen = sent_client_message_ids(sim)
        async with SQLiteReceiptStore(receiver.db) as store:
            result = await reconcile(report, store, sub_account_id=SUB)
    finally:
        await receiver.stop()
    assert result.unknown == []
    assert result.counts[aiomsg.Outcome.ACCEPTED] == TOTAL
    assert result.resolved == TOTAL // 10
    assert set(result.states) <= {"delivered", "undelivered", "read"}
    assert seen == Counter({f"msg-{n}": 1 for n in range(TOTAL)})
    assert not [t for t in asyncio.all_tasks() if "ReceiptDeliveries" in repr(t.get_coro())]
