"""Reconcile: turn ``unknown`` LINE messages into known fates from stored receipts.

A LINE send whose answer was lost ends ``unknown``: 8x8 may or may not have taken
it, and sending it again could notify a person twice. 8x8 sends a delivery receipt
for every message it takes, keyed by the ``clientMessageId`` we sent. So a stored
receipt proves the message was taken (``accepted``, with its umid and latest state),
a ``rejected`` receipt means 8x8 refused it (``rejected``), and a message with no
receipt after waiting stays ``unknown``. Reconcile only reads the store: it never
sends anything.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Final

import anyio
import msgspec

from .._errors import ValidationError
from .._numbers import NON_NEGATIVE_SECONDS_RULE, SECONDS_RULE, duration, shown
from .._validation import check_sub_account_id, describe
from ..bulk import BulkReport, Outcome
from ..eightxeight.models import MessageState
from .store import ReceiptRecord, ReceiptStore

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "NO_RECEIPT",
    "ReconcileItem",
    "ReconciledMessage",
    "Reconciliation",
    "reconcile",
]

DEFAULT_POLL_INTERVAL: Final = 1.0
"""Seconds between looks at the store while waiting for the last receipts."""
NO_RECEIPT: Final = "no_receipt"
"""``Reconciliation.states`` key for accepted messages with no receipt yet."""


class ReconcileItem(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """One LINE message as known before reconciling, for sources other than a
    ``BulkReport`` (a job journal, a report read back from a file).

    ``id``: the clientMessageId it was sent with (None: none known, left as it is).
    ``outcome``: what the send came to: ``unknown`` items are resolved from the
    receipts, ``accepted`` ones get their latest delivery state, others pass through.
    ``umid`` and ``code``: 8x8's id and code, when known.
    """

    id: str | None
    outcome: Outcome = Outcome.UNKNOWN
    umid: str | None = None
    code: int | None = None


class ReconciledMessage(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """One input item after reconciling.

    ``outcome``: the item's outcome, with ``unknown`` replaced by ``accepted`` or
    ``rejected`` when a receipt says so (``resolved`` is then True). ``umid`` and
    ``state`` / ``detail`` / ``timestamp``: 8x8's id and the latest delivery state
    from the receipts (None when none arrived). ``code``: the provider's code (a
    rejection's errorCode). ``waited``: for an item still ``unknown``, how many
    seconds reconcile waited for its receipt. ``error``: the original error of an
    item whose outcome did not change.
    """

    index: int
    id: str | None
    outcome: Outcome
    resolved: bool = False
    umid: str | None = None
    state: str | None = None
    detail: str | None = None
    timestamp: str | None = None
    code: int | None = None
    waited: float | None = None
    error: BaseException | None = None


class Reconciliation:
    """Every input item's fate after reconciling, in input order, with totals.

    ``counts``: outcome -> items (sums to the input size). ``states``: latest delivery
    state -> accepted messages (``NO_RECEIPT`` for those without a receipt yet).
    ``resolved``: ``unknown`` items a receipt resolved. ``waited``: seconds spent
    waiting for receipts; ``polls``: looks at the store.
    """

    def __init__(self, messages: list[ReconciledMessage], *, waited: float, polls: int) -> None:
        self.messages = messages
        self.waited = waited
        self.polls = polls
        self.counts: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
        states: Counter[str] = Counter()
        resolved = 0
        for m in messages:
            self.counts[m.outcome] += 1
            resolved += m.resolved
            if m.outcome is Outcome.ACCEPTED:
                states[m.state or NO_RECEIPT] += 1
        self.states: dict[str, int] = dict(states)
        self.resolved = resolved

    @property
    def unknown(self) -> list[ReconciledMessage]:
        """The items still ``unknown``."""
        return [m for m in self.messages if m.outcome is Outcome.UNKNOWN]

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[ReconciledMessage]:
        return iter(self.messages)

    def __repr__(self) -> str:
        shown = ", ".join(f"{o.value}={n}" for o, n in self.counts.items() if n)
        return (
            f"Reconciliation(items={len(self)}, resolved={self.resolved}, "
            f"waited={self.waited:.1f}s, {shown or 'empty'})"
        )


class _Item(msgspec.Struct, gc=False):
    index: int
    id: str | None
    outcome: Outcome
    umid: str | None
    code: int | None
    error: BaseException | None


def _items(source: BulkReport | Iterable[str | ReconcileItem]) -> list[_Item]:
    if isinstance(source, BulkReport):
        return [_Item(o.index, o.id, o.outcome, o.provider_id, o.code, o.error) for o in source]
    if isinstance(source, str | bytes | bytearray) or not isinstance(source, Iterable):
        raise ValidationError("source", f"got {describe(source)}", _SOURCE_RULE)
    items = []
    for i, cmid in enumerate(source):
        if isinstance(cmid, ReconcileItem):
            items.append(_known(i, cmid))
            continue
        if not isinstance(cmid, str) or not cmid:
            raise ValidationError(f"source[{i}]", f"got {describe(cmid)}", _ITEM_RULE)
        items.append(_Item(i, cmid, Outcome.UNKNOWN, None, None, None))
    return items


_ITEM_RULE: Final = "a clientMessageId (a non-empty str) or a ReconcileItem"


def _known(i: int, item: ReconcileItem) -> _Item:
    if not isinstance(item.outcome, Outcome):
        raise ValidationError(
            f"source[{i}].outcome", f"got {describe(item.outcome)}", "an aiomsg.Outcome"
        )
    for name, value in (("id", item.id), ("umid", item.umid)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ValidationError(f"source[{i}].{name}", f"got {describe(value)}", "a str or None")
    if item.code is not None and type(item.code) is not int:
        raise ValidationError(f"source[{i}].code", f"got {describe(item.code)}", "an int or None")
    return _Item(i, item.id, item.outcome, item.umid, item.code, None)


_SOURCE_RULE: Final = (
    "a BulkReport, or an iterable of clientMessageIds or ReconcileItems (not one string)"
)


def _check_arguments(
    store: object,
    wait: object,
    poll_interval: object,
    sub_account_id: object,
    on_progress: object,
) -> None:
    if not isinstance(store, ReceiptStore):
        raise ValidationError(
            "store", f"got {describe(store)}",
            "a ReceiptStore (such as an open SQLiteReceiptStore)",
        )  # fmt: skip
    if not (type(wait) is float and wait == math.inf) and duration(wait, zero=True) is None:
        raise ValidationError(
            "wait", f"got {shown(wait)}",
            f"{NON_NEGATIVE_SECONDS_RULE} (math.inf: wait until all resolve)",
        )  # fmt: skip
    if duration(poll_interval) is None:
        raise ValidationError("poll_interval", f"got {shown(poll_interval)}", SECONDS_RULE)
    if sub_account_id is not None:
        sub_account_id = check_sub_account_id(sub_account_id)
    if on_progress is not None and not callable(on_progress):
        raise ValidationError(
            "on_progress", f"got {describe(on_progress)}",
            "a function called with (resolved, pending), or None",
        )  # fmt: skip


async def reconcile(
    source: BulkReport | Iterable[str | ReconcileItem],
    store: ReceiptStore,
    *,
    wait: float = 0.0,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    sub_account_id: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Reconciliation:
    """Resolve the ``unknown`` LINE messages of ``source`` against stored receipts.

    ``source``: the ``BulkReport`` of a LINE send (its ``unknown`` items are resolved;
    its ``accepted`` items get their latest delivery state; other items pass through
    unchanged), clientMessageIds whose fate is unknown, or ``ReconcileItem``s (what
    a job journal knows of each message; the two may be mixed). ``wait``: keep looking at
    the store for up to this many seconds while some remain unknown, every
    ``poll_interval`` seconds. ``sub_account_id``: only trust receipts from this
    sub-account (clientMessageIds are the sender's and may repeat across accounts).
    ``on_progress``: called after each look at the store with the number of
    clientMessageIds resolved so far and the number still without a receipt.
    Never sends anything. A bad argument raises ``ValidationError`` naming it, before
    the store is read.
    """
    _check_arguments(store, wait, poll_interval, sub_account_id, on_progress)
    items = _items(source)
    pending = {it.id for it in items if it.outcome is Outcome.UNKNOWN and it.id is not None}
    to_resolve = len(pending)
    start = anyio.current_time()
    polls = 0
    while True:
        polls += 1
        found = await store.latest_by_client_message_id(pending, sub_account_id=sub_account_id)
        pending.difference_update(found)
        if on_progress is not None:
            on_progress(to_resolve - len(pending), len(pending))
        waited = anyio.current_time() - start
        if not pending or waited >= wait:
            break
        await anyio.sleep(min(poll_interval, wait - waited))
    # One more look for everything 8x8 took, for the latest state after the wait.
    taken = {
        it.id
        for it in items
        if it.id is not None and it.outcome in (Outcome.UNKNOWN, Outcome.ACCEPTED)
        and it.id not in pending
    }  # fmt: skip
    latest = await store.latest_by_client_message_id(taken, sub_account_id=sub_account_id)
    # Accepted items whose receipts carry no clientMessageId (or another one) by umid.
    by_umid = await store.latest_by_umid(
        {
            it.umid
            for it in items
            if it.outcome is Outcome.ACCEPTED and it.umid and (it.id is None or it.id not in latest)
        }
    )
    return Reconciliation(
        [_reconciled(it, latest, by_umid, waited) for it in items], waited=waited, polls=polls
    )


def _reconciled(
    it: _Item,
    latest: dict[str, ReceiptRecord],
    by_umid: dict[str, ReceiptRecord],
    waited: float,
) -> ReconciledMessage:
    record = latest.get(it.id) if it.id is not None else None
    if it.outcome is Outcome.ACCEPTED:
        if record is None and it.umid is not None:
            record = by_umid.get(it.umid)
        return _with_record(it, it.outcome, record, resolved=False)
    if it.outcome is not Outcome.UNKNOWN:
        return ReconciledMessage(
            index=it.index, id=it.id, outcome=it.outcome, umid=it.umid, code=it.code,
            error=it.error,
        )  # fmt: skip
    if record is None:
        return ReconciledMessage(
            index=it.index, id=it.id, outcome=it.outcome, umid=it.umid, code=it.code,
            waited=waited, error=it.error,
        )  # fmt: skip
    rejected = record.state == MessageState.REJECTED
    return _with_record(
        it, Outcome.REJECTED if rejected else Outcome.ACCEPTED, record, resolved=True
    )


def _with_record(
    it: _Item, outcome: Outcome, record: ReceiptRecord | None, *, resolved: bool
) -> ReconciledMessage:
    if record is None:
        return ReconciledMessage(index=it.index, id=it.id, outcome=outcome, umid=it.umid)
    code = record.error_code if type(record.error_code) is int else it.code
    return ReconciledMessage(
        index=it.index,
        id=it.id,
        outcome=outcome,
        resolved=resolved,
        umid=record.umid,
        state=record.state,
        detail=record.detail,
        timestamp=record.timestamp,
        code=code if outcome is Outcome.REJECTED else None,
    )
