"""Bulk cancels by umid: 8x8 has no bulk cancel by umid, so one request per id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from .._errors import APIError, NotFoundError, ValidationError
from .._validation import check_sub_account_id, check_uuid, is_uuid
from ..bulk import (
    DEFAULT_CONCURRENCY,
    BulkOptions,
    Chunk,
    ItemsInput,
    Outcome,
    OutcomeStream,
    check_concurrency,
    check_items,
    run_bulk,
    total_of,
)
from .models import CancelResult

CancelOne = Callable[[str, str], Awaitable[CancelResult]]

#: 8x8's code for "message not found" (the 404 of a cancel by umid).
NOT_FOUND_CODE = 1300

#: Ids each worker takes from the input at a time; they are sent one request each.
MAX_TAKE = 16


def take_size(items: object, concurrency: int) -> int:
    """Small takes keep every worker busy on short inputs; larger ones cut overhead."""
    total = total_of(items)
    if total is None:
        return 4
    return max(1, min(MAX_TAKE, total // (concurrency * 4)))


def stream_cancels(
    cancel_one: CancelOne,
    sub_account_id: str,
    umids: ItemsInput[str],
    options: BulkOptions,
) -> AbstractAsyncContextManager[OutcomeStream]:
    check_sub_account_id(sub_account_id)

    async def process(chunk: Chunk[str]) -> None:
        done: dict[str, int] = {}
        for i, umid in enumerate(chunk.items):
            if chunk.stopping():
                return  # the job is finishing: the rest stay not_attempted
            if not is_uuid(umid):
                chunk.ids[i] = umid if isinstance(umid, str) else None
                try:
                    check_uuid(umid, f"umids[{chunk.start + i}]")
                except ValidationError as exc:
                    chunk.fail(i, exc)
                continue
            chunk.ids[i] = umid
            first = done.get(umid)
            if first is not None:  # the same id twice in one take: one request
                chunk.outcomes[i] = chunk.outcomes[first]
                chunk.codes[i] = chunk.codes[first]
                chunk.errors[i] = chunk.errors[first]
                continue
            done[umid] = i
            chunk.mark_in_flight((i,))
            try:
                result = await cancel_one(sub_account_id, umid)
            except NotFoundError as exc:
                if exc.code == NOT_FOUND_CODE:
                    chunk.outcomes[i] = Outcome.NOT_FOUND
                    chunk.codes[i] = exc.code
                else:  # a 404 without 8x8's code: a wrong URL, not a missing message
                    chunk.fail(i, exc, exc.code)
            except APIError as exc:
                chunk.fail(i, exc, getattr(exc, "code", None))
            else:
                chunk.outcomes[i] = (
                    Outcome.CANCELLED if result.cancelled_count >= 1 else Outcome.NOT_CANCELLED
                )

    check_items(umids, "umids")
    concurrency = check_concurrency(options.get("concurrency", DEFAULT_CONCURRENCY))
    size = take_size(umids, concurrency)
    return run_bulk(umids, process, chunk_size=size, field="umids", **options)
