"""Revicom stop: request on the wire, answers (unknown codes kept), errors, input rules."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

import aiomsg
from tests.examples import REVICOM_STOP_RESPONSE, REVICOM_STOP_RESPONSE_DESCRIBED, REVICOM_UUIDS

STOP_URL = "https://direct.revicom.ltd/api/v1/message/stop"


async def test_stop_batch_sends_the_documented_request(
    revicom: aiomsg.Revicom, mock_http: Any, revicom_token: str
) -> None:
    mock_http.post(STOP_URL, payload=REVICOM_STOP_RESPONSE)

    result = await revicom.stop_batch(REVICOM_UUIDS)

    method, url, kwargs = mock_http.only_request()
    assert (method, str(url)) == ("POST", STOP_URL)
    headers = kwargs["headers"]
    # The page's request example: "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    assert headers["Authorization"] == f"Basic {revicom_token}"
    assert headers["Authorization"] == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    assert headers["Content-Type"] == "application/json"
    assert json.loads(kwargs["data"]) == {"uuids": REVICOM_UUIDS}
    assert kwargs["allow_redirects"] is False
    assert isinstance(result, aiomsg.StopResult)
    assert result.errors is True
    assert [(i.message_uuid, i.code) for i in result.items] == [
        ("2a28d557-22a1-4be6-8908-1481723043dd", 201),
        ("811c27e3-3bc4-406a-9fcd-44435a8208da", aiomsg.StopCode.NOT_STOPPABLE),
        ("cc46e6b6-2d77-4457-aa81-c17a027721d3", aiomsg.StopCode.NOT_FOUND),
    ]


async def test_stop_batch_decodes_every_documented_code(
    revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    mock_http.post(STOP_URL, payload=REVICOM_STOP_RESPONSE_DESCRIBED)
    asked = [item["messageUuid"] for item in REVICOM_STOP_RESPONSE_DESCRIBED["items"]]
    result = await revicom.stop_batch(asked)
    assert [i.code for i in result.items] == [200, 202, 403, 404]
    assert (result.extra_items, result.missing) == ([], [])
    assert result.items[1] == aiomsg.StopItem(
        message_uuid="063464ec-a34f-4558-90c5-984395000001", code=aiomsg.StopCode.MAYBE_STOPPED
    )


async def test_duplicates_are_sent_once_in_first_seen_order(
    revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    a, b, c = REVICOM_UUIDS
    mock_http.post(STOP_URL, payload={"errors": False, "items": []})
    await revicom.stop_batch([a, b, a, c, b, a])
    _, _, kwargs = mock_http.only_request()
    assert json.loads(kwargs["data"]) == {"uuids": [a, b, c]}


async def test_ten_thousand_uuids_fit_one_request(revicom: aiomsg.Revicom, mock_http: Any) -> None:
    uuids = [str(uuid.UUID(int=i)) for i in range(10_000)]
    mock_http.post(STOP_URL, payload={"errors": False, "items": []})
    await revicom.stop_batch(uuids)
    _, _, kwargs = mock_http.only_request()
    assert json.loads(kwargs["data"])["uuids"] == uuids


async def test_ten_thousand_unique_after_duplicates_are_removed(
    revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    uuids = [str(uuid.UUID(int=i)) for i in range(10_000)]
    mock_http.post(STOP_URL, payload={"errors": False, "items": []})
    await revicom.stop_batch(uuids + uuids[:50])
    _, _, kwargs = mock_http.only_request()
    assert len(json.loads(kwargs["data"])["uuids"]) == 10_000


@pytest.mark.parametrize(
    "uuids",
    [
        [],
        [str(uuid.UUID(int=i)) for i in range(10_001)],
        ["not-a-uuid"],
        [REVICOM_UUIDS[0], "2a28d557-22a1-4be6-8908-1481723043d"],
        ["xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"],
        [REVICOM_UUIDS[0].replace("-", "")],
        [f"{REVICOM_UUIDS[0]}\n{REVICOM_UUIDS[1]}"],
        [uuid.UUID(REVICOM_UUIDS[0])],
        [None],
        REVICOM_UUIDS[0],
    ],
    ids=[
        "empty",
        "10001",
        "not-uuid",
        "short",
        "x-shaped",
        "undashed",
        "two-in-one",
        "UUID-object",
        "None",
        "single-string",
    ],
)
async def test_bad_uuid_lists_never_reach_the_wire(
    revicom: aiomsg.Revicom, mock_http: Any, uuids: Any
) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        await revicom.stop_batch(uuids)
    assert info.value.field.startswith("uuids")
    assert info.value.rule
    assert mock_http.requests == {}


async def test_the_bad_item_is_named(revicom: aiomsg.Revicom, mock_http: Any) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        await revicom.stop_batch([REVICOM_UUIDS[0], REVICOM_UUIDS[1], "oops"])
    assert info.value.field == "uuids[2]"
    assert "uuid" in info.value.rule
    assert mock_http.requests == {}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, aiomsg.BadRequestError),
        (401, aiomsg.AuthenticationError),
        (403, aiomsg.PermissionDeniedError),
        (404, aiomsg.NotFoundError),
        (500, aiomsg.InternalServerError),
    ],
)
async def test_error_statuses(
    revicom: aiomsg.Revicom, mock_http: Any, status: int, cls: type[aiomsg.APIStatusError]
) -> None:
    # Revicom documents no error body: whatever arrives, the status decides the class.
    mock_http.post(STOP_URL, status=status, body='{"error": "Unauthorized"}')
    with pytest.raises(aiomsg.APIStatusError) as info:
        await revicom.stop_batch(REVICOM_UUIDS)
    assert type(info.value) is cls
    assert info.value.status_code == status
    assert info.value.code is None
    assert (info.value.method, info.value.url) == ("POST", STOP_URL)
    assert "Unauthorized" in info.value.body_excerpt


async def test_undecodable_answer_raises_response_error(
    revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    mock_http.post(STOP_URL, payload={"errors": False, "items": [{"code": 200}]})
    with pytest.raises(aiomsg.APIResponseError) as info:
        await revicom.stop_batch(REVICOM_UUIDS)
    assert info.value.status_code == 200
    assert "messageUuid" in str(info.value)
