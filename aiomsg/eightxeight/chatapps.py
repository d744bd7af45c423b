"""8x8 Chat Apps (Messaging Apps) endpoints: LINE Notifications, cancels, WhatsApp Flows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import msgspec
from msgspec import UNSET, UnsetType

from .._codec import decode, encode
from .._core import Requester, Route
from .._errors import APIError, APIResponseError, APIStatusError, OutcomeUnknownError
from .._limits import DEFAULT_8X8_RATE_LIMIT, DEFAULT_FLOWS_RATE_LIMIT, RateLimit
from .._retry import CallKind
from .._validation import (
    check_account_id,
    check_count,
    check_segment,
    check_sub_account_id,
    check_uuid,
)
from .models import (
    MAX_LINE_BATCH,
    CancelResult,
    LineMessageResult,
    LineNotification,
    LineNotificationBatch,
    LineNotificationBatchResult,
    as_line_notification,
)

__all__ = ["ChatApps"]

SEND_LINE_BATCH: Final = Route(
    "POST", "/api/v1/subaccounts/{sub_account_id}/lon/batch", CallKind.SEND_ONCE
)
SEND_LINE: Final = Route("POST", "/api/v1/subaccounts/{sub_account_id}/lon", CallKind.SEND_ONCE)
CANCEL_BATCH: Final = Route(
    "DELETE", "/api/v1/subaccounts/{sub_account_id}/messages/batch/{batch_id}", CallKind.IDEMPOTENT
)
CANCEL_MESSAGE: Final = Route(
    "DELETE", "/api/v1/subaccounts/{sub_account_id}/messages/{umid}", CallKind.IDEMPOTENT
)
DELETE_FLOW: Final = Route(
    "DELETE",
    "/api/v1/accounts/{account_id}/channels/{channel_id}/flows/{flow_id}",
    CallKind.IDEMPOTENT,
)

LineMessageInput = LineNotification | Mapping[str, object]


def may_have_been_taken(exc: APIError) -> bool:
    """Whether a failed send may still have been accepted by 8x8.

    Only a refusal (a 4xx answer) or a request that provably never left is a sure
    "no"; a reset, a timeout, a 5xx or an unreadable success body leave it open.
    """
    if isinstance(exc, APIStatusError):
        return not 400 <= exc.status_code < 500
    if isinstance(exc, APIResponseError):
        return True
    return bool(getattr(exc, "request_sent", False))


def with_client_message_ids(messages: Sequence[LineNotification]) -> list[LineNotification]:
    """Give every message without a ``clientMessageId`` a fresh one, so each can be
    reconciled if the outcome of its request is ever unknown."""
    out = list(messages)
    for i, msg in enumerate(out):
        if msg.client_message_id is UNSET:
            out[i] = msgspec.structs.replace(msg, client_message_id=str(uuid.uuid4()))
    return out


class ChatApps:
    """8x8 Chat Apps API (``client.chatapps``)."""

    def __init__(
        self,
        requester: Requester,
        *,
        rate_limit: RateLimit = DEFAULT_8X8_RATE_LIMIT,
        flows_rate_limit: RateLimit = DEFAULT_FLOWS_RATE_LIMIT,
    ) -> None:
        self._requester = requester
        self._rate_limit = rate_limit
        self._flows_rate_limit = flows_rate_limit

    def __repr__(self) -> str:
        return f"ChatApps({self._requester.host!r})"

    async def send_line_notification_batch(
        self,
        sub_account_id: str,
        messages: Iterable[LineMessageInput],
        *,
        client_batch_id: str | UnsetType = UNSET,
        include_messages_in_response: bool | UnsetType = UNSET,
    ) -> LineNotificationBatchResult:
        """Send 1 to 1,000 LINE Notification messages in one request.

        ``POST /api/v1/subaccounts/{subAccountId}/lon/batch``. Messages without a
        ``clientMessageId`` get a generated one. Retried only when 8x8 provably did
        not take the request; otherwise a failure raises ``OutcomeUnknownError``
        carrying every ``clientMessageId``.
        """
        check_sub_account_id(sub_account_id)
        items = list(messages)
        check_count("messages", len(items), 1, MAX_LINE_BATCH)
        typed = [as_line_notification(m, f"messages[{i}]") for i, m in enumerate(items)]
        batch = LineNotificationBatch(
            messages=with_client_message_ids(typed),
            client_batch_id=client_batch_id,
            include_messages_in_response=include_messages_in_response,
        )
        return await self.send_prepared_batch(sub_account_id, batch)

    async def send_prepared_batch(
        self, sub_account_id: str, batch: LineNotificationBatch
    ) -> LineNotificationBatchResult:
        """Send an already validated batch whose messages all have a clientMessageId."""
        body = encode(batch)
        path = SEND_LINE_BATCH.path(sub_account_id=sub_account_id)
        try:
            resp = await self._requester.call(
                SEND_LINE_BATCH, path, body, scope=("chatapps", sub_account_id),
                limit=self._rate_limit,
            )  # fmt: skip
            return decode(
                LineNotificationBatchResult, resp.body,
                method="POST", url=self._requester.host.shown(path), status=resp.status,
            )  # fmt: skip
        except APIError as exc:
            if not may_have_been_taken(exc):
                raise
            ids = [str(m.client_message_id) for m in batch.messages]
            raise OutcomeUnknownError(
                f"The LINE batch may or may not have been accepted ({exc.message}); it was "
                f"not re-sent. Reconcile its {len(ids)} messages by clientMessageId",
                client_message_ids=ids, method=exc.method, url=exc.url,
            ) from exc  # fmt: skip

    async def send_line_notification(
        self, sub_account_id: str, message: LineMessageInput
    ) -> LineMessageResult:
        """Send one LINE Notification message.

        ``POST /api/v1/subaccounts/{subAccountId}/lon``. Retry rules as for a batch.
        """
        check_sub_account_id(sub_account_id)
        (msg,) = with_client_message_ids([as_line_notification(message, "message")])
        body = encode(msg)
        path = SEND_LINE.path(sub_account_id=sub_account_id)
        try:
            resp = await self._requester.call(
                SEND_LINE, path, body, scope=("chatapps", sub_account_id), limit=self._rate_limit
            )
            return decode(
                LineMessageResult, resp.body,
                method="POST", url=self._requester.host.shown(path), status=resp.status,
            )  # fmt: skip
        except APIError as exc:
            if not may_have_been_taken(exc):
                raise
            raise OutcomeUnknownError(
                f"The LINE message may or may not have been accepted ({exc.message}); it was "
                "not re-sent. Reconcile it by clientMessageId",
                client_message_ids=[str(msg.client_message_id)], method=exc.method, url=exc.url,
            ) from exc  # fmt: skip

    async def cancel_batch(self, sub_account_id: str, batch_id: str) -> CancelResult:
        """Cancel the scheduled messages of a batch that were not sent yet.

        ``DELETE /api/v1/subaccounts/{subAccountId}/messages/batch/{batchId}``.
        ``cancelled_count`` 0 means nothing was left to cancel.
        """
        check_sub_account_id(sub_account_id)
        check_uuid(batch_id, "batch_id")
        return await self._cancel(CANCEL_BATCH, sub_account_id, batch_id=batch_id)

    async def cancel_message(self, sub_account_id: str, umid: str) -> CancelResult:
        """Cancel one scheduled Chat Apps message by its umid.

        ``DELETE /api/v1/subaccounts/{subAccountId}/messages/{umid}``.
        """
        check_sub_account_id(sub_account_id)
        check_uuid(umid, "umid")
        return await self._cancel(CANCEL_MESSAGE, sub_account_id, umid=umid)

    async def _cancel(self, route: Route, sub_account_id: str, **ids: str) -> CancelResult:
        path = route.path(sub_account_id=sub_account_id, **ids)
        return await self._requester.call_decoded(
            route,
            path,
            None,
            CancelResult,
            scope=("chatapps", sub_account_id),
            limit=self._rate_limit,
        )

    async def delete_whatsapp_flow(self, account_id: str, channel_id: str, flow_id: str) -> None:
        """Delete a WhatsApp Flow; only flows still in DRAFT can be deleted.

        ``DELETE /api/v1/accounts/{accountId}/channels/{channelId}/flows/{flowId}``.
        A published flow raises ``ConflictError`` (409).
        """
        check_account_id(account_id)
        check_segment(channel_id, "channel_id")
        check_segment(flow_id, "flow_id")
        path = DELETE_FLOW.path(account_id=account_id, channel_id=channel_id, flow_id=flow_id)
        await self._requester.call(
            DELETE_FLOW, path, None, scope=("flows", account_id), limit=self._flows_rate_limit
        )
