"""Request checks: the documented limits, and the 8x8 error code each breach earns.

The rules are aiomsg's own (``aiomsg._validation`` and the model constants), so
the simulator and the client agree on what is valid; only the mapping to 8x8's
error codes (api-error-codes) lives here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from .._errors import ValidationError
from .._validation import (
    check_account_id,
    check_country,
    check_msisdn,
    check_sub_account_id,
    check_text,
    check_url,
    is_uuid,
)
from ..eightxeight.models import (
    ENCODINGS,
    ICONS,
    MAX_CLIENT_BATCH_ID,
    MAX_CLIENT_MESSAGE_ID,
    MAX_LINE_BATCH,
    MAX_SMS_SOURCE,
)
from ..revicom.models import MAX_STOP_BATCH

__all__ = [
    "MSG_INTERNAL",
    "MSG_INVALID_MSISDN",
    "MSG_INVALID_UMID",
    "MSG_NOT_AUTHENTICATED",
    "MSG_NOT_FOUND",
    "MSG_SUB_ACCOUNT",
    "MSG_TLS",
    "Rejection",
    "account_problem",
    "batch_id_problem",
    "line_batch_problem",
    "line_message_problem",
    "revicom_stop_problem",
    "sub_account_problem",
    "umid_problem",
]

# 8x8's own messages, as its API returns them.
MSG_NOT_AUTHENTICATED: Final = "Request was not authenticated properly"
MSG_SUB_ACCOUNT: Final = "Provided subAccountId doesn't belongs to your account"
MSG_INVALID_MSISDN: Final = "Invalid MSISDN format (not E.164 international number)"
MSG_INVALID_UMID: Final = "Invalid umid."
MSG_NOT_FOUND: Final = "Message not found."
MSG_INTERNAL: Final = "Internal server error"
MSG_TLS: Final = "TLS 1.3+ is required for Singapore-bound messages. Detected: {detected}"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request (or one message of a batch) is refused: status, code, message."""

    status: int
    code: int
    message: str


def _bad(code: int, what: str, detail: str) -> Rejection:
    return Rejection(400, code, f"{what}: {detail}")


def sub_account_problem(value: str) -> Rejection | None:
    try:
        check_sub_account_id(value, "subAccountId")
    except ValidationError:
        return Rejection(400, 1001, MSG_SUB_ACCOUNT)
    return None


def account_problem(value: str) -> Rejection | None:
    try:
        check_account_id(value, "accountId")
    except ValidationError as exc:
        return _bad(1000, "Invalid parameter", str(exc))
    return None


def _text_problem(
    code: int, what: str, field: str, value: object, limit: int | None
) -> Rejection | None:
    if not isinstance(value, str):
        return _bad(1000, "Invalid parameter", f"{field} must be a string")
    try:
        check_text(field, value, limit)
    except ValidationError as exc:
        return _bad(code, what, str(exc))
    return None


def line_batch_problem(body: object) -> Rejection | None:
    """Request-level problems of a LINE batch body (the messages are checked apart)."""
    if not isinstance(body, dict):
        return _bad(1000, "Invalid parameter", "the body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _bad(3012, "Missed messages", "messages must be a non-empty array")
    if len(messages) > MAX_LINE_BATCH:
        return _bad(
            3013,
            "Too much messages",
            f"{len(messages)} messages in one request, at most {MAX_LINE_BATCH}",
        )
    if "clientBatchId" in body:
        problem = _text_problem(
            3014, "Too long ClientBatchId", "clientBatchId", body["clientBatchId"],
            MAX_CLIENT_BATCH_ID,
        )  # fmt: skip
        if problem is not None:
            return problem
    flag = body.get("includeMessagesInResponse", False)
    if not isinstance(flag, bool):
        return _bad(1000, "Invalid parameter", "includeMessagesInResponse must be a boolean")
    return None


def line_message_problem(msg: object, where: str = "") -> Rejection | None:
    """Problems of one LINE Notification message (``where`` prefixes field names)."""
    if not isinstance(msg, dict):
        return _bad(
            1000, "Invalid parameter", f"{where.rstrip('.') or 'the body'} must be a JSON object"
        )
    user = msg.get("user")
    if not isinstance(user, dict):
        return _bad(3001, "Missed User", f"{where}user is required")
    problem = _user_problem(user, where)
    if problem is not None:
        return problem
    content = msg.get("content")
    if not isinstance(content, dict):
        return _bad(3004, "Missed Content", f"{where}content is required")
    problem = _content_problem(content, where)
    if problem is not None:
        return problem
    if "clientMessageId" in msg:
        problem = _text_problem(
            3009, "Too long ClientMessageId", f"{where}clientMessageId", msg["clientMessageId"],
            MAX_CLIENT_MESSAGE_ID,
        )  # fmt: skip
        if problem is not None:
            return problem
    if "dlrCallbackUrl" in msg:
        url = msg["dlrCallbackUrl"]
        try:
            if not isinstance(url, str):
                raise ValidationError(f"{where}dlrCallbackUrl", "is not a string", "a URL")
            check_url(url, f"{where}dlrCallbackUrl")
        except ValidationError as exc:
            return _bad(3020, "Invalid DR Callback URL", str(exc))
    fallback = msg.get("smsFallback")
    if fallback is not None:
        return _fallback_problem(fallback, where)
    return None


def _user_problem(user: dict[str, object], where: str) -> Rejection | None:
    country = user.get("country")
    if country is not None:
        try:
            if not isinstance(country, str):
                raise ValidationError(f"{where}user.country", "is not a string", "two letters")
            check_country(country, f"{where}user.country")
        except ValidationError as exc:
            return _bad(3018, "Invalid Country code", str(exc))
    msisdn = user.get("msisdn")
    if msisdn is None:
        if isinstance(user.get("channelUserId"), str) and user["channelUserId"]:
            return None
        return _bad(3002, "Missed MSISDN", f"{where}user.msisdn is required")
    if not isinstance(msisdn, str):
        return Rejection(400, 1002, MSG_INVALID_MSISDN)
    try:
        check_msisdn(msisdn, country is not None, f"{where}user.msisdn")
    except ValidationError:
        return Rejection(400, 1002, MSG_INVALID_MSISDN)
    return None


_CONTENT_TEXT: Final = ("title", "company", "greeting", "explanation")


def _content_problem(content: dict[str, object], where: str) -> Rejection | None:
    for name in _CONTENT_TEXT:
        if name in content:
            problem = _text_problem(
                1000, "Invalid parameter", f"{where}content.{name}", content[name], None
            )
            if problem is not None:
                return problem
    icon = content.get("icon")
    if icon is not None and not _one_of(icon, ICONS):
        return _bad(1000, "Invalid parameter", f"{where}content.icon is not a known icon")
    for name in ("list", "actions"):
        items = content.get(name)
        if items is not None and (
            not isinstance(items, list) or not all(isinstance(i, dict) for i in items)
        ):
            return _bad(1000, "Invalid parameter", f"{where}content.{name} must be an array")
    return None


def _fallback_problem(fallback: object, where: str) -> Rejection | None:
    if not isinstance(fallback, dict):
        return _bad(1000, "Invalid parameter", f"{where}smsFallback must be an object")
    if "source" in fallback:
        problem = _text_problem(
            3011,
            "Too long SMS Source",
            f"{where}smsFallback.source",
            fallback["source"],
            MAX_SMS_SOURCE,
        )
        if problem is not None:
            return problem
    if "text" in fallback:
        problem = _text_problem(
            1004, "Invalid Text", f"{where}smsFallback.text", fallback["text"], None
        )
        if problem is not None:
            return problem
    encoding = fallback.get("encoding")
    if encoding is not None and not _one_of(encoding, ENCODINGS):
        return _bad(
            1003,
            "Invalid Encoding",
            f"{where}smsFallback.encoding must be one of " + ", ".join(sorted(ENCODINGS)),
        )
    return None


def _one_of(value: object, allowed: Collection[str]) -> bool:
    """Enum membership, for any JSON value: the type first (a list or an object is not
    hashable, and must earn the documented 400, not a crash)."""
    return isinstance(value, str) and value in allowed


def umid_problem(value: str) -> Rejection | None:
    return None if is_uuid(value) else Rejection(400, 1000, MSG_INVALID_UMID)


def batch_id_problem(value: str) -> Rejection | None:
    return None if is_uuid(value) else _bad(1000, "Invalid parameter", "batchId is not a uuid")


def revicom_stop_problem(body: object) -> str | None:
    """What is wrong with a Revicom stop body, or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    uuids = body.get("uuids")
    if not isinstance(uuids, list):
        return "uuids is required and must be an array"
    if not uuids:
        return "uuids must not be empty"
    if len(uuids) > MAX_STOP_BATCH:
        return f"at most {MAX_STOP_BATCH} uuids per request, got {len(uuids)}"
    for i, value in enumerate(uuids):
        if not is_uuid(value):
            return f"uuids[{i}] is not a uuid"
    return None
