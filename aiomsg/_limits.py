"""Rate and concurrency limits shared by every call toward the same provider scope.

8x8 limits requests per sub-account (1,800 per second by default) and answers 429
with ``Retry-After`` beyond that; WhatsApp Flow management allows 100 per minute.
One ``Limiter`` per (API, sub-account or account) is shared by all in-flight calls
of a client: a token bucket paces them, a 429 pauses all of them until its
``Retry-After`` has passed, and the concurrency cap halves on 429 and grows back by
one per success (additive increase, multiplicative decrease).

The pace adapts the same way. A provider's limit may be lower than the documented
one (a sub-account's own setting, or other clients sharing it), and each 429 costs a
pause of at least a second (8x8 answers ``Retry-After`` in whole seconds), so the pace
should settle just under what the provider takes. A wave of 429s slows the pace to
what the provider took since the previous wave (pauses included, so one full
bucket a pause is counted once), less 3 %, and never by more than half in one wave
(a window shorter than a second, or a 429 after a quiet spell, tells little about
the provider's rate). The pace then grows back additively, by 0.2 % of the
configured rate a second (``RATE_RECOVERY``), and faster the longer no 429 comes
(``RATE_ACCELERATION``), up to the configured rate: an equal increase for everyone
keeps clients that share a sub-account fair to each other, where growth in
proportion to each one's pace would keep the unlucky ones small.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

import anyio

from ._numbers import real, setting_error, whole, whole_rule

__all__ = [
    "DEFAULT_8X8_RATE_LIMIT",
    "DEFAULT_FLOWS_RATE_LIMIT",
    "DEFAULT_REVICOM_RATE_LIMIT",
    "MAX_BURST",
    "Limiter",
    "LimiterRegistry",
    "LimiterTimeout",
    "RateLimit",
]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


#: The largest ``RateLimit.burst``: every whole number up to it is exact as a float.
MAX_BURST: Final = 2**53


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimit:
    """Pace and concurrency for one provider scope.

    ``rate`` is requests per second (``None``: unpaced), ``burst`` how many may go at
    once after a quiet spell, ``concurrency`` the most requests in flight at a time.
    """

    rate: float | None
    burst: int = 1
    concurrency: int = 100

    def __post_init__(self) -> None:
        if self.rate is not None:
            rate = real(self.rate)
            if rate is None or rate <= 0:
                rule = "a finite number of requests per second, greater than 0, or None"
                raise setting_error("RateLimit.rate", self.rate, rule)
            object.__setattr__(self, "rate", rate)
        # The pace is counted in float tokens: a burst must be a whole float.
        if whole(self.burst, 1, MAX_BURST) is None:
            raise setting_error("RateLimit.burst", self.burst, whole_rule(1, MAX_BURST))
        if whole(self.concurrency, 1) is None:
            raise setting_error("RateLimit.concurrency", self.concurrency, whole_rule(1))


#: 8x8 documents 1,800 requests per second per sub-account.
DEFAULT_8X8_RATE_LIMIT: Final = RateLimit(rate=1800.0, burst=100, concurrency=100)
#: 8x8 documents 100 requests per minute for WhatsApp Flow management. No burst: with
#: one, a busy minute could hold more than 100 requests.
DEFAULT_FLOWS_RATE_LIMIT: Final = RateLimit(rate=100 / 60, burst=1, concurrency=4)
#: Revicom documents no rate; stop requests are large, so only concurrency is bounded.
DEFAULT_REVICOM_RATE_LIMIT: Final = RateLimit(rate=None, concurrency=32)


class LimiterTimeout(Exception):
    """Waiting for a turn would take ``wait`` seconds, more than the caller allows.

    ``paused`` is True when the wait is a shared pause after a 429 (the caller turns
    this into ``RateLimitError``), False when it is the pace or the concurrency cap.
    """

    def __init__(self, wait: float, *, paused: bool) -> None:
        self.wait = wait
        self.paused = paused
        super().__init__(f"limiter wait of {wait:.3f} s not allowed")


#: After a wave of 429s the pace is at most this share of what the provider took.
RATE_MARGIN: Final = 0.97
#: A wave of 429s never cuts the pace below this share of what it was.
RATE_MAX_CUT: Final = 0.5
#: The provider's rate is measured over windows (between waves of 429s) this long
#: at least: a shorter one is mostly the provider's initial bucket.
RATE_MIN_WINDOW: Final = 1.0
#: After a cut the pace grows back by this share of the configured rate per second
#: (at 1,800/s: 3.6 requests/s more every second), the same for every client
#: whatever its pace, so clients sharing a sub-account drift toward equal shares...
RATE_RECOVERY: Final = 0.002
#: ...and faster the longer no 429 comes: by (1 + (t / RATE_ACCELERATION) ** 2) times
#: as much t seconds after the last wave, so the others soon take up the share of a
#: client that finished, while a pace just under the limit creeps up slowly.
RATE_ACCELERATION: Final = 5.0
#: The pace never adapts below this share of the configured rate.
RATE_FLOOR: Final = 0.01

#: Turns of the pace are released on a grid of ticks this long (or shorter, see
#: ``_tick``): waiters whose turns fall in one tick wake together on one timer. One
#: timer per request costs more CPU than the request itself (the loop then handles
#: one event per wake-up instead of many); at 1,800/s a 10 ms tick wakes the loop
#: 100 times a second instead of 1,800.
MAX_TICK: Final = 0.01


class _Turns:
    """The waiters whose turns fall in one tick: one of them sleeps, the rest wait."""

    __slots__ = ("at", "event", "fired", "leader")

    def __init__(self, at: float) -> None:
        self.at = at
        self.event = anyio.Event()
        self.leader = False
        self.fired = False


class Limiter:
    """Token bucket + shared 429 pause + AIMD concurrency cap and pace for one scope.

    ``acquire`` and ``release`` bracket one request. The pace is kept by reservation:
    each request takes a token at once (the balance may go negative) and waits until
    its token would have existed, so waiters are served in order without polling.

    Waits end on a grid of ticks (``MAX_TICK`` at most): every waiter whose token
    exists by the end of a tick is released at that end, together and in the order
    they came, by one timer. A turn is never released before its token exists, so the
    long-run rate is exactly the configured one; to keep what the provider sees
    within ``burst`` even though a tick's turns go together, the bucket holds
    ``burst - rate * tick`` tokens (the tick is short enough to keep that at three
    quarters of ``burst`` or more). Slow paces, where a tick would hold less than
    one turn, wake each waiter on its own at its turn.
    """

    def __init__(
        self, limit: RateLimit, *, clock: Clock = time.monotonic, sleep: Sleep = anyio.sleep
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(limit.burst)
        self._stamp = clock()
        self._pause_until = 0.0
        self._epoch = 0
        self._slots = anyio.CapacityLimiter(limit.concurrency)
        self._tail: _Turns | None = None  # the latest tick waited for
        self._last_wake = -math.inf
        self._rate = limit.rate  # the pace now: lowered by 429s, raised by successes
        self._window_start = self._stamp  # since the last wave of 429s...
        self._taken = 0  # ...this many requests got through

    @property
    def rate(self) -> float | None:
        """The pace now, in requests per second (``None``: unpaced)."""
        return self._rate

    @property
    def concurrency(self) -> int:
        """The current concurrency cap (lowered by 429s, raised back by successes)."""
        return int(self._slots.total_tokens)

    @property
    def in_flight(self) -> int:
        """Requests holding a slot right now."""
        return int(self._slots.borrowed_tokens)

    @property
    def paused_for(self) -> float:
        """Seconds until the shared pause after a 429 ends (0 when not paused)."""
        return max(0.0, self._pause_until - self._clock())

    async def acquire(self, deadline: float | None = None, max_pause: float = math.inf) -> int:
        """Wait for a slot and a turn; returns the epoch to hand to ``on_rate_limited``.

        Raises ``LimiterTimeout`` without waiting when a shared pause is longer than
        ``max_pause`` or any wait would reach ``deadline`` (on this limiter's clock).
        """
        if self._pause_until > self._clock():
            self._check_pause(deadline, max_pause)
        slots = self._slots
        try:
            slots.acquire_nowait()  # the common case, without a trip through the loop
        except anyio.WouldBlock:
            await self._acquire_slot(deadline)
        try:
            await self._wait_turn(deadline, max_pause)
        except BaseException:
            slots.release()
            raise
        return self._epoch

    async def _acquire_slot(self, deadline: float | None) -> None:
        slots = self._slots
        if deadline is None:
            await slots.acquire()
        else:
            with anyio.move_on_after(deadline - self._clock()) as scope:
                await slots.acquire()
            if scope.cancelled_caught:
                raise LimiterTimeout(0.0, paused=False)

    def release(self) -> None:
        self._slots.release()

    @asynccontextmanager
    async def slot(
        self, deadline: float | None = None, max_pause: float = math.inf
    ) -> AsyncIterator[float]:
        """Hold one request slot; yields the seconds spent waiting for it."""
        start = self._clock()
        await self.acquire(deadline, max_pause)
        try:
            yield self._clock() - start
        finally:
            self.release()

    def _check_pause(self, deadline: float | None, max_pause: float) -> None:
        now = self._clock()
        pause = self._pause_until - now
        if pause > max_pause or (deadline is not None and now + pause >= deadline):
            raise LimiterTimeout(pause, paused=True)

    def _tick(self, rate: float) -> float:
        """The tick for ``rate``: ``MAX_TICK``, or less so a tick holds a quarter burst
        at most; 0 (every turn on its own) when a tick would hold less than one turn."""
        tick = min(MAX_TICK, self.limit.burst / (4.0 * rate))
        return tick if rate * tick >= 1.0 else 0.0

    async def _wait_turn(self, deadline: float | None, max_pause: float) -> None:
        clock = self._clock
        while self._pause_until > clock():
            self._check_pause(deadline, max_pause)
            await self._sleep(self._pause_until - clock())
        rate = self._rate
        if rate is None:
            return
        now = clock()
        tick = self._tick(rate)
        capacity = self.limit.burst - rate * tick
        tokens = min(capacity, self._tokens + (now - self._stamp) * rate) - 1.0
        self._stamp = now
        self._tokens = tokens
        if tokens >= 0.0:
            return
        wait = -tokens / rate
        if deadline is not None and now + wait >= deadline:
            self._tokens += 1.0
            raise LimiterTimeout(wait, paused=False)
        try:
            # The end of the tick the turn falls in, never before an earlier waiter's.
            wake = max(math.ceil((now + wait) / tick) * tick, self._last_wake) if tick else 0.0
            if not tick or (deadline is not None and wake >= deadline):
                await self._sleep(wait)  # on its own, at the turn itself
            else:
                self._last_wake = wake
                await self._wait_tick(wake)
            # A 429 may have arrived while this request waited for its turn.
            while self._pause_until > clock():
                self._check_pause(deadline, max_pause)
                await self._sleep(self._pause_until - clock())
        except BaseException:
            self._tokens += 1.0  # the turn was not used: give it back
            raise

    async def _wait_tick(self, wake: float) -> None:
        """Wait until ``wake`` with the other waiters of that tick, on one timer.

        The first waiter of a tick sleeps for all of them; if it is cancelled, it
        wakes the others and the first of them to run takes its place.
        """
        turns = self._tail
        if turns is None or turns.at != wake:
            turns = self._tail = _Turns(wake)
        while not turns.fired:
            if turns.leader:
                await turns.event.wait()
                continue
            turns.leader = True
            try:
                await self._sleep(wake - self._clock())
            except BaseException:
                turns.leader = False
                event, turns.event = turns.event, anyio.Event()
                event.set()
                raise
            turns.fired = True
            if self._tail is turns:
                self._tail = None
            turns.event.set()

    def on_rate_limited(self, retry_after: float | None, epoch: int | None = None) -> None:
        """A 429 arrived: pause every caller, halve the concurrency cap, slow the pace.

        ``epoch`` is what ``acquire`` returned for the request that got the 429: the
        cap and the pace are cut once per epoch, so a wave of 429s from requests that
        were all admitted under the same cap is cut once, not once per request.
        """
        now = self._clock()
        if retry_after is not None and retry_after > 0:
            self._pause_until = max(self._pause_until, now + retry_after)
        self._tokens = min(self._tokens, 0.0)
        if epoch is None or epoch == self._epoch:
            self._epoch += 1
            self._slots.total_tokens = max(1, int(self._slots.total_tokens) // 2)
            self._slow_down(now)

    def _slow_down(self, now: float) -> None:
        rate, configured = self._rate, self.limit.rate
        if rate is None or configured is None:
            return
        pace = rate * RATE_MAX_CUT
        window = now - self._window_start
        if window >= RATE_MIN_WINDOW:
            pace = max(pace, min(rate, self._taken / window) * RATE_MARGIN)
        self._rate = max(pace, configured * RATE_FLOOR)
        self._window_start = now
        self._taken = 0

    def on_success(self) -> None:
        """A request got through: grow the concurrency cap back by one, and a pace
        lowered by 429s by ``RATE_RECOVERY * configured / pace`` (at a steady pace,
        ``RATE_RECOVERY * configured`` requests/s every second), times the calm
        factor of ``RATE_ACCELERATION``."""
        self._taken += 1
        total = int(self._slots.total_tokens)
        if total < self.limit.concurrency:
            self._slots.total_tokens = total + 1
        rate, configured = self._rate, self.limit.rate
        if rate is not None and configured is not None and rate < configured:
            calm = (self._clock() - self._window_start) / RATE_ACCELERATION
            step = RATE_RECOVERY * (1.0 + calm * calm) * configured / rate
            self._rate = min(rate + step, configured)


class LimiterRegistry:
    """The limiters of one client, created on first use per scope."""

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = anyio.sleep) -> None:
        self._limiters: dict[Hashable, Limiter] = {}
        self._clock = clock
        self._sleep = sleep

    def get(self, key: Hashable, limit: RateLimit) -> Limiter:
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = Limiter(limit, clock=self._clock, sleep=self._sleep)
            self._limiters[key] = limiter
        return limiter
