"""The webhook endpoint 8x8 POSTs delivery receipts to, as an ``aiohttp.web`` handler.

One request carries one webhook body. The receiver answers in this order:

1. ``Authorization`` must equal the configured value (the webhook's
   ``httpAuthorization``), compared in constant time: otherwise 401, body unread.
2. The body must fit ``max_body_size``: otherwise 413, reading stops at the cap.
3. The body must be a webhook (``decode_webhook``): otherwise 400, or 422 for a
   format version we do not know, with a log line saying why.
4. A delivery receipt is stored, and the answer is 200 only once the store says it
   is durable. 8x8 retries a delivery that got no 2xx (after 1, 10, 30 and 90 s), so
   a receiver that dies before answering loses nothing; a retried delivery of a
   stored receipt is recognised by its ``key`` and stored once.
5. ``on_receipt`` then sees each receipt that was new. It runs after the receipt is
   stored, so when it raises the error is logged and the answer is still 200: the
   receipt is in the store, and a retry would not run the callback again. Without a
   store, ``on_receipt`` is the only keeper: the answer is 200 only when it returns,
   503 when it raises (so 8x8 delivers again), and it sees every delivery, retries
   included (``DeliveryReceipt.key`` tells repeats apart).
6. Other event types go to ``on_event`` the same way (200 when it returns, 503
   when it raises); without one they are acknowledged and dropped.

A store that fails answers 503, so 8x8 keeps the receipt and delivers it again.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final, TypeVar

from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError

from .._errors import ConfigurationError
from .models import DeliveryReceipt, EventType, ReceiptDecodeError, WebhookEvent, decode_webhook
from .store import ReceiptRecord, ReceiptStore, SQLiteReceiptStore

__all__ = [
    "AUTHORIZATION_ENV",
    "DEFAULT_MAX_BODY_SIZE",
    "RECEIVER_KEY",
    "EventCallback",
    "ReceiptCallback",
    "ReceiptReceiver",
    "create_receipt_app",
]

logger: Final = logging.getLogger("aiomsg.receipts")

AUTHORIZATION_ENV: Final = "AIOMSG_RECEIPTS_AUTHORIZATION"
"""Where the receiver finds the Authorization value when none is passed."""
DEFAULT_MAX_BODY_SIZE: Final = 128 * 1024
"""Largest webhook body accepted. A receipt is well under 2 KiB; a v9 WhatsApp receipt
carrying ``outboundContent`` (a carousel, say) can reach tens of KiB."""
_READ_CHUNK: Final = 16 * 1024

_T = TypeVar("_T")
ReceiptCallback = Callable[[DeliveryReceipt], Awaitable[None] | None]
"""Type of ``on_receipt=``: called with each new ``DeliveryReceipt``; a plain function
or a coroutine function."""
EventCallback = Callable[[WebhookEvent], Awaitable[None] | None]
"""Type of ``on_event=``: called with each ``WebhookEvent`` that is not a delivery
receipt; a plain function or a coroutine function."""


class ReceiptReceiver:
    """Handles 8x8's delivery receipt webhooks: ``app.router.add_post(path, r.handle)``.

    ``authorization``: the exact ``Authorization`` header value 8x8 is configured to
    send (the webhook's ``httpAuthorization``); by default the environment variable
    ``AIOMSG_RECEIPTS_AUTHORIZATION``. Give a ``store``, an ``on_receipt``
    callback, or both; the module docstring says what each answer means.

    Counters: ``received`` (bodies that passed authorization), ``stored`` (new
    receipts), ``repeated`` (retried deliveries of stored receipts), ``events``
    (other event types), ``refused`` (bad bodies), ``unauthorized``.
    """

    def __init__(
        self,
        *,
        authorization: str | None = None,
        store: ReceiptStore | None = None,
        on_receipt: ReceiptCallback | None = None,
        on_event: EventCallback | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        if authorization is None:
            authorization = os.environ.get(AUTHORIZATION_ENV)
            if authorization is None:
                raise ConfigurationError(
                    f"no authorization: pass authorization= or set {AUTHORIZATION_ENV} to "
                    "the httpAuthorization value the webhook is registered with"
                )
        if not isinstance(authorization, str) or not authorization.strip():
            raise ConfigurationError("authorization must be the non-empty header value 8x8 sends")
        if any(ch in authorization for ch in "\r\n\x00"):
            raise ConfigurationError("authorization must not contain CR, LF or NUL")
        if store is None and on_receipt is None:
            raise ConfigurationError("give a store, an on_receipt callback, or both")
        if type(max_body_size) is not int or max_body_size < 1:
            raise ConfigurationError("max_body_size must be a positive int")
        if store is not None and not isinstance(store, ReceiptStore):
            raise ConfigurationError(
                f"store: got a value of type {type(store).__name__} "
                "(rule: a ReceiptStore, such as SQLiteReceiptStore)"
            )
        for name, callback in (("on_receipt", on_receipt), ("on_event", on_event)):
            if callback is not None and not callable(callback):
                raise ConfigurationError(
                    f"{name}: got a value of type {type(callback).__name__} "
                    "(rule: an async function, or None)"
                )
        self._expected = _digest(authorization.strip())
        self.store = store
        self.on_receipt = on_receipt
        self.on_event = on_event
        self.max_body_size = max_body_size
        self.received = 0
        self.stored = 0
        self.repeated = 0
        self.events = 0
        self.refused = 0
        self.unauthorized = 0

    def __repr__(self) -> str:  # never the authorization value
        return (
            f"ReceiptReceiver(store={self.store!r}, received={self.received}, "
            f"stored={self.stored}, repeated={self.repeated}, refused={self.refused})"
        )

    def _authorized(self, request: web.BaseRequest) -> bool:
        values = request.headers.getall("Authorization", [])
        if len(values) != 1:
            return False
        # Digests of equal length: the comparison's time tells nothing, not even the
        # length of the configured value.
        return hmac.compare_digest(_digest(values[0].strip()), self._expected)

    async def handle(self, request: web.BaseRequest) -> web.Response:
        """Answer one webhook delivery (an ``aiohttp.web`` handler)."""
        if not self._authorized(request):
            self.unauthorized += 1
            logger.warning(
                "receipt webhook: refused a request from %s: bad or missing Authorization",
                request.remote,
            )
            return web.Response(status=401, text="unauthorized")
        self.received += 1
        try:
            body = await self._read_body(request)
        except (ConnectionError, ClientPayloadError, HttpProcessingError) as exc:
            # The sender hung up or broke the framing mid-body: nobody is left to
            # answer, and it is no fault of ours (aiohttp would log it as an error).
            self.refused += 1
            logger.warning(
                "receipt webhook: the request from %s ended before its body did (%s)",
                request.remote,
                type(exc).__name__,
            )
            return web.Response(status=400, text="incomplete body")
        if body is None:
            self.refused += 1
            logger.warning(
                "receipt webhook: refused a body over %d bytes from %s",
                self.max_body_size,
                request.remote,
            )
            return web.Response(status=413, text="body too large")
        try:
            decoded = decode_webhook(body)
        except ReceiptDecodeError as exc:
            self.refused += 1
            logger.warning(
                "receipt webhook: refused a body from %s (HTTP %d): %s",
                request.remote,
                exc.status,
                exc,
            )
            return web.Response(status=exc.status, text=str(exc))
        if isinstance(decoded, WebhookEvent):
            return await self._event(decoded)
        return await self._receipt(decoded, body)

    async def _read_body(self, request: web.BaseRequest) -> bytes | None:
        """The body, or None when it is larger than the cap (reading stops there)."""
        cap = self.max_body_size
        length = request.content_length
        if length is not None:
            if length > cap:
                return None
            if "Content-Encoding" not in request.headers:
                # The parser delivers no more than Content-Length bytes of a body
                # that is not compressed: read it in one go.
                return await request.read()
        # Chunked or compressed: what we read is what aiohttp decompressed, so count it.
        buf = bytearray()
        async for chunk in request.content.iter_chunked(_READ_CHUNK):
            buf += chunk
            if len(buf) > cap:
                return None
        return bytes(buf)

    async def _receipt(self, receipt: DeliveryReceipt, body: bytes) -> web.Response:
        if self.store is None:
            if not await self._call(self.on_receipt, receipt, "on_receipt"):
                return web.Response(status=503, text="receipt not taken, deliver again")
            self.stored += 1
            return web.Response(text="ok")
        record = ReceiptRecord.from_receipt(receipt, body)
        try:
            (new,) = await self.store.add([record])
        except Exception:
            logger.exception("receipt webhook: storing umid %s failed", record.umid)
            return web.Response(status=503, text="receipt not stored, deliver again")
        if not new:
            self.repeated += 1
            return web.Response(text="ok (already stored)")
        self.stored += 1
        if self.on_receipt is not None:
            # Stored already: a failing callback is logged, and 8x8 need not retry.
            await self._call(self.on_receipt, receipt, "on_receipt")
        return web.Response(text="ok")

    async def _event(self, event: WebhookEvent) -> web.Response:
        self.events += 1
        if self.on_event is None:
            logger.debug(
                "receipt webhook: ignored an event, type %s", _shown_event_type(event.event_type)
            )
            return web.Response(text="ok (ignored)")
        if not await self._call(self.on_event, event, "on_event"):
            return web.Response(status=503, text="event not taken, deliver again")
        return web.Response(text="ok")

    @staticmethod
    async def _call(
        callback: Callable[[_T], Awaitable[None] | None] | None, arg: _T, name: str
    ) -> bool:
        if callback is None:
            return True
        try:
            result = callback(arg)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("receipt webhook: %s raised", name)
            return False
        return True


RECEIVER_KEY: Final = web.AppKey("aiomsg_receipt_receiver", ReceiptReceiver)
"""Where ``create_receipt_app`` keeps its receiver: ``app[RECEIVER_KEY].stored``."""


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def create_receipt_app(
    *,
    authorization: str | None = None,
    store: ReceiptStore | None = None,
    on_receipt: ReceiptCallback | None = None,
    on_event: EventCallback | None = None,
    path: str = "/",
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
) -> web.Application:
    """A ready ``web.Application`` answering 8x8's receipt webhooks at ``path``.

    A ``SQLiteReceiptStore`` that is not open yet is opened when the app starts and
    closed when it stops. Mount the app in a larger one with ``add_subapp``, or run
    it with ``web.run_app`` / ``web.AppRunner``.
    """
    if type(path) is not str or not path.startswith("/") or any(c in path for c in "?# \r\n"):
        raise ConfigurationError(f"path: got {path!r} (rule: a URL path starting with /)")
    receiver = ReceiptReceiver(
        authorization=authorization,
        store=store,
        on_receipt=on_receipt,
        on_event=on_event,
        max_body_size=max_body_size,
    )
    # aiohttp's own cap (client_max_size) only guards request.read(); ours reads in
    # chunks up to max_body_size, so leave it a little above.
    app = web.Application(client_max_size=max_body_size + 1)
    app[RECEIVER_KEY] = receiver
    app.router.add_post(path, receiver.handle)
    if isinstance(store, SQLiteReceiptStore):
        app.cleanup_ctx.append(_store_lifecycle(store))
    return app


def _store_lifecycle(
    store: SQLiteReceiptStore,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        opened_here = not store.is_open
        if opened_here:
            await store.open()
        try:
            yield
        finally:
            if opened_here:
                await store.aclose()

    return lifecycle


_KNOWN_EVENT_TYPES: Final = frozenset(
    {EventType.OUTBOUND_MESSAGE_STATUS_CHANGED, EventType.EXTERNAL_APP_MESSAGE}
)


def _shown_event_type(event_type: str) -> str:
    """An ``eventType`` as the logs show it: a known one by name, any other by its
    length only.

    Any other value is free text from the sender, which could hold the webhook's
    Authorization value; the receiver keeps only a digest of that value, so it
    cannot mask it, and shows none of the text instead.
    """
    if event_type in _KNOWN_EVENT_TYPES:
        return repr(event_type)
    return f"unknown ({len(event_type)} characters)"
