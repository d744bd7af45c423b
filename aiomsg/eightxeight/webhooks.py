"""8x8 webhook registration and message lookup: the endpoints that close the
delivery-receipt loop (``client.chatapps.set_webhooks``, ``get_webhooks``,
``delete_webhooks``, ``get_message``).

A webhook's ``httpAuthorization`` (and an OAuth ``clientSecret``) is a credential of
the receiving side: it never appears in a repr, and 8x8's error answers are masked
of it like the client's own API key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, TypeVar

import msgspec
from msgspec import UNSET, UnsetType
from yarl import URL

from .._core import Requester
from .._errors import ValidationError, redact_text
from .._limits import RateLimit
from .._transport import _LOOPBACK_HOSTS
from .._validation import (
    check_account_id,
    check_count,
    check_one_of,
    check_sub_account_id,
    check_text,
    check_url,
    check_uuid,
    describe,
    read_list,
    require_str,
)
from .models import MessageStatus, UserInfo
from .routes import (
    CHATAPPS_DELETE_WEBHOOKS,
    CHATAPPS_GET_MESSAGE,
    CHATAPPS_GET_WEBHOOKS,
    CHATAPPS_SET_WEBHOOKS,
)

__all__ = [
    "DEFAULT_MESSAGE_LOOKUP_RATE_LIMIT",
    "WEBHOOK_TYPES",
    "MessageDetails",
    "MessageRecord",
    "ReceiptEndpoints",
    "RegisteredWebhook",
    "Webhook",
    "WebhookOAuth",
    "WebhookTarget",
    "WebhookType",
]

#: 8x8 documents 1 request per second per sub-account for message lookups.
DEFAULT_MESSAGE_LOOKUP_RATE_LIMIT: Final = RateLimit(rate=1.0, burst=1, concurrency=1)
#: Webhooks one registration request may hold (8x8 documents no cap; this keeps a
#: request body bounded).
MAX_WEBHOOKS: Final = 100
URL_RULE: Final = "an absolute https:// URL (http:// only to a loopback address)"
SUB_ACCOUNT_SCOPE_RULE: Final = "a sub-account id, or * for every sub-account"

T = TypeVar("T")


class WebhookType:
    """The webhook types 8x8 lists; answers may carry newer ones, kept as they are."""

    CADR: Final = "CADR"
    """Chat Apps delivery receipts."""
    MSG: Final = "MSG"
    """Inbound messages."""
    CABM: Final = "CABM"
    """Messaging Apps business management updates."""


WEBHOOK_TYPES: Final = frozenset({WebhookType.CADR, WebhookType.MSG, WebhookType.CABM})
"""The ``type`` values a registration or deletion may name."""


def check_webhook_url(value: object, field: str = "url") -> str:
    """An absolute https URL; http only toward a loopback host (a local receiver)."""
    value = require_str(field, value)
    check_text(field, value, 2048)
    check_url(value, field)  # the shape of any URL aiomsg sends: no spaces, a host
    try:
        url = URL(value)
    except (TypeError, ValueError):
        url = None
    if url is None or not url.is_absolute() or not url.host or url.user or url.password:
        raise ValidationError(field, f"got {describe(redact_text(value))}", URL_RULE)
    if url.scheme != "https" and not (url.scheme == "http" and url.host in _LOOPBACK_HOSTS):
        raise ValidationError(field, f"uses {url.scheme}:// toward {url.host}", URL_RULE)
    return value


def _check_scope(value: object, field: str) -> None:
    if value != "*":
        try:
            check_sub_account_id(value, field)
        except ValidationError as exc:
            raise ValidationError(field, exc.problem, SUB_ACCOUNT_SCOPE_RULE) from None


def _check_secret(value: str | UnsetType, field: str) -> None:
    if value is not UNSET:
        # Never echo a credential: say only what is wrong.
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(field, "is empty or not text", "a non-empty string")
        try:
            value.encode("latin-1")  # it travels as an HTTP header value
        except UnicodeEncodeError:
            raise ValidationError(
                field, "has characters a header cannot carry", "latin-1 text"
            ) from None
        if "\r" in value or "\n" in value:
            raise ValidationError(field, "has a line break", "one line of text")


class _Model(msgspec.Struct, kw_only=True, frozen=True, rename="camel", omit_defaults=True):
    pass


class WebhookOAuth(_Model, frozen=True):
    """OAuth 2.0 client credentials 8x8 uses to get a token for each webhook call.

    ``credentials_location`` is ``"header"`` (HTTP Basic) or ``"body"`` (form body).
    The repr masks ``client_secret``.
    """

    url: str
    client_id: str
    client_secret: str
    credentials_location: str
    scope: str | UnsetType = UNSET

    def __post_init__(self) -> None:
        check_webhook_url(self.url, "oauth.url")
        check_text("oauth.clientId", require_str("oauth.clientId", self.client_id))
        _check_secret(self.client_secret, "oauth.clientSecret")
        check_one_of(
            self.credentials_location, frozenset({"header", "body"}), "oauth.credentialsLocation"
        )
        if self.scope is not UNSET:
            check_text("oauth.scope", require_str("oauth.scope", self.scope))

    def __repr__(self) -> str:
        return (
            f"WebhookOAuth(url={self.url!r}, client_id={self.client_id!r}, client_secret='***', "
            f"credentials_location={self.credentials_location!r})"
        )

    def __rich_repr__(self) -> list[tuple[str, str]]:
        return [("url", self.url), ("client_id", self.client_id), ("client_secret", "***")]


class Webhook(_Model, frozen=True):
    """One webhook to register: where 8x8 POSTs events of a ``type`` for a sub-account.

    ``sub_account_id`` is a sub-account or ``"*"`` (all of them); ``type`` one of
    ``WebhookType`` (unset: 8x8 registers both CADR and MSG); ``http_authorization``
    the ``Authorization`` header value 8x8 sends with each call (for example
    ``"Bearer <token>"``): the repr masks it. ``url`` must be https, except toward a
    loopback address.
    """

    sub_account_id: str
    url: str
    type: str | UnsetType = UNSET
    http_authorization: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    oauth: WebhookOAuth | UnsetType = UNSET

    def __post_init__(self) -> None:
        _check_scope(self.sub_account_id, "subAccountId")
        check_webhook_url(self.url)
        if self.type is not UNSET:
            check_one_of(self.type, WEBHOOK_TYPES, "type")
        _check_secret(self.http_authorization, "httpAuthorization")
        if self.enabled is not UNSET and type(self.enabled) is not bool:
            raise ValidationError("enabled", f"got {describe(self.enabled)}", "true or false")

    def secrets(self) -> tuple[str, ...]:
        """The credentials this webhook holds, to mask wherever they could show."""
        return _secrets(self.http_authorization, self.oauth)

    def __repr__(self) -> str:
        auth = "" if self.http_authorization is UNSET else ", http_authorization='***'"
        return (
            f"Webhook(sub_account_id={self.sub_account_id!r}, url={self.url!r}, "
            f"type={self.type!r}{auth})"
        )

    def __rich_repr__(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = [("sub_account_id", self.sub_account_id), ("url", self.url)]
        if self.type is not UNSET:
            out.append(("type", self.type))
        if self.http_authorization is not UNSET:
            out.append(("http_authorization", "***"))
        return out


class WebhookTarget(_Model, frozen=True):
    """Which webhook to delete: its ``sub_account_id`` (``"*"`` names the webhook set
    for every sub-account; it is not a wildcard) and ``type`` (unset: CADR and MSG)."""

    sub_account_id: str
    type: str | UnsetType = UNSET

    def __post_init__(self) -> None:
        _check_scope(self.sub_account_id, "subAccountId")
        if self.type is not UNSET:
            check_one_of(self.type, WEBHOOK_TYPES, "type")


class _Answer(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    pass


class RegisteredWebhook(_Answer, frozen=True):
    """A webhook as 8x8 lists it (``get_webhooks``); 8x8 masks its secrets as ``***``,
    and the repr masks them whatever the answer held. Unknown fields are ignored and
    unknown ``type`` values kept."""

    sub_account_id: str
    url: str
    type: str | None = None
    enabled: bool = True
    http_authorization: str | None = None

    def __repr__(self) -> str:
        auth = "" if self.http_authorization is None else ", http_authorization='***'"
        return (
            f"RegisteredWebhook(sub_account_id={self.sub_account_id!r}, url={self.url!r}, "
            f"type={self.type!r}, enabled={self.enabled!r}{auth})"
        )


class MessageRecord(_Answer, frozen=True):
    """One channel attempt of a message (``get_message``): its status, channel, step.

    With channel fallback, one umid has a record per channel tried (``step`` 1, 2...).
    """

    umid: str
    status: MessageStatus
    sub_account_id: str | None = None
    channel: str | None = None
    channel_id: str | None = None
    direction: str | None = None
    country: str | None = None
    user: UserInfo | None = None
    content_type: str | None = None
    created_at: str | None = None
    client_message_id: str | None = None
    client_batch_id: str | None = None
    batch_id: str | None = None
    step: int | None = None


class MessageDetails(_Answer, frozen=True):
    """Answer to ``get_message``: a record per channel attempted, in ``data``."""

    data: list[MessageRecord]

    @property
    def latest(self) -> MessageRecord | None:
        """The record of the last channel attempted (highest ``step``), or None."""
        return max(self.data, key=lambda r: r.step or 0, default=None)


def _secrets(auth: str | UnsetType, oauth: WebhookOAuth | UnsetType) -> tuple[str, ...]:
    out: list[str] = []
    if isinstance(auth, str):
        out.append(auth)
        token = auth.partition(" ")[2]
        if token.strip():
            out.append(token.strip())
    if isinstance(oauth, WebhookOAuth):
        out.append(oauth.client_secret)
    return tuple(out)


def _as(tp: type[T], obj: object, field: str) -> T:
    if isinstance(obj, tp):
        return obj
    if isinstance(obj, Mapping):
        try:
            return msgspec.convert(obj, tp)
        except msgspec.ValidationError as exc:
            inner = exc.__cause__ or exc.__context__
            if isinstance(inner, ValidationError):
                raise inner.with_prefix(field) from None
            # msgspec says "Expected `bool`, got `str` - at `$.enabled`": types and
            # where, never the value (which could be a credential).
            problem, _, at = str(exc).partition(" - at `$")
            where = at.rstrip("`")
            got = problem if problem.startswith("Expected `") else "does not fit the schema"
            raise ValidationError(f"{field}{where}", got, f"the {tp.__name__} shape") from None
    raise ValidationError(
        field, f"got a value of type {type(obj).__name__}", f"a {tp.__name__} or a mapping"
    )


def _items(values: Iterable[object], field: str) -> list[object]:
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ValidationError(field, f"got {describe(values)}", "a list")
    items = read_list(field, values)
    check_count(field, len(items), 1, MAX_WEBHOOKS)
    return items


class ReceiptEndpoints:
    """Webhook registration and message lookup (mixed into ``ChatApps``)."""

    _requester: Requester
    _rate_limit: RateLimit
    #: The pace of ``get_message`` per sub-account (8x8: 1 request/s).
    message_lookup_rate_limit: RateLimit = DEFAULT_MESSAGE_LOOKUP_RATE_LIMIT

    async def set_webhooks(
        self, account_id: str, webhooks: Iterable[Webhook | Mapping[str, object]]
    ) -> None:
        """Create or replace the account's webhooks (one per sub-account scope and type).

        ``POST /api/v1/accounts/{accountId}/webhooks``. Register a ``CADR`` webhook
        to receive delivery receipts (``aiomsg.receipts``). Each ``http_authorization``
        is masked in errors and reprs.

        Args:
            account_id: The 8x8 account, a uuid (32 hex digits, dashes optional).
            webhooks: 1 to 100 ``Webhook`` objects or camelCase mappings.

        Raises:
            ValidationError: A webhook breaks a rule (an http URL to a public host, an
                unknown type); nothing was sent.
            APIStatusError: 8x8 refused the request (a subclass per status).
            APIConnectionError: No answer after the retries (safe to call again).

        Example:
            ``await client.chatapps.set_webhooks(account, [Webhook(sub_account_id="*",
            url="https://example.com/dr", type="CADR", http_authorization="Bearer t")])``
        """
        account_id = check_account_id(account_id)
        items = [
            _as(Webhook, w, f"webhooks[{i}]") for i, w in enumerate(_items(webhooks, "webhooks"))
        ]
        secrets = tuple(s for w in items for s in w.secrets())
        route = CHATAPPS_SET_WEBHOOKS
        body = msgspec.json.encode(items)
        await self._requester.call(
            route, route.path(account_id=account_id), body,
            scope=("webhooks", account_id), limit=self._rate_limit, secrets=secrets,
        )  # fmt: skip

    async def get_webhooks(self, account_id: str) -> list[RegisteredWebhook]:
        """List the account's webhooks (their secrets come back masked as ``***``).

        ``GET /api/v1/accounts/{accountId}/webhooks``.

        Args:
            account_id: The 8x8 account, a uuid (32 hex digits, dashes optional).

        Returns:
            Each webhook registered: scope, URL, type, whether it is enabled.

        Raises:
            ValidationError: ``account_id`` is malformed; nothing was sent.
            APIStatusError: 8x8 refused the request (a subclass per status).
            APIConnectionError: No answer after the retries.
        """
        account_id = check_account_id(account_id)
        route = CHATAPPS_GET_WEBHOOKS
        return await self._requester.call_decoded(
            route, route.path(account_id=account_id), None, list[RegisteredWebhook],
            scope=("webhooks", account_id), limit=self._rate_limit,
        )  # fmt: skip

    async def delete_webhooks(
        self, account_id: str, targets: Iterable[WebhookTarget | Mapping[str, object]]
    ) -> None:
        """Delete webhooks, each named by its sub-account scope and type.

        ``DELETE /api/v1/accounts/{accountId}/webhooks``. ``"*"`` names the webhook
        registered for every sub-account; it does not delete them all.

        Args:
            account_id: The 8x8 account, a uuid (32 hex digits, dashes optional).
            targets: 1 to 100 ``WebhookTarget`` objects or camelCase mappings
                (``{"subAccountId": "*", "type": "CADR"}``).

        Raises:
            ValidationError: A target is malformed; nothing was sent.
            APIStatusError: 8x8 refused the request (a subclass per status).
            APIConnectionError: No answer after the retries (safe to call again).
        """
        account_id = check_account_id(account_id)
        items = [
            _as(WebhookTarget, t, f"targets[{i}]") for i, t in enumerate(_items(targets, "targets"))
        ]
        route = CHATAPPS_DELETE_WEBHOOKS
        await self._requester.call(
            route, route.path(account_id=account_id), msgspec.json.encode(items),
            scope=("webhooks", account_id), limit=self._rate_limit,
        )  # fmt: skip

    async def get_message(self, sub_account_id: str, umid: str) -> MessageDetails:
        """Look up a message's details and delivery status by its umid.

        ``GET /api/v1/subaccounts/{subAccountId}/messages/{umid}``. 8x8 allows 1
        request a second per sub-account: calls are paced accordingly
        (``message_lookup_rate_limit``). For spot checks; receipts
        (``aiomsg.receipts``) are how to follow many messages.

        Args:
            sub_account_id: The 8x8 sub-account that sent the message.
            umid: The message's id, a uuid.

        Returns:
            A record per channel attempted (``latest``: the last one), each with its
            ``status`` (``state``, ``detail``, ``timestamp``).

        Raises:
            ValidationError: An id is malformed; nothing was sent.
            NotFoundError: 8x8 does not know the umid.
            APIStatusError: Another refusal (a subclass per status).
            APIConnectionError: No answer after the retries.

        Example:
            ``(await client.chatapps.get_message("my-sub", umid)).latest.status.state``
        """
        sub_account_id = check_sub_account_id(sub_account_id)
        umid = check_uuid(umid, "umid")
        route = CHATAPPS_GET_MESSAGE
        return await self._requester.call_decoded(
            route, route.path(sub_account_id=sub_account_id, umid=umid), None, MessageDetails,
            scope=("message_lookup", sub_account_id), limit=self.message_lookup_rate_limit,
        )  # fmt: skip
