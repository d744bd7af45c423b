"""Revicom stops with ``once_per_job=True``: a uuid repeated in a later request is not
stopped again; every repeat takes its first occurrence's outcome, code and error.
Without it a repeat is stopped again and gets Revicom's answer about the message as
it then is (the default, kept for its cost: see docs/bulk.md)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiomsg
from aiomsg import Outcome
from aiomsg.bulk import _sent
from tests.bulk.support import OK, Action, BulkServer, bulk_server
from tests.bulk.test_bulk import assert_accounted, revicom, uuids
from tests.bulk.test_first_outcome import FORMS, _items, _Sneaky, same

CHUNK = 10


async def stop(
    client: aiomsg.Revicom, items: list[Any], form: str, **kw: Any
) -> list[aiomsg.ItemOutcome]:
    kw.setdefault("chunk_size", CHUNK)
    kw.setdefault("concurrency", 3)
    if form in ("list", "iterable", "async"):
        return list(await client.stop(_items(items, form), once_per_job=True, **kw))
    got: list[aiomsg.ItemOutcome] = []
    async with client.stream_stop(items, once_per_job=True, **kw) as stream:
        if form == "stream":
            got = [o async for o in stream]
        else:
            async for chunk in stream.chunks():
                got.extend(chunk)
    return sorted(got, key=lambda o: o.index)


def stopped(server: BulkServer) -> Counter[str]:
    """How many times each uuid reached the server."""
    return Counter(u for s in server.seen for u in s.body["uuids"])


def second_time_not_stoppable() -> Any:
    """A server that stops a uuid once; asked again, it says the message cannot be
    stopped (as Revicom does once a stopped message's state moved on)."""
    done: set[str] = set()

    def plan(api: str, n: int, body: Any) -> Action:
        codes = {u: 403 for u in body["uuids"] if u in done}
        done.update(body["uuids"])
        return Action(codes=codes)

    return plan


@pytest.mark.parametrize("form", FORMS)
async def test_a_uuid_repeated_in_a_later_request_is_stopped_once(form: str) -> None:
    ids = uuids(40)
    items = [*ids, ids[1], ids[39], ids[1]]
    async with bulk_server(second_time_not_stoppable()) as server:
        async with revicom(server) as client:
            outcomes = await stop(client, items, form)
    assert [o.index for o in outcomes] == list(range(43))
    assert stopped(server) == Counter(ids)  # each uuid reached Revicom once
    for i, first in ((40, 1), (41, 39), (42, 1)):
        assert outcomes[i].id == items[i]
        assert same(outcomes[i], outcomes[first])
        assert outcomes[i].outcome is Outcome.STOPPED  # not the 403 a resend gets


async def test_without_the_option_a_later_repeat_is_stopped_again() -> None:
    """The default: the repeat is sent again and reported as Revicom answers it."""
    ids = uuids(20)
    async with bulk_server(second_time_not_stoppable()) as server:
        async with revicom(server) as client:
            report = await client.stop([*ids, ids[4]], chunk_size=CHUNK, concurrency=1)
    assert stopped(server)[ids[4]] == 2
    assert report[4].outcome is Outcome.STOPPED
    assert report[20].outcome is Outcome.NOT_STOPPABLE


@pytest.mark.parametrize("form", ["list", "iterable"])
async def test_a_repeat_within_a_request_and_across_requests_is_sent_once(form: str) -> None:
    ids = uuids(15)
    # ids[2] three times in the first request, then twice in the second.
    items = [*ids[:5], ids[2], ids[2], *ids[5:8], ids[2], *ids[8:], ids[2]]
    async with bulk_server(second_time_not_stoppable()) as server:
        async with revicom(server) as client:
            outcomes = await stop(client, items, form)
    assert stopped(server) == Counter(ids)
    assert [o.index for o in outcomes] == list(range(len(items)))
    for i, item in enumerate(items):
        if item == ids[2]:
            assert same(outcomes[i], outcomes[2])


@pytest.mark.parametrize("form", ["list", "iterable"])
async def test_a_repeat_of_a_failed_request_fails_with_its_error(form: str) -> None:
    ids = uuids(20)
    items = [*ids, ids[3]]

    def plan(api: str, n: int, body: Any) -> Action:
        return Action(kind="status", status=401) if ids[3] in body["uuids"] else OK

    async with bulk_server(plan) as server, revicom(server) as client:
        outcomes = await stop(client, items, form, concurrency=1)
    assert stopped(server)[ids[3]] == 1
    assert outcomes[20].outcome is Outcome.FAILED
    assert outcomes[20].error is outcomes[3].error
    assert isinstance(outcomes[20].error, aiomsg.AuthenticationError)


async def test_a_repeat_waits_for_its_first_still_out() -> None:
    ids = uuids(20)
    items = [*ids, ids[0]]

    def plan(api: str, n: int, body: Any) -> Action:
        if ids[0] in body["uuids"]:
            return Action(codes={ids[0]: 404}, delay=0.3)
        return OK

    async with bulk_server(plan) as server, revicom(server) as client:
        with anyio.fail_after(10):
            outcomes = await stop(client, items, "iterable")
    assert stopped(server)[ids[0]] == 1
    assert outcomes[20].outcome is outcomes[0].outcome is Outcome.NOT_FOUND
    assert outcomes[20].code == outcomes[0].code == 404


async def test_a_job_stopped_while_the_first_is_out_never_sends_the_repeat() -> None:
    ids = uuids(20)
    items = [*ids, ids[0]]
    abort = asyncio.Event()

    def plan(api: str, n: int, body: Any) -> Action:
        if ids[0] in body["uuids"]:
            abort.set()
            return Action(delay=5)
        return OK

    async with bulk_server(plan) as server, revicom(server) as client:
        with anyio.fail_after(10):
            report = await client.stop(
                iter(items), chunk_size=CHUNK, concurrency=3, once_per_job=True, abort=abort
            )
    assert stopped(server)[ids[0]] == 1
    assert_accounted(report, 21)
    assert report[0].outcome is Outcome.UNKNOWN
    assert report[20].outcome in (Outcome.UNKNOWN, Outcome.NOT_ATTEMPTED)
    if report[20].outcome is Outcome.UNKNOWN and not same(report[20], report[0]):
        assert isinstance(report[20].error, aiomsg.BulkInterruptedError)
        assert "uuids[0]" in str(report[20].error)


@pytest.mark.parametrize("small_limit", [0, 7])
async def test_past_the_small_limit_repeats_are_found_in_the_table(
    small_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sent, "SMALL_LIMIT", small_limit)
    ids = uuids(30)
    items = [*ids, *ids[::7]]
    async with bulk_server(second_time_not_stoppable()) as server:
        async with revicom(server) as client:
            outcomes = await stop(client, items, "iterable", concurrency=2)
    assert stopped(server) == Counter(ids)
    for k, first in enumerate(range(0, 30, 7)):
        assert same(outcomes[30 + k], outcomes[first])


@pytest.mark.parametrize("form", ["list", "iterable"])
async def test_a_str_subclass_uuid_is_compared_by_its_plain_value(form: str) -> None:
    ids = uuids(20)
    items: list[Any] = [*ids, _Sneaky(ids[3]), _Sneaky(ids[3])]
    async with bulk_server(second_time_not_stoppable()) as server:
        async with revicom(server) as client:
            outcomes = await stop(client, items, form)
    assert stopped(server) == Counter(ids)
    assert same(outcomes[20], outcomes[3])
    assert same(outcomes[21], outcomes[3])


async def test_uuids_are_compared_as_written() -> None:
    """A uuid in capitals is another id for the rule (as for 8x8 umids): sent again."""
    ids = uuids(12)
    async with bulk_server() as server, revicom(server) as client:
        outcomes = await stop(client, [*ids, ids[2].upper()], "list")
    assert stopped(server)[ids[2].upper()] == 1
    assert outcomes[12].outcome is Outcome.STOPPED


@pytest.mark.parametrize("bad", [1, 0, "yes", None, "True"])
async def test_the_option_is_true_or_false(bad: Any) -> None:
    async with bulk_server() as server, revicom(server) as client:
        with pytest.raises(aiomsg.ValidationError, match="once_per_job"):
            await client.stop(uuids(3), once_per_job=bad)
        with pytest.raises(aiomsg.ValidationError, match="once_per_job"):
            client.stream_stop(uuids(3), once_per_job=bad)
    assert server.seen == []


@given(
    picks=st.lists(st.integers(0, 11), min_size=1, max_size=60),
    chunk_size=st.integers(1, 7),
    concurrency=st.integers(1, 4),
    form=st.sampled_from(["list", "iterable"]),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_repeat_takes_its_first_outcome(
    picks: list[int], chunk_size: int, concurrency: int, form: str
) -> None:
    pool = uuids(12)
    items = [pool[p] for p in picks]
    firsts = dict(zip(pool, [200, 202, 403, 404, 299, 200] * 2, strict=True))
    done: set[str] = set()

    def plan(api: str, n: int, body: Any) -> Action:
        # A uuid's first stop gets its own code; any later one, "cannot be stopped".
        codes = {u: 403 if u in done else firsts[u] for u in body["uuids"]}
        done.update(body["uuids"])
        return Action(codes=codes)

    async def run() -> tuple[list[aiomsg.ItemOutcome], Counter[str]]:
        async with bulk_server(plan) as server, revicom(server) as client:
            with anyio.fail_after(30):
                got = await stop(client, items, form, chunk_size=chunk_size,
                                 concurrency=concurrency)  # fmt: skip
        return got, stopped(server)

    outcomes, sent = asyncio.run(run())
    assert [o.index for o in outcomes] == list(range(len(items)))
    assert sent == Counter(set(items))  # each distinct uuid exactly once
    first_at: dict[str, int] = {}
    for i, uuid in enumerate(items):
        first = first_at.setdefault(uuid, i)
        assert same(outcomes[i], outcomes[first])
        assert outcomes[i].code == firsts[uuid]
