"""What is retried, when, and how long the client waits (``aiomsg._retry``, ``_core``).

Unit tests on the pure functions, then the attempt loop of ``Requester`` against
aioresponses with a fake clock and sleep, so every wait is recorded, not measured.
"""

from __future__ import annotations

import email.utils
import logging
import math
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from time import time as wall_clock

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

import aiomsg
from aiomsg._core import CallStats, Requester, RequestEvent, Route
from aiomsg._errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    GoneError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TLSHandshakeError,
    TLSVersionError,
    UnprocessableEntityError,
    error_from_response,
)
from aiomsg._limits import LimiterRegistry, RateLimit
from aiomsg._retry import (
    CallKind,
    RetryBudget,
    RetryPolicy,
    backoff_delay,
    is_retryable,
    parse_retry_after,
    retry_delay,
)
from aiomsg._transport import Host, Timeout, Transport
from tests.faultserver import FakeTime
from tests.mockhttp import MockHTTP as aioresponses

BASE = "http://127.0.0.1:1"
DELETE = Route("DELETE", "/v1/things/{thing}", CallKind.IDEMPOTENT)
SEND = Route("POST", "/v1/send", CallKind.SEND_ONCE)
DELETE_URL = f"{BASE}/v1/things/t1"
SEND_URL = f"{BASE}/v1/send"
UNPACED = RateLimit(rate=None)
SECRET = "sk-very-secret-key"

# ---------------------------------------------------------------- Retry-After parsing


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), ("1", 1.0), (" 2 ", 2.0), ("1.5", 1.5), ("120", 120.0), ("86400", 86400.0)],
)
def test_retry_after_seconds(value: str, expected: float) -> None:
    assert parse_retry_after(value) == expected


def test_retry_after_http_date_in_the_future() -> None:
    now = 1_700_000_000.0
    value = email.utils.formatdate(now + 30, usegmt=True)  # "Tue, 14 Nov 2023 22:13:50 GMT"
    assert parse_retry_after(value, now=lambda: now) == pytest.approx(30.0)


def test_retry_after_http_date_in_the_past_means_now() -> None:
    now = 1_700_000_000.0
    value = email.utils.formatdate(now - 3600, usegmt=True)
    assert parse_retry_after(value, now=lambda: now) == 0.0


def test_retry_after_asctime_date_is_gmt() -> None:
    # RFC 9110 still lets servers send the asctime form, which has no zone: it is GMT.
    now = email.utils.parsedate_to_datetime("Sun, 06 Nov 1994 08:49:37 GMT").timestamp()
    assert parse_retry_after("Sun Nov  6 08:49:47 1994", now=lambda: now) == pytest.approx(10)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "inf",
        "-inf",
        "Infinity",
        "nan",
        "NaN",
        "-1",
        "+1",
        "-0.5",
        "1e400",
        "1e3",
        "1_000",
        "0x10",
        "1,5",
        "5 s",
        "\u0661",  # ARABIC-INDIC DIGIT ONE
        "soon",
        "Wed, 99 Foo 2015 07:28:00 GMT",
        "Wed, 21 Oct 99999 07:28:00 GMT",
        "Wed, 21 Oct 2015 25:61:00 GMT",
    ],
)
def test_retry_after_garbage_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=lambda: 1_700_000_000.0) is None


@given(st.text(max_size=40))
def test_retry_after_never_crashes_and_is_sane(value: str) -> None:
    seconds = parse_retry_after(value, now=lambda: 1_700_000_000.0)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("86401", 86401.0),
        ("99999999999999999999", 1e20),
        ("1" + "0" * 40, 1e40),
        ("9" * 400, sys.float_info.max),  # too large for a float: kept as the largest
        ("3" * 2000 + ".5", sys.float_info.max),
    ],
)
def test_retry_after_of_any_length_is_kept(value: str, expected: float) -> None:
    # A valid hint beyond what a caller accepts is a reason to stop, not garbage:
    # dropping it would retry a server that asked for a long wait sooner than one
    # that asked for a short one.
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize("days", [1.5, 3, 400, 3000])
def test_retry_after_http_date_days_ahead_is_kept(days: float) -> None:
    now = 1_700_000_000.0
    value = email.utils.formatdate(now + days * 86400, usegmt=True)
    assert parse_retry_after(value, now=lambda: now) == pytest.approx(days * 86400)


# ---------------------------------------------------------------- backoff and policy


@given(
    base=st.floats(0, 100),
    cap=st.floats(0, 1000),
    retry_number=st.integers(1, 10_000),
    r=st.floats(0, 1),
)
def test_backoff_is_full_jitter_within_zero_and_cap(
    base: float, cap: float, retry_number: int, r: float
) -> None:
    policy = RetryPolicy(backoff_base=base, backoff_cap=cap)
    delay = backoff_delay(policy, retry_number, lambda: r)
    ceiling = min(cap, base * 2 ** min(retry_number - 1, 62))
    assert 0.0 <= delay <= cap
    assert delay == pytest.approx(ceiling * r)


def test_backoff_grows_exponentially_until_the_cap() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0)
    ceilings = [backoff_delay(policy, n, lambda: 1.0) for n in range(1, 8)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff_delay(policy, 3, lambda: 0.0) == 0.0


def _status_error(status: int, retry_after: float | None = None) -> APIStatusError:
    return error_from_response(status, b"", method="DELETE", url=BASE, retry_after=retry_after)


@given(
    base=st.floats(0, 10),
    cap=st.floats(0, 30),
    max_retry_after=st.floats(0, 120),
    attempt=st.integers(1, 20),
    max_attempts=st.integers(1, 20),
    remaining=st.none() | st.floats(-5, 100),
    hint=st.none() | st.floats(0, 200),
    status=st.sampled_from([429, 502, 503, 504]),
    r=st.floats(0, 1),
)
def test_no_wait_reaches_the_deadline_or_breaks_the_policy(
    base: float,
    cap: float,
    max_retry_after: float,
    attempt: int,
    max_attempts: int,
    remaining: float | None,
    hint: float | None,
    status: int,
    r: float,
) -> None:
    policy = RetryPolicy(
        max_attempts=max_attempts,
        backoff_base=base,
        backoff_cap=cap,
        max_retry_after=max_retry_after,
    )
    error = _status_error(status, hint)
    wait = retry_delay(error, CallKind.IDEMPOTENT, policy, attempt, remaining, lambda: r)
    if wait is None:
        return
    assert attempt < max_attempts
    assert wait >= 0
    assert remaining is None or wait < remaining
    if hint is None:
        assert wait <= cap
    else:
        assert hint <= max_retry_after
        assert wait == max(hint, backoff_delay(policy, attempt, lambda: r))


def test_retry_after_beyond_the_policy_or_deadline_means_give_up() -> None:
    policy = RetryPolicy(max_attempts=5, max_retry_after=60)
    assert retry_delay(_status_error(429, 61), CallKind.IDEMPOTENT, policy, 1, None) is None
    assert retry_delay(_status_error(429, 10), CallKind.IDEMPOTENT, policy, 1, 9.0) is None
    assert retry_delay(_status_error(429, 10), CallKind.IDEMPOTENT, policy, 1, 11.0) == 10


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": 1.5},
        {"max_attempts": True},
        {"backoff_base": -1},
        {"backoff_cap": math.inf},
        {"max_retry_after": math.nan},
        {"deadline": 0},
        {"deadline": -1},
        {"deadline": math.inf},
    ],
)
def test_policy_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_defaults() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.backoff_base, policy.backoff_cap) == (3, 0.5, 8.0)
    assert policy.max_retry_after == 60.0
    assert policy.deadline is None


# ---------------------------------------------------------------- what is retryable

IDEMPOTENT_RETRIED = [429, 502, 503, 504]
NEVER_RETRIED = [400, 401, 403, 404, 409, 410, 422, 426]


@pytest.mark.parametrize("status", IDEMPOTENT_RETRIED)
def test_idempotent_retries_transient_statuses(status: int) -> None:
    assert is_retryable(_status_error(status), CallKind.IDEMPOTENT)


@pytest.mark.parametrize("status", [*NEVER_RETRIED, 500, 501, 505, 301, 302, 418])
def test_idempotent_does_not_retry_other_statuses(status: int) -> None:
    assert not is_retryable(_status_error(status), CallKind.IDEMPOTENT)


@pytest.mark.parametrize("status", [*NEVER_RETRIED, 500, 502, 503, 504, 302])
def test_send_once_retries_no_status_but_429(status: int) -> None:
    assert not is_retryable(_status_error(status), CallKind.SEND_ONCE)
    assert is_retryable(_status_error(429), CallKind.SEND_ONCE)


def test_tls_version_error_is_never_retried_whatever_the_status() -> None:
    error = error_from_response(503, b'{"code": 1014}', method="DELETE", url=BASE)
    assert isinstance(error, TLSVersionError)
    assert not is_retryable(error, CallKind.IDEMPOTENT)


@pytest.mark.parametrize(
    ("error", "idempotent", "send_once"),
    [
        (APIConnectionError("refused", request_sent=False), True, True),
        (APITimeoutError("connect timeout", request_sent=False), True, True),
        (APIConnectionError("reset"), True, False),
        (APITimeoutError("read timeout"), True, False),
        (TLSHandshakeError("bad cert", request_sent=False), False, False),
        (APIResponseError("too big", status_code=200), False, False),
    ],
)
def test_connection_failures(error: aiomsg.APIError, idempotent: bool, send_once: bool) -> None:
    assert is_retryable(error, CallKind.IDEMPOTENT) is idempotent
    assert is_retryable(error, CallKind.SEND_ONCE) is send_once


# ---------------------------------------------------------------- budget


def test_budget_spends_and_refills() -> None:
    budget = RetryBudget(20, retry_cost=5, timeout_cost=10, success_refill=1)
    assert budget.try_spend(APIConnectionError())
    assert budget.tokens == 15
    assert budget.try_spend(APITimeoutError())
    assert budget.tokens == 5
    assert not budget.try_spend(APITimeoutError())  # costs 10, 5 left: refused, nothing taken
    assert budget.tokens == 5
    assert budget.try_spend(_status_error(503))
    assert not budget.try_spend(_status_error(503))
    assert budget.tokens == 0
    for _ in range(30):
        budget.refill()
    assert budget.tokens == 20  # never above capacity


def test_budget_rejects_negative_values() -> None:
    with pytest.raises(ConfigurationError):
        RetryBudget(-1)


# ---------------------------------------------------------------- the attempt loop


@asynccontextmanager
async def make_requester(
    policy: RetryPolicy | None = None,
    *,
    budget: RetryBudget | None = None,
    time: FakeTime | None = None,
    rand: Callable[[], float] = lambda: 0.5,
    on_request: Callable[[RequestEvent], None] | None = None,
) -> AsyncIterator[Requester]:
    t = time or FakeTime()
    transport = Transport(
        timeout=Timeout(),
        ssl_context=None,
        min_tls_version=ssl.TLSVersion.TLSv1_3,
        session=None,
        connector_limit=10,
        max_response_size=1 << 20,
    )
    requester = Requester(
        transport,
        Host(URL(BASE), {"Authorization": f"Bearer {SECRET}"}),
        policy=policy or RetryPolicy(),
        budget=budget or RetryBudget(),
        limiters=LimiterRegistry(clock=t.clock, sleep=t.sleep),
        stats=CallStats(),
        on_request=on_request,
        sleep=t.sleep,
        clock=t.clock,
        rand=rand,
    )
    try:
        yield requester
    finally:
        await transport.aclose()


async def delete(requester: Requester, policy: RetryPolicy | None = None) -> int:
    resp = await requester.call(
        DELETE, DELETE.path(thing="t1"), None, scope="s", limit=UNPACED, policy=policy
    )
    return resp.status


async def send(requester: Requester) -> int:
    resp = await requester.call(SEND, "/v1/send", b"{}", scope="s", limit=UNPACED)
    return resp.status


def refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("127.0.0.1", 1, False, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


@pytest.mark.parametrize("status", IDEMPOTENT_RETRIED)
async def test_idempotent_call_retries_each_transient_status(status: int) -> None:
    time = FakeTime()
    async with make_requester(time=time) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=status)
            mock.delete(DELETE_URL, status=200, body=b"{}")
            assert await delete(requester) == 200
            assert mock.count == 2
    assert time.sleeps == [0.25]  # backoff 0.5 * rand 0.5
    assert requester.stats.requests == 2
    assert requester.stats.retries == 1


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (410, GoneError),
        (422, UnprocessableEntityError),
        (426, TLSVersionError),
        (500, InternalServerError),
        (302, APIStatusError),
    ],
)
async def test_idempotent_call_never_retries_final_statuses(
    status: int, error_type: type[APIStatusError]
) -> None:
    time = FakeTime()
    async with make_requester(time=time) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=status, repeat=True)
            with pytest.raises(error_type) as info:
                await delete(requester)
            assert mock.count == 1
    assert info.value.status_code == status
    assert time.sleeps == []


@pytest.mark.parametrize(
    "exception",
    [
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        aiohttp.ClientPayloadError("cut short"),
        aiohttp.SocketTimeoutError("read timeout"),
        TimeoutError(),
    ],
)
async def test_idempotent_call_retries_connection_failures(exception: Exception) -> None:
    async with make_requester() as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, exception=exception)
            mock.delete(DELETE_URL, status=200, body=b"{}")
            assert await delete(requester) == 200
            assert mock.count == 2


async def test_send_once_is_retried_after_a_refused_connection() -> None:
    async with make_requester() as requester:
        with aioresponses() as mock:
            mock.post(SEND_URL, exception=refused())
            mock.post(SEND_URL, status=200, body=b"{}")
            assert await send(requester) == 200
            assert mock.count == 2


async def test_send_once_is_retried_after_429() -> None:
    time = FakeTime()
    async with make_requester(time=time) as requester:
        with aioresponses() as mock:
            mock.post(SEND_URL, status=429, headers={"Retry-After": "2"})
            mock.post(SEND_URL, status=200, body=b"{}")
            assert await send(requester) == 200
            assert mock.count == 2
    assert time.sleeps == [2.0]


@pytest.mark.parametrize(
    "failure",
    [
        {"exception": aiohttp.ServerDisconnectedError()},
        {"exception": aiohttp.ClientOSError(104, "Connection reset by peer")},
        {"exception": aiohttp.ClientPayloadError("cut short")},
        {"exception": aiohttp.SocketTimeoutError("read timeout")},
        {"exception": TimeoutError()},
        {"status": 500},
        {"status": 502},
        {"status": 503},
        {"status": 504},
    ],
)
async def test_send_once_is_never_retried_once_it_may_have_been_taken(
    failure: dict[str, object],
) -> None:
    async with make_requester() as requester:
        with aioresponses() as mock:
            mock.post(SEND_URL, **failure)  # type: ignore[arg-type]
            mock.post(SEND_URL, status=200, body=b"{}")
            with pytest.raises(aiomsg.APIError) as info:
                await send(requester)
            assert mock.count == 1
    assert not isinstance(info.value, APIConnectionError) or info.value.request_sent


async def test_tls_errors_are_never_retried() -> None:
    key = ConnectionKey("127.0.0.1", 1, True, True, None, None, None)
    cert_error = aiohttp.ClientConnectorCertificateError(key, ssl.SSLCertVerificationError())
    async with make_requester() as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, exception=cert_error, repeat=True)
            with pytest.raises(TLSHandshakeError):
                await delete(requester)
            assert mock.count == 1


async def test_attempts_are_configurable() -> None:
    time = FakeTime()
    async with make_requester(RetryPolicy(max_attempts=5), time=time) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=503, repeat=True)
            with pytest.raises(InternalServerError):
                await delete(requester)
            assert mock.count == 5
    # full jitter with rand 0.5 over ceilings 0.5, 1, 2, 4
    assert time.sleeps == [0.25, 0.5, 1.0, 2.0]


async def test_endless_429_ends_after_the_configured_attempts() -> None:
    time = FakeTime()
    async with make_requester(RetryPolicy(max_attempts=4), time=time) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=429, headers={"Retry-After": "1"}, repeat=True)
            with pytest.raises(RateLimitError) as info:
                await delete(requester)
            assert mock.count == 4
    assert info.value.retry_after == 1.0
    assert requester.stats.rate_limited == 4
    # The caller sleeps the Retry-After; the shared limiter, paused for the same
    # second, has nothing left to wait when the next attempt starts.
    assert time.sleeps == [1.0, 1.0, 1.0]


async def test_endless_429_ends_at_the_deadline_without_sleeping_past_it() -> None:
    time = FakeTime()
    policy = RetryPolicy(max_attempts=100, deadline=3.5)
    async with make_requester(policy, time=time) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=429, headers={"Retry-After": "1"}, repeat=True)
            with pytest.raises(RateLimitError):
                await delete(requester)
            # t=0, 1, 2, 3: at 3 the next Retry-After would reach the deadline (3.5)
            assert mock.count == 4
    assert sum(time.sleeps) < 3.5
    assert time.sleeps == [1.0, 1.0, 1.0]


@settings(deadline=None, max_examples=40)
@given(
    deadline=st.floats(0.5, 30),
    base=st.floats(0.01, 5),
    r=st.floats(0, 1),
    retry_after=st.sampled_from([None, "0", "1", "2.5", "garbage"]),
)
async def test_no_sleep_passes_the_deadline(
    deadline: float, base: float, r: float, retry_after: str | None
) -> None:
    time = FakeTime()
    start = time.now
    policy = RetryPolicy(
        max_attempts=50, backoff_base=base, backoff_cap=4 * base, deadline=deadline
    )
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    async with make_requester(policy, time=time, rand=lambda: r) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=429, headers=headers, repeat=True)
            with pytest.raises((RateLimitError, APITimeoutError)):
                await delete(requester)
            assert 1 <= mock.count <= 50
    assert time.now - start < deadline


async def test_retry_after_beyond_max_retry_after_raises_at_once() -> None:
    time = FakeTime()
    async with make_requester(RetryPolicy(max_retry_after=60), time=time) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=429, headers={"Retry-After": "61"}, repeat=True)
            with pytest.raises(RateLimitError) as info:
                await delete(requester)
            assert mock.count == 1
    assert info.value.retry_after == 61.0
    assert time.sleeps == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("86401", 86401.0),
        ("99999999999999999999", 1e20),
        ("9" * 400, sys.float_info.max),
        (None, 5 * 86400.0),  # an HTTP date five days ahead
    ],
)
async def test_retry_after_of_any_size_beyond_the_policy_raises_at_once(
    header: str | None, expected: float
) -> None:
    time = FakeTime()
    policy = RetryPolicy(max_attempts=5, max_retry_after=60)
    if header is None:
        header = email.utils.formatdate(wall_clock() + expected, usegmt=True)
    async with make_requester(policy, time=time) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=429, headers={"Retry-After": header}, repeat=True)
            with pytest.raises(RateLimitError) as info:
                await delete(requester)
            assert mock.count == 1
    assert info.value.retry_after == pytest.approx(expected, abs=5)
    assert time.sleeps == []


async def test_retry_after_beyond_the_deadline_raises_at_once() -> None:
    time = FakeTime()
    async with make_requester(RetryPolicy(deadline=5), time=time) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=429, headers={"Retry-After": "10"}, repeat=True)
            with pytest.raises(RateLimitError) as info:
                await delete(requester)
            assert mock.count == 1
    assert info.value.retry_after == 10.0
    assert time.sleeps == []


async def test_retry_after_as_an_http_date_sets_the_wait() -> None:
    time = FakeTime()
    when = email.utils.formatdate(usegmt=True)  # now, to the second: a wait of about 0
    later = email.utils.formatdate(email.utils.parsedate_to_datetime(when).timestamp() + 30)
    async with make_requester(time=time) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=503, headers={"Retry-After": later})
            mock.delete(DELETE_URL, status=200, body=b"{}")
            assert await delete(requester) == 200
    assert len(time.sleeps) == 1
    assert 25 < time.sleeps[0] <= 30


@pytest.mark.parametrize("garbage", ["inf", "nan", "-1", "1e400", "+99999999", "bad", ""])
async def test_garbage_retry_after_falls_back_to_backoff(garbage: str) -> None:
    time = FakeTime()
    async with make_requester(time=time) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=429, headers={"Retry-After": garbage})
            mock.delete(DELETE_URL, status=200, body=b"{}")
            assert await delete(requester) == 200
            assert mock.count == 2
    assert time.sleeps == [0.25]


async def test_retry_budget_exhaustion_stops_retries_client_wide() -> None:
    budget = RetryBudget(10, retry_cost=5, success_refill=5)
    async with make_requester(RetryPolicy(max_attempts=10), budget=budget) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=503, repeat=True)
            with pytest.raises(InternalServerError):
                await delete(requester)
            assert mock.count == 3  # two retries paid for, then the budget is empty
            assert budget.tokens == 0
            with pytest.raises(InternalServerError):
                await delete(requester)
            assert mock.count == 4  # another call: no retry at all
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=200, body=b"{}")  # a success earns tokens back
            mock.delete(DELETE_URL, status=503)
            mock.delete(DELETE_URL, status=200, body=b"{}")
            await delete(requester)
            assert budget.tokens == 5
            assert await delete(requester) == 200
            assert mock.count == 3


async def test_per_call_policy_overrides_the_client_policy() -> None:
    async with make_requester(RetryPolicy(max_attempts=5)) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=503, repeat=True)
            with pytest.raises(InternalServerError):
                await delete(requester, RetryPolicy(max_attempts=1))
            assert mock.count == 1


# ---------------------------------------------------------------- observability


async def test_each_attempt_is_reported_to_the_hook_and_counted() -> None:
    events: list[RequestEvent] = []
    time = FakeTime()
    async with make_requester(time=time, on_request=events.append) as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=429, headers={"Retry-After": "3"})
            mock.delete(DELETE_URL, exception=aiohttp.ServerDisconnectedError())
            mock.delete(DELETE_URL, status=200, body=b"{}")
            await delete(requester)
    assert [(e.attempt, e.status, e.will_retry, e.wait) for e in events] == [
        (1, 429, True, 3.0),
        (2, None, True, 0.5),
        (3, 200, False, 0.0),
    ]
    assert events[1].error is not None
    assert events[1].error.startswith("APIConnectionError")
    assert {e.method for e in events} == {"DELETE"}
    assert {e.url for e in events} == {DELETE_URL}
    stats = requester.stats
    assert (stats.requests, stats.retries, stats.rate_limited) == (3, 2, 1)
    assert stats.waited == pytest.approx(3.5)


async def test_a_failing_hook_does_not_change_the_outcome(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: RequestEvent) -> None:
        raise RuntimeError("observer bug")

    async with make_requester(on_request=broken) as requester:
        with aioresponses() as mock:
            mock.post(SEND_URL, status=200, body=b"{}")
            with caplog.at_level(logging.WARNING, logger="aiomsg"):
                assert await send(requester) == 200
            assert mock.count == 1
    assert "on_request hook raised" in caplog.text


async def test_debug_log_has_every_attempt_and_nothing_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    msisdn = "+6591234567"
    body = f'{{"code": 1001, "message": "bad msisdn {msisdn}"}}'.encode()
    async with make_requester() as requester:
        with aioresponses() as mock:
            mock.delete(DELETE_URL, status=503, body=body)
            mock.delete(DELETE_URL, status=200, body=b"{}")
            with caplog.at_level(logging.DEBUG, logger="aiomsg"):
                await delete(requester)
    lines = [r.getMessage() for r in caplog.records if r.name == "aiomsg"]
    assert len(lines) == 2
    assert lines[0].startswith(f"DELETE {DELETE_URL} attempt 1 -> 503")
    assert "retrying in 0.250 s" in lines[0]
    assert lines[1].startswith(f"DELETE {DELETE_URL} attempt 2 -> 200")
    assert SECRET not in caplog.text
    assert "Bearer" not in caplog.text
    assert msisdn not in caplog.text
