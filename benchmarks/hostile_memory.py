"""Peak memory of a bulk Revicom stop against answers no honest server sends.

``python -m benchmarks.hostile_memory [--concurrency 1 4 16 64] [--answers endless ...]``

A loopback server in this process answers every stop request with one of:

- ``endless``: ``200`` with a chunked body that never ends;
- ``declared``: ``200`` declaring a 2 GB ``Content-Length`` and sending it slowly forever;
- ``error``: ``503`` with a chunked body that never ends (retried, as 503s are);
- ``honest``: the reference, a real answer (every uuid stopped) with its length.

For each answer and concurrency, a fresh child process streams a stop of 64 requests
of 10,000 uuids (generated lazily, outcomes counted and dropped, so neither input nor
report weighs on the figure) and prints its peak RSS (``ru_maxrss``) and how the
items ended; the parent prints one line per run and a table. Every request must fail
with a typed error, no item may be lost, and the peak must not grow with concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from typing import Any, Final

ANSWERS: Final = ("honest", "endless", "declared", "error")
UUIDS_PER_REQUEST: Final = 10_000
REQUESTS: Final = 64
_HEAD: Final = b'{"errors": false, "items": ['
_FILLER: Final = b'{"messageUuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "code": 200}, ' * 1000


# ------------------------------------------------------------------------ server


async def _serve(answer: str) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                await _answer(answer, writer, body)
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,  # torn down with the loop: end quietly
        ):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _answer(answer: str, writer: asyncio.StreamWriter, body: bytes) -> None:
    if answer == "honest":
        items = [{"messageUuid": u, "code": 200} for u in json.loads(body)["uuids"]]
        data = json.dumps({"errors": False, "items": items}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(data) + data
        )
        await writer.drain()
        return
    if answer == "declared":
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2000000000\r\n\r\n"
        )
        writer.write(_HEAD)
        while True:  # until the client goes away
            writer.write(_FILLER)
            await writer.drain()
            await asyncio.sleep(0.001)
    status = b"503 Service Unavailable" if answer == "error" else b"200 OK"
    writer.write(
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n" % len(_FILLER) + _FILLER + b"\r\n"
    writer.write(b"%x\r\n" % len(_HEAD) + _HEAD + b"\r\n")
    while True:
        writer.write(chunk)
        await writer.drain()


# ------------------------------------------------------------------------- child


def _max_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


async def _child(url: str, concurrency: int) -> dict[str, Any]:
    import aiomsg

    count = UUIDS_PER_REQUEST * REQUESTS
    uuids = (f"{i:08x}-0000-4000-8000-000000000000" for i in range(count))
    rss_before = _max_rss_mb()
    started = time.perf_counter()
    errors: set[str] = set()
    async with aiomsg.Revicom(
        token="YmVuY2g6YmVuY2g=",
        base_url=url,
        retry=aiomsg.RetryPolicy(max_attempts=2, backoff_base=0.01),
        rate_limit=aiomsg.RateLimit(rate=None, concurrency=concurrency),
        connector_limit=concurrency,
        timeout=aiomsg.Timeout(total=120),
    ) as client:
        async with client.stream_stop(uuids, concurrency=concurrency) as stream:
            async for outcome in stream:
                if outcome.error is not None:
                    errors.add(type(outcome.error).__name__)
        report = stream.report
    return {
        "items": count,
        "counts": {k.value: v for k, v in report.counts.items() if v},
        "errors": sorted(errors),
        "requests": report.requests,
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(_max_rss_mb(), 1),
        "seconds": round(time.perf_counter() - started, 2),
    }


# ------------------------------------------------------------------------ parent


async def _run_one(answer: str, concurrency: int) -> dict[str, Any]:
    server, port = await _serve(answer)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.hostile_memory", "--child",
            "--url", f"http://127.0.0.1:{port}", "--concurrency", str(concurrency),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await proc.communicate()
    finally:
        server.close()
    if proc.returncode != 0:
        return {"answer": answer, "concurrency": concurrency, "failed": proc.returncode}
    return {"answer": answer, "concurrency": concurrency, **json.loads(out)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile_memory")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--answers", nargs="+", choices=ANSWERS, default=list(ANSWERS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(_child(args.url, args.concurrency[0]))))
        return 0
    rows = []
    for answer in args.answers:
        for concurrency in args.concurrency:
            row = asyncio.run(_run_one(answer, concurrency))
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(f"\n{'answer':<10}{'concurrency':>12}{'peak RSS MB':>13}{'seconds':>9}  outcomes")
    for row in rows:
        print(
            f"{row['answer']:<10}{row['concurrency']:>12}{row.get('peak_rss_mb', '-'):>13}"
            f"{row.get('seconds', '-'):>9}  {row.get('counts', row.get('failed'))} "
            f"{row.get('errors', '')}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
