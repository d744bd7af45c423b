"""A small HTTP/1.1 server on 127.0.0.1 that misbehaves on request, for resilience tests.

Each request is answered by the next scripted action (or by ``default`` when the
script is empty, or by ``handler`` when one is set):

- ``Reply``: a status, headers and body; optionally chunked, optionally after a stall,
  optionally cut short (``truncate_to``) and the connection closed;
- ``Drop``: close the connection without answering, before or after reading the body;
- ``Reset``: read the body, then abort the connection with a TCP reset;
- ``Stall``: read the request and answer nothing until ``release()`` or the client
  goes away (bounded by ``seconds``).

The server records every request it saw (method, path, headers, body, connection
number) and counts the requests in flight, so tests can assert what reached the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl as ssl_module
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Literal

import anyio

from aiomsg.testing._faults import reset_connection

__all__ = [
    "Drop",
    "FakeTime",
    "FaultServer",
    "Reply",
    "Reset",
    "SeenRequest",
    "Stall",
    "unused_port",
]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: Mapping[str, str] = field(default_factory=dict)
    chunked: bool = False
    chunk_size: int = 16 * 1024
    delay: float = 0.0
    """Seconds to wait before answering (cut short by ``release()``)."""
    truncate_to: int | None = None
    """Send only this many body bytes, then close (declared length stays the full one)."""
    stall_after: int | None = None
    """Send only this many body bytes, then stall like ``Stall`` (then close)."""
    close: bool = False


@dataclass(frozen=True)
class Drop:
    after_body: bool = True


@dataclass(frozen=True)
class Reset:
    pass


@dataclass(frozen=True)
class Stall:
    seconds: float = 10.0


Action = Reply | Drop | Reset | Stall


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    connection: int


def unused_port() -> int:
    """A loopback port with nothing listening on it (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class FaultServer:
    """``async with FaultServer() as server: ... server.url ...``"""

    def __init__(
        self,
        default: Action | None = None,
        handler: Callable[[SeenRequest], Action] | None = None,
        *,
        sock: socket.socket | None = None,
        ssl: ssl_module.SSLContext | None = None,
    ) -> None:
        self.default: Action = default or Reply()
        self.handler = handler
        self._sock = sock
        self._ssl = ssl
        self.requests: list[SeenRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections = 0
        self.client_disconnects = 0
        """Stalled requests whose client closed the connection before the answer."""
        self._script: deque[Action] = deque()
        self._changed = asyncio.Event()
        self._released = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self._ssl else 'http'}://127.0.0.1:{self.port}"

    @property
    def count(self) -> int:
        return len(self.requests)

    @property
    def tasks(self) -> frozenset[asyncio.Task[None]]:
        """The server's own connection tasks (to tell them from leaked client tasks)."""
        return frozenset(self._tasks)

    def script(self, *actions: Action) -> None:
        self._script.extend(actions)

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        """Wait until ``condition()`` holds (checked whenever the server's state moves);
        gives up after 5 seconds so a broken test cannot hang."""
        with anyio.fail_after(5):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    def _moved(self) -> None:
        self._changed.set()

    def release(self) -> None:
        """Let every stalled or delayed request go on."""
        self._released.set()

    async def __aenter__(self) -> FaultServer:
        if self._sock is not None:
            self._server = await asyncio.start_server(self._serve, sock=self._sock, ssl=self._ssl)
        else:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        self._released.set()
        for writer in list(self._writers):
            writer.transport.abort()
        # Aborted connections end their handlers; cancelling them instead would make
        # asyncio log the cancelled tasks as errors.
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=2)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2)
        await self._server.wait_closed()

    def _next_action(self, request: SeenRequest) -> Action:
        if self._script:
            return self._script.popleft()
        if self.handler is not None:
            return self.handler(request)
        return self.default

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        number = self.connections
        try:
            while await self._serve_one(reader, writer, number):
                pass
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ssl_module.SSLError,
            ValueError,  # not HTTP (a TLS hello sent to a plain port, say)
        ):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
            self._tasks.discard(task)

    async def _serve_one(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> bool:
        """One request on a connection; False when the connection is done."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        request = SeenRequest(method, path, headers, b"", number)
        action = self._next_action(request)
        if isinstance(action, Drop) and not action.after_body:
            self.requests.append(request)
            self._moved()
            return False
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        request = SeenRequest(method, path, headers, body, number)
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self._moved()
        try:
            return await self._act(action, reader, writer)
        finally:
            self.in_flight -= 1
            self._moved()

    async def _act(
        self, action: Action, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if isinstance(action, Drop):
            return False
        if isinstance(action, Reset):
            reset_connection(writer.transport)
            return False
        if isinstance(action, Stall):
            await self._wait(reader, action.seconds)
            return False
        if action.delay and await self._wait(reader, action.delay) == "gone":
            return False
        await self._reply(action, writer)
        if action.stall_after is not None:
            await self._wait(reader, 10.0)
            return False
        return not (action.close or action.truncate_to is not None)

    async def _wait(self, reader: asyncio.StreamReader, seconds: float) -> Literal["gone", "go"]:
        """Sleep up to ``seconds``; stop early on ``release()`` or when the client leaves."""
        eof = asyncio.ensure_future(reader.read(1))
        released = asyncio.ensure_future(self._released.wait())
        try:
            done, _ = await asyncio.wait(
                {eof, released}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for fut in (eof, released):
                fut.cancel()
            await asyncio.gather(eof, released, return_exceptions=True)
        if eof in done and not eof.cancelled() and eof.exception() is None and not eof.result():
            self.client_disconnects += 1
            self._moved()
            return "gone"
        return "go"

    async def _reply(self, action: Reply, writer: asyncio.StreamWriter) -> None:
        reason = (
            HTTPStatus(action.status).phrase
            if action.status in HTTPStatus._value2member_map_
            else "X"
        )
        head = [f"HTTP/1.1 {action.status} {reason}"]
        head += [f"{k}: {v}" for k, v in action.headers.items()]
        body = action.body
        if action.chunked:
            head.append("Transfer-Encoding: chunked")
        else:
            head.append(f"Content-Length: {len(body)}")
        if action.close:
            head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        limit = len(body)
        if action.truncate_to is not None or action.stall_after is not None:
            limit = action.truncate_to if action.truncate_to is not None else action.stall_after
            assert limit is not None
        if action.chunked:
            step = action.chunk_size
            for start in range(0, limit, step):
                piece = body[start : min(start + step, limit)]
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
            if limit == len(body):
                writer.write(b"0\r\n\r\n")
        else:
            writer.write(body[:limit])
        with contextlib.suppress(ConnectionError):
            await writer.drain()


class FakeTime:
    """A clock and a sleep for one task at a time: sleeping moves the clock forward.

    Every requested sleep is recorded in ``sleeps``; nothing really waits (beyond one
    trip through the event loop, so cancellation can land).
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)
