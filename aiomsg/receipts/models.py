"""8x8 Chat Apps delivery receipt (DR) webhook bodies as msgspec Structs.

8x8 POSTs one JSON body per event to the account's webhook. Two formats are in use:
v9 carries ``"version": 9``; v8 carries no ``version`` at all. Both wrap the event in
the same envelope (``namespace``, ``eventType``, ``description``, ``payload``).
``outbound_message_status_changed`` events are delivery receipts and decode into a
typed ``DeliveryReceipt``; any other event type (``external_app_message`` and types
8x8 adds later) is recognised and handed on as a ``WebhookEvent`` with its payload
untouched. Unknown states, details and channels are kept as plain strings; unknown
fields are ignored by the typed model and kept in the stored body (``ReceiptRecord``).
"""

from __future__ import annotations

import datetime as _dt
import logging
from typing import Any, Final, TypeVar

import msgspec

from .._errors import redact_text
from ..eightxeight.models import MessageState, UserInfo, parse_timestamp

__all__ = [
    "SUPPORTED_VERSIONS",
    "DeliveryReceipt",
    "EventType",
    "ReceiptDecodeError",
    "ReceiptDetail",
    "ReceiptPayload",
    "ReceiptStatus",
    "WebhookEvent",
    "WhatsAppInfo",
    "decode_webhook",
    "state_rank",
]

logger: Final = logging.getLogger("aiomsg.receipts")

SUPPORTED_VERSIONS: Final = frozenset({8, 9})
"""Webhook formats this module understands: v8 (no ``version`` field) and v9."""
_V8: Final = 8


class EventType:
    """Known values of a webhook's ``eventType``; others are passed on as they come."""

    OUTBOUND_MESSAGE_STATUS_CHANGED: Final = "outbound_message_status_changed"
    EXTERNAL_APP_MESSAGE: Final = "external_app_message"


class ReceiptDetail:
    """Known values of ``ReceiptStatus.detail`` (8x8's message status reference)."""

    DELIVERED_TO_OPERATOR: Final = "delivered_to_operator"
    DELIVERED_TO_RECIPIENT: Final = "delivered_to_recipient"
    REJECTED_BY_OPERATOR: Final = "rejected_by_operator"
    UNDELIVERED_TO_RECIPIENT: Final = "undelivered_to_recipient"


# How far along its life a message is, so that receipts arriving out of order (8x8
# retries a failed delivery 1, 10, 30 and 90 s later) still give the right latest state
# when their timestamps tie. Unknown states rank lowest.
_RANKS: Final = {
    MessageState.QUEUED: 1,
    MessageState.SENT: 2,
    MessageState.REJECTED: 3,
    MessageState.DELIVERED: 3,
    MessageState.UNDELIVERED: 3,
    MessageState.READ: 4,
}


def state_rank(state: str) -> int:
    """Order of ``state`` in a message's life: queued < sent < final < read; 0 if unknown."""
    return _RANKS.get(state, 0)


class _Body(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """Base of webhook bodies: unknown fields are ignored (the stored body keeps them)."""


class ReceiptStatus(_Body, frozen=True, gc=False):
    """Where the message stands; ``state`` is one of ``MessageState`` or a newer value.

    ``error_code`` is documented as an integer; a code sent as a string is kept as
    it came rather than refusing (and so losing) the receipt.
    """

    state: str
    detail: str | None = None
    timestamp: str | None = None
    error_code: int | str | None = None
    error_message: str | None = None

    @property
    def observed_at(self) -> _dt.datetime | None:
        """``timestamp`` as an aware ``datetime`` (UTC when it names no zone, as 8x8's
        are documented to be UTC); None when absent or unreadable."""
        if self.timestamp is None:
            return None
        try:
            observed = parse_timestamp(self.timestamp)
        except msgspec.ValidationError:
            return None
        return (
            observed if observed.tzinfo is not None else observed.replace(tzinfo=_dt.timezone.utc)
        )


class WhatsAppInfo(_Body, frozen=True, gc=False):
    """The ``whatsapp`` object of a WhatsApp receipt: the provider's error code and the
    pricing category, as 8x8 sends them."""

    provider_error_code: str | None = None
    pricing_category: str | None = None


class ReceiptPayload(_Body, frozen=True):
    """The ``payload`` of a delivery receipt. ``umid`` is 8x8's id for the message;
    ``client_message_id`` the id we sent with it (absent if none was sent)."""

    umid: str
    status: ReceiptStatus
    batch_id: str | None = None
    client_message_id: str | None = None
    client_batch_id: str | None = None
    sub_account_id: str | None = None
    channel: str | None = None
    user: UserInfo | None = None
    whatsapp: WhatsAppInfo | None = None


class DeliveryReceipt(_Body, frozen=True):
    """An ``outbound_message_status_changed`` webhook body (v8 or v9)."""

    payload: ReceiptPayload
    version: int = _V8
    namespace: str | None = None
    event_type: str = EventType.OUTBOUND_MESSAGE_STATUS_CHANGED
    description: str | None = None

    @property
    def key(self) -> str:
        """This receipt's identity: 8x8's retries of one delivery share it.

        A message gets one receipt per status change, so the status (state, detail
        and timestamp) together with the ``umid`` (a UUID: compared in lower case)
        tells receipts apart.
        """
        p = self.payload
        s = p.status
        return "\x1f".join((p.umid.lower(), s.state, s.detail or "", s.timestamp or ""))


class WebhookEvent(msgspec.Struct, kw_only=True, frozen=True):
    """A webhook event that is not a delivery receipt, payload untyped."""

    event_type: str
    version: int = _V8
    namespace: str | None = None
    description: str | None = None
    payload: Any = None

    def __repr__(self) -> str:  # the payload may hold phone numbers and message text
        return f"WebhookEvent(event_type={self.event_type!r}, version={self.version})"


class ReceiptDecodeError(ValueError):
    """A webhook body that cannot be read. ``status`` is the HTTP status to answer:
    400 (not JSON, or not the documented shape) or 422 (a version we do not know)."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


class _Envelope(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    event_type: str
    version: int = _V8
    namespace: str | None = None
    description: str | None = None
    payload: msgspec.Raw = msgspec.Raw(b"null")


_T = TypeVar("_T")
_ENVELOPE: Final = msgspec.json.Decoder(_Envelope)
_PAYLOAD: Final = msgspec.json.Decoder(ReceiptPayload)


class _ReceiptCore(_Body, frozen=True):
    """What a receipt must have to prove anything: the fields reconcile reads."""

    umid: str
    status: ReceiptStatus
    batch_id: str | None = None
    client_message_id: str | None = None
    client_batch_id: str | None = None
    sub_account_id: str | None = None
    channel: str | None = None


_CORE: Final = msgspec.json.Decoder(_ReceiptCore)
#: Payload fields a receipt can do without: when one of them is malformed the receipt
#: is still taken (it proves 8x8 took the message) with the field left out; the
#: stored body keeps it as sent.
_OPTIONAL: Final = ("user", "whatsapp")
_ANY: Final = msgspec.json.Decoder()


def decode_webhook(body: bytes) -> DeliveryReceipt | WebhookEvent:
    """Decode one webhook body; raise ``ReceiptDecodeError`` saying what is wrong.

    The envelope is read first, so a body in an unknown version is refused as such
    (422) before its payload is judged, and events other than delivery receipts are
    passed on whatever their payload holds.
    """
    env = _decode(_ENVELOPE, body, "the body is not a webhook envelope")
    if env.version not in SUPPORTED_VERSIONS:
        raise ReceiptDecodeError(
            f"webhook format version {env.version} is not supported "
            f"(supported: {', '.join(map(str, sorted(SUPPORTED_VERSIONS)))})",
            status=422,
        )
    if env.event_type != EventType.OUTBOUND_MESSAGE_STATUS_CHANGED:
        return WebhookEvent(
            event_type=env.event_type,
            version=env.version,
            namespace=env.namespace,
            description=env.description,
            payload=_decode(_ANY, env.payload, "the payload"),
        )
    return DeliveryReceipt(
        payload=_receipt_payload(env.payload),
        version=env.version,
        namespace=env.namespace,
        event_type=env.event_type,
        description=env.description,
    )


def _receipt_payload(raw: msgspec.Raw) -> ReceiptPayload:
    try:
        return _PAYLOAD.decode(raw)
    except msgspec.DecodeError as exc:
        # Not only ValidationError: the envelope skipped over the payload without
        # checking its strings, so invalid UTF-8 is found only now.
        problem = redact_text(str(exc))
        if not isinstance(exc, msgspec.ValidationError) or not any(
            f"`$.{name}" in problem for name in _OPTIONAL
        ):
            raise ReceiptDecodeError(f"the delivery receipt payload: {problem}") from None
    except RecursionError:
        raise ReceiptDecodeError("the delivery receipt payload: JSON nested too deeply") from None
    # Only an optional field is wrong: take what proves the receipt, without it.
    core = _decode(_CORE, raw, "the delivery receipt payload")
    logger.warning(
        "delivery receipt for umid %s taken without a malformed field: %s", core.umid, problem
    )
    return ReceiptPayload(**msgspec.structs.asdict(core))


def _decode(decoder: msgspec.json.Decoder[_T], data: bytes | msgspec.Raw, what: str) -> _T:
    try:
        return decoder.decode(data)
    except msgspec.DecodeError as exc:
        # msgspec names the type and the path, never the value; mask anyway in case
        # a future version quotes it.
        raise ReceiptDecodeError(f"{what}: {redact_text(str(exc))}") from None
    except RecursionError:
        # msgspec recurses into nested arrays and objects, also the ones it skips.
        raise ReceiptDecodeError(f"{what}: JSON nested too deeply") from None
