"""Ctrl-C (or SIGTERM) during a job: the first stops sending, the second exits at once.

The first signal asks the bulk calls to finish (no new request, those in flight
end), then after a grace period to abort; every item is still reported. The
second exits at once: journal records are whole lines written in one call, so
stopping anywhere leaves the journal consistent.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from types import FrameType
from typing import Final

import anyio

from .exits import EXIT_INCOMPLETE

__all__ = ["GRACE_SECONDS", "Interrupt"]

#: After the first Ctrl-C, how long requests in flight may take to finish.
GRACE_SECONDS: Final = 5.0

_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


class Interrupt:
    """The signal handlers of a running job, and the events its bulk calls watch:
    ``finish`` (no new request) and ``abort`` (stop what is in flight). Made and
    installed in the running event loop; ``announce`` says that it is stopping."""

    def __init__(self, announce: Callable[[str], None]) -> None:
        self.finish = anyio.Event()
        self.abort = anyio.Event()
        self.signals = 0
        self._announce = announce
        self._loop = asyncio.get_running_loop()
        self._previous: dict[int, _Handler] = {}

    @property
    def stopping(self) -> bool:
        """Whether a signal came (or the stop began)."""
        return self.signals > 0 or self.finish.is_set()

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:  # nohup and the like: keep
                self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        if self.signals > 1:
            os.write(2, b"\naiomsg: interrupted again; exiting now. Re-run with the same "
                        b"--journal to resume.\n")  # fmt: skip
            os._exit(EXIT_INCOMPLETE)
        # In the signal handler: wake the event loop to stop there.
        self._loop.call_soon_threadsafe(self._stop)

    def _stop(self) -> None:
        self.finish.set()
        self._announce(
            f"aiomsg: stopping: no new requests; waiting up to {GRACE_SECONDS:g} s for those "
            "in flight (Ctrl-C again to quit at once)"
        )
        self._loop.call_later(GRACE_SECONDS, self.abort.set)
