"""Cancelling scheduled messages, shared by the Chat Apps and SMS APIs.

Both APIs cancel one scheduled message by umid and a batch by batchId at the same
paths, and neither has a bulk cancel by umid: the bulk form sends one request per id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, ClassVar, Final

from .._core import Requester, Route
from .._errors import NotFoundError
from .._limits import DEFAULT_8X8_RATE_LIMIT, RateLimit
from .._validation import check_sub_account_id, check_uuid
from ..bulk import BulkOptions, BulkReport, Outcome, OutcomeStream
from ..bulk._calls import Answer, ItemsInput, Request, Requests, bulk_stream, collect, uuid_checks
from .models import CancelResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

CancelOne = Callable[[str, str], Awaitable[CancelResult]]


class ScheduledCancels:
    """The cancel endpoints of one 8x8 API; ``scope`` names its rate-limit scope."""

    scope: ClassVar[str]
    cancel_message_route: ClassVar[Route]
    cancel_batch_route: ClassVar[Route]

    def __init__(self, requester: Requester, *, rate_limit: RateLimit = DEFAULT_8X8_RATE_LIMIT):
        self._requester = requester
        self._rate_limit = rate_limit

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._requester.host!r})"

    async def cancel_message(self, sub_account_id: str, umid: str) -> CancelResult:
        """Cancel one scheduled message that was not sent yet, by its umid.

        ``DELETE /api/v1/subaccounts/{subAccountId}/messages/{umid}``.
        ``cancelled_count`` 0 means it was already sent or cancelled; an unknown umid
        raises ``NotFoundError`` (404, code 1300).

        Args:
            sub_account_id: The 8x8 sub-account that sent the message.
            umid: The message's id, a uuid.

        Returns:
            ``cancelled_count``: 1 when it was cancelled, 0 when it was already sent
            or cancelled.

        Raises:
            ValidationError: An id is malformed; nothing was sent.
            NotFoundError: 8x8 does not know the umid (code 1300).
            APIStatusError: Another refusal (a subclass per status).
            APIConnectionError: No answer after the retries (safe to call again).

        Example:
            ``(await client.sms.cancel_message("my-sub", umid)).cancelled_count``
        """
        sub_account_id = check_sub_account_id(sub_account_id)
        umid = check_uuid(umid, "umid")
        return await self._cancel_checked(sub_account_id, umid)

    async def cancel_batch(self, sub_account_id: str, batch_id: str) -> CancelResult:
        """Cancel the scheduled messages of a batch that were not sent yet.

        ``DELETE /api/v1/subaccounts/{subAccountId}/messages/batch/{batchId}``.
        ``cancelled_count`` 0 means nothing was left to cancel.

        Args:
            sub_account_id: The 8x8 sub-account that sent the batch.
            batch_id: The batch's id, a uuid (a LINE send's ``batch_id``, say).

        Returns:
            ``cancelled_count``: how many messages were cancelled (0 is a success:
            nothing was left).

        Raises:
            ValidationError: An id is malformed; nothing was sent.
            APIStatusError: 8x8 refused the request (a subclass per status).
            APIConnectionError: No answer after the retries (safe to call again).
        """
        sub_account_id = check_sub_account_id(sub_account_id)
        batch_id = check_uuid(batch_id, "batch_id")
        return await self._cancel(self.cancel_batch_route, sub_account_id, batch_id=batch_id)

    async def cancel_messages(
        self, sub_account_id: str, umids: ItemsInput[str], **options: Unpack[BulkOptions]
    ) -> BulkReport:
        """Cancel any number of scheduled messages by umid, one request each.

        Outcomes: ``cancelled``, ``not_cancelled`` (already sent or cancelled),
        ``not_found`` (404 with code 1300), ``failed``. Options: see
        ``aiomsg.bulk.BulkOptions``.

        Args:
            sub_account_id: The 8x8 sub-account that sent the messages.
            umids: Message ids: a list, any iterable or an async iterable.
            **options: Any of ``aiomsg.BulkOptions`` (``concurrency``, ``deadline``...).

        Returns:
            One outcome per input umid, in input order, with counts that add up to
            the input size. It never raises for one umid.

        Raises:
            ValidationError: The sub-account id or an option is invalid (before
                anything is sent).
            BulkInputError: Reading ``umids`` raised; ``.report`` holds what was
                done before.
        """
        return await collect(self.stream_cancel_messages(sub_account_id, umids, **options))

    def stream_cancel_messages(
        self, sub_account_id: str, umids: ItemsInput[str], **options: Unpack[BulkOptions]
    ) -> AbstractAsyncContextManager[OutcomeStream]:
        """As ``cancel_messages``, but an ``async with`` block yielding outcomes as they come.

        Args:
            umids: As for ``cancel_messages``, and so is ``**options``.

        Returns:
            An async context manager giving an ``OutcomeStream`` (see
            ``stream_send_line_notifications``); leaving the block cancels the job.
        """
        return stream_cancels(self._cancel_checked, sub_account_id, umids, options)

    async def _cancel_checked(self, sub_account_id: str, umid: str) -> CancelResult:
        return await self._cancel(self.cancel_message_route, sub_account_id, umid=umid)

    async def _cancel(self, route: Route, sub_account_id: str, **ids: str) -> CancelResult:
        path = route.path(sub_account_id=sub_account_id, **ids)
        return await self._requester.call_decoded(
            route, path, None, CancelResult,
            scope=(self.scope, sub_account_id), limit=self._rate_limit,
        )  # fmt: skip


#: 8x8's code for "message not found" (the 404 of a cancel by umid).
NOT_FOUND_CODE = 1300


def stream_cancels(
    cancel_one: CancelOne,
    sub_account_id: str,
    umids: ItemsInput[str],
    options: BulkOptions,
) -> AbstractAsyncContextManager[OutcomeStream]:
    sub_account_id = check_sub_account_id(sub_account_id)

    async def send(request: Request[str]) -> Answer:
        (umid,) = request.items
        try:
            result = await cancel_one(sub_account_id, umid)
        except NotFoundError as exc:
            if exc.code != NOT_FOUND_CODE:
                raise  # a 404 without 8x8's code: a wrong URL, not a missing message
            return Answer(outcome=Outcome.NOT_FOUND, code=exc.code)
        cancelled = result.cancelled_count >= 1
        return Answer(outcome=Outcome.CANCELLED if cancelled else Outcome.NOT_CANCELLED)

    requests = Requests(
        checks=_UMIDS, send=send, one_per_item=True, reports_wire=False, first_outcome=True
    )
    return bulk_stream(umids, requests, **options)


_UMIDS: Final = uuid_checks("umids")
