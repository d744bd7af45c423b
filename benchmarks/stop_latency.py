"""How long a stopped bulk job takes to return over a huge lazy input.

``python -m benchmarks.stop_latency [--size N]`` streams ``N`` (default 10,000,000)
uuids from a generator through ``Revicom.stop`` against a loopback server, stops
the job after half a second with ``abort``, ``finish`` or ``deadline``, and prints
the time from the trigger to the call's return, the items the report names, and
the peak RSS. The generator makes its uuids as it is read, so reading the rest of
the input would show as seconds here.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
from aiohttp import web

import aiomsg

RUN_FOR = 0.5  # seconds of sending before the trigger


def generate(n: int) -> Iterator[str]:
    for _ in range(n):
        yield str(uuid.uuid4())


async def answer(request: web.Request) -> web.Response:
    body = await request.json()
    items = [{"messageUuid": u, "code": 200} for u in body["uuids"]]
    return web.json_response({"items": items, "errors": False})


async def one(url: str, how: str, size: int) -> tuple[float, aiomsg.BulkReport]:
    event = anyio.Event()
    options: dict[str, Any] = {}
    if how == "deadline":
        options["deadline"] = RUN_FOR
    else:
        options[how] = event
    async with aiomsg.Revicom(token="t", base_url=url) as client:
        start = time.perf_counter()
        trigger = start + RUN_FOR
        if how != "deadline":

            async def fire() -> None:
                nonlocal trigger
                await anyio.sleep(RUN_FOR)
                trigger = time.perf_counter()
                event.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(fire)
                report = await client.stop(generate(size), **options)
        else:
            report = await client.stop(generate(size), **options)
        return time.perf_counter() - trigger, report


async def main(size: int) -> None:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/api/v1/message/stop", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    print(f"stop over a generator of {size:,} uuids, triggered after {RUN_FOR} s of sending")
    print(f"{'trigger':<10} {'trigger -> return':>18} {'items named':>12} {'peak RSS':>9}")
    try:
        for how in ("abort", "finish", "deadline"):
            latency, report = await one(url, how, size)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            assert sum(report.counts.values()) == len(report)
            assert report.unread_input
            print(f"{how:<10} {latency * 1000:>15.1f} ms {len(report):>12,} {peak:>6.0f} MB")
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000_000)
    asyncio.run(main(parser.parse_args().size))
