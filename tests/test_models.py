"""Models: forward-compatible decoding, and encode/decode round trips (hypothesis).

The codec itself (``aiomsg._codec``) is tested in ``test_codec.py``."""

from __future__ import annotations

import datetime as dt
import gc
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec import UNSET

import aiomsg
from aiomsg._codec import decoder_for, encode
from aiomsg.eightxeight.models import (
    ENCODINGS,
    ICONS,
    LineNotificationBatch,
    as_line_notification,
    parse_timestamp,
)
from aiomsg.revicom.models import StopRequest
from tests.examples import LINE_BATCH_RESPONSE, LINE_MESSAGE, REVICOM_STOP_RESPONSE

UTC = dt.timezone.utc


def from_json(tp: type[Any], obj: Any) -> Any:
    return decoder_for(tp).decode(msgspec.json.encode(obj))


# ------------------------------------------------------------------------ decoding


def test_line_batch_result_from_the_spec_examples() -> None:
    result = from_json(aiomsg.LineNotificationBatchResult, LINE_BATCH_RESPONSE)
    assert result.batch_id == "cf3cbbf5-3e2d-ea11-815d-020897df5459"
    assert result.messages[1].status == aiomsg.MessageStatus(
        state="rejected",
        timestamp="2020-01-04T08:19:45.99Z",
        error_code=3038,
        error_message="Template not found for provided name and language",
    )
    assert result.messages[1].user == aiomsg.UserInfo(msisdn="+65000001")
    # The schema-shaped example: every status field present.
    full = from_json(
        aiomsg.LineNotificationBatchResult,
        {
            "batchId": "cf3cbbf5-3e2d-ea11-815d-020897df5459",
            "clientBatchId": "string",
            "acceptedCount": 0,
            "rejectedCount": 0,
            "messages": [
                {
                    "status": {
                        "state": "delivered",
                        "detail": "delivered_to_carrier",
                        "errorCode": 0,
                        "errorMessage": "Invalid message length",
                        "timestamp": "2020-06-17T04:17:21.06Z",
                    },
                    "umid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "user": {"msisdn": "+6500000000", "country": "SG"},
                    "clientMessageId": "string",
                }
            ],
        },
    )
    status = full.messages[0].status
    assert (status.state, status.detail, status.error_code) == (
        "delivered",
        "delivered_to_carrier",
        0,
    )
    assert status.observed_at == dt.datetime(2020, 6, 17, 4, 17, 21, 60000, tzinfo=UTC)
    assert full.messages[0].user.country == "SG"


@pytest.mark.parametrize("state", ["rejected", "expired", "some_future_state"])
def test_unknown_states_are_kept(state: str) -> None:
    status = from_json(aiomsg.MessageStatus, {"state": state})
    assert status.state == state


def test_unknown_fields_are_ignored() -> None:
    body = {**LINE_BATCH_RESPONSE, "newField": {"nested": [1, 2]}, "acceptedCount": 1}
    body["messages"] = [
        {**body["messages"][0], "channel": "line", "status": {"state": "queued", "x": 1}}
    ]
    result = from_json(aiomsg.LineNotificationBatchResult, body)
    assert result.messages[0].status.state == "queued"
    assert from_json(aiomsg.CancelResult, {"cancelledCount": 3, "extra": True}).cancelled_count == 3
    stop = from_json(
        aiomsg.StopResult, {"items": [{"messageUuid": "u", "code": 200, "why": "x"}], "t": 1}
    )
    assert stop.items == [aiomsg.StopItem(message_uuid="u", code=200)]


def test_missing_optional_fields_take_defaults() -> None:
    result = from_json(aiomsg.LineNotificationBatchResult, {"batchId": "b"})
    assert (result.accepted_count, result.rejected_count) == (0, 0)
    assert result.client_batch_id is None
    assert result.messages is None
    message = from_json(aiomsg.LineMessageResult, {"umid": "u"})
    assert message.status.state == aiomsg.MessageState.UNKNOWN
    assert message.user is None
    assert message.client_message_id is None
    assert message.status.observed_at is None
    assert from_json(aiomsg.StopResult, {}) == aiomsg.StopResult(errors=False, items=[])


def test_unknown_revicom_codes_are_kept() -> None:
    result = from_json(aiomsg.StopResult, REVICOM_STOP_RESPONSE)
    assert result.items[0].code == 201
    assert result.errors is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2017-04-19T02:31:19.4297387+00:00",
            dt.datetime(2017, 4, 19, 2, 31, 19, 429739, tzinfo=UTC),
        ),
        (
            "2018-08-02T09:42:38.8988997+00:00",
            dt.datetime(2018, 8, 2, 9, 42, 38, 898900, tzinfo=UTC),
        ),
        ("2020-06-18T06:42:57.20Z", dt.datetime(2020, 6, 18, 6, 42, 57, 200000, tzinfo=UTC)),
        ("2020-01-04T08:19:45.99Z", dt.datetime(2020, 1, 4, 8, 19, 45, 990000, tzinfo=UTC)),
        ("2020-12-22T05:52:01Z", dt.datetime(2020, 12, 22, 5, 52, 1, tzinfo=UTC)),
    ],
)
def test_provider_timestamps_parse(text: str, expected: dt.datetime) -> None:
    assert parse_timestamp(text) == expected
    assert aiomsg.MessageStatus(timestamp=text).observed_at == expected


def test_ids_and_timestamps_stay_strings() -> None:
    result = from_json(aiomsg.LineNotificationBatchResult, LINE_BATCH_RESPONSE)
    assert type(result.batch_id) is str
    assert type(result.messages[0].umid) is str
    assert type(result.messages[0].status.timestamp) is str


def test_small_results_are_not_tracked_by_the_gc() -> None:
    assert not gc.is_tracked(from_json(aiomsg.CancelResult, {"cancelledCount": 1}))
    assert not gc.is_tracked(aiomsg.StopItem(message_uuid="u", code=200))
    assert not gc.is_tracked(from_json(aiomsg.MessageStatus, {"state": "queued"}))


# ---------------------------------------------------------------- hypothesis: strategies

text = st.text(max_size=30)
short_text = st.text(max_size=12)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(UNSET), strategy)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


e164 = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
country = st.from_regex(r"[A-Za-z]{2}", fullmatch=True)
url = st.from_regex(r"https://[a-z]{1,10}\.example/[a-z0-9/]{0,10}", fullmatch=True)
users = st.one_of(
    st.builds(aiomsg.LineUser, msisdn=e164, country=maybe(country)),
    st.builds(
        aiomsg.LineUser,
        msisdn=st.from_regex(r"[0-9]{4,15}", fullmatch=True),
        country=country,
    ),
    st.builds(aiomsg.LineUser, channel_user_id=st.text(min_size=1, max_size=100).filter(str.strip)),
)
contents = st.builds(
    aiomsg.LineContent,
    title=maybe(text),
    company=maybe(short_text),
    icon=maybe(st.sampled_from(sorted(ICONS))),
    emphasis=maybe(st.builds(aiomsg.LineEmphasis, label=maybe(text), content=maybe(text))),
    items=maybe(
        st.lists(st.builds(aiomsg.LineListItem, label=maybe(text), content=maybe(text)), max_size=3)
    ),
    greeting=maybe(text),
    explanation=maybe(text),
    actions=maybe(
        st.lists(st.builds(aiomsg.LineAction, title=maybe(text), url=maybe(url)), max_size=3)
    ),
)
fallbacks = st.builds(
    aiomsg.SmsFallback,
    text=maybe(text),
    source=maybe(st.text(max_size=16)),
    encoding=maybe(st.sampled_from(sorted(ENCODINGS))),
)
notifications = st.builds(
    aiomsg.LineNotification,
    user=users,
    content=contents,
    client_message_id=maybe(st.text(max_size=50)),
    dlr_callback_url=maybe(url),
    sms_fallback=maybe(fallbacks),
)
batches = st.builds(
    LineNotificationBatch,
    messages=st.lists(notifications, min_size=1, max_size=3),
    client_batch_id=maybe(st.text(max_size=100)),
    include_messages_in_response=maybe(st.booleans()),
)
uuids = st.uuids().map(str)
counts = st.integers(min_value=0, max_value=10_000)
statuses = st.builds(
    aiomsg.MessageStatus,
    state=st.one_of(st.sampled_from(["queued", "rejected", "delivered"]), short_text),
    detail=optional(short_text),
    error_code=optional(st.integers(min_value=-(2**31), max_value=2**31)),
    error_message=optional(text),
    timestamp=optional(st.just("2020-06-18T06:42:57.20Z")),
)
user_infos = st.builds(
    aiomsg.UserInfo,
    msisdn=optional(e164),
    country=optional(country),
    channel_user_id=optional(short_text),
)
message_results = st.builds(
    aiomsg.LineMessageResult,
    umid=uuids,
    status=statuses,
    user=optional(user_infos),
    client_message_id=optional(short_text),
)
batch_results = st.builds(
    aiomsg.LineNotificationBatchResult,
    batch_id=uuids,
    accepted_count=counts,
    rejected_count=counts,
    client_batch_id=optional(short_text),
    messages=optional(st.lists(message_results, max_size=3)),
)
stop_results = st.builds(
    aiomsg.StopResult,
    errors=st.booleans(),
    items=st.lists(
        st.builds(
            aiomsg.StopItem, message_uuid=uuids, code=st.sampled_from([200, 201, 202, 403, 404])
        ),
        max_size=5,
    ),
)

STRUCTS: dict[str, st.SearchStrategy[Any]] = {
    "LineUser": users,
    "LineContent": contents,
    "SmsFallback": fallbacks,
    "LineNotification": notifications,
    "LineNotificationBatch": batches,
    "StopRequest": st.builds(StopRequest, uuids=st.lists(uuids, max_size=5)),
    "MessageStatus": statuses,
    "UserInfo": user_infos,
    "LineMessageResult": message_results,
    "LineNotificationBatchResult": batch_results,
    "CancelResult": st.builds(aiomsg.CancelResult, cancelled_count=counts),
    "StopResult": stop_results,
}
PROPERTY = settings(max_examples=40, deadline=None, database=None)


@pytest.mark.parametrize("strategy", STRUCTS.values(), ids=STRUCTS.keys())
@settings(max_examples=25, deadline=None, database=None)
@given(data=st.data())
def test_every_struct_round_trips(strategy: st.SearchStrategy[Any], data: st.DataObject) -> None:
    obj = data.draw(strategy)
    wire = encode(obj)
    assert decoder_for(type(obj)).decode(wire) == obj


@PROPERTY
@given(notifications)
def test_valid_messages_pass_as_mappings_too(msg: aiomsg.LineNotification) -> None:
    # The camelCase mapping (a JSONL line) of a valid message is valid and equal.
    mapping = msgspec.json.decode(encode(msg))
    assert as_line_notification(mapping) == msg
    assert as_line_notification(msg) is msg


@PROPERTY
@given(
    client_message_id=st.text(max_size=80),
    source=st.text(max_size=30),
    client_batch_id=st.text(max_size=150),
)
def test_length_limits(client_message_id: str, source: str, client_batch_id: str) -> None:
    user = aiomsg.LineUser(msisdn="+6500000000")

    def outcome(build: Any) -> str | None:
        try:
            build()
        except aiomsg.ValidationError as exc:
            return exc.field
        return None

    assert outcome(
        lambda: aiomsg.LineNotification(
            user=user, content=aiomsg.LineContent(), client_message_id=client_message_id
        )
    ) == ("clientMessageId" if len(client_message_id) > 50 else None)
    assert outcome(lambda: aiomsg.SmsFallback(source=source)) == (
        "smsFallback.source" if len(source) > 16 else None
    )
    msg = aiomsg.LineNotification(user=user, content=aiomsg.LineContent())
    assert outcome(
        lambda: LineNotificationBatch(messages=[msg], client_batch_id=client_batch_id)
    ) == ("clientBatchId" if len(client_batch_id) > 100 else None)
    mapping = {**LINE_MESSAGE, "clientMessageId": client_message_id}
    assert outcome(lambda: as_line_notification(mapping, "m")) == (
        "m.clientMessageId" if len(client_message_id) > 50 else None
    )
