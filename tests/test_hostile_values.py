"""Values nobody planned for, from a caller and from a server.

- A ``str`` subclass (an enum member, a class overriding ``__str__``, ``__len__``,
  ``__hash__``/``__eq__`` or ``encode``) is checked, compared, sent and reported as its
  plain value: nothing it overrides changes a limit, a path, the job-wide id rule or
  the id a report names.
- Text that cannot be encoded (a lone surrogate) anywhere in a mapping message is a
  ``ValidationError`` naming the field; in bulk it fails that message only.
- An answer nested too deeply for the decoder is a typed error (for a LINE send, an
  ``OutcomeUnknownError`` with the ids to reconcile), never a bare ``RecursionError``.
- A LINE answer that cannot be right (counts beyond what was sent, a negative count, one
  clientMessageId answered twice differently) is an error, not data.
"""

from __future__ import annotations

import contextlib
import enum
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

import aiomsg
from aiomsg.eightxeight.models import as_line_notification

SUB = "acme-sub_01"
ACCOUNT = "0d0e6a8e5b4f4c3d9a1b2c3d4e5f6a7b"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
NO_RETRY = aiomsg.RetryPolicy(max_attempts=1)


class Ids(str, enum.Enum):
    WELCOME = "welcome-1"


class Shown(str):
    """``str()`` gives something else than the value."""

    def __str__(self) -> str:
        return "display-form"


class Short(str):
    """Claims to be short."""

    def __len__(self) -> int:
        return 1


class Redirect(str):
    """Encodes as another value."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"other-sub"


class Never(str):
    """Equal to nothing, hashed by identity."""

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return False


SUBCLASSES: list[Callable[[str], str]] = [Shown, Short, Redirect, Never]


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"{}"


@dataclass
class Server:
    url: str
    requests: list[SeenRequest] = field(default_factory=list)


@contextlib.asynccontextmanager
async def serve(
    handler: Callable[[SeenRequest], Reply] | None = None, default: Reply | None = None
) -> AsyncIterator[Server]:
    """A loopback server answering each request with ``handler(request)`` (which sees
    its body), else ``default``; it records every request."""
    server = Server("")

    async def answer(request: web.Request) -> web.Response:
        seen = SeenRequest(request.method, request.path, await request.read())
        server.requests.append(seen)
        reply = handler(seen) if handler is not None else default or Reply()
        return web.Response(status=reply.status, body=reply.body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()


def message(cmid: Any = "m-1", **over: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "user": {"msisdn": "+6591234567"},
        "content": {"title": "Hi"},
        "clientMessageId": cmid,
    }
    msg.update(over)
    return msg


def line_answer(request: SeenRequest, **over: Any) -> Reply:
    """8x8's answer to a LINE batch: every message queued, in order."""
    sent = json.loads(request.body)["messages"]
    answers = [
        {"umid": f"00000000-0000-4000-8000-{i:012x}", "clientMessageId": m["clientMessageId"],
         "status": {"state": "queued"}}
        for i, m in enumerate(sent)
    ]  # fmt: skip
    body = {"batchId": UMID, "acceptedCount": len(sent), "rejectedCount": 0, "messages": answers}
    body.update(over)
    return Reply(200, json.dumps(body).encode())


def sent_ids(server: Server) -> Counter[str]:
    return Counter(
        m["clientMessageId"]
        for r in server.requests
        if r.path.endswith("/lon/batch")
        for m in json.loads(r.body)["messages"]
    )


def client(server: Server) -> aiomsg.EightByEight:
    return aiomsg.EightByEight(
        api_key="k", chatapps_url=server.url, sms_url=server.url, retry=NO_RETRY
    )


# ------------------------------------------------------------------ str subclasses


@pytest.mark.parametrize("make", [*SUBCLASSES, lambda v: Ids.WELCOME], ids=lambda f: str(f))
@pytest.mark.parametrize("form", ["list", "iterable", "typed"])
async def test_a_subclass_id_repeating_a_plain_id_is_sent_once(
    make: Callable[[str], str], form: str
) -> None:
    value = make("welcome-1")
    items: Any = [message(value), message("welcome-1"), message(value)]
    if form == "typed":
        items = [as_line_notification(m) for m in items]
    async with serve(handler=line_answer) as server, client(server) as c:
        report = await c.chatapps.send_line_notifications(
            SUB, iter(items) if form == "iterable" else items, chunk_size=1
        )
    assert sent_ids(server) == Counter({"welcome-1": 1})
    assert [o.id for o in report] == ["welcome-1"] * 3
    assert [o.outcome for o in report] == [aiomsg.Outcome.ACCEPTED] * 3


@pytest.mark.parametrize("make", SUBCLASSES)
async def test_a_subclass_field_is_checked_and_sent_as_its_plain_value(
    make: Callable[[str], str],
) -> None:
    too_long = make("x" * 51)  # clientMessageId: at most 50 characters
    with pytest.raises(aiomsg.ValidationError, match="clientMessageId"):
        as_line_notification(message(too_long))
    with pytest.raises(aiomsg.ValidationError, match=r"smsFallback\.source"):
        as_line_notification(message(smsFallback={"text": "t", "source": make("s" * 17)}))
    msg = as_line_notification(message(make("m-1"), content={"title": make("Hi")}))
    assert type(msg.client_message_id) is str
    assert msg.client_message_id == "m-1"
    assert type(msg.content.title) is str
    typed = aiomsg.LineContent(title=make("T"), icon=make("calendar"))
    assert type(typed.title) is str
    assert type(typed.icon) is str


async def test_a_subclass_path_segment_goes_where_its_plain_value_says() -> None:
    async with serve(handler=line_answer) as server, client(server) as c:
        await c.chatapps.send_line_notification_batch(Redirect(SUB), [message()])
        await c.chatapps.send_line_notifications(Redirect(SUB), [message("m-2")])
    async with serve(default=Reply(204, b"")) as server, client(server) as c:
        await c.chatapps.delete_whatsapp_flow(Redirect(ACCOUNT), Redirect("ch"), Redirect("fl"))
    assert all("other-sub" not in r.path for r in server.requests)
    assert server.requests[0].path == f"/api/v1/accounts/{ACCOUNT}/channels/ch/flows/fl"


async def test_an_unknown_outcome_names_the_plain_id() -> None:
    async with serve(default=Reply(500, b"{}")) as server, client(server) as c:
        with pytest.raises(aiomsg.OutcomeUnknownError) as info:
            await c.chatapps.send_line_notification_batch(SUB, [message(Shown("m-1"))])
        report = await c.chatapps.send_line_notifications(SUB, [message(Shown("m-2"))])
    assert info.value.client_message_ids == ("m-1",)
    assert report[0].id == "m-2"
    assert report[0].outcome is aiomsg.Outcome.UNKNOWN


async def test_stop_batch_sends_a_subclass_duplicate_once() -> None:
    answer = json.dumps({"errors": False, "items": [{"messageUuid": UMID, "code": 200}]})
    async with serve(default=Reply(200, answer.encode())) as server:
        async with aiomsg.Revicom(token="dG9rZW4=", base_url=server.url, retry=NO_RETRY) as c:
            result = await c.stop_batch([Never(UMID), Never(UMID), UMID])
    assert json.loads(server.requests[0].body) == {"uuids": [UMID]}
    assert [i.message_uuid for i in result.items] == [UMID]


# ------------------------------------------------------------ text that cannot be sent


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"content": {"title": "Hi", "icon": "cal\ud800"}}, "content.icon"),
        ({"smsFallback": {"text": "t", "encoding": "AUTO\udfff"}}, "smsFallback.encoding"),
        ({"content": {"title": "Hi", "ti\ud800tle": "x"}}, "content.ti\\ud800tle"),
        ({"content": {"title": "Hi", "list": [{"label": "a"}, {"label": "\ud800"}]}},
         "content.list[].label"),
        ({"user": {"msisdn": "+65\udc00"}}, "user.msisdn"),
    ],
)  # fmt: skip
async def test_a_lone_surrogate_anywhere_fails_its_message_only(
    over: dict[str, Any], field: str
) -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        as_line_notification(message("bad", **over), "message")
    assert info.value.field == f"message.{field}"
    async with serve(handler=line_answer) as server, client(server) as c:
        report = await c.chatapps.send_line_notifications(
            SUB, [message("bad", **over), message("good")]
        )
    assert [o.outcome for o in report] == [aiomsg.Outcome.FAILED, aiomsg.Outcome.ACCEPTED]
    assert report[0].id == "bad"
    assert isinstance(report[0].error, aiomsg.ValidationError)
    assert sent_ids(server) == Counter({"good": 1})


# ------------------------------------------------------------ answers nested too deep

DEEP = b'{"batchId": "b", "cancelledCount": 1, "items": [], "x": ' + b"[" * 20_000
DEEP += b"]" * 20_000 + b"}"


def deep_calls(c: aiomsg.EightByEight, r: aiomsg.Revicom) -> Iterator[Any]:
    yield c.sms.cancel_message(SUB, UMID)
    yield c.chatapps.cancel_batch(SUB, UMID)
    yield r.stop_batch([UMID])


@pytest.mark.parametrize("status", [200, 400, 404, 429, 503])
async def test_an_answer_nested_too_deeply_is_a_typed_error(status: int) -> None:
    async with serve(default=Reply(status, DEEP)) as server:
        async with (
            client(server) as c,
            aiomsg.Revicom(token="dG9rZW4=", base_url=server.url, retry=NO_RETRY) as r,
        ):
            for call in deep_calls(c, r):
                with pytest.raises(aiomsg.APIError):
                    await call
            with pytest.raises(aiomsg.APIError) as info:
                await c.chatapps.send_line_notification_batch(SUB, [message()])
    if status == 200 or status >= 500:
        assert isinstance(info.value, aiomsg.OutcomeUnknownError)
        assert info.value.client_message_ids == ("m-1",)


async def test_a_deep_answer_says_so() -> None:
    async with serve(default=Reply(200, DEEP)) as server, client(server) as c:
        with pytest.raises(aiomsg.APIResponseError, match="nested too deeply"):
            await c.sms.cancel_message(SUB, UMID)


# ------------------------------------------------------- LINE answers that cannot be


@pytest.mark.parametrize(
    "over",
    [
        {"acceptedCount": -1},
        {"rejectedCount": -3},
        {"acceptedCount": 5},
        {"acceptedCount": 1, "rejectedCount": 1},
    ],
)
async def test_impossible_counts_from_a_single_batch_are_unknown(over: dict[str, int]) -> None:
    async with serve(handler=lambda r: line_answer(r, messages=[], **over)) as server:
        async with client(server) as c:
            with pytest.raises(aiomsg.OutcomeUnknownError) as info:
                await c.chatapps.send_line_notification_batch(SUB, [message()])
    assert info.value.client_message_ids == ("m-1",)
    assert isinstance(info.value.__cause__, aiomsg.APIResponseError)


def twice(request: SeenRequest, second: dict[str, Any]) -> Reply:
    """Each message answered twice: queued, then ``second`` (or the reverse)."""
    sent = json.loads(request.body)["messages"]
    answers = []
    for i, m in enumerate(sent):
        umid = f"00000000-0000-4000-8000-{i:012x}"
        one = {"umid": umid, "clientMessageId": m["clientMessageId"], "status": {"state": "queued"}}
        answers += [one, {**one, **second}]
    body = {"batchId": UMID, "acceptedCount": len(sent), "rejectedCount": 0, "messages": answers}
    return Reply(200, json.dumps(body).encode())


@pytest.mark.parametrize(
    "second",
    [
        {"status": {"state": "rejected", "errorCode": 5001}},
        {"umid": "11111111-0000-4000-8000-000000000000"},
    ],
)
async def test_one_id_answered_twice_differently_is_unknown(second: dict[str, Any]) -> None:
    async with serve(handler=lambda r: twice(r, second)) as server, client(server) as c:
        report = await c.chatapps.send_line_notifications(SUB, [message("a"), message("b")])
        with pytest.raises(aiomsg.OutcomeUnknownError, match="listed twice"):
            await c.chatapps.send_line_notification_batch(SUB, [message("c")])
    assert [o.outcome for o in report] == [aiomsg.Outcome.UNKNOWN] * 2
    assert all(isinstance(o.error, aiomsg.APIResponseError) for o in report)
    assert "more than once" in str(report[0].error)


async def test_one_id_answered_twice_alike_is_taken() -> None:
    async with serve(handler=lambda r: twice(r, {})) as server, client(server) as c:
        report = await c.chatapps.send_line_notifications(SUB, [message("a"), message("b")])
        result = await c.chatapps.send_line_notification_batch(SUB, [message("c")])
    assert [o.outcome for o in report] == [aiomsg.Outcome.ACCEPTED] * 2
    assert result.messages is not None
    assert len(result.messages) == 2


# ------------------------------------------------- a single request's endless input


def endless_uuids() -> Iterator[str]:
    n = 0
    while True:  # bounded by the client: it stops reading past 10 requests' worth
        n += 1
        yield f"{n:08x}-0000-4000-8000-000000000000"


async def test_a_single_request_call_stops_reading_an_endless_input() -> None:
    async with serve() as server:
        async with aiomsg.Revicom(token="dG9rZW4=", base_url=server.url, retry=NO_RETRY) as r:
            with pytest.raises(aiomsg.ValidationError, match="more than 100,000") as info:
                await r.stop_batch(endless_uuids())
        async with client(server) as c:
            messages = (message(f"m-{i}") for i in range(10**9))
            with pytest.raises(aiomsg.ValidationError, match="more than 10,000"):
                await c.chatapps.send_line_notification_batch(SUB, messages)
    assert info.value.field == "uuids"
    assert server.requests == []


async def test_repeats_beyond_the_request_limit_are_still_read() -> None:
    """Repeats are sent once, so a stop of 10,000 uuids may be given more items."""
    ids = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(10_000)]

    def answer(request: SeenRequest) -> Reply:
        sent = json.loads(request.body)["uuids"]
        items = [{"messageUuid": u, "code": 200} for u in sent]
        return Reply(200, json.dumps({"errors": False, "items": items}).encode())

    async with serve(handler=answer) as server:
        async with aiomsg.Revicom(token="dG9rZW4=", base_url=server.url, retry=NO_RETRY) as r:
            result = await r.stop_batch(ids * 3)
    assert len(result.items) == 10_000
    assert len(json.loads(server.requests[0].body)["uuids"]) == 10_000
