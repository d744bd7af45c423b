"""The SQLite receipt store: durable adds, repeats ignored, latest receipt per message."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
import pytest

from aiomsg import ConfigurationError
from aiomsg.receipts import (
    DeliveryReceipt,
    ReceiptRecord,
    ReceiptStore,
    SQLiteReceiptStore,
    decode_webhook,
)
from tests.receipts.support import encode, receipt


def record(**kwargs: object) -> ReceiptRecord:
    body = encode(receipt(**kwargs))  # type: ignore[arg-type]
    decoded = decode_webhook(body)
    assert isinstance(decoded, DeliveryReceipt)
    return ReceiptRecord.from_receipt(decoded, body)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReceiptStore]:
    async with SQLiteReceiptStore(tmp_path / "receipts.db") as s:
        yield s


def test_the_sqlite_store_implements_the_protocol(tmp_path: Path) -> None:
    assert isinstance(SQLiteReceiptStore(tmp_path / "r.db"), ReceiptStore)


async def test_add_reports_which_records_were_new(store: SQLiteReceiptStore) -> None:
    a, b = record(umid="u-1"), record(umid="u-2")
    assert await store.add([a, b]) == [True, True]
    # A retried delivery (same key) and a repeat inside one call are stored once.
    assert await store.add([record(umid="u-1"), record(umid="u-3"), record(umid="u-3")]) == [
        False,
        True,
        False,
    ]
    assert await store.count() == 3
    assert await store.add([]) == []


async def test_the_database_is_in_wal_mode_with_the_chosen_sync(tmp_path: Path) -> None:
    for sync, level in (("full", 2), ("normal", 1)):
        path = tmp_path / f"{sync}.db"
        async with SQLiteReceiptStore(path, synchronous=sync) as s:  # type: ignore[arg-type]
            assert s._writer is not None
            assert s._writer.execute("PRAGMA synchronous").fetchone()[0] == level
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("bad", ["off", "FULL", "", None, 2])
def test_a_bad_synchronous_is_a_configuration_error(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ConfigurationError, match=r"synchronous: .*rule: 'full' or 'normal'"):
        SQLiteReceiptStore(tmp_path / "x.db", synchronous=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [None, 7, "", b"x.db"])
def test_a_bad_path_is_a_configuration_error(bad: object) -> None:
    with pytest.raises(ConfigurationError, match=r"path: .*rule: "):
        SQLiteReceiptStore(bad)  # type: ignore[arg-type]


async def test_latest_follows_the_status_timestamp_not_arrival(store: SQLiteReceiptStore) -> None:
    # 8x8 retried the queued receipt, so it arrives after the read one.
    await store.add([record(state="read", detail=None, timestamp="2026-07-03T03:45:00.00Z")])
    await store.add([record(state="delivered", timestamp="2026-07-03T03:41:00.5Z")])
    await store.add([record(state="queued", detail=None, timestamp="2026-07-03T03:40:00.9030893Z")])
    latest = await store.latest_by_client_message_id(["msg-1", "never-sent"])
    assert set(latest) == {"msg-1"}
    assert latest["msg-1"].state == "read"
    by_umid = await store.latest_by_umid(["3f1b7e4c-8d6a-4a51-9c2e-0b9f4c1d2e3a"])
    assert by_umid["3f1b7e4c-8d6a-4a51-9c2e-0b9f4c1d2e3a"].state == "read"


async def test_umids_match_in_any_case(store: SQLiteReceiptStore) -> None:
    upper = "3F1B7E4C-8D6A-4A51-9C2E-0B9F4C1D2E3A"
    assert await store.add([record(umid=upper)]) == [True]
    # The same receipt with the umid in lower case is a repeat, not a second receipt.
    assert await store.add([record(umid=upper.lower())]) == [False]
    found = await store.latest_by_umid([upper, upper.lower(), "Other"])
    assert set(found) == {upper, upper.lower()}
    assert found[upper].umid == upper.lower()


async def test_fraction_digits_do_not_confuse_the_order(store: SQLiteReceiptStore) -> None:
    # As strings ".90Z" sorts after ".9030893Z"; as times it is earlier.
    await store.add([record(state="sent", detail=None, timestamp="2026-07-03T03:40:00.9030893Z")])
    await store.add([record(state="queued", detail=None, timestamp="2026-07-03T03:40:00.90Z")])
    assert (await store.latest_by_client_message_id(["msg-1"]))["msg-1"].state == "sent"


async def test_equal_or_missing_timestamps_fall_back_to_the_state_order(
    store: SQLiteReceiptStore,
) -> None:
    ts = "2026-07-03T03:40:00Z"
    await store.add([record(state="delivered", timestamp=ts), record(state="queued", timestamp=ts)])
    assert (await store.latest_by_client_message_id(["msg-1"]))["msg-1"].state == "delivered"
    await store.add([record(umid="u-2", client_message_id="m2", state="sent", timestamp=None)])
    await store.add([record(umid="u-2", client_message_id="m2", state="queued", timestamp=None)])
    assert (await store.latest_by_client_message_id(["m2"]))["m2"].state == "sent"


async def test_sub_account_filter(store: SQLiteReceiptStore) -> None:
    await store.add([record(umid="u-1", subAccountId="other-sub")])
    assert await store.latest_by_client_message_id(["msg-1"], sub_account_id="sub-receipts") == {}
    found = await store.latest_by_client_message_id(["msg-1"], sub_account_id="other-sub")
    assert found["msg-1"].sub_account_id == "other-sub"


async def test_many_ids_in_one_lookup(store: SQLiteReceiptStore) -> None:
    records = [record(umid=f"u-{i}", client_message_id=f"m-{i}") for i in range(1200)]
    assert all(await store.add(records))
    ids = [f"m-{i}" for i in range(0, 2400, 2)]  # half of them never sent
    found = await store.latest_by_client_message_id(ids)
    assert set(found) == {f"m-{i}" for i in range(0, 1200, 2)}


async def test_records_keep_every_field_and_the_body_as_received(
    store: SQLiteReceiptStore,
) -> None:
    r = record(state="undelivered", error_code="E15", error_message="Invalid", futureField=[1])
    await store.add([r])
    (got,) = (await store.latest_by_client_message_id(["msg-1"])).values()
    assert got == r
    assert got.error_code == "E15"  # a string code is not turned into a number
    assert b'"futureField"' in got.body
    assert got.receipt().payload.status.error_message == "Invalid"
    numeric = record(umid="u-n", client_message_id="m-n", error_code=15)
    await store.add([numeric])
    assert (await store.latest_by_umid(["u-n"]))["u-n"].error_code == 15


async def test_record_repr_hides_the_body(store: SQLiteReceiptStore) -> None:
    assert "91234567" not in repr(record())
    assert "receipts.db" in repr(store)


async def test_concurrent_adds_share_commits(store: SQLiteReceiptStore) -> None:
    results: list[list[bool]] = []

    async def one(i: int) -> None:
        results.append(await store.add([record(umid=f"u-{i}")]))

    async with anyio.create_task_group() as tg:
        for i in range(200):
            tg.start_soon(one, i)
    assert sorted(results) == [[True]] * 200
    assert await store.count() == 200
    assert store.commits < 200  # grouped: far fewer fsyncs than receipts


async def test_cancelling_the_committing_call_strands_no_one(store: SQLiteReceiptStore) -> None:
    follower: list[list[bool]] = []

    async def add_into(out: list[list[bool]], umid: str) -> None:
        out.append(await store.add([record(umid=umid)]))

    with anyio.fail_after(10):
        await _leader_cancelled(add_into, follower)
    # The follower got its answer although the call committing for it was cancelled,
    # and the cancelled call's receipt was committed all the same (never half-written).
    assert follower == [[True]]
    assert await store.add([record(umid="leader"), record(umid="follower")]) == [False, False]


async def _leader_cancelled(add_into: Any, follower: list[list[bool]]) -> None:
    async with anyio.create_task_group() as tg:
        with anyio.CancelScope() as leader_scope:
            # The first add commits (in a worker thread); the second joins behind it.
            leader = anyio.create_task_group()
            async with leader:
                leader.start_soon(add_into, [], "leader")
                await anyio.lowlevel.checkpoint()
                tg.start_soon(add_into, follower, "follower")
                await anyio.lowlevel.checkpoint()
                leader_scope.cancel()


async def test_a_record_that_cannot_be_written_fails_only_its_own_add(
    store: SQLiteReceiptStore,
) -> None:
    # A record built by hand with no umid (the column is NOT NULL).
    bad = msgspec.structs.replace(record(umid="u-bad"), umid=None)
    outcomes: dict[str, object] = {}

    async def add(name: str, r: ReceiptRecord) -> None:
        try:
            outcomes[name] = await store.add([r])
        except sqlite3.IntegrityError as exc:
            outcomes[name] = exc

    async with anyio.create_task_group() as tg:  # added together: one commit round
        tg.start_soon(add, "bad", bad)
        for i in range(10):
            tg.start_soon(add, f"good-{i}", record(umid=f"u-{i}"))
    assert isinstance(outcomes.pop("bad"), sqlite3.IntegrityError)
    assert outcomes == {f"good-{i}": [True] for i in range(10)}
    assert await store.count() == 10


async def test_a_second_store_reads_while_the_first_writes(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    async with SQLiteReceiptStore(path) as writer, SQLiteReceiptStore(path) as reader:
        for i in range(20):
            await writer.add([record(umid=f"u-{i}", client_message_id=f"m-{i}")])
            found = await reader.latest_by_client_message_id([f"m-{i}"])
            assert found[f"m-{i}"].umid == f"u-{i}"


async def test_two_writers_on_one_database_both_get_their_receipts_in(tmp_path: Path) -> None:
    # One writer per database is the intended set-up; a second one (a receiver
    # restarted while the old one drains) waits its turn instead of failing.
    path = tmp_path / "shared.db"
    async with SQLiteReceiptStore(path) as a, SQLiteReceiptStore(path) as b:

        async def write(store: SQLiteReceiptStore, prefix: str) -> None:
            for i in range(50):
                assert await store.add([record(umid=f"{prefix}-{i}")]) == [True]

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(write, a, "a")
                tg.start_soon(write, b, "b")
        assert await a.count() == 100


async def test_receipts_survive_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    async with SQLiteReceiptStore(path) as s:
        await s.add([record()])
    async with SQLiteReceiptStore(path) as s:
        assert await s.add([record()]) == [False]
        assert await s.count() == 1


async def test_closing_waits_for_the_commit_under_way(tmp_path: Path) -> None:
    store = SQLiteReceiptStore(tmp_path / "r.db")
    await store.open()
    results: list[list[bool]] = []

    async def add() -> None:
        results.append(await store.add([record(umid=f"u-{i}") for i in range(500)]))

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(add)
            await anyio.lowlevel.checkpoint()  # the add is committing in its thread
            await store.aclose()
    assert results == [[True] * 500]
    async with SQLiteReceiptStore(tmp_path / "r.db") as again:
        assert await again.count() == 500


async def test_a_database_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(sqlite3.DatabaseError, match="schema version 99"):
        await SQLiteReceiptStore(path).open()


async def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    s = SQLiteReceiptStore(tmp_path / "r.db")
    with pytest.raises(RuntimeError, match="not open"):
        await s.latest_by_umid(["u"])
    with pytest.raises(RuntimeError, match="closed"):
        await s.add([record()])
