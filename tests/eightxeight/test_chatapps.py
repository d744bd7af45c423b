"""8x8 Chat Apps endpoints: requests on the wire, answers, error mapping, path safety."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import pytest

import aiomsg
from tests.examples import (
    ERROR_1014,
    LINE_BATCH_RESPONSE,
    LINE_MESSAGE,
    SEED_ERROR_IDS,
    SEED_ERRORS,
)

BASE = "https://chatapps.8x8.com"
SUB = "acme-sub_01"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
BATCH = "cf3cbbf5-3e2d-ea11-815d-020897df5459"
ACCOUNT = "0d0e6a8e5b4f4c3d9a1b2c3d4e5f6a7b"
CHANNEL = "wa-channel-1"
FLOW = "1234567890123456"

LINE_BATCH_URL = f"{BASE}/api/v1/subaccounts/{SUB}/lon/batch"
LINE_URL = f"{BASE}/api/v1/subaccounts/{SUB}/lon"
CANCEL_BATCH_URL = f"{BASE}/api/v1/subaccounts/{SUB}/messages/batch/{BATCH}"
CANCEL_MESSAGE_URL = f"{BASE}/api/v1/subaccounts/{SUB}/messages/{UMID}"
FLOW_URL = f"{BASE}/api/v1/accounts/{ACCOUNT}/channels/{CHANNEL}/flows/{FLOW}"

Call = Callable[[aiomsg.EightByEight], Awaitable[object]]


def line_notification() -> aiomsg.LineNotification:
    """The spec's example message built from typed models."""
    content = LINE_MESSAGE["content"]
    fallback = LINE_MESSAGE["smsFallback"]
    return aiomsg.LineNotification(
        user=aiomsg.LineUser(msisdn="+6500000000"),
        client_message_id="1234_id",
        content=aiomsg.LineContent(
            title=content["title"],
            company=content["company"],
            icon="calendar",
            emphasis=aiomsg.LineEmphasis(label="Event name", content="8x8 Conference"),
            items=[aiomsg.LineListItem(label="Date", content="Tue 26/09/2022")],
            explanation=content["explanation"],
            greeting=content["greeting"],
            actions=[aiomsg.LineAction(title="See direction", url="https://www.google.com/maps")],
        ),
        sms_fallback=aiomsg.SmsFallback(
            text=fallback["text"], source=fallback["source"], encoding="AUTO"
        ),
    )


def assert_headers(headers: dict[str, str], api_key: str, *, json_body: bool) -> None:
    assert headers["Authorization"] == f"Bearer {api_key}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("aiomsg/")
    if json_body:
        assert headers["Content-Type"] == "application/json"
    else:
        assert "Content-Type" not in headers


# ------------------------------------------------------------------------- success


async def test_line_batch_sends_the_spec_example_and_decodes_the_answer(
    eight: aiomsg.EightByEight, mock_http: Any, api_key: str
) -> None:
    mock_http.post(LINE_BATCH_URL, payload=LINE_BATCH_RESPONSE)
    # The answer is about two messages (aaa-1 queued, aaa-2 rejected): send two.
    second = {**LINE_MESSAGE, "clientMessageId": "aaa-2"}

    result = await eight.chatapps.send_line_notification_batch(
        SUB, [LINE_MESSAGE, second], client_batch_id="aaa_batch",
        include_messages_in_response=True,
    )  # fmt: skip

    method, url, kwargs = mock_http.only_request()
    assert (method, str(url)) == ("POST", LINE_BATCH_URL)
    assert_headers(kwargs["headers"], api_key, json_body=True)
    assert json.loads(kwargs["data"]) == {
        "clientBatchId": "aaa_batch",
        "includeMessagesInResponse": True,
        "messages": [LINE_MESSAGE, second],
    }
    assert kwargs["allow_redirects"] is False
    assert isinstance(result, aiomsg.LineNotificationBatchResult)
    assert result.batch_id == "cf3cbbf5-3e2d-ea11-815d-020897df5459"
    assert (result.accepted_count, result.rejected_count) == (1, 1)
    assert result.client_batch_id == "aaa_batch"
    assert result.messages is not None
    queued, rejected = result.messages
    assert (queued.umid, queued.client_message_id) == (
        "d03cbbf5-3e2d-ea11-815d-020897df5459",
        "aaa-1",
    )
    assert queued.status.state == aiomsg.MessageState.QUEUED
    assert rejected.status.state == "rejected"
    assert rejected.status.error_code == 3038
    assert rejected.status.error_message == "Template not found for provided name and language"


async def test_line_batch_body_is_the_same_from_typed_messages(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    mock_http.post(LINE_BATCH_URL, payload={"batchId": BATCH, "acceptedCount": 1})
    await eight.chatapps.send_line_notification_batch(SUB, [line_notification()])
    _, _, kwargs = mock_http.only_request()
    assert json.loads(kwargs["data"]) == {"messages": [LINE_MESSAGE]}


async def test_line_batch_sends_url_when_the_action_says_content(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    # 8x8's own request example writes the action's link as "content".
    message = copy.deepcopy(LINE_MESSAGE)
    message["content"]["actions"] = [
        {"title": "See direction", "content": "https://www.google.com/maps"}
    ]
    mock_http.post(LINE_BATCH_URL, payload={"batchId": BATCH, "acceptedCount": 1})
    await eight.chatapps.send_line_notification_batch(SUB, [message])
    _, _, kwargs = mock_http.only_request()
    assert json.loads(kwargs["data"]) == {"messages": [LINE_MESSAGE]}


async def test_line_batch_gives_each_message_a_client_message_id(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    first = {"user": {"msisdn": "+6500000000"}, "content": {"title": "a"}}
    second = {"user": {"msisdn": "+6500000001"}, "content": {"title": "b"}}
    mock_http.post(LINE_BATCH_URL, payload={"batchId": BATCH, "acceptedCount": 2})
    await eight.chatapps.send_line_notification_batch(SUB, [first, second])
    _, _, kwargs = mock_http.only_request()
    sent = json.loads(kwargs["data"])["messages"]
    ids = [m.pop("clientMessageId") for m in sent]
    assert sent == [first, second]
    assert len(set(ids)) == 2
    assert all(re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", i) for i in ids)


async def test_send_line_notification(
    eight: aiomsg.EightByEight, mock_http: Any, api_key: str
) -> None:
    answer = {
        "umid": "82188ee0-109f-e811-8150-020897df5459",
        "user": {"msisdn": "+6512341234"},
        "clientMessageId": "1234_id",
        "status": {"state": "queued", "timestamp": "2021-01-04T08:19:45.99Z"},
    }
    mock_http.post(LINE_URL, payload=answer)

    result = await eight.chatapps.send_line_notification(SUB, line_notification())

    method, url, kwargs = mock_http.only_request()
    assert (method, str(url)) == ("POST", LINE_URL)
    assert_headers(kwargs["headers"], api_key, json_body=True)
    assert json.loads(kwargs["data"]) == LINE_MESSAGE
    assert isinstance(result, aiomsg.LineMessageResult)
    assert result.umid == "82188ee0-109f-e811-8150-020897df5459"
    assert result.client_message_id == "1234_id"
    assert result.user is not None
    assert result.user.msisdn == "+6512341234"
    assert result.status.state == "queued"
    assert result.status.timestamp == "2021-01-04T08:19:45.99Z"


@pytest.mark.parametrize("count", [0, 10])
async def test_cancel_batch(
    eight: aiomsg.EightByEight, mock_http: Any, api_key: str, count: int
) -> None:
    mock_http.delete(CANCEL_BATCH_URL, payload={"cancelledCount": count})
    result = await eight.chatapps.cancel_batch(SUB, BATCH)
    method, url, kwargs = mock_http.only_request()
    assert (method, str(url)) == ("DELETE", CANCEL_BATCH_URL)
    assert_headers(kwargs["headers"], api_key, json_body=False)
    assert kwargs["data"] is None
    assert result == aiomsg.CancelResult(cancelled_count=count)


@pytest.mark.parametrize("count", [0, 1])
async def test_cancel_message(
    eight: aiomsg.EightByEight, mock_http: Any, api_key: str, count: int
) -> None:
    mock_http.delete(CANCEL_MESSAGE_URL, payload={"cancelledCount": count})
    result = await eight.chatapps.cancel_message(SUB, UMID)
    method, url, kwargs = mock_http.only_request()
    assert (method, str(url)) == ("DELETE", CANCEL_MESSAGE_URL)
    assert_headers(kwargs["headers"], api_key, json_body=False)
    assert kwargs["data"] is None
    assert result.cancelled_count == count


@pytest.mark.parametrize(
    ("status", "body"),
    [(204, ""), (200, ""), (200, '{"id": "1234567890123456", "status": "DELETED"}')],
    ids=["204", "200-empty", "200-body"],
)
async def test_delete_whatsapp_flow(
    eight: aiomsg.EightByEight, mock_http: Any, api_key: str, status: int, body: str
) -> None:
    mock_http.delete(FLOW_URL, status=status, body=body)
    assert await eight.chatapps.delete_whatsapp_flow(ACCOUNT, CHANNEL, FLOW) is None
    method, url, kwargs = mock_http.only_request()
    assert (method, str(url)) == ("DELETE", FLOW_URL)
    assert_headers(kwargs["headers"], api_key, json_body=False)
    assert kwargs["data"] is None


async def test_delete_whatsapp_flow_accepts_a_dashed_account_id(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    dashed = "0d0e6a8e-5b4f-4c3d-9a1b-2c3d4e5f6a7b"
    url = f"{BASE}/api/v1/accounts/{dashed}/channels/{CHANNEL}/flows/{FLOW}"
    mock_http.delete(url, status=204)
    await eight.chatapps.delete_whatsapp_flow(dashed, CHANNEL, FLOW)
    assert str(mock_http.only_request()[1]) == url


async def test_published_flow_raises_conflict(eight: aiomsg.EightByEight, mock_http: Any) -> None:
    mock_http.delete(
        FLOW_URL, status=409, payload={"code": 409, "message": "Flow must be in DRAFT status"}
    )
    with pytest.raises(aiomsg.ConflictError) as info:
        await eight.chatapps.delete_whatsapp_flow(ACCOUNT, CHANNEL, FLOW)
    assert info.value.status_code == 409
    assert info.value.message == "Flow must be in DRAFT status"


# -------------------------------------------------------------------------- errors

ENDPOINTS: list[tuple[str, str, str, Call]] = [
    ("cancel_batch", "DELETE", CANCEL_BATCH_URL, lambda c: c.chatapps.cancel_batch(SUB, BATCH)),
    (
        "cancel_message",
        "DELETE",
        CANCEL_MESSAGE_URL,
        lambda c: c.chatapps.cancel_message(SUB, UMID),
    ),
    (
        "delete_whatsapp_flow",
        "DELETE",
        FLOW_URL,
        lambda c: c.chatapps.delete_whatsapp_flow(ACCOUNT, CHANNEL, FLOW),
    ),
]


def assert_status_error(
    exc: BaseException,
    cls: type[aiomsg.APIStatusError],
    status: int,
    body: dict[str, Any],
    method: str,
    url: str,
) -> None:
    assert type(exc) is cls
    assert isinstance(exc, aiomsg.APIStatusError)
    assert exc.status_code == status
    assert exc.code == body["code"]
    assert exc.message == body["message"]
    assert exc.error_id == body["errorId"]
    assert exc.timestamp == body["timestamp"]
    assert (exc.method, exc.url) == (method, url)
    assert body["message"] in str(exc)
    assert url in str(exc)


@pytest.mark.parametrize(("status", "body", "cls"), SEED_ERRORS, ids=SEED_ERROR_IDS)
@pytest.mark.parametrize(
    ("method", "url", "call"), [e[1:] for e in ENDPOINTS], ids=[e[0] for e in ENDPOINTS]
)
async def test_error_examples_raise_the_status_class(
    eight: aiomsg.EightByEight,
    mock_http: Any,
    method: str,
    url: str,
    call: Call,
    status: int,
    body: dict[str, Any],
    cls: type[aiomsg.APIStatusError],
) -> None:
    mock_http.add(url, method, status=status, payload=body)
    with pytest.raises(aiomsg.APIStatusError) as info:
        await call(eight)
    assert_status_error(info.value, cls, status, body, method, url)
    assert len(mock_http.sent()) == 1


async def test_tls_version_error_says_what_to_change(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    mock_http.delete(
        CANCEL_MESSAGE_URL,
        status=426,
        headers={"Upgrade": "TLS/1.3"},
        payload=ERROR_1014,
    )
    with pytest.raises(aiomsg.TLSVersionError) as info:
        await eight.chatapps.cancel_message(SUB, UMID)
    assert "TLS 1.3" in str(info.value)
    assert "ssl=" in str(info.value)


LINE_SENDS: list[tuple[str, str, Call]] = [
    (
        "send_line_notification_batch",
        LINE_BATCH_URL,
        lambda c: c.chatapps.send_line_notification_batch(SUB, [LINE_MESSAGE]),
    ),
    (
        "send_line_notification",
        LINE_URL,
        lambda c: c.chatapps.send_line_notification(SUB, LINE_MESSAGE),
    ),
]


@pytest.mark.parametrize(("status", "body", "cls"), SEED_ERRORS, ids=SEED_ERROR_IDS)
@pytest.mark.parametrize(
    ("url", "call"), [e[1:] for e in LINE_SENDS], ids=[e[0] for e in LINE_SENDS]
)
async def test_line_send_error_examples(
    eight: aiomsg.EightByEight,
    mock_http: Any,
    url: str,
    call: Call,
    status: int,
    body: dict[str, Any],
    cls: type[aiomsg.APIStatusError],
) -> None:
    mock_http.post(url, status=status, payload=body)
    with pytest.raises(aiomsg.APIError) as info:
        await call(eight)
    exc: BaseException = info.value
    if status >= 500:
        # The server may have acted before failing: never re-sent, reported as unknown.
        assert isinstance(exc, aiomsg.OutcomeUnknownError)
        assert exc.client_message_ids == ("1234_id",)
        assert (exc.method, exc.url) == ("POST", url)
        exc = exc.__cause__  # type: ignore[assignment]
    assert_status_error(exc, cls, status, body, "POST", url)
    assert len(mock_http.sent()) == 1


async def test_redirect_is_not_followed(eight: aiomsg.EightByEight, mock_http: Any) -> None:
    mock_http.delete(
        CANCEL_BATCH_URL, status=302, headers={"Location": "https://example.com/elsewhere"}
    )
    with pytest.raises(aiomsg.APIStatusError) as info:
        await eight.chatapps.cancel_batch(SUB, BATCH)
    assert type(info.value) is aiomsg.APIStatusError
    assert info.value.status_code == 302
    assert "redirect" in str(info.value).lower()
    assert [str(u) for _, u, _ in mock_http.sent()] == [CANCEL_BATCH_URL]


async def test_undecodable_success_body_raises_response_error(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    mock_http.delete(CANCEL_BATCH_URL, status=200, body="<html>ok</html>", content_type="text/html")
    with pytest.raises(aiomsg.APIResponseError) as info:
        await eight.chatapps.cancel_batch(SUB, BATCH)
    assert info.value.status_code == 200
    assert (info.value.method, info.value.url) == ("DELETE", CANCEL_BATCH_URL)
    assert "CancelResult" in str(info.value)


# --------------------------------------------------------------------- path safety

HOSTILE_IDS = ["../x", "a/b", "%2e%2e", "a?b", "a#b", "x\r\ny", ".", "..", "", " ", "a b"]

# channelId and flowId are opaque: what is allowed is sent percent-encoded as one segment.
SEGMENT_CASES = [
    ("../x", "..%2Fx"),
    ("a/b", "a%2Fb"),
    ("%2e%2e", "%252e%252e"),
    ("a?b", "a%3Fb"),
    ("a#b", "a%23b"),
    ("...", "%2E%2E%2E"),
    ("a;b=c", "a%3Bb%3Dc"),
    ("é", "%C3%A9"),
    ("x\r\ny", None),
    (".", None),
    ("..", None),
    ("", None),
    ("a b", None),
    ("a\tb", None),
    ("a\x00b", None),
    ("a\x7fb", None),
    ("a\x85b", None),
    ("a\x9bb", None),
    ("a\u2028b", None),
]


@pytest.mark.parametrize("which", ["channel_id", "flow_id"])
@pytest.mark.parametrize(("value", "segment"), SEGMENT_CASES)
async def test_flow_path_segments_cannot_change_the_path(
    eight: aiomsg.EightByEight, mock_http: Any, which: str, value: str, segment: str | None
) -> None:
    mock_http.delete(re.compile(r".*"), status=204)
    ids = {"channel_id": CHANNEL, "flow_id": FLOW, which: value}
    if segment is None:
        with pytest.raises(aiomsg.ValidationError) as info:
            await eight.chatapps.delete_whatsapp_flow(ACCOUNT, ids["channel_id"], ids["flow_id"])
        assert info.value.field == which
        assert mock_http.requests == {}
        return
    await eight.chatapps.delete_whatsapp_flow(ACCOUNT, ids["channel_id"], ids["flow_id"])
    _, url, _ = mock_http.only_request()
    assert url.host == "chatapps.8x8.com"
    assert not url.raw_query_string
    assert not url.raw_fragment
    parts = url.raw_path.split("/")
    assert parts[:6] == ["", "api", "v1", "accounts", ACCOUNT, "channels"]
    assert len(parts) == 9
    assert parts[7] == "flows"
    assert parts[6 if which == "channel_id" else 8] == segment
    assert unquote(segment) == value


@pytest.mark.parametrize("value", [*HOSTILE_IDS, "ab", "a" * 51, "a+b", "a%b"])
async def test_hostile_sub_account_ids_are_rejected(
    eight: aiomsg.EightByEight, mock_http: Any, value: str
) -> None:
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: eight.chatapps.cancel_message(value, UMID),
        lambda: eight.chatapps.cancel_batch(value, BATCH),
        lambda: eight.chatapps.send_line_notification_batch(value, [LINE_MESSAGE]),
        lambda: eight.chatapps.send_line_notification(value, LINE_MESSAGE),
    ]
    for call in calls:
        with pytest.raises(aiomsg.ValidationError) as info:
            await call()
        assert info.value.field == "sub_account_id"
    assert mock_http.requests == {}


@pytest.mark.parametrize(("value", "segment"), [("...", "%2E%2E%2E"), ("a&b", "a%26b")])
async def test_unusual_but_valid_sub_account_ids_stay_one_segment(
    eight: aiomsg.EightByEight, mock_http: Any, value: str, segment: str
) -> None:
    mock_http.delete(re.compile(r".*"), payload={"cancelledCount": 1})
    await eight.chatapps.cancel_message(value, UMID)
    _, url, _ = mock_http.only_request()
    assert url.raw_path == f"/api/v1/subaccounts/{segment}/messages/{UMID}"


@pytest.mark.parametrize("value", [*HOSTILE_IDS, f"{UMID}/x", f"../{UMID}", f"{UMID}?a=b"])
async def test_hostile_umids_and_batch_ids_are_rejected(
    eight: aiomsg.EightByEight, mock_http: Any, value: str
) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        await eight.chatapps.cancel_message(SUB, value)
    assert info.value.field == "umid"
    with pytest.raises(aiomsg.ValidationError) as info:
        await eight.chatapps.cancel_batch(SUB, value)
    assert info.value.field == "batch_id"
    assert mock_http.requests == {}


@pytest.mark.parametrize("value", [*HOSTILE_IDS, f"{ACCOUNT}/x", f"../{ACCOUNT}"])
async def test_hostile_account_ids_are_rejected(
    eight: aiomsg.EightByEight, mock_http: Any, value: str
) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        await eight.chatapps.delete_whatsapp_flow(value, CHANNEL, FLOW)
    assert info.value.field == "account_id"
    assert mock_http.requests == {}


async def test_line_send_redirect_is_not_followed(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    # A 303 may follow a processed POST: not followed, and the messages are "unknown".
    mock_http.post(LINE_BATCH_URL, status=303, headers={"Location": "https://example.com/x"})
    with pytest.raises(aiomsg.OutcomeUnknownError) as info:
        await eight.chatapps.send_line_notification_batch(SUB, [LINE_MESSAGE])
    cause = info.value.__cause__
    assert type(cause) is aiomsg.APIStatusError
    assert cause.status_code == 303
    assert len(mock_http.sent()) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_line_send_any_redirect_leaves_the_outcome_open(
    eight: aiomsg.EightByEight, mock_http: Any, status: int
) -> None:
    # Servers redirect after processing a POST too: never followed, never repeated, and
    # the messages are "unknown" (the redirect is the cause).
    mock_http.post(LINE_BATCH_URL, status=status, headers={"Location": "https://example.com/x"})
    with pytest.raises(aiomsg.OutcomeUnknownError) as info:
        await eight.chatapps.send_line_notification_batch(SUB, [LINE_MESSAGE])
    cause = info.value.__cause__
    assert isinstance(cause, aiomsg.APIStatusError)
    assert cause.status_code == status
    assert len(mock_http.sent()) == 1


async def test_line_send_with_an_undecodable_answer(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    # 8x8 answered 200, so the batch was taken, but its batchId cannot be read.
    mock_http.post(LINE_BATCH_URL, status=200, payload={"acceptedCount": 1})
    with pytest.raises(aiomsg.OutcomeUnknownError) as info:
        await eight.chatapps.send_line_notification_batch(SUB, [LINE_MESSAGE])
    assert info.value.client_message_ids == ("1234_id",)
    cause = info.value.__cause__
    assert isinstance(cause, aiomsg.APIResponseError)
    assert cause.status_code == 200
    assert "batchId" in str(cause)
