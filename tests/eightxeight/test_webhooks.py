"""Webhook registration and message lookup: requests on the wire, rules, secrets kept
out of reprs and errors, and the simulator playing 8x8's side of them."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

import aiomsg
from aiomsg.eightxeight.webhooks import (
    DEFAULT_MESSAGE_LOOKUP_RATE_LIMIT,
    MessageDetails,
    RegisteredWebhook,
    Webhook,
    WebhookOAuth,
    WebhookTarget,
)
from aiomsg.testing import Simulator

BASE = "https://chatapps.8x8.com"
ACCOUNT = "0d0e6a8e5b4f4c3d9a1b2c3d4e5f6a7b"
SUB = "acme-sub_01"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
WEBHOOKS_URL = f"{BASE}/api/v1/accounts/{ACCOUNT}/webhooks"
SECRET = "s3cr3t-T0ken-value"
AUTH = f"Bearer {SECRET}"


def sent_json(kwargs: dict[str, Any]) -> Any:
    return json.loads(kwargs["data"])


# ------------------------------------------------------------------ on the wire


async def test_set_webhooks_sends_the_spec_shape(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    mock_http.post(WEBHOOKS_URL, status=200, body="")
    hooks = [
        Webhook(sub_account_id="*", url="https://example.com/dr", type="CADR",
                http_authorization=AUTH),
        {"subAccountId": SUB, "url": "https://example.com/mo", "type": "MSG", "enabled": False},
    ]  # fmt: skip
    assert await eight.chatapps.set_webhooks(ACCOUNT, hooks) is None
    method, url, kwargs = mock_http.only_request()
    assert (method, str(url)) == ("POST", WEBHOOKS_URL)
    assert sent_json(kwargs) == [
        {"subAccountId": "*", "url": "https://example.com/dr", "type": "CADR",
         "httpAuthorization": AUTH},
        {"subAccountId": SUB, "url": "https://example.com/mo", "type": "MSG", "enabled": False},
    ]  # fmt: skip


async def test_get_webhooks_decodes_the_spec_example_and_keeps_new_types(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    answer = [
        {"type": "CADR", "subAccountId": "Onion_Marketing", "url": "http://example.com/dr",
         "enabled": True, "oauth": {"url": "https://a.example/t", "clientId": "c",
                                    "clientSecret": "***", "credentialsLocation": "header"}},
        {"type": "MSG", "subAccountId": "*", "url": "http://example.com/mo",
         "httpAuthorization": "***", "somethingNew": 1},
        {"type": "NEWKIND", "subAccountId": "*", "url": "https://example.com/x"},
    ]  # fmt: skip
    mock_http.get(WEBHOOKS_URL, status=200, body=json.dumps(answer))
    got = await eight.chatapps.get_webhooks(ACCOUNT)
    assert [(w.type, w.sub_account_id, w.enabled) for w in got] == [
        ("CADR", "Onion_Marketing", True), ("MSG", "*", True), ("NEWKIND", "*", True),
    ]  # fmt: skip
    assert all(isinstance(w, RegisteredWebhook) for w in got)
    method, url, kwargs = mock_http.only_request()
    assert (method, str(url), kwargs["data"]) == ("GET", WEBHOOKS_URL, None)


async def test_delete_webhooks_sends_scope_and_type(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    mock_http.delete(WEBHOOKS_URL, status=200, body="")
    await eight.chatapps.delete_webhooks(
        ACCOUNT, [WebhookTarget(sub_account_id="*", type="CADR"), {"subAccountId": SUB}]
    )
    method, url, kwargs = mock_http.only_request()
    assert (method, str(url)) == ("DELETE", WEBHOOKS_URL)
    assert sent_json(kwargs) == [{"subAccountId": "*", "type": "CADR"}, {"subAccountId": SUB}]


async def test_get_message_decodes_the_spec_example(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    record = {
        "umid": UMID, "subAccountId": SUB, "channel": "Line", "channelId": "c",
        "direction": "Outbound",
        "status": {"state": "read", "timestamp": "2020-06-17T04:25:21.06Z"},
        "contentType": "Text", "createdAt": "2020-06-17T04:15:21.06Z", "step": 2,
        "user": {"msisdn": "+63922110xxxx"}, "clientMessageId": "cm-1", "future": [1],
    }  # fmt: skip
    first = {**record, "step": 1, "status": {"state": "undelivered"}}
    url = f"{BASE}/api/v1/subaccounts/{SUB}/messages/{UMID}"
    mock_http.get(url, status=200, body=json.dumps({"data": [record, first]}))
    got = await eight.chatapps.get_message(SUB, UMID)
    assert isinstance(got, MessageDetails)
    assert got.latest is not None
    assert (got.latest.step, got.latest.status.state, got.latest.client_message_id) == (
        2, "read", "cm-1",
    )  # fmt: skip
    assert MessageDetails(data=[]).latest is None


def test_message_lookups_are_paced_at_one_a_second_per_sub_account() -> None:
    """8x8 documents 1 request/s per sub-account for this endpoint."""
    limit = DEFAULT_MESSAGE_LOOKUP_RATE_LIMIT
    assert (limit.rate, limit.burst) == (1.0, 1)
    assert aiomsg.EightByEight(api_key="k").chatapps.message_lookup_rate_limit == limit


async def test_get_message_uses_its_own_limiter_scope(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    url = f"{BASE}/api/v1/subaccounts/{SUB}/messages/{UMID}"
    mock_http.get(url, status=200, body='{"data": []}')
    await eight.chatapps.get_message(SUB, UMID)
    limiters = eight.chatapps._requester.limiters._limiters
    assert limiters[("message_lookup", SUB)].limit == DEFAULT_MESSAGE_LOOKUP_RATE_LIMIT


# ------------------------------------------------------------------ rules


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/dr",  # plain http to a public host
        "http://127.0.0.1.example.com/dr",  # a loopback look-alike
        "ftp://example.com/dr",
        "example.com/dr",
        "https:///dr",
        "https://user:pw@example.com/dr",
        "https://exa mple.com/dr",
        "",
        "https://example.com/" + "a" * 3000,
    ],
)
def test_a_webhook_url_must_be_https_except_to_loopback(url: str) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        Webhook(sub_account_id="*", url=url)
    assert info.value.field == "url"


@pytest.mark.parametrize(
    "url", ["https://example.com/dr?x=1", "http://127.0.0.1:8080/dr", "http://localhost/dr",
            "http://[::1]:9/dr", "HTTPS://Example.COM/dr"],
)  # fmt: skip
def test_https_and_loopback_http_urls_are_accepted(url: str) -> None:
    assert Webhook(sub_account_id="*", url=url).url == url


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "DR"}, "type"),
        ({"type": "cadr"}, "type"),
        ({"subAccountId": "a/b"}, "subAccountId"),
        ({"subAccountId": "**"}, "subAccountId"),
        ({"httpAuthorization": ""}, "httpAuthorization"),
        ({"httpAuthorization": "Bearer a\r\nX-Evil: 1"}, "httpAuthorization"),
        ({"httpAuthorization": "Bearer \u20ac"}, "httpAuthorization"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
async def test_bad_webhooks_are_refused_before_sending(
    eight: aiomsg.EightByEight, mock_http: Any, fields: dict[str, Any], field: str
) -> None:
    hook = {"subAccountId": "*", "url": "https://example.com/dr", **fields}
    with pytest.raises(aiomsg.ValidationError) as info:
        await eight.chatapps.set_webhooks(ACCOUNT, [hook])
    assert info.value.field.endswith(field)
    assert mock_http.requests == {}


@pytest.mark.parametrize(
    "webhooks", [[], "https://example.com", {"subAccountId": "*"}, [1], [{"url": 1}]]
)
async def test_the_webhook_list_is_checked(
    eight: aiomsg.EightByEight, mock_http: Any, webhooks: Any
) -> None:
    with pytest.raises(aiomsg.ValidationError):
        await eight.chatapps.set_webhooks(ACCOUNT, webhooks)
    with pytest.raises(aiomsg.ValidationError):
        await eight.chatapps.delete_webhooks(ACCOUNT, webhooks)
    assert mock_http.requests == {}


@pytest.mark.parametrize("account", ["", "not-an-account", ACCOUNT + "0", "../" + ACCOUNT])
async def test_account_ids_follow_the_rule_of_every_account_call(
    eight: aiomsg.EightByEight, mock_http: Any, account: str
) -> None:
    with pytest.raises(aiomsg.ValidationError):
        await eight.chatapps.get_webhooks(account)
    with pytest.raises(aiomsg.ValidationError):
        await eight.chatapps.set_webhooks(
            account, [Webhook(sub_account_id="*", url="https://x.io")]
        )
    assert mock_http.requests == {}


@pytest.mark.parametrize("umid", ["", "x", UMID + "0", "../" + UMID[3:]])
async def test_get_message_checks_its_ids(eight: aiomsg.EightByEight, umid: str) -> None:
    with pytest.raises(aiomsg.ValidationError):
        await eight.chatapps.get_message(SUB, umid)
    with pytest.raises(aiomsg.ValidationError):
        await eight.chatapps.get_message("a/b", UMID)


# ------------------------------------------------------------------ secrets


def test_reprs_never_show_the_secrets() -> None:
    oauth = WebhookOAuth(url="https://a.example/t", client_id="cid", client_secret=SECRET,
                         credentials_location="header")  # fmt: skip
    hook = Webhook(sub_account_id="*", url="https://x.io", http_authorization=AUTH, oauth=oauth)
    registered = RegisteredWebhook(sub_account_id="*", url="https://x.io", http_authorization=AUTH)
    for shown in (repr(hook), str(hook), repr(oauth), repr(registered), repr([hook])):
        assert SECRET not in shown
        assert "***" in shown
    assert SECRET not in repr(hook.__rich_repr__()) + repr(oauth.__rich_repr__())


async def test_a_refused_registration_does_not_echo_the_secret(
    mock_http: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # The token alone (without its scheme) and its percent-encoded form.
    body = {
        "code": 1000,
        "message": f"Invalid httpAuthorization {SECRET} / {SECRET.replace('-', '%2D')}",
    }
    mock_http.post(WEBHOOKS_URL, status=400, body=json.dumps(body))
    hook = Webhook(sub_account_id="*", url="https://x.io", http_authorization=AUTH)
    events: list[aiomsg.RequestEvent] = []
    async with aiomsg.EightByEight(api_key="k", retry=aiomsg.RetryPolicy(max_attempts=1),
                                   on_request=events.append) as client:  # fmt: skip
        with caplog.at_level(logging.DEBUG, logger="aiomsg"), pytest.raises(
            aiomsg.APIStatusError
        ) as info:  # fmt: skip
            await client.chatapps.set_webhooks(ACCOUNT, [hook])
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value.args)
    assert SECRET not in repr(events)
    assert SECRET not in caplog.text
    assert "Invalid httpAuthorization ***" in str(info.value)


async def test_a_bad_field_never_echoes_a_secret(eight: aiomsg.EightByEight) -> None:
    hook = {"subAccountId": "*", "url": "https://x.io", "enabled": SECRET}
    with pytest.raises(aiomsg.ValidationError) as info:
        await eight.chatapps.set_webhooks(ACCOUNT, [hook])
    assert info.value.field == "webhooks[0].enabled"
    assert SECRET not in str(info.value)
    with pytest.raises(aiomsg.ValidationError) as info:
        Webhook(sub_account_id="*", url="https://x.io", http_authorization=f"{AUTH}\n")
    assert SECRET not in str(info.value)


# ------------------------------------------------------------------ the simulator's side


async def test_the_simulator_stores_webhooks_per_account_and_masks_secrets() -> None:
    async with Simulator(seed=3) as sim, sim.eightbyeight() as client:
        chat = client.chatapps
        assert await chat.get_webhooks(sim.account_id) == []
        await chat.set_webhooks(
            sim.account_id, [Webhook(sub_account_id="*", url="https://example.com/in")]
        )
        # No type stands for CADR and MSG; a registration replaces its scope and type.
        hook = Webhook(sub_account_id="*", url="http://127.0.0.1:9/dr", type="CADR",
                       http_authorization=AUTH)  # fmt: skip
        await chat.set_webhooks(sim.account_id, [hook])
        got = {(w.sub_account_id, w.type): w for w in await chat.get_webhooks(sim.account_id)}
        assert set(got) == {("*", "CADR"), ("*", "MSG")}
        assert got[("*", "CADR")].url == "http://127.0.0.1:9/dr"
        assert got[("*", "CADR")].http_authorization == "***"
        assert got[("*", "MSG")].url == "https://example.com/in"
        await chat.delete_webhooks(sim.account_id, [{"subAccountId": "*", "type": "MSG"}])
        assert [w.type for w in await chat.get_webhooks(sim.account_id)] == ["CADR"]
        with pytest.raises(aiomsg.PermissionDeniedError):
            await chat.get_webhooks("ffffffffffffffffffffffffffffffff")


async def test_the_simulator_judges_webhooks_by_the_contract() -> None:
    """A body the client would refuse still gets 8x8's answer from the simulator."""
    async with Simulator(seed=3) as sim, sim.eightbyeight() as client:
        route = aiomsg.eightxeight.routes.CHATAPPS_SET_WEBHOOKS
        requester = client.chatapps._requester
        bodies = (
            b'[{"url": "https://x.io"}]',
            b'[{"subAccountId": "*", "url": 1}]',
            b'[{"subAccountId": "*", "url": "https://x.io", "type": "DR"}]',
            b"{}",
        )
        for body in bodies:
            with pytest.raises(aiomsg.BadRequestError):
                await requester.call(
                    route, route.path(account_id=sim.account_id), body, scope="t",
                    limit=aiomsg.RateLimit(rate=None),
                )  # fmt: skip


async def test_the_simulator_answers_get_message_from_its_state() -> None:
    async with Simulator(seed=4) as sim, sim.eightbyeight() as client:
        sub = sim.sub_accounts[0]
        line = {"user": {"msisdn": "+6591234567"}, "content": {"title": "Hi"},
                "clientMessageId": "cm-7"}  # fmt: skip
        sent = await client.chatapps.send_line_notification(sub, line)
        got = await client.chatapps.get_message(sub, sent.umid)
        assert got.latest is not None
        assert (got.latest.umid, got.latest.client_message_id, got.latest.channel) == (
            sent.umid, "cm-7", "Line",
        )  # fmt: skip
        assert got.latest.status.state in ("queued", "sent")
        with pytest.raises(aiomsg.NotFoundError):
            await client.chatapps.get_message(sub, UMID)
