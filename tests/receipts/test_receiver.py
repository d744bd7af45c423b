"""The receipt webhook over real loopback HTTP: who may post, what is stored, what is said."""

from __future__ import annotations

import gzip
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web
from multidict import CIMultiDict

from aiomsg import ConfigurationError
from aiomsg.receipts import (
    RECEIVER_KEY,
    DeliveryReceipt,
    ReceiptReceiver,
    ReceiptRecord,
    SQLiteReceiptStore,
    WebhookEvent,
    create_receipt_app,
    reconcile,
)
from tests.receipts.support import AUTH, encode, receipt, serve

HEADERS = {"Authorization": AUTH, "Content-Type": "application/json"}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReceiptStore]:
    async with SQLiteReceiptStore(tmp_path / "receipts.db") as s:
        yield s


class Calls:
    def __init__(self) -> None:
        self.receipts: list[DeliveryReceipt] = []
        self.events: list[WebhookEvent] = []

    async def on_receipt(self, r: DeliveryReceipt) -> None:
        self.receipts.append(r)

    def on_event(self, e: WebhookEvent) -> None:  # plain functions work too
        self.events.append(e)


async def post(
    session: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    data = body if isinstance(body, bytes) else encode(body)
    async with session.post(url, data=data, headers=HEADERS if headers is None else headers) as r:
        return r.status, await r.text()


async def test_a_receipt_is_stored_then_acknowledged(store: SQLiteReceiptStore) -> None:
    calls = Calls()
    app = create_receipt_app(authorization=AUTH, store=store, on_receipt=calls.on_receipt)
    async with serve(app) as (url, session):
        assert (await post(session, url, receipt()))[0] == 200
    (stored,) = (await store.latest_by_client_message_id(["msg-1"])).values()
    assert stored.state == "delivered"
    assert [r.payload.umid for r in calls.receipts] == [stored.umid]
    assert app[RECEIVER_KEY].stored == 1


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded"],
)
async def test_the_content_type_header_does_not_matter(
    store: SQLiteReceiptStore, content_type: str | None
) -> None:
    app = create_receipt_app(authorization=AUTH, store=store)
    headers = {"Authorization": AUTH}
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with serve(app) as (url, session):
        assert (await post(session, url, receipt(), headers))[0] == 200
    assert await store.count() == 1


async def test_a_retried_delivery_is_the_same_receipt(store: SQLiteReceiptStore) -> None:
    calls = Calls()
    app = create_receipt_app(authorization=AUTH, store=store, on_receipt=calls.on_receipt)
    body = receipt()
    async with serve(app) as (url, session):
        statuses = [(await post(session, url, body))[0] for _ in range(3)]
        # Concurrent repeats (8x8 retrying while the first is still being stored).
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(post, session, url, body)
    assert statuses == [200, 200, 200]
    assert await store.count() == 1
    assert len(calls.receipts) == 1  # the callback sees a receipt once
    assert app[RECEIVER_KEY].repeated == 7


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": AUTH[:-1]},
        {"Authorization": AUTH + "x"},
        {"Authorization": AUTH.lower()},
        {"Authorization": "Bearer " + AUTH},
        {"Authorization": AUTH.split(" ", 1)[1]},  # the token without its scheme
    ],
)
async def test_wrong_or_missing_authorization_is_401_and_nothing_is_recorded(
    store: SQLiteReceiptStore, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    calls = Calls()
    app = create_receipt_app(authorization=AUTH, store=store, on_receipt=calls.on_receipt)
    caplog.set_level(logging.DEBUG, logger="aiomsg")
    async with serve(app) as (url, session):
        status, _ = await post(session, url, receipt(), headers)
    assert status == 401
    assert await store.count() == 0
    assert calls.receipts == []
    assert app[RECEIVER_KEY].unauthorized == 1
    assert AUTH.split(" ", 1)[1] not in caplog.text
    assert "Authorization" in caplog.text


async def test_two_authorization_headers_are_refused(store: SQLiteReceiptStore) -> None:
    app = create_receipt_app(authorization=AUTH, store=store)
    async with serve(app) as (url, session):
        headers = CIMultiDict([("Authorization", AUTH), ("Authorization", "other")])
        async with session.post(url, data=encode(receipt()), headers=headers) as r:
            assert r.status == 401
    assert await store.count() == 0


async def test_non_ascii_authorization_compares_without_crashing(
    store: SQLiteReceiptStore,
) -> None:
    secret = "Basic dXNlcjpww6Rzcw==-é"
    app = create_receipt_app(authorization=secret, store=store)
    async with serve(app) as (url, session):
        raw = CIMultiDict([("Authorization", secret.encode().decode("latin-1"))])
        async with session.post(url, data=encode(receipt()), headers=raw) as r:
            assert r.status in (200, 401)  # whatever aiohttp makes of the bytes, no crash
        wrong = {"Authorization": "Basic ünïcode"}
        assert (await post(session, url, receipt(), wrong))[0] == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"", 400),
        (b"[1, 2]", 400),
        (encode({"eventType": "outbound_message_status_changed", "payload": {"umid": "u"}}), 400),
        (b'{"eventType": "x", "payload": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400),
        (encode(receipt(version=10)), 422),
        (encode(receipt(version=7)), 422),
    ],
)
async def test_bad_bodies_get_a_4xx_and_a_log_line(
    store: SQLiteReceiptStore, body: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_receipt_app(authorization=AUTH, store=store, max_body_size=200_000)
    caplog.set_level(logging.WARNING, logger="aiomsg")
    async with serve(app) as (url, session):
        got, text = await post(session, url, body)
        # The receiver carries on: a good receipt right after is stored.
        assert (await post(session, url, receipt()))[0] == 200
    assert got == status
    assert text
    assert f"HTTP {status}" in caplog.text
    assert await store.count() == 1
    assert app[RECEIVER_KEY].refused == 1


async def test_too_large_bodies_are_413_whether_announced_or_not(
    store: SQLiteReceiptStore,
) -> None:
    app = create_receipt_app(authorization=AUTH, store=store, max_body_size=4096)
    big = encode(receipt(padding="x" * 5000))

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length
        for i in range(0, len(big), 1000):
            yield big[i : i + 1000]

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(10_000):  # 10 MB, far past the cap; reading stops at the cap
            yield b" " * 1000

    async with serve(app) as (url, session):
        assert (await post(session, url, big))[0] == 413
        for gen in (chunked, endless):
            try:
                async with session.post(url, data=gen(), headers=HEADERS) as r:
                    assert r.status == 413
            except aiohttp.ClientOSError:
                pass  # the server may close before the client has sent it all
        # A body just under the cap is fine.
        fits = encode(receipt(padding="x" * (4096 - len(encode(receipt(padding=""))))))
        assert len(fits) == 4096
        assert (await post(session, url, fits))[0] == 200
    assert await store.count() == 1


async def test_a_compressed_body_is_capped_after_decompression(
    store: SQLiteReceiptStore,
) -> None:
    app = create_receipt_app(authorization=AUTH, store=store, max_body_size=4096)
    bomb = gzip.compress(encode(receipt(padding="0" * 2_000_000)))
    assert len(bomb) < 4096 < 2_000_000
    async with serve(app) as (url, session):
        headers = {**HEADERS, "Content-Encoding": "gzip"}
        assert (await post(session, url, bomb, headers))[0] == 413
        small = gzip.compress(encode(receipt()))
        assert (await post(session, url, small, headers))[0] == 200
    assert await store.count() == 1


async def test_other_event_types_reach_on_event_and_are_not_stored(
    store: SQLiteReceiptStore,
) -> None:
    calls = Calls()
    app = create_receipt_app(
        authorization=AUTH, store=store, on_receipt=calls.on_receipt, on_event=calls.on_event
    )
    event = {"version": 9, "eventType": "external_app_message", "payload": {"umid": "u-x"}}
    unknown = {"eventType": "something_8x8_adds_later", "payload": {"a": 1}}
    async with serve(app) as (url, session):
        assert (await post(session, url, event))[0] == 200
        assert (await post(session, url, unknown))[0] == 200
    assert [e.event_type for e in calls.events] == [
        "external_app_message",
        "something_8x8_adds_later",
    ]
    assert calls.receipts == []
    assert await store.count() == 0


async def test_other_event_types_without_on_event_are_acknowledged(
    store: SQLiteReceiptStore,
) -> None:
    app = create_receipt_app(authorization=AUTH, store=store)
    async with serve(app) as (url, session):
        event = {"eventType": "external_app_message", "payload": {}}
        assert (await post(session, url, event))[0] == 200
    assert await store.count() == 0
    assert app[RECEIVER_KEY].events == 1


async def test_a_receipt_for_a_message_we_never_sent_is_stored_but_resolves_nothing(
    store: SQLiteReceiptStore,
) -> None:
    app = create_receipt_app(authorization=AUTH, store=store)
    async with serve(app) as (url, session):
        stranger = receipt(umid="u-stranger", client_message_id="not-ours")
        no_id = receipt(umid="u-anon", client_message_id=None)
        assert (await post(session, url, stranger))[0] == 200
        assert (await post(session, url, no_id))[0] == 200
    assert await store.count() == 2
    result = await reconcile(["ours-1"], store)
    assert result.counts["unknown"] == 1


async def test_a_receipt_with_a_malformed_user_is_still_stored(store: SQLiteReceiptStore) -> None:
    app = create_receipt_app(authorization=AUTH, store=store)
    body = receipt()
    body["payload"]["user"] = {"msisdn": 6591234567}
    async with serve(app) as (url, session):
        assert (await post(session, url, body))[0] == 200
    stored = (await store.latest_by_client_message_id(["msg-1"]))["msg-1"]
    assert b"6591234567" in stored.body  # kept as sent


async def test_an_error_code_beyond_64_bits_is_stored_and_spoils_no_neighbour(
    store: SQLiteReceiptStore,
) -> None:
    app = create_receipt_app(authorization=AUTH, store=store)
    huge = receipt(umid="u-huge", client_message_id="m-huge", state="undelivered", error_code=2**64)
    async with serve(app) as (url, session):
        statuses: list[int] = []

        async def one(body: dict[str, Any]) -> None:
            statuses.append((await post(session, url, body))[0])

        async with anyio.create_task_group() as tg:  # sent together: one commit
            tg.start_soon(one, huge)
            for i in range(20):
                tg.start_soon(one, receipt(umid=f"u-{i}", client_message_id=f"m-{i}"))
    assert statuses == [200] * 21
    assert await store.count() == 21
    got = (await store.latest_by_client_message_id(["m-huge"]))["m-huge"]
    assert str(got.error_code) == str(2**64)


async def test_a_failing_callback_does_not_lose_the_stored_receipt(
    store: SQLiteReceiptStore, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(r: DeliveryReceipt) -> None:
        raise RuntimeError("user code broke")

    app = create_receipt_app(authorization=AUTH, store=store, on_receipt=boom)
    async with serve(app) as (url, session):
        assert (await post(session, url, receipt()))[0] == 200
    assert await store.count() == 1
    assert "on_receipt raised" in caplog.text
    assert "user code broke" in caplog.text


async def test_without_a_store_a_failing_callback_asks_for_redelivery() -> None:
    seen: list[str] = []

    def flaky(r: DeliveryReceipt) -> None:
        seen.append(r.key)
        if len(seen) == 1:
            raise RuntimeError("database down")

    app = create_receipt_app(authorization=AUTH, on_receipt=flaky)
    async with serve(app) as (url, session):
        assert (await post(session, url, receipt()))[0] == 503
        assert (await post(session, url, receipt()))[0] == 200  # 8x8's retry
    assert len(seen) == 2
    assert seen[0] == seen[1]  # the callback can tell the repeat by its key


async def test_a_failing_on_event_asks_for_redelivery() -> None:
    def broken(e: WebhookEvent) -> None:
        raise RuntimeError("nope")

    app = create_receipt_app(authorization=AUTH, on_receipt=Calls().on_receipt, on_event=broken)
    async with serve(app) as (url, session):
        event = {"eventType": "external_app_message", "payload": {}}
        assert (await post(session, url, event))[0] == 503


class BrokenStore:
    async def add(self, records: Sequence[ReceiptRecord]) -> list[bool]:
        raise OSError("disk full")

    async def latest_by_client_message_id(
        self, ids: Any, *, sub_account_id: str | None = None
    ) -> dict[str, ReceiptRecord]:
        return {}

    async def latest_by_umid(self, umids: Any) -> dict[str, ReceiptRecord]:
        return {}


async def test_a_failing_store_answers_503_so_8x8_delivers_again() -> None:
    calls = Calls()
    app = create_receipt_app(authorization=AUTH, store=BrokenStore(), on_receipt=calls.on_receipt)
    async with serve(app) as (url, session):
        assert (await post(session, url, receipt()))[0] == 503
    assert calls.receipts == []  # never told of a receipt that was not kept


async def test_only_post_is_served(store: SQLiteReceiptStore) -> None:
    app = create_receipt_app(authorization=AUTH, store=store, path="/8x8/receipts")
    async with serve(app) as (url, session):
        async with session.get(url + "8x8/receipts", headers=HEADERS) as r:
            assert r.status == 405
        assert (await post(session, url + "8x8/receipts", receipt()))[0] == 200


async def test_the_app_opens_and_closes_a_store_it_was_given_closed(tmp_path: Path) -> None:
    store = SQLiteReceiptStore(tmp_path / "r.db")
    app = create_receipt_app(authorization=AUTH, store=store)
    async with serve(app) as (url, session):
        assert store.is_open
        assert (await post(session, url, receipt()))[0] == 200
    assert not store.is_open
    async with SQLiteReceiptStore(tmp_path / "r.db") as again:
        assert await again.count() == 1


async def test_the_handler_drops_into_a_users_app(store: SQLiteReceiptStore) -> None:
    receiver = ReceiptReceiver(authorization=AUTH, store=store)
    app = web.Application()
    app.router.add_post("/hooks/8x8", receiver.handle)

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/health", health)
    async with serve(app) as (url, session):
        assert (await post(session, url + "hooks/8x8", receipt()))[0] == 200
        async with session.get(url + "health") as r:
            assert r.status == 200
    assert receiver.stored == 1


def test_authorization_comes_from_the_environment_when_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteReceiptStore(tmp_path / "r.db")
    monkeypatch.delenv("AIOMSG_RECEIPTS_AUTHORIZATION", raising=False)
    with pytest.raises(ConfigurationError, match="AIOMSG_RECEIPTS_AUTHORIZATION"):
        ReceiptReceiver(store=store)
    monkeypatch.setenv("AIOMSG_RECEIPTS_AUTHORIZATION", "")
    with pytest.raises(ConfigurationError, match="non-empty"):
        ReceiptReceiver(store=store)
    monkeypatch.setenv("AIOMSG_RECEIPTS_AUTHORIZATION", AUTH)
    assert ReceiptReceiver(store=store)._authorized(_request_with(AUTH))
    assert not ReceiptReceiver(store=store)._authorized(_request_with(AUTH + "x"))
    # An explicit value wins over the environment.
    assert ReceiptReceiver(authorization="other", store=store)._authorized(_request_with("other"))


def _request_with(authorization: str) -> web.Request:
    from aiohttp.test_utils import make_mocked_request

    return make_mocked_request("POST", "/", headers={"Authorization": authorization})


def test_configuration_is_checked_and_the_secret_stays_out_of_reprs(tmp_path: Path) -> None:
    store = SQLiteReceiptStore(tmp_path / "r.db")
    for bad in ("", "   ", "a\r\nX-Evil: 1"):
        with pytest.raises(ConfigurationError):
            ReceiptReceiver(authorization=bad, store=store)
    with pytest.raises(ConfigurationError, match="store"):
        ReceiptReceiver(authorization=AUTH)
    with pytest.raises(ConfigurationError):
        ReceiptReceiver(authorization=b"bytes", store=store)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_body_size"):
        ReceiptReceiver(authorization=AUTH, store=store, max_body_size=0)
    receiver = ReceiptReceiver(authorization=AUTH, store=store)
    assert AUTH.split(" ", 1)[1] not in repr(receiver)
    assert AUTH.split(" ", 1)[1] not in str(vars(receiver).get("authorization", ""))


def _mutations(seed: int, count: int) -> list[bytes]:
    """Bodies made by damaging a valid receipt: truncated, bytes flipped or dropped,
    values swapped for other JSON types, fields removed."""
    import json
    import random

    rng = random.Random(seed)
    valid = encode(receipt())
    others: list[Any] = [None, True, 0, -1, 2**70, 1.5, "", "x" * 300, [], {}, [1, {"a": []}]]
    bodies: list[bytes] = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            bodies.append(valid[: rng.randrange(len(valid))])
        elif kind == 1:
            b = bytearray(valid)
            for _ in range(rng.randint(1, 5)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            bodies.append(bytes(b))
        else:
            body = json.loads(valid)
            target = body if kind == 2 else body["payload"]
            key = rng.choice(sorted(target))
            if rng.random() < 0.3:
                del target[key]
            else:
                target[key] = rng.choice(others)
            bodies.append(json.dumps(body).encode())
    return bodies


async def test_damaged_bodies_never_get_a_5xx(store: SQLiteReceiptStore) -> None:
    app = create_receipt_app(authorization=AUTH, store=store, max_body_size=4096)
    seen: dict[int, int] = {}
    with anyio.fail_after(120):
        async with serve(app) as (url, session):
            for body in _mutations(seed=15, count=400):
                status, _ = await post(session, url, body)
                seen[status] = seen.get(status, 0) + 1
            assert (await post(session, url, receipt(umid="after")))[0] == 200
    assert set(seen) <= {200, 400, 422}, seen
    assert seen.get(400, 0) > 0
    receiver = app[RECEIVER_KEY]
    assert receiver.refused == seen.get(400, 0) + seen.get(422, 0)


@pytest.mark.parametrize(
    "head",
    [
        b"Content-Length: 1000\r\n\r\n" + b'{"version": 9',
        b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"ver\r\n',
    ],
)
async def test_a_sender_that_hangs_up_mid_body_is_a_warning_not_an_error(
    store: SQLiteReceiptStore, head: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_receipt_app(authorization=AUTH, store=store)
    caplog.set_level(logging.INFO)
    async with serve(app) as (url, session):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        with anyio.fail_after(10):
            async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                await stream.send(
                    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + AUTH.encode()
                    + b"\r\n" + head
                )  # fmt: skip
                await anyio.sleep(0.1)  # let the server start reading the body
            for _ in range(100):  # until the server has seen the connection go
                if app[RECEIVER_KEY].refused:
                    break
                await anyio.sleep(0.02)
        assert (await post(session, url, receipt()))[0] == 200
    assert app[RECEIVER_KEY].refused == 1
    assert "Error handling request" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "ended before its body" in caplog.text
    assert await store.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"store": "receipts.db"}, "store"),
        ({"on_receipt": "print"}, "on_receipt"),
        ({"on_receipt": print, "on_event": 7}, "on_event"),
    ],
)
def test_bad_receiver_arguments_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"^{field}: .*rule: "):
        ReceiptReceiver(authorization="Basic x", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "receipts", "/a?b", "/a b", None])
def test_a_bad_app_path_names_the_field(bad: object) -> None:
    with pytest.raises(ConfigurationError, match=r"^path: .*rule: "):
        create_receipt_app(authorization="Basic x", on_receipt=print, path=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("event_type", "shown"),
    [
        (AUTH, "unknown (34 characters)"),
        (AUTH.split(" ", 1)[1], "unknown (28 characters)"),
        ("something_8x8_adds_later", "unknown (24 characters)"),
        ("external_app_message", "'external_app_message'"),
    ],
)
async def test_an_ignored_event_s_type_is_logged_only_when_known(
    store: SQLiteReceiptStore, caplog: pytest.LogCaptureFixture, event_type: str, shown: str
) -> None:
    # The sender passed the Authorization check, but what it writes is still not
    # echoed: it could be the Authorization value itself.
    caplog.set_level(logging.DEBUG, logger="aiomsg")
    app = create_receipt_app(authorization=AUTH, store=store)
    async with serve(app) as (url, session):
        assert (await post(session, url, {"eventType": event_type, "payload": {}}))[0] == 200
    assert f"ignored an event, type {shown}" in caplog.text
    assert AUTH.split(" ", 1)[1] not in caplog.text
