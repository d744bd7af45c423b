"""Cancelling a call stops it at once, sends nothing new and leaves nothing behind.

After each cancellation: the pool has no connection checked out, the server saw no
further request, no task of the client's is left running, and (with warnings as
errors and a forced garbage collection) nothing unclosed is reported.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

import aiomsg
from aiomsg import RateLimit, RetryPolicy
from tests.faultserver import FaultServer, Reply, Stall

SUB = "acme-sub_01"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
LINE = {"user": {"msisdn": "+6591234567"}, "content": {"title": "Hello"}}
CANCEL_OK = Reply(200, b'{"cancelledCount": 1}')


@asynccontextmanager
async def eight(server: FaultServer, **options: Any) -> AsyncIterator[aiomsg.EightByEight]:
    options.setdefault("retry", RetryPolicy(backoff_base=0.001, backoff_cap=0.005))
    async with aiomsg.EightByEight(
        api_key="k", chatapps_url=server.url, sms_url=server.url, **options
    ) as client:
        yield client


def acquired(client: aiomsg.EightByEight) -> int:
    session = client._transport._session
    assert session is not None
    assert session.connector is not None
    return len(session.connector._acquired)


def client_tasks(server: FaultServer) -> set[asyncio.Task[Any]]:
    """Running tasks that belong to neither the test nor the fake server."""
    return asyncio.all_tasks() - {asyncio.current_task()} - set(server.tasks)  # type: ignore[arg-type]


async def assert_quiet_after_cancel(server: FaultServer, client: aiomsg.EightByEight) -> None:
    """Nothing is checked out, nothing new arrives, no stray task runs."""
    sent = server.count
    assert acquired(client) == 0
    await anyio.sleep(0.1)
    assert server.count == sent
    assert client_tasks(server) == set()


Call = Callable[[aiomsg.EightByEight], Awaitable[object]]


async def cancel_sms(client: aiomsg.EightByEight) -> object:
    return await client.sms.cancel_message(SUB, UMID)


async def send_line(client: aiomsg.EightByEight) -> object:
    return await client.chatapps.send_line_notification_batch(SUB, [LINE])


MID_REQUEST = {
    "waiting-for-headers": Stall(10),
    "reading-the-body": Reply(200, b'{"cancelledCount": 1}' + b" " * 1000, stall_after=10),
}


@pytest.mark.parametrize("call", [cancel_sms, send_line], ids=["delete", "line-send"])
@pytest.mark.parametrize("fault", MID_REQUEST.values(), ids=MID_REQUEST.keys())
async def test_task_cancel_mid_request(call: Call, fault: Stall | Reply) -> None:
    async with FaultServer(default=fault) as server:
        async with eight(server) as client:
            task = asyncio.ensure_future(call(client))
            await server.wait_for(lambda: server.count == 1)
            await asyncio.sleep(0.02)  # let the client get into its read
            started = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - started < 1
            await server.wait_for(lambda: server.client_disconnects == 1)  # connection closed
            await assert_quiet_after_cancel(server, client)
            assert client.stats.requests == 1
        assert server.count == 1
    gc.collect()


async def test_anyio_cancel_scope_mid_request() -> None:
    async with FaultServer(default=Stall(10)) as server:
        async with eight(server) as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_sms, client)
                await server.wait_for(lambda: server.count == 1)
                tg.cancel_scope.cancel()
            await server.wait_for(lambda: server.client_disconnects == 1)
            await assert_quiet_after_cancel(server, client)
    gc.collect()


async def test_move_on_after_mid_request() -> None:
    async with FaultServer(default=Stall(10)) as server:
        async with eight(server) as client:
            with anyio.move_on_after(0.2) as scope:
                await cancel_sms(client)
            assert scope.cancelled_caught
            await assert_quiet_after_cancel(server, client)
        assert server.count == 1
    gc.collect()


async def test_cancel_mid_backoff() -> None:
    retrying = asyncio.Event()

    def on_request(event: aiomsg.RequestEvent) -> None:
        if event.will_retry:
            retrying.set()

    async with FaultServer(default=Reply(503, b"", headers={"Retry-After": "30"})) as server:
        async with eight(server, on_request=on_request) as client:
            task = asyncio.ensure_future(cancel_sms(client))
            with anyio.fail_after(5):
                await retrying.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await assert_quiet_after_cancel(server, client)
            assert client.stats.requests == 1
        assert server.count == 1
    gc.collect()


async def test_cancel_while_waiting_out_a_shared_429_pause() -> None:
    async with FaultServer(default=CANCEL_OK) as server:
        server.script(Reply(429, b"", headers={"Retry-After": "30"}))
        limit = RateLimit(rate=None, concurrency=4)
        async with eight(server, rate_limit=limit, retry=RetryPolicy(max_attempts=1)) as client:
            with pytest.raises(aiomsg.RateLimitError):
                await cancel_sms(client)
            with anyio.move_on_after(0.2) as scope:
                await cancel_sms(client)  # waits in the limiter for the pause to end
            assert scope.cancelled_caught
            limiter = client._limiters.get(("sms", SUB), limit)
            assert limiter.in_flight == 0  # the cancelled waiter gave its slot back
            await assert_quiet_after_cancel(server, client)
        assert server.count == 1
    gc.collect()


async def test_cancel_while_waiting_for_a_pool_slot() -> None:
    async with FaultServer(default=Stall(10)) as server:
        async with eight(server, connector_limit=1) as client:
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(cancel_sms, client)
                await server.wait_for(lambda: server.count == 1)
                await asyncio.sleep(0.05)
                assert server.count == 1  # the others queue in the client, not in aiohttp
                tg.cancel_scope.cancel()
            await assert_quiet_after_cancel(server, client)
            assert client._transport._pool_slots.borrowed_tokens == 0
        assert server.count == 1
    gc.collect()


async def test_client_is_usable_after_a_cancelled_call() -> None:
    async with FaultServer(default=CANCEL_OK) as server:
        server.script(Stall(10))
        async with eight(server) as client:
            with anyio.move_on_after(0.2):
                await cancel_sms(client)
            result = await cancel_sms(client)
            assert result == aiomsg.CancelResult(cancelled_count=1)
            assert acquired(client) == 0
        assert server.count == 2
    gc.collect()
