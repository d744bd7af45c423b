"""Every 8x8 endpoint aiomsg calls, declared once.

Each route is an ``aiomsg`` ``Route``: ``method``, path ``template`` (``{name}``
segments), call ``kind`` (whether a repeat is safe), ``api`` (the API whose base
URL it goes under: ``"chatapps"`` or ``"sms"``) and ``name`` (the operation, as the
client's method is called). The clients send requests by these, the simulator
(``aiomsg.testing``) serves them, and its fault injection names them
``<api>.<name>`` (``route.full_name``)::

    from aiomsg.eightxeight import routes

    routes.SMS_CANCEL_MESSAGE.path(sub_account_id="acme", umid=umid)
    # '/api/v1/subaccounts/acme/messages/...', every segment percent-encoded
"""

from __future__ import annotations

from typing import Final

from .._core import Route
from .._retry import CallKind

__all__ = [
    "APIS",
    "CHATAPPS_CANCEL_BATCH",
    "CHATAPPS_CANCEL_MESSAGE",
    "CHATAPPS_DELETE_WEBHOOKS",
    "CHATAPPS_DELETE_WHATSAPP_FLOW",
    "CHATAPPS_GET_MESSAGE",
    "CHATAPPS_GET_WEBHOOKS",
    "CHATAPPS_SEND_LINE_NOTIFICATION",
    "CHATAPPS_SEND_LINE_NOTIFICATION_BATCH",
    "CHATAPPS_SET_WEBHOOKS",
    "ROUTES",
    "SMS_CANCEL_BATCH",
    "SMS_CANCEL_MESSAGE",
]

_SUB_ACCOUNT: Final = "/api/v1/subaccounts/{sub_account_id}"
_CANCEL_MESSAGE: Final = f"{_SUB_ACCOUNT}/messages/{{umid}}"
_CANCEL_BATCH: Final = f"{_SUB_ACCOUNT}/messages/batch/{{batch_id}}"

APIS: Final[tuple[str, ...]] = ("chatapps", "sms")
"""The 8x8 APIs, each under its own base URL (``chatapps_url``, ``sms_url``)."""

CHATAPPS_SEND_LINE_NOTIFICATION_BATCH: Final = Route(
    "POST", f"{_SUB_ACCOUNT}/lon/batch", CallKind.SEND_ONCE,
    api="chatapps", name="send_line_notification_batch",
)  # fmt: skip
"""Send a batch of LINE Notifications (sent at most once: never repeated blindly)."""
CHATAPPS_SEND_LINE_NOTIFICATION: Final = Route(
    "POST", f"{_SUB_ACCOUNT}/lon", CallKind.SEND_ONCE,
    api="chatapps", name="send_line_notification",
)  # fmt: skip
"""Send one LINE Notification."""
CHATAPPS_CANCEL_BATCH: Final = Route(
    "DELETE", _CANCEL_BATCH, CallKind.IDEMPOTENT, api="chatapps", name="cancel_batch"
)
"""Cancel the scheduled Chat Apps messages of a batch, by ``batch_id``."""
CHATAPPS_CANCEL_MESSAGE: Final = Route(
    "DELETE", _CANCEL_MESSAGE, CallKind.IDEMPOTENT, api="chatapps", name="cancel_message"
)
"""Cancel one scheduled Chat Apps message, by ``umid``."""
CHATAPPS_DELETE_WHATSAPP_FLOW: Final = Route(
    "DELETE", "/api/v1/accounts/{account_id}/channels/{channel_id}/flows/{flow_id}",
    CallKind.IDEMPOTENT, api="chatapps", name="delete_whatsapp_flow",
)  # fmt: skip
"""Delete a WhatsApp Flow still in DRAFT."""
_WEBHOOKS: Final = "/api/v1/accounts/{account_id}/webhooks"
CHATAPPS_SET_WEBHOOKS: Final = Route(
    "POST", _WEBHOOKS, CallKind.IDEMPOTENT, api="chatapps", name="set_webhooks"
)
"""Create or replace an account's webhooks (a repeat registers the same ones)."""
CHATAPPS_GET_WEBHOOKS: Final = Route(
    "GET", _WEBHOOKS, CallKind.IDEMPOTENT, api="chatapps", name="get_webhooks"
)
"""List an account's webhooks."""
CHATAPPS_DELETE_WEBHOOKS: Final = Route(
    "DELETE", _WEBHOOKS, CallKind.IDEMPOTENT, api="chatapps", name="delete_webhooks"
)
"""Delete an account's webhooks, by sub-account scope and type."""
CHATAPPS_GET_MESSAGE: Final = Route(
    "GET", _CANCEL_MESSAGE, CallKind.IDEMPOTENT, api="chatapps", name="get_message"
)
"""Look up one Chat Apps message's details and status, by ``umid``."""
SMS_CANCEL_BATCH: Final = Route(
    "DELETE", _CANCEL_BATCH, CallKind.IDEMPOTENT, api="sms", name="cancel_batch"
)
"""Cancel the scheduled SMS of a batch, by ``batch_id``."""
SMS_CANCEL_MESSAGE: Final = Route(
    "DELETE", _CANCEL_MESSAGE, CallKind.IDEMPOTENT, api="sms", name="cancel_message"
)
"""Cancel one scheduled SMS, by ``umid``."""

ROUTES: Final[tuple[Route, ...]] = (
    CHATAPPS_SEND_LINE_NOTIFICATION_BATCH,
    CHATAPPS_SEND_LINE_NOTIFICATION,
    CHATAPPS_CANCEL_BATCH,
    CHATAPPS_CANCEL_MESSAGE,
    CHATAPPS_DELETE_WHATSAPP_FLOW,
    CHATAPPS_SET_WEBHOOKS,
    CHATAPPS_GET_WEBHOOKS,
    CHATAPPS_DELETE_WEBHOOKS,
    CHATAPPS_GET_MESSAGE,
    SMS_CANCEL_MESSAGE,
    SMS_CANCEL_BATCH,
)
"""Every 8x8 route aiomsg calls."""
