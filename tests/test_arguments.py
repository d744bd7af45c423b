"""Every bad argument is a typed error before any I/O; str subclasses go as plain text.

Each case here raised ``TypeError`` (or an exception group of them) before: the
request was not sent, but no aiomsg error said which argument broke which rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

import aiomsg
from aiomsg.eightxeight.models import LineNotificationBatch, as_line_notification

SUB = "acme-sub_01"
UUID_A = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
UUID_B = "cf3cbbf5-3e2d-ea11-815d-020897df5459"
LINE_BATCH_URL = f"https://chatapps.8x8.com/api/v1/subaccounts/{SUB}/lon/batch"
STOP_URL = "https://direct.revicom.ltd/api/v1/message/stop"
CANCEL_URL = re.compile(r"^https://(chatapps|sms)\.8x8\.com/api/v1/subaccounts/.*$")


class Markup(str):
    """Like ``markupsafe.Markup``: a str subclass that overrides str's own methods."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> Markup:
        return Markup(str.__getitem__(self, key))

    def __add__(self, other: str) -> Markup:
        return Markup(str.__add__(self, other))


def message(**content: Any) -> aiomsg.LineNotification:
    return aiomsg.LineNotification(
        user=aiomsg.LineUser(msisdn="+6591234567"),
        content=aiomsg.LineContent(title="Hi", **content),
        client_message_id="m-1",
    )


BulkCall = Callable[[aiomsg.EightByEight, aiomsg.Revicom, dict[str, Any]], Awaitable[object]]

BULK_CALLS: dict[str, BulkCall] = {
    "revicom.stop": lambda e, r, kw: r.stop([UUID_A], **kw),
    "chatapps.send_line_notifications": lambda e, r, kw: e.chatapps.send_line_notifications(
        SUB, [message()], **kw
    ),
    "chatapps.cancel_messages": lambda e, r, kw: e.chatapps.cancel_messages(SUB, [UUID_A], **kw),
    "sms.cancel_messages": lambda e, r, kw: e.sms.cancel_messages(SUB, [UUID_A], **kw),
}

# (option, value, the words the rule must contain)
BAD_OPTIONS = [
    ("concurrency", 2.5, "whole number"),
    ("concurrency", "10", "whole number"),
    ("concurrency", None, "whole number"),
    ("concurrency", True, "whole number"),
    ("stop_on_failure", "yes", "True or False"),
    ("concurrency", 0, "whole number from 1 to 1,000"),
    # One worker per unit of concurrency: a huge value was a hang, never an error.
    ("concurrency", aiomsg.bulk.MAX_CONCURRENCY + 1, "whole number from 1 to 1,000"),
    ("concurrency", 2**70, "whole number from 1 to 1,000"),
    ("concurrency", 10**400, "whole number from 1 to 1,000"),
    ("deadline", "5", "finite number of seconds"),
    ("deadline", float("nan"), "finite number of seconds"),
    ("deadline", float("inf"), "finite number of seconds"),
    ("deadline", 0, "finite number of seconds"),
    ("deadline", -1, "finite number of seconds"),
    ("deadline", True, "finite number of seconds"),
    ("deadline", Decimal("5"), "finite number of seconds"),
    ("deadline", 10**400, "finite number of seconds"),  # was a bare OverflowError
    ("deadline", -(10**400), "finite number of seconds"),
    ("on_progress", "print", "callable"),
    ("before_send", 1, "callable"),
    ("concurency", 4, "one of"),  # a misspelt option is not silently ignored
]


@pytest.mark.parametrize("call", BULK_CALLS.values(), ids=BULK_CALLS.keys())
@pytest.mark.parametrize("value", [2.5, "10", None, True, 0])
async def test_a_bad_chunk_size_is_a_validation_error(
    call: BulkCall, value: object, eight: aiomsg.EightByEight, revicom: aiomsg.Revicom,
    mock_http: Any,
) -> None:  # fmt: skip
    with pytest.raises(aiomsg.ValidationError) as info:
        await call(eight, revicom, {"chunk_size": value})
    assert info.value.field == "chunk_size"
    # The cancels send one id per request: for them chunk_size is no option at all.
    rule = info.value.rule
    assert "whole number from 1 to" in rule or "between 1 and" in rule or "one of" in rule
    assert mock_http.count == 0


@pytest.mark.parametrize("call", BULK_CALLS.values(), ids=BULK_CALLS.keys())
@pytest.mark.parametrize(("option", "value", "rule"), BAD_OPTIONS)
async def test_a_bad_bulk_option_is_a_validation_error_before_io(
    call: BulkCall, option: str, value: object, rule: str,
    eight: aiomsg.EightByEight, revicom: aiomsg.Revicom, mock_http: Any,
) -> None:  # fmt: skip
    with pytest.raises(aiomsg.ValidationError) as info:
        await call(eight, revicom, {option: value})
    assert info.value.field == option
    assert rule in info.value.rule
    assert mock_http.count == 0


async def test_the_largest_concurrency_is_accepted_and_shared_with_the_cli(
    revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    from aiomsg.cli.common import MAX_CONCURRENCY as CLI_MAX

    assert CLI_MAX == aiomsg.bulk.MAX_CONCURRENCY == 1000
    mock_http.post(STOP_URL, payload={"items": [{"messageUuid": UUID_A, "code": 200}]})
    report = await revicom.stop([UUID_A], concurrency=aiomsg.bulk.MAX_CONCURRENCY)
    assert [o.outcome for o in report] == [aiomsg.Outcome.STOPPED]


@pytest.mark.parametrize("value", [None, 123, 2.5, object(), "not-a-list", b"bytes", {"a": 1}])
async def test_stop_batch_refuses_a_non_list_with_a_validation_error(
    value: object, revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        await revicom.stop_batch(value)  # type: ignore[arg-type]
    assert info.value.field == "uuids"
    assert mock_http.count == 0


async def test_stop_batch_refuses_an_async_iterable(
    revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    async def gen() -> Any:
        yield UUID_A

    with pytest.raises(aiomsg.ValidationError, match="async iterable"):
        await revicom.stop_batch(gen())  # type: ignore[arg-type]
    assert mock_http.count == 0


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: aiomsg.LineContent(icon=["calendar"]), "content.icon"),  # type: ignore[arg-type]
        (lambda: aiomsg.LineContent(icon={"calendar": 1}), "content.icon"),  # type: ignore[arg-type]
        (lambda: aiomsg.SmsFallback(encoding={}), "smsFallback.encoding"),  # type: ignore[arg-type]
        (lambda: aiomsg.SmsFallback(encoding=["AUTO"]), "smsFallback.encoding"),  # type: ignore[arg-type]
        (lambda: aiomsg.LineUser(country=["SG"], msisdn="91234567"), "user.country"),  # type: ignore[arg-type]
        (lambda: LineNotificationBatch(messages=None), "messages"),  # type: ignore[arg-type]
        (lambda: LineNotificationBatch(messages=(message(),)), "messages"),  # type: ignore[arg-type]
    ],
)
def test_unhashable_or_mistyped_model_fields_are_validation_errors(
    build: Callable[[], object], field: str
) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        build()
    assert info.value.field == field


@pytest.mark.parametrize(
    "value",
    [["calendar"], {"x": 1}, 3, None, [{"a": 1}]],
    ids=["list", "dict", "int", "none", "nested"],
)
def test_mapping_messages_with_unhashable_enums_are_validation_errors(value: object) -> None:
    raw = {"user": {"msisdn": "+6591234567"}, "content": {"icon": value}}
    with pytest.raises(aiomsg.ValidationError) as info:
        as_line_notification(raw)
    assert "content.icon" in info.value.field


# --------------------------------------------------------------- str subclasses


def markup_message() -> aiomsg.LineNotification:
    return aiomsg.LineNotification(
        user=aiomsg.LineUser(msisdn=Markup("+6591234567"), country=Markup("SG")),
        content=aiomsg.LineContent(
            title=Markup("<b>Hi</b>"),
            icon=Markup("calendar"),  # type: ignore[arg-type]
            emphasis=aiomsg.LineEmphasis(label=Markup("l"), content=Markup("c")),
            items=[aiomsg.LineListItem(label=Markup("a"), content=Markup("b"))],
            actions=[aiomsg.LineAction(title=Markup("go"), url=Markup("https://example.com/"))],
        ),
        client_message_id=Markup("m-1"),
        dlr_callback_url=Markup("https://example.com/dr"),
        sms_fallback=aiomsg.SmsFallback(
            text=Markup("t"),
            source=Markup("Info"),
            encoding=Markup("AUTO"),  # type: ignore[arg-type]
        ),
    )


def plain_wire(raw: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(raw)
    return decoded


async def test_a_str_subclass_in_every_line_field_is_sent_as_plain_text(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    mock_http.post(LINE_BATCH_URL, payload={"batchId": UUID_B, "acceptedCount": 1})
    await eight.chatapps.send_line_notification_batch(
        Markup(SUB), [markup_message()], client_batch_id=Markup("batch-1")
    )
    _, url, kwargs = mock_http.only_request()
    assert str(url) == LINE_BATCH_URL
    body = plain_wire(kwargs["data"])
    assert body["clientBatchId"] == "batch-1"
    msg = body["messages"][0]
    assert msg["content"]["title"] == "<b>Hi</b>"
    assert msg["content"]["icon"] == "calendar"
    assert msg["user"] == {"msisdn": "+6591234567", "country": "SG"}
    assert msg["smsFallback"] == {"text": "t", "source": "Info", "encoding": "AUTO"}


async def test_a_str_subclass_does_not_fail_its_bulk_request(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    answer = {
        "batchId": UUID_B, "acceptedCount": 2,
        "messages": [
            {"umid": UUID_A, "clientMessageId": "m-1", "status": {"state": "queued"}},
            {"umid": UUID_B, "clientMessageId": "m-2", "status": {"state": "queued"}},
        ],
    }  # fmt: skip
    mock_http.post(LINE_BATCH_URL, payload=answer)
    mapping = {
        "user": {"msisdn": Markup("+6591234568")},
        "content": {"title": Markup("x")},
        "clientMessageId": Markup("m-2"),
    }
    report = await eight.chatapps.send_line_notifications(SUB, [markup_message(), mapping])
    assert [o.outcome for o in report] == [aiomsg.Outcome.ACCEPTED] * 2
    body = plain_wire(mock_http.only_request()[2]["data"])
    assert [m["clientMessageId"] for m in body["messages"]] == ["m-1", "m-2"]


async def test_str_subclass_uuids_and_ids_are_sent_as_plain_text(
    eight: aiomsg.EightByEight, revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    mock_http.post(STOP_URL, payload={"items": [{"messageUuid": UUID_A, "code": 200}]})
    result = await revicom.stop_batch([Markup(UUID_A)])
    assert [i.code for i in result.items] == [200]
    assert plain_wire(mock_http.only_request()[2]["data"]) == {"uuids": [UUID_A]}

    # In bulk, with an invalid neighbour (the item-by-item path).
    mock_http.post(STOP_URL, payload={"items": [{"messageUuid": UUID_A, "code": 200}]})
    report = await revicom.stop([Markup(UUID_A), "nope"])
    assert [o.outcome for o in report] == [aiomsg.Outcome.STOPPED, aiomsg.Outcome.FAILED]

    mock_http.delete(CANCEL_URL, payload={"cancelledCount": 1}, repeat=True)
    assert (await eight.sms.cancel_message(Markup(SUB), Markup(UUID_A))).cancelled_count == 1
    report = await eight.chatapps.cancel_messages(Markup(SUB), [Markup(UUID_A), 5])
    assert [o.outcome for o in report] == [aiomsg.Outcome.CANCELLED, aiomsg.Outcome.FAILED]
    deletes = [str(u) for m, u, _ in mock_http.sent() if m == "DELETE"]
    assert all(d.endswith(f"/subaccounts/{SUB}/messages/{UUID_A}") for d in deletes), deletes


def test_a_value_no_model_check_caught_is_still_a_validation_error() -> None:
    from aiomsg._codec import encode

    with pytest.raises(aiomsg.ValidationError, match="cannot be sent"):
        encode({"x": object()})


# ------------------------------------------------------------- client settings


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("connector_limit", "8"), ("connector_limit", 2.5), ("connector_limit", None),
        ("connector_limit", 0), ("max_response_size", "1mb"), ("max_response_size", -1),
        ("trace_configs", None), ("trace_configs", 5), ("trace_configs", ["x"]),
        ("retry", 5), ("retry_budget", "x"), ("on_request", 5), ("rate_limit", None),
        ("min_tls_version", "1.3"),
    ],
)  # fmt: skip
async def test_bad_client_settings_are_configuration_errors(setting: str, value: object) -> None:
    for make in (
        lambda: aiomsg.EightByEight(api_key="k", **{setting: value}),
        lambda: aiomsg.Revicom(token="t", **{setting: value}),
    ):
        with pytest.raises(aiomsg.ConfigurationError, match=setting):
            make()


@pytest.mark.parametrize("region", [["ap"], {"ap": 1}, 1, None])
async def test_an_unhashable_region_is_a_configuration_error(region: object) -> None:
    with pytest.raises(aiomsg.ConfigurationError, match="region"):
        aiomsg.EightByEight(api_key="k", region=region)  # type: ignore[arg-type]


# ------------------------------------------------------------------ wording


@pytest.mark.parametrize(
    ("value", "words"),
    [("x", "(1 character)"), ("xy", "(2 characters)"), ("x" * 1234, "(1,234 characters)")],
)
def test_character_counts_read_right(value: str, words: str) -> None:
    from aiomsg._validation import describe

    assert describe(value).endswith(words)


def test_length_rules_read_right() -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        aiomsg.LineUser(msisdn="1", country="SG")
    assert "(1 character)" in str(info.value)
    assert "characters)" not in str(info.value)


# ------------------------------------------------- inputs that raise while read


class Boom(Exception):
    """What a hostile input raises; its message cannot even be read."""

    def __str__(self) -> str:
        raise RuntimeError("no message")


class RaisingIter:
    def __iter__(self) -> Any:
        raise Boom


class NotAnIterator:
    def __iter__(self) -> Any:
        return 5  # iter() raises TypeError


class RaisingLen(list[Any]):
    def __len__(self) -> int:
        raise ValueError("no length")


class HugeLen(list[Any]):
    def __len__(self) -> int:
        return 2**70  # len() raises OverflowError


class NegativeLen(list[Any]):
    def __len__(self) -> int:
        return -1  # len() raises ValueError


class RaisingAiter:
    def __aiter__(self) -> Any:
        raise Boom


def raising_generator() -> Any:
    raise Boom
    yield  # a generator


def hostile_inputs(item: Any) -> dict[str, Callable[[], object]]:
    return {
        "__iter__ raises": RaisingIter,
        "__iter__ returns no iterator": NotAnIterator,
        "__len__ raises": lambda: RaisingLen([item]),
        "__len__ too large": lambda: HugeLen([item]),
        "__len__ negative": lambda: NegativeLen([item]),
        "generator raises": raising_generator,
    }


BULK_INPUTS: dict[str, Callable[[aiomsg.EightByEight, aiomsg.Revicom, Any], Awaitable[object]]] = {
    "revicom.stop": lambda e, r, items: r.stop(items),
    "chatapps.send_line_notifications": lambda e, r, items: e.chatapps.send_line_notifications(
        SUB, items
    ),
    "chatapps.cancel_messages": lambda e, r, items: e.chatapps.cancel_messages(SUB, items),
    "sms.cancel_messages": lambda e, r, items: e.sms.cancel_messages(SUB, items),
}


@pytest.mark.parametrize("call", BULK_INPUTS)
@pytest.mark.parametrize("kind", [*hostile_inputs(None), "__aiter__ raises"])
async def test_a_bulk_input_that_cannot_be_read_is_a_bulk_input_error(
    call: str, kind: str, eight: aiomsg.EightByEight, revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    item = message() if call == "chatapps.send_line_notifications" else UUID_A
    make = {**hostile_inputs(item), "__aiter__ raises": RaisingAiter}[kind]
    with pytest.raises(aiomsg.BulkInputError) as info:
        await BULK_INPUTS[call](eight, revicom, make())
    assert len(info.value.report) == 0
    assert not info.value.report.complete
    assert info.value.__cause__ is not None
    assert mock_http.count == 0


SINGLE_INPUTS: dict[str, tuple[str, Any, Callable[..., Awaitable[object]]]] = {
    "revicom.stop_batch": ("uuids", UUID_A, lambda e, r, items: r.stop_batch(items)),
    "chatapps.send_line_notification_batch": (
        "messages", message(),
        lambda e, r, items: e.chatapps.send_line_notification_batch(SUB, items),
    ),
    "chatapps.set_webhooks": (
        "webhooks", {"subAccountId": "*", "url": "https://example.com/dr", "type": "CADR"},
        lambda e, r, items: e.chatapps.set_webhooks(UUID_A, items),
    ),
    "chatapps.delete_webhooks": (
        "targets", {"subAccountId": "*", "type": "CADR"},
        lambda e, r, items: e.chatapps.delete_webhooks(UUID_A, items),
    ),
}  # fmt: skip


@pytest.mark.parametrize("call", SINGLE_INPUTS)
@pytest.mark.parametrize("kind", hostile_inputs(None))
async def test_a_single_request_input_that_cannot_be_read_is_a_validation_error(
    call: str, kind: str, eight: aiomsg.EightByEight, revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    field, item, send = SINGLE_INPUTS[call]
    with pytest.raises(aiomsg.ValidationError) as info:
        await send(eight, revicom, hostile_inputs(item)[kind]())
    assert info.value.field == field
    assert "read" in info.value.rule
    assert info.value.__cause__ is not None
    assert mock_http.count == 0
