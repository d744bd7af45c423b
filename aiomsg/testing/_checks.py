"""Request checks: the providers' published contract, and the 8x8 error each breach earns.

What is valid comes from ``contract.json`` (see ``_contract``), never from the
client's validation; this module maps a broken rule to the code and message 8x8's
error table (api-error-codes) gives it. One rule is not a schema keyword: a msisdn
is E.164, or a national number when ``user.country`` is given (code 1002).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from .. import ValidationError
from ._contract import Violation, check, contract, is_uuid

__all__ = [
    "MSG_INTERNAL",
    "MSG_INVALID_MSISDN",
    "MSG_INVALID_UMID",
    "MSG_NOT_AUTHENTICATED",
    "MSG_NOT_FOUND",
    "MSG_SUB_ACCOUNT",
    "MSG_TLS",
    "Rejection",
    "body_problem",
    "line_batch_problem",
    "line_message_problem",
    "param_problem",
    "require_param",
    "require_uuid",
    "revicom_stop_problem",
]

# 8x8's own messages, as its API returns them.
MSG_NOT_AUTHENTICATED: Final = "Request was not authenticated properly"
MSG_SUB_ACCOUNT: Final = "Provided subAccountId doesn't belongs to your account"
MSG_INVALID_MSISDN: Final = "Invalid MSISDN format (not E.164 international number)"
MSG_INVALID_UMID: Final = "Invalid umid."
MSG_NOT_FOUND: Final = "Message not found."
MSG_INTERNAL: Final = "Internal server error"
MSG_TLS: Final = "TLS 1.3+ is required for Singapore-bound messages. Detected: {detected}"

_LINE_BATCH: Final = "chatapps.send_line_notification_batch"
_LINE: Final = "chatapps.send_line_notification"

# The code and label 8x8's error table gives a broken rule, by field and keyword
# ("*": any keyword); any other breach is 1000, "Invalid parameter".
_CODES: Final[dict[tuple[str, str], tuple[int, str]]] = {
    ("messages", "*"): (3012, "Missed messages"),
    ("messages", "maxItems"): (3013, "Too much messages"),
    ("clientBatchId", "maxLength"): (3014, "Too long ClientBatchId"),
    ("user", "*"): (3001, "Missed User"),
    ("user", "anyOf"): (3002, "Missed MSISDN"),
    ("user.channelUserId", "minLength"): (3002, "Missed MSISDN"),
    ("user.msisdn", "*"): (1002, "Invalid MSISDN"),
    ("user.country", "*"): (3018, "Invalid Country code"),
    ("content", "*"): (3004, "Missed Content"),
    ("clientMessageId", "maxLength"): (3009, "Too long ClientMessageId"),
    ("dlrCallbackUrl", "*"): (3020, "Invalid DR Callback URL"),
    ("smsFallback.source", "maxLength"): (3011, "Too long SMS Source"),
    ("smsFallback.encoding", "*"): (1003, "Invalid Encoding"),
}
_MSISDN: Final = re.compile(r"\+[1-9][0-9]{6,14}")
_NATIONAL: Final = re.compile(r"\+?[0-9]{4,15}")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request (or one message of a batch) is refused: status, code, message."""

    status: int
    code: int
    message: str


def _rejection(found: Violation, where: str = "") -> Rejection:
    code, label = _CODES.get((found.rule, found.keyword)) or _CODES.get(
        (found.rule, "*"), (1000, "Invalid parameter")
    )
    if code == 1002:
        return Rejection(400, code, MSG_INVALID_MSISDN)  # never echo a number
    field = f"{where}{found.field}" if found.field else (where.rstrip(".") or "the body")
    return Rejection(400, code, f"{label}: {field} {found.detail}")


def line_batch_problem(body: object) -> Rejection | None:
    """Request-level problems of a LINE batch body (the messages are checked apart)."""
    found = check(_batch_without_messages(), body)
    return None if found is None else _rejection(found)


@cache
def _batch_without_messages() -> dict[str, Any]:
    """The batch body's schema without its messages' (those are checked one by one,
    so that ``per_message_rejection`` can refuse each on its own)."""
    schema = _body(_LINE_BATCH)
    properties = dict(schema["properties"])
    properties["messages"] = {k: v for k, v in properties["messages"].items() if k != "items"}
    return {**schema, "properties": properties}


def _body(route: str) -> Mapping[str, Any]:
    schema = contract()[route].body
    if schema is None:  # pragma: no cover - the shipped contract has one
        raise LookupError(f"the contract of {route} has no body")
    return schema


def line_message_problem(msg: object, where: str = "") -> Rejection | None:
    """Problems of one LINE Notification message (``where`` prefixes field names)."""
    found = check(_body(_LINE), msg)
    if found is not None:
        return _rejection(found, where)
    user = msg.get("user") if isinstance(msg, dict) else None
    if not isinstance(user, dict):  # pragma: no cover - the contract requires an object
        return None
    msisdn = user.get("msisdn")
    if isinstance(msisdn, str):
        rule = _NATIONAL if "country" in user else _MSISDN
        if rule.fullmatch(msisdn) is None:
            return Rejection(400, 1002, MSG_INVALID_MSISDN)
    return None


def param_problem(route: str, name: str, value: str) -> Rejection | None:
    """Whether the path parameter ``name`` (the contract's name) of ``route`` is valid."""
    found = check(contract()[route].path[name], value, (name,))
    if found is None:
        return None
    if name == "subAccountId":
        return Rejection(400, 1001, MSG_SUB_ACCOUNT)
    if name == "umid":
        return Rejection(400, 1000, MSG_INVALID_UMID)
    return _rejection(found)


def body_problem(route: str, body: object) -> Rejection | None:
    """Whether a request body fits ``route``'s contract (code 1000 when not)."""
    found = check(_body(route), body)
    return None if found is None else _rejection(found)


def revicom_stop_problem(body: object) -> str | None:
    """What is wrong with a Revicom stop body, or None."""
    found = check(_body("revicom.stop"), body)
    if found is None:
        return None
    return f"{found.field or 'the body'} {found.detail}"


def require_param(route: str, name: str, value: object, field: str) -> str:
    """``value`` when ``route`` takes it as its path parameter ``name`` (and it is not
    empty), else ``aiomsg.ValidationError`` naming ``field``: what the simulator's
    own methods check their arguments with."""
    found = check(contract()[route].path[name], value)
    if found is None and isinstance(value, str) and value:
        return value
    problem = found.detail if found is not None else "must not be empty"
    raise ValidationError(field, problem, f"a {name} as {route} takes it")


def require_uuid(value: object, field: str) -> str:
    """``value`` when it is a textual uuid, else ``aiomsg.ValidationError``."""
    if is_uuid(value):
        return str(value)
    raise ValidationError(field, "is not a uuid", "a uuid (8-4-4-4-12 hexadecimal digits)")
