"""Delivery receipts the simulator POSTs, playing 8x8's side of the DR webhook.

Every LINE message the simulator takes goes through a lifecycle on the simulated
clock: ``queued`` at once, ``sent`` a second later, then ``delivered`` or
``undelivered``, and ``read`` for some of the delivered. Each status change becomes a
v9 ``outbound_message_status_changed`` body POSTed to the CADR webhook registered for
the message's sub-account (its own, else the ``*`` one) with the webhook's
``httpAuthorization`` as the ``Authorization`` header. A delivery that gets no 2xx is
tried again 1, 10, 30 and 90 simulated seconds later, as 8x8 does, then given up.

Deliveries run in background tasks the simulator owns: started with it, stopped
with it (with a clock that follows the wall clock, as ``serve()`` uses, a task also
applies due changes every quarter second). Due deliveries wait in a bounded queue;
one that finds the queue full is counted in ``overflowed`` and not sent. Only
loopback URLs are delivered to: a test never reaches the network; other URLs are
counted in ``unroutable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import msgspec
from yarl import URL

from ._clock import SimClock, format_timestamp
from ._state import SimMessage, SimState

__all__ = ["DEFAULT_RECEIPT_QUEUE_SIZE", "RETRY_DELAYS", "ReceiptDeliveries"]

RETRY_DELAYS: Final = (1.0, 10.0, 30.0, 90.0)
"""8x8's retry schedule for a receipt delivery that got no 2xx: seconds after each
failure (simulated time), then the delivery is given up."""
DEFAULT_RECEIPT_QUEUE_SIZE: Final = 100_000
"""Due receipt deliveries that may wait at once (``Simulator(receipt_queue_size=)``)."""
_WORKERS: Final = 16
_TIMEOUT: Final = 10.0
_TICK: Final = 0.25
_SENT_AFTER: Final = 1.0
_FINAL_AFTER: Final = 3.0
_READ_AFTER: Final = 10.0
_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})
_ENCODER: Final = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class _Delivery:
    url: str
    authorization: str | None
    body: bytes
    attempt: int = 0


class ReceiptDeliveries:
    """The simulator's delivery receipts (``sim.receipts``): counts and ``drain()``.

    ``undelivered_share`` of the messages end ``undelivered`` (the rest
    ``delivered``) and ``read_share`` of the delivered ones are then ``read``.
    Counters: ``attempts`` (POSTs made), ``acknowledged`` (answered 2xx),
    ``retried`` (deliveries scheduled again), ``failed`` (given up after the last
    retry), ``unroutable`` (no CADR webhook, or not a loopback URL) and
    ``overflowed`` (the queue was full).
    """

    def __init__(
        self,
        state: SimState,
        clock: SimClock,
        *,
        seed: int | None,
        queue_size: int = DEFAULT_RECEIPT_QUEUE_SIZE,
        undelivered_share: float = 0.05,
        read_share: float = 0.3,
    ) -> None:
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError("receipt_queue_size must be an integer >= 1")
        for name, share in (("undelivered_share", undelivered_share), ("read_share", read_share)):
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        self._state = state
        self._clock = clock
        self._rng = random.Random(seed)
        self._queue_size = queue_size
        self.undelivered_share = undelivered_share
        self.read_share = read_share
        self._queue: asyncio.Queue[_Delivery] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self.attempts = 0
        self.acknowledged = 0
        self.retried = 0
        self.failed = 0
        self.unroutable = 0
        self.overflowed = 0

    def __repr__(self) -> str:
        return (
            f"ReceiptDeliveries(attempts={self.attempts}, acknowledged={self.acknowledged}, "
            f"retried={self.retried}, failed={self.failed}, unroutable={self.unroutable}, "
            f"overflowed={self.overflowed}, waiting={self.waiting})"
        )

    @property
    def waiting(self) -> int:
        """Deliveries due and not yet POSTed (or being POSTed)."""
        return 0 if self._queue is None else self._queue.qsize()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the delivery tasks (the simulator does, as it starts)."""
        if self._tasks:
            return
        self._queue = asyncio.Queue(self._queue_size)
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=_TIMEOUT),
            connector=aiohttp.TCPConnector(limit=_WORKERS),
        )
        self._tasks = [asyncio.create_task(self._work()) for _ in range(_WORKERS)]
        if self._clock.follow_wall_clock:
            # Nothing else may look at the clock for a while (no request comes): keep
            # due receipts and retries going on their own.
            self._tasks.append(asyncio.create_task(self._tick()))

    async def stop(self) -> None:
        """Stop the delivery tasks; deliveries still waiting are dropped (the
        simulator does this as it stops)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        self._queue = None

    async def drain(self) -> None:
        """Wait until every delivery due now was POSTed (retries due later still wait
        for the clock: ``sim.advance()``)."""
        self._clock.run_due()
        if self._queue is not None:
            await self._queue.join()

    # ------------------------------------------------------------------ lifecycle of a message

    def message_taken(self, msg: SimMessage, user: dict[str, Any], client_batch_id: Any) -> None:
        """Schedule the receipts of a LINE message the simulator just took (called by
        the simulator's LINE endpoints)."""
        now = self._clock.now()
        base = {"umid": msg.umid}
        if msg.batch_id is not None:
            base["batchId"] = msg.batch_id
        if msg.client_message_id is not None:
            base["clientMessageId"] = msg.client_message_id
        if isinstance(client_batch_id, str):
            base["clientBatchId"] = client_batch_id
        payload: dict[str, Any] = {**base, "subAccountId": msg.sub_account_id, "channel": "Line"}
        if user:
            payload["user"] = user
        if msg.error_code is not None:
            error = {"errorCode": msg.error_code, "errorMessage": msg.error_message}
            self._at(now, msg, payload, "rejected", None, error)
            return
        self._at(now, msg, payload, "queued", None)
        # A scheduled send (``schedule_line_sends``) goes out at its time, if not
        # cancelled by then.
        start = now if msg.send_at is None else max(now, msg.send_at)
        self._at(start + _SENT_AFTER, msg, payload, "sent", None)
        if self._rng.random() < self.undelivered_share:
            self._at(start + _FINAL_AFTER, msg, payload, "undelivered", "rejected_by_operator")
            return
        self._at(start + _FINAL_AFTER, msg, payload, "delivered", "delivered_to_recipient")
        if self._rng.random() < self.read_share:
            self._at(start + _READ_AFTER, msg, payload, "read", None)

    def _at(
        self,
        when: float,
        msg: SimMessage,
        payload: dict[str, Any],
        state: str,
        detail: str | None,
        error: dict[str, Any] | None = None,
    ) -> None:
        def change() -> None:
            if msg.cancelled_at is not None:
                return
            msg.delivery, msg.detail, msg.delivery_at = state, detail, when
            status: dict[str, Any] = {"state": state}
            if detail is not None:
                status["detail"] = detail
            status["timestamp"] = format_timestamp(self._clock.utcnow())
            if error is not None:
                status.update(error)
            self._post_later(msg.sub_account_id, {**payload, "status": status})

        self._schedule(when, change)

    def _schedule(self, when: float, callback: Callable[[], None]) -> None:
        if when <= self._clock.now():
            callback()
        else:
            self._clock.call_at(when, callback)

    def _post_later(self, sub_account_id: str, payload: dict[str, Any]) -> None:
        hook = self._state.webhook_for(sub_account_id, "CADR")
        url = None if hook is None else hook.get("url")
        if not isinstance(url, str) or not _is_loopback(url):
            self.unroutable += 1
            return
        auth = hook.get("httpAuthorization") if hook is not None else None
        body = _ENCODER.encode(
            {
                "version": 9,
                "namespace": "ChatApps",
                "eventType": "outbound_message_status_changed",
                "description": "ChatApps outbound message delivery receipt",
                "payload": payload,
            }
        )
        self._enqueue(_Delivery(url, auth if isinstance(auth, str) else None, body))

    def _enqueue(self, delivery: _Delivery) -> None:
        if self._queue is None:
            self.unroutable += 1  # stopped: nothing delivers any more
            return
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self.overflowed += 1

    # ------------------------------------------------------------------ the workers

    async def _work(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            delivery = await queue.get()
            try:
                ok = await self._post(delivery)
                if ok:
                    self.acknowledged += 1
                elif delivery.attempt < len(RETRY_DELAYS):
                    self.retried += 1
                    again = _Delivery(
                        delivery.url, delivery.authorization, delivery.body, delivery.attempt + 1
                    )
                    when = self._clock.now() + RETRY_DELAYS[delivery.attempt]
                    self._clock.call_at(when, functools.partial(self._enqueue, again))
                else:
                    self.failed += 1
            finally:
                queue.task_done()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(_TICK)
            self._clock.run_due()

    async def _post(self, delivery: _Delivery) -> bool:
        session = self._session
        if session is None:
            return False
        headers = {"Content-Type": "application/json"}
        if delivery.authorization is not None:
            headers["Authorization"] = delivery.authorization
        self.attempts += 1
        try:
            async with session.post(delivery.url, data=delivery.body, headers=headers) as resp:
                await resp.read()
                return 200 <= resp.status < 300
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False


def _is_loopback(url: str) -> bool:
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        return False
    return parsed.scheme in ("http", "https") and parsed.host in _LOOPBACK
