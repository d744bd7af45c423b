"""What handing out one object per item costs in CPython, before any library work.

``python -m benchmarks.floor [--items N] [--reps R]``

A streamed bulk job gives its reader one outcome object per item through ``async for``.
This measures, without I/O, the parts of that no implementation can avoid, each with
the same loop body as the W2 streamed workload (``if o.outcome == "stopped": n += 1``):

- ``sync for``: a plain ``for`` over objects that already exist (the reader's own loop);
- ``async for, prebuilt``: the same objects through an async generator, which is what
  any async iterator costs per step;
- ``async for, built``: each ``aiomsg.ItemOutcome`` made from column data as it is
  handed out (what ``stream_stop`` does, without its network and bookkeeping).

Compare the figures with MS's whole per-uuid cost on W2 in the main table: a stream's
per-item cost cannot fall below the ``async for`` rows, whatever the library does.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from itertools import repeat
from typing import Final

from aiomsg import ItemOutcome, Outcome

CHUNK: Final = 10_000  # one W2 request's worth of outcomes


def _columns(n: int) -> tuple[list[str], tuple[Outcome, ...], tuple[int, ...]]:
    ids = [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(n)]
    return ids, (Outcome.STOPPED,) * n, (200,) * n


def _built(
    start: int, ids: Sequence[str], outcomes: Sequence[Outcome], codes: Sequence[int]
) -> Iterator[ItemOutcome]:
    """Outcomes made from columns as they are read, as a stream's chunk hands them out."""
    n = len(ids)
    return map(
        ItemOutcome, range(start, start + n), ids, outcomes, codes, repeat(None, n), repeat(None, n)
    )


def sync_for(items: int) -> float:
    ids, outcomes, codes = _columns(CHUNK)
    prebuilt = list(_built(0, ids, outcomes, codes))
    t0 = time.process_time()
    stopped = 0
    for _ in range(items // CHUNK):
        for o in prebuilt:
            if o.outcome == "stopped":
                stopped += 1
    elapsed = time.process_time() - t0
    assert stopped == items // CHUNK * CHUNK
    return elapsed


async def _consume(source: AsyncIterator[ItemOutcome]) -> int:
    stopped = 0
    async for o in source:
        if o.outcome == "stopped":
            stopped += 1
    return stopped


def _async_for(items: int, build: bool) -> float:
    ids, outcomes, codes = _columns(CHUNK)
    prebuilt = list(_built(0, ids, outcomes, codes))

    async def source() -> AsyncIterator[ItemOutcome]:
        for k in range(items // CHUNK):
            for o in _built(k * CHUNK, ids, outcomes, codes) if build else prebuilt:
                yield o

    async def main() -> float:
        t0 = time.process_time()
        stopped = await _consume(source())
        elapsed = time.process_time() - t0
        assert stopped == items // CHUNK * CHUNK
        return elapsed

    return asyncio.run(main())


CASES: Final[dict[str, Callable[[int], float]]] = {
    "sync for (reader's loop only)": sync_for,
    "async for, prebuilt objects": lambda n: _async_for(n, build=False),
    "async for, ItemOutcome built per item": lambda n: _async_for(n, build=True),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the per-item floor of a streamed result")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    items = max(CHUNK, args.items // CHUNK * CHUNK)
    print(f"{items:,} items, {args.reps} repetitions; CPU ns per item (median, min)")
    for name, case in CASES.items():
        runs = [case(items) / items * 1e9 for _ in range(args.reps)]
        print(f"  {name:40s} {statistics.median(runs):7.1f} {min(runs):7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
