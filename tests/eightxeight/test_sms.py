"""8x8 SMS endpoints: requests on the wire, answers, error mapping, path safety."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import aiomsg
from tests.examples import SEED_ERROR_IDS, SEED_ERRORS

BASE = "https://sms.8x8.com"
SUB = "acme-sub_01"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
BATCH = "cf3cbbf5-3e2d-ea11-815d-020897df5459"
CANCEL_MESSAGE_URL = f"{BASE}/api/v1/subaccounts/{SUB}/messages/{UMID}"
CANCEL_BATCH_URL = f"{BASE}/api/v1/subaccounts/{SUB}/messages/batch/{BATCH}"

Call = Callable[[aiomsg.EightByEight], Awaitable[aiomsg.CancelResult]]
ENDPOINTS: list[tuple[str, str, Call]] = [
    ("cancel_message", CANCEL_MESSAGE_URL, lambda c: c.sms.cancel_message(SUB, UMID)),
    ("cancel_batch", CANCEL_BATCH_URL, lambda c: c.sms.cancel_batch(SUB, BATCH)),
]
ENDPOINT_PARAMS = pytest.mark.parametrize(
    ("url", "call"), [e[1:] for e in ENDPOINTS], ids=[e[0] for e in ENDPOINTS]
)


@ENDPOINT_PARAMS
@pytest.mark.parametrize("count", [0, 1, 10])
async def test_cancel_success(
    eight: aiomsg.EightByEight, mock_http: Any, api_key: str, url: str, call: Call, count: int
) -> None:
    mock_http.delete(url, payload={"cancelledCount": count})
    result = await call(eight)
    method, sent_url, kwargs = mock_http.only_request()
    assert (method, str(sent_url)) == ("DELETE", url)
    headers = kwargs["headers"]
    assert headers["Authorization"] == f"Bearer {api_key}"
    assert headers["Accept"] == "application/json"
    assert "Content-Type" not in headers
    assert kwargs["data"] is None
    assert kwargs["allow_redirects"] is False
    assert result == aiomsg.CancelResult(cancelled_count=count)


@ENDPOINT_PARAMS
@pytest.mark.parametrize(("status", "body", "cls"), SEED_ERRORS, ids=SEED_ERROR_IDS)
async def test_error_examples_raise_the_status_class(
    eight: aiomsg.EightByEight,
    mock_http: Any,
    url: str,
    call: Call,
    status: int,
    body: dict[str, Any],
    cls: type[aiomsg.APIStatusError],
) -> None:
    mock_http.delete(url, status=status, payload=body)
    with pytest.raises(aiomsg.APIStatusError) as info:
        await call(eight)
    exc = info.value
    assert type(exc) is cls
    assert exc.status_code == status
    assert exc.code == body["code"]
    assert exc.message == body["message"]
    assert exc.error_id == body["errorId"]
    assert exc.timestamp == body["timestamp"]
    assert (exc.method, exc.url) == ("DELETE", url)
    assert len(mock_http.sent()) == 1


async def test_not_found_is_a_not_found_error(eight: aiomsg.EightByEight, mock_http: Any) -> None:
    mock_http.delete(
        CANCEL_MESSAGE_URL,
        status=404,
        payload={
            "code": 1300,
            "message": "Object wasn't found or is already expired",
            "errorId": "1cc1eda1-f5dd-ea11-8288-0263195dd35a",
            "timestamp": "2020-12-22T05:52:01.85Z",
        },
    )
    with pytest.raises(aiomsg.NotFoundError) as info:
        await eight.sms.cancel_message(SUB, UMID)
    assert info.value.code == 1300
    assert "1cc1eda1-f5dd-ea11-8288-0263195dd35a" in str(info.value)


@pytest.mark.parametrize("value", ["../x", "a/b", "%2e%2e", "a?b", "a#b", "x\r\ny", ".", "..", ""])
async def test_hostile_ids_never_reach_the_wire(
    eight: aiomsg.EightByEight, mock_http: Any, value: str
) -> None:
    cases: list[tuple[Callable[[], Awaitable[object]], str]] = [
        (lambda: eight.sms.cancel_message(value, UMID), "sub_account_id"),
        (lambda: eight.sms.cancel_batch(value, BATCH), "sub_account_id"),
        (lambda: eight.sms.cancel_message(SUB, value), "umid"),
        (lambda: eight.sms.cancel_batch(SUB, value), "batch_id"),
    ]
    for call, field in cases:
        with pytest.raises(aiomsg.ValidationError) as info:
            await call()
        assert info.value.field == field
    assert mock_http.requests == {}


async def test_uppercase_uuid_is_kept_as_written(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    umid = UMID.upper()
    mock_http.delete(re.compile(r".*"), payload={"cancelledCount": 1})
    await eight.sms.cancel_message(SUB, umid)
    _, url, _ = mock_http.only_request()
    assert url.raw_path == f"/api/v1/subaccounts/{SUB}/messages/{umid}"
