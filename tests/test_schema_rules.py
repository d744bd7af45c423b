"""The client's rules are at least the providers': every constraint of the request
schemas of the endpoints aiomsg calls is refused before any I/O, item by item in bulk.

``SPEC`` lists each constraint of 8x8's OpenAPI request schemas (Business Messaging
API: LINE Notification single and batch send, the cancels, the WhatsApp Flow delete)
and of Revicom's stop page, written out here so the tests need no copy of the specs.
When the specs are at hand (``../shared/reference/8x8`` beside the repository),
``test_the_table_matches_8x8s_spec`` checks the table against them.
``OBSERVED`` holds rules 8x8 enforces beyond its schema (found by its answers).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote

import pytest

import aiomsg

SUB = "acme-sub_01"
ACCOUNT = "0d0e6a8e5b4f4c3d9a1b2c3d4e5f6a7b"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
BATCH = "cf3cbbf5-3e2d-ea11-815d-020897df5459"
LINE_BATCH_URL = f"https://chatapps.8x8.com/api/v1/subaccounts/{SUB}/lon/batch"
STOP_URL = "https://direct.revicom.ltd/api/v1/message/stop"
ANY_8X8 = re.compile(r"^https://(chatapps|sms)\.8x8\.com/.*$")


class Rule(NamedTuple):
    endpoint: str  # "lon" (one LINE message), "lon/batch", "cancel", "flow", "stop"
    where: str  # "body" or "path"
    path: str  # field path; "[]" marks an array's items
    keyword: str  # the JSON Schema keyword
    value: Any


ICONS = (
    "userPlus", "chatEllipsis", "phone", "note", "gear", "bell", "checkCircle",
    "slashCircle", "search", "link", "wallet", "store", "mapMarker", "idCard",
    "utensils", "medicalKit", "train", "planeDeparture", "questionCircle", "infoCircle",
    "boxCheck", "calendarCheck", "calendar", "file", "envelope", "usdCircle", "thbCircle",
    "usdCircleSend", "thbCircleSend", "invoice", "couponStar", "coupon", "creditCard",
    "starCard", "shoppingBag", "megaphone", "shieldCheck", "history",
)  # fmt: skip
SUB_ACCOUNT_PATTERN = r"^[A-Za-z0-9\-._&]{3,50}$"
ACCOUNT_PATTERN = r"^[0-9A-Fa-f]{8}[-]?(?:[0-9A-Fa-f]{4}[-]?){3}[0-9A-Fa-f]{12}$"


def _message_rules() -> list[Rule]:
    rows = [
        ("user", "required", True), ("user", "type", "object"),
        ("user.msisdn", "type", "string"),
        ("user.country", "type", "string"), ("user.country", "maxLength", 2),
        ("user.channelUserId", "type", "string"),
        ("clientMessageId", "type", "string"), ("clientMessageId", "maxLength", 50),
        ("content", "required", True), ("content", "type", "object"),
        ("content.title", "type", "string"),
        ("content.company", "type", "string"), ("content.company", "format", "uri"),
        ("content.icon", "type", "string"), ("content.icon", "enum", ICONS),
        ("content.emphasis", "type", "object"),
        ("content.emphasis.label", "type", "string"),
        ("content.emphasis.content", "type", "string"),
        ("content.list", "type", "array"), ("content.list[]", "type", "object"),
        ("content.list[].label", "type", "string"),
        ("content.list[].content", "type", "string"),
        ("content.greeting", "type", "string"), ("content.explanation", "type", "string"),
        ("content.actions", "type", "array"), ("content.actions[]", "type", "object"),
        ("content.actions[].title", "type", "string"),
        ("content.actions[].url", "type", "string"),
        ("dlrCallbackUrl", "type", "string"), ("dlrCallbackUrl", "format", "uri"),
        ("smsFallback", "type", "object"), ("smsFallback.text", "type", "string"),
        ("smsFallback.source", "type", "string"), ("smsFallback.source", "maxLength", 16),
        ("smsFallback.encoding", "type", "string"),
        ("smsFallback.encoding", "enum", ("AUTO", "GSM7", "UCS2")),
    ]  # fmt: skip
    return [Rule("lon", "body", path, keyword, value) for path, keyword, value in rows]


SPEC: list[Rule] = [
    *_message_rules(),
    Rule("lon/batch", "body", "messages", "required", True),
    Rule("lon/batch", "body", "messages", "type", "array"),
    Rule("lon/batch", "body", "messages", "maxItems", 10_000),
    Rule("lon/batch", "body", "clientBatchId", "type", "string"),
    Rule("lon/batch", "body", "clientBatchId", "maxLength", 100),
    Rule("lon/batch", "body", "includeMessagesInResponse", "type", "boolean"),
    Rule("lon", "path", "subAccountId", "type", "string"),
    Rule("lon", "path", "subAccountId", "minLength", 3),
    Rule("lon", "path", "subAccountId", "maxLength", 50),
    Rule("lon", "path", "subAccountId", "pattern", SUB_ACCOUNT_PATTERN),
    Rule("cancel", "path", "umid", "type", "string"),
    Rule("cancel", "path", "batchId", "type", "string"),
    Rule("flow", "path", "accountId", "type", "string"),
    Rule("flow", "path", "accountId", "minLength", 32),
    Rule("flow", "path", "accountId", "maxLength", 36),
    Rule("flow", "path", "accountId", "pattern", ACCOUNT_PATTERN),
    Rule("flow", "path", "channelId", "type", "string"),
    Rule("flow", "path", "flowId", "type", "string"),
    # Revicom's stop page: "uuids*" (required), an array of at most 10,000 values.
    Rule("stop", "body", "uuids", "required", True),
    Rule("stop", "body", "uuids", "type", "array"),
    Rule("stop", "body", "uuids", "maxItems", 10_000),
]

OBSERVED: list[Rule] = [
    # user: {"channelUserId": ""} earns 400 with code 3002 ("Missed MSISDN").
    Rule("lon", "body", "user.channelUserId", "minLength", 1),
]

# Where 8x8's schema and its own documentation disagree, and which side aiomsg takes
# (see PRODUCT.md's list of known drift): company is typed uri but its example is
# "8x8", so it is sent as any text.
NOT_ENFORCED = {Rule("lon", "body", "content.company", "format", "uri")}

# A value that breaks each rule; None: remove the field.
_WRONG_TYPE = {"string": 5, "object": "x", "array": "x", "boolean": "yes"}


def violation(rule: Rule) -> Any:
    if rule.keyword == "type":
        return _WRONG_TYPE[rule.value]
    if rule.keyword == "maxLength":
        return "A" * (rule.value + 1)
    if rule.keyword == "minLength":
        return "a" * (rule.value - 1)
    if rule.keyword == "enum":
        return "notInTheList"
    if rule.keyword == "format":
        return "not a uri"
    if rule.keyword == "pattern":
        return {"subAccountId": "acme/sub", "accountId": "z" * 32}[rule.path]
    if rule.keyword == "required":
        return None
    if rule.keyword == "maxItems":  # each call site builds its own long list
        return [None] * (rule.value + 1)
    raise AssertionError(f"no violation written for {rule}")


def base_message(cmid: str) -> dict[str, Any]:
    return {
        "user": {"msisdn": "+6591234567", "country": "SG", "channelUserId": "US.1349"},
        "clientMessageId": cmid,
        "content": {
            "title": "t", "company": "c", "icon": "calendar",
            "emphasis": {"label": "l", "content": "c"},
            "list": [{"label": "l", "content": "c"}],
            "greeting": "g", "explanation": "e",
            "actions": [{"title": "t", "url": "https://example.com/"}],
        },
        "dlrCallbackUrl": "https://example.com/dr",
        "smsFallback": {"text": "t", "source": "Info", "encoding": "AUTO"},
    }  # fmt: skip


def broken(message: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``message`` with the field at ``path`` set to ``value`` (None: removed)."""
    out = copy.deepcopy(message)
    parts = path.replace("[]", ".[]").split(".")
    node: Any = out
    for part in parts[:-1]:
        node = node[0] if part == "[]" else node[part]
    last = parts[-1]
    if last == "[]":
        node[0] = value
    elif value is None:
        del node[last]
    else:
        node[last] = value
    return out


def field_of(exc: aiomsg.ValidationError) -> str:
    return re.sub(r"\[\d+\]", "[]", exc.field)


BODY_RULES = [r for r in SPEC + OBSERVED if r.endpoint == "lon" and r.where == "body"]
CHECKED_BODY_RULES = [r for r in BODY_RULES if r not in NOT_ENFORCED]


def rule_id(rule: Rule) -> str:
    return f"{rule.endpoint}:{rule.path}:{rule.keyword}"


def test_every_rule_has_a_violation_and_the_base_message_is_valid() -> None:
    for rule in SPEC + OBSERVED:
        if rule not in NOT_ENFORCED:
            violation(rule)
    from aiomsg.eightxeight.models import as_line_notification

    as_line_notification(base_message("m-1"))


@pytest.mark.parametrize("rule", CHECKED_BODY_RULES, ids=rule_id)
async def test_a_single_send_refuses_each_violation_before_io(
    rule: Rule, eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    bad = broken(base_message("m-1"), rule.path, violation(rule))
    with pytest.raises(aiomsg.ValidationError) as info:
        await eight.chatapps.send_line_notification(SUB, bad)
    assert rule.path in field_of(info.value) or rule.keyword == "required"
    with pytest.raises(aiomsg.ValidationError):
        await eight.chatapps.send_line_notification_batch(SUB, [base_message("m-0"), bad])
    assert mock_http.count == 0


@pytest.mark.parametrize("rule", CHECKED_BODY_RULES, ids=rule_id)
async def test_bulk_fails_only_the_violating_item_and_sends_the_rest(
    rule: Rule, eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    answer = {
        "batchId": BATCH, "acceptedCount": 2,
        "messages": [
            {"umid": UMID, "clientMessageId": cmid, "status": {"state": "queued"}}
            for cmid in ("m-1", "m-3")
        ],
    }  # fmt: skip
    mock_http.post(LINE_BATCH_URL, payload=answer)
    bad = broken(base_message("m-2"), rule.path, violation(rule))
    report = await eight.chatapps.send_line_notifications(
        SUB, [base_message("m-1"), bad, base_message("m-3")]
    )
    outcomes = [o.outcome for o in report]
    assert outcomes == [aiomsg.Outcome.ACCEPTED, aiomsg.Outcome.FAILED, aiomsg.Outcome.ACCEPTED]
    assert isinstance(report.outcomes[1].error, aiomsg.ValidationError)
    sent = json.loads(mock_http.only_request()[2]["data"])
    assert [m["clientMessageId"] for m in sent["messages"]] == ["m-1", "m-3"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client_batch_id", "A" * 101),
        ("client_batch_id", 5),
        ("include_messages_in_response", "yes"),
    ],
)
async def test_batch_level_violations_are_refused_before_io(
    field: str, value: Any, eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    kwargs = {field: value}
    with pytest.raises(aiomsg.ValidationError):
        await eight.chatapps.send_line_notification_batch(SUB, [base_message("m-1")], **kwargs)
    with pytest.raises(aiomsg.ValidationError):
        await eight.chatapps.send_line_notifications(SUB, [base_message("m-1")], **kwargs)
    assert mock_http.count == 0


@pytest.mark.parametrize("messages", [None, "x", 5, [], "too many"])
async def test_the_messages_array_rules_are_refused_before_io(
    messages: Any, eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    if messages == "too many":  # aiomsg sends at most 1,000 (the API page's limit)
        messages = [base_message(f"m-{i}") for i in range(1001)]
    with pytest.raises(aiomsg.ValidationError):
        await eight.chatapps.send_line_notification_batch(SUB, messages)
    assert mock_http.count == 0


PATH_RULES = [r for r in SPEC if r.where == "path"]


@pytest.mark.parametrize("rule", PATH_RULES, ids=rule_id)
async def test_path_parameter_violations_are_refused_before_io(
    rule: Rule, eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    bad = violation(rule)
    ids = {"subAccountId": SUB, "umid": UMID, "batchId": BATCH, "accountId": ACCOUNT,
           "channelId": "wa-1", "flowId": "123"}  # fmt: skip
    ids[rule.path] = bad
    calls = {
        "subAccountId": [
            lambda: eight.chatapps.send_line_notification(ids["subAccountId"], base_message("m")),
            lambda: eight.chatapps.send_line_notification_batch(
                ids["subAccountId"], [base_message("m")]
            ),
            lambda: eight.chatapps.send_line_notifications(ids["subAccountId"], []),
            lambda: eight.chatapps.cancel_message(ids["subAccountId"], UMID),
            lambda: eight.sms.cancel_batch(ids["subAccountId"], BATCH),
            lambda: eight.sms.cancel_messages(ids["subAccountId"], [UMID]),
        ],
        "umid": [
            lambda: eight.chatapps.cancel_message(SUB, ids["umid"]),
            lambda: eight.sms.cancel_message(SUB, ids["umid"]),
        ],
        "batchId": [
            lambda: eight.chatapps.cancel_batch(SUB, ids["batchId"]),
            lambda: eight.sms.cancel_batch(SUB, ids["batchId"]),
        ],
    }
    flow = [lambda: eight.chatapps.delete_whatsapp_flow(
        ids["accountId"], ids["channelId"], ids["flowId"])]  # fmt: skip
    for call in calls.get(rule.path, flow):
        with pytest.raises(aiomsg.ValidationError):
            await call()
    assert mock_http.count == 0


@pytest.mark.parametrize("api", ["chatapps", "sms"])
async def test_bulk_cancels_fail_only_the_bad_umid(
    api: str, eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    mock_http.delete(ANY_8X8, payload={"cancelledCount": 1}, repeat=True)
    report = await getattr(eight, api).cancel_messages(SUB, [UMID, 5, BATCH])
    assert [o.outcome for o in report] == [
        aiomsg.Outcome.CANCELLED, aiomsg.Outcome.FAILED, aiomsg.Outcome.CANCELLED,
    ]  # fmt: skip
    assert isinstance(report.outcomes[1].error, aiomsg.ValidationError)
    assert mock_http.count == 2


@pytest.mark.parametrize("uuids", [None, "x", 5, [], "too many"])
async def test_revicom_uuids_rules_are_refused_before_io(
    uuids: Any, revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    if uuids == "too many":
        uuids = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(10_001)]
    with pytest.raises(aiomsg.ValidationError):
        await revicom.stop_batch(uuids)
    assert mock_http.count == 0


async def test_bulk_stop_fails_only_the_bad_uuid(revicom: aiomsg.Revicom, mock_http: Any) -> None:
    mock_http.post(STOP_URL, payload={"items": [{"messageUuid": UMID, "code": 200}]})
    report = await revicom.stop([UMID, 5, ""])
    assert [o.outcome for o in report] == [
        aiomsg.Outcome.STOPPED, aiomsg.Outcome.FAILED, aiomsg.Outcome.FAILED,
    ]  # fmt: skip
    assert json.loads(mock_http.only_request()[2]["data"]) == {"uuids": [UMID]}


# ------------------------------------------------------ the table against the spec

SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "8x8"
_KEYWORDS = ("type", "maxLength", "minLength", "pattern", "enum", "maxItems", "minItems", "format")


def _walk(schema: dict[str, Any], path: str, endpoint: str, root: dict[str, Any]) -> list[Rule]:
    schema = _resolve(schema, root)
    rows = []
    for keyword in _KEYWORDS:
        if keyword in schema and path:
            value = schema[keyword]
            rows.append(
                Rule(endpoint, "body", path, keyword, tuple(value) if keyword == "enum" else value)
            )
    for name in schema.get("required", ()):
        rows.append(Rule(endpoint, "body", f"{path}.{name}".lstrip("."), "required", True))
    for name, sub in schema.get("properties", {}).items():
        rows.extend(_walk(sub, f"{path}.{name}".lstrip("."), endpoint, root))
    if "items" in schema and path != "messages":  # the batch's items are the lon schema
        rows.extend(_walk(schema["items"], f"{path}[]", endpoint, root))
    return rows


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        key = unquote(part.replace("~1", "/").replace("~0", "~"))
        node = node[int(key)] if isinstance(node, list) else node[key]
    return _resolve(node, root)


@pytest.mark.skipif(not SPEC_DIR.is_dir(), reason="8x8's specs are not beside the repository")
def test_the_table_matches_8x8s_spec() -> None:
    root = json.loads((SPEC_DIR / "business_messaging_api.json").read_text())
    paths = root["paths"]

    def body(path: str) -> dict[str, Any]:
        schema: dict[str, Any] = paths[path]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ]
        return schema

    def params(path: str, method: str, endpoint: str) -> list[Rule]:
        rows = []
        for param in paths[path].get("parameters", []) + paths[path][method].get("parameters", []):
            param = _resolve(param, root)
            for keyword in _KEYWORDS:
                if keyword in param.get("schema", {}):
                    rows.append(
                        Rule(endpoint, "path", param["name"], keyword, param["schema"][keyword])
                    )
        return rows

    sub = "/api/v1/subaccounts/{subAccountId}"
    flow = "/api/v1/accounts/{accountId}/channels/{channelId}/flows/{flowId}"
    cancels = [
        *params(f"{sub}/messages/{{umid}}", "delete", "cancel"),
        *params(f"{sub}/messages/batch/{{batchId}}", "delete", "cancel"),
    ]
    found = {
        *_walk(body(f"{sub}/lon"), "", "lon", root),
        *_walk(body(f"{sub}/lon/batch"), "", "lon/batch", root),
        *params(f"{sub}/lon", "post", "lon"),
        # subAccountId is the same parameter on every route: listed once, under lon.
        *[r for r in cancels if r.path != "subAccountId"],
        *params(flow, "delete", "flow"),
    }
    ours = {r for r in SPEC if r.endpoint != "stop"}
    assert found - ours == set(), "constraints of the spec missing from the table"
    assert ours - found == set(), "constraints in the table that the spec does not state"
