"""A clientMessageId is sent at most once per LINE bulk job, across its requests."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import aiomsg
from aiomsg import Outcome
from aiomsg.eightxeight import _sent_ids
from aiomsg.eightxeight._sent_ids import SentIds
from tests.bulk.support import OK, Action, BulkServer, bulk_server
from tests.bulk.test_bulk import SUB, assert_accounted, eightbyeight, line_messages

FORMS = ["list", "iterable", "async", "stream", "chunks"]


def wire_ids(server: BulkServer) -> Counter[str]:
    sent: Counter[str] = Counter()
    for seen in server.seen:
        if "/lon/batch" in seen.path:
            sent.update(m["clientMessageId"] for m in seen.body["messages"])
    return sent


async def send(client: aiomsg.EightByEight, messages: list[Any], form: str, **kw: Any) -> Any:
    """Send through one of the public forms; a report-like list of outcomes back."""
    if form == "list":
        return list(await client.chatapps.send_line_notifications(SUB, messages, **kw))
    if form == "iterable":
        return list(await client.chatapps.send_line_notifications(SUB, iter(messages), **kw))
    if form == "async":

        async def agen() -> AsyncIterator[Any]:
            for m in messages:
                yield m

        return list(await client.chatapps.send_line_notifications(SUB, agen(), **kw))
    stream_cm = client.chatapps.stream_send_line_notifications(SUB, iter(messages), **kw)
    got: list[aiomsg.ItemOutcome] = []
    async with stream_cm as stream:
        if form == "stream":
            got = [o async for o in stream]
        else:
            async for chunk in stream.chunks():
                got.extend(chunk)
    return sorted(got, key=lambda o: o.index)


@pytest.mark.parametrize("form", FORMS)
async def test_an_identical_message_repeated_in_a_later_request_is_sent_once(form: str) -> None:
    messages = line_messages(1500)
    messages[1200] = dict(messages[3])  # the same message, 1,197 positions later
    messages[1400] = dict(messages[1200])
    async with bulk_server() as server, eightbyeight(server) as client:
        outcomes = await send(client, messages, form)
    assert [o.index for o in outcomes] == list(range(1500))
    assert max(wire_ids(server).values()) == 1
    assert wire_ids(server)["m-3"] == 1
    first = outcomes[3]
    for i in (1200, 1400):
        assert (outcomes[i].outcome, outcomes[i].code) == (first.outcome, first.code)
        assert outcomes[i].id == "m-3"
    assert first.outcome is Outcome.ACCEPTED


@pytest.mark.parametrize("form", FORMS)
async def test_a_different_message_reusing_an_id_later_fails_and_is_never_sent(form: str) -> None:
    messages = line_messages(30)
    other = dict(messages[25], content={"title": "Another text", "icon": "calendar"})
    other["clientMessageId"] = "m-2"
    messages[25] = other
    async with bulk_server() as server, eightbyeight(server) as client:
        outcomes = await send(client, messages, form, chunk_size=10)
    assert max(wire_ids(server).values()) == 1
    sent_titles = [
        m["content"]["title"]
        for s in server.seen
        for m in s.body["messages"]
        if m["clientMessageId"] == "m-2"
    ]
    assert sent_titles == ["Event reminder"]
    assert outcomes[25].outcome is Outcome.FAILED
    assert isinstance(outcomes[25].error, aiomsg.ValidationError)
    assert "messages[2]" in str(outcomes[25].error)
    assert outcomes[2].outcome is Outcome.ACCEPTED


async def test_a_repeat_takes_a_rejected_firsts_code() -> None:
    messages = line_messages(20)
    messages[15] = dict(messages[4])

    def plan(api: str, n: int, body: Any) -> Action:
        return Action(rejected=frozenset({"m-4"}))

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(SUB, messages, chunk_size=5)
    assert wire_ids(server)["m-4"] == 1
    assert (report[15].outcome, report[15].code) == (Outcome.REJECTED, 3038)
    assert (report[4].outcome, report[4].code) == (Outcome.REJECTED, 3038)


async def test_a_repeat_of_a_message_still_in_flight_waits_for_its_outcome() -> None:
    messages = line_messages(20)
    messages[12] = dict(messages[1])
    first_answered = anyio.Event()

    def plan(api: str, n: int, body: Any) -> Action:
        ids = [m["clientMessageId"] for m in body["messages"]]
        if "m-1" in ids:
            return Action(delay=0.3, rejected=frozenset({"m-1"}))
        return OK

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(
            SUB, messages, chunk_size=10, concurrency=2
        )
        first_answered.set()
    assert wire_ids(server)["m-1"] == 1
    assert report[12].outcome is Outcome.REJECTED
    assert report[12].code == report[1].code == 3038
    assert_accounted(report, 20)


async def test_a_job_stopped_before_the_firsts_outcome_never_sends_the_repeat() -> None:
    messages = line_messages(20)
    messages[12] = dict(messages[1])
    abort = anyio.Event()

    def plan(api: str, n: int, body: Any) -> Action:
        ids = [m["clientMessageId"] for m in body["messages"]]
        if "m-1" in ids:
            return Action(delay=5.0)
        abort.set()  # the second request is answered; then the job stops
        return OK

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        with anyio.fail_after(10):
            report = await client.chatapps.send_line_notifications(
                SUB, messages, chunk_size=10, concurrency=2, abort=abort
            )
    assert wire_ids(server)["m-1"] == 1
    assert report[1].outcome is Outcome.UNKNOWN
    assert report[12].outcome is Outcome.UNKNOWN  # as its first: it may have arrived
    assert isinstance(report[12].error, aiomsg.BulkInterruptedError)
    assert_accounted(report, 20)


async def test_a_failed_first_is_not_a_first_a_later_valid_one_is_sent() -> None:
    messages = line_messages(12)
    bad = dict(messages[1], user={"msisdn": "not a number"})
    messages[1] = bad
    messages[8] = dict(line_messages(2)[1])  # a valid m-1, later
    async with bulk_server() as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(SUB, messages, chunk_size=4)
    assert report[1].outcome is Outcome.FAILED
    assert report[8].outcome is Outcome.ACCEPTED
    assert wire_ids(server)["m-1"] == 1


@pytest.mark.parametrize("form", ["list", "iterable"])
async def test_ids_sharing_a_hash_are_never_silently_dropped(
    form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every id given one key: a list input tells them apart exactly and sends each;
    an iterator input cannot, and fails the later ones visibly, never sends twice."""
    monkeypatch.setattr(_sent_ids, "hash", lambda _: 42, raising=False)
    messages = line_messages(9)
    async with bulk_server() as server, eightbyeight(server) as client:
        items: Iterable[Any] = messages if form == "list" else iter(messages)
        report = await client.chatapps.send_line_notifications(SUB, items, chunk_size=4)
    assert max(wire_ids(server).values()) == 1
    if form == "list":
        assert report.counts[Outcome.ACCEPTED] == 9
    else:
        # The first request's ids are distinct by construction: all sent.
        assert [o.outcome for o in list(report)[:4]] == [Outcome.ACCEPTED] * 4
        for o in list(report)[4:]:
            # Not sent, and never as a silent "repeat" of another message.
            assert o.outcome is Outcome.FAILED
            assert isinstance(o.error, aiomsg.ValidationError)


def test_the_table_keeps_every_id_through_growth() -> None:
    table = SentIds(None, 1000)
    n = 50_000
    hits = table.admit([f"id-{i}" for i in range(n)], range(n), 0, None)
    assert hits == []
    assert len(table) == n
    again = table.admit([f"id-{i}" for i in range(0, n, 7)], range(0, n, 7), 0, None)
    assert [k for k, _, _ in again] == list(range(len(range(0, n, 7))))
    assert all(values == [pos] for (_, _, values), pos in zip(again, range(0, n, 7), strict=True))
    assert table.nbytes / n <= 48


async def test_the_single_request_call_keeps_its_rules() -> None:
    msgs = line_messages(3)
    async with bulk_server() as server, eightbyeight(server) as client:
        await client.chatapps.send_line_notification_batch(SUB, [*msgs, dict(msgs[0])])
        other = dict(msgs[0], content={"title": "x"})
        with pytest.raises(aiomsg.ValidationError):
            await client.chatapps.send_line_notification_batch(SUB, [msgs[0], other])
    assert wire_ids(server)["m-0"] == 1


async def test_separate_jobs_do_not_share_ids() -> None:
    """The rule is per job: the same id in a new call is that job's own message."""
    async with bulk_server() as server, eightbyeight(server) as client:
        await client.chatapps.send_line_notifications(SUB, line_messages(3))
        await client.chatapps.send_line_notifications(SUB, line_messages(3))
    assert wire_ids(server)["m-0"] == 2


def test_pending_outcome_waits_are_per_request() -> None:
    table = SentIds(None, 10)

    async def scenario() -> None:
        got: list[Any] = []

        async def waiter() -> None:
            got.append(await table.outcome(13))

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await anyio.lowlevel.checkpoint()
            assert got == []
            from aiomsg.bulk._chunk import Chunk

            chunk: Chunk[str] = Chunk(10, ["a"] * 10)
            chunk.settle(Outcome.ACCEPTED)
            table.finished(chunk.result())
        assert got == [(Outcome.ACCEPTED, None, None)]

    asyncio.run(scenario())
