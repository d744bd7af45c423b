"""Shared vocabulary of the benchmark: what a workload run is and how implementations plug in.

An implementation module exposes ``prepare(spec) -> Job``. ``prepare`` does every untimed
step (building inputs in the implementation's own types, pre-encoding for the floor);
the returned ``Job`` is an async context manager factory that opens the client (untimed)
and yields the coroutine function that is timed. That function returns how many items
the responses confirmed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Final, TypeVar

from benchmarks.data import SUB_ACCOUNT

T = TypeVar("T")

#: The coroutine function that is timed; returns the number of items the server confirmed.
Runner = Callable[[], Awaitable[int]]
Job = Callable[[], AbstractAsyncContextManager[Runner]]

WORKLOADS: Final = ("W1", "W2", "W3", "W4", "W5")

LINE_BATCH_PATH: Final = "/api/v1/subaccounts/{sub}/lon/batch"
REVICOM_STOP_PATH: Final = "/api/v1/message/stop"
SMS_CANCEL_PATH: Final = "/api/v1/subaccounts/{sub}/messages/{umid}"
STATS_PATH: Final = "/__stats"
LIMIT_PATH: Final = "/__limit"


class Unavailable(Exception):
    """The implementation (or a name it needs) cannot run here; reported, not fatal."""


@dataclass(frozen=True)
class Spec:
    """One workload run, as passed on the child's command line."""

    workload: str
    variant: str
    size: int
    per_request: int
    concurrency: int
    url: str
    uuid_file: str | None = None
    report_file: str | None = None
    sub_account: str = SUB_ACCOUNT
    limit: float | None = None  # W5: the provider's rate limit, when the client is told it
    start_at: float | None = None  # W5: time.time() at which to start the clock


def chunks(items: list[T], size: int) -> Iterable[list[T]]:
    return (items[i : i + size] for i in range(0, len(items), size))


async def bounded(items: Iterable[T], concurrency: int, fn: Callable[[T], Awaitable[int]]) -> int:
    """Run ``fn`` over ``items`` with at most ``concurrency`` calls in flight; sum the results.

    A fixed set of workers pulls from one shared iterator: the cheapest way to bound
    concurrency in asyncio, so the baselines pay as little as possible for scheduling.
    """
    it = iter(items)
    total = 0

    async def worker() -> None:
        nonlocal total
        for item in it:
            done = await fn(item)  # not `total += await ...`: that reads `total` before awaiting
            total += done

    tasks = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    return total
