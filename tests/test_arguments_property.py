"""Any argument to any public method: a typed aiomsg error before I/O, or a correct request.

Every endpoint method (single, bulk and streaming) of ``EightByEight.chatapps``,
``EightByEight.sms`` and ``Revicom``, the request models and the client constructors
are called with arguments drawn from valid values and hostile ones (None, numbers,
bytes, lists, dicts, str subclasses, objects, values that break a schema rule).
Each call must either raise ``ValidationError`` (``ConfigurationError`` for client
settings) with nothing sent, or send only requests that 8x8's or Revicom's published
schema accepts (the table in ``tests/test_schema_rules.py``), with every bulk item
accounted for and a ``failed`` item always carrying its ``ValidationError``.
Requests are answered by aioresponses: nothing leaves the process.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

import aiomsg
from aiomsg._codec import encode
from tests.mockhttp import MockHTTP
from tests.test_schema_rules import NOT_ENFORCED, OBSERVED, SPEC, Rule, base_message

SUB = "acme-sub_01"
UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
ACCOUNT = "0d0e6a8e5b4f4c3d9a1b2c3d4e5f6a7b"

_SSL = ssl.create_default_context()
_SSL.minimum_version = ssl.TLSVersion.TLSv1_3


class Markup(str):
    __slots__ = ()

    def __getitem__(self, key: Any) -> Markup:
        return Markup(str.__getitem__(self, key))


# ------------------------------------------------------------------- the oracle

_TYPES: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
}
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")


def _values(doc: Any, path: str) -> list[tuple[bool, Any]]:
    """(present, value) for each place ``path`` names (``[]`` expands arrays)."""
    nodes: list[Any] = [doc]
    parts = path.replace("[]", ".[]").split(".")
    for part in parts[:-1]:
        step: list[Any] = []
        for node in nodes:
            if part == "[]":
                step.extend(node if isinstance(node, list) else [])
            elif isinstance(node, dict) and part in node:
                step.append(node[part])
        nodes = step
    last = parts[-1]
    if last == "[]":
        return [(True, v) for node in nodes if isinstance(node, list) for v in node]
    return [(last in n, n.get(last)) for n in nodes if isinstance(n, dict)]


def _problems(doc: Any, rules: list[Rule]) -> list[str]:
    found = []
    for rule in rules:
        if rule in NOT_ENFORCED:
            continue
        for present, value in _values(doc, rule.path):
            k, want = rule.keyword, rule.value
            bad = (
                (k == "required" and not present)
                or (present and k == "type" and not _TYPES[want](value))
                or (isinstance(value, str) and k == "maxLength" and len(value) > want)
                or (isinstance(value, str) and k == "minLength" and len(value) < want)
                or (isinstance(value, str) and k == "enum" and value not in want)
                or (isinstance(value, str) and k == "format" and not _URI.fullmatch(value))
                or (isinstance(value, str) and k == "pattern" and not re.search(want, value))
                or (isinstance(value, list) and k == "maxItems" and len(value) > want)
            )
            if bad:
                found.append(f"{rule.path} breaks {k}={want!r}")
    return found


def _rules(endpoint: str, where: str = "body") -> list[Rule]:
    return [r for r in SPEC + OBSERVED if r.endpoint == endpoint and r.where == where]


def message_problems(msg: Any) -> list[str]:
    return _problems(msg, _rules("lon"))


def request_problems(method: str, url: URL, body: bytes | None) -> list[str]:
    """What 8x8's or Revicom's published schema would refuse in this request."""
    path = url.raw_path
    parts = [s for s in path.split("/") if s]
    problems = []
    if "subaccounts" in parts:
        sub = URL.build(path="/" + parts[parts.index("subaccounts") + 1], encoded=True).path[1:]
        problems += _problems({"subAccountId": sub}, _rules("lon", "path"))
    if "accounts" in parts:
        account = parts[parts.index("accounts") + 1]
        problems += _problems({"accountId": account}, _rules("flow", "path"))
    doc = json.loads(body) if body else None
    if path.endswith("/lon/batch"):
        problems += _problems(doc, _rules("lon/batch"))
        for msg in doc.get("messages", []) if isinstance(doc, dict) else []:
            problems += message_problems(msg)
        if not doc.get("messages"):
            problems.append("an empty batch")
    elif path.endswith("/lon"):
        problems += message_problems(doc)
    elif path.endswith("/message/stop"):
        problems += _problems(doc, _rules("stop"))
        if not doc.get("uuids"):
            problems.append("an empty stop")
    elif method == "DELETE":
        if body:
            problems.append("a DELETE with a body")
    else:
        problems.append(f"an unknown endpoint {method} {path}")
    return problems


# ------------------------------------------------------------------ strategies

anything = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 12_000), st.floats(),
    st.text(max_size=60), st.text(max_size=20).map(Markup), st.binary(max_size=8),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2),
    st.just(object()), st.tuples(st.text(max_size=4)), st.just(float("nan")),
)  # fmt: skip
RULE_PATHS = sorted({r.path for r in _rules("lon")})


@st.composite
def line_messages(draw: st.DrawFn) -> Any:
    """A valid LINE message (mapping or typed), one with a field set to anything, or
    anything at all."""
    cmid = draw(st.one_of(st.none(), st.text(min_size=1, max_size=12)))
    msg = base_message(cmid or "m")
    if cmid is None:
        del msg["clientMessageId"]
    kind = draw(st.sampled_from(["valid", "typed", "broken", "markup", "anything"]))
    if kind == "typed":
        from aiomsg.eightxeight.models import as_line_notification

        return as_line_notification(msg)
    if kind == "broken":
        path = draw(st.sampled_from(RULE_PATHS))
        node: Any = msg
        parts = path.replace("[]", ".[]").split(".")
        for part in parts[:-1]:
            node = node[0] if part == "[]" else node.get(part)
            if not isinstance(node, dict | list):
                return msg
        if parts[-1] == "[]":
            node[0] = draw(anything)
        elif draw(st.booleans()):
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = draw(anything)
    if kind == "markup":
        msg["content"]["title"] = Markup(msg["content"]["title"])
    if kind == "anything":
        return draw(anything)
    return msg


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(valid, valid, anything)


def items_of(item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(item, max_size=6), st.lists(item, max_size=6).map(tuple),
        st.lists(item, max_size=6).map(iter), anything,
    )  # fmt: skip


sub_accounts = maybe(st.sampled_from([SUB, "a&b.c-d_e", Markup(SUB)]))
uuids = maybe(st.sampled_from([UUID, UUID.upper(), Markup(UUID)]) | st.uuids().map(str))
ids = maybe(st.sampled_from(["wa-1", "1234", "x%2Fy", "{a}"]) | st.text(max_size=10))
options = st.fixed_dictionaries(
    {},
    optional={
        "concurrency": maybe(st.integers(1, 4)),
        "stop_on_failure": maybe(st.booleans()),
        "deadline": maybe(st.sampled_from([None, 30.0])),
        "on_progress": maybe(st.sampled_from([None, lambda p: None])),
    },
)
line_options = st.fixed_dictionaries(
    {},
    optional={
        "client_batch_id": maybe(st.text(max_size=101)),
        "include_messages_in_response": maybe(st.booleans()),
        "chunk_size": maybe(st.integers(1, 3)),
    },
)
stop_options = st.fixed_dictionaries({}, optional={"chunk_size": maybe(st.integers(1, 3))})

Call = Callable[[aiomsg.EightByEight, aiomsg.Revicom], Awaitable[Any]]


def _streamed(make: Callable[[], Any]) -> Call:
    async def run(e: aiomsg.EightByEight, r: aiomsg.Revicom) -> Any:
        async with make() as stream:
            # A stream hands outcomes on as requests finish, not in input order.
            return sorted([o async for o in stream], key=lambda o: o.index)

    return run


def endpoint_calls() -> dict[str, st.SearchStrategy[tuple[Call, Any]]]:
    """Each public endpoint method, with a strategy for a call to it and its input."""
    msgs = items_of(line_messages())
    umids = items_of(uuids)
    c: dict[str, st.SearchStrategy[tuple[Call, Any]]] = {}
    c["chatapps.send_line_notification_batch"] = st.builds(
        lambda s, m, kw: (lambda e, r: e.chatapps.send_line_notification_batch(s, m, **{
            k: v for k, v in kw.items() if k != "chunk_size"}), None),
        sub_accounts, msgs, line_options,
    )  # fmt: skip
    c["chatapps.send_line_notification"] = st.builds(
        lambda s, m: (lambda e, r: e.chatapps.send_line_notification(s, m), None),
        sub_accounts, line_messages(),
    )  # fmt: skip
    c["chatapps.send_line_notifications"] = st.builds(
        lambda s, m, kw, o: (
            lambda e, r: e.chatapps.send_line_notifications(s, m, **kw, **o), m
        ),
        sub_accounts, msgs, line_options, options,
    )  # fmt: skip
    c["chatapps.stream_send_line_notifications"] = st.builds(
        lambda s, m, kw, o: (
            lambda e, r: _streamed(
                lambda: e.chatapps.stream_send_line_notifications(s, m, **kw, **o)
            )(e, r), m,
        ),
        sub_accounts, msgs, line_options, options,
    )  # fmt: skip
    c["chatapps.delete_whatsapp_flow"] = st.builds(
        lambda a, ch, f: (lambda e, r: e.chatapps.delete_whatsapp_flow(a, ch, f), None),
        maybe(st.sampled_from([ACCOUNT, "0d0e6a8e-5b4f-4c3d-9a1b-2c3d4e5f6a7b"])), ids, ids,
    )  # fmt: skip
    for api in ("chatapps", "sms"):
        c[f"{api}.cancel_message"] = st.builds(
            lambda s, u, api=api: (lambda e, r: getattr(e, api).cancel_message(s, u), None),
            sub_accounts, uuids,
        )  # fmt: skip
        c[f"{api}.cancel_batch"] = st.builds(
            lambda s, u, api=api: (lambda e, r: getattr(e, api).cancel_batch(s, u), None),
            sub_accounts, uuids,
        )  # fmt: skip
        c[f"{api}.cancel_messages"] = st.builds(
            lambda s, u, o, api=api: (
                lambda e, r: getattr(e, api).cancel_messages(s, u, **o), u
            ),
            sub_accounts, umids, options,
        )  # fmt: skip
        c[f"{api}.stream_cancel_messages"] = st.builds(
            lambda s, u, o, api=api: (
                lambda e, r: _streamed(
                    lambda: getattr(e, api).stream_cancel_messages(s, u, **o)
                )(e, r), u,
            ),
            sub_accounts, umids, options,
        )  # fmt: skip
    c["revicom.stop_batch"] = st.builds(lambda u: (lambda e, r: r.stop_batch(u), None), umids)
    c["revicom.stop"] = st.builds(
        lambda u, kw, o: (lambda e, r: r.stop(u, **kw, **o), u), umids, stop_options, options
    )
    c["revicom.stream_stop"] = st.builds(
        lambda u, kw, o: (
            lambda e, r: _streamed(lambda: r.stream_stop(u, **kw, **o))(e, r), u
        ),
        umids, stop_options, options,
    )  # fmt: skip
    return c


ENDPOINT_CALLS = endpoint_calls()

_ANY_8X8 = re.compile(r"^https://(chatapps|sms)\.8x8\.com/.*$")
_LINE_BATCH = re.compile(r"^https://chatapps\.8x8\.com/api/v1/subaccounts/[^/]+/lon/batch$")
_LINE_ONE = re.compile(r"^https://chatapps\.8x8\.com/api/v1/subaccounts/[^/]+/lon$")
_FLOW = re.compile(r"^https://chatapps\.8x8\.com/api/v1/accounts/.*$")


def _answer_everything(mock: MockHTTP) -> None:
    mock.post(_LINE_BATCH, payload={"batchId": UUID, "acceptedCount": 0}, repeat=True)
    mock.post(_LINE_ONE, payload={"umid": UUID, "status": {"state": "queued"}}, repeat=True)
    mock.delete(_FLOW, status=204, repeat=True)
    mock.delete(_ANY_8X8, payload={"cancelledCount": 1}, repeat=True)
    mock.post(
        "https://direct.revicom.ltd/api/v1/message/stop",
        payload={"errors": False, "items": []}, repeat=True,
    )  # fmt: skip


async def _call(call: Call) -> tuple[Any, BaseException | None, list[Any]]:
    with MockHTTP() as mock:
        _answer_everything(mock)
        async with (
            aiomsg.EightByEight(api_key="k", ssl=_SSL) as eight,
            aiomsg.Revicom(token="t", ssl=_SSL) as revicom,
        ):
            try:
                result = await call(eight, revicom)
            except Exception as exc:
                return None, exc, mock.sent()
        return result, None, mock.sent()


@pytest.mark.parametrize("name", sorted(ENDPOINT_CALLS))
def test_any_endpoint_call_is_a_typed_error_or_a_correct_request(name: str) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(drawn=ENDPOINT_CALLS[name])
    def check(drawn: tuple[Call, Any]) -> None:
        call, items = drawn
        sized = isinstance(items, list | tuple)
        result, error, sent = asyncio.run(_call(call))
        if error is not None:
            assert isinstance(error, aiomsg.ValidationError), repr(error)
            assert sent == [], "a request went out before the error"
            return
        for method, url, kwargs in sent:
            assert request_problems(method, url, kwargs.get("data")) == []
        outcomes = result.outcomes if isinstance(result, aiomsg.BulkReport) else result
        if isinstance(outcomes, list) and items is not None:
            if sized:
                assert [o.index for o in outcomes] == list(range(len(items)))
            for o in outcomes:
                if o.outcome is aiomsg.Outcome.FAILED:
                    assert isinstance(o.error, aiomsg.ValidationError), repr(o.error)

    check()


# -------------------------------------------------------- models and clients

MODEL_ARGS: dict[type, dict[str, st.SearchStrategy[Any]]] = {
    aiomsg.LineUser: {
        "msisdn": maybe(st.sampled_from(["+6591234567", "91234567", Markup("+6591234567")])),
        "country": maybe(st.sampled_from(["SG", "sg", Markup("GB")])),
        "channel_user_id": maybe(st.sampled_from(["US.1349", "", " ", "U" * 101])),
    },
    aiomsg.LineContent: {
        "title": maybe(st.text(max_size=5)),
        "company": maybe(st.text(max_size=5)),
        "icon": maybe(st.sampled_from(["calendar", "nope", Markup("bell")])),
        "emphasis": maybe(st.just(aiomsg.LineEmphasis(label="l"))),
        "items": maybe(st.just([aiomsg.LineListItem(label="l")])),
        "greeting": maybe(st.text(max_size=5)),
        "explanation": maybe(st.text(max_size=5)),
        "actions": maybe(st.just([aiomsg.LineAction(title="t", url="https://x.example/")])),
    },
    aiomsg.LineEmphasis: {"label": anything, "content": anything},
    aiomsg.LineListItem: {"label": anything, "content": anything},
    aiomsg.LineAction: {"title": anything, "url": anything, "content": anything},
    aiomsg.SmsFallback: {
        "text": maybe(st.text(max_size=5)),
        "source": maybe(st.sampled_from(["Info", "A" * 17])),
        "encoding": maybe(st.sampled_from(["AUTO", "UCS2", "utf8", Markup("GSM7")])),
    },
    aiomsg.LineNotification: {
        "user": maybe(st.just(aiomsg.LineUser(msisdn="+6591234567"))),
        "content": maybe(st.just(aiomsg.LineContent(title="t"))),
        "client_message_id": maybe(st.text(max_size=51)),
        "dlr_callback_url": maybe(st.sampled_from(["https://x.example/", "ftp://x"])),
        "sms_fallback": maybe(st.just(aiomsg.SmsFallback(text="t"))),
    },
    aiomsg.Timeout: {"connect": anything, "read": anything, "total": anything},
    aiomsg.RetryPolicy: {
        "max_attempts": maybe(st.integers(1, 5)),
        "backoff_base": maybe(st.floats(0, 2)),
        "backoff_cap": maybe(st.floats(0, 20)),
        "max_retry_after": maybe(st.floats(0, 60)),
        "deadline": maybe(st.sampled_from([None, 30.0])),
    },
    aiomsg.RateLimit: {
        "rate": maybe(st.sampled_from([None, 10.0])),
        "burst": maybe(st.integers(1, 5)),
        "concurrency": maybe(st.integers(1, 5)),
    },
}
_REQUIRED: dict[type, dict[str, Any]] = {
    aiomsg.LineNotification: {
        "user": aiomsg.LineUser(msisdn="+6591234567"),
        "content": aiomsg.LineContent(),
    },
    aiomsg.RateLimit: {"rate": 1.0},
}
_AS_MESSAGE: dict[type, Callable[[Any], aiomsg.LineNotification]] = {
    aiomsg.LineUser: lambda u: aiomsg.LineNotification(user=u, content=aiomsg.LineContent()),
    aiomsg.LineContent: lambda c: aiomsg.LineNotification(
        user=aiomsg.LineUser(msisdn="+6591234567"), content=c
    ),
    aiomsg.SmsFallback: lambda f: aiomsg.LineNotification(
        user=aiomsg.LineUser(msisdn="+6591234567"), content=aiomsg.LineContent(), sms_fallback=f
    ),
    aiomsg.LineEmphasis: lambda x: _AS_MESSAGE[aiomsg.LineContent](aiomsg.LineContent(emphasis=x)),
    aiomsg.LineListItem: lambda x: _AS_MESSAGE[aiomsg.LineContent](aiomsg.LineContent(items=[x])),
    aiomsg.LineAction: lambda x: _AS_MESSAGE[aiomsg.LineContent](aiomsg.LineContent(actions=[x])),
    aiomsg.LineNotification: lambda m: m,
}


@pytest.mark.parametrize("cls", list(MODEL_ARGS), ids=lambda c: c.__name__)
def test_any_model_argument_is_a_typed_error_or_a_valid_model(cls: type) -> None:
    @settings(max_examples=60, deadline=None)
    @given(kwargs=st.fixed_dictionaries({}, optional=MODEL_ARGS[cls]))
    def check(kwargs: dict[str, Any]) -> None:
        try:
            made = cls(**{**_REQUIRED.get(cls, {}), **kwargs})
        except (aiomsg.ValidationError, aiomsg.ConfigurationError):
            return
        as_message = _AS_MESSAGE.get(cls)
        if as_message is not None:
            try:
                msg = as_message(made)
            except aiomsg.ValidationError:
                return  # e.g. a LineUser without a recipient is refused by its message
            assert message_problems(json.loads(encode(msg))) == []

    check()


CLIENT_ARGS: dict[str, st.SearchStrategy[Any]] = {
    "timeout": maybe(st.sampled_from([None, 5.0, aiomsg.Timeout(total=3.0)])),
    "retry": maybe(st.sampled_from([None, aiomsg.RetryPolicy(max_attempts=2)])),
    "retry_budget": maybe(st.sampled_from([None, aiomsg.RetryBudget()])),
    "ssl": maybe(st.just(_SSL)),
    "min_tls_version": maybe(st.sampled_from(list(ssl.TLSVersion))),
    "session": anything,
    "rate_limit": maybe(st.just(aiomsg.RateLimit(rate=10.0))),
    "connector_limit": maybe(st.integers(1, 10)),
    "max_response_size": maybe(st.integers(1, 10**6)),
    "on_request": maybe(st.sampled_from([None, print])),
    "trace_configs": maybe(st.sampled_from([(), []])),
}
EIGHT_ARGS = {
    **CLIENT_ARGS,
    "api_key": maybe(st.sampled_from(["k", "a b", ""])),
    "region": maybe(st.sampled_from(["ap", "us", "eu", "id", "mars"])),
    "chatapps_url": maybe(st.sampled_from(["http://127.0.0.1:1", "ftp://x", "https://x/"])),
    "sms_url": maybe(st.sampled_from(["http://127.0.0.1:1", "nope"])),
    "flows_rate_limit": maybe(st.just(aiomsg.RateLimit(rate=1.0))),
}
REVICOM_ARGS = {
    **CLIENT_ARGS,
    "token": maybe(st.sampled_from(["t", "a\nb", ""])),
    "base_url": maybe(st.sampled_from(["http://127.0.0.1:1", "javascript:x"])),
}


async def _construct(cls: type, kwargs: dict[str, Any]) -> None:
    try:
        client = cls(**kwargs)
    except aiomsg.ConfigurationError:
        return
    await client.aclose()


@pytest.mark.parametrize(
    ("cls", "args", "required"),
    [(aiomsg.EightByEight, EIGHT_ARGS, "api_key"), (aiomsg.Revicom, REVICOM_ARGS, "token")],
    ids=["EightByEight", "Revicom"],
)
def test_any_client_setting_is_a_configuration_error_or_a_client(
    cls: type, args: dict[str, Any], required: str
) -> None:
    @settings(max_examples=80, deadline=None)
    @given(kwargs=st.fixed_dictionaries({}, optional=args))
    def check(kwargs: dict[str, Any]) -> None:
        kwargs.setdefault(required, "k")
        asyncio.run(_construct(cls, kwargs))

    check()
