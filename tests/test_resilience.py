"""The real clients against a misbehaving server on a loopback port.

What the server counts is what went over the wire: these tests pin down how many
requests each fault costs, and that a LINE send is never sent twice.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import anyio
import pytest

import aiomsg
from aiomsg import RateLimit, RetryPolicy, Timeout
from tests.faultserver import (
    Action,
    Drop,
    FaultServer,
    Reply,
    Reset,
    SeenRequest,
    Stall,
    unused_port,
)

SECRET = "sk-test-secret"
SUB = "acme-sub_01"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
BATCH = "cf3cbbf5-3e2d-ea11-815d-020897df5459"
ACCOUNT = "0d0e6a8e5b4f4c3d9a1b2c3d4e5f6a7b"
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.005)
FAST_LIMIT = RateLimit(rate=1000.0, burst=100)
LINE = {"user": {"msisdn": "+6591234567"}, "content": {"title": "Hello"}}

CANCEL_OK = Reply(200, b'{"cancelledCount": 1}')
FLOW_OK = Reply(204, b"")
STOP_OK = Reply(
    200, b'{"errors": false, "items": [{"messageUuid": "%s", "code": 200}]}' % UMID.encode()
)
# send_batch sends two identical messages: they go out as one.
LINE_BATCH_OK = Reply(200, b'{"batchId": "b-1", "acceptedCount": 1, "rejectedCount": 0}')
LINE_ONE_OK = Reply(200, b'{"umid": "u-1", "status": {"state": "queued"}}')


@asynccontextmanager
async def eight(server: FaultServer, **options: Any) -> AsyncIterator[aiomsg.EightByEight]:
    options.setdefault("retry", FAST)
    options.setdefault("flows_rate_limit", FAST_LIMIT)
    async with aiomsg.EightByEight(
        api_key=SECRET, chatapps_url=server.url, sms_url=server.url, **options
    ) as client:
        yield client


@asynccontextmanager
async def revicom(server: FaultServer, **options: Any) -> AsyncIterator[aiomsg.Revicom]:
    options.setdefault("retry", FAST)
    async with aiomsg.Revicom(token=SECRET, base_url=server.url, **options) as client:
        yield client


Endpoint = Callable[[FaultServer], Awaitable[object]]


async def sms_cancel_message(server: FaultServer) -> object:
    async with eight(server) as client:
        return await client.sms.cancel_message(SUB, UMID)


async def sms_cancel_batch(server: FaultServer) -> object:
    async with eight(server) as client:
        return await client.sms.cancel_batch(SUB, BATCH)


async def chatapps_cancel_message(server: FaultServer) -> object:
    async with eight(server) as client:
        return await client.chatapps.cancel_message(SUB, UMID)


async def chatapps_cancel_batch(server: FaultServer) -> object:
    async with eight(server) as client:
        return await client.chatapps.cancel_batch(SUB, BATCH)


async def delete_flow(server: FaultServer) -> object:
    async with eight(server) as client:
        return await client.chatapps.delete_whatsapp_flow(ACCOUNT, "channel-1", "flow-1")


async def revicom_stop(server: FaultServer) -> object:
    async with revicom(server) as client:
        return await client.stop_batch([UMID])


IDEMPOTENT: list[tuple[Endpoint, Reply]] = [
    (sms_cancel_message, CANCEL_OK),
    (sms_cancel_batch, CANCEL_OK),
    (chatapps_cancel_message, CANCEL_OK),
    (chatapps_cancel_batch, CANCEL_OK),
    (delete_flow, FLOW_OK),
    (revicom_stop, STOP_OK),
]
IDEMPOTENT_IDS = [endpoint.__name__ for endpoint, _ in IDEMPOTENT]

TRANSIENT: dict[str, Action] = {
    "429": Reply(429, b'{"code": 429, "message": "Too many requests"}'),
    "429-retry-after": Reply(429, b"", headers={"Retry-After": "0.05"}),
    "502": Reply(502, b"<html>Bad Gateway</html>", headers={"Content-Type": "text/html"}),
    "503": Reply(503, b""),
    "504": Reply(504, b"{}"),
    "drop-before-body": Drop(after_body=False),
    "drop-after-body": Drop(),
    "reset": Reset(),
    "truncated": Reply(200, b'{"cancelledCount": 1, "padding": "xxxxxxxx"}', truncate_to=5),
    "truncated-chunked": Reply(200, b"x" * 100, chunked=True, chunk_size=10, truncate_to=30),
}


# ---------------------------------------------------------------- idempotent calls


@pytest.mark.parametrize("fault", TRANSIENT.values(), ids=TRANSIENT.keys())
@pytest.mark.parametrize(("endpoint", "ok"), IDEMPOTENT, ids=IDEMPOTENT_IDS)
async def test_idempotent_call_retries_transient_faults(
    endpoint: Endpoint, ok: Reply, fault: Action
) -> None:
    async with FaultServer(default=ok) as server:
        server.script(fault)
        await endpoint(server)
        assert server.count == 2
        assert server.requests[0].method == server.requests[1].method
        assert server.requests[0].path == server.requests[1].path
        if not isinstance(fault, Drop) or fault.after_body:
            assert server.requests[0].body == server.requests[1].body


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422, 426, 500])
@pytest.mark.parametrize(("endpoint", "ok"), IDEMPOTENT, ids=IDEMPOTENT_IDS)
async def test_idempotent_call_never_retries_final_answers(
    endpoint: Endpoint, ok: Reply, status: int
) -> None:
    async with FaultServer(default=ok) as server:
        server.script(Reply(status, b'{"code": 1000, "message": "no"}'))
        with pytest.raises(aiomsg.APIStatusError) as info:
            await endpoint(server)
        assert server.count == 1
    assert info.value.status_code == status


async def test_idempotent_call_gives_up_after_the_configured_attempts() -> None:
    async with FaultServer(default=Reset()) as server:
        async with eight(server, retry=RetryPolicy(max_attempts=4, backoff_base=0.001)) as c:
            with pytest.raises(aiomsg.APIConnectionError):
                await c.sms.cancel_message(SUB, UMID)
            assert c.stats.requests == 4
            assert c.stats.retries == 3
        assert server.count == 4


async def test_read_timeout_is_retried_for_an_idempotent_call() -> None:
    async with FaultServer(default=CANCEL_OK) as server:
        server.script(Stall(10))
        async with eight(server, timeout=Timeout(read=0.2)) as client:
            result = await client.sms.cancel_message(SUB, UMID)
        assert server.count == 2
    assert result == aiomsg.CancelResult(cancelled_count=1)


async def test_total_timeout_as_a_float_bounds_each_attempt() -> None:
    async with FaultServer(default=Stall(10)) as server:
        async with eight(server, timeout=0.2) as client:
            started = time.monotonic()
            with pytest.raises(aiomsg.APITimeoutError):
                await client.sms.cancel_message(SUB, UMID)
            assert time.monotonic() - started < 5
        assert server.count == 3


async def test_deadline_ends_the_call_mid_attempt() -> None:
    policy = RetryPolicy(deadline=0.3, backoff_base=0.001)
    async with FaultServer(default=Stall(10)) as server:
        async with eight(server, retry=policy) as client:
            started = time.monotonic()
            with pytest.raises(aiomsg.APITimeoutError):
                await client.sms.cancel_message(SUB, UMID)
            assert time.monotonic() - started < 5
        assert server.count == 1


# ---------------------------------------------------------------- LINE sends


async def send_batch(client: aiomsg.EightByEight) -> object:
    return await client.chatapps.send_line_notification_batch(SUB, [LINE, LINE])


async def send_one(client: aiomsg.EightByEight) -> object:
    return await client.chatapps.send_line_notification(SUB, LINE)


LINE_SENDS = [(send_batch, LINE_BATCH_OK), (send_one, LINE_ONE_OK)]
LINE_IDS = ["batch", "single"]

MAYBE_TAKEN: dict[str, Action] = {
    "reset": Reset(),
    "drop": Drop(),
    "500": Reply(500, b'{"code": 2000, "message": "Internal error"}'),
    "502": Reply(502, b""),
    "503": Reply(503, b""),
    "504": Reply(504, b""),
    "truncated": Reply(200, b'{"batchId": "b-1", "acceptedCount": 2}', truncate_to=7),
    "stall": Stall(10),
}


def sent_ids(request: SeenRequest) -> list[str]:
    body = json.loads(request.body)
    messages = body["messages"] if "messages" in body else [body]
    return [m["clientMessageId"] for m in messages]


@pytest.mark.parametrize("fault", MAYBE_TAKEN.values(), ids=MAYBE_TAKEN.keys())
@pytest.mark.parametrize(("send", "ok"), LINE_SENDS, ids=LINE_IDS)
async def test_line_send_is_sent_once_and_reported_unknown(
    send: Callable[[aiomsg.EightByEight], Awaitable[object]], ok: Reply, fault: Action
) -> None:
    async with FaultServer(default=ok) as server:
        server.script(fault)
        async with eight(server, timeout=Timeout(read=0.3)) as client:
            with pytest.raises(aiomsg.OutcomeUnknownError) as info:
                await send(client)
            await anyio.sleep(0.05)  # nothing more arrives later either
            assert client.stats.requests == 1
        assert server.count == 1
        ids = sent_ids(server.requests[0])
    error = info.value
    assert list(error.client_message_ids) == ids
    assert all(ids)
    assert len(set(ids)) == len(ids)  # one generated id per message, all different
    assert isinstance(error.__cause__, aiomsg.APIError)


async def test_line_send_on_a_stale_keep_alive_connection_is_not_resent() -> None:
    async with FaultServer(default=LINE_BATCH_OK) as server:
        async with eight(server) as client:
            await send_batch(client)
            server.script(Drop())  # the server drops the reused connection
            with pytest.raises(aiomsg.OutcomeUnknownError):
                await send_batch(client)
        assert server.count == 2
        assert server.requests[0].connection == server.requests[1].connection


@pytest.mark.parametrize(("send", "ok"), LINE_SENDS, ids=LINE_IDS)
async def test_line_send_is_resent_after_429_with_the_same_body(
    send: Callable[[aiomsg.EightByEight], Awaitable[object]], ok: Reply
) -> None:
    async with FaultServer(default=ok) as server:
        server.script(Reply(429, b"", headers={"Retry-After": "0.05"}))
        async with eight(server) as client:
            await send(client)
        assert server.count == 2
        assert server.requests[0].body == server.requests[1].body


async def test_line_send_is_resent_after_a_refused_connection() -> None:
    port = unused_port()
    listener = socket.socket()
    events: list[aiomsg.RequestEvent] = []
    refused = asyncio.Event()

    def on_request(event: aiomsg.RequestEvent) -> None:
        events.append(event)
        if len(events) == 1:  # refused: start listening before the retry connects
            listener.bind(("127.0.0.1", port))
            listener.listen()
            refused.set()

    url = f"http://127.0.0.1:{port}"
    try:
        async with aiomsg.EightByEight(
            api_key=SECRET, chatapps_url=url, sms_url=url, retry=FAST, on_request=on_request
        ) as client:
            task = asyncio.ensure_future(send_batch(client))
            with anyio.fail_after(5):
                await refused.wait()
            async with FaultServer(default=LINE_BATCH_OK, sock=listener) as server:
                with anyio.fail_after(5):
                    await task
                assert server.count == 1
    finally:
        listener.close()
    assert [(e.attempt, e.status) for e in events] == [(1, None), (2, 200)]
    assert events[0].error is not None
    assert "Could not connect" in events[0].error


async def test_line_send_refused_every_time_is_not_unknown() -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    async with aiomsg.EightByEight(api_key=SECRET, chatapps_url=url, retry=FAST) as client:
        with pytest.raises(aiomsg.APIConnectionError) as info:
            await send_batch(client)
        assert client.stats.requests == 3
    assert not isinstance(info.value, aiomsg.OutcomeUnknownError)
    assert info.value.request_sent is False


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 426])
async def test_line_send_refused_with_4xx_is_a_plain_error(status: int) -> None:
    async with FaultServer(default=Reply(status, b'{"code": 1000, "message": "no"}')) as server:
        async with eight(server) as client:
            with pytest.raises(aiomsg.APIStatusError) as info:
                await send_batch(client)
        assert server.count == 1
    assert not isinstance(info.value, aiomsg.OutcomeUnknownError)


async def test_line_send_with_retry_after_beyond_the_cap_raises_rate_limit_at_once() -> None:
    async with FaultServer(default=Reply(429, b"", headers={"Retry-After": "3600"})) as server:
        async with eight(server) as client:
            started = time.monotonic()
            with pytest.raises(aiomsg.RateLimitError) as info:
                await send_batch(client)
            assert time.monotonic() - started < 5
        assert server.count == 1
    assert info.value.retry_after == 3600.0


# ---------------------------------------------------------------- exact attempt counts


async def test_aiohttp_on_its_own_resends_a_delete_on_a_broken_connection() -> None:
    """The behaviour the client must switch off: without it, counts below would double."""
    async with FaultServer(default=CANCEL_OK) as server:
        server.script(CANCEL_OK, Reset())
        async with aiohttp.ClientSession() as session:
            for _ in range(2):
                async with session.delete(server.url + "/x") as resp:
                    await resp.read()
        assert server.count == 3


async def test_attempts_are_exact_on_the_clients_own_session() -> None:
    async with FaultServer(default=Reset()) as server:
        server.script(CANCEL_OK)
        async with eight(server) as client:
            await client.sms.cancel_message(SUB, UMID)  # opens a keep-alive connection
            with pytest.raises(aiomsg.APIConnectionError):
                await client.sms.cancel_message(SUB, UMID)
        assert server.count == 1 + 3


async def test_attempts_are_exact_on_a_callers_session_left_as_it_was() -> None:
    requests_started = 0

    async def on_start(*_: object) -> None:
        nonlocal requests_started
        requests_started += 1

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with FaultServer(default=Reset()) as server:
        server.script(CANCEL_OK)
        async with aiohttp.ClientSession(trace_configs=[trace]) as session:
            async with eight(server, session=session) as client:
                await client.sms.cancel_message(SUB, UMID)
                with pytest.raises(aiomsg.APIConnectionError):
                    await client.sms.cancel_message(SUB, UMID)
            assert not session.closed  # the caller's session is the caller's to close
            assert session._retry_connection is True  # and its settings are untouched
            server.default = CANCEL_OK
            async with session.get(server.url + "/still-usable") as resp:
                assert resp.status == 200
        assert server.count == 1 + 3 + 1
    assert requests_started == 1 + 3 + 1


async def test_trace_configs_count_every_attempt() -> None:
    counts = {"start": 0, "end": 0, "exception": 0}

    def counter(name: str) -> Callable[..., Awaitable[None]]:
        async def count(*_: object) -> None:
            counts[name] += 1

        return count

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(counter("start"))
    trace.on_request_end.append(counter("end"))
    trace.on_request_exception.append(counter("exception"))
    async with FaultServer(default=CANCEL_OK) as server:
        server.script(Reply(503), Reset())
        async with eight(server, trace_configs=[trace]) as client:
            await client.sms.cancel_message(SUB, UMID)
        assert server.count == 3
    assert counts == {"start": 3, "end": 2, "exception": 1}


# ---------------------------------------------------------------- shared limits, timeouts


async def test_waiting_for_a_pool_slot_does_not_count_against_the_timeout() -> None:
    # 8 calls, 2 connections, 0.5 s each: the last pair starts after 1.5 s. A total
    # timeout of 1.2 s per attempt only holds if queueing is not counted.
    async with FaultServer(default=Reply(200, b'{"cancelledCount": 1}', delay=0.5)) as server:
        async with eight(
            server, connector_limit=2, timeout=Timeout(total=1.2), retry=RetryPolicy(max_attempts=1)
        ) as client:
            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(client.sms.cancel_message, SUB, UMID)
        assert server.count == 8
        assert server.max_in_flight == 2


async def test_concurrency_cap_of_the_rate_limit_bounds_requests_in_flight() -> None:
    async with FaultServer(default=Reply(200, b'{"cancelledCount": 1}', delay=0.05)) as server:
        async with eight(server, rate_limit=RateLimit(rate=None, concurrency=3)) as client:
            async with anyio.create_task_group() as tg:
                for _ in range(12):
                    tg.start_soon(client.sms.cancel_message, SUB, UMID)
        assert server.count == 12
        assert server.max_in_flight == 3


async def test_429_on_one_call_holds_back_the_other_calls_of_its_sub_account() -> None:
    arrivals: list[tuple[float, str]] = []

    def handler(request: SeenRequest) -> Action:
        arrivals.append((time.monotonic(), request.path))
        if len(arrivals) == 1:
            return Reply(429, b"", headers={"Retry-After": "0.4"})
        return CANCEL_OK

    rate_limited = anyio.Event()

    def on_request(event: aiomsg.RequestEvent) -> None:
        if event.status == 429:
            rate_limited.set()

    async with FaultServer(handler=handler) as server:
        async with eight(server, on_request=on_request) as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.sms.cancel_message, SUB, UMID)
                await rate_limited.wait()
                seen_at = time.monotonic()
                for _ in range(3):
                    tg.start_soon(client.sms.cancel_message, SUB, BATCH)
                tg.start_soon(client.sms.cancel_message, "other-sub", UMID)
        assert server.count == 6
    others = [t for t, path in arrivals[1:] if "/other-sub/" in path]
    same = [t for t, path in arrivals[1:] if f"/{SUB}/messages/{BATCH}" in path]
    assert len(same) == 3
    # Every later call on the same sub-account waited for the pause (0.4 s from the
    # 429); the other sub-account's call did not.
    assert min(same) - seen_at >= 0.3
    assert others[0] - seen_at < 0.3
