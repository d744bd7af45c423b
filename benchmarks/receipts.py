"""Delivery receipts per second through the receiver, with the store on disk.

``python -m benchmarks.receipts [--count N] [--concurrency C] [--synchronous full|normal]``

The receiver (``aiomsg.receipts.create_receipt_app`` with a ``SQLiteReceiptStore`` in a
temporary directory) runs in its own process, as in production; this process plays
8x8: it POSTs ``--count`` distinct v9 receipts (pre-encoded, raw aiohttp) with
``--concurrency`` requests in flight and counts the 200 answers. Every 200 means the
receipt was committed first, so receipts/s is acknowledged, durable receipts per
second. The receiver's resident memory is read from ``/proc`` at each tenth of the
run: it should stay flat as the count grows. At the end the store is opened again
and must hold every receipt. Where the OS allows, the receiver and this process are
pinned to separate CPUs (``--no-pin`` to turn off). ``--synchronous floor`` runs
the same load against a bare aiohttp handler that reads the body and stores nothing:
what any ``aiohttp.web`` receiver costs before doing its own work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

AUTH: Final = "Basic YmVuY2g6cmVjZWlwdHM="
_ROOT: Final = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the receiver


async def _serve(path: str, synchronous: str) -> None:
    from aiohttp import web

    from aiomsg.receipts import RECEIVER_KEY, SQLiteReceiptStore, create_receipt_app

    if synchronous == "floor":
        # The floor: a bare aiohttp handler that reads the body and answers 200,
        # storing nothing. What any aiohttp.web receiver costs before its own work.
        app = web.Application()

        async def bare(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(text="ok")

        async def bare_stats(request: web.Request) -> web.Response:
            return web.json_response({"stored": 0, "repeated": 0, "commits": 0})

        app.router.add_post("/", bare)
        app.router.add_get("/__stats", bare_stats)
    else:
        store = SQLiteReceiptStore(path, synchronous=synchronous)  # type: ignore[arg-type]
        app = create_receipt_app(authorization=os.environ["AIOMSG_BENCH_AUTH"], store=store)

        async def stats(request: web.Request) -> web.Response:
            receiver = app[RECEIVER_KEY]
            return web.json_response(
                {"stored": receiver.stored, "repeated": receiver.repeated, "commits": store.commits}
            )

        app.router.add_get("/__stats", stats)

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sys.stdout.write(f"{runner.addresses[0][1]}\n")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


# ------------------------------------------------------------------ 8x8's side


def _body(i: int) -> bytes:
    return json.dumps(
        {
            "version": 9,
            "namespace": "ChatApps",
            "eventType": "outbound_message_status_changed",
            "description": "ChatApps outbound message delivery receipt",
            "payload": {
                "umid": f"{i:08x}-7d1c-4e55-9a8b-{i:012x}",
                "batchId": "a9e4a3f0-6c2b-4c1d-8f3e-1d2c3b4a5f60",
                "clientMessageId": f"bench-{i}",
                "clientBatchId": "bench",
                "subAccountId": "bench-sub",
                "channel": "line",
                "user": {"channelUserId": f"U{i:032x}"},
                "status": {
                    "state": "delivered",
                    "detail": "delivered_to_recipient",
                    "timestamp": "2026-07-03T03:40:54.16Z",
                },
            },
        }
    ).encode()


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def _load(url: str, count: int, concurrency: int, pid: int) -> dict[str, Any]:
    import aiohttp

    bodies = [_body(i) for i in range(count)]
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    statuses: dict[int, int] = {}
    done = 0
    marks = {count * k // 10 for k in range(1, 11)}
    rss: list[tuple[int, int]] = [(0, _rss_kb(pid))]
    it = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done
            for body in it:
                async with session.post(url, data=body, headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                done += 1
                if done in marks:
                    rss.append((done, _rss_kb(pid)))

        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, client_cpu = time.perf_counter() - t0, time.process_time() - c0
        async with session.get(url + "__stats") as r:
            stats = await r.json()
    return {
        "elapsed": elapsed,
        "client_cpu": client_cpu,
        "statuses": statuses,
        "rss_kb": rss,
        "stats": stats,
    }


def _pin(pid: int, cpu: int) -> bool:
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    try:
        os.sched_setaffinity(pid, {cpu})
    except OSError:
        return False
    return True


def _child_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def run(count: int, concurrency: int, synchronous: str, pin: bool) -> dict[str, Any]:
    pinned = False
    with tempfile.TemporaryDirectory(prefix="aiomsg-receipts-") as tmp:
        db = str(Path(tmp) / "receipts.db")
        env = {**os.environ, "AIOMSG_BENCH_AUTH": AUTH}
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.receipts", "--serve", db, synchronous],
            cwd=_ROOT,
            env=env,
            stdout=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            pinned = pin and _pin(proc.pid, 1) and _pin(0, 0)
            cpu0 = _child_cpu(proc.pid)
            result = asyncio.run(_load(f"http://127.0.0.1:{port}/", count, concurrency, proc.pid))
            result["receiver_cpu"] = _child_cpu(proc.pid) - cpu0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
        if synchronous == "floor":
            result["stored"] = count  # nothing is stored; nothing to check
        else:
            conn = sqlite3.connect(db)
            try:
                result["stored"] = conn.execute("SELECT count(*) FROM receipts").fetchone()[0]
            finally:
                conn.close()
        result["db_bytes"] = sum(p.stat().st_size for p in Path(tmp).iterdir())
    result.update(count=count, concurrency=concurrency, synchronous=synchronous, pinned=pinned)
    return result


def _report(r: dict[str, Any]) -> str:
    rate = r["count"] / r["elapsed"]
    ok = r["statuses"].get(200, 0)
    rss = ", ".join(f"{n:,}: {kb / 1024:.1f}" for n, kb in r["rss_kb"])
    commits = r["stats"]["commits"]
    return (
        f"{r['count']:,} receipts, concurrency {r['concurrency']}, synchronous="
        f"{r['synchronous'].upper()}{' (pinned)' if r['pinned'] else ''}\n"
        f"  {rate:,.0f} receipts/s acknowledged ({r['elapsed']:.2f} s); 200 answers {ok:,}; "
        f"stored {r['stored']:,}\n"
        f"  CPU per receipt: receiver {r['receiver_cpu'] / r['count'] * 1e6:.0f} µs, "
        f"8x8's side {r['client_cpu'] / r['count'] * 1e6:.0f} µs; "
        f"{commits:,} commits ({r['count'] / max(commits, 1):.1f} receipts per commit); "
        f"database {r['db_bytes'] / r['count']:.0f} bytes per receipt\n"
        f"  receiver RSS (MB) after n receipts: {rss}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.receipts", description=__doc__)
    parser.add_argument("--count", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64])
    parser.add_argument(
        "--synchronous",
        choices=["full", "normal", "floor"],
        nargs="+",
        default=["full"],
        help="the store's setting; 'floor' serves a bare aiohttp handler that stores nothing",
    )
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--serve", nargs=2, metavar=("DB", "SYNC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve(*args.serve))
        return 0
    results = []
    failed = False
    for sync in args.synchronous:
        for concurrency in args.concurrency:
            for count in args.count:
                r = run(count, concurrency, sync, not args.no_pin)
                results.append(r)
                print(_report(r), flush=True)
                failed |= r["statuses"].get(200, 0) != count or r["stored"] != count
    print(
        f"load generator max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
