"""N shard processes at once against one rate-limited simulator, as an Indexed Job runs
them: one is killed (SIGKILL) midway and restarted with its journal on the shared
directory; the merged report holds every position once, no uuid reached the provider
twice, and the shards together kept under the limit."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from aiomsg.testing import Simulator

from .support import (
    cli_env,
    kill,
    read_report,
    run_cli,
    sent_uuids,
    start_cli,
    wait_exit,
    wait_until,
    write_lines,
)

SHARDS = 4
#: Three stop requests (10,000 uuids each) per shard.
ITEMS = 120_000
#: The provider's limit per token; each shard keeps to its share (LIMIT / SHARDS).
LIMIT = 4.0


async def test_four_shards_one_killed_and_resumed_merge_whole(tmp_path: Path) -> None:
    async with (
        asyncio.timeout(55),  # the whole test, on a loaded machine
        Simulator(rate_limit=None, revicom_rate_limit=LIMIT, seed=7) as sim,
    ):
        ids = sim.add_revicom_messages(ITEMS)
        source = write_lines(tmp_path / "uuids.txt", ids)
        shared = tmp_path / "shared"  # the volume every pod mounts
        shared.mkdir()

        def args(k: int) -> tuple[str, ...]:
            return (
                "revicom", "stop", str(source), "--quiet", "--concurrency", "1",
                "--rate", str(LIMIT / SHARDS),
                "--journal", str(shared / f"shard-{k}.journal"),
                "--report", str(shared / f"shard-{k}.jsonl"),
            )  # fmt: skip

        def pod_env(index: int) -> dict[str, str]:
            return cli_env(sim, JOB_COMPLETION_INDEX=str(index), AIOMSG_SHARDS=str(SHARDS))

        procs = [
            await start_cli(*args(k), env=pod_env(k - 1), stderr=tmp_path / f"err-{k}")
            for k in range(1, SHARDS + 1)
        ]
        try:
            # Kill shard 2 once its first request is answered and journaled, before its
            # next one leaves (each shard sends one request a second).
            victim = procs[1]
            journal = shared / "shard-2.journal"
            lo, hi = ITEMS // SHARDS, 2 * ITEMS // SHARDS
            mine = set(ids[lo:hi])

            def first_request_journaled() -> bool:
                answered = [
                    r for r in sim.requests
                    if r.body and r.body["uuids"][0] in mine and r.status == 200
                ]  # fmt: skip
                done = journal.exists() and journal.read_bytes().count(b'"done"') >= 1
                return len(answered) == 1 and done

            await wait_until(first_request_journaled, "shard 2's first request", timeout=40)
            await kill(victim)
            assert victim.returncode == -9
            restarted = await start_cli(*args(2), env=pod_env(1), stderr=tmp_path / "err-2b")
            procs.append(restarted)
            codes = [await wait_exit(p, timeout=50) for p in (*procs[:1], *procs[2:])]
        finally:
            for p in procs:
                await kill(p)
        errors = [(tmp_path / f"err-{k}").read_text() for k in (1, 3, 4)]
        assert codes == [0, 0, 0, 0], [*errors, (tmp_path / "err-2b").read_text()]

        merged = tmp_path / "all.jsonl"
        journals = ["--journal", *(str(shared / f"shard-{k}.journal") for k in range(1, 5))]
        reports = [str(shared / f"shard-{k}.jsonl") for k in range(1, SHARDS + 1)]
        done = await run_cli("report", "merge", str(merged), *reports, *journals, env=cli_env(None))
        assert done.code == 0, done.err

        rows = read_report(merged)
        assert [r["index"] for r in rows] == list(range(ITEMS))
        assert [r["id"] for r in rows] == ids
        assert {r["outcome"] for r in rows} == {"stopped"}

        limited = [r for r in sim.requests if r.status == 429]
        carried = Counter(sent_uuids(r for r in sim.requests if r.status != 429))
        assert sorted(carried) == sorted(ids)
        assert max(carried.values()) == 1  # no uuid reached the provider twice
        assert len(limited) < 0.05 * len(sim.requests), (len(limited), len(sim.requests))
