"""Memory a LINE bulk job spends to send each clientMessageId at most once.

``python -m benchmarks.dedupe_memory [--sizes 1000000,10000000]`` feeds a job's
id table (``aiomsg.bulk._sent.SentIds``) the ids of N messages in
requests of 1,000, as ``send_line_notifications`` does (ids 36 characters long,
fingerprints kept as for an iterator input, every request's outcomes recorded as
all accepted, the common case), with the ids themselves dropped after each request
as a streamed job drops them. Past ``SMALL_LIMIT`` ids (65,536) an iterator's job
keeps them in the compact table measured here; a list keeps its ids in one set
while none repeats (``--list`` measures that).
It prints, per size, the table's own bytes per id and
the growth of the process's resident memory per id (the table plus the kept
outcome columns and allocator overhead), and the CPU time per id.
"""

from __future__ import annotations

import argparse
import gc
import time

from aiomsg.bulk import Outcome
from aiomsg.bulk._chunk import Chunk
from aiomsg.bulk._sent import SentIds

REQUEST = 1000


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _ids(start: int, size: int) -> list[str]:
    return [f"{start + i:08x}-0000-4000-8000-000000000000" for i in range(size)]


def run(n: int, as_list: bool = False) -> tuple[float, float, float]:
    """Bytes of the table per id, RSS growth per id, CPU ns per id: an iterator's job
    (ids dropped after each request), or ``as_list`` a list's (the ids, made before
    the clock, stay alive in the list as they would in the caller's input)."""
    source = _ids(0, n) if as_list else None
    gc.collect()
    before = rss_bytes()
    table = SentIds(source, REQUEST)
    cpu = time.process_time()
    positions = range(REQUEST)
    for start in range(0, n, REQUEST):
        size = min(REQUEST, n - start)
        if source is not None:
            assert table.all_new(source[start : start + size], start)
            ids = source[start : start + size]
        else:
            ids = _ids(start, size)
            fps = [i & 0x7FFFFF for i in range(size)]
            assert not table.admit(ids, positions[:size], start, fps)
        chunk: Chunk[str] = Chunk(start, ids)
        chunk.settle(Outcome.ACCEPTED)
        table.finished(chunk.result())
    cpu = time.process_time() - cpu
    gc.collect()
    grown = rss_bytes() - before
    assert len(table) == n
    result = table.nbytes / n, grown / n, cpu / n * 1e9
    del table
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--list", action="store_true", help="a list's job, not an iterator's")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'ids':>12} {'table B/id':>11} {'RSS B/id':>9} {'ns/id':>7}")
    for n in sizes:
        table, grown, ns = run(n, args.list)
        print(f"{n:>12,} {table:>11.1f} {grown:>9.1f} {ns:>7.0f}")


if __name__ == "__main__":
    main()
