"""Rate and concurrency limits shared by every call toward the same provider scope.

8x8 limits requests per sub-account (1,800 per second by default) and answers 429
with ``Retry-After`` beyond that; WhatsApp Flow management allows 100 per minute.
One ``Limiter`` per (API, sub-account or account) is shared by all in-flight calls
of a client: a token bucket paces them, a 429 pauses all of them until its
``Retry-After`` has passed, and the concurrency cap halves on 429 and grows back by
one per success (additive increase, multiplicative decrease).
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

import anyio

from ._errors import ConfigurationError

__all__ = [
    "DEFAULT_8X8_RATE_LIMIT",
    "DEFAULT_FLOWS_RATE_LIMIT",
    "DEFAULT_REVICOM_RATE_LIMIT",
    "Limiter",
    "LimiterRegistry",
    "RateLimit",
]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


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
        if self.rate is not None and not (self.rate > 0 and math.isfinite(self.rate)):
            raise ConfigurationError("RateLimit.rate must be a positive number or None")
        if self.burst < 1 or self.concurrency < 1:
            raise ConfigurationError("RateLimit.burst and concurrency must be at least 1")


#: 8x8 documents 1,800 requests per second per sub-account.
DEFAULT_8X8_RATE_LIMIT: Final = RateLimit(rate=1800.0, burst=100, concurrency=100)
#: 8x8 documents 100 requests per minute for WhatsApp Flow management.
DEFAULT_FLOWS_RATE_LIMIT: Final = RateLimit(rate=100 / 60, burst=5, concurrency=4)
#: Revicom documents no rate; stop requests are large, so only concurrency is bounded.
DEFAULT_REVICOM_RATE_LIMIT: Final = RateLimit(rate=None, concurrency=32)


class Limiter:
    """Token bucket + shared 429 pause + AIMD concurrency cap for one scope."""

    def __init__(
        self, limit: RateLimit, *, clock: Clock = time.monotonic, sleep: Sleep = anyio.sleep
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(limit.burst)
        self._stamp = clock()
        self._pause_until = 0.0
        self._slots = anyio.CapacityLimiter(limit.concurrency)

    @property
    def concurrency(self) -> int:
        """The current concurrency cap (lowered by 429s, raised back by successes)."""
        return int(self._slots.total_tokens)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._pause_until - self._clock())

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Hold one request slot; yields the seconds spent waiting for it."""
        start = self._clock()
        async with self._slots:
            await self._wait_turn()
            yield self._clock() - start

    async def _wait_turn(self) -> None:
        rate = self.limit.rate
        while True:
            now = self._clock()
            pause = self._pause_until - now
            if pause > 0:
                await self._sleep(pause)
                continue
            if rate is None:
                return
            self._tokens = min(float(self.limit.burst), self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return
            await self._sleep((1.0 - self._tokens) / rate)

    def on_rate_limited(self, retry_after: float | None) -> None:
        """A 429 arrived: pause every caller and halve the concurrency cap."""
        if retry_after is not None and retry_after > 0:
            self._pause_until = max(self._pause_until, self._clock() + retry_after)
        self._tokens = min(self._tokens, 0.0)
        self._slots.total_tokens = max(1, int(self._slots.total_tokens) // 2)

    def on_success(self) -> None:
        """A request got through: grow the concurrency cap back by one."""
        total = int(self._slots.total_tokens)
        if total < self.limit.concurrency:
            self._slots.total_tokens = total + 1


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
