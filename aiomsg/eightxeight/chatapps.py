"""8x8 Chat Apps (Messaging Apps) endpoints: LINE Notifications, cancels, WhatsApp Flows."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from operator import attrgetter
from typing import TYPE_CHECKING, Final, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from .._codec import encode
from .._core import Requester, Route
from .._errors import (
    AiomsgError,
    APIError,
    APIResponseError,
    MissingFromAnswerError,
    OutcomeUnknownError,
    ValidationError,
)
from .._limits import DEFAULT_8X8_RATE_LIMIT, DEFAULT_FLOWS_RATE_LIMIT, RateLimit
from .._retry import may_have_been_taken
from .._validation import (
    MAX_READ_PER_REQUEST,
    check_account_id,
    check_count,
    check_flag,
    check_segment,
    check_sub_account_id,
    check_text,
    read_list,
    require_str,
)
from ..bulk import (
    BulkOptions,
    BulkReport,
    Outcome,
    OutcomeStream,
)
from ..bulk._calls import (
    Admitted,
    Answer,
    Checks,
    ItemsInput,
    Prepared,
    Ready,
    Request,
    Requests,
    bulk_stream,
    check_items,
    collect,
    prepare,
)
from ..bulk._once import OncePerJob
from ..bulk._sent import SentIds, pack, unpack
from ._cancels import ScheduledCancels
from ._sent_ids import fingerprint
from .models import (
    _ACCEPTED_STATES,
    MAX_CLIENT_BATCH_ID,
    MAX_LINE_BATCH,
    LineMessageResult,
    LineNotification,
    LineNotificationBatch,
    LineNotificationBatchResult,
    MessageState,
    _AcceptedBatch,
    _SentBatch,
    _SentMessage,
    as_line_notification,
)
from .routes import CHATAPPS_CANCEL_BATCH, CHATAPPS_CANCEL_MESSAGE
from .routes import CHATAPPS_DELETE_WHATSAPP_FLOW as DELETE_FLOW
from .routes import CHATAPPS_SEND_LINE_NOTIFICATION as SEND_LINE
from .routes import CHATAPPS_SEND_LINE_NOTIFICATION_BATCH as SEND_LINE_BATCH
from .webhooks import ReceiptEndpoints

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ChatApps"]

LineMessageInput = LineNotification | Mapping[str, object]
T = TypeVar("T")


def with_client_message_ids(messages: Sequence[LineNotification]) -> list[LineNotification]:
    """Give every message without a ``clientMessageId`` a fresh one, so each can be
    reconciled if the outcome of its request is ever unknown."""
    out = list(messages)
    for i, msg in enumerate(out):
        if msg.client_message_id is UNSET:
            out[i] = msgspec.structs.replace(msg, client_message_id=str(uuid.uuid4()))
    return out


class ChatApps(ScheduledCancels, ReceiptEndpoints):
    """8x8 Chat Apps API (``client.chatapps``): LINE Notification sends, WhatsApp Flow
    delete, and the scheduled-message cancels (``cancel_message``, ``cancel_batch``,
    ``cancel_messages``, ``stream_cancel_messages``)."""

    scope = "chatapps"
    cancel_message_route = CHATAPPS_CANCEL_MESSAGE
    cancel_batch_route = CHATAPPS_CANCEL_BATCH

    def __init__(
        self,
        requester: Requester,
        *,
        rate_limit: RateLimit = DEFAULT_8X8_RATE_LIMIT,
        flows_rate_limit: RateLimit = DEFAULT_FLOWS_RATE_LIMIT,
    ) -> None:
        super().__init__(requester, rate_limit=rate_limit)
        self._flows_rate_limit = flows_rate_limit

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
        ``clientMessageId`` get a generated one. A message given twice is sent once
        (8x8 does not de-duplicate); two different messages with the same
        ``clientMessageId`` are a ``ValidationError``. Retried only when 8x8 provably
        did not take the request; otherwise a failure raises ``OutcomeUnknownError``
        carrying every ``clientMessageId``.

        Args:
            sub_account_id: The 8x8 sub-account that sends.
            messages: 1 to 1,000 ``LineNotification`` objects or mappings in the API's
                camelCase JSON shape (validated the same way); reading stops with a
                ``ValidationError`` past 10,000 items.
            client_batch_id: Your own id for the batch (up to 100 characters).
            include_messages_in_response: Ask 8x8 to list every message (its umid and
                status) in the answer.

        Returns:
            The ``batchId`` and the accepted and rejected counts (with ``messages``
            when asked for).

        Raises:
            ValidationError: A message, id or the batch size broke a rule; nothing
                was sent.
            OutcomeUnknownError: The request may have reached 8x8 and was not repeated.
            APIStatusError: 8x8 refused the request (a subclass per status).
            APIConnectionError: The connection was refused on every attempt.

        Example:
            ``batch = await client.chatapps.send_line_notification_batch("my-sub", messages)``
        """
        sub_account_id = check_sub_account_id(sub_account_id)
        check_items(messages, "messages")
        items = read_list("messages", messages, MAX_READ_PER_REQUEST * MAX_LINE_BATCH)
        check_count("messages", len(items), 1, MAX_LINE_BATCH)
        prepared = prepare(items, 0, _LINE)
        if prepared.failed:  # the first invalid message, as a single call raises
            raise prepared.failed[0][1]
        batch = LineNotificationBatch(
            messages=prepared.items,
            client_batch_id=client_batch_id,
            include_messages_in_response=include_messages_in_response,
        )
        return await self._send_prepared_batch(sub_account_id, batch)

    async def _send_prepared_batch(
        self,
        sub_account_id: str,
        batch: LineNotificationBatch,
        *,
        on_wire: Callable[[bool], None] | None = None,
    ) -> LineNotificationBatchResult:
        """Send an already validated batch whose messages all have a clientMessageId."""
        what = f"The LINE batch of {len(batch.messages)} messages"
        result = await self._send_once(
            SEND_LINE_BATCH, sub_account_id, encode(batch), LineNotificationBatchResult,
            batch.messages, what, on_wire,
        )  # fmt: skip
        problem = _impossible_batch_answer(result, batch.messages)
        if problem is not None:
            method = SEND_LINE_BATCH.method
            url = self._requester.host.shown(SEND_LINE_BATCH.path(sub_account_id=sub_account_id))
            cause = APIResponseError(
                f"8x8's answer to the LINE batch cannot be right: {problem}",
                method=method, url=url, status_code=200,
            )  # fmt: skip
            raise OutcomeUnknownError(
                f"{what} was answered, but the answer cannot be right ({problem}); "
                "it was not re-sent. Reconcile by clientMessageId",
                client_message_ids=[str(m.client_message_id) for m in batch.messages],
                method=method, url=url,
            ) from cause  # fmt: skip
        return result

    async def _send_once(
        self,
        route: Route,
        sub_account_id: str,
        body: bytes,
        tp: type[T],
        messages: Sequence[LineNotification],
        what: str,
        on_wire: Callable[[bool], None] | None = None,
        first: type[T] | None = None,
    ) -> T:
        """A LINE send: retried only when provably not taken, else reconcilable."""
        path = route.path(sub_account_id=sub_account_id)
        try:
            return await self._requester.call_decoded(
                route, path, body, tp, scope=("chatapps", sub_account_id),
                limit=self._rate_limit, on_wire=on_wire, first=first,
            )  # fmt: skip
        except APIError as exc:
            if not may_have_been_taken(exc):
                raise
            raise OutcomeUnknownError(
                f"{what} may or may not have been accepted ({exc.message}); it was not "
                "re-sent. Reconcile by clientMessageId",
                client_message_ids=[str(m.client_message_id) for m in messages],
                method=exc.method, url=exc.url,
            ) from exc  # fmt: skip

    async def send_line_notification(
        self, sub_account_id: str, message: LineMessageInput
    ) -> LineMessageResult:
        """Send one LINE Notification message.

        ``POST /api/v1/subaccounts/{subAccountId}/lon``. Retry rules as for a batch.

        Args:
            sub_account_id: The 8x8 sub-account that sends.
            message: A ``LineNotification`` or a mapping in the API's camelCase shape;
                it gets a generated ``clientMessageId`` when it has none.

        Returns:
            The message's ``umid`` and status.

        Raises:
            ValidationError: The message broke a rule; nothing was sent.
            OutcomeUnknownError: The request may have reached 8x8 and was not repeated.
            APIStatusError: 8x8 refused the request (a subclass per status).
            APIConnectionError: The connection was refused on every attempt.
        """
        sub_account_id = check_sub_account_id(sub_account_id)
        (msg,) = with_client_message_ids([as_line_notification(message, "message")])
        return await self._send_once(
            SEND_LINE, sub_account_id, encode(msg), LineMessageResult,
            [msg], "The LINE message",
        )  # fmt: skip

    async def send_line_notifications(
        self,
        sub_account_id: str,
        messages: ItemsInput[LineMessageInput],
        *,
        client_batch_id: str | UnsetType = UNSET,
        include_messages_in_response: bool = True,
        chunk_size: int = MAX_LINE_BATCH,
        **options: Unpack[BulkOptions],
    ) -> BulkReport:
        """Send any number of LINE Notification messages in requests of up to 1,000.

        Every message gets one outcome: ``accepted`` or ``rejected`` (with 8x8's
        errorCode) from the answer; ``failed`` when invalid (never sent) or when its
        request was refused; ``unknown`` when its request may or may not have been
        taken (never re-sent: reconcile by ``id``, the clientMessageId, generated
        when missing). ``client_batch_id`` goes on every request; ``report.batches``
        lists each ``batchId`` with the input positions it covers. Options: see
        ``aiomsg.bulk.BulkOptions``.

        Args:
            sub_account_id: The 8x8 sub-account that sends.
            messages: ``LineNotification`` objects or mappings in the API's camelCase
                shape: a list, any iterable or an async iterable.
            client_batch_id: Your own id, sent with every request.
            include_messages_in_response: Ask 8x8 to list every message in its
                answers, so each outcome carries the message's umid (``provider_id``)
                and a rejection its code.
            chunk_size: Messages per request, 1 to 1,000.
            **options: Any of ``aiomsg.BulkOptions`` (``concurrency``, ``deadline``...).

        Returns:
            One outcome per input message, in input order, with counts that add up
            to the input size. It never raises for one message.

        Raises:
            ValidationError: An argument or option is invalid (before anything is
                sent); an invalid message is ``failed`` instead.
            BulkInputError: Reading ``messages`` raised; ``.report`` holds what was
                done before.
        """
        return await collect(
            self.stream_send_line_notifications(
                sub_account_id, messages, client_batch_id=client_batch_id,
                include_messages_in_response=include_messages_in_response,
                chunk_size=chunk_size, **options,
            )
        )  # fmt: skip

    def stream_send_line_notifications(
        self,
        sub_account_id: str,
        messages: ItemsInput[LineMessageInput],
        *,
        client_batch_id: str | UnsetType = UNSET,
        include_messages_in_response: bool = True,
        chunk_size: int = MAX_LINE_BATCH,
        **options: Unpack[BulkOptions],
    ) -> AbstractAsyncContextManager[OutcomeStream]:
        """As ``send_line_notifications``, but an ``async with`` block yielding outcomes.

        Args:
            messages: As for ``send_line_notifications``, and so is every other
                argument.

        Returns:
            An async context manager giving an ``OutcomeStream``: outcomes in the
            order requests finish, each with its input ``index``; its ``report``
            keeps the totals. Leaving the block cancels the job.
        """
        sub_account_id = check_sub_account_id(sub_account_id)
        check_count("chunk_size", chunk_size, 1, MAX_LINE_BATCH)
        if client_batch_id is not UNSET:
            check_text(
                "client_batch_id", require_str("client_batch_id", client_batch_id),
                MAX_CLIENT_BATCH_ID,
            )  # fmt: skip
        check_flag("include_messages_in_response", include_messages_in_response)

        # One per job: a clientMessageId is sent at most once across its requests.
        once = _OncePerJob(SentIds(messages if type(messages) is list else None, chunk_size))

        async def send(request: Request[LineNotification]) -> Answer:
            typed = request.items
            batch = LineNotificationBatch(
                messages=typed,  # type: ignore[arg-type]  # a list: see prepare
                client_batch_id=client_batch_id,
                include_messages_in_response=include_messages_in_response,
            )
            result = await self._send_once(
                SEND_LINE_BATCH, sub_account_id, encode(batch), _SentBatch, typed,
                f"The LINE batch of {len(typed)} messages", request.on_wire, _AcceptedBatch,
            )  # fmt: skip
            return _line_answer(result, typed, request.ids)

        requests = Requests(checks=_LINE, send=send, admission=once)
        return bulk_stream(messages, requests, chunk_size, **options)

    async def delete_whatsapp_flow(self, account_id: str, channel_id: str, flow_id: str) -> None:
        """Delete a WhatsApp Flow; only flows still in DRAFT can be deleted.

        ``DELETE /api/v1/accounts/{accountId}/channels/{channelId}/flows/{flowId}``.
        A published flow raises ``ConflictError`` (409). 8x8 allows 100 Flow
        management requests a minute per API key: the client paces them
        (``flows_rate_limit=``).

        Args:
            account_id: The 8x8 account, a uuid (32 hex digits, dashes optional).
            channel_id: The WhatsApp channel.
            flow_id: The flow to delete.

        Raises:
            ValidationError: An id is malformed; nothing was sent.
            ConflictError: The flow is published (only DRAFT flows can be deleted).
            NotFoundError: No such flow.
            APIStatusError: Another refusal (a subclass per status).
            APIConnectionError: No answer after the retries.
        """
        account_id = check_account_id(account_id)
        channel_id = check_segment(channel_id, "channel_id")
        flow_id = check_segment(flow_id, "flow_id")
        path = DELETE_FLOW.path(account_id=account_id, channel_id=channel_id, flow_id=flow_id)
        await self._requester.call(
            DELETE_FLOW, path, None, scope=("flows", account_id), limit=self._flows_rate_limit
        )


class _OncePerJob(OncePerJob):
    """LINE's job-wide rule: a clientMessageId is sent at most once per job. A later
    identical message takes the first's outcome; a different message reusing an id
    fails (``SentIds`` keeps the ids)."""

    def __init__(self, sent: SentIds) -> None:
        super().__init__(sent, "messages", "message")

    def admit(
        self, prepared: Prepared[LineNotification], start: int, size: int
    ) -> Admitted[LineNotification]:
        """Keep only the messages whose clientMessageId this job has not sent yet.

        ``later``: (chunk position, input position of the first) for identical
        messages an earlier request carries; a different message reusing an id fails.
        """
        typed, positions, repeats = prepared.items, prepared.positions, prepared.repeats
        ids, sent = prepared.ids, self.sent
        failed: list[tuple[int, BaseException]] = []
        fps = None if sent.source is not None else [fingerprint(m) for m in typed]
        cmids = ids if type(positions) is range else [ids[i] for i in positions]
        hits = sent.admit(cmids, positions, start, fps)  # type: ignore[arg-type]
        if not hits:
            return Admitted(typed, positions, repeats, [], failed)
        # The rare path: an id seen before (or a 64-bit key shared by two ids).
        first_of: dict[int, int] = {}  # index into typed -> input position of its first
        found_for: dict[int, list[int]] = {}
        for k, key, values in hits:
            found_for[k] = values
            msg, i = typed[k], positions[k]
            fp = None if fps is None else fps[k]
            first = _first_occurrence(msg, values, sent, fp, range(start, start + size))
            if first is None:  # a key collision, not a repeat: this one is new
                sent.add(key, pack(start + i, 0 if fps is None else fps[k]))
            elif first < 0:
                failed.append((i, _reused_id_error(start + i, -first - 1)))
                first_of[k] = first
            else:
                first_of[k] = first
        keep = [k for k in range(len(typed)) if k not in first_of]
        new_index = {k: n for n, k in enumerate(keep)}
        later: list[tuple[int, int]] = []
        kept_repeats: list[tuple[int, int]] = []
        for k, first in first_of.items():
            if first >= 0:
                later.append((positions[k], first))
        for i, k in repeats:
            first = first_of.get(k)
            if first is None:
                kept_repeats.append((i, new_index[k]))
            elif first >= 0:
                later.append((i, first))
            else:
                failed.append((i, _reused_id_error(start + i, -first - 1)))
        for i, k, msg in prepared.conflicts:
            # Another message than the request's first with its id: when that first
            # is not the job's first, this one may be the job's first message again.
            first = first_of.get(k)
            if first is None:
                continue  # the request's first is sent: this one stays failed
            position = first if first >= 0 else -first - 1
            fp = None if fps is None else fingerprint(msg)
            if _first_occurrence(msg, found_for[k], sent, fp, range(0)) == position:
                later.append((i, position))
        kept = [typed[k] for k in keep]
        return Admitted(kept, [positions[k] for k in keep], kept_repeats, later, failed)


def _first_occurrence(
    msg: LineNotification, values: list[int], sent: SentIds, fp: int | None, here: range
) -> int | None:
    """The input position of the message ``msg`` repeats (p), or ``-p - 1`` when a
    different message there has its id, or None when no earlier message has it.
    ``here``: the positions of msg's own request, whose ids are distinct already."""
    cmid = msg.client_message_id
    for value in values:
        position, stored_fp = unpack(value)
        if position in here:
            continue  # another id of the same request with the same 64-bit key
        if sent.source is None:
            # Only the fingerprint is kept: equal is the same message (see _sent_ids).
            return position if stored_fp == fp else -position - 1
        first = as_line_notification(sent.source[position], "messages")
        if first.client_message_id != cmid:
            continue  # another id with the same 64-bit key
        return position if first == msg else -position - 1
    return None


_TYPED: Final = {LineNotification}
_PLAIN: Final = {str}
# C-level readers for the passes over a request's messages and its answer.
_message_id: Final = attrgetter("client_message_id")
_answer_id: Final = attrgetter("client_message_id")
_answer_umid: Final = attrgetter("umid")


def _line_fast(items: list[LineMessageInput]) -> Ready | None:
    """The common case in one pass of C-level work: typed messages, each with its own
    clientMessageId. None when any message needs the careful path."""
    if set(map(type, items)) != _TYPED:
        return None
    ids = list(map(_message_id, items))
    if set(map(type, ids)) != _PLAIN:  # no id, or a str subclass: the careful path
        return None
    # Distinct within the request and the job: ``SentIds.all_new``, in one pass.
    return Ready(ids, distinct=False)


def _line_checker() -> Callable[[LineMessageInput, str], LineNotification]:
    """Per request: identical messages without an id are one message sent twice by
    mistake, so they share one generated id (keyed by content)."""
    generated: dict[str, str] = {}

    def check(item: LineMessageInput, name: str) -> LineNotification:
        msg = as_line_notification(item, name)
        if msg.client_message_id is UNSET:
            key = encode(msg).decode()
            cmid = generated.get(key) or str(uuid.uuid4())
            generated[key] = cmid
            msg = msgspec.structs.replace(msg, client_message_id=cmid)
        return msg

    return check


def _cmid(msg: LineNotification) -> str:
    return str(msg.client_message_id)


_REJECTED_STATES: Final = frozenset(
    {MessageState.REJECTED, MessageState.FAILED, MessageState.ERROR}
)


def item_id(item: object) -> str | None:
    """The clientMessageId of a LINE message input, typed or mapping, if it has one."""
    if isinstance(item, Mapping):
        value = item.get("clientMessageId")
    else:
        value = getattr(item, "client_message_id", None)
    # A str subclass is reported under the plain value sent, whatever its __str__.
    return str.__str__(value) if isinstance(value, str) else None


def _reused_id_error(index: int, first: int) -> ValidationError:
    return ValidationError(
        f"messages[{index}].clientMessageId",
        f"repeats the id of a different message (messages[{first}]) in the same job",
        "unique within a job, so no person gets two messages under one id",
    )


def _duplicate_id_error(index: int) -> ValidationError:
    return ValidationError(
        f"messages[{index}].clientMessageId",
        "repeats the id of a different message in the same request",
        "unique within a request, so each message can be reconciled",
    )


_LINE: Final = Checks(
    checker=_line_checker,
    id_of=_cmid,
    raw_id=item_id,
    field="messages",
    fast=_line_fast,
    duplicate=_duplicate_id_error,
)


def _line_answer(
    result: _SentBatch, typed: Sequence[LineNotification], ids: Sequence[str]
) -> Answer:
    """Per-message outcomes from a 200 answer to one batch request."""
    answers, batch_id = result.messages, result.batch_id
    if answers is not None and len(answers) == len(typed):
        # The common case: every message answered, in the order sent.
        if type(result) is _AcceptedBatch and list(map(_answer_id, answers)) == ids:
            pids = list(map(_answer_umid, answers))
            return Answer(outcome=Outcome.ACCEPTED, provider_ids=pids, batch_id=batch_id)
    if answers is not None:
        by_id: dict[str, _SentMessage] = {}
        contradicted: set[str] = set()
        for m in answers:
            cmid = m.client_message_id
            if cmid:
                seen = by_id.setdefault(cmid, m)
                if seen != m:  # one id, two different answers: which is true is unknown
                    contradicted.add(cmid)
        outcomes: list[Outcome] = []
        codes: list[int | None] = []
        errors: list[BaseException | None] = []
        provider_ids: list[str | None] = []
        for msg in typed:
            answer = by_id.pop(str(msg.client_message_id), None)
            if answer is not None and answer.client_message_id in contradicted:
                outcomes.append(Outcome.UNKNOWN)
                codes.append(None)
                errors.append(_contradiction(answer.client_message_id))
                provider_ids.append(None)
                continue
            if answer is None:
                outcomes.append(Outcome.UNKNOWN)
                codes.append(None)
                errors.append(_MISSING_FROM_ANSWER)
                provider_ids.append(None)
                continue
            provider_ids.append(answer.umid)
            errors.append(None)
            state = answer.status.state
            if state in _ACCEPTED_STATES:
                outcomes.append(Outcome.ACCEPTED)
                codes.append(None)
            else:
                rejected = state in _REJECTED_STATES
                outcomes.append(Outcome.REJECTED if rejected else Outcome.UNKNOWN)
                codes.append(answer.status.error_code)
        return Answer(
            outcome=outcomes, code=codes, error=errors, provider_ids=provider_ids,
            batch_id=batch_id, extra_items=len(by_id),
        )  # fmt: skip
    # Without per-message details only the counts are known: enough when they agree
    # that all were accepted, or all rejected.
    sent = len(typed)
    if result.accepted_count == sent and result.rejected_count == 0:
        return Answer(outcome=Outcome.ACCEPTED, batch_id=batch_id)
    if result.rejected_count == sent and result.accepted_count == 0:
        return Answer(outcome=Outcome.REJECTED, batch_id=batch_id)
    error = AiomsgError(
        f"8x8 accepted {result.accepted_count} and rejected {result.rejected_count} "
        f"of {sent} messages; which ones is only known with "
        "include_messages_in_response=True"
    )
    return Answer(outcome=Outcome.UNKNOWN, error=error, batch_id=batch_id)


_MISSING_FROM_ANSWER: Final = MissingFromAnswerError("8x8's answer did not mention this message")


def _contradiction(cmid: str | None) -> APIResponseError:
    return APIResponseError(
        f"8x8's answer lists clientMessageId {cmid!r} more than once, with different "
        "umids or states; whether it was accepted is unknown (reconcile by the id)",
        method=SEND_LINE_BATCH.method, status_code=200,
    )  # fmt: skip


def _impossible_batch_answer(
    result: LineNotificationBatchResult, sent: Sequence[LineNotification]
) -> str | None:
    """What makes a 200 answer to a batch impossible, or None: counts beyond what was
    sent, a message listed twice with different answers (twice alike is taken)."""
    n = len(sent)
    if result.accepted_count + result.rejected_count > n:
        return f"{result.accepted_count} accepted and {result.rejected_count} rejected of {n} sent"
    first: dict[str, LineMessageResult] = {}
    for m in result.messages or ():
        if m.client_message_id and first.setdefault(m.client_message_id, m) != m:
            return f"clientMessageId {m.client_message_id!r} listed twice, differently"
    return None
