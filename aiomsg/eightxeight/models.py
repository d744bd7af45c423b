"""8x8 request and response bodies as msgspec Structs.

Requests validate themselves when built (or converted from a camelCase mapping), so
an invalid message never exists long enough to be sent. Optional request fields
default to ``UNSET`` and stay off the wire. Responses ignore unknown fields, keep
unknown ``state`` values as plain strings and keep ids and timestamps as ``str``:
decoding every uuid into ``uuid.UUID`` would more than double the cost of a bulk
answer and make every result tracked by the garbage collector.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Final, Literal, get_args

import msgspec
from msgspec import UNSET, UnsetType

from .._errors import ValidationError, redact_text
from .._validation import (
    check_channel_user_id,
    check_count,
    check_country,
    check_flag,
    check_msisdn,
    check_one_of,
    check_text,
    check_url,
    describe,
    require_str,
    unencodable,
)

__all__ = [
    "ENCODINGS",
    "ICONS",
    "MAX_LINE_BATCH",
    "CancelResult",
    "LineAction",
    "LineContent",
    "LineEmphasis",
    "LineListItem",
    "LineMessageResult",
    "LineNotification",
    "LineNotificationBatch",
    "LineNotificationBatchResult",
    "LineUser",
    "MessageState",
    "MessageStatus",
    "SmsFallback",
    "UserInfo",
    "as_line_notification",
    "parse_timestamp",
]

#: 8x8 accepts at most 1,000 LINE Notification messages per batch request (the API
#: page's prose; the schema's ``maxItems: 10000`` is not what the service enforces).
MAX_LINE_BATCH: Final = 1000
MAX_CLIENT_BATCH_ID: Final = 100
MAX_CLIENT_MESSAGE_ID: Final = 50
MAX_SMS_SOURCE: Final = 16

Icon = Literal[
    "userPlus", "chatEllipsis", "phone", "note", "gear", "bell", "checkCircle",
    "slashCircle", "search", "link", "wallet", "store", "mapMarker", "idCard",
    "utensils", "medicalKit", "train", "planeDeparture", "questionCircle", "infoCircle",
    "boxCheck", "calendarCheck", "calendar", "file", "envelope", "usdCircle", "thbCircle",
    "usdCircleSend", "thbCircleSend", "invoice", "couponStar", "coupon", "creditCard",
    "starCard", "shoppingBag", "megaphone", "shieldCheck", "history",
]  # fmt: skip
ICONS: Final[frozenset[str]] = frozenset(get_args(Icon))

Encoding = Literal["AUTO", "GSM7", "UCS2"]
ENCODINGS: Final[frozenset[str]] = frozenset(get_args(Encoding))


class _Request(
    msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="camel",
    forbid_unknown_fields=True,
):  # fmt: skip
    """Base of request bodies: camelCase on the wire, unset fields omitted."""


def _text(
    obj: msgspec.Struct, attr: str, field: str, value: str | UnsetType,
    max_length: int | None = None,
) -> None:  # fmt: skip
    """Check the text field ``attr`` (``field`` on the wire) of ``obj``, whose value is
    ``value``. Runs for every field of every message: cheap unless a check can fail."""
    if value is UNSET:
        return
    if type(value) is not str:
        value = _plain(obj, attr, field, value)
    if not value.isascii() or (max_length is not None and len(value) > max_length):
        check_text(field, value, max_length)


def _plain(obj: msgspec.Struct, attr: str, field: str, value: object) -> str:
    """A str subclass (an enum member, ``markupsafe.Markup``) is kept as its plain
    value: its own ``__str__``, ``__len__``, ``__hash__`` or ``encode`` could make the
    client check, compare or report something else than what is sent."""
    plain = require_str(field, value)
    msgspec.structs.force_setattr(obj, attr, plain)
    return plain


def _choice(obj: msgspec.Struct, attr: str, field: str, value: object,
            allowed: frozenset[str]) -> None:  # fmt: skip
    if value is UNSET:
        return
    if type(value) is not str:
        value = _plain(obj, attr, field, value)
    check_one_of(value, allowed, field)


# Building a Struct by hand does not type-check its fields: without these checks a dict
# given where a Struct belongs would skip its validation and still be sent.
def _nested(field: str, value: object, tp: type[msgspec.Struct]) -> None:
    if value is not UNSET and not isinstance(value, tp):
        raise ValidationError(field, f"got {describe(value)}", f"a {tp.__name__}")


def _nested_list(field: str, value: object, tp: type[msgspec.Struct]) -> None:
    if value is UNSET:
        return
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, tp):
                break
        else:
            return
    raise ValidationError(field, f"got {describe(value)}", f"a list of {tp.__name__}")


class LineUser(_Request, frozen=True):
    """The recipient: an E.164 ``msisdn`` (or national digits with ``country``)."""

    msisdn: str | UnsetType = UNSET
    country: str | UnsetType = UNSET
    channel_user_id: str | UnsetType = UNSET

    def __post_init__(self) -> None:
        if self.msisdn is UNSET and self.channel_user_id is UNSET:
            raise ValidationError(
                "user", "has neither msisdn nor channelUserId", "a recipient is required"
            )
        if self.country is not UNSET:
            check_country(_plain(self, "country", "user.country", self.country))
        if self.msisdn is not UNSET:
            msisdn = _plain(self, "msisdn", "user.msisdn", self.msisdn)
            check_msisdn(msisdn, self.country is not UNSET)
        if self.channel_user_id is not UNSET:
            check_channel_user_id(
                _plain(self, "channel_user_id", "user.channelUserId", self.channel_user_id)
            )

    def __repr__(self) -> str:  # phone numbers are personal data: last four digits only
        return _user_repr("LineUser", self.msisdn, self.country, self.channel_user_id)

    def __rich_repr__(self) -> list[tuple[str, str]]:  # msgspec's own shows every field
        return _user_fields(self.msisdn, self.country, self.channel_user_id)


class LineEmphasis(_Request, frozen=True):
    """A highlighted line of a LINE Notification: a ``label`` and its ``content``.

    Example: ``LineEmphasis(label="Total", content="SGD 42.00")``.
    """

    label: str | UnsetType = UNSET
    content: str | UnsetType = UNSET

    def __post_init__(self) -> None:
        _text(self, "label", "content.emphasis.label", self.label)
        _text(self, "content", "content.emphasis.content", self.content)


class LineListItem(_Request, frozen=True):
    """One row of a LINE Notification's list (``LineContent.items``, ``list`` on the wire).

    Example: ``LineListItem(label="Date", content="3 December")``.
    """

    label: str | UnsetType = UNSET
    content: str | UnsetType = UNSET

    def __post_init__(self) -> None:
        _text(self, "label", "content.list[].label", self.label)
        _text(self, "content", "content.list[].content", self.content)


class LineAction(_Request, frozen=True):
    """A button. ``content`` is accepted as another name for ``url`` (8x8's own
    example uses it) but ``url``, as the API page documents, is what is sent."""

    title: str | UnsetType = UNSET
    url: str | UnsetType = UNSET
    content: str | UnsetType = UNSET

    def __post_init__(self) -> None:
        if self.content is not UNSET:
            if self.url is UNSET:
                msgspec.structs.force_setattr(self, "url", self.content)
            msgspec.structs.force_setattr(self, "content", UNSET)
        _text(self, "title", "content.actions[].title", self.title)
        _text(self, "url", "content.actions[].url", self.url)


class LineContent(_Request, frozen=True):
    """What the LINE Notification shows."""

    title: str | UnsetType = UNSET
    company: str | UnsetType = UNSET
    icon: Icon | UnsetType = UNSET
    emphasis: LineEmphasis | UnsetType = UNSET
    items: list[LineListItem] | UnsetType = msgspec.field(default=UNSET, name="list")
    greeting: str | UnsetType = UNSET
    explanation: str | UnsetType = UNSET
    actions: list[LineAction] | UnsetType = UNSET

    def __post_init__(self) -> None:
        _text(self, "title", "content.title", self.title)
        _text(self, "company", "content.company", self.company)
        _text(self, "greeting", "content.greeting", self.greeting)
        _text(self, "explanation", "content.explanation", self.explanation)
        _nested("content.emphasis", self.emphasis, LineEmphasis)
        _nested_list("content.list", self.items, LineListItem)
        _nested_list("content.actions", self.actions, LineAction)
        _choice(self, "icon", "content.icon", self.icon, ICONS)


class SmsFallback(_Request, frozen=True):
    """SMS sent instead when the LINE message cannot be delivered."""

    text: str | UnsetType = UNSET
    source: str | UnsetType = UNSET
    encoding: Encoding | UnsetType = UNSET

    def __post_init__(self) -> None:
        _text(self, "text", "smsFallback.text", self.text)
        _text(self, "source", "smsFallback.source", self.source, MAX_SMS_SOURCE)
        _choice(self, "encoding", "smsFallback.encoding", self.encoding, ENCODINGS)


class LineNotification(_Request, frozen=True):
    """One LINE Notification message (an item of a batch, or a single send)."""

    user: LineUser
    content: LineContent
    client_message_id: str | UnsetType = UNSET
    dlr_callback_url: str | UnsetType = UNSET
    sms_fallback: SmsFallback | UnsetType = UNSET

    def __post_init__(self) -> None:
        _nested("user", self.user, LineUser)
        _nested("content", self.content, LineContent)
        _nested("smsFallback", self.sms_fallback, SmsFallback)
        _text(self, "client_message_id", "clientMessageId", self.client_message_id,
              MAX_CLIENT_MESSAGE_ID)  # fmt: skip
        if self.dlr_callback_url is not UNSET:
            url = _plain(self, "dlr_callback_url", "dlrCallbackUrl", self.dlr_callback_url)
            check_url(url, "dlrCallbackUrl")


class LineNotificationBatch(_Request, frozen=True):
    """Body of ``POST .../lon/batch``."""

    messages: list[LineNotification]
    client_batch_id: str | UnsetType = UNSET
    include_messages_in_response: bool | UnsetType = UNSET

    def __post_init__(self) -> None:
        if type(self.messages) is not list:
            raise ValidationError(
                "messages", f"got {describe(self.messages)}", "a list of LineNotification"
            )
        check_count("messages", len(self.messages), 1, MAX_LINE_BATCH)
        _text(self, "client_batch_id", "clientBatchId", self.client_batch_id, MAX_CLIENT_BATCH_ID)
        flag = self.include_messages_in_response
        if flag is not UNSET:
            check_flag("includeMessagesInResponse", flag)


# ---------------------------------------------------------------------------- results


class MessageState:
    """Known values of ``MessageStatus.state``; others arrive and are kept as they are."""

    UNKNOWN: Final = "unknown"
    QUEUED: Final = "queued"
    REJECTED: Final = "rejected"
    FAILED: Final = "failed"
    SENT: Final = "sent"
    DELIVERED: Final = "delivered"
    UNDELIVERED: Final = "undelivered"
    READ: Final = "read"
    OK: Final = "ok"
    ERROR: Final = "error"


class _Response(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """Base of response bodies: unknown fields are ignored."""


_TS_DECODER: Final = msgspec.json.Decoder(_dt.datetime)


def parse_timestamp(value: str) -> _dt.datetime:
    """An 8x8 timestamp (``.20Z``, or 7 fractional digits rounded) as ``datetime``."""
    return _TS_DECODER.decode(msgspec.json.encode(value))


class MessageStatus(_Response, frozen=True, gc=False):
    """Where a message stands; ``state`` is one of ``MessageState`` or a newer value."""

    state: str = MessageState.UNKNOWN
    detail: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    timestamp: str | None = None

    @property
    def observed_at(self) -> _dt.datetime | None:
        """``timestamp`` parsed into an aware ``datetime`` (None when absent)."""
        return None if self.timestamp is None else parse_timestamp(self.timestamp)


class UserInfo(_Response, frozen=True, gc=False):
    """The recipient as 8x8 echoes it in a LINE answer; its repr masks the number."""

    msisdn: str | None = None
    country: str | None = None
    channel_user_id: str | None = None

    def __repr__(self) -> str:
        return _user_repr("UserInfo", self.msisdn, self.country, self.channel_user_id)

    def __rich_repr__(self) -> list[tuple[str, str]]:
        return _user_fields(self.msisdn, self.country, self.channel_user_id)


class LineMessageResult(_Response, frozen=True, gc=False):
    """One message of a LINE send answer: its 8x8 ``umid`` and status."""

    umid: str
    status: MessageStatus = MessageStatus()
    user: UserInfo | None = None
    client_message_id: str | None = None


class LineNotificationBatchResult(_Response, frozen=True):
    """Answer to a LINE batch: ``messages`` only when ``include_messages_in_response``."""

    batch_id: str
    accepted_count: Annotated[int, msgspec.Meta(ge=0)] = 0
    rejected_count: Annotated[int, msgspec.Meta(ge=0)] = 0
    client_batch_id: str | None = None
    messages: list[LineMessageResult] | None = None


#: The largest ``cancelledCount`` taken as an answer: 8x8's integers are 32-bit.
MAX_CANCELLED_COUNT: Final = 2**31 - 1


class CancelResult(_Response, frozen=True, gc=False):
    """Answer to a cancel: 0 means nothing was left to cancel (sent or cancelled).

    A negative count, or one beyond 8x8's 32-bit integers (no batch holds that
    many messages), cannot be right: it fails to decode, which makes the call raise
    ``APIResponseError`` (in a bulk call, that item is ``failed`` with it)."""

    cancelled_count: Annotated[int, msgspec.Meta(ge=0, le=MAX_CANCELLED_COUNT)]


def _mask(msisdn: str) -> str:
    return "***" + msisdn[-4:] if len(msisdn) > 4 else "***"


def _user_fields(msisdn: object, country: object, channel_user_id: object) -> list[tuple[str, str]]:
    parts = []
    if isinstance(msisdn, str):
        parts.append(("msisdn", _mask(msisdn)))
    if isinstance(country, str):
        parts.append(("country", country))
    if isinstance(channel_user_id, str):
        parts.append(("channel_user_id", "***"))
    return parts


def _user_repr(cls_name: str, msisdn: object, country: object, channel_user_id: object) -> str:
    fields = _user_fields(msisdn, country, channel_user_id)
    return f"{cls_name}({', '.join(f'{name}={value!r}' for name, value in fields)})"


_ERROR_PATH_RE: Final = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
# msgspec checks the Literal enums before ``__post_init__`` runs; state their rule too.
_SCHEMA_RULES: Final = {
    ".content.icon": f"one of {', '.join(sorted(ICONS))}",
    ".smsFallback.encoding": f"one of {', '.join(sorted(ENCODINGS))}",
}


def as_line_notification(obj: object, field: str = "message") -> LineNotification:
    """A ``LineNotification`` from itself or from a camelCase mapping (as in JSONL).

    Both forms pass the same checks; the error names the field inside ``field``.
    """
    if type(obj) is LineNotification:
        return obj
    if isinstance(obj, Mapping):
        try:
            return msgspec.convert(obj, LineNotification)
        except UnicodeEncodeError:  # msgspec encodes a key or choice to look it up
            raise unencodable(field + _unencodable_path(obj)) from None
        except msgspec.ValidationError as exc:
            inner = exc.__cause__ or exc.__context__
            if isinstance(inner, ValidationError):
                return _raise(inner.with_prefix(field))
            match = _ERROR_PATH_RE.match(str(exc))
            problem, path = (match["problem"], match["path"] or "") if match else (str(exc), "")
            problem = redact_text(problem)  # msgspec quotes the bad value
            rule = _SCHEMA_RULES.get(path, "the LINE Notification message schema")
            raise ValidationError(f"{field}{path}", problem, rule) from None
    if isinstance(obj, LineNotification):
        return obj
    raise ValidationError(
        field,
        f"got a value of type {type(obj).__name__}",
        "a LineNotification or a mapping in the API's camelCase shape",
    )


def _unencodable_path(obj: object, depth: int = 0) -> str:
    """Where in a mapping message the first text that cannot be encoded is (a lone
    surrogate): ``.content.icon``, ``.content.list[1].label``; "" if not found."""
    if depth > 8:  # deeper than any message field
        return ""
    pairs = (
        obj.items() if isinstance(obj, Mapping) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for key, value in pairs:
        here = f"[{key}]" if type(key) is int else f".{key}"
        if isinstance(key, str) and not _encodable(key):
            return f".{key.encode('utf-8', 'backslashreplace').decode('ascii')}"
        if isinstance(value, str):
            if not _encodable(value):
                return here
        elif isinstance(value, Mapping | list):
            inner = _unencodable_path(value, depth + 1)
            if inner:
                return here + inner
    return ""


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _raise(exc: ValidationError) -> LineNotification:
    raise exc from None


# What a bulk send reads of an answer (private: the bulk report is what users see).

#: States in a send answer that mean 8x8 took the message; refusals are "rejected".
_AcceptedState = Literal["queued", "sent", "delivered", "undelivered", "read", "ok"]
_ACCEPTED_STATES: Final = frozenset(get_args(_AcceptedState))


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
