"""The shared limiter: pace, 429 pause, AIMD concurrency, and how calls share it."""

from __future__ import annotations

import heapq
import itertools
import math
import ssl
from collections.abc import Awaitable, Callable

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
    RATE_ACCELERATION,
    RATE_RECOVERY,
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


class VirtualTime:
    """A clock that moves only when every task is blocked: then it jumps to the
    earliest sleeper's wake-up and wakes it (and every sleeper due at that moment).

    Sleeps of many tasks overlap as they would in real time, without real waiting.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        event = anyio.Event()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._seq), event))
        await event.wait()

    async def run(self, *tasks: Callable[[], Awaitable[None]], max_steps: int = 10_000) -> None:
        """Run ``tasks`` to the end, moving the clock whenever all of them wait."""
        async with anyio.create_task_group() as tg:
            for task in tasks:
                tg.start_soon(task)
            for _ in range(max_steps):
                await anyio.wait_all_tasks_blocked()
                if not self._sleepers:
                    return  # everything finished (or waits on something else)
                when = self._sleepers[0][0]
                self.now = max(self.now, when)
                while self._sleepers and self._sleepers[0][0] <= self.now:
                    heapq.heappop(self._sleepers)[2].set()
            raise AssertionError("virtual time did not settle")  # pragma: no cover


def conforms(times: list[float], rate: float, burst: float) -> bool:
    """Whether a provider's token bucket (``rate``, ``burst``) would take every request
    sent at ``times`` (a little float slack)."""
    tokens, stamp = burst, times[0]
    for t in sorted(times):
        tokens = min(burst, tokens + (t - stamp) * rate)
        stamp = t
        if tokens < 1.0 - 1e-6:
            return False
        tokens -= 1.0
    return True


async def release_times(limiter: Limiter, time: VirtualTime, n: int) -> list[float]:
    """When each of ``n`` waiters, started in order, got its turn; asserts that they got
    them in the order they came."""
    released: list[tuple[int, float]] = []

    def waiter(i: int) -> Callable[[], Awaitable[None]]:
        async def one() -> None:
            await limiter.acquire()
            released.append((i, time.now))
            limiter.release()

        return one

    await time.run(*(waiter(i) for i in range(n)))
    assert [i for i, _ in released] == list(range(n))
    return [t for _, t in released]


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


async def test_turns_of_one_tick_share_one_timer_in_order_and_never_early() -> None:
    time = VirtualTime()
    rate, burst, n = 1800.0, 100, 200
    limiter = Limiter(RateLimit(rate=rate, burst=burst), clock=time.clock, sleep=time.sleep)
    start = time.now
    times = await release_times(limiter, time, n)  # first come, first served
    # One timer per 10 ms tick, not one per request (18 turns a tick at 1,800/s).
    assert len(time.sleeps) <= math.ceil((times[-1] - start) / 0.01) + 1
    assert len(time.sleeps) < n / 10
    # Never before its token exists: the bucket holds burst - rate * tick = 82, then
    # one turn every 1/1,800 s; at most one tick late.
    capacity = burst - rate * 0.01
    for k, t in enumerate(times):
        due = start + max(0.0, k + 1 - capacity) / rate
        assert due - 1e-9 <= t <= due + 0.01 + 1e-9
    # What the provider sees stays within the configured bucket, burst included...
    assert conforms(times, rate, burst)
    # ...and the long-run rate is the configured one.
    assert times[-1] - start == pytest.approx((n - capacity) / rate, abs=0.01)


async def test_cancelled_first_waiter_of_a_tick_hands_the_timer_over() -> None:
    time = VirtualTime()
    limiter = Limiter(RateLimit(rate=1000, burst=40), clock=time.clock, sleep=time.sleep)
    for _ in range(30):  # the bucket holds 40 - 1000 * 0.01 = 30: empty it
        await limiter.acquire()
        limiter.release()
    released: list[str] = []
    leader = anyio.CancelScope()

    async def first() -> None:
        with leader:
            await limiter.acquire()
            released.append("first")  # pragma: no cover - cancelled before its turn

    def follower(name: str) -> Callable[[], Awaitable[None]]:
        async def one() -> None:
            await limiter.acquire()
            released.append(name)
            limiter.release()

        return one

    async def cancel_first() -> None:
        await anyio.wait_all_tasks_blocked()
        leader.cancel()

    start = time.now
    await time.run(first, follower("second"), follower("third"), cancel_first)
    assert released == ["second", "third"]
    # Both went at the end of the tick (10 ms), not later; the cancelled turn came back.
    assert time.now == pytest.approx(start + 0.01)
    assert limiter.in_flight == 0
    assert limiter._tokens == pytest.approx(-2.0)


async def test_429_while_waiting_for_a_tick_holds_the_whole_group() -> None:
    time = VirtualTime()
    limiter = Limiter(RateLimit(rate=1000, burst=40), clock=time.clock, sleep=time.sleep)
    for _ in range(30):
        await limiter.acquire()
        limiter.release()
    released: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        released.append(time.now)
        limiter.release()

    async def rate_limited() -> None:
        await anyio.wait_all_tasks_blocked()
        limiter.on_rate_limited(2.0)

    start = time.now
    await time.run(one, one, one, rate_limited)
    assert len(released) == 3
    assert min(released) == pytest.approx(start + 2.0)  # none before the pause ended


async def test_deadline_between_the_turn_and_the_end_of_its_tick() -> None:
    time = VirtualTime()
    limiter = Limiter(RateLimit(rate=1000, burst=40), clock=time.clock, sleep=time.sleep)
    for _ in range(30):
        await limiter.acquire()
        limiter.release()
    start = time.now
    got: list[float] = []

    async def one() -> None:
        # Its turn is 1 ms away, its tick ends 10 ms away, the deadline is 5 ms away:
        # it waits for its turn alone, exactly as long as needed.
        await limiter.acquire(deadline=start + 0.005)
        got.append(time.now)
        limiter.release()

    await time.run(one)
    assert got == [pytest.approx(start + 0.001)]
    # A turn beyond the deadline is refused at once and not consumed: the balance is
    # what it was (the turn taken 1 ms ago has just been paid for).
    with pytest.raises(LimiterTimeout):
        await limiter.acquire(deadline=time.now + 0.0005)
    assert limiter._tokens == pytest.approx(0.0, abs=1e-6)
    assert limiter.in_flight == 0


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


# ---------------------------------------------------------------- adaptive pace


def test_a_wave_of_429s_halves_the_pace_once_when_it_says_little() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=1800, burst=100), clock=time.clock, sleep=time.sleep)
    time.now += 0.4  # the provider's first bucket ran out soon after the start
    for _ in range(700):
        limiter.on_success()
    for _ in range(5):  # every request of that wave got a 429: one cut
        limiter.on_rate_limited(1.0, 0)
    assert limiter.rate == 900.0


def test_after_a_long_window_the_pace_follows_what_the_provider_took() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=1800, burst=100), clock=time.clock, sleep=time.sleep)
    time.now += 0.4
    limiter.on_rate_limited(1.0, 0)
    assert limiter.rate == 900.0
    # 1 s paused, then 1.25 s at 900/s until the provider's bucket ran out again: it
    # took 1,125 requests in 2.25 s, 500 a second. (The successes raise the pace a
    # little on the way.)
    time.now += 2.25
    for _ in range(1125):
        limiter.on_success()
    calm = 1 + (2.25 / RATE_ACCELERATION) ** 2
    assert limiter.rate == pytest.approx(900 + 1125 * RATE_RECOVERY * calm * 2, rel=1e-3)
    limiter.on_rate_limited(1.0, 1)
    assert limiter.rate == pytest.approx(0.97 * 500.0)


def test_a_429_after_a_quiet_spell_cuts_the_pace_by_half_at_most() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=1800, burst=100), clock=time.clock, sleep=time.sleep)
    time.now += 600.0  # ten quiet minutes with a handful of requests...
    for _ in range(5):
        limiter.on_success()
    limiter.on_rate_limited(1.0, 0)  # ...then a 429 (another client's traffic, say)
    assert limiter.rate == 900.0
    for epoch in range(1, 200):
        time.now += 10.0
        limiter.on_rate_limited(1.0, epoch)
    assert limiter.rate == pytest.approx(18.0)  # never below 1 % of the configured rate


def test_successes_bring_the_pace_back_to_the_configured_rate_and_no_higher() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=100, burst=10), clock=time.clock, sleep=time.sleep)
    limiter.on_rate_limited(None, 0)
    assert limiter.rate == 50.0
    limiter.on_success()
    assert limiter.rate == pytest.approx(50.0 + RATE_RECOVERY * 100 / 50)
    for _ in range(100_000):
        limiter.on_success()
    assert limiter.rate == 100.0


def test_paces_grow_back_by_the_same_amount_a_second_whatever_their_size() -> None:
    # Two clients sharing a sub-account, one cut to 90/s, the other to 180/s: a second
    # of successes at each one's pace raises both by the same 0.2 % of the configured
    # rate, so the smaller one catches up instead of staying small.
    paces = []
    for cut_to in (90.0, 180.0):
        limiter = Limiter(RateLimit(rate=1800, burst=100))
        limiter._rate = cut_to
        for _ in range(int(cut_to)):
            limiter.on_success()
        assert limiter.rate is not None
        paces.append(limiter.rate - cut_to)
    assert paces == [pytest.approx(RATE_RECOVERY * 1800, rel=0.03)] * 2


def test_the_pace_grows_back_faster_the_longer_no_429_comes() -> None:
    time = FakeTime()
    limiter = Limiter(RateLimit(rate=1800, burst=100), clock=time.clock, sleep=time.sleep)
    steps = []
    for calm in (0.0, RATE_ACCELERATION, 3 * RATE_ACCELERATION):
        limiter.on_rate_limited(None, limiter._epoch)  # a wave starts the clock again
        limiter._rate = 900.0
        time.now += calm
        limiter.on_success()
        assert limiter.rate is not None
        steps.append(limiter.rate - 900.0)
    base = RATE_RECOVERY * 1800 / 900
    assert steps == pytest.approx([base, 2 * base, 10 * base])


def test_an_unpaced_limit_stays_unpaced_after_429s() -> None:
    limiter = Limiter(RateLimit(rate=None, concurrency=8))
    limiter.on_rate_limited(1.0, 0)
    limiter.on_success()
    assert limiter.rate is None


async def test_turns_after_a_cut_are_spaced_at_the_new_pace_in_order() -> None:
    time = VirtualTime()
    limiter = Limiter(RateLimit(rate=1000, burst=40), clock=time.clock, sleep=time.sleep)
    limiter.on_rate_limited(None, 0)  # no Retry-After: no pause, only the cut
    assert limiter.rate == 500.0
    start = time.now
    times = await release_times(limiter, time, 100)  # in order
    # The cut emptied the bucket: 100 turns at 500/s (released per 10 ms tick).
    assert times[-1] - start == pytest.approx(100 / 500, abs=0.01)
    assert conforms(times, 500.0, 40.0)


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
