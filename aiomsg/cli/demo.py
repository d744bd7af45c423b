"""``aiomsg demo``: the whole flow against the built-in simulator, no credentials needed.

It uses the public API only, as a user's program would: a simulator started in
process, an ``EightByEight`` and a ``Revicom`` client bound to it, and an
``aiomsg.receipts`` receiver on 127.0.0.1 with a SQLite store in a temporary
directory, removed at the end.
"""

from __future__ import annotations

import secrets
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Final

from aiohttp import web

import aiomsg
from aiomsg.eightxeight.webhooks import Webhook, WebhookType
from aiomsg.receipts import RECEIVER_KEY, SQLiteReceiptStore, create_receipt_app, reconcile
from aiomsg.testing import DEFAULT_SUB_ACCOUNT, Fault, Simulator

__all__ = ["run_demo"]

LINE_MESSAGES: Final = 2_500
CANCEL_BY_UMID: Final = 100
REVICOM_QUEUED: Final = 24_000
REVICOM_SENDING: Final = 500
REVICOM_SENT: Final = 400
REVICOM_UNKNOWN: Final = 100
CHANNEL: Final = "demo-whatsapp-channel"
RECEIPTS_SUB: Final = "demo-receipts"
RECEIPTS_MESSAGES: Final = 500
RECEIPTS_CHUNK: Final = 100
LOST_ANSWERS: Final = 2
LINE_BATCH_ROUTE: Final = "chatapps.send_line_notification_batch"
RECEIPTS_PATH: Final = "/8x8/receipts"
SETTLE_SECONDS: Final = 15.0


def _reminder(i: int) -> dict[str, object]:
    """A LINE Notification message in the API's own camelCase shape (as in a JSONL file)."""
    return {
        "clientMessageId": f"demo-reminder-{i:05d}",
        "user": {"msisdn": f"+659{i:07d}"},
        "content": {
            "title": "Event reminder",
            "company": "8x8",
            "icon": "calendar",
            "greeting": "Hello!",
            "explanation": "Your event starts tomorrow at 10:00.",
            "actions": [{"title": "Details", "url": "https://example.com/events/42"}],
        },
    }


def _counts(report: aiomsg.BulkReport) -> str:
    ranked = sorted((n, o.value) for o, n in report.counts.items() if n)
    return ", ".join(f"{outcome} {n:,}" for n, outcome in reversed(ranked))


def _step(number: int, title: str) -> None:
    print(f"\n{number}. {title}")


def _result(text: str) -> None:
    print(f"   {text}")


async def run_demo() -> int:
    """Run every step, printing what happened; 0 when every step did what it should."""
    started = time.monotonic()
    ok = True
    async with Simulator(
        schedule_line_sends=True, seed=6, sub_accounts=(DEFAULT_SUB_ACCOUNT, RECEIPTS_SUB)
    ) as sim:
        print(f"aiomsg demo: the whole flow against the built-in simulator at {sim.url}")
        sub = sim.sub_accounts[0]
        async with sim.eightbyeight() as client:
            ok &= await _line_and_cancels(client, sub)
            ok &= await _flows(sim, client)
        ok &= await _revicom(sim)
        ok &= await _receipts(sim)
    print(f"\nDone in {time.monotonic() - started:.1f} s: every call above went over HTTP to "
          "the simulator, with no credentials needed.")  # fmt: skip
    return 0 if ok else 1


async def _line_and_cancels(client: aiomsg.EightByEight, sub: str) -> bool:
    _step(1, f"Schedule {LINE_MESSAGES:,} LINE notifications (bulk send, 1,000 per request)")
    messages = [_reminder(i) for i in range(LINE_MESSAGES)]
    sent = await client.chatapps.send_line_notifications(
        sub, messages, client_batch_id="demo-event-reminders"
    )
    batch_ids = [b.batch_id for b in sorted(sent.batches, key=lambda b: b.start)]
    _result(f"{_counts(sent)} in {sent.requests} requests")
    _result(f"batchIds: {', '.join(batch_ids)}")
    umids = [o.provider_id for o in sent if o.provider_id is not None]

    _step(2, f"Cancel {CANCEL_BY_UMID} of them by umid, then the first 5 again, plus an "
             "unknown umid")  # fmt: skip
    cancelled = await client.chatapps.cancel_messages(sub, umids[:CANCEL_BY_UMID])
    _result(f"first pass: {_counts(cancelled)}")
    again = await client.chatapps.cancel_messages(sub, [*umids[:5], str(uuid.uuid4())])
    _result(f"second pass: {_counts(again)} (already cancelled: nothing left to cancel)")

    _step(3, "Cancel one whole batch")
    batch = batch_ids[1]
    result = await client.chatapps.cancel_batch(sub, batch)
    _result(f"batch {batch}: {result.cancelled_count:,} messages cancelled")
    return (
        sent.succeeded
        and cancelled.counts[aiomsg.Outcome.CANCELLED] == CANCEL_BY_UMID
        and again.counts[aiomsg.Outcome.NOT_FOUND] == 1
        and result.cancelled_count > 0
    )


async def _flows(sim: Simulator, client: aiomsg.EightByEight) -> bool:
    _step(4, "WhatsApp Flows: delete a DRAFT flow, then try to delete a PUBLISHED one")
    draft = sim.add_flow(CHANNEL, status="DRAFT")
    published = sim.add_flow(CHANNEL, status="PUBLISHED")
    await client.chatapps.delete_whatsapp_flow(sim.account_id, CHANNEL, draft)
    _result(f"DRAFT flow {draft}: deleted")
    try:
        await client.chatapps.delete_whatsapp_flow(sim.account_id, CHANNEL, published)
    except aiomsg.ConflictError as exc:
        _result(f"PUBLISHED flow {published}: refused with {type(exc).__name__} "
                f"(HTTP {exc.status_code}): {exc.message}")  # fmt: skip
        return True
    _result(f"PUBLISHED flow {published}: deleted, which 8x8 would have refused")
    return False


async def _revicom(sim: Simulator) -> bool:
    uuids = [
        *sim.add_revicom_messages(REVICOM_QUEUED),
        *sim.add_revicom_messages(REVICOM_SENDING, state="sending"),
        *sim.add_revicom_messages(REVICOM_SENT, state="sent"),
        *(str(uuid.uuid4()) for _ in range(REVICOM_UNKNOWN)),
    ]
    _step(5, f"Stop {len(uuids):,} Revicom messages in bulk (10,000 uuids per request)")
    started = time.monotonic()
    async with sim.revicom() as revicom:
        report = await revicom.stop(uuids)
    elapsed = time.monotonic() - started
    _result(f"{_counts(report)} in {report.requests} requests ({elapsed:.2f} s)")
    sim.advance(sim.stop_delay)  # Revicom applies a stop after a few seconds
    states = Counter(message.state for message in sim.revicom_messages)
    _result("message states once the stops landed: "
            + ", ".join(f"{s} {n:,}" for s, n in sorted(states.items())))  # fmt: skip
    return len(report) == len(uuids)


async def _receipts(sim: Simulator) -> bool:
    _step(6, f"Delivery receipts: send {RECEIPTS_MESSAGES:,} LINE notifications while "
             f"{LOST_ANSWERS} batches lose their answer, then reconcile")  # fmt: skip
    authorization = f"Bearer {secrets.token_urlsafe(24)}"
    with tempfile.TemporaryDirectory(prefix="aiomsg-demo-") as tmp:
        async with SQLiteReceiptStore(Path(tmp) / "receipts.db") as store:
            app = create_receipt_app(authorization=authorization, store=store, path=RECEIPTS_PATH)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            try:
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                port = int(runner.addresses[0][1])
                url = f"http://127.0.0.1:{port}{RECEIPTS_PATH}"
                _result(f"receipt receiver at {url} (SQLite store in a temporary directory)")
                report = await _send_losing_answers(sim, url, authorization)
                # The simulator's clock moves on: queued, sent, then delivered or
                # undelivered, read for some; each one POSTed to the receiver.
                started = time.monotonic()
                for _ in range(3):
                    sim.advance(SETTLE_SECONDS / 3)
                    await sim.receipts.drain()
                stored = app[RECEIVER_KEY].stored
            finally:
                await runner.cleanup()
            _result(f"receipts stored: {stored:,} in {time.monotonic() - started:.1f} s "
                    f"(simulator clock moved {SETTLE_SECONDS:.0f} s; "
                    f"{sim.receipts.failed} deliveries given up)")  # fmt: skip
            result = await reconcile(report, store, sub_account_id=RECEIPTS_SUB)
    unknown_before = report.counts[aiomsg.Outcome.UNKNOWN]
    _result(f"unknown after reconcile: {len(result.unknown)} ({result.resolved:,} resolved "
            "from the receipts): "
            + ", ".join(f"{o.value} {n:,}" for o, n in result.counts.items() if n))  # fmt: skip
    _result("delivery states: "
            + ", ".join(f"{s} {n:,}" for s, n in sorted(result.states.items())))  # fmt: skip
    return (
        unknown_before == LOST_ANSWERS * RECEIPTS_CHUNK
        and not result.unknown
        and result.resolved == unknown_before
        and result.counts[aiomsg.Outcome.ACCEPTED] == RECEIPTS_MESSAGES
    )


async def _send_losing_answers(sim: Simulator, url: str, authorization: str) -> aiomsg.BulkReport:
    sim.schedule_line_sends = False  # these go out at once (steps 1-3 needed them scheduled)
    async with sim.eightbyeight() as client:
        await client.chatapps.set_webhooks(
            sim.account_id,
            [Webhook(sub_account_id=RECEIPTS_SUB, url=url, type=WebhookType.CADR,
                     http_authorization=authorization)],
        )  # fmt: skip
        _result(f"registered as the CADR webhook of sub-account {RECEIPTS_SUB}")
        # The simulator takes these batches, then drops the connection before answering.
        rule = sim.inject(
            Fault.reset_after_body(), route=LINE_BATCH_ROUTE, after=1, times=LOST_ANSWERS
        )
        messages = [_reminder(i) for i in range(RECEIPTS_MESSAGES)]
        report = await client.chatapps.send_line_notifications(
            RECEIPTS_SUB, messages, chunk_size=RECEIPTS_CHUNK
        )
        rule.cancel()
    _result(f"sent: {_counts(report)} in {report.requests} requests")
    _result(f"unknown after the send: {report.counts[aiomsg.Outcome.UNKNOWN]:,} "
            "(taken, but the answers were lost: never sent twice)")  # fmt: skip
    return report
