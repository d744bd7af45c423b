"""The simulator's delivery receipts: the lifecycle of each LINE message it takes,
POSTed to the registered CADR webhook with its Authorization, 8x8's retry schedule
on the simulated clock, the bounds, and tasks that end with the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from aiomsg.eightxeight.webhooks import Webhook
from aiomsg.receipts import DeliveryReceipt, decode_webhook
from aiomsg.testing import SimClock, Simulator

AUTH = "Basic cmVjZWlwdHM6dGVzdA=="
LINE = {"user": {"msisdn": "+6591234567"}, "content": {"title": "Hi"}}


@dataclass
class Collector:
    """A webhook endpoint on 127.0.0.1 that keeps what it gets and answers ``status``."""

    sim: Simulator
    status: int = 200
    got: list[tuple[float, str | None, DeliveryReceipt]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dr"

    async def handle(self, request: web.Request) -> web.Response:
        receipt = decode_webhook(await request.read())
        assert isinstance(receipt, DeliveryReceipt)
        self.got.append((self.sim.clock.now(), request.headers.get("Authorization"), receipt))
        return web.Response(status=self.status)


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Simulator, Collector]]:
    async with Simulator(seed=5) as sim:
        collector = Collector(sim)
        app = web.Application()
        app.router.add_post("/dr", collector.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        collector.port = int(runner.addresses[0][1])
        try:
            yield sim, collector
        finally:
            await runner.cleanup()


async def register(sim: Simulator, url: str, sub: str = "*") -> None:
    async with sim.eightbyeight() as client:
        hook = Webhook(sub_account_id=sub, url=url, type="CADR", http_authorization=AUTH)
        await client.chatapps.set_webhooks(sim.account_id, [hook])


async def run_for(sim: Simulator, seconds: int) -> None:
    for _ in range(seconds):
        sim.advance(1)
        await sim.receipts.drain()


async def test_each_message_goes_through_its_lifecycle(
    setup: tuple[Simulator, Collector],
) -> None:
    sim, collector = setup
    sim.receipts.read_share = 1.0
    sim.receipts.undelivered_share = 0.0
    await register(sim, collector.url)
    sub = sim.sub_accounts[0]
    async with sim.eightbyeight() as client:
        message = {**LINE, "clientMessageId": "cm-1"}
        batch = await client.chatapps.send_line_notification_batch(
            sub, [message], client_batch_id="cb-1"
        )
        await run_for(sim, 12)
        umid = collector.got[0][2].payload.umid
        details = await client.chatapps.get_message(sub, umid)
    epoch = sim.clock.epoch  # receipt timestamps carry hundredths of a second
    statuses = [r.payload.status for _, _, r in collector.got]
    states = [
        (round((st.observed_at - epoch).total_seconds()), st.state, st.detail)
        for st in statuses
        if st.observed_at is not None
    ]
    assert states == [
        (0, "queued", None), (1, "sent", None),
        (3, "delivered", "delivered_to_recipient"), (10, "read", None),
    ]  # fmt: skip
    assert {auth for _, auth, _ in collector.got} == {AUTH}
    first = collector.got[0][2]
    assert (first.version, first.payload.client_message_id, first.payload.batch_id) == (
        9, "cm-1", batch.batch_id,
    )  # fmt: skip
    assert (first.payload.client_batch_id, first.payload.sub_account_id) == ("cb-1", sub)
    assert first.payload.channel == "Line"
    assert details.latest is not None
    assert details.latest.status.state == "read"


async def test_undelivered_and_rejected_messages_get_their_receipts(
    setup: tuple[Simulator, Collector],
) -> None:
    sim, collector = setup
    sim.receipts.undelivered_share = 1.0
    sim.rejected_recipients["+6590000000"] = (3002, "Missed MSISDN")
    await register(sim, collector.url)
    async with sim.eightbyeight() as client:
        refused = {**LINE, "user": {"msisdn": "+6590000000"}, "clientMessageId": "no"}
        await client.chatapps.send_line_notification_batch(
            sim.sub_accounts[0], [{**LINE, "clientMessageId": "un"}, refused]
        )
    await run_for(sim, 4)
    by_id: dict[str | None, list[str]] = {}
    for _, _, r in collector.got:
        by_id.setdefault(r.payload.client_message_id, []).append(r.payload.status.state)
    assert by_id == {"un": ["queued", "sent", "undelivered"], "no": ["rejected"]}
    rejected = next(r for _, _, r in collector.got if r.payload.status.state == "rejected")
    assert rejected.payload.status.error_code == 3002


async def test_a_failed_delivery_follows_8x8s_retry_schedule(
    setup: tuple[Simulator, Collector],
) -> None:
    sim, collector = setup
    collector.status = 503
    sim.receipts.read_share = 0.0
    await register(sim, collector.url)
    async with sim.eightbyeight() as client:
        await client.chatapps.send_line_notification(sim.sub_accounts[0], LINE)
        await sim.receipts.drain()  # the first try of "queued", at 0
    await run_for(sim, 200)
    queued = [t for t, _, r in collector.got if r.payload.status.state == "queued"]
    assert queued == [0, 1, 11, 41, 131]  # the first try, then 1, 10, 30 and 90 s later
    assert sim.receipts.failed == 3  # queued, sent and the final state, each given up
    assert sim.receipts.acknowledged == 0


async def test_only_loopback_webhooks_are_delivered_to() -> None:
    async with Simulator(seed=1) as sim:
        await register(sim, "https://receipts.example.com/dr")
        async with sim.eightbyeight() as client:
            await client.chatapps.send_line_notification(sim.sub_accounts[0], LINE)
        await run_for(sim, 4)
        assert sim.receipts.attempts == 0
        assert sim.receipts.unroutable == 3


async def test_a_sub_account_webhook_comes_before_the_star_one(
    setup: tuple[Simulator, Collector],
) -> None:
    sim, collector = setup
    await register(sim, "http://127.0.0.1:9/elsewhere", sub="*")
    await register(sim, collector.url, sub=sim.sub_accounts[0])
    async with sim.eightbyeight() as client:
        await client.chatapps.send_line_notification(sim.sub_accounts[0], LINE)
    await run_for(sim, 1)
    assert [r.payload.status.state for _, _, r in collector.got] == ["queued", "sent"]


async def test_the_queue_is_bounded(setup: tuple[Simulator, Collector]) -> None:
    _, collector = setup
    async with Simulator(seed=2, receipt_queue_size=2) as bounded:
        await register(bounded, collector.url)
        async with bounded.eightbyeight() as client:
            await client.chatapps.send_line_notification_batch(
                bounded.sub_accounts[0], [{**LINE, "clientMessageId": f"m{i}"} for i in range(10)]
            )
        # Ten "queued" receipts fell due at once, while the batch was taken: two wait.
        assert bounded.receipts.overflowed == 8
        await bounded.receipts.drain()
        assert bounded.receipts.acknowledged == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="receipt_queue_size"):
            Simulator(receipt_queue_size=bad)  # type: ignore[arg-type]


async def test_no_delivery_task_outlives_the_simulator(
    setup: tuple[Simulator, Collector],
) -> None:
    sim, collector = setup
    collector.status = 500
    await register(sim, collector.url)
    async with sim.eightbyeight() as client:
        await client.chatapps.send_line_notification(sim.sub_accounts[0], LINE)
    await sim.stop()

    def workers() -> list[asyncio.Task[object]]:
        return [t for t in asyncio.all_tasks() if "ReceiptDeliveries" in repr(t.get_coro())]

    assert workers() == []
    assert sim.receipts.waiting == 0


async def test_a_wall_clock_simulator_delivers_on_its_own() -> None:
    """As ``serve()`` runs it: no request and no ``advance()`` needed for receipts."""
    sim = Simulator(seed=6, clock=SimClock(follow_wall_clock=True))
    async with sim:
        collector = Collector(sim)
        app = web.Application()
        app.router.add_post("/dr", collector.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        collector.port = int(runner.addresses[0][1])
        try:
            await register(sim, collector.url)
            async with sim.eightbyeight() as client:
                await client.chatapps.send_line_notification(sim.sub_accounts[0], LINE)
            for _ in range(100):  # at most 10 s
                if len(collector.got) >= 2:
                    break
                await asyncio.sleep(0.1)
        finally:
            await runner.cleanup()
    assert [r.payload.status.state for _, _, r in collector.got][:2] == ["queued", "sent"]


async def test_a_scheduled_send_reports_sent_at_its_time_and_a_cancelled_one_never(
    setup: tuple[Simulator, Collector],
) -> None:
    sim, collector = setup
    sim.schedule_line_sends = True
    sim.schedule_delay = 60.0
    await register(sim, collector.url)
    sub = sim.sub_accounts[0]
    async with sim.eightbyeight() as client:
        kept = await client.chatapps.send_line_notification(sub, {**LINE, "clientMessageId": "k"})
        gone = await client.chatapps.send_line_notification(sub, {**LINE, "clientMessageId": "c"})
        await client.chatapps.cancel_message(sub, gone.umid)
    await run_for(sim, 30)
    assert sorted(r.payload.status.state for _, _, r in collector.got) == ["queued", "queued"]
    await run_for(sim, 40)
    states = [(r.payload.client_message_id, r.payload.status.state) for _, _, r in collector.got]
    assert ("k", "sent") in states
    assert [s for cmid, s in states if cmid == "c"] == ["queued"]
    assert kept.umid != gone.umid
