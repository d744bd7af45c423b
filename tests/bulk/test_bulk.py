"""The bulk layer over real loopback HTTP: chunking, outcomes, accounting, streaming."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

import aiomsg
from aiomsg import Outcome

if sys.version_info >= (3, 11):
    from builtins import ExceptionGroup
else:  # anyio brings the backport on 3.10
    from exceptiongroup import ExceptionGroup

from tests.bulk.support import OK, Action, BulkServer, bulk_server

SUB = "sub-1"
FAST_RETRY = aiomsg.RetryPolicy(max_attempts=3, backoff_base=0.001, backoff_cap=0.005)


def uuids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def line_messages(n: int, prefix: str = "m") -> list[dict[str, Any]]:
    return [
        {
            "user": {"msisdn": f"+65{10000000 + i}"},
            "clientMessageId": f"{prefix}-{i}",
            "content": {"title": "Event reminder", "icon": "calendar"},
        }
        for i in range(n)
    ]


def revicom(server: BulkServer, **kw: Any) -> aiomsg.Revicom:
    return aiomsg.Revicom(token="t", base_url=server.url, retry=FAST_RETRY, **kw)


def eightbyeight(server: BulkServer, **kw: Any) -> aiomsg.EightByEight:
    return aiomsg.EightByEight(
        api_key="k", chatapps_url=server.url, sms_url=server.url, retry=FAST_RETRY, **kw
    )


def assert_accounted(report: aiomsg.BulkReport, n: int) -> None:
    """Every position read has one outcome, in order from 0; a report that covers
    fewer than ``n`` items says that input was left unread."""
    indices = [o.index for o in report]
    read = len(report)
    assert indices == list(range(read))
    assert sum(report.counts.values()) == read <= n
    assert report.unread_input == (read < n)


# ----------------------------------------------------------------- Revicom stop


@pytest.mark.parametrize(
    ("n", "requests"),
    [(0, 0), (1, 1), (999, 1), (1000, 1), (1001, 1), (10_000, 1), (10_001, 2), (25_000, 3)],
)
async def test_stop_chunks_into_requests_of_10000(n: int, requests: int) -> None:
    async with bulk_server() as server, revicom(server) as client:
        report = await client.stop(uuids(n))
    assert server.count("/stop") == requests == report.requests
    assert all(len(s.body["uuids"]) <= 10_000 for s in server.seen)
    assert_accounted(report, n)
    assert report.counts[Outcome.STOPPED] == n
    assert report.complete
    assert report.succeeded


async def test_stop_maps_codes_and_keeps_unknown_ones() -> None:
    ids = uuids(6)
    codes = {ids[0]: 200, ids[1]: 202, ids[2]: 403, ids[3]: 404, ids[4]: 201}

    def plan(api: str, n: int, body: Any) -> Action:
        return Action(codes=codes, drop=frozenset({ids[5]}), extra=2)

    async with bulk_server(plan) as server, revicom(server) as client:
        report = await client.stop(ids)
    got = [(o.outcome, o.code) for o in report]
    assert got == [
        (Outcome.STOPPED, 200),
        (Outcome.MAYBE_STOPPED, 202),
        (Outcome.NOT_STOPPABLE, 403),
        (Outcome.NOT_FOUND, 404),
        (Outcome.UNKNOWN, 201),
        (Outcome.UNKNOWN, None),
    ]
    assert report.extra_items == 2
    assert report.provider_errors
    assert not report.succeeded
    assert [o.index for o in report.failures()] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("where", [0, 3, 7])
@pytest.mark.parametrize("code", [202, 403, 404, 201, 0])
async def test_stop_answered_in_order_keeps_each_code(where: int, code: int) -> None:
    ids = uuids(8)

    def plan(api: str, n: int, body: Any) -> Action:
        return Action(codes={ids[where]: code})

    async with bulk_server(plan) as server, revicom(server) as client:
        report = await client.stop(ids)
    expected = {202: Outcome.MAYBE_STOPPED, 403: Outcome.NOT_STOPPABLE, 404: Outcome.NOT_FOUND}
    assert [(o.outcome, o.code) for o in report] == [
        (expected.get(code, Outcome.UNKNOWN), code) if i == where else (Outcome.STOPPED, 200)
        for i in range(8)
    ]
    assert report.extra_items == 0


async def test_stop_sends_duplicates_once_and_reports_every_position() -> None:
    a, b = uuids(2)
    items = [a, b, a, a, b]
    async with bulk_server() as server, revicom(server) as client:
        report = await client.stop(items)
    assert server.seen[0].body["uuids"] == [a, b]
    assert [(o.index, o.id, o.outcome) for o in report] == [
        (i, u, Outcome.STOPPED) for i, u in enumerate(items)
    ]


async def test_invalid_uuids_fail_alone_and_are_never_sent() -> None:
    good = uuids(3)
    items: list[Any] = [good[0], "not-a-uuid", good[1], 42, good[2]]
    async with bulk_server() as server, revicom(server) as client:
        report = await client.stop(items)
    assert server.seen[0].body["uuids"] == good
    outcomes = [o.outcome for o in report]
    assert outcomes == [Outcome.STOPPED, Outcome.FAILED, Outcome.STOPPED, Outcome.FAILED,
                        Outcome.STOPPED]  # fmt: skip
    assert isinstance(report[1].error, aiomsg.ValidationError)
    assert report[1].error.field == "uuids[1]"
    assert isinstance(report[3].error, aiomsg.ValidationError)


async def test_failed_request_marks_its_items_and_the_job_goes_on() -> None:
    def plan(api: str, n: int, body: Any) -> Action:
        return Action(kind="status", status=400) if n == 0 else OK

    async with bulk_server(plan) as server, revicom(server) as client:
        report = await client.stop(uuids(25), chunk_size=10, concurrency=1)
    assert [o.outcome for o in report][:10] == [Outcome.FAILED] * 10
    assert report.counts[Outcome.STOPPED] == 15
    assert isinstance(report[0].error, aiomsg.BadRequestError)
    assert report[0].code == 1000
    assert server.count("/stop") == 3


async def test_retryable_failures_are_retried_per_chunk() -> None:
    def plan(api: str, n: int, body: Any) -> Action:
        return Action(kind="status", status=503) if n == 0 else OK

    async with bulk_server(plan) as server, revicom(server) as client:
        report = await client.stop(uuids(5))
    assert report.counts[Outcome.STOPPED] == 5
    assert server.count("/stop") == 2
    assert report.requests == 1  # requests as the job counts them: one per chunk


async def test_stop_on_failure_reports_the_rest_as_not_attempted() -> None:
    def plan(api: str, n: int, body: Any) -> Action:
        return Action(kind="status", status=403) if n == 1 else OK

    async with bulk_server(plan) as server, revicom(server) as client:
        report = await client.stop(uuids(50), chunk_size=10, concurrency=1, stop_on_failure=True)
    assert_accounted(report, 50)
    assert report.counts[Outcome.STOPPED] == 10
    assert report.counts[Outcome.FAILED] == 10
    # The rest was never read: the report ends where reading stopped.
    assert len(report) == 20
    assert report.unread_input
    assert not report.complete
    assert server.count("/stop") == 2


async def test_input_is_read_lazily_from_iterables_and_async_iterables() -> None:
    pulled = 0

    def gen() -> Iterator[str]:
        nonlocal pulled
        for u in uuids(3000):
            pulled += 1
            yield u

    async def agen() -> AsyncIterator[str]:
        for u in uuids(2500):
            await anyio.lowlevel.checkpoint()
            yield u

    async with bulk_server() as server, revicom(server) as client:
        async with client.stream_stop(gen(), chunk_size=100, concurrency=2) as outcomes:
            first = await outcomes.__anext__()
            assert first.outcome is Outcome.STOPPED
            assert pulled < 3000  # not everything was read up front
            rest = [o async for o in outcomes]
        assert len(rest) + 1 == 3000
        report = await client.stop(agen(), chunk_size=1000)
    assert_accounted(report, 2500)


async def test_concurrency_never_exceeds_the_limit() -> None:
    def plan(api: str, n: int, body: Any) -> Action:
        return Action(delay=0.01)

    async with bulk_server(plan) as server, revicom(server) as client:
        report = await client.stop(uuids(400), chunk_size=10, concurrency=3)
    assert server.max_in_flight <= 3
    assert server.max_in_flight >= 2  # the bound is used, not serialised
    assert_accounted(report, 400)


async def test_progress_is_reported_as_chunks_finish() -> None:
    seen: list[aiomsg.Progress] = []
    async with bulk_server() as server, revicom(server) as client:
        await client.stop(uuids(35), chunk_size=10, on_progress=seen.append)
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert seen[-1].done == 35
    assert seen[-1].total == 35
    assert seen[-1].counts[Outcome.STOPPED] == 35
    assert len(seen) == 4


async def test_abort_midway_accounts_for_every_item_and_leaves_nothing_open() -> None:
    abort = anyio.Event()
    finished = 0

    def plan(api: str, n: int, body: Any) -> Action:
        return Action(delay=0.02)

    def progress(p: aiomsg.Progress) -> None:
        nonlocal finished
        finished = p.done
        if p.done >= 100:
            abort.set()

    before = set(asyncio.all_tasks())
    async with bulk_server(plan) as server, revicom(server) as client:
        report = await client.stop(
            uuids(500), chunk_size=10, concurrency=4, abort=abort, on_progress=progress
        )
        connector = client._transport._session.connector  # type: ignore[union-attr]
        assert connector is not None
        assert not connector._acquired  # every connection released
    assert_accounted(report, 500)  # 50 chunks, all accounted for
    assert not report.complete
    assert report.counts[Outcome.STOPPED] >= 100
    assert len(report) < 500  # the rest of the input was never read
    assert report.unread_input
    sent = {u for s in server.seen for u in s.body["uuids"]}
    for o in report:
        if o.outcome is Outcome.NOT_ATTEMPTED:
            assert o.id not in sent
    assert set(asyncio.all_tasks()) - before <= {asyncio.current_task()}


async def test_deadline_stops_the_job_like_abort() -> None:
    def plan(api: str, n: int, body: Any) -> Action:
        return Action(delay=0.05)

    async with bulk_server(plan) as server, revicom(server) as client:
        report = await client.stop(uuids(200), chunk_size=10, concurrency=2, deadline=0.12)
    assert_accounted(report, 200)
    assert not report.complete
    assert len(report) < 200
    assert report.unread_input


async def test_leaving_the_stream_early_cancels_the_job() -> None:
    before = set(asyncio.all_tasks())
    async with bulk_server() as server, revicom(server) as client:
        async with client.stream_stop(uuids(1000), chunk_size=10, concurrency=2) as outcomes:
            async for _ in outcomes:
                break
        requests_then = server.count("/stop")
        await asyncio.sleep(0.05)
        assert server.count("/stop") == requests_then
    assert set(asyncio.all_tasks()) - before <= {asyncio.current_task()}


async def test_anext_and_async_for_share_one_position_in_the_stream() -> None:
    ids = uuids(95)
    async with bulk_server() as server, revicom(server) as client:
        async with client.stream_stop(ids, chunk_size=10, concurrency=3) as outcomes:
            first = [await anext(outcomes) for _ in range(7)]
            rest = []
            async for o in outcomes:
                rest.append(o)
                if len(rest) == 40:
                    break
            rest.append(await anext(outcomes))
            rest += [o async for o in outcomes]
            with pytest.raises(StopAsyncIteration):
                await anext(outcomes)
    seen = sorted(o.index for o in first + rest)
    assert seen == list(range(95))
    assert {o.id for o in first + rest} == set(ids)


async def test_streaming_a_million_uuids_keeps_buffering_bounded() -> None:
    total = 1_000_000
    chunk, concurrency = 10_000, 4
    pulled = 0

    def gen() -> Iterator[str]:
        nonlocal pulled
        base = str(uuid.uuid4())[:-8]
        for i in range(total):
            pulled += 1
            yield f"{base}{i:08x}"

    consumed = 0
    worst = 0
    async with bulk_server() as server, revicom(server) as client:
        async with client.stream_stop(gen(), chunk_size=chunk, concurrency=concurrency) as out:
            async for item in out.chunks():
                consumed += len(item)
                worst = max(worst, pulled - consumed)
        report = out.report
    assert consumed == total == len(report)
    assert report.counts[Outcome.STOPPED] == total
    # The streamed job's report keeps totals, not the million outcomes it yielded.
    assert not report.outcomes_kept
    assert report._chunks == []
    with pytest.raises(RuntimeError, match="totals only"):
        list(report)
    # In flight + buffered + being read: never more than a few chunks per worker.
    assert worst <= (2 * concurrency + 2) * chunk
    assert server.count("/stop") == 100


# ----------------------------------------------------------------- LINE sends


@pytest.mark.parametrize(
    ("n", "requests"),
    [(0, 0), (1, 1), (999, 1), (1000, 1), (1001, 2), (10_000, 10), (10_001, 11), (25_000, 25)],
)
async def test_line_chunks_into_requests_of_1000(n: int, requests: int) -> None:
    async with bulk_server() as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(
            SUB, line_messages(n), client_batch_id="campaign-7", concurrency=8
        )
    assert server.count("/lon/batch") == requests
    assert all(len(s.body["messages"]) <= 1000 for s in server.seen)
    assert all(s.body["clientBatchId"] == "campaign-7" for s in server.seen)
    assert_accounted(report, n)
    assert report.counts[Outcome.ACCEPTED] == n
    assert len(report.batches) == requests
    covered = sorted((b.start, b.stop) for b in report.batches)
    assert covered == [(s, min(s + 1000, n)) for s in range(0, n, 1000)]


async def test_line_chunk_size_may_be_smaller_never_larger() -> None:
    async with bulk_server() as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(
            SUB, line_messages(25), chunk_size=10
        )
        assert server.count("/lon/batch") == 3
        assert report.counts[Outcome.ACCEPTED] == 25
        with pytest.raises(aiomsg.ValidationError):
            await client.chatapps.send_line_notifications(SUB, line_messages(1), chunk_size=1001)


async def test_line_outcomes_with_messages_in_response() -> None:
    msgs = line_messages(4)

    def plan(api: str, n: int, body: Any) -> Action:
        return Action(rejected=frozenset({"m-1"}))

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(SUB, msgs)
    assert [(o.id, o.outcome, o.code) for o in report] == [
        ("m-0", Outcome.ACCEPTED, None),
        ("m-1", Outcome.REJECTED, 3038),
        ("m-2", Outcome.ACCEPTED, None),
        ("m-3", Outcome.ACCEPTED, None),
    ]
    assert all(o.provider_id for o in report)  # each message's umid
    assert server.seen[0].body["includeMessagesInResponse"] is True


TAKEN_STATES = ("sent", "delivered", "ok", "read", "undelivered")


@pytest.mark.parametrize(
    ("statuses", "outcomes"),
    [
        # every state that means 8x8 took the message, mixed in one answer
        ({f"m-{i}": {"state": s} for i, s in enumerate(TAKEN_STATES)}, "AAAAAA"),
        ({"m-2": {"state": "failed", "errorCode": 3001}}, "AARAAA"),
        ({"m-2": {"state": "error"}, "m-4": {"state": "rejected"}}, "AARARA"),
        # unknown states, a status without one, or none at all: not known to be taken
        ({"m-1": {"state": "Queued"}}, "AUAAAA"),
        ({"m-1": {"state": "on-hold"}}, "AUAAAA"),
        ({"m-1": {"errorCode": 1}}, "AUAAAA"),
        ({"m-5": {}}, "AAAAAU"),
    ],
)
async def test_line_outcomes_follow_each_answered_state(
    statuses: dict[str, Any], outcomes: str
) -> None:
    letter = {"A": Outcome.ACCEPTED, "R": Outcome.REJECTED, "U": Outcome.UNKNOWN}

    def plan(api: str, n: int, body: Any) -> Action:
        return Action(statuses=statuses)

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(SUB, line_messages(6))
    assert [o.outcome for o in report] == [letter[c] for c in outcomes]
    assert all(o.provider_id for o in report)  # each message's umid, whatever its state
    assert report.extra_items == 0


async def test_line_outcomes_from_counts_only_when_unambiguous() -> None:
    def plan(api: str, n: int, body: Any) -> Action:
        # request 0: all accepted; 1: all rejected; 2: mixed
        ids = {m["clientMessageId"] for m in body["messages"]}
        return Action(rejected=frozenset(ids) if n == 1 else frozenset({"m-4"}) if n == 2 else
                      frozenset())  # fmt: skip

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(
            SUB, line_messages(6), include_messages_in_response=False, chunk_size=2,
            concurrency=1,
        )  # fmt: skip
    assert [o.outcome for o in report] == [Outcome.ACCEPTED] * 2 + [Outcome.REJECTED] * 2 + [
        Outcome.UNKNOWN
    ] * 2


async def test_line_possibly_delivered_failures_are_unknown_and_never_resent() -> None:
    def plan(api: str, n: int, body: Any) -> Action:
        if n == 0:
            return Action(kind="reset_after")
        if n == 1:
            return Action(kind="status", status=500)
        return OK

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(
            SUB, line_messages(30), chunk_size=10, concurrency=1
        )
    assert server.count("/lon/batch") == 3  # nothing sent twice
    assert [o.outcome for o in report] == [Outcome.UNKNOWN] * 20 + [Outcome.ACCEPTED] * 10
    error = report[0].error
    assert isinstance(error, aiomsg.OutcomeUnknownError)
    assert error.client_message_ids == tuple(f"m-{i}" for i in range(10))


async def test_line_429_is_retried_and_4xx_fails_its_chunk() -> None:
    def plan(api: str, n: int, body: Any) -> Action:
        if n == 0:
            return Action(kind="status", status=429, headers={"Retry-After": "0"})
        if n == 2:
            return Action(kind="status", status=400)
        return OK

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(
            SUB, line_messages(20), chunk_size=10, concurrency=1
        )
    assert server.count("/lon/batch") == 3
    assert [o.outcome for o in report] == [Outcome.ACCEPTED] * 10 + [Outcome.FAILED] * 10
    assert isinstance(report[10].error, aiomsg.BadRequestError)


async def test_line_invalid_messages_fail_alone_and_ids_are_generated() -> None:
    msgs: list[Any] = line_messages(3)
    msgs[1] = {"user": {"msisdn": "12"}, "content": {}}
    msgs.append(aiomsg.LineNotification(user=aiomsg.LineUser(msisdn="+6512345678"),
                                        content=aiomsg.LineContent(title="typed")))  # fmt: skip
    async with bulk_server() as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(SUB, msgs)
    sent = server.seen[0].body["messages"]
    assert len(sent) == 3
    assert report[1].outcome is Outcome.FAILED
    assert isinstance(report[1].error, aiomsg.ValidationError)
    assert report[1].error.field == "messages[1].user.msisdn"
    generated = report[3].id
    assert generated
    assert sent[2]["clientMessageId"] == generated
    assert report[3].outcome is Outcome.ACCEPTED


async def test_line_duplicates_within_a_request_are_sent_once() -> None:
    one = line_messages(1)[0]
    clash = {**one, "content": {"title": "different"}}
    no_id = {"user": {"msisdn": "+6512345678"}, "content": {"title": "x"}}
    async with bulk_server() as server, eightbyeight(server) as client:
        report = await client.chatapps.send_line_notifications(
            SUB, [one, dict(one), clash, no_id, dict(no_id)]
        )
    assert len(server.seen[0].body["messages"]) == 2
    assert [o.outcome for o in report] == [
        Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.FAILED, Outcome.ACCEPTED, Outcome.ACCEPTED
    ]  # fmt: skip
    assert report[3].id == report[4].id
    assert report[0].provider_id == report[1].provider_id


# ----------------------------------------------------------------- cancels


@pytest.mark.parametrize("api", ["sms", "chatapps"])
async def test_bulk_cancels_fan_out_one_request_each(api: str) -> None:
    ids = uuids(40)
    gone, done, broken = ids[3], ids[5], ids[7]

    def plan(_: str, n: int, umid: Any) -> Action:
        if umid == gone:
            return Action(kind="status", status=404)
        if umid == broken:
            return Action(kind="status", status=401)
        return Action(cancelled_count=0 if umid == done else 1)

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        resource = client.sms if api == "sms" else client.chatapps
        items: list[Any] = [*ids, "bad-umid", ids[0]]
        report = await resource.cancel_messages(SUB, items, concurrency=8)
    # 40 valid ids; the repeat in a later take is not sent again and takes the first's
    assert server.count("/messages/") == 40
    assert server.max_in_flight <= 8
    assert_accounted(report, 42)
    assert report[41].outcome is report[0].outcome is Outcome.CANCELLED
    assert report[41].id == ids[0]
    assert report[3].outcome is Outcome.NOT_FOUND
    assert report[5].outcome is Outcome.NOT_CANCELLED
    assert report[7].outcome is Outcome.FAILED
    assert isinstance(report[7].error, aiomsg.AuthenticationError)
    assert report[40].outcome is Outcome.FAILED
    assert isinstance(report[40].error, aiomsg.ValidationError)
    assert report.counts[Outcome.CANCELLED] == 38


async def test_before_send_sees_each_request_before_it_leaves() -> None:
    announced: list[list[int]] = []
    counts_then: list[int] = []

    async with bulk_server() as server, eightbyeight(server) as client:

        def before_send(positions: Any) -> None:
            announced.append(list(positions))
            counts_then.append(server.count("/lon/batch"))

        report = await client.chatapps.send_line_notifications(
            SUB, line_messages(25), chunk_size=10, concurrency=1, before_send=before_send
        )
    assert announced == [list(range(0, 10)), list(range(10, 20)), list(range(20, 25))]
    assert counts_then == [0, 1, 2]  # announced before the server saw it
    assert report.counts[Outcome.ACCEPTED] == 25


async def test_an_unexpected_error_in_a_chunk_loses_no_item() -> None:
    from aiomsg.bulk._chunk import Chunk
    from aiomsg.bulk._stream import collect, run_bulk

    async def process(chunk: Chunk[str]) -> None:
        chunk.outcomes[0] = Outcome.STOPPED
        chunk.mark_in_flight([1])
        if chunk.start == 3:
            raise RuntimeError("boom")
        chunk.outcomes[1] = Outcome.STOPPED
        chunk.outcomes[2] = Outcome.STOPPED

    report = await collect(run_bulk(list("abcdefghi"), process, chunk_size=3, concurrency=2))
    assert_accounted(report, 9)
    assert [o.outcome for o in report][3:6] == [Outcome.STOPPED, Outcome.UNKNOWN, Outcome.FAILED]
    assert isinstance(report[5].error, RuntimeError)
    assert report.counts[Outcome.STOPPED] == 7


async def test_interrupted_while_waiting_after_a_429_is_not_attempted_not_unknown() -> None:
    abort = anyio.Event()

    def plan(api: str, n: int, body: Any) -> Action:
        return Action(kind="status", status=429, headers={"Retry-After": "1"})

    def on_request(event: aiomsg.RequestEvent) -> None:
        if event.will_retry:
            abort.set()  # stop the job while the call sleeps before its retry

    async with bulk_server(plan) as server, eightbyeight(server, on_request=on_request) as client:
        report = await client.chatapps.send_line_notifications(
            SUB, line_messages(30), chunk_size=10, concurrency=1, abort=abort
        )
    assert server.count("/lon/batch") == 1
    assert_accounted(report, 30)
    # a 429 provably took nothing; what was never read is not in the report
    assert report.counts[Outcome.NOT_ATTEMPTED] == len(report) >= 10
    assert not report.complete


async def test_interrupted_after_a_possibly_delivered_attempt_is_unknown() -> None:
    abort = anyio.Event()

    def plan(api: str, n: int, body: Any) -> Action:
        abort.set()
        return Action(delay=1.0)  # the answer never comes in time

    async with bulk_server(plan) as server, revicom(server) as client:
        report = await client.stop(uuids(30), chunk_size=10, concurrency=1, abort=abort)
    assert server.count("/stop") == 1
    assert [o.outcome for o in report] == [Outcome.UNKNOWN] * 10
    assert report.unread_input


async def test_single_batch_call_sends_a_repeated_message_once() -> None:
    one = line_messages(1)[0]
    no_id = {"user": {"msisdn": "+6512345678"}, "content": {"title": "x"}}
    async with bulk_server() as server, eightbyeight(server) as client:
        await client.chatapps.send_line_notification_batch(SUB, [one, dict(one), no_id, no_id])
        assert len(server.seen[0].body["messages"]) == 2
        clash = {**one, "content": {"title": "different"}}
        with pytest.raises(aiomsg.ValidationError, match="clientMessageId"):
            await client.chatapps.send_line_notification_batch(SUB, [one, clash])
    assert len(server.seen) == 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c, r: c.chatapps.send_line_notifications(SUB, line_messages(1),
                                                         client_batch_id=123), "client_batch_id"),
        (lambda c, r: c.chatapps.send_line_notifications(
            SUB, line_messages(1), include_messages_in_response="no"),
         "include_messages_in_response"),
        (lambda c, r: c.chatapps.send_line_notification_batch(
            SUB, line_messages(1), include_messages_in_response=0),
         "includeMessagesInResponse"),
        (lambda c, r: c.sms.cancel_messages(SUB, uuids(3), concurrency=0), "concurrency"),
        (lambda c, r: c.chatapps.cancel_messages(SUB, uuids(1)[0]), "umids"),
        (lambda c, r: c.chatapps.send_line_notifications(SUB, line_messages(1)[0]), "messages"),
        (lambda c, r: r.stop(uuids(1)[0]), "uuids"),
        (lambda c, r: r.stop(uuids(3), concurrency=1.5), "concurrency"),
    ],
)  # fmt: skip
async def test_bulk_calls_reject_bad_arguments_before_any_io(call: Any, field: str) -> None:
    async with bulk_server() as server, eightbyeight(server) as client, revicom(server) as rev:
        with pytest.raises(aiomsg.ValidationError) as info:
            await call(client, rev)
    assert info.value.field == field
    assert server.seen == []


async def test_a_404_without_code_1300_is_a_failure_not_a_missing_message() -> None:
    def plan(_: str, n: int, umid: Any) -> Action:
        return Action(kind="status", status=404, headers={})

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        server.plan = plan
        report = await client.sms.cancel_messages(SUB, uuids(2))
    assert [o.outcome for o in report] == [Outcome.NOT_FOUND] * 2  # scripted 404s carry 1300

    async with bulk_server() as server:
        # A base URL with a wrong path: the server's own 404, with no provider code.
        async with aiomsg.EightByEight(
            api_key="k", sms_url=server.url + "/wrong", retry=FAST_RETRY
        ) as client:
            report = await client.sms.cancel_messages(SUB, uuids(2))
    assert [o.outcome for o in report] == [Outcome.FAILED] * 2
    assert isinstance(report[0].error, aiomsg.NotFoundError)
    assert report[0].error.code is None


async def test_finish_sends_nothing_new_and_lets_requests_in_flight_end() -> None:
    finish = anyio.Event()
    seen_at_finish = 0

    def plan(_: str, n: int, umid: Any) -> Action:
        return Action(delay=0.01)

    async with bulk_server(plan) as server, eightbyeight(server) as client:

        def progress(p: aiomsg.Progress) -> None:
            nonlocal seen_at_finish
            if p.done >= 40 and not finish.is_set():
                seen_at_finish = len(server.seen)
                finish.set()

        report = await client.sms.cancel_messages(
            SUB, uuids(400), concurrency=4, finish=finish, on_progress=progress
        )
        sent = len(server.seen)
    assert_accounted(report, 400)
    assert not report.complete
    # Only requests already in flight when the job was told to finish went out.
    assert sent - seen_at_finish <= 4
    assert report.counts[Outcome.CANCELLED] == sent
    assert report.counts[Outcome.UNKNOWN] == 0  # nothing was cut short
    assert report.counts[Outcome.NOT_ATTEMPTED] == len(report) - sent


async def test_a_failing_input_keeps_the_report_of_what_was_read() -> None:
    def messages() -> Iterator[dict[str, Any]]:
        yield from line_messages(1500)
        raise ValueError("bad line 1501 in the input file")

    async with bulk_server() as server, eightbyeight(server) as client:
        with pytest.raises(aiomsg.BulkInputError) as info:
            await client.chatapps.send_line_notifications(SUB, messages(), concurrency=1)
    report = info.value.report
    assert isinstance(info.value.__cause__, ValueError)
    assert_accounted(report, 1500)
    assert report.counts[Outcome.ACCEPTED] == 1500  # what 8x8 took is still known
    assert not report.complete
    assert len(report.batches) == 2


async def test_a_failing_progress_callback_costs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    def progress(p: aiomsg.Progress) -> None:
        raise ZeroDivisionError

    async with bulk_server() as server, revicom(server) as client:
        report = await client.stop(uuids(30), chunk_size=10, on_progress=progress)
    assert report.counts[Outcome.STOPPED] == 30
    assert "on_progress raised" in caplog.text


async def test_an_error_in_the_stream_body_comes_out_unwrapped() -> None:
    async def consume(client: aiomsg.Revicom) -> None:
        async with client.stream_stop(uuids(30), chunk_size=10) as outcomes:
            async for _ in outcomes:
                raise KeyError("mine")

    async with bulk_server() as server, revicom(server) as client:
        with pytest.raises(KeyError, match="mine"):
            await consume(client)


async def test_a_before_send_hook_that_raises_leaks_no_limiter_slot() -> None:
    calls = 0

    def before_send(positions: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError(28, "No space left on device")

    async with bulk_server() as server, revicom(server) as client:
        report = await client.stop(uuids(6), chunk_size=2, concurrency=1, before_send=before_send)
        limiter = next(iter(client._limiters._limiters.values()))
        assert limiter._slots.borrowed_tokens == 0
    assert [o.outcome for o in report][:2] == [Outcome.FAILED] * 2  # never sent
    assert isinstance(report[0].error, OSError)
    assert report.counts[Outcome.STOPPED] == 4
    assert server.count("/stop") == 2


async def test_finish_already_set_sends_nothing() -> None:
    finish = anyio.Event()
    finish.set()
    async with bulk_server() as server, revicom(server) as client:
        report = await client.stop(uuids(5), chunk_size=2, concurrency=2, finish=finish)
        line = await client_line_send(server, finish)
    assert server.seen == []
    assert len(report) == 0  # nothing was read
    assert report.unread_input
    assert len(line) == 0
    assert line.unread_input
    assert not report.complete


async def client_line_send(server: BulkServer, finish: anyio.Event) -> aiomsg.BulkReport:
    async with eightbyeight(server) as client:
        return await client.chatapps.send_line_notifications(
            SUB, line_messages(4), chunk_size=2, concurrency=2, finish=finish
        )


async def test_finish_does_not_wait_for_an_idle_async_input() -> None:
    finish = anyio.Event()
    never = anyio.Event()
    ids = uuids(2)

    async def idle_input() -> AsyncIterator[str]:
        for u in ids:
            yield u
        await never.wait()  # a stream that has nothing more for now
        yield uuids(1)[0]  # pragma: no cover

    def progress(p: aiomsg.Progress) -> None:
        if p.done == 2:
            finish.set()

    async with bulk_server() as server, revicom(server) as client:
        with anyio.fail_after(5):
            report = await client.stop(
                idle_input(), chunk_size=1, concurrency=1, finish=finish, on_progress=progress
            )
    assert report.counts[Outcome.STOPPED] == 2
    assert not report.complete


async def test_an_earlier_attempt_that_may_have_arrived_keeps_items_unknown() -> None:
    abort = anyio.Event()

    def plan(api: str, n: int, body: Any) -> Action:
        if n == 0:
            return Action(kind="status", status=503)  # may have been acted on
        return Action(kind="status", status=429, headers={"Retry-After": "1"})

    def on_request(event: aiomsg.RequestEvent) -> None:
        if event.status == 429:
            abort.set()  # stop while the call waits after the 429

    async with bulk_server(plan) as server:
        async with revicom(server, on_request=on_request) as client:
            report = await client.stop(uuids(3), concurrency=1, abort=abort)
    assert [o.outcome for o in report] == [Outcome.UNKNOWN] * 3


async def test_only_the_task_groups_own_wrapper_is_removed() -> None:
    async def raise_own_group(client: aiomsg.Revicom) -> None:
        async with client.stream_stop(uuids(3), chunk_size=1) as outcomes:
            async for _ in outcomes:
                raise ExceptionGroup("mine", [ValueError("row 3")])

    async def raise_with_context(client: aiomsg.Revicom) -> None:
        async with client.stream_stop(uuids(3), chunk_size=1) as outcomes:
            async for _ in outcomes:
                try:
                    raise KeyError("first")
                except KeyError:
                    raise ValueError("second") from None

    async with bulk_server() as server, revicom(server) as client:
        with pytest.raises(ExceptionGroup) as group:
            await raise_own_group(client)
        assert group.value.message == "mine"
        with pytest.raises(ValueError, match="second") as info:
            await raise_with_context(client)
        assert info.value.__suppress_context__
        assert isinstance(info.value.__context__, KeyError)


def frame_locals(error: BaseException) -> list[object]:
    """Every local of every frame the error and its chain passed through."""
    found: list[object] = []
    todo: list[BaseException | None] = [error]
    seen: set[int] = set()
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        tb = e.__traceback__
        while tb is not None:
            found.extend(tb.tb_frame.f_locals.values())
            tb = tb.tb_next
        todo += [e.__cause__, e.__context__]
    return found


def big(value: object) -> bool:
    return isinstance(value, bytes | bytearray | list | tuple | dict) and len(value) >= 1000


@pytest.mark.parametrize("api", ["stop", "line", "cancel"])
async def test_a_failed_request_kept_in_a_report_pins_neither_body_nor_items(api: str) -> None:
    """A report keeps each failed item's error; its traceback must not keep the request
    body and the chunk's items alive with it."""

    def plan(_: str, n: int, body: Any) -> Action:
        return Action(kind="status", status=400)

    async with bulk_server(plan) as server:
        if api == "stop":
            async with revicom(server) as client:
                report = await client.stop(uuids(2000))
        else:
            async with eightbyeight(server) as client:
                if api == "line":
                    report = await client.chatapps.send_line_notifications(SUB, line_messages(2000))
                else:
                    report = await client.sms.cancel_messages(SUB, uuids(1000), concurrency=2)
    assert report.counts[Outcome.FAILED] == len(report)
    errors = {id(o.error): o.error for o in report if o.error is not None}
    assert errors
    for error in errors.values():
        assert error.__traceback__ is not None  # still says where it came from
        assert not [v for v in frame_locals(error) if big(v)]
