"""Decoding 8x8's delivery receipt webhooks: both formats, other events, odd bodies."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiomsg.eightxeight.models import MessageState
from aiomsg.receipts import (
    DeliveryReceipt,
    EventType,
    ReceiptDecodeError,
    ReceiptDetail,
    WebhookEvent,
    decode_webhook,
    state_rank,
)
from tests.receipts.support import encode, receipt

UTC = dt.timezone.utc


def test_v9_receipt_decodes_every_documented_field() -> None:
    body = receipt(whatsapp={"pricingCategory": "marketing"}, channel="whatsapp")
    body["payload"]["user"]["channelUserId"] = "US.1234567890"
    decoded = decode_webhook(encode(body))
    assert isinstance(decoded, DeliveryReceipt)
    assert decoded.version == 9
    assert decoded.namespace == "ChatApps"
    assert decoded.event_type == EventType.OUTBOUND_MESSAGE_STATUS_CHANGED
    p = decoded.payload
    assert p.umid == "3f1b7e4c-8d6a-4a51-9c2e-0b9f4c1d2e3a"
    assert p.batch_id == "a9e4a3f0-6c2b-4c1d-8f3e-1d2c3b4a5f60"
    assert p.client_message_id == "msg-1"
    assert p.client_batch_id == "job-7"
    assert p.sub_account_id == "sub-receipts"
    assert p.channel == "whatsapp"
    assert p.user is not None
    assert p.user.msisdn == "+6591234567"
    assert p.user.channel_user_id == "US.1234567890"
    assert p.status.state == MessageState.DELIVERED
    assert p.status.detail == ReceiptDetail.DELIVERED_TO_RECIPIENT
    assert p.status.observed_at == dt.datetime(2026, 7, 3, 3, 40, 54, 160000, tzinfo=UTC)
    assert p.whatsapp is not None
    assert p.whatsapp.pricing_category == "marketing"


def test_v8_receipt_has_no_version_and_carries_errors() -> None:
    body = receipt(
        version=None,
        state="undelivered",
        detail="rejected_by_operator",
        timestamp="2026-01-01T00:00:00Z",
        error_code=15,
        error_message="Invalid destination",
        whatsapp={"providerErrorCode": "131009"},
    )
    decoded = decode_webhook(encode(body))
    assert isinstance(decoded, DeliveryReceipt)
    assert decoded.version == 8
    s = decoded.payload.status
    assert (s.state, s.detail, s.error_code, s.error_message) == (
        "undelivered",
        "rejected_by_operator",
        15,
        "Invalid destination",
    )
    assert decoded.payload.whatsapp is not None
    assert decoded.payload.whatsapp.provider_error_code == "131009"


def test_v9_outbound_content_and_unknown_fields_are_accepted() -> None:
    body = receipt(
        outboundContent={"channel": "whatsapp", "contentType": "text", "body": {"text": "hi"}},
        somethingNew={"nested": [1, 2, 3]},
    )
    body["brandNewTopLevel"] = True
    decoded = decode_webhook(encode(body))
    assert isinstance(decoded, DeliveryReceipt)
    assert decoded.payload.status.state == "delivered"


def test_unknown_states_and_details_are_kept_as_they_came() -> None:
    decoded = decode_webhook(encode(receipt(state="expired", detail="timed_out_somewhere")))
    assert isinstance(decoded, DeliveryReceipt)
    assert decoded.payload.status.state == "expired"
    assert decoded.payload.status.detail == "timed_out_somewhere"
    assert state_rank("expired") == 0


def test_states_rank_in_the_order_of_a_message_life() -> None:
    ranks = [state_rank(s) for s in ("queued", "sent", "delivered", "read")]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == 4
    assert state_rank("undelivered") == state_rank("rejected") == state_rank("delivered")


def test_an_error_code_sent_as_a_string_is_kept_not_refused() -> None:
    decoded = decode_webhook(encode(receipt(state="undelivered", error_code="15")))
    assert isinstance(decoded, DeliveryReceipt)
    assert decoded.payload.status.error_code == "15"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2020-12-22T01:24:30.6030893Z", dt.datetime(2020, 12, 22, 1, 24, 30, 603089, UTC)),
        ("2026-07-03T03:23:21.90Z", dt.datetime(2026, 7, 3, 3, 23, 21, 900000, UTC)),
        ("2026-07-03T11:23:21+08:00", dt.datetime(2026, 7, 3, 3, 23, 21, tzinfo=UTC)),
        ("2026-07-03T03:23:21", dt.datetime(2026, 7, 3, 3, 23, 21, tzinfo=UTC)),  # no zone: UTC
        ("yesterday", None),
        (None, None),
    ],
)
def test_status_timestamps_in_odd_formats(
    timestamp: str | None, expected: dt.datetime | None
) -> None:
    decoded = decode_webhook(encode(receipt(timestamp=timestamp)))
    assert isinstance(decoded, DeliveryReceipt)
    assert decoded.payload.status.observed_at == expected


def test_a_receipt_without_client_message_id_or_optional_fields_decodes() -> None:
    body = {
        "eventType": "outbound_message_status_changed",
        "payload": {"umid": "u-1", "status": {"state": "queued"}},
    }
    decoded = decode_webhook(encode(body))
    assert isinstance(decoded, DeliveryReceipt)
    assert decoded.payload.client_message_id is None
    assert decoded.payload.user is None


@pytest.mark.parametrize("version", [None, 9])
def test_other_event_types_pass_through_untyped(version: int | None) -> None:
    body = {
        "namespace": "ChatApps",
        "eventType": "external_app_message",
        "description": "External App Message",
        "payload": {"umid": "u-9", "type": "Text", "content": {"text": "hello"}},
    }
    if version is not None:
        body["version"] = version
    decoded = decode_webhook(encode(body))
    assert isinstance(decoded, WebhookEvent)
    assert decoded.event_type == EventType.EXTERNAL_APP_MESSAGE
    assert decoded.version == (version or 8)
    assert decoded.payload == {"umid": "u-9", "type": "Text", "content": {"text": "hello"}}


def test_an_event_type_nobody_knows_yet_is_passed_through() -> None:
    body = {"version": 9, "eventType": "inbound_reaction_added", "payload": [1, "two"]}
    decoded = decode_webhook(encode(body))
    assert isinstance(decoded, WebhookEvent)
    assert decoded.event_type == "inbound_reaction_added"
    assert decoded.payload == [1, "two"]


@pytest.mark.parametrize("version", [7, 10, 0, -1, 2**40])
def test_unknown_versions_are_refused_with_422(version: int) -> None:
    with pytest.raises(ReceiptDecodeError) as info:
        decode_webhook(encode(receipt(version=version)))
    assert info.value.status == 422
    assert f"version {version}" in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json at all",
        b"<html>hello</html>",
        b'{"eventType": "outbound_message_status_changed", "payload": ',
        b"[]",
        b"null",
        b'"a string"',
        b"{}",  # no eventType
        encode({"eventType": 5, "payload": {}}),
        encode({"version": "9", "eventType": "outbound_message_status_changed", "payload": {}}),
        encode({"version": True, "eventType": "outbound_message_status_changed", "payload": {}}),
        encode({"eventType": "outbound_message_status_changed"}),  # no payload
        encode({"eventType": "outbound_message_status_changed", "payload": []}),
        encode({"eventType": "outbound_message_status_changed", "payload": {"umid": "u"}}),
        encode(
            {"eventType": "outbound_message_status_changed", "payload": {"status": {"state": "x"}}}
        ),
        encode(
            {
                "eventType": "outbound_message_status_changed",
                "payload": {"umid": 12, "status": {"state": "queued"}},
            }
        ),
        encode(
            {
                "eventType": "outbound_message_status_changed",
                "payload": {"umid": "u", "status": {"detail": "no state"}},
            }
        ),
        '{"eventType": "x", "payload": "\udcff"}'.encode("utf-8", "surrogatepass"),
        # Invalid UTF-8 inside a receipt's payload (the envelope skips over it unread).
        b'{"eventType": "outbound_message_status_changed", "payload": '
        b'{"umid": "u\xff", "status": {"state": "queued"}}}',
        b'{"eventType": "outbound_message_status_changed", "payload": '
        b'{"umid": "u", "status": {"state": "queued"}, "user": {"msisdn": "\xc3"}}}',
    ],
)
def test_bodies_of_the_wrong_shape_are_refused_with_400(body: bytes) -> None:
    with pytest.raises(ReceiptDecodeError) as info:
        decode_webhook(body)
    assert info.value.status == 400


@pytest.mark.parametrize("event_type", ["outbound_message_status_changed", "other"])
@pytest.mark.parametrize("depth", [100, 5000, 60000])
def test_deeply_nested_json_is_refused_not_a_crash(event_type: str, depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    body = (
        b'{"eventType": "' + event_type.encode() + b'", "payload": '
        b'{"umid": "u", "status": {"state": "queued"}, "deep": ' + nested + b"}}"
    )
    if depth <= 100:  # well within any interpreter's recursion limit
        assert decode_webhook(body).event_type == event_type
        return
    with pytest.raises(ReceiptDecodeError, match="nested too deeply") as info:
        decode_webhook(body)
    assert info.value.status == 400


def test_decode_errors_never_quote_the_values() -> None:
    body = receipt()
    body["payload"]["clientMessageId"] = 6591234567
    with pytest.raises(ReceiptDecodeError) as info:
        decode_webhook(encode(body))
    assert "6591234567" not in str(info.value)
    assert "clientMessageId" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user", {"msisdn": 6591234567}),
        ("user", "+6591234567"),
        ("whatsapp", {"pricingCategory": ["marketing"]}),
        ("whatsapp", 131009),
    ],
)
def test_a_malformed_optional_field_does_not_cost_the_receipt(
    field: str, value: object, caplog: pytest.LogCaptureFixture
) -> None:
    body = receipt()
    body["payload"][field] = value
    decoded = decode_webhook(encode(body))
    assert isinstance(decoded, DeliveryReceipt)
    p = decoded.payload
    assert (p.umid, p.client_message_id, p.status.state) == (
        "3f1b7e4c-8d6a-4a51-9c2e-0b9f4c1d2e3a",
        "msg-1",
        "delivered",
    )
    assert p.user is None
    assert p.whatsapp is None
    assert f"$.{field}" in caplog.text
    assert "91234567" not in caplog.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "delivered"), ("status", {"state": 3}), ("clientMessageId", ["m"])],
)
def test_a_malformed_field_that_reconcile_reads_is_refused(field: str, value: object) -> None:
    body = receipt()
    body["payload"][field] = value
    with pytest.raises(ReceiptDecodeError) as info:
        decode_webhook(encode(body))
    assert info.value.status == 400


def test_key_is_the_same_for_a_retried_delivery_however_it_is_serialised() -> None:
    body = receipt()
    first = decode_webhook(encode(body))
    again = decode_webhook(json.dumps(body, indent=2, sort_keys=True).encode())
    assert isinstance(first, DeliveryReceipt)
    assert isinstance(again, DeliveryReceipt)
    assert first.key == again.key
    for other in (receipt(state="read"), receipt(detail=None), receipt(umid="other")):
        decoded = decode_webhook(encode(other))
        assert isinstance(decoded, DeliveryReceipt)
        assert decoded.key != first.key


def test_reprs_do_not_show_phone_numbers_or_event_payloads() -> None:
    decoded = decode_webhook(encode(receipt()))
    assert "91234567" not in repr(decoded)
    assert "4567" in repr(decoded)  # the last four digits, as elsewhere
    user = {"user": {"msisdn": "+6591234567"}}
    event = decode_webhook(encode({"eventType": "external_app_message", "payload": user}))
    assert "91234567" not in repr(event)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(lambda t: t.encode()))
def test_any_bytes_decode_or_raise_receipt_decode_error(body: bytes) -> None:
    _decodes_or_refuses(body)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "version": st.integers(6, 11) | _json,
            "eventType": st.sampled_from(["outbound_message_status_changed", "other"]) | _json,
            "payload": st.fixed_dictionaries(
                {},
                optional={
                    "umid": st.text(max_size=5) | _json,
                    "status": st.fixed_dictionaries({}, optional={"state": _json}) | _json,
                    "clientMessageId": _json,
                },
            )
            | _json,
        },
    )
)
def test_any_json_envelope_decodes_or_raises_receipt_decode_error(body: object) -> None:
    _decodes_or_refuses(encode(body))


def _decodes_or_refuses(body: bytes) -> None:
    status = 200
    try:
        decode_webhook(body)
    except ReceiptDecodeError as exc:
        status = exc.status
    assert status in (200, 400, 422)


_VALID = encode(receipt())


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, len(_VALID)),
    st.integers(0, 8),
    st.binary(min_size=0, max_size=8),
)
def test_a_damaged_receipt_decodes_or_raises_receipt_decode_error(
    at: int, cut: int, inserted: bytes
) -> None:
    _decodes_or_refuses(_VALID[:at] + inserted + _VALID[at + cut :])
