"""Reconcile: every unknown LINE message to a known fate from receipts, never re-sent."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest

import aiomsg
from aiomsg import ValidationError
from aiomsg.receipts import (
    NO_RECEIPT,
    DeliveryReceipt,
    ReceiptRecord,
    SQLiteReceiptStore,
    create_receipt_app,
    decode_webhook,
    reconcile,
)
from aiomsg.testing import Fault, Simulator
from tests.receipts.support import AUTH, SUB, encode, receipt, serve

Outcome = aiomsg.Outcome


async def post_all(
    session: aiohttp.ClientSession, url: str, bodies: list[dict[str, Any]]
) -> dict[int, int]:
    """POST every body, 32 at a time, as 8x8 does; count the answers by status."""
    statuses: Counter[int] = Counter()
    queue = iter(bodies)

    async def worker() -> None:
        for body in queue:
            async with session.post(url, data=encode(body), headers={"Authorization": AUTH}) as r:
                statuses[r.status] += 1

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for _ in range(32):
                tg.start_soon(worker)
    return dict(statuses)


def record(**kwargs: Any) -> ReceiptRecord:
    body = encode(receipt(**kwargs))
    decoded = decode_webhook(body)
    assert isinstance(decoded, DeliveryReceipt)
    return ReceiptRecord.from_receipt(decoded, body)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReceiptStore]:
    async with SQLiteReceiptStore(tmp_path / "receipts.db") as s:
        yield s


async def test_ids_resolve_from_receipts_and_the_rest_stay_unknown(
    store: SQLiteReceiptStore,
) -> None:
    await store.add(
        [
            record(umid="u-1", client_message_id="m-1", state="queued", detail=None,
                   timestamp="2026-07-03T03:40:00Z"),
            record(umid="u-1", client_message_id="m-1", state="delivered",
                   timestamp="2026-07-03T03:41:00Z"),
            record(umid="u-2", client_message_id="m-2", state="read", detail=None),
            record(umid="u-3", client_message_id="m-3", state="rejected", detail=None,
                   error_code=1002, error_message="Invalid recipient"),
            record(umid="u-4", client_message_id="m-4", state="undelivered",
                   detail="rejected_by_operator", error_code=15),
        ]
    )  # fmt: skip
    result = await reconcile(["m-1", "m-2", "m-3", "m-4", "m-5", "m-1"], store)
    by_index = {m.index: m for m in result}
    assert [m.outcome for m in result] == [
        Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.REJECTED, Outcome.ACCEPTED,
        Outcome.UNKNOWN, Outcome.ACCEPTED,
    ]  # fmt: skip
    assert (by_index[0].umid, by_index[0].state, by_index[0].detail) == (
        "u-1",
        "delivered",
        "delivered_to_recipient",
    )
    assert by_index[2].code == 1002
    # Undelivered is still proof that 8x8 took it: accepted, with its state.
    assert (by_index[3].outcome, by_index[3].state, by_index[3].code) == (
        Outcome.ACCEPTED,
        "undelivered",
        None,
    )
    assert by_index[4].waited == result.waited
    assert by_index[4].umid is None
    assert result.resolved == 5
    assert result.counts[Outcome.ACCEPTED] == 4
    assert result.counts[Outcome.REJECTED] == 1
    assert result.counts[Outcome.UNKNOWN] == 1
    assert sum(result.counts.values()) == len(result) == 6
    assert result.states == {"delivered": 2, "read": 1, "undelivered": 1}
    assert [m.id for m in result.unknown] == ["m-5"]


async def test_waiting_picks_up_receipts_that_arrive_later(store: SQLiteReceiptStore) -> None:
    async def late_receipt() -> None:
        await anyio.sleep(0.2)
        await store.add([record(umid="u-9", client_message_id="m-9", state="queued")])

    progress: list[tuple[int, int]] = []
    await store.add([record(umid="u-8", client_message_id="m-8", state="queued")])
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(late_receipt)
            result = await reconcile(
                ["m-8", "m-9"],
                store,
                wait=15.0,
                poll_interval=0.05,
                on_progress=lambda done, left: progress.append((done, left)),
            )
    assert result.counts[Outcome.ACCEPTED] == 2
    assert progress[0] == (1, 1)
    assert progress[-1] == (2, 0)
    assert len(progress) == result.polls
    assert result.polls >= 2
    assert result.waited < 15.0  # it stopped as soon as nothing was left unknown


async def test_the_wait_is_bounded_and_reported(store: SQLiteReceiptStore) -> None:
    with anyio.fail_after(20):
        result = await reconcile(["never"], store, wait=0.3, poll_interval=0.1)
    (m,) = result
    assert m.outcome is Outcome.UNKNOWN
    assert m.waited is not None
    assert m.waited >= 0.3
    assert result.polls >= 2


async def test_receipts_from_another_sub_account_prove_nothing(
    store: SQLiteReceiptStore,
) -> None:
    await store.add([record(umid="u-1", client_message_id="m-1", subAccountId="someone-else")])
    result = await reconcile(["m-1"], store, sub_account_id=SUB)
    assert result.counts[Outcome.UNKNOWN] == 1
    assert (await reconcile(["m-1"], store)).counts[Outcome.ACCEPTED] == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"wait": -1}, "wait"),
        ({"wait": float("nan")}, "wait"),
        ({"wait": "10"}, "wait"),
        ({"wait": True}, "wait"),
        ({"wait": None}, "wait"),
        ({"wait": 10**400}, "wait"),  # no float holds it: was a bare OverflowError
        ({"wait": -float("inf")}, "wait"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": -1}, "poll_interval"),
        ({"poll_interval": float("inf")}, "poll_interval"),
        ({"poll_interval": float("nan")}, "poll_interval"),
        ({"poll_interval": "1"}, "poll_interval"),
        ({"poll_interval": 10**400}, "poll_interval"),
        ({"sub_account_id": ""}, "sub_account_id"),
        ({"sub_account_id": 7}, "sub_account_id"),
        ({"on_progress": "print"}, "on_progress"),
    ],
)
async def test_bad_arguments_are_validation_errors_naming_the_field(
    store: SQLiteReceiptStore, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await reconcile(["m"], store, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.rule


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ("m-1", "source"),
        (b"m-1", "source"),
        (7, "source"),
        (None, "source"),
        (["m-1", 7], "source[1]"),
        (["m-1", ""], "source[1]"),
        (iter(["m-1", b"m-2"]), "source[1]"),
    ],
)
async def test_a_bad_source_is_a_validation_error(
    store: SQLiteReceiptStore, source: object, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await reconcile(source, store)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert "clientMessageId" in caught.value.rule


async def test_a_store_that_is_not_a_store_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        await reconcile(["m"], {"m": "delivered"})  # type: ignore[arg-type]
    assert caught.value.field == "store"


async def test_infinite_wait_is_allowed(store: SQLiteReceiptStore) -> None:
    await store.add([record(umid="u-1", client_message_id="m-1")])
    result = await reconcile(["m-1"], store, wait=float("inf"))
    assert result.counts[Outcome.ACCEPTED] == 1


async def test_a_lost_answer_is_reconciled_without_sending_again(tmp_path: Path) -> None:
    """A real LINE job: one request's answer is lost after the simulator took it."""
    messages = [
        {
            "user": {"msisdn": f"+659123{n:04d}"},
            "content": {"title": "Reminder", "icon": "calendar"},
            "clientMessageId": f"job-{n}",
        }
        for n in range(2500)
    ]
    async with Simulator(seed=3) as sim, SQLiteReceiptStore(tmp_path / "r.db") as store:
        sub = sim.sub_accounts[0]
        sim.inject(Fault.reset_after_body(), route="chatapps.send_line_notification_batch", after=1)
        async with sim.eightbyeight(retry=aiomsg.RetryPolicy(max_attempts=2)) as client:
            report = await client.chatapps.send_line_notifications(sub, messages, concurrency=1)
        unknown = [o.id for o in report if o.outcome is Outcome.UNKNOWN]
        assert len(unknown) == 1000  # the second request's answer was lost
        assert report.counts[Outcome.ACCEPTED] == 1500

        # 8x8's side: a receipt for every message it took, through our receiver; a few
        # are delivered already, and those are delivered twice (8x8 retrying).
        bodies = [
            receipt(umid=m.umid, client_message_id=m.client_message_id, state="queued",
                    detail=None, subAccountId=m.sub_account_id)
            for m in sim.messages
        ] + [
            receipt(umid=m.umid, client_message_id=m.client_message_id, state="delivered",
                    timestamp="2099-01-01T00:00:00Z", subAccountId=m.sub_account_id)
            for m in sim.messages[:10] * 2
        ]  # fmt: skip
        app = create_receipt_app(authorization=AUTH, store=store)
        async with serve(app) as (url, session):
            statuses = await post_all(session, url, bodies)
        assert statuses == {200: len(bodies)}

        result = await reconcile(report, store, sub_account_id=sub)
        sent = [m.client_message_id for m in sim.messages]
    assert result.counts[Outcome.UNKNOWN] == 0
    assert result.counts[Outcome.ACCEPTED] == 2500
    assert result.resolved == 1000
    assert result.states == {"queued": 2490, "delivered": 10}
    assert [m.index for m in result] == list(range(2500))
    resolved = [m for m in result if m.resolved]
    assert sorted(m.id for m in resolved if m.id) == sorted(unknown)
    assert all(m.umid for m in result)
    # Every message reached the simulator exactly once: nothing was sent again.
    assert sorted(sent) == sorted(f"job-{n}" for n in range(2500))


async def test_accepted_items_without_receipts_count_as_no_receipt(tmp_path: Path) -> None:
    async with Simulator(seed=5) as sim, SQLiteReceiptStore(tmp_path / "r.db") as store:
        sub = sim.sub_accounts[0]
        messages = [
            {"user": {"msisdn": f"+659123{n:04d}"}, "content": {"title": "Hi"},
             "clientMessageId": f"a-{n}"}
            for n in range(3)
        ]  # fmt: skip
        async with sim.eightbyeight() as client:
            report = await client.chatapps.send_line_notifications(sub, messages)
        # The receipt of a-0 carries no clientMessageId: found by the umid 8x8 answered.
        umid0 = report[0].provider_id
        assert umid0 is not None
        await store.add([record(umid=umid0, client_message_id=None, state="read", detail=None)])
        result = await reconcile(report, store)
    assert [m.outcome for m in result] == [Outcome.ACCEPTED] * 3
    assert result.states == {"read": 1, NO_RECEIPT: 2}
    assert result.resolved == 0


async def test_reconcile_items_carry_what_a_journal_knows(store: SQLiteReceiptStore) -> None:
    from aiomsg.receipts import ReconcileItem

    await store.add(
        [
            record(umid="u-1", client_message_id="m-1", state="queued", detail=None),
            record(umid="u-2", client_message_id="m-2", state="delivered"),
            record(umid="u-3", client_message_id="m-3", state="rejected", error_code=3003),
        ]
    )
    result = await reconcile(
        [
            ReconcileItem(id="m-1"),  # unknown: resolved
            ReconcileItem(id="m-2", outcome=Outcome.ACCEPTED),  # gets its state
            "m-3",  # mixed with plain ids: unknown, rejected by its receipt
            ReconcileItem(id="m-4", outcome=Outcome.FAILED, code=3002),  # passes through
            ReconcileItem(id="m-5"),  # no receipt: stays unknown
        ],
        store,
    )
    got = [(m.index, m.outcome, m.resolved, m.state) for m in result]
    assert got == [
        (0, Outcome.ACCEPTED, True, "queued"),
        (1, Outcome.ACCEPTED, False, "delivered"),
        (2, Outcome.REJECTED, True, "rejected"),
        (3, Outcome.FAILED, False, None),
        (4, Outcome.UNKNOWN, False, None),
    ]
    assert result.messages[2].code == 3003
    assert result.messages[3].code == 3002


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"id": "m", "outcome": "accepted"}, "source[0].outcome"),
        ({"id": 7}, "source[0].id"),
        ({"id": ""}, "source[0].id"),
        ({"id": "m", "umid": b"u"}, "source[0].umid"),
        ({"id": "m", "code": "3003"}, "source[0].code"),
        ({"id": "m", "code": True}, "source[0].code"),
    ],
)
async def test_a_bad_reconcile_item_names_its_field(
    store: SQLiteReceiptStore, item: dict[str, Any], field: str
) -> None:
    from aiomsg.receipts import ReconcileItem

    with pytest.raises(ValidationError) as caught:
        await reconcile([ReconcileItem(**item)], store)
    assert caught.value.field == field
