"""A stopped job reads no more input, says where reading stopped, and a caller's
report survives an outer cancellation; counts print only what occurred."""

from __future__ import annotations

import asyncio
import pickle
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

import aiomsg
from aiomsg import Outcome
from aiomsg.bulk import Counts
from tests.bulk.support import OK, Action, bulk_server
from tests.bulk.test_bulk import SUB, assert_accounted, eightbyeight, line_messages, revicom

#: Far more than a stopped job needs to read (and bounded, so a regression that reads
#: it all fails in seconds rather than hanging).
HUGE = 10**6


class Counted:
    """An endless-looking uuid input that counts what was read from it."""

    def __init__(self) -> None:
        self.read = 0

    def __iter__(self) -> Iterator[str]:
        for _ in range(HUGE):
            self.read += 1
            yield str(uuid.uuid4())

    async def aiter(self) -> AsyncIterator[str]:
        for item in self:
            yield item


@pytest.mark.parametrize("how", ["abort", "finish", "deadline", "stop_on_failure"])
@pytest.mark.parametrize("form", ["iterable", "async"])
async def test_a_stop_reads_no_more_input(how: str, form: str) -> None:
    source = Counted()
    event = anyio.Event()

    def plan(api: str, n: int, body: Any) -> Action:
        if n == 2:
            event.set()
            if how == "stop_on_failure":
                return Action(kind="status", status=403)
        return Action(delay=0.01) if how == "deadline" else OK

    options: dict[str, Any] = {"chunk_size": 100, "concurrency": 2}
    if how == "deadline":
        options["deadline"] = 0.3
    elif how == "stop_on_failure":
        options["stop_on_failure"] = True
    else:
        options[how] = event
    items = source if form == "iterable" else source.aiter()
    async with bulk_server(plan) as server, revicom(server) as client:
        with anyio.fail_after(30):
            report = await client.stop(items, **options)
    # Reading stopped near where sending did: a few chunks, not the input's end.
    sent = sum(len(s.body["uuids"]) for s in server.seen)
    assert source.read <= sent + 100 * (2 + 2) + 1
    assert_accounted(report, HUGE)
    assert report.unread_input
    assert not report.complete
    assert len(report) <= source.read
    assert "input left unread" in repr(report)


async def test_the_streaming_report_says_where_reading_stopped() -> None:
    source = Counted()
    abort = anyio.Event()
    seen: list[int] = []
    async with bulk_server() as server, revicom(server) as client:
        async with client.stream_stop(source, chunk_size=50, abort=abort) as stream:
            async for outcome in stream:
                seen.append(outcome.index)
                if len(seen) == 120:
                    abort.set()
    report = stream.report
    assert report.unread_input
    assert sorted(seen) == list(range(len(seen)))  # what was read, each once
    assert len(report) >= len(seen)
    assert sum(report.counts.values()) == len(report)


async def test_a_list_read_to_its_end_is_not_unread() -> None:
    ids = [str(uuid.uuid4()) for _ in range(30)]
    async with bulk_server() as server, revicom(server) as client:
        report = await client.stop(ids, chunk_size=10)
        stop_after_all = await client.stop(ids, chunk_size=10, finish=anyio.Event())
    assert not report.unread_input
    assert report.complete
    assert not stop_after_all.unread_input
    assert "unread" not in repr(report)


# ------------------------------------------------------ outer cancellation, report=


async def test_an_outer_cancellation_keeps_the_callers_report_with_batch_ids() -> None:
    third = anyio.Event()

    def plan(api: str, n: int, body: Any) -> Action:
        if n < 2:
            return OK
        third.set()
        return Action(delay=5.0)  # later requests hang

    report = aiomsg.BulkReport()
    async with bulk_server(plan) as server, eightbyeight(server) as client:
        task = asyncio.ensure_future(
            client.chatapps.send_line_notifications(
                SUB, line_messages(100), chunk_size=10, concurrency=1, report=report
            )
        )
        with anyio.fail_after(10):
            await third.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # Two requests answered, the third cut short on the wire, nothing else read.
    assert len(report.batches) == 2
    assert report.counts[Outcome.ACCEPTED] == 20
    assert report.counts[Outcome.UNKNOWN] == 10
    assert not report.complete
    assert_accounted(report, 100)
    unknown = [o for o in report if o.outcome is Outcome.UNKNOWN]
    assert [o.index for o in unknown] == list(range(20, 30))
    assert all(isinstance(o.error, aiomsg.BulkInterruptedError) for o in unknown)


async def test_leaving_a_stream_early_settles_its_report() -> None:
    async with bulk_server() as server, revicom(server) as client:
        ids = [str(uuid.uuid4()) for _ in range(200)]
        async with client.stream_stop(ids, chunk_size=10, concurrency=4) as stream:
            async for _ in stream:
                break
    report = stream.report
    assert not report.complete
    assert sum(report.counts.values()) == len(report) <= 200
    assert report.unread_input == (len(report) < 200)


@pytest.mark.parametrize("bad", [{}, "report", 3])
async def test_report_option_must_be_a_new_report(bad: Any) -> None:
    async with bulk_server() as server, revicom(server) as client:
        with pytest.raises(aiomsg.ValidationError, match="report"):
            await client.stop([str(uuid.uuid4())], report=bad)
        used = await client.stop([str(uuid.uuid4())])
        with pytest.raises(aiomsg.ValidationError, match="report"):
            await client.stop([str(uuid.uuid4())], report=used)
        assert len(server.seen) == 1


# ------------------------------------------------------------------ counts shown


def test_counts_show_only_outcomes_that_occurred_and_keep_every_key() -> None:
    counts = Counts.zero()
    counts[Outcome.STOPPED] = 3
    counts[Outcome.NOT_FOUND] = 1
    assert repr(counts) == "Counts(not_found=1, stopped=3)"
    assert str(counts) == repr(counts)
    assert set(counts) == set(Outcome)  # the full mapping stays
    assert counts[Outcome.FAILED] == 0
    assert pickle.loads(pickle.dumps(counts)) == counts
    assert repr(Counts.zero()) == "Counts()"


async def test_a_reports_counts_print_without_zeros() -> None:
    async with bulk_server() as server, revicom(server) as client:
        report = await client.stop([str(uuid.uuid4()) for _ in range(3)])
    assert str(report.counts) == "Counts(stopped=3)"
    assert report.counts[Outcome.ACCEPTED] == 0
