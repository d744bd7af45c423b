"""Secrets and phone numbers stay out of reprs, exception text and DEBUG logs."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

import aiomsg
from aiomsg._errors import redact_text

SUB = "acme-sub_01"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
PHONE = "+6591234567"
DIGITS = PHONE[1:]
LINE_BATCH_URL = f"https://chatapps.8x8.com/api/v1/subaccounts/{SUB}/lon/batch"
SMS_CANCEL_URL = f"https://sms.8x8.com/api/v1/subaccounts/{SUB}/messages/{UMID}"
STOP_URL = "https://direct.revicom.ltd/api/v1/message/stop"


def message(msisdn: str = PHONE) -> dict[str, Any]:
    return {"user": {"msisdn": msisdn}, "clientMessageId": "m-1", "content": {"title": "Hi"}}


def assert_clean(text: str, *secrets: str) -> None:
    for secret in (DIGITS, *secrets):
        assert secret not in text


def exception_texts(exc: BaseException) -> str:
    """Everything a traceback or a log line could show of an exception and its causes."""
    parts = []
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen), str(getattr(seen, "message", ""))]
        parts.append(str(getattr(seen, "body_excerpt", "")))
        seen = seen.__cause__
    return "\n".join(parts)


# --------------------------------------------------------------------------- reprs


def test_client_reprs_hide_credentials(api_key: str, revicom_token: str) -> None:
    client = aiomsg.EightByEight(api_key=api_key)
    revicom = aiomsg.Revicom(token=revicom_token)
    for text in (repr(client), str(client), repr(client.chatapps), repr(client.sms)):
        assert api_key not in text
        assert "Bearer" not in text
        assert "chatapps.8x8.com" in text or "sms.8x8.com" in text
    for text in (repr(revicom), str(revicom)):
        assert revicom_token not in text
        assert "Basic" not in text
        assert "direct.revicom.ltd" in text


def test_model_reprs_mask_msisdns() -> None:
    user = aiomsg.LineUser(msisdn=PHONE, country="SG")
    msg = aiomsg.LineNotification(user=user, content=aiomsg.LineContent(title="Hi"))
    national = aiomsg.LineUser(msisdn="91234567", country="SG")
    info = aiomsg.UserInfo(msisdn=PHONE, channel_user_id="US.13491208655302741918")
    result = aiomsg.LineMessageResult(umid=UMID, user=info)
    batch = aiomsg.LineNotificationBatchResult(batch_id=UMID, messages=[result])
    for obj in (user, msg, info, result, batch):
        assert_clean(repr(obj), "13491208655302741918")
        assert_clean(str(obj), "13491208655302741918")
        assert "***4567" in repr(obj)
    assert "91234567" not in repr(national)
    assert "***4567" in repr(national)


def test_rich_reprs_mask_msisdns() -> None:
    # Pretty printers (rich) prefer __rich_repr__, which msgspec fills with every field.
    for obj in (aiomsg.LineUser(msisdn=PHONE), aiomsg.UserInfo(msisdn=PHONE, country="SG")):
        fields = dict(obj.__rich_repr__())
        assert fields["msisdn"] == "***4567"
        assert_clean(repr(fields))


def test_redact_text_keeps_the_last_four_digits() -> None:
    assert redact_text("to +6591234567 and 6591234568.") == "to ***4567 and ***4568."
    assert redact_text("Authorization: Bearer abc.DEF-123") == "Authorization: Bearer ***"
    assert redact_text("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") == "Basic ***"
    assert redact_text("code 1300, 2020-06-18") == "code 1300, 2020-06-18"


# ----------------------------------------------------------------------- exceptions


@pytest.mark.parametrize(
    ("status", "payload", "body"),
    [
        (400, {"code": 1002, "message": f"Invalid MSISDN {PHONE}", "errorId": "e"}, None),
        (400, {"code": 1002, "message": f"Invalid MSISDN {DIGITS} (not E.164)"}, None),
        (404, {"code": 1300, "detail": f"no message to {PHONE}"}, None),
        (400, None, f"<html>Bad number {PHONE}</html>"),
        (401, None, "Authorization: Bearer 8x8-test-KEY-5f1e2d3c4b rejected"),
        (500, {"code": 2000, "message": f"Failed for {PHONE}"}, None),
        (503, None, f"upstream failed for {DIGITS}"),
    ],
)
async def test_error_bodies_that_echo_a_number(
    eight: aiomsg.EightByEight,
    mock_http: Any,
    api_key: str,
    status: int,
    payload: dict[str, Any] | None,
    body: str | None,
) -> None:
    answer: dict[str, Any] = {"payload": payload} if payload is not None else {"body": body}
    mock_http.post(LINE_BATCH_URL, status=status, **answer)
    with pytest.raises(aiomsg.APIError) as info:
        await eight.chatapps.send_line_notification_batch(SUB, [message()])
    text = exception_texts(info.value)
    assert_clean(text, api_key)
    assert "***4567" in text or "Bearer ***" in text


async def test_cancel_error_echoing_a_number(eight: aiomsg.EightByEight, mock_http: Any) -> None:
    mock_http.delete(SMS_CANCEL_URL, status=404, payload={"code": 1300, "message": f"{PHONE}?"})
    with pytest.raises(aiomsg.NotFoundError) as info:
        await eight.sms.cancel_message(SUB, UMID)
    assert_clean(exception_texts(info.value))
    assert info.value.message == "***4567?"


async def test_undecodable_success_body_with_a_number(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    mock_http.delete(SMS_CANCEL_URL, payload={"cancelledCount": PHONE})
    with pytest.raises(aiomsg.APIResponseError) as info:
        await eight.sms.cancel_message(SUB, UMID)
    assert_clean(exception_texts(info.value))


async def test_connection_errors_hide_the_key(
    eight: aiomsg.EightByEight, mock_http: Any, api_key: str
) -> None:
    with pytest.raises(aiomsg.APIConnectionError) as info:
        await eight.sms.cancel_message(SUB, UMID)
    assert_clean(exception_texts(info.value), api_key, "Bearer")


async def test_validation_errors_never_show_a_full_number(
    eight: aiomsg.EightByEight, revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    errors = []
    for call in (
        lambda: eight.chatapps.send_line_notification_batch(SUB, [message("65912345678901234")]),
        lambda: eight.chatapps.send_line_notification(SUB, message(DIGITS)),
        # A column mix-up: phone numbers where message ids belong.
        lambda: revicom.stop_batch([PHONE]),
        lambda: eight.sms.cancel_message(SUB, PHONE),
        lambda: eight.chatapps.cancel_batch(DIGITS + "-" * 41, UMID),
    ):
        with pytest.raises(aiomsg.ValidationError) as info:
            await call()
        errors.append(info.value)
    for exc in errors:
        assert_clean(exception_texts(exc), "65912345678901234")
    assert mock_http.requests == {}


# ----------------------------------------------------------------------------- logs


async def test_debug_logs_hold_no_secrets_or_numbers(
    eight: aiomsg.EightByEight,
    revicom: aiomsg.Revicom,
    mock_http: Any,
    api_key: str,
    revicom_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiomsg")
    mock_http.post(
        LINE_BATCH_URL,
        payload={
            "batchId": UMID,
            "acceptedCount": 1,
            "messages": [{"umid": UMID, "user": {"msisdn": PHONE}, "status": {"state": "queued"}}],
        },
    )
    mock_http.post(LINE_BATCH_URL, status=400, payload={"code": 1002, "message": f"Bad {PHONE}"})
    mock_http.delete(SMS_CANCEL_URL, status=404, payload={"code": 1300, "message": f"{PHONE}"})
    mock_http.post(STOP_URL, payload={"errors": False, "items": []})

    await eight.chatapps.send_line_notification_batch(SUB, [message()])
    with pytest.raises(aiomsg.BadRequestError):
        await eight.chatapps.send_line_notification_batch(SUB, [message()])
    with pytest.raises(aiomsg.NotFoundError):
        await eight.sms.cancel_message(SUB, UMID)
    await revicom.stop_batch([UMID])

    records = [r for r in caplog.records if r.name.startswith("aiomsg")]
    assert len(records) >= 4  # one per attempt at least: the check below is not vacuous
    assert any("/lon/batch" in r.getMessage() for r in records)
    text = caplog.text + "\n".join(r.getMessage() for r in records)
    assert_clean(text, api_key, revicom_token, "Bearer", "Basic ")
    assert not re.search(r"\d{8,}", text.replace(UMID, ""))


async def test_credentials_echoed_in_an_error_body_are_masked(mock_http: Any) -> None:
    key = "k3y-echoed-back-9f2"
    url = (
        "https://sms.8x8.com/api/v1/subaccounts/sub-1/messages/3fa85f64-5717-4562-b3fc-2c963f66afa6"
    )
    mock_http.delete(url, status=401, payload={"code": 1200, "message": f"bad key {key}"})
    async with aiomsg.EightByEight(api_key=key, retry=aiomsg.RetryPolicy(max_attempts=1)) as c:
        with pytest.raises(aiomsg.AuthenticationError) as info:
            await c.sms.cancel_message("sub-1", "3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert key not in str(info.value)
    assert key not in repr(info.value)
    assert key not in info.value.message
    assert "***" in info.value.message


@pytest.mark.parametrize("number", ["+65 9123 4567", "+65-9123-4567", "+1 (555) 010-9999"])
def test_numbers_written_with_separators_are_masked(number: str) -> None:
    from aiomsg._validation import check_uuid
    from aiomsg.eightxeight.models import as_line_notification

    with pytest.raises(aiomsg.ValidationError) as info:
        check_uuid(number, "umids[0]")
    assert number not in str(info.value)
    with pytest.raises(aiomsg.ValidationError) as info:
        as_line_notification(
            {"user": {"msisdn": "+6591234567"}, "content": {"icon": number}}, "messages[0]"
        )
    assert number not in str(info.value)
    assert number[-4:] in redact_text(number)


def test_dates_and_ids_in_messages_are_not_mistaken_for_numbers() -> None:
    text = "at 2017-04-19T02:31:19 errorId 91b106f0-c0da-4aba-a43a-7af9c5893a80"
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "call +65 9123 4567 now",
        "call %2B6591234567 now",
        '{"to": "\\u002B6591234567"}',
        "Authorization: Bearer sk-live-abc",
    ],
)
def test_the_public_redact_masks_numbers_and_credentials_in_any_form(text: str) -> None:
    masked = aiomsg.redact(text)
    assert "9123" not in masked
    assert "sk-live-abc" not in masked
    assert masked == redact_text(text)


def test_the_public_redact_masks_the_secrets_given() -> None:
    assert "tok3n" not in aiomsg.redact("token tok3n echoed", ["tok3n"])
