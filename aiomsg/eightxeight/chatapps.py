"""8x8 Chat Apps (Messaging Apps) endpoints: LINE Notifications, cancels, WhatsApp Flows."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Final, Literal, TypeVar, get_args

import msgspec
from msgspec import UNSET, UnsetType

from .._codec import encode
from .._core import Requester, Route
from .._errors import (
    AiomsgError,
    APIError,
    MissingFromAnswerError,
    OutcomeUnknownError,
    ValidationError,
)
from .._limits import DEFAULT_8X8_RATE_LIMIT, DEFAULT_FLOWS_RATE_LIMIT, RateLimit
from .._retry import may_have_been_taken
from .._validation import (
    check_account_id,
    check_count,
    check_segment,
    check_sub_account_id,
    check_text,
    require_str,
)
from ..bulk import (
    BatchRange,
    BulkInterruptedError,
    BulkOptions,
    BulkReport,
    Chunk,
    ItemsInput,
    Outcome,
    OutcomeStream,
    check_items,
    collect,
    run_bulk,
)
from ._cancels import ScheduledCancels
from ._sent_ids import SentIds, fingerprint, pack, unpack
from .models import (
    MAX_CLIENT_BATCH_ID,
    MAX_LINE_BATCH,
    LineMessageResult,
    LineNotification,
    LineNotificationBatch,
    LineNotificationBatchResult,
    MessageState,
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
                camelCase JSON shape (validated the same way).
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
        check_sub_account_id(sub_account_id)
        check_items(messages, "messages")
        chunk = Chunk(0, list(messages))
        check_count("messages", len(chunk), 1, MAX_LINE_BATCH)
        typed, _, _, _ = _prepare_fast(chunk) or _prepare(chunk)
        for error in chunk.errors:
            if error is not None:  # the first invalid message, as a single call raises
                raise error
        batch = LineNotificationBatch(
            messages=typed,
            client_batch_id=client_batch_id,
            include_messages_in_response=include_messages_in_response,
        )
        return await self.send_prepared_batch(sub_account_id, batch)

    async def send_prepared_batch(
        self,
        sub_account_id: str,
        batch: LineNotificationBatch,
        *,
        on_wire: Callable[[bool], None] | None = None,
    ) -> LineNotificationBatchResult:
        """Send an already validated batch whose messages all have a clientMessageId."""
        return await self._send_once(
            SEND_LINE_BATCH, sub_account_id, encode(batch), LineNotificationBatchResult,
            batch.messages, f"The LINE batch of {len(batch.messages)} messages", on_wire,
        )  # fmt: skip

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
        check_sub_account_id(sub_account_id)
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
            **options: ``concurrency``, ``on_progress``, ``stop_on_failure``,
                ``finish``, ``abort``, ``deadline``, ``before_send``: see
                ``aiomsg.BulkOptions``.

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
        """``send_line_notifications`` as an ``async with`` block yielding outcomes.

        Args:
            sub_account_id: The 8x8 sub-account that sends.
            messages: ``LineNotification`` objects or mappings in the API's camelCase
                shape: a list, any iterable or an async iterable.
            client_batch_id: Your own id, sent with every request.
            include_messages_in_response: Ask 8x8 to list every message in its
                answers, so each outcome carries the message's umid (``provider_id``)
                and a rejection its code.
            chunk_size: Messages per request, 1 to 1,000.
            **options: ``concurrency``, ``on_progress``, ``stop_on_failure``,
                ``finish``, ``abort``, ``deadline``, ``before_send``: see
                ``aiomsg.BulkOptions``.

        Returns:
            An async context manager giving an ``OutcomeStream``: outcomes in the
            order requests finish, each with its input ``index``; its ``report``
            keeps the totals. Leaving the block cancels the job.
        """
        check_sub_account_id(sub_account_id)
        check_count("chunk_size", chunk_size, 1, MAX_LINE_BATCH)
        if client_batch_id is not UNSET:
            check_text(
                "client_batch_id", require_str("client_batch_id", client_batch_id),
                MAX_CLIENT_BATCH_ID,
            )  # fmt: skip
        if type(include_messages_in_response) is not bool:
            raise ValidationError(
                "include_messages_in_response", f"is {include_messages_in_response!r}",
                "True or False",
            )  # fmt: skip

        # One per job: a clientMessageId is sent at most once across its requests.
        sent = SentIds(messages if type(messages) is list else None, chunk_size)

        async def process(chunk: Chunk[LineMessageInput]) -> None:
            await self._send_chunk(
                sub_account_id, chunk, client_batch_id, include_messages_in_response, sent
            )

        return run_bulk(messages, process, chunk_size=chunk_size, field="messages", **options)

    async def _send_chunk(
        self,
        sub_account_id: str,
        chunk: Chunk[LineMessageInput],
        client_batch_id: str | UnsetType,
        include: bool,
        sent: SentIds,
    ) -> None:
        typed, positions, repeats, conflicts = _prepare_fast(chunk) or _prepare(chunk)
        chunk.on_result = sent.finished
        later: list[tuple[int, int]] = []
        if typed:
            typed, positions, repeats, later = _admit(
                chunk, typed, positions, repeats, conflicts, sent
            )
        if not later:
            if typed:
                await self._send_typed(
                    sub_account_id, chunk, client_batch_id, include, typed, positions, repeats
                )
            return
        try:
            if typed:
                await self._send_typed(
                    sub_account_id, chunk, client_batch_id, include, typed, positions, repeats
                )
        except BaseException:
            _copy_known_outcomes(chunk, later, sent)
            raise
        await _take_firsts_outcomes(chunk, later, sent)

    async def _send_typed(
        self,
        sub_account_id: str,
        chunk: Chunk[LineMessageInput],
        client_batch_id: str | UnsetType,
        include: bool,
        typed: list[LineNotification],
        positions: Sequence[int],
        repeats: list[tuple[int, int]],
    ) -> None:
        chunk.mark_in_flight(
            positions if not repeats else [*positions, *(i for i, _ in repeats)], tracked=True
        )
        batch = LineNotificationBatch(
            messages=typed,
            client_batch_id=client_batch_id,
            include_messages_in_response=include,
        )
        try:
            result = await self._send_once(
                SEND_LINE_BATCH, sub_account_id, encode(batch), _SentBatch, typed,
                f"The LINE batch of {len(typed)} messages", chunk.on_wire, _AcceptedBatch,
            )  # fmt: skip
        except OutcomeUnknownError as exc:
            for i in chunk.in_flight:
                chunk.outcomes[i] = Outcome.UNKNOWN
                chunk.errors[i] = exc
        except APIError as exc:
            code = getattr(exc, "code", None)
            for i in chunk.in_flight:
                chunk.fail(i, exc, code)
        else:
            chunk.batches.append(BatchRange(result.batch_id, chunk.start, chunk.start + len(chunk)))
            _merge_line_result(chunk, result, typed, positions)
            for i, seen in repeats:
                j = positions[seen]
                chunk.outcomes[i] = chunk.outcomes[j]
                chunk.codes[i] = chunk.codes[j]
                chunk.errors[i] = chunk.errors[j]
                if chunk.provider_ids is not None:
                    chunk.provider_ids[i] = chunk.provider_ids[j]
                chunk.tally = None

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
        check_account_id(account_id)
        check_segment(channel_id, "channel_id")
        check_segment(flow_id, "flow_id")
        path = DELETE_FLOW.path(account_id=account_id, channel_id=channel_id, flow_id=flow_id)
        await self._requester.call(
            DELETE_FLOW, path, None, scope=("flows", account_id), limit=self._flows_rate_limit
        )


#: Messages to send, their chunk positions, repeats (chunk position, index into the
#: messages) and conflicts (the same, with the message, failed already).
Prepared = tuple[
    list[LineNotification],
    Sequence[int],
    list[tuple[int, int]],
    list[tuple[int, int, LineNotification]],
]


def _admit(
    chunk: Chunk[LineMessageInput],
    typed: list[LineNotification],
    positions: Sequence[int],
    repeats: list[tuple[int, int]],
    conflicts: list[tuple[int, int, LineNotification]],
    sent: SentIds,
) -> tuple[list[LineNotification], Sequence[int], list[tuple[int, int]], list[tuple[int, int]]]:
    """Keep only the messages whose clientMessageId this job has not sent yet.

    Returns what to send (messages, chunk positions, repeats within the request) and
    ``later``: (chunk position, input position of the first) for identical messages
    an earlier request carries; a different message reusing an id fails here.
    """
    ids = chunk.ids
    start = chunk.start
    fps = None if sent.source is not None else [fingerprint(m) for m in typed]
    cmids = ids if type(positions) is range else [ids[i] for i in positions]
    hits = sent.admit(cmids, positions, start, fps)  # type: ignore[arg-type]
    if not hits:
        return typed, positions, repeats, []
    # The rare path: an id seen before (or a 64-bit key shared by two ids).
    first_of: dict[int, int] = {}  # index into typed -> input position of its first
    found_for: dict[int, list[int]] = {}
    for k, key, values in hits:
        found_for[k] = values
        msg, i = typed[k], positions[k]
        first = _first_occurrence(
            msg, values, sent, None if fps is None else fps[k], range(start, start + len(chunk))
        )
        if first is None:  # a key collision, not a repeat: this one is new
            sent.add(key, pack(start + i, 0 if fps is None else fps[k]))
        elif first < 0:
            chunk.fail(i, _reused_id_error(start + i, -first - 1))
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
            chunk.fail(i, _reused_id_error(start + i, -first - 1))
    for i, k, msg in conflicts:
        # Another message than the request's first with its id: when that first is
        # not the job's first, this one may be the job's first message again.
        first = first_of.get(k)
        if first is None:
            continue  # the request's first is sent: this one stays failed
        position = first if first >= 0 else -first - 1
        fp = None if fps is None else fingerprint(msg)
        if _first_occurrence(msg, found_for[k], sent, fp, range(0)) == position:
            later.append((i, position))
    return [typed[k] for k in keep], [positions[k] for k in keep], kept_repeats, later


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


async def _take_firsts_outcomes(
    chunk: Chunk[LineMessageInput], later: list[tuple[int, int]], sent: SentIds
) -> None:
    """Repeats of messages an earlier request carries: never sent, they take their
    first's outcome, waiting for it when that request is still out."""
    chunk.tally = None
    outcomes, codes, errors = chunk.outcomes, chunk.codes, chunk.errors
    done = 0
    try:
        for i, first in later:
            outcomes[i], codes[i], errors[i] = await sent.outcome(first)
            done += 1
    except BaseException:
        _copy_known_outcomes(chunk, later[done:], sent)
        raise


def _copy_known_outcomes(
    chunk: Chunk[LineMessageInput], later: list[tuple[int, int]], sent: SentIds
) -> None:
    """The job stopped: repeats whose first's outcome is known take it; the others are
    ``unknown``, as their first may still have reached the person. None is sent."""
    chunk.tally = None
    outcomes, codes, errors = chunk.outcomes, chunk.codes, chunk.errors
    for i, first in later:
        known = sent.outcome_now(first)
        if known is not None:
            outcomes[i], codes[i], errors[i] = known
        else:
            outcomes[i] = Outcome.UNKNOWN
            errors[i] = BulkInterruptedError(
                "the job stopped before the outcome of this message's first occurrence "
                f"(messages[{first}]) was known; it was not sent again"
            )


_TYPED: Final = {LineNotification}


def _prepare_fast(chunk: Chunk[LineMessageInput]) -> Prepared | None:
    """The common case in one pass of C-level work: typed messages, each with its own
    clientMessageId. None when any message needs the careful path."""
    items = chunk.items
    if set(map(type, items)) != _TYPED:
        return None
    typed: list[LineNotification] = items  # type: ignore[assignment]
    ids = [m.client_message_id for m in typed]
    unique = set(ids)
    if len(unique) != len(ids) or UNSET in unique:
        return None
    chunk.ids = ids  # type: ignore[assignment]
    return typed, range(len(typed)), [], []


def _prepare(chunk: Chunk[LineMessageInput]) -> Prepared:
    """Validate, give ids, and drop repeats within the request, item by item."""
    typed: list[LineNotification] = []
    positions: list[int] = []  # chunk position of each message sent
    first_of: dict[str, int] = {}  # clientMessageId -> index into typed
    repeats: list[tuple[int, int]] = []  # (chunk position, index into typed)
    conflicts: list[tuple[int, int, LineNotification]] = []
    generated: dict[str, str] = {}
    for i, item in enumerate(chunk.items):
        try:
            msg = as_line_notification(item, f"messages[{chunk.start + i}]")
        except ValidationError as exc:
            chunk.ids[i] = item_id(item)
            chunk.fail(i, exc)
            continue
        if msg.client_message_id is UNSET:
            # Identical messages without an id are one message sent twice by
            # mistake: key them by content so they share one generated id.
            key = encode(msg).decode()
            cmid = generated.get(key) or str(uuid.uuid4())
            generated[key] = cmid
            msg = msgspec.structs.replace(msg, client_message_id=cmid)
        cmid = str(msg.client_message_id)
        chunk.ids[i] = cmid
        seen = first_of.get(cmid)
        if seen is None:
            first_of[cmid] = len(typed)
            typed.append(msg)
            positions.append(i)
        elif typed[seen] == msg:
            repeats.append((i, seen))  # the same message twice: sent once
        else:
            chunk.fail(i, _duplicate_id_error(chunk.start + i))
            conflicts.append((i, seen, msg))
    return typed, positions, repeats, conflicts


#: States in a send answer that mean 8x8 took the message; refusals are "rejected".
_AcceptedState = Literal["queued", "sent", "delivered", "undelivered", "read", "ok"]
_ACCEPTED_STATES: Final = frozenset(get_args(_AcceptedState))
_REJECTED_STATES: Final = frozenset(
    {MessageState.REJECTED, MessageState.FAILED, MessageState.ERROR}
)


def item_id(item: object) -> str | None:
    """The clientMessageId of a LINE message input, typed or mapping, if it has one."""
    if isinstance(item, Mapping):
        value = item.get("clientMessageId")
    else:
        value = getattr(item, "client_message_id", None)
    return value if isinstance(value, str) else None


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


class _SentStatus(msgspec.Struct, frozen=True, rename="camel", gc=False):
    state: str = MessageState.UNKNOWN
    error_code: int | None = None


class _SentMessage(msgspec.Struct, frozen=True, rename="camel", gc=False):
    umid: str
    status: _SentStatus = _SentStatus()
    client_message_id: str | None = None


class _SentBatch(msgspec.Struct, frozen=True, rename="camel"):
    """What a bulk send reads of an answer: ``LineNotificationBatchResult`` without
    the fields it does not report (fewer objects to build per message)."""

    batch_id: str
    accepted_count: int = 0
    rejected_count: int = 0
    messages: Sequence[_SentMessage] | None = None


class _AcceptedStatus(_SentStatus, frozen=True):
    state: _AcceptedState


class _AcceptedMessage(_SentMessage, frozen=True):
    status: _AcceptedStatus


class _AcceptedBatch(_SentBatch, frozen=True):
    """An answer in which every message was taken: the decoder checks each state
    (no state strings built, no pass over them); any other answer fails to decode as
    this and is read as ``_SentBatch``."""

    messages: Sequence[_AcceptedMessage] | None = None


def _merge_line_result(
    chunk: Chunk[LineMessageInput],
    result: _SentBatch,
    typed: list[LineNotification],
    positions: Sequence[int],
) -> None:
    """Per-message outcomes from a 200 answer to one batch request."""
    answers = result.messages
    if answers is not None and len(answers) == len(typed) == len(chunk):
        # The common case: every message answered, in the order sent.
        if type(result) is _AcceptedBatch and [a.client_message_id for a in answers] == chunk.ids:
            chunk.provider_ids = [a.umid for a in answers]
            chunk.settle(Outcome.ACCEPTED)
            return
    if result.messages is not None:
        chunk.provider_ids = [None] * len(chunk)
        by_id = {m.client_message_id: m for m in result.messages if m.client_message_id}
        for msg, i in zip(typed, positions, strict=True):
            answer = by_id.pop(str(msg.client_message_id), None)
            if answer is None:
                chunk.outcomes[i] = Outcome.UNKNOWN
                chunk.errors[i] = _MISSING_FROM_ANSWER
                continue
            chunk.provider_ids[i] = answer.umid
            state = answer.status.state
            if state in _ACCEPTED_STATES:
                chunk.outcomes[i] = Outcome.ACCEPTED
            elif state in _REJECTED_STATES:
                chunk.outcomes[i] = Outcome.REJECTED
                chunk.codes[i] = answer.status.error_code
            else:
                chunk.outcomes[i] = Outcome.UNKNOWN
                chunk.codes[i] = answer.status.error_code
        chunk.extra_items = len(by_id)
        return
    # Without per-message details only the counts are known: enough when they agree
    # that all were accepted, or all rejected.
    sent = len(typed)
    if result.accepted_count == sent and result.rejected_count == 0:
        outcome, error = Outcome.ACCEPTED, None
    elif result.rejected_count == sent and result.accepted_count == 0:
        outcome, error = Outcome.REJECTED, None
    else:
        outcome = Outcome.UNKNOWN
        error = AiomsgError(
            f"8x8 accepted {result.accepted_count} and rejected {result.rejected_count} "
            f"of {sent} messages; which ones is only known with "
            "include_messages_in_response=True"
        )
    for i in positions:
        chunk.outcomes[i] = outcome
        chunk.errors[i] = error


_MISSING_FROM_ANSWER: Final = MissingFromAnswerError("8x8's answer did not mention this message")
