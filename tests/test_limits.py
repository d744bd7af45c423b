"""The shared limiter: pace, 429 pause, AIMD concurrency, and how calls share it."""

from __future__ import annotations

import math
import ssl

import anyio
import anyio.lowlevel
import pytest
from yarl import URL

import aiomsg
from aiomsg._core import CallStats, Requester, RequestEvent, Route
from aiomsg._errors import APITimeoutError, ConfigurationError, RateLimitError
from aiomsg._limits import (
    DEFAULT_8X8_RATE_LIMIT,
    DEFAULT_FLOWS_RATE_LIMIT,
    DEFAULT_REVICOM_RATE_LIMIT,
    Limiter,
    LimiterRegistry,
    LimiterTimeout,
    RateLimit,
)
from aiomsg._retry import CallKind, RetryBudget, RetryPolicy
from aiomsg._transport import Host, Timeout, Transport
from tests.faultserver import FakeTime, FaultServer, Reply
from tests.mockhttp import MockHTTP as aioresponses

BASE = "http://127.0.0.1:1"
DELETE = Route("DELETE", "/v1/things/{thing}", CallKind.IDEMPOTENT)
DELETE_URL = f"{BASE}/v1/things/t1"
ACCOUNT = "0d0e6a8e5b4f4c3d9a1b2c3d4e5f6a7b"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


class FrozenTime(FakeTime):
    """Sleeps are recorded but the clock stands still: waits computed by reservation
    stay exact however the tasks interleave."""

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await anyio.lowlevel.checkpoint()


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0},
        {"rate": -1},
        {"rate": math.inf},
        {"rate": math.nan},
        {"rate": "fast"},
        {"rate": 1, "burst": 0},
        {"rate": 1, "concurrency": 0},
        {"rate": 1, "concurrency": 2.5},
    ],
)
def test_rate_limit_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        RateLimit(**kwargs)  # type: ignore[arg-type]


def test_documented_defaults() -> None:
    assert DEFAULT_8X8_RATE_LIMIT.rate == 1800.0
    # WhatsApp Flow management: 100 per minute, no burst above it.
    assert DEFAULT_FLOWS_RATE_LIMIT.rate == pytest.approx(100 / 60)
    assert DEFAULT_FLOWS_RATE_LIMIT.burst == 1
    assert DEFAULT_REVICOM_RATE_LIMIT.rate is None


def test_registry_shares_one_limiter_per_scope() -> None:
    registry = LimiterRegistry()
    limit = RateLimit(rate=10)
    first = registry.get(("sms", "acc1"), limit)
    assert registry.get(("sms", "acc1"), limit) is first
    assert registry.get(("sms", "acc2"), limit) is not first
    assert registry.get(("chatapps", "acc1"), limit) is not first


# ---------------------------------------------------------------- pace


async def test_token_bucket_paces_after_the_burst() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=10, burst=2), clock=time.clock, sleep=time.sleep)
    for _ in range(5):
        await limiter.acquire()
        limiter.release()
    assert time.sleeps == pytest.approx([0.1, 0.1, 0.1])


async def test_concurrent_waiters_reserve_turns_in_order() -> None:
    time = FrozenTime()
    limiter = Limiter(RateLimit(rate=100, burst=1), clock=time.clock, sleep=time.sleep)

    async def one() -> None:
        await limiter.acquire()
        limiter.release()

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(one)
    # Each waiter sleeps once, for exactly its own turn: no polling, no thundering herd.
    assert sorted(time.sleeps) == pytest.approx([0.01, 0.02, 0.03, 0.04])


async def test_unpaced_limit_never_sleeps() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=None), clock=time.clock, sleep=time.sleep)
    for _ in range(50):
        await limiter.acquire()
        limiter.release()
    assert time.sleeps == []


async def test_pace_wait_beyond_the_deadline_raises_and_gives_the_turn_back() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=1, burst=1), clock=time.clock, sleep=time.sleep)
    await limiter.acquire()
    limiter.release()
    with pytest.raises(LimiterTimeout) as info:
        await limiter.acquire(deadline=time.now + 0.5)
    assert not info.value.paused
    assert limiter.in_flight == 0
    assert time.sleeps == []
    await limiter.acquire(deadline=time.now + 5)  # the refused turn was not consumed
    limiter.release()
    assert time.sleeps == pytest.approx([1.0])


async def test_slot_context_manager_holds_and_releases() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=None), clock=time.clock, sleep=time.sleep)
    limiter.on_rate_limited(1.5)
    async with limiter.slot() as queued:
        assert limiter.in_flight == 1
    assert queued == 1.5
    assert limiter.in_flight == 0


# ---------------------------------------------------------------- 429 pause


async def test_429_pauses_every_caller_for_retry_after() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=None), clock=time.clock, sleep=time.sleep)
    limiter.on_rate_limited(2.0)
    assert limiter.paused_for == 2.0
    await limiter.acquire()
    limiter.release()
    assert time.sleeps == [2.0]
    assert limiter.paused_for == 0.0


async def test_pause_longer_than_allowed_raises_at_once() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=None), clock=time.clock, sleep=time.sleep)
    limiter.on_rate_limited(120.0)
    with pytest.raises(LimiterTimeout) as info:
        await limiter.acquire(max_pause=60.0)
    assert info.value.paused
    assert info.value.wait == 120.0
    with pytest.raises(LimiterTimeout):
        await limiter.acquire(deadline=time.now + 30, max_pause=600.0)
    assert time.sleeps == []
    assert limiter.in_flight == 0


async def test_a_later_longer_pause_is_kept() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=None), clock=time.clock, sleep=time.sleep)
    limiter.on_rate_limited(5.0)
    limiter.on_rate_limited(1.0)  # does not shorten the pause
    limiter.on_rate_limited(None)  # a 429 without Retry-After does not pause
    assert limiter.paused_for == 5.0


# ---------------------------------------------------------------- AIMD concurrency


def test_concurrency_halves_once_per_wave_and_recovers_by_one() -> None:
    limiter = Limiter(RateLimit(rate=None, concurrency=16))
    assert limiter.concurrency == 16
    epoch = 0
    limiter.on_rate_limited(None, epoch)
    limiter.on_rate_limited(None, epoch)  # same wave of requests: no second cut
    limiter.on_rate_limited(None, epoch)
    assert limiter.concurrency == 8
    limiter.on_rate_limited(None, epoch + 1)
    assert limiter.concurrency == 4
    for e in range(2, 10):
        limiter.on_rate_limited(None, e)
    assert limiter.concurrency == 1  # never below one
    for _ in range(100):
        limiter.on_success()
    assert limiter.concurrency == 16  # never above the configured cap


async def test_concurrency_cap_holds_requests_back() -> None:
    limiter = Limiter(RateLimit(rate=None, concurrency=2))
    entered: list[int] = []
    two_in = anyio.Event()
    gate = anyio.Event()

    async def one(i: int) -> None:
        await limiter.acquire()
        try:
            entered.append(i)
            if len(entered) == 2:
                two_in.set()
            await gate.wait()
        finally:
            limiter.release()

    async with anyio.create_task_group() as tg:
        for i in range(4):
            tg.start_soon(one, i)
        with anyio.fail_after(5):
            await two_in.wait()
        for _ in range(10):
            await anyio.lowlevel.checkpoint()
        assert len(entered) == 2
        gate.set()
    assert sorted(entered) == [0, 1, 2, 3]
    assert limiter.in_flight == 0


async def test_waiting_for_a_slot_respects_the_deadline() -> None:
    limiter = Limiter(RateLimit(rate=None, concurrency=1))
    held = anyio.Event()
    done = anyio.Event()

    async def holder() -> None:
        await limiter.acquire()
        held.set()
        await done.wait()
        limiter.release()

    async with anyio.create_task_group() as tg:
        tg.start_soon(holder)
        await held.wait()
        with pytest.raises(LimiterTimeout):
            await limiter.acquire(deadline=limiter._clock() + 0.05)
        assert limiter.in_flight == 1
        done.set()
    assert limiter.in_flight == 0


async def test_cancelled_waiter_leaves_no_slot_or_turn_behind() -> None:
    limiter = Limiter(RateLimit(rate=1, burst=1, concurrency=3))
    await limiter.acquire()
    limiter.release()
    with anyio.move_on_after(0.05) as scope:
        await limiter.acquire()  # waits ~1 s for its turn
    assert scope.cancelled_caught
    assert limiter.in_flight == 0
    assert limiter._tokens == pytest.approx(0.0, abs=0.1)  # the reserved turn came back


# ---------------------------------------------------------------- calls sharing a limiter


def make_requester(
    time: FakeTime, transport: Transport, *, events: list[RequestEvent]
) -> Requester:
    return Requester(
        transport,
        Host(URL(BASE), {}),
        policy=RetryPolicy(max_attempts=1),
        budget=RetryBudget(),
        limiters=LimiterRegistry(clock=time.clock, sleep=time.sleep),
        stats=CallStats(),
        on_request=events.append,
        sleep=time.sleep,
        clock=time.clock,
        rand=lambda: 0.5,
    )


def make_transport() -> Transport:
    return Transport(
        timeout=Timeout(),
        ssl_context=None,
        min_tls_version=ssl.TLSVersion.TLSv1_3,
        session=None,
        connector_limit=10,
        max_response_size=1 << 20,
    )


async def test_429_on_one_call_makes_the_next_call_on_the_scope_wait() -> None:
    time = FakeTime()
    events: list[RequestEvent] = []
    transport = make_transport()
    requester = make_requester(time, transport, events=events)
    limit = RateLimit(rate=None, concurrency=8)
    path = DELETE.path(thing="t1")
    try:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=429, headers={"Retry-After": "3"})
            mock.delete(DELETE_URL, status=200, body=b"{}", repeat=True)
            with pytest.raises(RateLimitError):
                await requester.call(DELETE, path, None, scope="a", limit=limit)
            await requester.call(DELETE, path, None, scope="a", limit=limit)
            await requester.call(DELETE, path, None, scope="b", limit=limit)
            assert mock.count == 3
    finally:
        await transport.aclose()
    # The second call (same scope) waited out the first call's Retry-After in the
    # limiter; the third (another scope) did not wait at all.
    assert time.sleeps == [3.0]
    assert [e.queued for e in events] == [0.0, 3.0, 0.0]
    assert requester.stats.queued == 3.0
    assert requester.limiters.get("a", limit).concurrency == 5  # 8 halved, +1 success


async def test_pause_beyond_max_retry_after_fails_other_calls_fast() -> None:
    time = FakeTime()
    events: list[RequestEvent] = []
    transport = make_transport()
    requester = make_requester(time, transport, events=events)
    limit = RateLimit(rate=None)
    path = DELETE.path(thing="t1")
    try:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=429, headers={"Retry-After": "600"})
            with pytest.raises(RateLimitError):
                await requester.call(DELETE, path, None, scope="a", limit=limit)
            with pytest.raises(RateLimitError) as info:
                await requester.call(DELETE, path, None, scope="a", limit=limit)
            assert mock.count == 1  # the second call sent nothing
    finally:
        await transport.aclose()
    assert info.value.retry_after == 600.0
    assert time.sleeps == []


async def test_deadline_spent_waiting_for_the_limiter_sends_nothing() -> None:
    time = FakeTime()
    transport = make_transport()
    requester = make_requester(time, transport, events=[])
    limit = RateLimit(rate=0.1, burst=1)  # one request per 10 s
    path = DELETE.path(thing="t1")
    policy = RetryPolicy(deadline=5)
    try:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=200, body=b"{}", repeat=True)
            await requester.call(DELETE, path, None, scope="a", limit=limit, policy=policy)
            with pytest.raises(APITimeoutError) as info:
                await requester.call(DELETE, path, None, scope="a", limit=limit, policy=policy)
            assert mock.count == 1
    finally:
        await transport.aclose()
    assert info.value.request_sent is False
    assert time.sleeps == []


# ---------------------------------------------------------------- client options, loopback


async def test_flows_have_their_own_slower_limit_and_rate_limit_options_apply() -> None:
    events: list[RequestEvent] = []
    async with FaultServer(default=Reply(204, b"")) as server:
        async with aiomsg.EightByEight(
            api_key="k",
            chatapps_url=server.url,
            sms_url=server.url,
            rate_limit=RateLimit(rate=1000, burst=10),
            flows_rate_limit=RateLimit(rate=5, burst=1),  # one every 0.2 s
            on_request=events.append,
        ) as client:
            async with anyio.create_task_group() as tg:
                for i in range(3):
                    tg.start_soon(client.chatapps.delete_whatsapp_flow, ACCOUNT, "ch", f"f{i}")
            flows = [e.queued for e in events]
            events.clear()
            server.default = Reply(200, b'{"cancelledCount": 1}')
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(client.sms.cancel_message, "acc1", UMID)
        assert server.count == 6
    # Flow deletes were spaced by the flows limit (turns at about 0, 0.2, 0.4 s)...
    assert max(flows) >= 0.3
    # ...while SMS cancels, under the 8x8 limit with a burst of 10, went at once.
    assert max(e.queued for e in events) < 0.15
