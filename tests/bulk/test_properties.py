"""Property: whatever the input and whatever the server does, every item is
accounted for exactly once, and no LINE message is sent twice after a request that
may have been delivered."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiomsg
from aiomsg import Outcome
from tests.bulk.support import Action, bulk_server

RETRY = aiomsg.RetryPolicy(max_attempts=2, backoff_base=0.001, backoff_cap=0.002)
TIMEOUT = aiomsg.Timeout(connect=1.0, read=0.05, total=2.0)
POOL = [str(uuid.UUID(int=i + 1)) for i in range(60)]
CODES = [200, 202, 403, 404, 201]

FAULTS = st.sampled_from(
    [
        Action(kind="status", status=429, headers={"Retry-After": "0"}),
        Action(kind="status", status=500),
        Action(kind="status", status=503),
        Action(kind="status", status=400),
        Action(kind="reset_before"),
        Action(kind="reset_after"),
        Action(kind="stall", stall=0.2),
    ]
)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def scripted(actions: list[Action | None], fill: Any) -> Any:
    """Request n gets actions[n % len] (None: a success built by ``fill``)."""

    def plan(api: str, n: int, body: Any) -> Action:
        action = actions[n % len(actions)]
        return action if action is not None else fill(n, body)

    return plan


@SETTINGS
@given(
    items=st.lists(
        st.one_of(st.sampled_from(POOL), st.sampled_from(["", "nope", "x" * 36])), max_size=600
    ),
    chunk=st.integers(1, 150),
    concurrency=st.integers(1, 6),
    actions=st.lists(st.one_of(st.none(), FAULTS), min_size=1, max_size=8),
    seed=st.integers(0, 2**16),
)
def test_stop_accounts_for_every_item(
    items: list[str], chunk: int, concurrency: int, actions: list[Action | None], seed: int
) -> None:
    import random

    rng = random.Random(seed)

    def ok(n: int, body: Any) -> Action:
        asked = body["uuids"]
        codes = {u: rng.choice(CODES) for u in asked}
        drop = frozenset(u for u in asked if rng.random() < 0.05)
        return Action(codes=codes, drop=drop, extra=rng.choice([0, 0, 1]))

    async def scenario() -> None:
        async with bulk_server(scripted(actions, ok)) as server:
            async with aiomsg.Revicom(
                token="t", base_url=server.url, retry=RETRY, timeout=TIMEOUT
            ) as client:
                report = await client.stop(items, chunk_size=chunk, concurrency=concurrency)
        assert [o.index for o in report] == list(range(len(items)))
        assert sum(report.counts.values()) == len(items)
        answered: set[tuple[str, int]] = set()
        for seen in server.seen:
            if seen.action.kind == "ok":
                answered.update((seen.action.codes or {}).items())
        for o in report:
            assert o.id == items[o.index]
            if items[o.index] not in POOL:
                assert o.outcome is Outcome.FAILED
                assert isinstance(o.error, aiomsg.ValidationError)
            elif o.outcome in (Outcome.STOPPED, Outcome.MAYBE_STOPPED, Outcome.NOT_STOPPABLE,
                               Outcome.NOT_FOUND):  # fmt: skip
                assert (o.id, o.code) in answered
            else:
                assert o.outcome in (Outcome.FAILED, Outcome.UNKNOWN)

    asyncio.run(scenario())


def line_message(i: int, variant: int) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "user": {"msisdn": f"+65{10000000 + i}"},
        "clientMessageId": f"c-{i}",
        "content": {"title": f"t{variant}"},
    }
    if variant == 3:
        msg["user"] = {"msisdn": "bad"}
    return msg


@SETTINGS
@given(
    picks=st.lists(st.tuples(st.integers(0, 80), st.integers(0, 3)), max_size=300),
    chunk=st.integers(1, 60),
    concurrency=st.integers(1, 4),
    actions=st.lists(st.one_of(st.none(), FAULTS), min_size=1, max_size=6),
    include=st.booleans(),
    form=st.sampled_from(["list", "iterable", "async"]),
)
def test_line_send_accounts_for_every_item_and_never_resends(
    picks: list[tuple[int, int]],
    chunk: int,
    concurrency: int,
    actions: list[Action | None],
    include: bool,
    form: str,
) -> None:
    messages = [line_message(i, v) for i, v in picks]

    def ok(n: int, body: Any) -> Action:
        ids = [m["clientMessageId"] for m in body["messages"]]
        return Action(rejected=frozenset(ids[::3]))

    async def agen() -> Any:
        for m in messages:
            yield m

    async def scenario() -> None:
        items: Any = {"list": messages, "iterable": iter(messages), "async": agen()}[form]
        async with bulk_server(scripted(actions, ok)) as server:
            async with aiomsg.EightByEight(
                api_key="k", chatapps_url=server.url, sms_url=server.url, retry=RETRY,
                timeout=TIMEOUT,
            ) as client:  # fmt: skip
                report = await client.chatapps.send_line_notifications(
                    "sub-1", items, chunk_size=chunk, concurrency=concurrency,
                    include_messages_in_response=include,
                )  # fmt: skip
        outcomes = list(report)
        assert [o.index for o in outcomes] == list(range(len(messages)))
        assert sum(report.counts.values()) == len(messages)
        # A clientMessageId reaches the server at most once per job; only a 429
        # (provably not taken) lets its request be sent again.
        taken: Counter[str] = Counter()
        for seen in server.seen:
            if seen.action.kind == "status" and seen.action.status == 429:
                continue
            taken.update(m["clientMessageId"] for m in seen.body["messages"])
        assert all(n == 1 for n in taken.values()), taken
        # The first valid occurrence of an id is the one sent; an identical repeat
        # has its outcome and code, a different message with its id failed unsent.
        first: dict[int, int] = {}
        for j, (i, v) in enumerate(picks):
            if v != 3:
                first.setdefault(i, j)
        for o in outcomes:
            i, v = picks[o.index]
            if v == 3:
                assert o.outcome is Outcome.FAILED
                assert isinstance(o.error, aiomsg.ValidationError)
                continue
            f = first[i]
            if o.index == f:
                assert not isinstance(o.error, aiomsg.ValidationError)
            elif picks[f][1] == v:
                assert (o.outcome, o.code) == (outcomes[f].outcome, outcomes[f].code)
            else:
                assert o.outcome is Outcome.FAILED
                assert isinstance(o.error, aiomsg.ValidationError)
            if o.outcome is Outcome.UNKNOWN and o.error is not None:
                assert isinstance(o.error, aiomsg.OutcomeUnknownError | aiomsg.AiomsgError)

    asyncio.run(scenario())
