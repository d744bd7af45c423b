"""Planning a job: shards cover the input exactly once; a journal is tied to its input,
arguments and endpoint."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiomsg.testing import Simulator

from .support import (
    by_index,
    read_report,
    run_cli,
    sent_uuids,
    uuids,
    write_lines,
)

SUB = "sim-sub"


async def test_shards_cover_the_input_exactly_once(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(1_003)
    source = write_lines(tmp_path / "uuids.txt", ["# header", *ids])
    shard_args = ("revicom", "stop", str(source), "--shard")
    runs = [
        run_cli(*shard_args, f"{k}/3", "--report", str(tmp_path / f"shard-{k}.jsonl"), env=env)
        for k in (1, 2, 3)
    ]
    results = await asyncio.gather(*runs)
    assert [r.code for r in results] == [0, 0, 0], [r.err for r in results]

    reports = [read_report(tmp_path / f"shard-{k}.jsonl") for k in (1, 2, 3)]
    assert [len(r) for r in reports] == [334, 334, 335]
    rows = by_index([row for report in reports for row in report], 1_003)
    assert [r["id"] for r in rows] == ids
    assert sorted(sent_uuids(sim.requests)) == sorted(ids)  # each sent once
    assert [min(r["index"] for r in report) for report in reports] == [0, 334, 668]


async def test_a_journal_from_another_input_is_refused(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    journal = tmp_path / "job.journal"
    first = write_lines(tmp_path / "a.txt", sim.add_revicom_messages(5))
    assert (
        await run_cli("revicom", "stop", str(first), "--journal", str(journal), env=env)
    ).code == 0
    requests = len(sim.requests)
    content = journal.read_bytes()

    other = write_lines(tmp_path / "b.txt", uuids(5))
    refused = await run_cli("revicom", "stop", str(other), "--journal", str(journal), env=env)
    assert refused.code == 2
    assert "belongs to another job" in refused.err
    assert "Nothing was sent" in refused.err
    sms = await run_cli("8x8", "sms", "cancel", SUB, str(first), "--journal", str(journal), env=env)
    assert sms.code == 2
    sharded = await run_cli(
        "revicom", "stop", str(first), "--journal", str(journal), "--shard", "1/2", env=env
    )
    assert sharded.code == 2
    assert len(sim.requests) == requests
    assert journal.read_bytes() == content

    journal.write_text("not a journal\n")
    damaged = await run_cli("revicom", "stop", str(first), "--journal", str(journal), env=env)
    assert damaged.code == 2
    assert "not an aiomsg journal" in damaged.err

    # A file without a final newline is not a torn journal header: never overwritten.
    journal.write_text("precious notes")
    kept = await run_cli("revicom", "stop", str(first), "--journal", str(journal), env=env)
    assert kept.code == 2
    assert "not an aiomsg journal; it was left as it is" in kept.err
    assert journal.read_text() == "precious notes"
    assert len(sim.requests) == requests


async def test_a_journal_is_refused_against_another_endpoint(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(4)
    source = write_lines(tmp_path / "uuids.txt", ids)
    journal = tmp_path / "stop.journal"
    made = await run_cli("revicom", "stop", str(source), "--journal", str(journal), env=env)
    assert made.code == 0, made.err
    content = journal.read_bytes()
    other_url = sim.revicom_url.replace("127.0.0.1", "localhost")

    elsewhere = await run_cli(
        "revicom", "stop", str(source), "--journal", str(journal), "--base-url", other_url,
        env=env,
    )  # fmt: skip

    assert elsewhere.code == 2
    assert "belongs to another job" in elsewhere.err
    assert f"against base_url {sim.revicom_url}" in elsewhere.err
    assert journal.read_bytes() == content
    assert len(sim.requests) == 1

    umids = write_lines(tmp_path / "umids.txt", sim.add_sms_messages(2).umids)
    sms = ("8x8", "sms", "cancel", SUB, str(umids), "--journal", str(tmp_path / "sms.journal"))
    assert (await run_cli(*sms, env=env)).code == 0
    region = await run_cli(*sms, "--region", "eu", env=env)
    assert region.code == 2
    assert "region eu" in region.err
    assert len(sim.requests) == 3
