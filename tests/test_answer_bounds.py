"""Answers are bounded by what was asked, and all answers being read share one budget.

A server may answer with more than any honest answer to the request, or without
end. Each read stops at the request's cap (``answer_cap``: 64 KiB plus 16 bytes per
request byte, never over ``max_response_size``), error answers at 64 KiB, and the
bytes held by all reads in flight stay within ``max_response_size`` whatever the
concurrency (``ByteBudget``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import pytest

import aiomsg
from aiomsg._transport import (
    ANSWER_FLOOR,
    ANSWER_PER_REQUEST_BYTE,
    ERROR_BODY_LIMIT,
    ByteBudget,
    answer_cap,
)
from tests.faultserver import FaultServer, Reply

SUB = "acme-sub_01"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
NO_RETRY = aiomsg.RetryPolicy(max_attempts=1)
FAST = aiomsg.RetryPolicy(max_attempts=3, backoff_base=0.001, backoff_cap=0.005)


def uuids(n: int) -> list[str]:
    return [f"{i:08x}-0000-4000-8000-000000000000" for i in range(n)]


def stop_answer(ids: list[str]) -> bytes:
    items = ", ".join(f'{{"messageUuid": "{u}", "code": 200}}' for u in ids)
    return f'{{"errors": false, "items": [{items}]}}'.encode()


@contextlib.asynccontextmanager
async def endless_server(status: bytes = b"200 OK") -> AsyncIterator[tuple[str, list[int]]]:
    """Answers every request with a chunked body that never ends; counts requests."""
    seen: list[int] = []
    filler = b'{"messageUuid": "x", "code": 200}, ' * 2000
    chunk = b"%x\r\n" % len(filler) + filler + b"\r\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Cancelled at teardown too: the task then ends quietly, its connection closed.
        with contextlib.suppress(
            ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError
        ):
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            seen.append(length)
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            for _ in range(100_000):  # about 7 GB: "endless" for any read that stops
                if writer.is_closing() or reader.at_eof():
                    break
                writer.write(chunk)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen
    finally:
        server.close()
        with anyio.fail_after(10):
            await server.wait_closed()


# ------------------------------------------------------------------ the cap per request


def test_the_cap_follows_the_request() -> None:
    assert answer_cap(None, 1 << 30) == ANSWER_FLOOR
    body = b"x" * 390_000  # a 10,000-uuid stop
    assert answer_cap(body, 1 << 30) == ANSWER_FLOOR + ANSWER_PER_REQUEST_BYTE * len(body)
    assert answer_cap(body, 100_000) == 100_000  # never over max_response_size
    assert answer_cap(b"", 10) == 10


async def test_an_honest_10000_uuid_stop_answer_fits_its_cap() -> None:
    ids = uuids(10_000)
    answer = stop_answer(ids)
    async with FaultServer(default=Reply(200, answer, chunked=True)) as server:
        async with aiomsg.Revicom(token="dG9rZW4=", base_url=server.url, retry=NO_RETRY) as c:
            result = await c.stop_batch(ids)
    assert len(result.items) == 10_000
    assert len(answer) < 1_000_000


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_delete_answered_beyond_its_cap_fails_at_once(chunked: bool) -> None:
    big = b'{"cancelledCount": 1, "x": "' + b"x" * (ANSWER_FLOOR + 10) + b'"}'
    async with FaultServer(default=Reply(200, big, chunked=chunked)) as server:
        async with aiomsg.EightByEight(api_key="k", sms_url=server.url, retry=FAST) as c:
            with pytest.raises(aiomsg.APIResponseError) as info:
                await c.sms.cancel_message(SUB, UMID)
            assert c._transport.budget.free == c._transport.budget.total
        assert server.count == 1  # an unusable answer is not retried
    assert "what an answer to this request can need" in info.value.message
    assert info.value.status_code == 200


async def test_an_endless_answer_to_a_stop_is_a_typed_error_not_retried() -> None:
    async with endless_server() as (url, seen):
        async with aiomsg.Revicom(token="dG9rZW4=", base_url=url, retry=FAST) as c:
            with anyio.fail_after(30), pytest.raises(aiomsg.APIResponseError) as info:
                await c.stop_batch(uuids(100))
    assert len(seen) == 1
    assert "exceeds" in info.value.message


async def test_an_endless_answer_to_a_line_send_is_outcome_unknown_never_resent() -> None:
    messages = [
        {"user": {"msisdn": "+6591234567"}, "content": {"title": title}} for title in ("a", "b")
    ]
    async with endless_server() as (url, seen):
        async with aiomsg.EightByEight(api_key="k", chatapps_url=url, retry=FAST) as c:
            with anyio.fail_after(30), pytest.raises(aiomsg.OutcomeUnknownError) as info:
                await c.chatapps.send_line_notification_batch(SUB, messages)
    assert len(seen) == 1  # never re-sent
    assert len(info.value.client_message_ids) == 2
    assert isinstance(info.value.__cause__, aiomsg.APIResponseError)


async def test_an_endless_error_answer_is_read_only_as_far_as_needed() -> None:
    async with endless_server(b"503 Service Unavailable") as (url, seen):
        async with aiomsg.Revicom(token="dG9rZW4=", base_url=url, retry=FAST) as c:
            with anyio.fail_after(30), pytest.raises(aiomsg.InternalServerError) as info:
                await c.stop_batch(uuids(10))
    assert len(seen) == 3  # a 503 is retried as usual
    assert info.value.status_code == 503
    assert 0 < len(info.value.body_excerpt) <= 200


async def test_an_error_answer_is_kept_to_the_error_limit() -> None:
    body = b'{"code": 2000, "message": "' + b"y" * (2 * ERROR_BODY_LIMIT) + b'"}'
    async with FaultServer(default=Reply(500, body, chunked=True)) as server:
        async with aiomsg.EightByEight(api_key="k", sms_url=server.url, retry=NO_RETRY) as c:
            with pytest.raises(aiomsg.InternalServerError) as info:
                await c.sms.cancel_message(SUB, UMID)
    assert info.value.code is None  # the cut JSON is not read, its excerpt is kept
    assert info.value.body_excerpt.startswith('{"code": 2000')


# ---------------------------------------------------------- the budget across requests


class RecordingBudget(ByteBudget):
    def __init__(self, total: int) -> None:
        super().__init__(total)
        self.most_held = 0
        self.reservations = 0

    def _taken(self) -> None:
        self.reservations += 1
        self.most_held = max(self.most_held, self.total - self.free)

    def try_reserve(self, size: int) -> int | None:
        held = super().try_reserve(size)
        if held is not None:
            self._taken()
        return held

    async def reserve(self, size: int) -> int:
        held = self.try_reserve(size)
        if held is None:
            held = await super().reserve(size)  # its own try fails again: no count
            self._taken()
        return held


@pytest.mark.parametrize("concurrency", [1, 8, 32])
async def test_answers_in_flight_share_one_budget(concurrency: int) -> None:
    limit = 2 * 1024 * 1024
    async with endless_server() as (url, seen):
        async with aiomsg.Revicom(
            token="dG9rZW4=",
            base_url=url,
            retry=NO_RETRY,
            max_response_size=limit,
            rate_limit=aiomsg.RateLimit(rate=None, concurrency=concurrency),
        ) as c:
            budget = RecordingBudget(limit)
            c._transport.budget = budget
            with anyio.fail_after(60):
                report = await c.stop(uuids(concurrency * 2 * 1000), chunk_size=1000)
            assert budget.free == limit  # every reservation given back
    assert report.counts[aiomsg.Outcome.FAILED] == concurrency * 2 * 1000
    assert len(seen) == concurrency * 2
    assert budget.reservations == concurrency * 2
    assert 0 < budget.most_held <= limit


async def test_budget_reservations_never_exceed_the_total_and_come_in_order() -> None:
    budget = ByteBudget(100)
    order: list[int] = []

    async def take(n: int, size: int, hold: float) -> None:
        held = await budget.reserve(size)
        order.append(n)
        assert budget.total - budget.free <= budget.total
        await anyio.sleep(hold)
        budget.release(held)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take, 0, 60, 0.02)
        await anyio.lowlevel.checkpoint()
        tg.start_soon(take, 1, 60, 0.0)  # waits for 0
        await anyio.lowlevel.checkpoint()
        tg.start_soon(take, 2, 10, 0.0)  # fits now, but waits its turn behind 1
        await anyio.lowlevel.checkpoint()
        tg.start_soon(take, 3, 500, 0.0)  # larger than the budget: takes all of it
    assert order == [0, 1, 2, 3]
    assert budget.free == 100


async def test_a_cancelled_wait_leaks_nothing_and_blocks_nobody() -> None:
    budget = ByteBudget(100)
    first = await budget.reserve(80)
    head = asyncio.create_task(budget.reserve(50))  # waits at the head of the queue
    behind = asyncio.create_task(budget.reserve(20))  # fits, but waits its turn
    await asyncio.sleep(0.01)
    assert not head.done()
    assert not behind.done()
    head.cancel()
    with pytest.raises(asyncio.CancelledError):
        await head
    with anyio.fail_after(5):
        assert await behind == 20  # the head's leaving let it through
    budget.release(first)
    budget.release(20)
    assert budget.free == 100


async def test_a_wait_cancelled_just_as_it_was_granted_gives_the_bytes_back() -> None:
    budget = ByteBudget(100)
    first = await budget.reserve(80)
    waiter = asyncio.create_task(budget.reserve(50))
    await asyncio.sleep(0.01)
    budget.release(first)  # grants the waiter at once ...
    waiter.cancel()  # ... which is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert budget.free == 100
