"""One call, start to finish: limiter, attempt, error mapping, retry decision, wait.

Provider modules describe a call (its ``Route``, path segments, encoded body and
limiter scope); this module runs it through the shared limiter and the transport,
turns error answers into exceptions (through ``error_from_response``, the only
place that does) and decides with ``_retry`` whether and when to try again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import anyio

from ._codec import decode
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    RateLimitError,
    error_from_response,
    redact_error,
)
from ._limits import LimiterRegistry, LimiterTimeout, RateLimit, Sleep
from ._retry import (
    MIN_ATTEMPT_TIME,
    CallKind,
    RetryBudget,
    RetryPolicy,
    may_have_been_taken,
    retry_delay,
)
from ._retry import parse_retry_after as _parse_retry_after
from ._transport import Host, RawResponse, Transport
from ._validation import quote_segment

__all__ = ["CallStats", "RequestEvent", "Requester", "Route"]

T = TypeVar("T")
logger: Final = logging.getLogger("aiomsg")
_JSON: Final = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class Route:
    """An endpoint: method, path template with ``{name}`` segments, and retry kind.

    ``api`` names the API that serves it (``"chatapps"``, ``"sms"``, ``"revicom"``)
    and ``name`` the operation (``"cancel_message"``); the providers' ``routes``
    modules declare each endpoint once.
    """

    method: str
    template: str
    kind: CallKind
    api: str = ""
    name: str = ""

    @property
    def full_name(self) -> str:
        """``<api>.<name>``: the endpoint's name across providers (``"sms.cancel_message"``)."""
        return f"{self.api}.{self.name}"

    def path(self, **segments: str) -> str:
        """The path with every segment percent-encoded (nothing left safe)."""
        return self.template.format_map({k: quote_segment(v) for k, v in segments.items()})


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One attempt, as passed to a client's ``on_request`` hook.

    ``url`` has no credentials in it. ``status`` is None when no answer arrived (then
    ``error`` names the failure). ``wait`` is how long the client will sleep before
    the next attempt (0 when it will not retry). ``queued`` is the time spent
    waiting for the shared rate/concurrency limiter before the attempt.
    """

    method: str
    url: str
    attempt: int
    status: int | None
    error: str | None
    elapsed: float
    queued: float
    will_retry: bool
    wait: float


class CallStats:
    """Counters of a client's traffic, cheap enough to keep always on.

    ``requests`` counts attempts handed to the transport, ``retries`` the attempts
    repeated after a failure, ``rate_limited`` the 429 answers, ``waited`` the
    seconds slept between attempts and ``queued`` the seconds spent waiting for the
    shared rate and concurrency limiter.
    """

    __slots__ = ("queued", "rate_limited", "requests", "retries", "waited")

    def __init__(self) -> None:
        self.requests = 0
        self.retries = 0
        self.rate_limited = 0
        self.waited = 0.0
        self.queued = 0.0

    def __repr__(self) -> str:
        return (
            f"CallStats(requests={self.requests}, retries={self.retries}, "
            f"rate_limited={self.rate_limited}, waited={self.waited:.3f}, "
            f"queued={self.queued:.3f})"
        )


class Requester:
    """Runs calls for one client (one transport, one policy, one budget).

    ``sleep``, ``clock`` and ``rand`` are for tests: the waits between attempts, the
    clock the deadline is measured on, and the jitter source.
    """

    def __init__(
        self,
        transport: Transport,
        host: Host,
        *,
        policy: RetryPolicy,
        budget: RetryBudget,
        limiters: LimiterRegistry,
        stats: CallStats,
        on_request: Callable[[RequestEvent], None] | None = None,
        sleep: Sleep = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self.transport = transport
        self.host = host
        self.policy = policy
        self.budget = budget
        self.limiters = limiters
        self.stats = stats
        self._on_request = on_request
        self._sleep = sleep
        self._clock = clock
        self._rand = rand or random.random
        self._json_headers = {**host.headers, **_JSON}

    async def call(
        self,
        route: Route,
        path: str,
        body: bytes | None,
        *,
        scope: Hashable,
        limit: RateLimit,
        policy: RetryPolicy | None = None,
        on_wire: Callable[[bool], None] | None = None,
        secrets: Sequence[str] = (),
    ) -> RawResponse:
        """Send until success or a final failure; returns the 2xx answer.

        Each attempt first waits for the scope's shared limiter (not counted as
        request time), then goes to the transport. Between attempts the call sleeps as
        ``retry_delay`` decides; with a deadline, no wait reaches it. ``on_wire`` is
        told True just before each attempt is handed to the transport, and False
        after an attempt that provably did not reach the provider (so a caller
        interrupted while this call waits knows whether anything may have arrived).
        ``secrets``: credentials the request body carries (a webhook's
        ``httpAuthorization``), masked like the client's own in errors, logs and
        ``on_request`` events.
        """
        policy = policy or self.policy
        method = route.method
        host = self.host
        url = host.url(path)
        shown = host.shown(path)
        masked = (*host.secrets, *secrets) if secrets else host.secrets
        headers = host.headers if body is None else self._json_headers
        limiter = self.limiters.get(scope, limit)
        clock = self._clock
        stats = self.stats
        send = self.transport.send
        deadline = None if policy.deadline is None else clock() + policy.deadline
        # The last moment an attempt may start: one that starts later could only time
        # out, and a LINE send cut short that way would needlessly become "unknown".
        last_start = None if deadline is None else deadline - MIN_ATTEMPT_TIME
        max_pause = policy.max_retry_after
        last_error: APIError | None = None
        reached = False  # whether any attempt so far may have reached the provider
        attempt = 0
        while True:
            attempt += 1
            error: APIError
            status: int | None = None
            queued_from = clock()
            try:
                epoch = await limiter.acquire(last_start, max_pause)
            except LimiterTimeout as exc:
                raise self._not_sent(exc, method, shown, attempt) from last_error
            t0 = clock()
            if last_start is not None and t0 >= last_start:
                limiter.release()
                timeout = LimiterTimeout(0.0, paused=False)
                raise self._not_sent(timeout, method, shown, attempt) from last_error
            queued = t0 - queued_from
            stats.queued += queued
            stats.requests += 1
            try:
                if on_wire is not None:
                    on_wire(True)  # inside the try: if it raises, the slot is released
                if deadline is None:
                    resp = await send(method, url, headers, body, shown)
                else:
                    with anyio.fail_after(deadline - t0):
                        resp = await send(method, url, headers, body, shown)
            except APIError as exc:
                error = redact_error(exc, masked)
            except TimeoutError:
                error = APITimeoutError(
                    "The call's deadline passed during the attempt", method=method, url=shown
                )
            else:
                status = resp.status
                if 200 <= status < 300:
                    limiter.on_success()
                    self.budget.refill()
                    self._report(method, shown, attempt, status, None, clock() - t0, queued)
                    return resp
                retry_after = _parse_retry_after(resp.headers.get("Retry-After"))
                error = error_from_response(
                    status, resp.body, method=method, url=shown, retry_after=retry_after,
                    secrets=masked, content_type=resp.headers.get("Content-Type"),
                )  # fmt: skip
                if status == 429:
                    stats.rate_limited += 1
                    limiter.on_rate_limited(retry_after, epoch)
            finally:
                limiter.release()
            elapsed = clock() - t0
            if may_have_been_taken(error):
                reached = True
            elif on_wire is not None and not reached:
                on_wire(False)  # nothing of this call can have arrived (yet)
            wait = self._next_wait(error, route.kind, policy, attempt, deadline)
            self._report(method, shown, attempt, status, error, elapsed, queued, wait)
            if wait is None:
                raise error
            last_error = error
            stats.retries += 1
            stats.waited += wait
            await self._sleep(wait)

    async def call_decoded(
        self,
        route: Route,
        path: str,
        body: bytes | None,
        tp: type[T],
        *,
        scope: Hashable,
        limit: RateLimit,
        policy: RetryPolicy | None = None,
        on_wire: Callable[[bool], None] | None = None,
        first: type[T] | None = None,
    ) -> T:
        """``call``, then decode the success body as ``tp`` (or ``first``: see ``decode``)."""
        resp = await self.call(
            route, path, body, scope=scope, limit=limit, policy=policy, on_wire=on_wire
        )
        try:
            return decode(tp, resp.body, method=route.method, url=self.host.shown(path),
                          status=resp.status, first=first)  # fmt: skip
        except APIResponseError as exc:
            raise redact_error(exc, self.host.secrets) from None

    def _next_wait(
        self,
        error: APIError,
        kind: CallKind,
        policy: RetryPolicy,
        attempt: int,
        deadline: float | None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        remaining = None if deadline is None else deadline - self._clock()
        delay = retry_delay(error, kind, policy, attempt, remaining, self._rand)
        if delay is None or not self.budget.try_spend(error):
            return None
        return delay

    def _not_sent(
        self, exc: LimiterTimeout, method: str, shown: str, attempt: int
    ) -> APIConnectionError | RateLimitError:
        """The error for an attempt given up before sending: its wait was too long."""
        error: APIConnectionError | RateLimitError
        if exc.paused:
            error = RateLimitError(
                f"Requests to this API scope are paused for {exc.wait:.1f} s after a 429 "
                "answer, longer than the retry policy's max_retry_after or deadline allows",
                status_code=429, retry_after=exc.wait, method=method, url=shown,
            )  # fmt: skip
        else:
            error = APITimeoutError(
                "The call's deadline would pass before the next attempt could start "
                "(waiting for the rate limiter); nothing more was sent",
                method=method, url=shown, request_sent=False,
            )  # fmt: skip
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s attempt %d not sent: %s", method, shown, attempt, error.message)
        return error

    def _report(
        self,
        method: str,
        url: str,
        attempt: int,
        status: int | None,
        error: APIError | None,
        elapsed: float,
        queued: float,
        wait: float | None = None,
    ) -> None:
        will_retry = wait is not None
        if logger.isEnabledFor(logging.DEBUG):
            outcome = str(status) if status is not None else type(error).__name__
            logger.debug(
                "%s %s attempt %d -> %s in %.1f ms (queued %.1f ms)%s",
                method, url, attempt, outcome, elapsed * 1000, queued * 1000,
                f"; retrying in {wait:.3f} s" if will_retry else "",
            )  # fmt: skip
        hook = self._on_request
        if hook is not None:
            event = RequestEvent(
                method=method,
                url=url,
                attempt=attempt,
                status=status,
                error=None if error is None else f"{type(error).__name__}: {error.message}",
                elapsed=elapsed,
                queued=queued,
                will_retry=will_retry,
                wait=wait or 0.0,
            )
            try:
                hook(event)
            except Exception:
                # An observer must not change a call's outcome (a LINE batch that was
                # accepted must not look failed and get sent again).
                logger.warning("on_request hook raised; ignored", exc_info=True)
