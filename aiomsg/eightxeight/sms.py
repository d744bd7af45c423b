"""8x8 SMS endpoints: cancel scheduled messages, one by umid or a whole batch."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Final

from .._core import Requester, Route
from .._limits import DEFAULT_8X8_RATE_LIMIT, RateLimit
from .._retry import CallKind
from .._validation import check_sub_account_id, check_uuid
from ..bulk import BulkOptions, BulkReport, ItemsInput, OutcomeStream, collect
from ._fanout import stream_cancels
from .models import CancelResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Sms"]

CANCEL_MESSAGE: Final = Route(
    "DELETE", "/api/v1/subaccounts/{sub_account_id}/messages/{umid}", CallKind.IDEMPOTENT
)
CANCEL_BATCH: Final = Route(
    "DELETE", "/api/v1/subaccounts/{sub_account_id}/messages/batch/{batch_id}", CallKind.IDEMPOTENT
)


class Sms:
    """8x8 SMS API (``client.sms``)."""

    def __init__(self, requester: Requester, *, rate_limit: RateLimit = DEFAULT_8X8_RATE_LIMIT):
        self._requester = requester
        self._rate_limit = rate_limit

    def __repr__(self) -> str:
        return f"Sms({self._requester.host!r})"

    async def cancel_message(self, sub_account_id: str, umid: str) -> CancelResult:
        """Cancel a scheduled SMS that was not sent yet.

        ``DELETE /api/v1/subaccounts/{subAccountId}/messages/{umid}``. An unknown umid
        raises ``NotFoundError`` (404, code 1300).
        """
        check_sub_account_id(sub_account_id)
        check_uuid(umid, "umid")
        return await self._cancel(CANCEL_MESSAGE, sub_account_id, umid=umid)

    async def cancel_batch(self, sub_account_id: str, batch_id: str) -> CancelResult:
        """Cancel the scheduled SMS of a batch that were not sent yet.

        ``DELETE /api/v1/subaccounts/{subAccountId}/messages/batch/{batchId}``.
        """
        check_sub_account_id(sub_account_id)
        check_uuid(batch_id, "batch_id")
        return await self._cancel(CANCEL_BATCH, sub_account_id, batch_id=batch_id)

    async def cancel_messages(
        self, sub_account_id: str, umids: ItemsInput[str], **options: Unpack[BulkOptions]
    ) -> BulkReport:
        """Cancel any number of scheduled SMS by umid, one request each.

        Outcomes: ``cancelled``, ``not_cancelled`` (already sent or cancelled),
        ``not_found``, ``failed``. Options: see ``aiomsg.bulk.BulkOptions``.
        """
        return await collect(self.stream_cancel_messages(sub_account_id, umids, **options))

    def stream_cancel_messages(
        self, sub_account_id: str, umids: ItemsInput[str], **options: Unpack[BulkOptions]
    ) -> AbstractAsyncContextManager[OutcomeStream]:
        """``cancel_messages`` as an ``async with`` block yielding outcomes as they come."""
        return stream_cancels(self.cancel_message, sub_account_id, umids, options)

    async def _cancel(self, route: Route, sub_account_id: str, **ids: str) -> CancelResult:
        path = route.path(sub_account_id=sub_account_id, **ids)
        return await self._requester.call_decoded(
            route, path, None, CancelResult, scope=("sms", sub_account_id), limit=self._rate_limit
        )
