"""One measured workload run, in a fresh process; prints one JSON line with the result.

``python -m benchmarks.child --impl L --workload W1 --size 100000 --url http://127.0.0.1:N``

The clock covers only the workload: interpreter start-up, imports, input generation and
opening/closing the client are outside it. CPU time is ``time.process_time()`` (all
threads of this process), also split into user and system time; peak RSS is
``ru_maxrss``, also sampled just before the clock starts so the workload's own growth
can be told apart from its inputs.
``--setup-only`` does all of that but the workload: under an instruction counter, the
workload's instructions are those of a normal run minus those of a setup-only one.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import resource
import sys
import time
import traceback
from collections.abc import Coroutine
from typing import Any, Final

import msgspec

from benchmarks import data
from benchmarks.common import Job, Spec, Unavailable

IMPL_MODULES: Final = {
    "L": "benchmarks.impl_raw",
    "MS": "benchmarks.impl_msgspec",
    "H": "benchmarks.impl_httpx",
    "aiomsg": "benchmarks.impl_aiomsg",
}


def max_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


async def measure(
    job: Job, setup_only: bool = False, start_at: float | None = None
) -> dict[str, Any]:
    async with job() as run:
        if start_at is not None:  # processes sharing one run start together
            await asyncio.sleep(max(0.0, start_at - time.time()))
        gc.collect()
        rss_before = max_rss_mb()
        use0 = resource.getrusage(resource.RUSAGE_SELF)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        confirmed = 0 if setup_only else await run()
        cpu1, wall1 = time.process_time(), time.perf_counter()
        use1 = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_s": cpu1 - cpu0,
        # The two parts of it: the client's own code, and the kernel on its behalf
        # (socket and file I/O, page faults).
        "user_s": use1.ru_utime - use0.ru_utime,
        "sys_s": use1.ru_stime - use0.ru_stime,
        "wall_s": wall1 - wall0,
        "confirmed": confirmed,
        "rss_before_mb": rss_before,
        "peak_rss_mb": max_rss_mb(),
    }


def run_loop(coro: Coroutine[Any, Any, dict[str, Any]], loop: str) -> dict[str, Any]:
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError as exc:
            coro.close()
            raise Unavailable("uvloop is not installed") from exc
        return uvloop.run(coro)
    return asyncio.run(coro)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run one benchmark workload")
    parser.add_argument("--impl", required=True, choices=sorted(IMPL_MODULES))
    parser.add_argument("--workload", required=True)
    parser.add_argument("--variant", default="")
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--per-request", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--url", required=True)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--uuid-file")
    parser.add_argument("--report-file")
    parser.add_argument("--sub-account", default=data.SUB_ACCOUNT)
    parser.add_argument("--limit", type=float, help="W5: the provider's rate, to tell the client")
    parser.add_argument("--start-at", type=float, help="time.time() at which to start the clock")
    parser.add_argument(
        "--setup-only",
        action="store_true",
        help="everything but the workload itself (the baseline of an instruction count)",
    )
    args = parser.parse_args(argv)
    spec = Spec(
        workload=args.workload,
        variant=args.variant,
        size=args.size,
        per_request=args.per_request,
        concurrency=args.concurrency,
        url=args.url,
        uuid_file=args.uuid_file,
        report_file=args.report_file,
        sub_account=args.sub_account,
        limit=args.limit,
        start_at=args.start_at,
    )
    result: dict[str, Any]
    try:
        try:
            module = importlib.import_module(IMPL_MODULES[args.impl])
        except ImportError as exc:  # a baseline's packages (httpx, pydantic) not installed
            raise Unavailable(f"cannot import {IMPL_MODULES[args.impl]} ({exc})") from exc
        job: Job = module.prepare(spec)
        measured = run_loop(measure(job, args.setup_only, spec.start_at), args.loop)
        result = {"status": "ok", **measured}
        if not args.setup_only and result["confirmed"] != spec.size:
            result["status"] = "error"
            result["error"] = f"{result['confirmed']} of {spec.size} items confirmed"
    except Unavailable as exc:
        result = {"status": "unavailable", "error": str(exc)}
    except Exception as exc:
        result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        traceback.print_exc()
    sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
