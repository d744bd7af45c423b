"""Canned loopback server for the benchmarks, run in its own process.

A bare ``asyncio.Protocol`` HTTP/1.1 keep-alive server (uvloop when installed) that
parses just enough of each request to echo it in a correctly shaped answer, so the
client's cost is not hidden behind server cost:

- ``POST /api/v1/subaccounts/{sub}/lon/batch``: one queued result per message, in order,
  echoing ``user`` and ``clientMessageId`` (``messages`` only when asked for).
- ``POST /api/v1/message/stop``: code 200 for every uuid, echoed in order.
- ``DELETE /api/v1/subaccounts/{sub}/messages/{umid}``: ``{"cancelledCount":1}``.
- ``GET /__stats``: requests and items served so far (for the harness, not counted).
- ``GET /__limit?sub=NAME&rate=R&burst=B``: from now on, limit SMS cancels on
  sub-account ``NAME`` with a token bucket (``R`` per second, ``B`` at most, full at
  first), answering 429 with ``Retry-After`` in whole seconds (at least 1) like 8x8;
  ``GET /__limit?sub=NAME`` reads that sub-account's counters (answers taken and
  refused, and when the first request and the last taken one arrived).

Start: ``python -m benchmarks.server [--port 0]``; it prints ``PORT <n>`` once listening
and exits on SIGTERM/SIGINT or when its standard input closes (its parent went away).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from typing import Final, cast

import msgspec

from benchmarks.common import LIMIT_PATH, STATS_PATH

_QUEUED: Final = msgspec.Raw(b'{"state":"queued","timestamp":"2020-01-04T08:19:45.99Z"}')
_CANCELLED: Final = b'{"cancelledCount":1}'
_REASONS: Final = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    429: b"Too Many Requests",
}


class _InLine(msgspec.Struct, rename="camel"):
    user: msgspec.Raw
    client_message_id: str | msgspec.UnsetType = msgspec.UNSET


class _InBatch(msgspec.Struct, rename="camel"):
    messages: list[_InLine]
    client_batch_id: str | msgspec.UnsetType = msgspec.UNSET
    include_messages_in_response: bool = False


class _OutLine(msgspec.Struct, rename="camel", kw_only=True):
    umid: str
    user: msgspec.Raw
    client_message_id: str | msgspec.UnsetType = msgspec.UNSET
    status: msgspec.Raw


class _OutBatch(msgspec.Struct, rename="camel", omit_defaults=True):
    batch_id: str
    accepted_count: int
    rejected_count: int
    client_batch_id: str | msgspec.UnsetType = msgspec.UNSET
    messages: list[_OutLine] | msgspec.UnsetType = msgspec.UNSET


class _InStop(msgspec.Struct):
    uuids: list[str]


class _StopItem(msgspec.Struct, rename="camel"):
    message_uuid: str
    code: int


class _OutStop(msgspec.Struct):
    errors: bool
    items: list[_StopItem]


class _Error(msgspec.Struct, rename="camel"):
    code: int
    message: str
    error_id: str
    timestamp: str


class Bucket:
    """A provider's per-sub-account limit: a token bucket, full at first, and what it
    answered."""

    __slots__ = ("burst", "first", "last_taken", "rate", "refused", "stamp", "taken", "tokens")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()
        self.taken = 0
        self.refused = 0
        self.first = math.nan
        self.last_taken = math.nan

    def take(self) -> float:
        """0 when a request may pass (and it is counted), else seconds until one may."""
        now = time.monotonic()
        if self.first != self.first:
            self.first = now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.taken += 1
            self.last_taken = now
            return 0.0
        self.refused += 1
        return (1.0 - self.tokens) / self.rate

    def stats(self) -> bytes:
        return msgspec.json.encode(
            {
                "rate": self.rate,
                "burst": self.burst,
                "taken": self.taken,
                "refused": self.refused,
                "seconds": self.last_taken - self.first if self.taken else 0.0,
            }
        )


class App:
    """Routes a parsed request to a canned answer and keeps the counters."""

    def __init__(self) -> None:
        self.requests = 0
        self.items = 0
        self._umid_prefix = str(uuid.uuid4())[:24]
        self._umid_counter = 0
        self._encoder = msgspec.json.Encoder()
        self._batch = msgspec.json.Decoder(_InBatch)
        self._stop = msgspec.json.Decoder(_InStop)
        self.limits: dict[bytes, Bucket] = {}

    def handle(
        self, method: bytes, target: bytes, body: bytes
    ) -> tuple[int, bytes] | tuple[int, bytes, bytes]:
        path, _, query = target.partition(b"?")
        if path == STATS_PATH.encode():
            return 200, b'{"requests":%d,"items":%d}' % (self.requests, self.items)
        if path == LIMIT_PATH.encode():
            return self._limit(query)
        self.requests += 1
        parts = path.split(b"/")
        # ['', 'api', 'v1', ...]
        if len(parts) < 4 or parts[1] != b"api" or parts[2] != b"v1":
            return self._error(404, 1300, "Not found")
        rest = parts[3:]
        try:
            if rest == [b"message", b"stop"]:
                return self._expect(method, b"POST") or self._stop_messages(body)
            if len(rest) == 4 and rest[0] == b"subaccounts" and rest[2:] == [b"lon", b"batch"]:
                return self._expect(method, b"POST") or self._line_batch(body)
            if len(rest) == 4 and rest[0] == b"subaccounts" and rest[2] == b"messages":
                return self._expect(method, b"DELETE") or self._limited(rest[1]) or self._cancel()
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return self._error(400, 1000, f"Invalid request: {exc}")
        return self._error(404, 1300, "Not found")

    def _expect(self, method: bytes, wanted: bytes) -> tuple[int, bytes] | None:
        if method != wanted:
            return self._error(405, 1000, "Method not allowed")
        return None

    def _limit(self, query: bytes) -> tuple[int, bytes]:
        params = urllib.parse.parse_qs(query.decode())
        sub = params["sub"][0].encode()
        if "rate" in params:
            rate = float(params["rate"][0])
            self.limits[sub] = Bucket(rate, float(params.get("burst", [str(rate)])[0]))
        bucket = self.limits.get(sub)
        return (200, bucket.stats()) if bucket is not None else self._error(404, 1300, "No limit")

    def _limited(self, sub: bytes) -> tuple[int, bytes, bytes] | None:
        bucket = self.limits.get(sub)
        if bucket is None:
            return None
        wait = bucket.take()
        if wait <= 0.0:
            return None
        # 8x8 answers whole seconds ("Retry-After: 1").
        retry_after = b"Retry-After: %d\r\n" % max(1, math.ceil(wait))
        return (*self._error(429, 1100, "Too many requests"), retry_after)

    def _next_umid(self) -> str:
        self._umid_counter += 1
        return f"{self._umid_prefix}{self._umid_counter:012x}"

    def _line_batch(self, body: bytes) -> tuple[int, bytes]:
        batch = self._batch.decode(body)
        n = len(batch.messages)
        self.items += n
        out = _OutBatch(
            batch_id=str(uuid.uuid4()),
            client_batch_id=batch.client_batch_id,
            accepted_count=n,
            rejected_count=0,
        )
        if batch.include_messages_in_response:
            out.messages = [
                _OutLine(
                    umid=self._next_umid(),
                    user=m.user,
                    client_message_id=m.client_message_id,
                    status=_QUEUED,
                )
                for m in batch.messages
            ]
        return 200, self._encoder.encode(out)

    def _stop_messages(self, body: bytes) -> tuple[int, bytes]:
        ids = self._stop.decode(body).uuids
        self.items += len(ids)
        items = [_StopItem(message_uuid=u, code=200) for u in ids]
        return 200, self._encoder.encode(_OutStop(errors=False, items=items))

    def _cancel(self) -> tuple[int, bytes]:
        self.items += 1
        return 200, _CANCELLED

    def _error(self, status: int, code: int, message: str) -> tuple[int, bytes]:
        err = _Error(
            code=code,
            message=message,
            error_id=str(uuid.uuid4()),
            timestamp="2020-06-18T06:42:57.20Z",
        )
        return status, self._encoder.encode(err)


class _Pending:
    __slots__ = ("body_start", "chunked", "close", "length", "method", "target")

    def __init__(
        self,
        method: bytes,
        target: bytes,
        body_start: int,
        length: int,
        chunked: bool,
        close: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.body_start = body_start
        self.length = length
        self.chunked = chunked
        self.close = close


def _parse_chunked(buf: bytearray, start: int) -> tuple[bytes, int] | None:
    """Decode a chunked body starting at ``start``; ``None`` until it is complete."""
    pos = start
    out = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";", 1)[0], 16)
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n\r\n", pos - 2)
            if end < 0:
                return None
            return bytes(out), end + 4
        if len(buf) < pos + size + 2:
            return None
        out += buf[pos : pos + size]
        pos += size + 2


class HTTPProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 server side: keep-alive, Content-Length or chunked bodies."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._buf = bytearray()
        self._pending: _Pending | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        while self._transport is not None:
            if self._pending is None and not self._parse_head():
                return
            pending = self._pending
            assert pending is not None
            if pending.chunked:
                parsed = _parse_chunked(self._buf, pending.body_start)
                if parsed is None:
                    return
                body, consumed = parsed
            else:
                consumed = pending.body_start + pending.length
                if len(self._buf) < consumed:
                    return
                body = bytes(self._buf[pending.body_start : consumed])
            del self._buf[:consumed]
            self._pending = None
            self._respond(pending, body)

    def _parse_head(self) -> bool:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = bytes(self._buf[:end]).split(b"\r\n")
        method, target, _version = lines[0].split(b" ", 2)
        length = 0
        chunked = close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"expect" and value.strip().lower() == b"100-continue":
                assert self._transport is not None
                self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._pending = _Pending(method, target, end + 4, length, chunked, close)
        return True

    def _respond(self, pending: _Pending, body: bytes) -> None:
        answer = self._app.handle(pending.method, pending.target, body)
        status, payload = answer[0], answer[1]
        head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
            status,
            _REASONS.get(status, b"Error"),
            len(payload),
        )
        if len(answer) == 3:
            head += answer[2]
        if pending.close:
            head += b"Connection: close\r\n"
        assert self._transport is not None
        self._transport.write(head + b"\r\n" + payload)
        if pending.close:
            self._transport.close()
            self._transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._buf.clear()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    app = App()
    server = await loop.create_server(lambda: HTTPProtocol(app), host, port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_parent() -> None:
        # EOF on stdin means the harness is gone: never outlive it.
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_parent, daemon=True).start()
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-uvloop", action="store_true", help="use the default asyncio loop")
    args = parser.parse_args(argv)
    try:
        if args.no_uvloop:
            raise ImportError
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))
    os._exit(0)  # the stdin watcher thread may still be blocked in read()


if __name__ == "__main__":
    raise SystemExit(main())
