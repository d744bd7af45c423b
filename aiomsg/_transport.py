"""The session pool: one aiohttp session per client, TLS, timeouts, bounded reads.

Each answer is read up to what its request can need (``answer_cap``), within a
client-wide ``ByteBudget`` shared by every read in flight.

This is the only module that touches aiohttp's request API, and the one place that
maps aiohttp's exceptions to ours. It knows nothing of providers: it sends a method,
a path and bytes, and hands back the status, the headers it needs and the body.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import ssl
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import aiohttp
import anyio
from multidict import CIMultiDictProxy
from yarl import URL

from ._errors import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    TLSHandshakeError,
)
from ._numbers import SECONDS_RULE, duration, setting_error

__all__ = [
    "DEFAULT_MAX_RESPONSE_SIZE",
    "ByteBudget",
    "Host",
    "RawResponse",
    "Timeout",
    "Transport",
    "answer_cap",
    "check_base_url",
]

DEFAULT_MAX_RESPONSE_SIZE: Final = 64 * 1024 * 1024
DEFAULT_CONNECTOR_LIMIT: Final = 100
_CHUNK: Final = 256 * 1024
#: An answer may be this large whatever was asked (a DELETE's answer is tiny) ...
ANSWER_FLOOR: Final = 64 * 1024
#: ... plus this many bytes per byte of request body (a 10,000-uuid stop, 390 kB,
#: is answered in about 600 kB; a LINE batch in at most a few times its size).
ANSWER_PER_REQUEST_BYTE: Final = 16
#: An error answer is read this far at most; beyond it the rest is dropped unread
#: (the error needs the code, the message or an excerpt, nothing more).
ERROR_BODY_LIMIT: Final = 64 * 1024
_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_BAD_URL_CHARS_RE: Final = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# A DNS name once IDNA-encoded (yarl does that): letters, digits, '-', '.', and '_'
# (not in DNS host names, but common in internal service names).
_HOST_RE: Final = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?")


@dataclass(frozen=True, slots=True)
class Timeout:
    """Per-attempt time limits in seconds (``None`` for no limit).

    ``connect`` bounds opening the TCP/TLS connection, ``read`` bounds each wait for
    data, ``total`` bounds one whole attempt. Time spent waiting for the client's own
    rate and concurrency limiters is not counted.
    """

    connect: float | None = 10.0
    read: float | None = 30.0
    total: float | None = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            value = getattr(self, name)
            if value is not None:
                number = duration(value)
                if number is None:
                    raise setting_error(f"Timeout.{name}", value, f"{SECONDS_RULE}, or None")
                object.__setattr__(self, name, number)

    @classmethod
    def coerce(cls, value: Timeout | float | None) -> Timeout:
        """``None``: the defaults; a number: that total per attempt, other limits default."""
        if value is None:
            return cls()
        if isinstance(value, Timeout):
            return value
        number = duration(value)
        if number is None:
            rule = f"an aiomsg.Timeout, {SECONDS_RULE}, or None"
            raise setting_error("timeout", value, rule)
        return cls(total=float(number))


@dataclass(frozen=True, slots=True)
class RawResponse:
    """What one attempt produced: never the live aiohttp response."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


def check_base_url(value: str, name: str) -> URL:
    """A provider base URL: https (or http to loopback only), no credentials in it."""
    if isinstance(value, str) and _BAD_URL_CHARS_RE.search(value):
        # yarl would drop a lone surrogate and keep a NUL: another URL than given.
        raise ConfigurationError(
            f"{name} contains whitespace, a control character or a lone surrogate"
        )
    try:
        url = URL(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} is not a valid URL") from None
    host = url.raw_host or ""
    if host and not (_HOST_RE.fullmatch(host) or _is_ip(host)):
        raise ConfigurationError(f"{name} has a host that is not a valid host name")
    if url.explicit_port == 0:
        raise ConfigurationError(f"{name} has port 0; give a port from 1 to 65535")
    if url.user is not None or url.password is not None:
        raise ConfigurationError(
            f"{name} must not contain user:password@; credentials go in api_key/token"
        )
    if url.scheme not in ("https", "http") or not url.host:
        raise ConfigurationError(f"{name} must be an absolute https:// URL")
    if url.scheme == "http" and url.host not in _LOOPBACK_HOSTS:
        raise ConfigurationError(
            f"{name} uses http:// toward {url.host}; only https:// is allowed "
            "except to a loopback address (127.0.0.1, ::1, localhost)"
        )
    if url.query_string or url.fragment:
        raise ConfigurationError(f"{name} must not have a query or a fragment")
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def make_ssl_context(minimum_version: ssl.TLSVersion) -> ssl.SSLContext:
    """A verifying client context; slow (loads the CA store), so built once per client."""
    ctx = ssl.create_default_context()
    ctx.minimum_version = minimum_version
    return ctx


def answer_cap(body: bytes | None, max_response_size: int) -> int:
    """The most bytes an honest answer to a request with this body can need."""
    size = 0 if body is None else len(body)
    return min(max_response_size, ANSWER_FLOOR + ANSWER_PER_REQUEST_BYTE * size)


class ByteBudget:
    """Bytes of answers a client may hold while reading them, across all its requests.

    A read reserves, before buffering anything, all it may come to hold (the
    declared length, else the request's cap), and gives it back when done. A
    reservation is all or nothing and never larger than the budget, and waiters are
    served in order, so a read that has started always finishes and none can
    starve: no deadlock, and what is held does not grow with concurrency.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self._free = total
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def free(self) -> int:
        return self._free

    def try_reserve(self, size: int) -> int | None:
        """Take ``size`` bytes (at most the whole budget) if free now and nobody waits."""
        size = min(size, self.total)
        if not self._waiters and self._free >= size:
            self._free -= size
            return size
        return None

    async def reserve(self, size: int) -> int:
        """Wait until ``size`` bytes (at most the whole budget) are free; take them."""
        taken = self.try_reserve(size)
        if taken is not None:
            return taken
        size = min(size, self.total)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (size, waiter)
        self._waiters.append(entry)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release(size)  # granted as we were cancelled: give it back
            else:
                if entry in self._waiters:
                    self._waiters.remove(entry)
                self._wake()  # we may have been the head that blocked others
            raise
        return size

    def release(self, size: int) -> None:
        self._free += size
        self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        while waiters and waiters[0][0] <= self._free:
            size, waiter = waiters.popleft()
            if waiter.done():  # cancelled; its reserve() removes nothing now
                continue
            self._free -= size
            waiter.set_result(None)

    def __repr__(self) -> str:
        return f"ByteBudget(free={self._free}, total={self.total}, waiting={len(self._waiters)})"


@dataclass(frozen=True, slots=True)
class Host:
    """One provider API: its base URL and the headers every request to it carries."""

    base_url: URL
    headers: Mapping[str, str]
    #: Credentials to mask if an error answer echoes them.
    secrets: tuple[str, ...] = ()

    def url(self, path: str) -> URL:
        return self.base_url.with_path(self.base_url.raw_path.rstrip("/") + path, encoded=True)

    def shown(self, path: str) -> str:
        """The URL for logs and errors: no credentials, no query."""
        base = self.base_url
        return f"{base.scheme}://{base.host_port_subcomponent}{base.raw_path.rstrip('/')}{path}"

    def __repr__(self) -> str:
        return f"Host({str(self.base_url)!r})"


class Transport:
    """Owns (or borrows) the client's one aiohttp session; sends one attempt at a time."""

    def __init__(
        self,
        *,
        timeout: Timeout,
        ssl_context: ssl.SSLContext | None,
        min_tls_version: ssl.TLSVersion,
        session: aiohttp.ClientSession | None,
        connector_limit: int,
        max_response_size: int,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        if connector_limit < 1:
            raise ConfigurationError("connector_limit must be at least 1")
        if max_response_size < 1:
            raise ConfigurationError("max_response_size must be at least 1 byte")
        if session is not None and trace_configs:
            raise ConfigurationError(
                "trace_configs only apply to the session the client creates; with "
                "session=, add them to your own aiohttp.ClientSession instead"
            )
        self._client_timeout = aiohttp.ClientTimeout(
            total=timeout.total, sock_connect=timeout.connect, sock_read=timeout.read
        )
        self._ssl_context = ssl_context
        self._min_tls = min_tls_version
        self._session = session
        self._owns_session = session is None
        self._connector_limit = connector_limit
        self._max_response_size = max_response_size
        # One answer may take all of max_response_size; all answers being read at
        # once share it too, so memory does not grow with concurrency.
        self.budget = ByteBudget(max_response_size)
        self._trace_configs = list(trace_configs)
        # Never wait inside aiohttp's pool (that wait would count against the timeout):
        # the limiter admits no more requests than the pool has connections.
        self._pool_slots = anyio.CapacityLimiter(_pool_size(session, connector_limit))
        # Per-request middlewares (None: the session's own). Only a caller's session
        # needs one: see ``_no_hidden_retry``.
        self._middlewares: tuple[aiohttp.ClientMiddlewareType, ...] | None = None
        if session is not None and getattr(session, "_retry_connection", False):
            own = tuple(getattr(session, "_middlewares", ()))
            self._middlewares = (*own, _no_hidden_retry)
        self._closed = False
        self._open_lock = anyio.Lock()

    @property
    def closed(self) -> bool:
        return self._closed

    async def open(self, https: bool = True) -> aiohttp.ClientSession:
        """The session, created on first use inside the running event loop."""
        if self._closed:
            raise ClientClosedError()
        if self._session is not None and (self._ssl_context is not None or not https):
            return self._session
        async with self._open_lock:
            if self._ssl_context is None and https:
                self._ssl_context = await anyio.to_thread.run_sync(make_ssl_context, self._min_tls)
            if self._closed:  # closed while the context was being built
                raise ClientClosedError()
            if self._session is None:
                ssl_arg: ssl.SSLContext | bool = self._ssl_context or True
                connector = aiohttp.TCPConnector(
                    limit=self._connector_limit, limit_per_host=0, ssl=ssl_arg
                )
                session = aiohttp.ClientSession(
                    connector=connector,
                    timeout=self._client_timeout,
                    trace_configs=self._trace_configs or None,
                    auto_decompress=True,
                )
                # aiohttp silently repeats an idempotent request (DELETE) once when
                # its connection breaks (a stale keep-alive one, typically). We retry
                # ourselves, so switch that off to make the configured attempt count
                # the number of requests the server sees.
                session._retry_connection = False
                self._session = session
        return self._session

    async def aclose(self) -> None:
        """Close the session if we created it; idempotent."""
        if self._closed:
            return
        self._closed = True
        # Shielded: a client left inside a cancelled scope must still close its session.
        with anyio.CancelScope(shield=True):
            # Under the lock: a session being created right now is then closed too.
            async with self._open_lock:
                session, self._session = self._session, None
            if session is not None and self._owns_session:
                await session.close()

    async def send(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        body: bytes | None,
        shown: str,
    ) -> RawResponse:
        """One attempt. ``url`` is fully built and encoded; ``shown`` is its safe form."""
        https = url.scheme == "https"
        session = await self.open(https)
        slots = self._pool_slots
        try:
            slots.acquire_nowait()  # the common case, without a trip through the loop
        except anyio.WouldBlock:
            await slots.acquire()
        try:
            try:
                async with session.request(
                    method,
                    url,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    # A caller's session may say otherwise: status codes are ours to
                    # map, and bodies must arrive decoded.
                    raise_for_status=False,
                    auto_decompress=True,
                    timeout=self._client_timeout,
                    ssl=self._ssl_context if https and self._ssl_context else True,
                    middlewares=self._middlewares,
                ) as resp:
                    cap = answer_cap(body, self._max_response_size)
                    data = await self._read_capped(resp, cap, method, shown)
                    return RawResponse(resp.status, resp.headers, data)
            except _AttemptFailed as exc:
                raise map_client_error(exc.error, method, shown, tls=https) from exc.error
            except aiohttp.ClientError as exc:
                raise map_client_error(exc, method, shown, tls=https) from exc
            except asyncio.TimeoutError as exc:
                raise APITimeoutError(
                    "Request timed out (total per-attempt timeout)", method=method, url=shown
                ) from exc
        finally:
            slots.release()

    async def _read_capped(
        self, resp: aiohttp.ClientResponse, cap: int, method: str, shown: str
    ) -> bytes:
        """The body, up to ``cap`` bytes, read within the client's byte budget.

        A success answer over ``cap`` is an ``APIResponseError`` (its connection is
        dropped, not drained); an error answer is read to ``ERROR_BODY_LIMIT`` and
        the rest dropped, as its status says what matters.
        """
        success = 200 <= resp.status < 300
        if not success:
            cap = min(cap, ERROR_BODY_LIMIT)
        length = resp.content_length
        if length is not None and length > cap and success:
            resp.close()  # drop the connection rather than drain a huge body
            raise self._too_large(resp, cap, method, shown, length)
        exact = length is not None and length <= cap and "Content-Encoding" not in resp.headers
        budget = self.budget
        need = length if exact and length is not None else cap
        held = budget.try_reserve(need)  # the common case, without a coroutine
        if held is None:
            held = await budget.reserve(need)
        try:
            if exact:
                return await resp.read()
            buffer = bytearray()
            async for chunk in resp.content.iter_chunked(_CHUNK):
                if len(buffer) + len(chunk) > cap:
                    resp.close()
                    if not success:
                        buffer += chunk[: cap - len(buffer)]
                        break
                    # The error's traceback keeps this frame alive as long as the
                    # error lives (a bulk report keeps it): drop what it holds first.
                    del buffer, chunk
                    raise self._too_large(resp, cap, method, shown)
                buffer += chunk
            return bytes(buffer)
        finally:
            budget.release(held)

    def _too_large(
        self,
        resp: aiohttp.ClientResponse,
        cap: int,
        method: str,
        shown: str,
        length: int | None = None,
    ) -> APIResponseError:
        size = f"of {length:,} bytes " if length is not None else ""
        why = (
            "max_response_size"
            if cap == self._max_response_size
            else "what an answer to this request can need"
        )
        return APIResponseError(
            f"Response body {size}exceeds {cap:,} bytes ({why}; max_response_size "
            f"is {self._max_response_size:,}); the rest was not read",
            method=method,
            url=shown,
            status_code=resp.status,
        )


def _pool_size(session: aiohttp.ClientSession | None, limit: int) -> int:
    """How many requests may be in aiohttp's hands at once without queueing in its pool.

    A caller's session brings its own connector, whose limits may be lower than ours.
    (The caller's other traffic can still hold its connections; waiting for those
    then counts as request time, which we cannot prevent.)
    """
    connector = None if session is None else session.connector
    if connector is None:
        return limit
    for cap in (connector.limit, connector.limit_per_host):
        if cap:
            limit = min(limit, cap)
    return limit


class _AttemptFailed(aiohttp.ClientError):
    """Carries a connection failure past aiohttp's own retry (see ``_no_hidden_retry``)."""

    def __init__(self, error: aiohttp.ClientError) -> None:
        self.error = error
        super().__init__(str(error))


async def _no_hidden_retry(
    req: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Stop aiohttp from silently sending an idempotent request a second time.

    aiohttp repeats a DELETE once when the connection breaks (``ClientOSError``,
    ``ServerDisconnectedError``), unless the session's private ``_retry_connection``
    is off. We switch that off on sessions we create, but must not change a caller's
    session; so on theirs this innermost middleware re-raises those failures as an
    error aiohttp does not retry, and the attempts the policy allows are exactly the
    requests sent.
    """
    try:
        return await handler(req)
    except aiohttp.ClientConnectorError:
        raise  # never retried by aiohttp
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _AttemptFailed(exc) from exc


def map_client_error(
    exc: aiohttp.ClientError, method: str, url: str, *, tls: bool = False
) -> APIConnectionError:
    """aiohttp's exception → ours; ``request_sent`` is False only when provably unsent.

    ``tls`` says the connection was to be TLS: a reset while opening it then happened
    in the handshake, which is how a server refusing our TLS version often answers
    (its alert lost); that will not heal on retry, so it is a ``TLSHandshakeError``.
    """
    if isinstance(
        exc,
        aiohttp.ClientConnectorCertificateError
        | aiohttp.ClientConnectorSSLError
        | aiohttp.ClientSSLError
        | aiohttp.ServerFingerprintMismatch,
    ) or (
        tls
        and isinstance(exc, aiohttp.ClientConnectorError)
        and isinstance(exc.os_error, ConnectionResetError)
    ):
        what = (
            type(exc).__name__
            if not isinstance(exc, aiohttp.ClientConnectorError)
            or isinstance(exc, aiohttp.ClientSSLError)
            else "connection reset during the handshake"
        )
        return TLSHandshakeError(
            f"TLS handshake failed ({what}): the server may not offer the "
            "minimum TLS version (1.3 toward 8x8 by default) or its certificate is not "
            "trusted (pass ssl= a context that trusts its CA)",
            method=method,
            url=url,
            request_sent=False,
        )
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(
            "Timed out opening the connection", method=method, url=url, request_sent=False
        )
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return APITimeoutError("Timed out waiting for the answer", method=method, url=url)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(
            f"Could not connect: {exc.os_error.strerror or type(exc.os_error).__name__}",
            method=method,
            url=url,
            request_sent=False,
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return APIConnectionError("Server closed the connection", method=method, url=url)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return APIConnectionError("Response body was cut short", method=method, url=url)
    if isinstance(exc, aiohttp.InvalidURL):
        return APIConnectionError("Invalid request URL", method=method, url=url)
    if isinstance(exc, aiohttp.ClientOSError) and exc.strerror:
        return APIConnectionError(f"Connection broken: {exc.strerror}", method=method, url=url)
    return APIConnectionError(f"Connection error: {type(exc).__name__}", method=method, url=url)
