"""An 8x8 umid repeated in a later request of a cancel job is not sent again: it takes
its first's outcome, code and error, not the "nothing to cancel" a second cancel would
get. (A Revicom uuid repeated in a later request is stopped again: Revicom answers
about the message as it then is, see test_bulk.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiomsg
from aiomsg import Outcome
from aiomsg.bulk import _sent
from tests.bulk.support import OK, Action, BulkServer, bulk_server
from tests.bulk.test_bulk import SUB, assert_accounted, eightbyeight, uuids

FORMS = ["list", "iterable", "async", "stream", "chunks"]


def _items(items: list[Any], form: str) -> Any:
    if form == "iterable":
        return iter(items)
    if form == "async":

        async def agen() -> AsyncIterator[Any]:
            for item in items:
                yield item

        return agen()
    return items


async def cancel(client: aiomsg.EightByEight, api: str, items: list[Any], form: str) -> Any:
    resource = client.sms if api == "sms" else client.chatapps
    if form in ("list", "iterable", "async"):
        return list(await resource.cancel_messages(SUB, _items(items, form), concurrency=4))
    got: list[aiomsg.ItemOutcome] = []
    async with resource.stream_cancel_messages(SUB, items, concurrency=4) as stream:
        if form == "stream":
            got = [o async for o in stream]
        else:
            async for chunk in stream.chunks():
                got.extend(chunk)
    return sorted(got, key=lambda o: o.index)


def cancelled(server: BulkServer) -> Counter[str]:
    """How many times each umid reached the server."""
    return Counter(s.path.rsplit("/", 1)[1] for s in server.seen if "/messages/" in s.path)


def second_time_nothing() -> Any:
    """A server that cancels a umid once; a second cancel finds nothing to cancel."""
    done: set[str] = set()

    def plan(api: str, n: int, umid: Any) -> Action:
        count = 0 if umid in done else 1
        done.add(umid)
        return Action(cancelled_count=count)

    return plan


def same(a: aiomsg.ItemOutcome, b: aiomsg.ItemOutcome) -> bool:
    return (a.outcome, a.code, a.error) == (b.outcome, b.code, b.error)


@pytest.mark.parametrize("api", ["sms", "chatapps"])
@pytest.mark.parametrize("form", FORMS)
async def test_a_umid_repeated_in_a_later_take_is_cancelled_once(api: str, form: str) -> None:
    ids = uuids(40)
    items = [*ids, ids[1], ids[39], ids[1]]
    async with bulk_server(second_time_nothing()) as server, eightbyeight(server) as client:
        outcomes = await cancel(client, api, items, form)
    assert [o.index for o in outcomes] == list(range(43))
    assert cancelled(server) == Counter(ids)  # each umid reached 8x8 once
    for i, first in ((40, 1), (41, 39), (42, 1)):
        assert outcomes[i].id == items[i]
        assert same(outcomes[i], outcomes[first])
        assert outcomes[i].outcome is Outcome.CANCELLED  # not the 0 a resend would get


@pytest.mark.parametrize("form", ["list", "iterable"])
async def test_a_repeat_of_a_failed_cancel_fails_with_its_error(form: str) -> None:
    ids = uuids(20)
    items = [*ids, ids[2]]

    def plan(api: str, n: int, umid: Any) -> Action:
        return Action(kind="status", status=401) if umid == ids[2] else OK

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        outcomes = await cancel(client, "sms", items, form)
    assert cancelled(server)[ids[2]] == 1
    assert outcomes[20].outcome is Outcome.FAILED
    assert outcomes[20].error is outcomes[2].error
    assert isinstance(outcomes[20].error, aiomsg.AuthenticationError)


async def test_a_repeat_waits_for_its_first_cancel_still_out() -> None:
    ids = uuids(4)
    items = [ids[0], ids[1], ids[2], ids[0]]

    def plan(api: str, n: int, umid: Any) -> Action:
        if umid == ids[0]:
            return Action(kind="status", status=404, delay=0.3)
        return OK

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        with anyio.fail_after(10):
            report = await client.sms.cancel_messages(SUB, iter(items), concurrency=4)
    assert cancelled(server)[ids[0]] == 1
    assert report[3].outcome is report[0].outcome is Outcome.NOT_FOUND
    assert report[3].code == report[0].code == 1300


async def test_a_job_stopped_while_the_first_is_out_never_sends_the_repeat() -> None:
    """The repeat takes the first's outcome when that is known by then (``unknown``:
    the first was out), else ``unknown`` naming the first; it is never sent."""
    ids = uuids(3)
    items = [ids[0], ids[1], ids[0]]
    abort = asyncio.Event()

    def plan(api: str, n: int, umid: Any) -> Action:
        if umid == ids[0]:
            abort.set()
            return Action(delay=5)
        return OK

    async with bulk_server(plan) as server, eightbyeight(server) as client:
        with anyio.fail_after(10):
            report = await client.sms.cancel_messages(SUB, iter(items), concurrency=3, abort=abort)
    assert cancelled(server)[ids[0]] == 1
    assert_accounted(report, 3)
    assert report[0].outcome is Outcome.UNKNOWN
    assert report[2].outcome in (Outcome.UNKNOWN, Outcome.NOT_ATTEMPTED)
    if report[2].outcome is Outcome.UNKNOWN and not same(report[2], report[0]):
        assert isinstance(report[2].error, aiomsg.BulkInterruptedError)
        assert "umids[0]" in str(report[2].error)


@pytest.mark.parametrize("small_limit", [0, 7])
async def test_past_the_small_limit_repeats_are_found_in_the_table(
    small_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sent, "SMALL_LIMIT", small_limit)
    ids = uuids(30)
    items = [*ids, *ids[::7]]
    async with bulk_server(second_time_nothing()) as server, eightbyeight(server) as client:
        report = await client.sms.cancel_messages(SUB, iter(items), concurrency=2)
    assert cancelled(server) == Counter(ids)
    for k, first in enumerate(range(0, 30, 7)):
        assert same(report[30 + k], report[first])


async def test_umids_sharing_a_64_bit_key_are_both_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the small limit the table keys ids by a hash: two different umids under
    one key are told apart by the fingerprint, and both are sent."""
    monkeypatch.setattr(_sent, "SMALL_LIMIT", 0)
    monkeypatch.setattr(_sent, "hash", lambda _: 42, raising=False)
    ids = uuids(12)
    async with bulk_server(second_time_nothing()) as server, eightbyeight(server) as client:
        report = await client.sms.cancel_messages(SUB, iter([*ids, ids[5]]), concurrency=2)
    assert cancelled(server) == Counter(ids)
    assert same(report[12], report[5])
    assert report.counts[Outcome.CANCELLED] == 13


@given(
    picks=st.lists(st.integers(0, 11), min_size=1, max_size=40),
    concurrency=st.integers(1, 4),
    form=st.sampled_from(["list", "iterable"]),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_repeat_takes_its_first_outcome(
    picks: list[int], concurrency: int, form: str
) -> None:
    pool = uuids(12)
    items = [pool[p] for p in picks]
    firsts = dict(zip(pool, [1, 0, 404, 401] * 3, strict=True))
    done: set[str] = set()

    def plan(api: str, n: int, umid: Any) -> Action:
        # A umid's first cancel gets its own answer; any later one, nothing to cancel.
        answer = 0 if umid in done else firsts[umid]
        done.add(umid)
        if answer > 1:
            return Action(kind="status", status=answer)
        return Action(cancelled_count=answer)

    async def run() -> tuple[list[aiomsg.ItemOutcome], Counter[str]]:
        async with bulk_server(plan) as server, eightbyeight(server) as client:
            report = await client.sms.cancel_messages(
                SUB, _items(items, form), concurrency=concurrency
            )
        return list(report), cancelled(server)

    outcomes, sent = asyncio.run(run())
    assert [o.index for o in outcomes] == list(range(len(items)))
    assert sent == Counter(set(items))  # each distinct umid exactly once
    first_at: dict[str, int] = {}
    for i, umid in enumerate(items):
        first = first_at.setdefault(umid, i)
        assert same(outcomes[i], outcomes[first])


class _Sneaky(str):
    """A str subclass whose own hash and equality would hide a repeat."""

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


@pytest.mark.parametrize("form", ["list", "iterable"])
async def test_a_str_subclass_umid_is_compared_by_its_plain_value(form: str) -> None:
    ids = uuids(20)
    items: list[Any] = [*ids, _Sneaky(ids[3]), _Sneaky(ids[3])]
    async with bulk_server(second_time_nothing()) as server, eightbyeight(server) as client:
        outcomes = await cancel(client, "sms", items, form)
    assert cancelled(server) == Counter(ids)
    assert same(outcomes[20], outcomes[3])
    assert same(outcomes[21], outcomes[3])
