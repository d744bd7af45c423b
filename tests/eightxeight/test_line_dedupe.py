"""A clientMessageId is sent at most once per LINE bulk job, across its requests."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiomsg
from aiomsg import Outcome
from aiomsg.bulk import _sent
from aiomsg.bulk._chunk import Chunk
from aiomsg.bulk._sent import SentIds
from aiomsg.eightxeight import _sent_ids
from aiomsg.eightxeight.chatapps import item_id
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


@pytest.mark.parametrize("form", ["list", "iterable", "iterable-table", "async-table"])
async def test_ids_sharing_a_hash_are_never_silently_dropped(
    form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every id given one key: a list input, and an iterator's job while its ids are
    kept as themselves, tell them apart exactly and send each; past the move to the
    compact table an iterator's job cannot, and fails the later ones visibly, never
    sends twice."""
    monkeypatch.setattr(_sent, "hash", lambda _: 42, raising=False)
    if form.endswith("-table"):
        monkeypatch.setattr(_sent, "SMALL_LIMIT", 0)
    messages = line_messages(9)
    async with bulk_server() as server, eightbyeight(server) as client:
        outcomes = await send(client, messages, form.split("-")[0], chunk_size=4)
    assert max(wire_ids(server).values()) == 1
    if not form.endswith("-table"):
        assert [o.outcome for o in outcomes] == [Outcome.ACCEPTED] * 9
    else:
        # The first request's ids are distinct by construction: all sent.
        assert [o.outcome for o in outcomes[:4]] == [Outcome.ACCEPTED] * 4
        for o in outcomes[4:]:
            # Not sent, and never as a silent "repeat" of another message.
            assert o.outcome is Outcome.FAILED
            assert isinstance(o.error, aiomsg.ValidationError)


def test_the_table_keeps_every_id_through_growth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sent, "SMALL_LIMIT", 1000)
    table = SentIds(None, 1000)
    n = 50_000
    hits: list[Any] = []
    for start in range(0, n, 1000):
        ids = [f"id-{i}" for i in range(start, start + 1000)]
        hits += table.admit(ids, range(1000), start, None)
    assert hits == []
    assert len(table) == n
    again = table.admit([f"id-{i}" for i in range(0, n, 7)], range(0, n, 7), 0, None)
    assert [k for k, _, _ in again] == list(range(len(range(0, n, 7))))
    assert all(values == [pos] for (_, _, values), pos in zip(again, range(0, n, 7), strict=True))
    assert table.nbytes / n <= 48


@pytest.mark.parametrize("limit", [0, 3, 10, 10_000])
def test_ids_are_found_before_and_after_the_move_to_the_table(
    limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dict and the compact table answer alike, whichever side of the move an id
    was first seen on, and the move happens once the job passes the limit."""
    monkeypatch.setattr(_sent, "SMALL_LIMIT", limit)
    table = SentIds(None, 4)
    fps = [5, 6, 7, 8]
    seen: dict[str, tuple[int, int]] = {}
    for start in range(0, 40, 4):
        # Odd positions new ids, even ones ids that come back in later requests.
        ids = [f"id-{start + i}" if i % 2 else f"id-{start // 3 + i}" for i in range(4)]
        hits = table.admit(ids, range(4), start, fps)
        for k, key, values in hits:
            assert key == _sent.key_of(ids[k])
            assert [_sent.unpack(v) for v in values] == [seen[ids[k]]]
        hit_ids = {ids[k] for k, _, _ in hits}
        assert hit_ids == {i for i in ids if i in seen}
        assert hit_ids or start == 0  # every later request repeats some id
        for k, cmid in enumerate(ids):
            seen.setdefault(cmid, (start + k, fps[k]))
    assert len(table) == len(seen)
    assert (table._small is None) == (len(seen) > limit)


def test_a_list_with_distinct_ids_keeps_one_set() -> None:
    """The common case: each request's ids go into one set as it is made; nothing
    is hashed into the table and no request is checked one id at a time."""
    messages = [aiomsg.LineNotification(**_typed(m)) for m in line_messages(3000)]
    table = SentIds(messages, 1000)
    for start in range(0, 3000, 1000):
        ids = [m.client_message_id for m in messages[start : start + 1000]]
        assert table.all_new(ids, start)  # type: ignore[arg-type]
        chunk: Chunk[Any] = Chunk(start, messages[start : start + 1000])
        chunk.settle(Outcome.ACCEPTED)
        table.finished(chunk.result())
    assert len(table) == 3000
    assert table._small is None
    assert table._used == 0
    assert table.outcome_now(5) == (Outcome.ACCEPTED, None, None)


def test_a_list_request_repeating_an_id_is_not_all_new() -> None:
    """Within the request or from an earlier one: False, and nothing is decided."""
    messages = [aiomsg.LineNotification(**_typed(m)) for m in line_messages(6)]
    ids = [m.client_message_id for m in messages]
    table = SentIds(messages, 3)
    assert not table.all_new([ids[0], ids[1], ids[0]], 0)  # type: ignore[list-item]
    table = SentIds(messages, 3)
    assert table.all_new(ids[:3], 0)  # type: ignore[arg-type]
    assert not table.all_new([ids[3], ids[1], ids[5]], 3)  # type: ignore[list-item]
    # The ids of the first request moved to the exact dict, with their positions;
    # the refused request's ids did not.
    assert table._small == {ids[0]: 0, ids[1]: 1, ids[2]: 2}
    hits = table.admit([ids[3], ids[1], ids[5]], range(3), 3, None)  # type: ignore[list-item]
    assert hits == [(1, _sent.key_of(ids[1]), [1])]  # type: ignore[arg-type]


def test_a_list_finds_each_repeat_exactly() -> None:
    messages: list[Any] = line_messages(30)
    messages[21] = dict(messages[4])  # a mapping repeating a mapping
    messages[27] = aiomsg.LineNotification(**_typed(messages[4]))  # typed, same id
    messages[12] = {"user": {"msisdn": "+6510000000"}}  # no id: one is generated
    messages[13] = {"user": {"msisdn": "+6510000000"}}
    table = SentIds(messages, 10)
    hits = [
        table.admit([item_id(m) or f"gen-{i}" for i, m in enumerate(messages[s : s + 10])],
                    range(10), s, None)
        for s in (0, 10, 20)
    ]  # fmt: skip
    assert hits[0] == []
    assert hits[1] == []
    assert hits[2] == [(1, _sent.key_of("m-4"), [4]), (7, _sent.key_of("m-4"), [4])]
    for start in (0, 10, 20):
        chunk: Chunk[Any] = Chunk(start, messages[start : start + 10])
        chunk.settle(Outcome.ACCEPTED)
        table.finished(chunk.result())
    assert table.outcome_now(4) == (Outcome.ACCEPTED, None, None)


class _Sneaky(str):
    """A str subclass whose own hash would hide a repeat from a hash table."""

    def __hash__(self) -> int:
        return id(self)

    __eq__ = str.__eq__


def test_a_str_subclass_id_is_compared_by_its_plain_value() -> None:
    messages: list[Any] = line_messages(4)
    table = SentIds(messages, 2)
    assert table.admit(["m-0", "m-1"], range(2), 0, None) == []
    hits = table.admit(["m-2", _Sneaky("m-0")], range(2), 2, None)
    assert hits == [(1, _sent.key_of("m-0"), [0])]


@pytest.mark.parametrize("form", ["list", "iterable", "async"])
async def test_a_sneaky_str_id_is_sent_once(form: str) -> None:
    messages: list[Any] = [aiomsg.LineNotification(**_typed(m)) for m in line_messages(6)]
    sneaky = dict(line_messages(1)[0], clientMessageId=_Sneaky("m-0"))
    messages[4] = aiomsg.LineNotification(**_typed(sneaky))
    async with bulk_server() as server, eightbyeight(server) as client:
        outcomes = await send(client, messages, form, chunk_size=2)
    assert wire_ids(server)["m-0"] == 1
    assert outcomes[4].outcome is outcomes[0].outcome is Outcome.ACCEPTED


def _typed(m: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of a ``LineNotification`` equal to the mapping ``m``."""
    return msgspec.structs.asdict(msgspec.convert(m, aiomsg.LineNotification))


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


def _variant(i: int, v: int, typed: bool) -> Any:
    """Message ``i`` in variant ``v``: 0-1 two texts under id c-i, 2 without an id,
    3 invalid; as a mapping or a ``LineNotification``."""
    m: dict[str, Any] = {
        "user": {"msisdn": f"+65{10000000 + i}"},
        "clientMessageId": f"c-{i}",
        "content": {"title": f"t{v}"},
    }
    if v == 2:
        del m["clientMessageId"]
    if v == 3:
        m["user"] = {"msisdn": "bad"}
        return m
    return aiomsg.LineNotification(**_typed(m)) if typed else m


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.tuples(st.integers(0, 25), st.integers(0, 3), st.booleans()), max_size=120),
    chunk=st.integers(1, 30),
    small_limit=st.sampled_from([0, 1, 7, 40, 1 << 16]),
    form=st.sampled_from(["list", "iterable", "async"]),
)
def test_every_regime_sends_each_id_once_and_answers_repeats_alike(
    picks: list[tuple[int, int, bool]], chunk: int, small_limit: int, form: str
) -> None:
    messages = [_variant(i, v, typed) for i, v, typed in picks]

    async def scenario() -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_sent, "SMALL_LIMIT", small_limit)
            async with bulk_server() as server, eightbyeight(server) as client:
                outcomes = await send(client, messages, form, chunk_size=chunk, concurrency=2)
        assert [o.index for o in outcomes] == list(range(len(messages)))
        assert all(n == 1 for n in wire_ids(server).values())
        first: dict[int, int] = {}
        for j, (i, v, _) in enumerate(picks):
            if v in (0, 1):
                first.setdefault(i, j)
        for o in outcomes:
            i, v, _ = picks[o.index]
            if v == 3:
                assert o.outcome is Outcome.FAILED
            elif v == 2:
                assert o.outcome is Outcome.ACCEPTED  # a generated id of its own
            elif first[i] == o.index:
                assert o.outcome is Outcome.ACCEPTED
            elif picks[first[i]][1] == v:  # identical: the first's outcome, unsent
                assert o.outcome is Outcome.ACCEPTED
                assert o.code == outcomes[first[i]].code
            else:
                assert o.outcome is Outcome.FAILED
                assert isinstance(o.error, aiomsg.ValidationError)

    asyncio.run(scenario())


def test_a_fingerprint_follows_what_is_sent() -> None:
    """Equal messages (typed or a mapping, a str subclass or its plain value) share a
    fingerprint; a message sent differently gets another (but for a 2^-23 chance)."""
    m = line_messages(1)[0]
    typed = aiomsg.LineNotification(**_typed(m))
    sub = aiomsg.LineNotification(**_typed(dict(m, clientMessageId=_Sneaky("m-0"))))
    converted = msgspec.convert(m, aiomsg.LineNotification)
    assert _sent_ids.fingerprint(typed) == _sent_ids.fingerprint(sub)
    assert _sent_ids.fingerprint(typed) == _sent_ids.fingerprint(converted)
    other = aiomsg.LineNotification(**_typed(dict(m, content={"title": "Event reminder!"})))
    assert _sent_ids.fingerprint(other) != _sent_ids.fingerprint(typed)
