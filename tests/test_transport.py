"""The session pool: timeouts, error mapping, capped reads, redirects, TLS, sessions."""

from __future__ import annotations

import gzip
import math
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import anyio
import anyio.lowlevel
import pytest
import trustme
from aiohttp.client_reqrep import ConnectionKey

import aiomsg
from aiomsg import RetryPolicy, Timeout
from aiomsg._errors import APIConnectionError, APITimeoutError, ConfigurationError
from aiomsg._transport import Transport, map_client_error
from tests.faultserver import FaultServer, Reply

SUB = "acme-sub_01"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
CANCEL_OK = Reply(200, b'{"cancelledCount": 1}')
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.005)


@asynccontextmanager
async def eight(url: str, **options: Any) -> AsyncIterator[aiomsg.EightByEight]:
    options.setdefault("retry", FAST)
    async with aiomsg.EightByEight(api_key="k", chatapps_url=url, sms_url=url, **options) as c:
        yield c


def acquired(client: aiomsg.EightByEight) -> int:
    """Connections the client's pool has handed out and not got back."""
    session = client._transport._session
    assert session is not None
    assert session.connector is not None
    return len(session.connector._acquired)


# ---------------------------------------------------------------- timeouts


def test_timeout_defaults_and_float_shorthand() -> None:
    assert Timeout.coerce(None) == Timeout(connect=10.0, read=30.0, total=60.0)
    assert Timeout.coerce(5) == Timeout(connect=10.0, read=30.0, total=5.0)
    custom = Timeout(connect=1, read=2, total=None)
    assert Timeout.coerce(custom) is custom


@pytest.mark.parametrize("value", [0, -1, math.inf, math.nan, True, "5"])
def test_timeout_rejects_bad_values(value: Any) -> None:
    with pytest.raises(ConfigurationError):
        Timeout(total=value)
    with pytest.raises(ConfigurationError):
        Timeout.coerce(value)


def test_timeout_maps_to_aiohttp_limits() -> None:
    transport = make_transport(timeout=Timeout(connect=1.5, read=2.5, total=9))
    timeout = transport._client_timeout
    assert (timeout.sock_connect, timeout.sock_read, timeout.total) == (1.5, 2.5, 9)
    assert timeout.connect is None  # no limit on the wait for a pool slot: we bound that


def make_transport(**options: Any) -> Transport:
    settings: dict[str, Any] = {
        "timeout": Timeout(),
        "ssl_context": None,
        "min_tls_version": ssl.TLSVersion.TLSv1_3,
        "session": None,
        "connector_limit": 100,
        "max_response_size": 1 << 20,
    }
    settings.update(options)
    return Transport(**settings)


# ---------------------------------------------------------------- error mapping

KEY = ConnectionKey("example.com", 443, True, True, None, None, None)


@pytest.mark.parametrize(
    ("exc", "expected", "request_sent"),
    [
        (aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "refused")), "Could", False),
        (aiohttp.ConnectionTimeoutError(), "opening", False),
        (aiohttp.SocketTimeoutError(), "waiting", True),
        (aiohttp.ServerDisconnectedError(), "closed", True),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), "reset", True),
        (aiohttp.ClientPayloadError("x"), "cut short", True),
        (aiohttp.ClientConnectionError(), "Connection error", True),
    ],
)
def test_connection_errors_say_whether_the_request_left(
    exc: aiohttp.ClientError, expected: str, request_sent: bool
) -> None:
    error = map_client_error(exc, "DELETE", "https://example.com/x")
    assert type(error) in (APIConnectionError, APITimeoutError)
    assert expected in error.message
    assert error.request_sent is request_sent


@pytest.mark.parametrize(
    "exc",
    [
        aiohttp.ClientConnectorCertificateError(KEY, ssl.SSLCertVerificationError()),
        aiohttp.ClientConnectorSSLError(KEY, ssl.SSLError()),
        aiohttp.ServerFingerprintMismatch(b"a", b"b", "example.com", 443),
    ],
)
def test_tls_failures_map_to_tls_handshake_error(exc: aiohttp.ClientError) -> None:
    error = map_client_error(exc, "DELETE", "https://example.com/x")
    assert isinstance(error, aiomsg.TLSHandshakeError)
    assert "ssl=" in error.message


# ---------------------------------------------------------------- sessions


async def test_own_session_has_aiohttps_hidden_retry_switched_off_and_is_closed() -> None:
    async with FaultServer(default=CANCEL_OK) as server:
        async with eight(server.url) as client:
            await client.sms.cancel_message(SUB, UMID)
            session = client._transport._session
            assert session is not None
            assert session._retry_connection is False
        assert session.closed
        assert client.closed
        await client.aclose()  # idempotent
        with pytest.raises(RuntimeError):
            await client.sms.cancel_message(SUB, UMID)
        assert server.count == 1


async def test_trace_configs_with_a_callers_session_is_a_configuration_error() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ConfigurationError, match="trace_configs"):
            aiomsg.EightByEight(api_key="k", session=session, trace_configs=[aiohttp.TraceConfig()])


@pytest.mark.parametrize(
    ("limit", "per_host", "expected"), [(3, 0, 3), (10, 2, 2), (0, 0, 100), (500, 0, 100)]
)
async def test_pool_slots_follow_a_callers_connector(
    limit: int, per_host: int, expected: int
) -> None:
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=per_host)
    async with aiohttp.ClientSession(connector=connector) as session:
        transport = make_transport(session=session)
        assert transport._pool_slots.total_tokens == expected


async def test_a_callers_small_pool_does_not_eat_into_request_timeouts() -> None:
    # 6 calls through a caller's 2-connection pool, 0.4 s each: the last pair starts
    # after 0.8 s, so a 1 s total timeout only holds if the pool wait is not counted.
    async with FaultServer(default=Reply(200, b'{"cancelledCount": 1}', delay=0.4)) as server:
        connector = aiohttp.TCPConnector(limit=2)
        async with aiohttp.ClientSession(connector=connector) as session:
            async with eight(
                server.url, session=session, timeout=1.0, retry=RetryPolicy(max_attempts=1)
            ) as client:
                async with anyio.create_task_group() as tg:
                    for _ in range(6):
                        tg.start_soon(client.sms.cancel_message, SUB, UMID)
            assert len(connector._acquired) == 0
        assert server.count == 6
        assert server.max_in_flight == 2


# ---------------------------------------------------------------- capped reads


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_over_the_cap_is_refused_and_its_connection_dropped(chunked: bool) -> None:
    big = Reply(200, b'{"cancelledCount": 1, "x": "' + b"x" * 200_000 + b'"}', chunked=chunked)
    async with FaultServer(default=CANCEL_OK) as server:
        server.script(big)
        async with eight(server.url, max_response_size=10_000) as client:
            with pytest.raises(aiomsg.APIResponseError) as info:
                await client.sms.cancel_message(SUB, UMID)
            assert acquired(client) == 0
            # The pool is not starved: the next call gets a fresh connection.
            assert await client.sms.cancel_message(SUB, UMID) == aiomsg.CancelResult(
                cancelled_count=1
            )
            assert acquired(client) == 0
        assert server.count == 2  # the oversized answer was not retried
        assert server.connections == 2  # its connection was closed, not reused
    assert info.value.status_code == 200
    assert "max_response_size" in info.value.message


async def test_cap_applies_to_the_decompressed_body() -> None:
    bomb = gzip.compress(b'{"cancelledCount": 1, "x": "' + b"0" * 1_000_000 + b'"}')
    assert len(bomb) < 10_000
    async with FaultServer(
        default=Reply(200, bomb, headers={"Content-Encoding": "gzip"})
    ) as server:
        async with eight(server.url, max_response_size=10_000) as client:
            with pytest.raises(aiomsg.APIResponseError):
                await client.sms.cancel_message(SUB, UMID)
            assert acquired(client) == 0


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_exactly_at_the_cap_is_read(chunked: bool) -> None:
    body = b'{"cancelledCount": 7}'
    async with FaultServer(default=Reply(200, body, chunked=chunked, chunk_size=4)) as server:
        async with eight(server.url, max_response_size=len(body)) as client:
            result = await client.sms.cancel_message(SUB, UMID)
    assert result.cancelled_count == 7


# ---------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_never_followed(status: int) -> None:
    async with FaultServer(default=CANCEL_OK) as server:
        server.script(Reply(status, b"", headers={"Location": server.url + "/elsewhere"}))
        async with eight(server.url) as client:
            with pytest.raises(aiomsg.APIStatusError) as info:
                await client.sms.cancel_message(SUB, UMID)
            assert acquired(client) == 0
        assert server.count == 1
        assert all("/elsewhere" not in r.path for r in server.requests)
    assert info.value.status_code == status
    assert "redirect" in info.value.message.lower()


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ca.configure_trust(ctx)
    return ctx


async def test_tls_with_a_trusted_private_ca_works(ca: trustme.CA) -> None:
    async with FaultServer(default=CANCEL_OK, ssl=server_context(ca)) as server:
        assert server.url.startswith("https://")
        async with eight(server.url, ssl=trusting(ca)) as client:
            assert (await client.sms.cancel_message(SUB, UMID)).cancelled_count == 1


@pytest.mark.parametrize("case", ["untrusted-certificate", "tls-1.2-server"])
async def test_tls_failures_are_never_retried(ca: trustme.CA, case: str) -> None:
    events: list[aiomsg.RequestEvent] = []
    if case == "untrusted-certificate":
        server_ssl, client_ssl = server_context(ca), None  # system CAs do not know ours
    else:
        server_ssl, client_ssl = server_context(ca, ssl.TLSVersion.TLSv1_2), trusting(ca)
    async with FaultServer(default=CANCEL_OK, ssl=server_ssl) as server:
        async with eight(server.url, ssl=client_ssl, on_request=events.append) as client:
            with pytest.raises(aiomsg.TLSHandshakeError):
                await client.sms.cancel_message(SUB, UMID)
            assert client.stats.requests == 1
        assert server.count == 0
    assert len(events) == 1
    assert events[0].will_retry is False


def test_a_reset_while_opening_a_tls_connection_is_a_tls_failure() -> None:
    reset = aiohttp.ClientConnectorError(KEY, ConnectionResetError())
    assert isinstance(map_client_error(reset, "DELETE", "u", tls=True), aiomsg.TLSHandshakeError)
    plain = map_client_error(reset, "DELETE", "u", tls=False)
    assert not isinstance(plain, aiomsg.TLSHandshakeError)
    assert plain.request_sent is False


# ---------------------------------------------------------------- a caller's session


async def test_a_callers_session_settings_do_not_change_how_answers_are_read() -> None:
    not_found = Reply(404, b'{"code": 1300, "message": "Message not found."}')
    zipped = Reply(200, gzip.compress(b'{"cancelledCount": 1}'), {"Content-Encoding": "gzip"})
    async with FaultServer(default=not_found) as server:
        async with aiohttp.ClientSession(raise_for_status=True, auto_decompress=False) as session:
            async with eight(server.url, session=session) as client:
                with pytest.raises(aiomsg.NotFoundError) as info:
                    await client.sms.cancel_message(SUB, UMID)
                assert info.value.code == 1300
                assert server.count == 1  # a 404 is final, not a retried connection error
                server.script(zipped)
                result = await client.sms.cancel_message(SUB, UMID)
                assert result.cancelled_count == 1


async def test_closing_while_the_session_is_being_opened_leaves_no_session() -> None:
    client = aiomsg.EightByEight(api_key="k", sms_url="https://127.0.0.1:9", retry=FAST)
    async with anyio.create_task_group() as tg:

        async def call() -> None:
            with pytest.raises(aiomsg.ClientClosedError):
                await client.sms.cancel_message(SUB, UMID)

        tg.start_soon(call)
        await anyio.lowlevel.checkpoint()  # the call is now building the TLS context in a thread
        await client.aclose()
    assert client._transport._session is None
    with pytest.raises(aiomsg.ClientClosedError):
        await client.sms.cancel_message(SUB, UMID)


async def test_a_client_left_in_a_cancelled_scope_still_closes_its_session() -> None:
    stall = Reply(200, b'{"cancelledCount": 1}', delay=5.0)
    async with FaultServer(default=stall) as server:
        client = aiomsg.EightByEight(api_key="k", sms_url=server.url, retry=FAST)
        with anyio.move_on_after(0.3) as scope:
            async with client:
                await client.sms.cancel_message(SUB, UMID)
        assert scope.cancelled_caught
        assert client.closed
        assert client._transport._session is None
