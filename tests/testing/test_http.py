"""The simulator's answers over raw HTTP: routes, credentials, validation, recording."""

from __future__ import annotations

import re
from typing import Any

import pytest

from aiomsg.testing import Simulator

from .conftest import LINE, SUB, UMID, Raw

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\dZ$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def batch_url(raw: Raw) -> str:
    return raw.chatapps(f"/subaccounts/{SUB}/lon/batch")


def line(**changes: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"user": dict(LINE["user"]), "content": dict(LINE["content"])}
    msg.update(changes)
    return msg


def assert_error(status: int, body: Any, want_status: int, code: int, message: str | None = None):
    assert status == want_status, body
    assert body["code"] == code, body
    if message is not None:
        assert body["message"] == message
    assert UUID.match(body["errorId"])
    assert TIMESTAMP.match(body["timestamp"])


# ---------------------------------------------------------------------------- credentials


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic sim-api-key", "sim-api-key"])
async def test_wrong_or_missing_key_is_401_1200(raw: Raw, auth: str | None) -> None:
    status, _, body = await raw.call(
        "DELETE", raw.sms(f"/subaccounts/{SUB}/messages/{UMID}"), auth=auth
    )
    assert_error(status, body, 401, 1200, "Request was not authenticated properly")


async def test_sub_account_not_owned_is_400_1001(raw: Raw, sim: Simulator) -> None:
    url = raw.sms(f"/subaccounts/other-sub/messages/{UMID}")
    status, _, body = await raw.call("DELETE", url)
    assert_error(status, body, 400, 1001, "Provided subAccountId doesn't belongs to your account")
    sim.add_sub_account("other-sub")
    status, _, body = await raw.call("DELETE", url)
    assert_error(status, body, 404, 1300, "Message not found.")


async def test_sub_account_breaking_the_pattern_is_400_1001(raw: Raw) -> None:
    status, _, body = await raw.call("DELETE", raw.sms(f"/subaccounts/a%20b/messages/{UMID}"))
    assert_error(status, body, 400, 1001)


async def test_a_second_key_owns_only_its_sub_accounts(raw: Raw, sim: Simulator) -> None:
    sim.add_api_key("key-2", sub_accounts=["sub-two"])
    status, _, _ = await raw.call(
        "DELETE", raw.sms(f"/subaccounts/sub-two/messages/{UMID}"), auth="Bearer key-2"
    )
    assert status == 404
    status, _, body = await raw.call(
        "DELETE", raw.sms(f"/subaccounts/{SUB}/messages/{UMID}"), auth="Bearer key-2"
    )
    assert_error(status, body, 400, 1001)


# ---------------------------------------------------------------------------- cancels


async def test_malformed_umid_is_400_1000(raw: Raw) -> None:
    status, _, body = await raw.call("DELETE", raw.sms(f"/subaccounts/{SUB}/messages/not-a-umid"))
    assert_error(status, body, 400, 1000, "Invalid umid.")


async def test_cancel_counts_once(raw: Raw, sim: Simulator) -> None:
    seeded = sim.add_sms_messages(2)
    url = raw.sms(f"/subaccounts/{SUB}/messages/{seeded.umids[0]}")
    assert (await raw.call("DELETE", url))[2] == {"cancelledCount": 1}
    assert (await raw.call("DELETE", url))[2] == {"cancelledCount": 0}
    assert sim.message(seeded.umids[0]).state == "cancelled"
    batch_url = raw.sms(f"/subaccounts/{SUB}/messages/batch/{seeded.batch_id}")
    assert (await raw.call("DELETE", batch_url))[2] == {"cancelledCount": 1}
    assert (await raw.call("DELETE", batch_url))[2] == {"cancelledCount": 0}


async def test_sms_and_chatapps_messages_are_apart(raw: Raw, sim: Simulator) -> None:
    (umid,) = sim.add_chatapps_messages(1).umids
    status, _, _ = await raw.call("DELETE", raw.sms(f"/subaccounts/{SUB}/messages/{umid}"))
    assert status == 404
    status, _, body = await raw.call("DELETE", raw.chatapps(f"/subaccounts/{SUB}/messages/{umid}"))
    assert (status, body) == (200, {"cancelledCount": 1})


async def test_unknown_or_malformed_batch(raw: Raw) -> None:
    status, _, body = await raw.call("DELETE", raw.sms(f"/subaccounts/{SUB}/messages/batch/{UMID}"))
    assert (status, body) == (200, {"cancelledCount": 0})
    status, _, body = await raw.call("DELETE", raw.sms(f"/subaccounts/{SUB}/messages/batch/nope"))
    assert_error(status, body, 400, 1000)


async def test_a_sent_message_cannot_be_cancelled(raw: Raw, sim: Simulator) -> None:
    seeded = sim.add_sms_messages(1, send_in=10)
    sim.advance(10)
    assert sim.message(seeded.umids[0]).state == "sent"
    url = raw.sms(f"/subaccounts/{SUB}/messages/{seeded.umids[0]}")
    assert (await raw.call("DELETE", url))[2] == {"cancelledCount": 0}


# ---------------------------------------------------------------------------- LINE sends


async def test_line_batch_answer_shape(raw: Raw, sim: Simulator) -> None:
    body = {
        "clientBatchId": "b-1",
        "includeMessagesInResponse": True,
        "messages": [
            line(clientMessageId="m-1"),
            line(user={"msisdn": "91234567", "country": "SG"}),
        ],
    }
    status, _, out = await raw.call("POST", batch_url(raw), json=body)
    assert status == 200
    assert UUID.match(out["batchId"])
    assert (out["clientBatchId"], out["acceptedCount"], out["rejectedCount"]) == ("b-1", 2, 0)
    first, second = out["messages"]
    assert first["clientMessageId"] == "m-1"
    assert first["user"] == {"msisdn": "+6591234567"}
    assert first["status"]["state"] == "queued"
    assert TIMESTAMP.match(first["status"]["timestamp"])
    assert second["user"] == {"msisdn": "91234567", "country": "SG"}
    assert "clientMessageId" not in second
    assert sim.batch(out["batchId"]).umids == [first["umid"], second["umid"]]
    assert sim.message(first["umid"]).state == "scheduled"
    assert sim.find_messages(client_message_id="m-1")[0].umid == first["umid"]


async def test_line_batch_without_messages_in_answer(raw: Raw) -> None:
    status, _, out = await raw.call("POST", batch_url(raw), json={"messages": [line()]})
    assert status == 200
    assert set(out) == {"batchId", "acceptedCount", "rejectedCount"}


async def test_line_sends_now_unless_scheduled(raw: Raw, sim: Simulator) -> None:
    sim.schedule_line_sends = False
    status, _, out = await raw.call("POST", raw.chatapps(f"/subaccounts/{SUB}/lon"), json=line())
    assert status == 200
    assert sim.message(out["umid"]).state == "sent"
    url = raw.chatapps(f"/subaccounts/{SUB}/messages/{out['umid']}")
    assert (await raw.call("DELETE", url))[2] == {"cancelledCount": 0}


def _batch(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"messages": list(messages), **fields}


INVALID_BATCHES = [
    pytest.param(_batch(*[line()] * 1001), 3013, id="1001-messages"),
    pytest.param(_batch(line(), clientBatchId="b" * 101), 3014, id="clientBatchId-101"),
    pytest.param(_batch(line(clientMessageId="m" * 51)), 3009, id="clientMessageId-51"),
    pytest.param(_batch(line(smsFallback={"source": "s" * 17})), 3011, id="source-17"),
    pytest.param(_batch(line(smsFallback={"encoding": "UTF8"})), 1003, id="encoding"),
    pytest.param(_batch(line(user={"msisdn": "12345"})), 1002, id="msisdn"),
    pytest.param(_batch(line(user={"msisdn": "+6512", "country": "SGP"})), 3018, id="country"),
    pytest.param(_batch(line(content={"icon": "unicorn"})), 1000, id="icon"),
    pytest.param(_batch(line(dlrCallbackUrl="ftp://x")), 3020, id="dlrCallbackUrl"),
    pytest.param(_batch({"content": {}}), 3001, id="no-user"),
    pytest.param(_batch({"user": {}, "content": {}}), 3002, id="no-msisdn"),
    pytest.param(_batch({"user": {"msisdn": "+6591234567"}}), 3004, id="no-content"),
    pytest.param(_batch(), 3012, id="no-messages"),
    pytest.param({"messages": "x"}, 3012, id="messages-not-array"),
    pytest.param([], 1000, id="not-an-object"),
    pytest.param(_batch(line(), includeMessagesInResponse="yes"), 1000, id="flag-not-bool"),
]


@pytest.mark.parametrize(("body", "code"), INVALID_BATCHES)
async def test_invalid_line_batch_is_400(raw: Raw, sim: Simulator, body: Any, code: int) -> None:
    status, _, out = await raw.call("POST", batch_url(raw), json=body)
    assert_error(status, out, 400, code)
    if code == 1002:
        assert out["message"] == "Invalid MSISDN format (not E.164 international number)"
    assert sim.batches == []
    (rec,) = sim.requests
    assert (rec.status, rec.code) == (400, code)
    assert rec.error == out["message"]


# Every field that takes a string (or one of a set of strings), given another JSON
# type, earns 8x8's documented 400 and code, never a crash (500).
_STRING_FIELDS = [
    (("user", "msisdn"), 1002),
    (("user", "country"), 3018),
    (("content", "title"), 1000),
    (("content", "company"), 1000),
    (("content", "greeting"), 1000),
    (("content", "explanation"), 1000),
    (("content", "icon"), 1000),
    (("clientMessageId",), 1000),
    (("dlrCallbackUrl",), 3020),
    (("smsFallback", "source"), 1000),
    (("smsFallback", "text"), 1000),
    (("smsFallback", "encoding"), 1003),
]
_NOT_STRINGS = [["UCS2"], {"UCS2": 1}, [], {}, 7, 2.5, True]
_VALUE_IDS = ["list", "object", "empty-list", "empty-object", "int", "float", "bool"]


def _with_field(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    msg = line()
    parent = msg
    for key in path[:-1]:
        parent = parent.setdefault(key, {})
    parent[path[-1]] = value
    return msg


@pytest.mark.parametrize("value", _NOT_STRINGS, ids=_VALUE_IDS)
@pytest.mark.parametrize(
    ("path", "code"), _STRING_FIELDS, ids=[".".join(p) for p, _ in _STRING_FIELDS]
)
async def test_a_string_field_of_another_type_is_400_never_500(
    raw: Raw, sim: Simulator, path: tuple[str, ...], code: int, value: Any
) -> None:
    status, _, out = await raw.call("POST", batch_url(raw), json=_batch(_with_field(path, value)))
    assert_error(status, out, 400, code)
    assert sim.batches == []
    single = raw.chatapps(f"/subaccounts/{SUB}/lon")
    status, _, out = await raw.call("POST", single, json=_with_field(path, value))
    assert_error(status, out, 400, code)
    sim.per_message_rejection = True
    status, _, out = await raw.call(
        "POST",
        batch_url(raw),
        json=_batch(_with_field(path, value), includeMessagesInResponse=True),
    )
    assert status == 200
    assert out["messages"][0]["status"]["errorCode"] == code


@pytest.mark.parametrize("value", _NOT_STRINGS, ids=_VALUE_IDS)
async def test_batch_fields_of_another_type_are_400_never_500(raw: Raw, value: Any) -> None:
    cases = [
        (_batch(line(), clientBatchId=value), 1000),
        (_batch(line(), includeMessagesInResponse=value), 1000),
        # A non-empty array of strings: messages that are not objects.
        ({"messages": value}, 1000 if isinstance(value, list) and value else 3012),
        (_batch(value), 3001 if isinstance(value, dict) else 1000),  # an object: no user
    ]
    for body, code in cases:
        if body.get("includeMessagesInResponse") is True:
            continue  # a valid value: nothing to refuse
        status, _, out = await raw.call("POST", batch_url(raw), json=body)
        assert_error(status, out, 400, code)
    for body in ({"uuids": value}, {"uuids": [value]}, value):
        status, _, out = await raw.call("POST", raw.revicom(), json=body)
        assert status == 400, out
        assert out["errors"] is True


async def test_exactly_1000_messages_are_accepted(raw: Raw) -> None:
    status, _, out = await raw.call("POST", batch_url(raw), json=_batch(*[line()] * 1000))
    assert (status, out["acceptedCount"]) == (200, 1000)


async def test_per_message_rejection(raw: Raw, sim: Simulator) -> None:
    sim.per_message_rejection = True
    body = _batch(line(), line(clientMessageId="x" * 51), includeMessagesInResponse=True)
    status, _, out = await raw.call("POST", batch_url(raw), json=body)
    assert status == 200
    assert (out["acceptedCount"], out["rejectedCount"]) == (1, 1)
    rejected = out["messages"][1]["status"]
    assert (rejected["state"], rejected["errorCode"]) == ("rejected", 3009)
    assert sim.message(out["messages"][1]["umid"]).state == "rejected"


async def test_rejected_recipients(raw: Raw, sim: Simulator) -> None:
    sim.reject_recipients(["+6590000000"], code=3038, message="Template not found")
    body = _batch(line(), line(user={"msisdn": "+6590000000"}), includeMessagesInResponse=True)
    status, _, out = await raw.call("POST", batch_url(raw), json=body)
    assert (status, out["acceptedCount"], out["rejectedCount"]) == (200, 1, 1)
    assert out["messages"][1]["status"]["errorMessage"] == "Template not found"


async def test_invalid_single_line_is_400(raw: Raw) -> None:
    status, _, out = await raw.call(
        "POST", raw.chatapps(f"/subaccounts/{SUB}/lon"), json=line(clientMessageId="m" * 51)
    )
    assert_error(status, out, 400, 3009)


async def test_body_must_be_json(raw: Raw) -> None:
    url = raw.chatapps(f"/subaccounts/{SUB}/lon")
    status, _, out = await raw.call(
        "POST", url, data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert_error(status, out, 400, 1000)
    status, _, out = await raw.call("POST", url, data=b"{}", headers={"Content-Type": "text/plain"})
    assert_error(status, out, 400, 1000)


# ---------------------------------------------------------------------------- flows


def flow_url(raw: Raw, flow_id: str, account_id: str | None = None) -> str:
    account = account_id or raw.sim.account_id
    return raw.chatapps(f"/accounts/{account}/channels/chan-1/flows/{flow_id}")


async def test_flow_lifecycle(raw: Raw, sim: Simulator) -> None:
    draft = sim.add_flow("chan-1")
    published = sim.add_flow("chan-1", status="PUBLISHED")
    deprecated = sim.add_flow("chan-1", "f-dep", "DEPRECATED")
    assert deprecated == "f-dep"
    status, _, body = await raw.call("DELETE", flow_url(raw, draft))
    assert (status, body) == (200, b"")
    assert {f.flow_id for f in sim.flows} == {published, "f-dep"}
    status, _, body = await raw.call("DELETE", flow_url(raw, draft))
    assert_error(status, body, 404, 1300)
    for flow_id in (published, "f-dep"):
        status, _, body = await raw.call("DELETE", flow_url(raw, flow_id))
        assert status == 409
    sim.flow("chan-1", published).status = "DRAFT"
    assert (await raw.call("DELETE", flow_url(raw, published)))[0] == 200


async def test_flow_account_checks(raw: Raw, sim: Simulator) -> None:
    status, _, body = await raw.call("DELETE", flow_url(raw, "f", account_id="not-hex"))
    assert_error(status, body, 400, 1000)
    status, _, body = await raw.call("DELETE", flow_url(raw, "f", account_id="a" * 32))
    assert_error(status, body, 403, 1201)
    status, _, body = await raw.call("DELETE", flow_url(raw, "f"), auth="Bearer nope")
    assert_error(status, body, 401, 1200)


async def test_flow_ids_are_percent_decoded(raw: Raw, sim: Simulator) -> None:
    sim.add_flow("chan-1", "a/b?#%")
    status, _, _ = await raw.call("DELETE", flow_url(raw, "a%2Fb%3F%23%25"))
    assert status == 200


# ---------------------------------------------------------------------------- Revicom


async def test_revicom_codes(raw: Raw, sim: Simulator) -> None:
    queued = sim.add_revicom_messages(1)[0]
    sending = sim.add_revicom_messages(1, state="sending")[0]
    sent = sim.add_revicom_messages(1, state="sent")[0]
    status, _, out = await raw.call(
        "POST", raw.revicom(), json={"uuids": [queued, sending, sent, UMID]}
    )
    assert status == 200
    assert out == {
        "errors": True,
        "items": [
            {"messageUuid": queued, "code": 200},
            {"messageUuid": sending, "code": 202},
            {"messageUuid": sent, "code": 403},
            {"messageUuid": UMID, "code": 404},
        ],
    }
    _, _, out = await raw.call("POST", raw.revicom(), json={"uuids": [queued]})
    assert out == {"errors": False, "items": [{"messageUuid": queued, "code": 200}]}


@pytest.mark.parametrize(
    "body",
    [{"uuids": []}, {"uuids": "x"}, {}, [], {"uuids": ["nope"]}, {"uuids": [1]}],
    ids=["empty", "not-array", "missing", "not-object", "not-uuid", "not-string"],
)
async def test_revicom_invalid_body_is_400(raw: Raw, body: Any) -> None:
    status, _, out = await raw.call("POST", raw.revicom(), json=body)
    assert status == 400
    assert out["errors"] is True


async def test_revicom_limit_is_10000(raw: Raw, sim: Simulator) -> None:
    uuids = [UMID] * 10_000
    status, _, out = await raw.call("POST", raw.revicom(), json={"uuids": uuids})
    assert (status, len(out["items"])) == (200, 10_000)
    status, _, out = await raw.call("POST", raw.revicom(), json={"uuids": [*uuids, UMID]})
    assert status == 400
    assert "10000" in out["message"]


@pytest.mark.parametrize("auth", [None, "Basic wrong", "Bearer sim-revicom-token"])
async def test_revicom_wrong_token_is_401(raw: Raw, auth: str | None) -> None:
    status, _, _ = await raw.call("POST", raw.revicom(), json={"uuids": [UMID]}, auth=auth)
    assert status == 401


# ---------------------------------------------------------------------------- routes, records


async def test_unknown_routes_are_404_and_recorded(raw: Raw, sim: Simulator) -> None:
    status, _, body = await raw.call("GET", raw.sms(f"/subaccounts/{SUB}/messages/{UMID}"))
    assert status == 404
    assert "code" not in body  # not 1300: that would read as "message not found"
    assert (await raw.call("POST", f"{sim.url}/api/v1/message/stop", json={}))[0] == 404
    assert [r.route for r in sim.unexpected_requests] == [None, None]
    assert sim.unexpected_requests[0].api == "sms"
    assert sim.unexpected_requests[1].body == {}
    with pytest.raises(AssertionError, match="2 request"):
        sim.assert_no_unexpected_requests()
    sim.clear_requests()
    sim.assert_no_unexpected_requests()


async def test_requests_are_recorded_with_secrets_redacted(raw: Raw, sim: Simulator) -> None:
    seeded = sim.add_sms_messages(1)
    await raw.call("DELETE", raw.sms(f"/subaccounts/{SUB}/messages/{seeded.umids[0]}"))
    await raw.call("POST", raw.revicom(), json={"uuids": [UMID]})
    cancel, stop = sim.requests
    assert cancel.method == "DELETE"
    assert cancel.api == "sms"
    assert cancel.route == "sms.cancel_message"
    assert cancel.path == f"/sms/api/v1/subaccounts/{SUB}/messages/{seeded.umids[0]}"
    assert cancel.api_path == f"/api/v1/subaccounts/{SUB}/messages/{seeded.umids[0]}"
    assert cancel.match == {"sub_account_id": SUB, "umid": seeded.umids[0]}
    assert cancel.headers["Authorization"] == "Bearer ***"
    assert (cancel.status, cancel.body, cancel.tls_version) == (200, None, None)
    assert stop.headers["Authorization"] == "Basic ***"
    assert stop.body == {"uuids": [UMID]}
    assert "sim-revicom-token" not in repr(sim.requests)
    assert sim.requests_for("revicom") == [stop]
    assert sim.requests_for("*.cancel_*") == [cancel]
    with pytest.raises(ValueError, match="matches no endpoint"):
        sim.requests_for("sms.nope")


async def test_recording_can_be_switched_off(raw: Raw, sim: Simulator) -> None:
    sim.record_requests = False
    await raw.call("DELETE", raw.sms(f"/subaccounts/{SUB}/messages/{UMID}"))
    await raw.call("GET", f"{sim.url}/nowhere")
    assert sim.requests == []
    assert len(sim.unexpected_requests) == 1


# ---------------------------------------------------------------------------- rate limits


async def test_rate_limit_per_sub_account(raw: Raw, sim: Simulator) -> None:
    sim.add_sub_account("sub-two")
    sim.rate_limit = 0.5
    sim.rate_limit_burst = 2
    url = raw.sms(f"/subaccounts/{SUB}/messages/{UMID}")
    assert [(await raw.call("DELETE", url))[0] for _ in range(2)] == [404, 404]
    status, headers, body = await raw.call("DELETE", url)
    assert_error(status, body, 429, 1100)
    assert headers["Retry-After"] == "2"
    other = raw.sms(f"/subaccounts/sub-two/messages/{UMID}")
    assert (await raw.call("DELETE", other))[0] == 404
    sim.rate_limit = None
    assert (await raw.call("DELETE", url))[0] == 404


async def test_flows_rate_limit_per_api_key(raw: Raw, sim: Simulator) -> None:
    # 8x8: "100 requests per minute per API key", whatever the account.
    other_account = "0123456789abcdef0123456789abcdef"
    sim.add_account(other_account)
    sim.add_api_key("second-key", account_ids=(sim.account_id,))
    sim.flows_rate_limit = 1 / 60
    sim.flows_rate_limit_burst = 1
    assert (await raw.call("DELETE", flow_url(raw, "f")))[0] == 404
    status, headers, _ = await raw.call("DELETE", flow_url(raw, "f", other_account))
    assert (status, headers["Retry-After"]) == (429, "60"), "the same key, another account"
    second = await raw.call("DELETE", flow_url(raw, "f"), auth="Bearer second-key")
    assert second[0] == 404, "another key, the same account: its own budget"
    status, _, _ = await raw.call("DELETE", flow_url(raw, "f"), auth="Bearer second-key")
    assert status == 429


async def test_rate_limit_default_is_8x8s(sim: Simulator) -> None:
    assert sim.rate_limit == 1800.0
    with pytest.raises(ValueError, match="rate_limit"):
        sim.rate_limit = 0


@pytest.mark.parametrize("answer", [200, 204])
async def test_flow_delete_answers_200_like_8x8_or_204_on_request(answer: int) -> None:
    async with Simulator(flow_delete_status=answer) as sim:
        flow = sim.add_flow("chan-1")
        async with sim.eightbyeight() as client:
            await client.chatapps.delete_whatsapp_flow(sim.account_id, "chan-1", flow)
        assert [r.status for r in sim.requests] == [answer]
        assert sim.flows == []


@pytest.mark.parametrize("answer", [201, 202, 0, "200"])
def test_flow_delete_status_is_200_or_204(answer: object) -> None:
    with pytest.raises(ValueError, match="flow_delete_status"):
        Simulator(flow_delete_status=answer)  # type: ignore[arg-type]
