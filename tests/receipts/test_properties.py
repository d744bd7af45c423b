"""Property tests: the latest receipt and reconcile's fate, for any arrival order."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiomsg import Outcome
from aiomsg.receipts import (
    DeliveryReceipt,
    ReceiptRecord,
    SQLiteReceiptStore,
    decode_webhook,
    reconcile,
    state_rank,
)
from tests.receipts.support import encode, receipt

STATES = ["queued", "sent", "delivered", "undelivered", "read", "rejected", "expired"]
BASE = dt.datetime(2026, 7, 3, 3, 0, tzinfo=dt.timezone.utc)


def _timestamp(offset_us: int | None, digits: int) -> str | None:
    if offset_us is None:
        return None
    t = BASE + dt.timedelta(microseconds=offset_us)
    fraction = f"{t.microsecond:06d}"[:digits]
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "") + "Z"


receipt_specs = st.lists(
    st.tuples(
        st.integers(0, 4),  # which message
        st.sampled_from(STATES),
        st.one_of(st.none(), st.integers(0, 3).map(lambda s: s * 10_000)),  # few distinct times
        st.sampled_from([0, 2, 6]),  # fraction digits as 8x8 varies them
    ),
    max_size=25,
)


def _record(spec: tuple[int, str, int | None, int], arrival: int) -> ReceiptRecord:
    msg, state, offset, digits = spec
    offset = None if offset is None else offset - offset % (10 ** (6 - digits) if digits else 10**6)
    body = encode(
        receipt(
            umid=f"u-{msg}", client_message_id=f"m-{msg}", state=state, detail=None,
            timestamp=_timestamp(offset, digits),
        )
    )  # fmt: skip
    decoded = decode_webhook(body)
    assert isinstance(decoded, DeliveryReceipt)
    return ReceiptRecord.from_receipt(decoded, body, received_at=float(arrival))


def _expected_latest(records: list[ReceiptRecord]) -> dict[str, tuple[Any, ...]]:
    best: dict[str, tuple[Any, ...]] = {}
    for r in records:  # first arrival of a key wins: later ones are repeats
        assert r.client_message_id is not None
        observed = -1 if r.observed_us is None else r.observed_us
        rank = (observed, state_rank(r.state), r.received_at)
        if r.client_message_id not in best or rank > best[r.client_message_id][0]:
            best[r.client_message_id] = (rank, r.state)
    return {k: v[1] for k, v in best.items()}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(receipt_specs, st.sampled_from([1, 3, 100]))
def test_latest_and_reconcile_for_any_arrival_order(
    specs: list[tuple[int, str, int | None, int]], per_add: int
) -> None:
    records = [_record(spec, i) for i, spec in enumerate(specs)]
    unique: dict[str, ReceiptRecord] = {}
    for r in records:
        unique.setdefault(r.key, r)

    async def check() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            async with SQLiteReceiptStore(Path(tmp) / "r.db") as store:
                added: list[bool] = []
                for i in range(0, len(records), per_add):
                    added += await store.add(records[i : i + per_add])
                # Exactly the first arrival of each key was new.
                assert sum(added) == len(unique)
                ids = [f"m-{n}" for n in range(6)]  # m-5 never has a receipt
                latest = await store.latest_by_client_message_id(ids)
                expected = _expected_latest(list(unique.values()))
                assert {k: r.state for k, r in latest.items()} == expected
                result = await reconcile(ids, store)
        assert sum(result.counts.values()) == len(ids)
        for m in result:
            state = expected.get(m.id or "")
            if state is None:
                assert m.outcome is Outcome.UNKNOWN
            elif state == "rejected":
                assert m.outcome is Outcome.REJECTED
            else:
                assert m.outcome is Outcome.ACCEPTED
                assert m.state == state

    anyio.run(check)
