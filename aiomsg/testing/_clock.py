"""Simulated time: state changes happen when a test says so, not when the wall clock ticks."""

from __future__ import annotations

import datetime as _dt
import heapq
import itertools
import math
import time
from collections.abc import Callable

__all__ = ["SimClock", "format_timestamp"]


def format_timestamp(when: _dt.datetime) -> str:
    """8x8's timestamp format: ``yyyy-MM-ddTHH:mm:ss.ffZ`` (two fractional digits)."""
    when = when.astimezone(_dt.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 10000:02d}Z"


class SimClock:
    """The simulator's clock, in seconds since the simulator was created.

    By default it stands still until ``advance()`` moves it, so "scheduled",
    "sending" and "the stop lands after a delay" are deterministic in tests. With
    ``follow_wall_clock=True`` (what ``serve()`` uses) it also moves with real time.
    Changes due at a time (a Revicom stop landing, say) run as soon as the clock
    reaches it: inside ``advance()``, or at the next request or inspection.
    """

    def __init__(
        self, *, start: _dt.datetime | None = None, follow_wall_clock: bool = False
    ) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("SimClock start must be timezone-aware")
        self.epoch = start if start is not None else _dt.datetime.now(_dt.timezone.utc)
        self.follow_wall_clock = follow_wall_clock
        self._offset = 0.0
        self._t0 = time.monotonic()
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        """Simulated seconds since the epoch."""
        if self.follow_wall_clock:
            return self._offset + (time.monotonic() - self._t0)
        return self._offset

    def utcnow(self) -> _dt.datetime:
        """The simulated time as an aware UTC ``datetime`` (used in timestamps)."""
        return self.epoch + _dt.timedelta(seconds=self.now())

    def advance(self, seconds: float) -> None:
        """Move the clock forward and apply every change that became due."""
        if not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError("SimClock.advance() takes a finite number of seconds >= 0")
        self._offset += seconds
        self.run_due()

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the clock reaches ``when`` (in order of time, then call)."""
        heapq.heappush(self._due, (when, next(self._seq), callback))

    @property
    def pending(self) -> int:
        """How many scheduled changes have not happened yet."""
        return len(self._due)

    def run_due(self) -> int:
        """Apply the changes that are due; returns how many ran."""
        ran = 0
        now = self.now()
        while self._due and self._due[0][0] <= now:
            _, _, callback = heapq.heappop(self._due)
            callback()
            ran += 1
        return ran

    def __repr__(self) -> str:
        return f"SimClock(now={self.now():.3f}, pending={self.pending})"
