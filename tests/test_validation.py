"""Input rules: every one rejects bad input before any I/O and says field, problem and rule."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiomsg
from aiomsg._validation import is_uuid, join_uuids
from aiomsg.eightxeight.models import as_line_notification
from tests.examples import LINE_MESSAGE

SUB = "acme-sub_01"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
ACCOUNT = "0d0e6a8e5b4f4c3d9a1b2c3d4e5f6a7b"
LINE_BATCH_URL = f"https://chatapps.8x8.com/api/v1/subaccounts/{SUB}/lon/batch"
BATCH_ANSWER = {"batchId": "cf3cbbf5-3e2d-ea11-815d-020897df5459", "acceptedCount": 1}


def message(**changes: Any) -> dict[str, Any]:
    """The spec's example message with changes at dotted paths ("content.icon")."""
    msg = copy.deepcopy(LINE_MESSAGE)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = msg
        for key in parents:
            target = target[key]
        target[leaf] = value
    return msg


async def assert_rejected(
    eight: aiomsg.EightByEight, mock_http: Any, messages: list[Any], field: str, **kwargs: Any
) -> aiomsg.ValidationError:
    with pytest.raises(aiomsg.ValidationError) as info:
        await eight.chatapps.send_line_notification_batch(SUB, messages, **kwargs)
    exc = info.value
    assert exc.field == field
    assert exc.problem
    assert exc.rule
    assert str(exc) == f"{exc.field}: {exc.problem} (rule: {exc.rule})"
    assert mock_http.requests == {}
    return exc


async def assert_sent(
    eight: aiomsg.EightByEight, mock_http: Any, messages: list[Any], **kw: Any
) -> None:
    mock_http.post(LINE_BATCH_URL, payload=BATCH_ANSWER)
    await eight.chatapps.send_line_notification_batch(SUB, messages, **kw)
    assert len(mock_http.sent()) == 1


# ------------------------------------------------------------------ path identifiers


@pytest.mark.parametrize("value", ["abc", "A-b.c_d&e", "a" * 50, "123"])
async def test_sub_account_id_pattern_accepts(
    eight: aiomsg.EightByEight, mock_http: Any, value: str
) -> None:
    mock_http.delete(re.compile(r"https://sms\.8x8\.com/.*"), payload={"cancelledCount": 1})
    await eight.sms.cancel_message(value, UMID)
    _, url, _ = mock_http.only_request()
    assert url.raw_path == f"/api/v1/subaccounts/{quote(value, safe='')}/messages/{UMID}"


@pytest.mark.parametrize(
    "value", ["ab", "a" * 51, "a b", "a/b", "a:b", "añb", "abc\n", "", 123, None]
)
async def test_sub_account_id_pattern_rejects(
    eight: aiomsg.EightByEight, mock_http: Any, value: Any
) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        await eight.sms.cancel_message(value, UMID)
    assert info.value.field == "sub_account_id"
    assert "3 to 50" in info.value.rule or "string" in info.value.rule
    assert mock_http.requests == {}


@pytest.mark.parametrize(
    "value",
    [
        ACCOUNT,
        ACCOUNT.upper(),
        "0d0e6a8e-5b4f-4c3d-9a1b-2c3d4e5f6a7b",
        "0d0e6a8e5b4f-4c3d9a1b2c3d4e5f6a7b",
    ],
)
async def test_account_id_accepts_32_to_36_hex(
    eight: aiomsg.EightByEight, mock_http: Any, value: str
) -> None:
    url = f"https://chatapps.8x8.com/api/v1/accounts/{value}/channels/c/flows/f"
    mock_http.delete(url, status=204)
    await eight.chatapps.delete_whatsapp_flow(value, "c", "f")
    assert str(mock_http.only_request()[1]) == url


@pytest.mark.parametrize(
    "value",
    [
        ACCOUNT[:-1],
        ACCOUNT + "0",
        ACCOUNT[:-1] + "g",
        "0d0e6a8e--5b4f-4c3d-9a1b-2c3d4e5f6a7b",
        "{" + ACCOUNT + "}",
        "",
        "acme",
    ],
)
async def test_account_id_rejects(eight: aiomsg.EightByEight, mock_http: Any, value: str) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        await eight.chatapps.delete_whatsapp_flow(value, "c", "f")
    assert info.value.field == "account_id"
    assert "32" in info.value.rule
    assert mock_http.requests == {}


@pytest.mark.parametrize(
    "value",
    [
        "3fa85f64571745624b3fc2c963f66afa6",
        "3fa85f64-5717-4562-b3fc-2c963f66afa",
        "{" + UMID + "}",
        "3fa85f64-5717-4562-b3fc-2c963f66afg6",
        "",
        "1234",
        UMID + " ",
    ],
)
async def test_umid_and_batch_id_must_be_uuids(
    eight: aiomsg.EightByEight, mock_http: Any, value: str
) -> None:
    for call, field in [
        (lambda: eight.sms.cancel_message(SUB, value), "umid"),
        (lambda: eight.sms.cancel_batch(SUB, value), "batch_id"),
        (lambda: eight.chatapps.cancel_message(SUB, value), "umid"),
        (lambda: eight.chatapps.cancel_batch(SUB, value), "batch_id"),
    ]:
        with pytest.raises(aiomsg.ValidationError) as info:
            await call()
        assert info.value.field == field
        assert "uuid" in info.value.rule
    assert mock_http.requests == {}


@pytest.mark.parametrize("value", ["", " ", "a b", "a\tb", "a\nb", "\x00", "a\x1fb", ".", ".."])
@pytest.mark.parametrize("field", ["channel_id", "flow_id"])
async def test_channel_and_flow_ids(
    eight: aiomsg.EightByEight, mock_http: Any, field: str, value: str
) -> None:
    ids = {"channel_id": "c", "flow_id": "f", field: value}
    with pytest.raises(aiomsg.ValidationError) as info:
        await eight.chatapps.delete_whatsapp_flow(ACCOUNT, ids["channel_id"], ids["flow_id"])
    assert info.value.field == field
    assert "whitespace" in info.value.rule
    assert mock_http.requests == {}


# ------------------------------------------------------------------- LINE messages


async def test_client_batch_id_length(eight: aiomsg.EightByEight, mock_http: Any) -> None:
    exc = await assert_rejected(
        eight, mock_http, [LINE_MESSAGE], "clientBatchId", client_batch_id="b" * 101
    )
    assert "100" in exc.rule
    await assert_sent(eight, mock_http, [LINE_MESSAGE], client_batch_id="b" * 100)


@pytest.mark.parametrize(
    ("changes", "field", "rule_part"),
    [
        ({"clientMessageId": "m" * 51}, "clientMessageId", "50"),
        ({"user__country": "SGP"}, "user.country", "two letters"),
        ({"user__country": "S"}, "user.country", "two letters"),
        ({"user__country": "1A"}, "user.country", "two letters"),
        ({"smsFallback__source": "s" * 17}, "smsFallback.source", "16"),
        ({"content__icon": "Calendar"}, "content.icon", "calendarCheck"),
        ({"content__icon": "rocket"}, "content.icon", "calendarCheck"),
        ({"smsFallback__encoding": "UTF8"}, "smsFallback.encoding", "GSM7"),
        ({"smsFallback__encoding": "auto"}, "smsFallback.encoding", "GSM7"),
        ({"user__msisdn": "6500000000"}, "user.msisdn", "E.164"),
        ({"user__msisdn": "+0650000000"}, "user.msisdn", "E.164"),
        ({"user__msisdn": "+123456"}, "user.msisdn", "E.164"),
        ({"user__msisdn": "+1234567890123456"}, "user.msisdn", "E.164"),
        ({"user__msisdn": "+65 0000 0000"}, "user.msisdn", "E.164"),
        ({"user__msisdn": "+65-0000-0000"}, "user.msisdn", "E.164"),
        ({"user__msisdn": ""}, "user.msisdn", "E.164"),
        ({"user__msisdn": "65abc0000", "user__country": "SG"}, "user.msisdn", "national"),
        ({"user__msisdn": "123", "user__country": "SG"}, "user.msisdn", "national"),
        ({"dlrCallbackUrl": "not a url"}, "dlrCallbackUrl", "URL"),
        ({"dlrCallbackUrl": "ftp://example.com/dr"}, "dlrCallbackUrl", "URL"),
        ({"content__title": "a\ud800b"}, "content.title", "Unicode"),
        ({"smsFallback__text": "\udfff"}, "smsFallback.text", "Unicode"),
        ({"clientMessageId": "id-\ud83d"}, "clientMessageId", "Unicode"),
        ({"user": {}}, "user", "recipient"),
    ],
)
async def test_message_rules(
    eight: aiomsg.EightByEight, mock_http: Any, changes: dict[str, Any], field: str, rule_part: str
) -> None:
    ok = copy.deepcopy(LINE_MESSAGE)
    bad = message(**changes)
    exc = await assert_rejected(eight, mock_http, [ok, ok, bad], f"messages[2].{field}")
    assert rule_part in exc.rule


@pytest.mark.parametrize(
    "changes",
    [
        {"clientMessageId": "m" * 50},
        {"user__country": "sg"},
        {"user__msisdn": "6500000000", "user__country": "SG"},
        {"user__msisdn": "+123456789012345"},
        {"smsFallback__source": "s" * 16},
        {"content__icon": "history"},
        {"smsFallback__encoding": "UCS2"},
        {"dlrCallbackUrl": "https://example.com/dr?x=1"},
        {"content__title": "Événement 🎉"},
        {"user": {"channelUserId": "US.13491208655302741918"}},
    ],
)
async def test_message_rules_accept_the_limits(
    eight: aiomsg.EightByEight, mock_http: Any, changes: dict[str, Any]
) -> None:
    await assert_sent(eight, mock_http, [message(**changes)])


async def test_message_count_limits(eight: aiomsg.EightByEight, mock_http: Any) -> None:
    exc = await assert_rejected(eight, mock_http, [], "messages")
    assert "1,000" in exc.rule
    await assert_rejected(eight, mock_http, [LINE_MESSAGE] * 1001, "messages")
    await assert_sent(eight, mock_http, [LINE_MESSAGE] * 1000)


async def test_client_batch_id_with_lone_surrogate(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    await assert_rejected(
        eight, mock_http, [LINE_MESSAGE], "clientBatchId", client_batch_id="\ud800"
    )


async def test_single_send_validates_too(eight: aiomsg.EightByEight, mock_http: Any) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        await eight.chatapps.send_line_notification(SUB, message(content__icon="rocket"))
    assert info.value.field == "message.content.icon"
    assert mock_http.requests == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"extra": 1}, "messages[0]"),
        ({"client_message_id": "snake"}, "messages[0]"),
        ({"user__name": "x"}, "messages[0].user"),
        ({"content__subtitle": "x"}, "messages[0].content"),
        ({"content__emphasis": {"label": "l", "colour": "red"}}, "messages[0].content.emphasis"),
        (
            {"content__actions": [{"title": "t", "href": "https://x.y"}]},
            "messages[0].content.actions[0]",
        ),
        ({"smsFallback__sender": "x"}, "messages[0].smsFallback"),
    ],
)
async def test_unknown_keys_in_mappings_are_rejected(
    eight: aiomsg.EightByEight, mock_http: Any, changes: dict[str, Any], field: str
) -> None:
    exc = await assert_rejected(eight, mock_http, [message(**changes)], field)
    assert "unknown field" in exc.problem


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"content": {}}, "messages[0]"),
        ({"user": {"msisdn": 6500000000}, "content": {}}, "messages[0].user.msisdn"),
        ({"user": {"msisdn": "+6500000000"}, "content": {"list": "x"}}, "messages[0].content.list"),
        ("not a mapping", "messages[0]"),
        (None, "messages[0]"),
    ],
)
async def test_malformed_messages(
    eight: aiomsg.EightByEight, mock_http: Any, bad: Any, field: str
) -> None:
    await assert_rejected(eight, mock_http, [bad], field)


def test_content_is_accepted_as_an_alias_of_url() -> None:
    msg = as_line_notification(
        message(content__actions=[{"title": "Go", "content": "https://example.com/go"}])
    )
    assert msg.content.actions
    action = msg.content.actions[0]
    assert action.url == "https://example.com/go"
    assert action == aiomsg.LineAction(title="Go", url="https://example.com/go")
    # Both given: the documented name wins.
    both = aiomsg.LineAction(title="Go", url="https://a.example", content="https://b.example")
    assert (both.url, both.content) == ("https://a.example", msgspec.UNSET)


def notification(**fields: Any) -> aiomsg.LineNotification:
    user = aiomsg.LineUser(msisdn="+6500000000")
    return aiomsg.LineNotification(**{"user": user, "content": aiomsg.LineContent(), **fields})


# Typed models and mappings go through the same rules, with the same field names.
TYPED_AND_MAPPED: list[tuple[Callable[[], object], dict[str, Any], str]] = [
    (lambda: aiomsg.LineUser(msisdn="12345"), message(user__msisdn="12345"), "user.msisdn"),
    (
        lambda: aiomsg.LineUser(msisdn="+6500000000", country="SGP"),
        message(user__country="SGP"),
        "user.country",
    ),
    (lambda: aiomsg.LineContent(icon="rocket"), message(content__icon="rocket"), "content.icon"),
    (
        lambda: aiomsg.SmsFallback(encoding="UTF8"),
        message(smsFallback__encoding="UTF8"),
        "smsFallback.encoding",
    ),
    (
        lambda: aiomsg.SmsFallback(source="s" * 17),
        message(smsFallback__source="s" * 17),
        "smsFallback.source",
    ),
    (lambda: aiomsg.LineContent(title="\ud800"), message(content__title="\ud800"), "content.title"),
    (
        lambda: notification(client_message_id="m" * 51),
        message(clientMessageId="m" * 51),
        "clientMessageId",
    ),
    (
        lambda: notification(dlr_callback_url="nope"),
        message(dlrCallbackUrl="nope"),
        "dlrCallbackUrl",
    ),
]


@pytest.mark.parametrize(
    ("typed", "mapping", "field"), TYPED_AND_MAPPED, ids=[c[2] for c in TYPED_AND_MAPPED]
)
def test_typed_and_mapping_inputs_follow_the_same_rules(
    typed: Callable[[], object], mapping: dict[str, Any], field: str
) -> None:
    with pytest.raises(aiomsg.ValidationError) as from_typed:
        typed()
    with pytest.raises(aiomsg.ValidationError) as from_mapping:
        as_line_notification(mapping, "messages[0]")
    assert from_typed.value.field == field
    assert from_mapping.value.field == f"messages[0].{field}"
    assert from_typed.value.rule == from_mapping.value.rule


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: aiomsg.LineUser(msisdn=6500000000), "user.msisdn"),
        (lambda: aiomsg.LineUser(msisdn="+6500000000", country=65), "user.country"),
        (lambda: aiomsg.LineContent(title=1), "content.title"),
        (lambda: aiomsg.SmsFallback(source=["x"]), "smsFallback.source"),
        (lambda: notification(user={"msisdn": "bad"}), "user"),
        (lambda: notification(content={}), "content"),
        (lambda: notification(sms_fallback={"source": "s" * 99}), "smsFallback"),
        (lambda: notification(client_message_id=5), "clientMessageId"),
        (lambda: notification(dlr_callback_url=b"https://x"), "dlrCallbackUrl"),
        (lambda: aiomsg.LineContent(actions=[{"title": "t", "url": "\ud800"}]), "content.actions"),
        (lambda: aiomsg.LineContent(items={"label": "x"}), "content.list"),
        (lambda: aiomsg.LineContent(emphasis="x"), "content.emphasis"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_typed_models_reject_wrong_types(build: Callable[[], object], field: str) -> None:
    # Without these checks a dict in a typed model would skip validation and be sent.
    with pytest.raises(aiomsg.ValidationError) as info:
        build()
    assert info.value.field == field


def test_msisdn_is_never_echoed() -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        aiomsg.LineUser(msisdn="659123456789012345")
    assert "659123456789012345" not in str(info.value)
    assert "18 characters" in info.value.problem


# ------------------------------------------------ uuid bodies joined without a pass

JOIN_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
UUID_TEXT = st.uuids().map(str)
# Near misses: a uuid with one character changed, added, or removed, and characters that
# matter to the check itself (quotes, commas, x, X, non-ASCII, lone surrogates).
TRICKY_CHARS = st.sampled_from(['"', ",", "x", "X", "-", "\n", "é", "\ud800", "g", "G", " ", "\\"])


@st.composite
def near_miss(draw: st.DrawFn) -> str:
    value = draw(UUID_TEXT)
    at = draw(st.integers(0, len(value)))
    how = draw(st.sampled_from(["replace", "insert", "delete", "upper"]))
    if how == "upper":
        return value.upper()
    if how == "delete":
        return value[:at] + value[at + 1 :]
    char = draw(TRICKY_CHARS)
    end = at + 1 if how == "replace" else at
    return value[:at] + char + value[end:]


JOIN_ITEMS = st.one_of(UUID_TEXT, near_miss(), st.text(max_size=40), st.none(), st.integers())


@JOIN_SETTINGS
@given(
    values=st.lists(JOIN_ITEMS, max_size=12),
    ends=st.sampled_from([("[", "]"), ('{"uuids":[', "]}")]),
)
def test_join_uuids_accepts_exactly_lists_of_uuids_and_encodes_them(
    values: list[Any], ends: tuple[str, str]
) -> None:
    head, tail = ends
    body = join_uuids(values, head, tail)
    if values and all(is_uuid(v) for v in values):
        assert body is not None
        assert body == head.encode() + msgspec.json.encode(values)[1:-1] + tail.encode()
        assert msgspec.json.decode(body[len(head) - 1 : len(body) - len(tail) + 1]) == values
    else:
        assert body is None


@pytest.mark.parametrize(
    "values",
    [
        ["xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"],
        # two values whose join looks like two uuids only if quotes were not counted
        ['3fa85f64-5717-4562-b3fc-2c963f66afa6","3fa85f64-5717-4562-b3fc-2c963f66afa6', ""],
        ["3fa85f64-5717-4562-b3fc-2c963f66afa", "63fa85f64-5717-4562-b3fc-2c963f66afa6"],
        [],
    ],
    ids=["x-shaped", "quote-smuggled", "shifted", "empty"],
)
def test_join_uuids_refuses_look_alikes(values: list[str]) -> None:
    assert join_uuids(values) is None


def test_the_public_uuid_check_states_the_rule() -> None:
    umid = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    assert aiomsg.check_uuid(umid) == umid
    for bad in ["3fa85f64-5717-4562-b3fc-2c963f66afa", f" {umid}", umid.replace("-", ""), "é" * 36]:
        with pytest.raises(aiomsg.ValidationError, match="umid") as caught:
            aiomsg.check_uuid(bad, "umid")
        assert "uuid" in caught.value.rule
    with pytest.raises(aiomsg.ValidationError, match="string"):
        aiomsg.check_uuid(7, "umid")


# ------------------------------------------------------------------- URL fields

# Characters RFC 3986 keeps out of a URI (8x8's schemas say "format: uri"), each in
# a URL that is otherwise fine. Every URL field of every request model refuses them.
NOT_URIS = [
    "https://a\x00b.example/dr",
    "https://example.com/d\x00r",
    "https://example.com/d\x7fr",
    "https://example.com/\x85",
    "https://example.com/<script>",
    'https://example.com/"x"',
    "https://example.com/{a}",
    "https://example.com/a|b",
    "https://example.com/a^b",
    "https://example.com/a`b",
    "https://example.com/a\\b",
    "https://example.com/a b",
    "https://example.com/dr?x=a b",
    "https://example.com/dr#a b",
    "https://example.com/dr#a#b",
    "https://example.com/%zz",
    "https://example.com/%2",
    "https://example.com/caf\u00e9",
    "https://ex\u00e4mple.com/dr",
    "https://example.com/\u2028",
    "https://example.com/[x]",
    "https://example.com:80:90/dr",
    "https://",
    "https:///dr",
]


def url_fields() -> dict[str, Callable[[str], object]]:
    from aiomsg.eightxeight.webhooks import Webhook, WebhookOAuth

    return {
        "dlrCallbackUrl": lambda url: notification(dlr_callback_url=url),
        "url": lambda url: Webhook(sub_account_id="*", url=url),
        "oauth.url": lambda url: WebhookOAuth(
            url=url, client_id="c", client_secret="s", credentials_location="header"
        ),
    }


@pytest.mark.parametrize("url", NOT_URIS)
@pytest.mark.parametrize("field", ["dlrCallbackUrl", "url", "oauth.url"])
def test_every_url_field_refuses_what_a_uri_cannot_hold(field: str, url: str) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        url_fields()[field](url)
    assert info.value.field == field
    assert "RFC 3986" in info.value.rule or "https" in info.value.rule


@pytest.mark.parametrize("url", NOT_URIS)
async def test_a_mapping_message_with_such_a_url_is_never_sent(
    eight: aiomsg.EightByEight, mock_http: Any, url: str
) -> None:
    await assert_rejected(
        eight, mock_http, [LINE_MESSAGE, message(dlrCallbackUrl=url)], "messages[1].dlrCallbackUrl"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/dr?x=1&y=%20z#frag",
        "https://example.com/a/b:c@d;e=f,g!h$i'j(k)*l+m~n",
        "https://xn--exmple-cua.com/dr",
        "https://example.com:8443/caf%C3%A9",
        "https://example.com?q=/a?b",
        "HTTPS://EXAMPLE.COM/DR",
    ],
)
@pytest.mark.parametrize("field", ["dlrCallbackUrl", "url", "oauth.url"])
def test_url_fields_accept_every_uri_form(field: str, url: str) -> None:
    url_fields()[field](url)
