"""The simulator's HTTP side: routes, the per-request pipeline, and each endpoint.

Every request goes through one pipeline: record it, let an injected fault hit it,
check the TLS version, the credentials, the rate limit and the body, then act on
the state and answer the way the provider documents.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import ssl
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import anyio
import msgspec
from aiohttp import web

from ..eightxeight import routes as r8
from ..revicom import routes as revicom_routes
from ._checks import (
    MSG_INTERNAL,
    MSG_NOT_AUTHENTICATED,
    MSG_NOT_FOUND,
    MSG_SUB_ACCOUNT,
    MSG_TLS,
    Rejection,
    body_problem,
    line_batch_problem,
    line_message_problem,
    param_problem,
    revicom_stop_problem,
)
from ._clock import SimClock, format_timestamp
from ._deliveries import ReceiptDeliveries
from ._faults import Fault, FaultKind, FaultRules, reset_connection
from ._recording import RecordedRequest, RequestLog, redact_headers
from ._routing import API_NAMES, ServedRoute, resolve
from ._state import MessageApi, SimBatch, SimState, message_record

__all__ = ["ServedSettings", "SimServer"]

#: Large enough for any valid request (1,000 LINE messages, 10,000 uuids) and for
#: too-large ones, so that they earn the provider's error rather than a 413.
_MAX_BODY: Final = 64 * 1024 * 1024
_SHUTDOWN_TIMEOUT: Final = 2.0
_JSON: Final = "application/json"
_ENCODER: Final = msgspec.json.Encoder()
_NO_JSON: Final = object()


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    code: int | None = None
    error: str | None = None
    content_type: str | None = _JSON


class _Bucket:
    """A token bucket on the monotonic clock: the client's waits are real time too."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> float:
        """0 when a request may pass, else the seconds until one may."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class ServedSettings(Protocol):
    """The settings a server reads, live, on every request (a ``Simulator`` has them)."""

    @property
    def clock(self) -> SimClock: ...
    @property
    def require_tls13(self) -> bool: ...
    @property
    def record_requests(self) -> bool: ...
    @property
    def latency(self) -> tuple[float, float] | None: ...
    @property
    def rate_limit(self) -> float | None: ...
    @property
    def rate_limit_burst(self) -> int | None: ...
    @property
    def flows_rate_limit(self) -> float | None: ...
    @property
    def flows_rate_limit_burst(self) -> int | None: ...
    @property
    def revicom_token(self) -> str: ...
    @property
    def revicom_rate_limit(self) -> float | None: ...
    @property
    def revicom_rate_limit_burst(self) -> int | None: ...
    @property
    def per_message_rejection(self) -> bool: ...
    @property
    def rejected_recipients(self) -> dict[str, tuple[int, str]]: ...
    @property
    def schedule_line_sends(self) -> bool: ...
    @property
    def schedule_delay(self) -> float: ...
    @property
    def flow_delete_status(self) -> int: ...
    @property
    def receipts(self) -> ReceiptDeliveries: ...


@dataclass(slots=True)
class _Ctx:
    request: web.Request
    route: ServedRoute
    rec: RecordedRequest
    match: dict[str, str]
    body: Any


Endpoint = Callable[[_Ctx], _Answer]


class SimServer:
    """The aiohttp application and runner behind a ``Simulator``.

    It serves what others own: ``state`` (acted on by the endpoints), ``faults``
    (picked per request), the request logs and counts (filled), and ``settings``
    (read live on each request).
    """

    def __init__(
        self,
        settings: ServedSettings,
        *,
        state: SimState,
        faults: FaultRules,
        log: RequestLog,
        unexpected_log: RequestLog,
        counts: Counter[str | None],
        latency_rng: random.Random,
    ) -> None:
        self._sim = settings
        self._state = state
        self._faults = faults
        self._log_of_all = log
        self._unexpected_log = unexpected_log
        self._counts = counts
        self._latency_rng = latency_rng
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.port = 0
        endpoints: dict[ServedRoute, Endpoint] = {
            r8.CHATAPPS_SEND_LINE_NOTIFICATION_BATCH: self._send_line_batch,
            r8.CHATAPPS_SEND_LINE_NOTIFICATION: self._send_line,
            r8.CHATAPPS_CANCEL_BATCH: lambda ctx: self._cancel_batch(ctx, "chatapps"),
            r8.CHATAPPS_CANCEL_MESSAGE: lambda ctx: self._cancel_message(ctx, "chatapps"),
            r8.CHATAPPS_DELETE_WHATSAPP_FLOW: self._delete_flow,
            r8.CHATAPPS_SET_WEBHOOKS: self._set_webhooks,
            r8.CHATAPPS_GET_WEBHOOKS: self._get_webhooks,
            r8.CHATAPPS_DELETE_WEBHOOKS: self._delete_webhooks,
            r8.CHATAPPS_GET_MESSAGE: self._get_message,
            r8.SMS_CANCEL_BATCH: lambda ctx: self._cancel_batch(ctx, "sms"),
            r8.SMS_CANCEL_MESSAGE: lambda ctx: self._cancel_message(ctx, "sms"),
            revicom_routes.STOP: self._revicom_stop,
        }
        self._endpoints = {route.full_name: answer for route, answer in endpoints.items()}

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self, host: str, port: int, ssl_context: ssl.SSLContext | None) -> int:
        app = web.Application(client_max_size=_MAX_BODY)
        # One handler routes every request itself, segment by segment on the raw
        # path, so that any id the client may send (percent-encoded, with braces,
        # slashes or percent signs in it) reaches its route with its value intact.
        app.router.add_route("*", "/{tail:(?s:.*)}", self._dispatch)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._stopping = asyncio.Event()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._stopping is not None:
            self._stopping.set()  # wakes stalled requests so shutdown does not wait on them
        await runner.cleanup()

    def reset_buckets(self) -> None:
        self._buckets.clear()

    # ------------------------------------------------------------------ pipeline

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        found = resolve(request.method, request.rel_url.raw_path)
        if found is None:
            return await self._unknown(request)
        route, match = found
        return await self._handle(request, route, match)

    def _record(
        self,
        request: web.Request,
        api: str | None,
        route: str | None,
        match: dict[str, str] | None = None,
    ) -> RecordedRequest:
        sim = self._sim
        rec = RecordedRequest(
            method=request.method,
            path=request.rel_url.raw_path,
            api=api,
            route=route,
            headers=redact_headers(request.headers),
            time=sim.clock.now(),
            tls_version=_tls_version(request),
            match={} if match is None else match,
        )
        self._counts[route] += 1
        return rec

    def _log(self, rec: RecordedRequest) -> None:
        """Keep the record (once its body is read, so that the bound counts it)."""
        if self._sim.record_requests:
            self._log_of_all.add(rec)

    async def _handle(
        self, request: web.Request, route: ServedRoute, match: dict[str, str]
    ) -> web.StreamResponse:
        sim = self._sim
        sim.clock.run_due()
        rec = self._record(request, route.api, route.full_name, match)
        fault = self._faults.pick(route.full_name)
        rec.fault = fault
        if fault is not None and fault.kind is FaultKind.RESET_BEFORE_BODY:
            self._log(rec)
            return _reset(request)
        rec.raw_body = await request.read()
        self._log(rec)
        body = _decode(rec.raw_body)
        if sim.latency is not None:
            low, high = sim.latency
            if await self._stall(self._latency_rng.uniform(low, high)):
                return _reset(request)
            sim.clock.run_due()
        if fault is not None and fault.kind is FaultKind.STALL:
            if await self._stall(fault.seconds):
                return _reset(request)
            sim.clock.run_due()
            fault = None  # after the stall the request is handled as usual
        if fault is not None and not fault.process:
            if fault.kind is FaultKind.RESET_AFTER_BODY:
                return _reset(request)
            return self._respond(rec, self._fault_answer(fault, route))
        ctx = _Ctx(request, route, rec, rec.match, body)
        answer = self._endpoint(ctx)
        if fault is not None:
            if fault.kind is FaultKind.RESET_AFTER_BODY:
                return _reset(request)
            if fault.kind is FaultKind.TRUNCATED_BODY:
                return await _truncated(request, rec, answer)
            answer = self._fault_answer(fault, route)
        return self._respond(rec, answer)

    async def _stall(self, seconds: float) -> bool:
        """Wait ``seconds``; True when the simulator is stopping meanwhile."""
        stopping = self._stopping
        if stopping is None or stopping.is_set():
            return True
        with anyio.move_on_after(seconds):
            await stopping.wait()
            return True
        return False

    def _respond(self, rec: RecordedRequest, answer: _Answer) -> web.Response:
        rec.status, rec.code, rec.error = answer.status, answer.code, answer.error
        if answer.status == 204:
            return web.Response(status=204, headers=answer.headers)
        return web.Response(
            status=answer.status,
            body=answer.body,
            headers=answer.headers,
            content_type=answer.content_type,
        )

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        sim = self._sim
        sim.clock.run_due()
        first = request.rel_url.raw_path.lstrip("/").split("/", 1)[0]
        rec = self._record(request, first if first in API_NAMES else None, None)
        rec.raw_body = await request.read()
        self._log(rec)
        self._unexpected_log.add(rec)
        message = (
            f"No such endpoint in the aiomsg simulator: {request.method} {rec.path} "
            "(8x8 APIs live under /chatapps and /sms, Revicom under /revicom)"
        )
        # No provider code here: 1300 would read as "message not found" to a client.
        body = _ENCODER.encode({"message": message})
        return self._respond(rec, _Answer(404, body, error="unknown route"))

    # ------------------------------------------------------------------ answers

    def _error(
        self,
        api: str,
        status: int,
        code: int,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> _Answer:
        if api == "revicom":
            body = _ENCODER.encode({"errors": True, "message": message})
        else:
            body = _ENCODER.encode(
                {
                    "code": code,
                    "message": message,
                    "errorId": str(uuid.uuid4()),
                    "timestamp": format_timestamp(self._sim.clock.utcnow()),
                }
            )
        return _Answer(
            status, body, headers or {}, code=None if api == "revicom" else code, error=message
        )

    def _reject(self, api: str, rejection: Rejection) -> _Answer:
        return self._error(api, rejection.status, rejection.code, rejection.message)

    def _fault_answer(self, fault: Fault, route: ServedRoute) -> _Answer:
        kind = fault.kind
        if kind is FaultKind.NON_JSON_BODY:
            return _Answer(
                fault.http_status, fault.body or b"", content_type="text/html", error="fault"
            )
        if kind is FaultKind.RATE_LIMITED:
            headers: dict[str, str] = {}
            if fault.http_date:
                when = time.time() + fault.seconds
                headers["Retry-After"] = email.utils.formatdate(when, usegmt=True)
            elif fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return self._error(route.api, 429, 1100, "Too many requests", headers)
        if kind is FaultKind.TLS_VERSION:
            return self._tls_answer(route.api, fault.detected)
        status = fault.http_status
        if status >= 500:
            return self._error(route.api, status, 2000, MSG_INTERNAL)
        return self._error(route.api, status, 1000, f"Injected fault: HTTP {status}")

    def _tls_answer(self, api: str, detected: str) -> _Answer:
        return self._error(
            api, 426, 1014, MSG_TLS.format(detected=detected), {"Upgrade": "TLS/1.3"}
        )

    def _rate_limited(
        self, api: str, scope: str, key: str, rate: float | None, burst: int | None
    ) -> _Answer | None:
        if rate is None:
            return None
        size = burst if burst is not None else max(1, math.ceil(rate))
        bucket = self._buckets.get((scope, key))
        if bucket is None or bucket.rate != rate or bucket.burst != size:
            bucket = self._buckets[(scope, key)] = _Bucket(rate, size)
        wait = bucket.take()
        if wait <= 0.0:
            return None
        # 8x8 sends whole seconds ("Retry-After: 1").
        retry_after = str(max(1, math.ceil(wait)))
        return self._error(api, 429, 1100, "Too many requests", {"Retry-After": retry_after})

    # ------------------------------------------------------------------ endpoints

    def _endpoint(self, ctx: _Ctx) -> _Answer:
        route = ctx.route
        if route.api != "revicom" and self._sim.require_tls13:
            version = ctx.rec.tls_version
            if version is not None and version in ("TLSv1", "TLSv1.1", "TLSv1.2"):
                return self._tls_answer(route.api, version)
        if route.method == "POST":
            if ctx.request.content_type != _JSON:
                return self._error(
                    route.api, 400, 1000, "Invalid parameter: Content-Type must be application/json"
                )
            if ctx.body is _NO_JSON:
                return self._error(
                    route.api, 400, 1000, "Invalid parameter: the body is not valid JSON"
                )
        return self._endpoints[route.full_name](ctx)

    def _bearer_key(self, ctx: _Ctx) -> str | None:
        scheme, _, key = ctx.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or key not in self._state.keys:
            return None
        return key

    def _check_8x8(self, ctx: _Ctx) -> _Answer | None:
        """Credentials, sub-account ownership and rate limit of an 8x8 sub-account call."""
        api = ctx.route.api
        key = self._bearer_key(ctx)
        if key is None:
            return self._error(api, 401, 1200, MSG_NOT_AUTHENTICATED)
        sub = ctx.match["sub_account_id"]
        problem = param_problem(ctx.route.full_name, "subAccountId", sub)
        if problem is not None:
            return self._reject(api, problem)
        if sub not in self._state.keys[key].sub_accounts:
            return self._error(api, 400, 1001, MSG_SUB_ACCOUNT)
        sim = self._sim
        return self._rate_limited(api, "subaccount", sub, sim.rate_limit, sim.rate_limit_burst)

    def _send_line_batch(self, ctx: _Ctx) -> _Answer:
        refused = self._check_8x8(ctx)
        if refused is not None:
            return refused
        body = ctx.body
        problem = line_batch_problem(body)
        if problem is not None:
            return self._reject("chatapps", problem)
        sim = self._sim
        messages: list[Any] = body["messages"]
        problems = [line_message_problem(m, f"messages[{i}].") for i, m in enumerate(messages)]
        if not sim.per_message_rejection:
            first = next((p for p in problems if p is not None), None)
            if first is not None:
                return self._reject("chatapps", first)
        sub = ctx.match["sub_account_id"]
        client_batch_id = body.get("clientBatchId")
        batch = self._state.add_batch("chatapps", sub, client_batch_id)
        results = [
            self._create_line(sub, m, p, batch) for m, p in zip(messages, problems, strict=True)
        ]
        rejected = sum(1 for r in results if r["status"]["state"] == "rejected")
        out: dict[str, Any] = {"batchId": batch.batch_id}
        if client_batch_id is not None:
            out["clientBatchId"] = client_batch_id
        out["acceptedCount"] = len(results) - rejected
        out["rejectedCount"] = rejected
        if body.get("includeMessagesInResponse") is True:
            out["messages"] = results
        return _Answer(200, _ENCODER.encode(out))

    def _send_line(self, ctx: _Ctx) -> _Answer:
        refused = self._check_8x8(ctx)
        if refused is not None:
            return refused
        problem = line_message_problem(ctx.body)
        if problem is not None:
            return self._reject("chatapps", problem)
        result = self._create_line(ctx.match["sub_account_id"], ctx.body, None, None)
        return _Answer(200, _ENCODER.encode(result))

    def _create_line(
        self,
        sub: str,
        message: Any,
        problem: Rejection | None,
        batch: SimBatch | None,
    ) -> dict[str, Any]:
        """Store one LINE message; its entry in the answer."""
        sim = self._sim
        user = message.get("user") if isinstance(message, dict) else None
        user = user if isinstance(user, dict) else {}
        msisdn = user.get("msisdn") if isinstance(user.get("msisdn"), str) else None
        cmid = message.get("clientMessageId") if isinstance(message, dict) else None
        cmid = cmid if isinstance(cmid, str) else None
        error: tuple[int, str] | None = None
        if problem is not None:
            error = (problem.code, problem.message)
        elif msisdn is not None and msisdn in sim.rejected_recipients:
            error = sim.rejected_recipients[msisdn]
        now = sim.clock.now()
        send_at = None if error else (now + sim.schedule_delay if sim.schedule_line_sends else now)
        msg = self._state.add_message(
            "chatapps",
            sub,
            send_at=send_at,
            batch=batch,
            client_message_id=cmid,
            msisdn=msisdn,
            error=error,
        )
        status: dict[str, Any] = {
            "state": "queued" if error is None else "rejected",
            "timestamp": format_timestamp(sim.clock.utcnow()),
        }
        if error is not None:
            status["errorCode"], status["errorMessage"] = error
        result: dict[str, Any] = {
            "umid": msg.umid,
            "user": {k: v for k, v in user.items() if k in ("msisdn", "country", "channelUserId")},
        }
        if cmid is not None:
            result["clientMessageId"] = cmid
        result["status"] = status
        sim.receipts.message_taken(
            msg, result["user"], None if batch is None else batch.client_batch_id
        )
        return result

    def _cancel_message(self, ctx: _Ctx, api: MessageApi) -> _Answer:
        refused = self._check_8x8(ctx)
        if refused is not None:
            return refused
        umid = ctx.match["umid"]
        problem = param_problem(ctx.route.full_name, "umid", umid)
        if problem is not None:
            return self._reject(api, problem)
        msg = self._state.find_message(api, ctx.match["sub_account_id"], umid)
        if msg is None:
            return self._error(api, 404, 1300, MSG_NOT_FOUND)
        return _Answer(200, _ENCODER.encode({"cancelledCount": msg.cancel()}))

    def _cancel_batch(self, ctx: _Ctx, api: MessageApi) -> _Answer:
        refused = self._check_8x8(ctx)
        if refused is not None:
            return refused
        batch_id = ctx.match["batch_id"]
        problem = param_problem(ctx.route.full_name, "batchId", batch_id)
        if problem is not None:
            return self._reject(api, problem)
        count = self._state.cancel_batch(api, ctx.match["sub_account_id"], batch_id)
        return _Answer(200, _ENCODER.encode({"cancelledCount": count}))

    def _check_account(self, ctx: _Ctx) -> tuple[str, _Answer | None]:
        """The API key of an account call, or the refusal (credentials, account id)."""
        key = self._bearer_key(ctx)
        if key is None:
            return "", self._error("chatapps", 401, 1200, MSG_NOT_AUTHENTICATED)
        account_id = ctx.match["account_id"]
        problem = param_problem(ctx.route.full_name, "accountId", account_id)
        if problem is not None:
            return key, self._reject("chatapps", problem)
        if account_id.lower() not in self._state.keys[key].accounts:
            return key, self._error("chatapps", 403, 1201, "Access forbidden")
        return key, None

    def _set_webhooks(self, ctx: _Ctx) -> _Answer:
        return self._change_webhooks(ctx, self._state.set_webhooks)

    def _delete_webhooks(self, ctx: _Ctx) -> _Answer:
        return self._change_webhooks(ctx, self._state.delete_webhooks)

    def _change_webhooks(
        self, ctx: _Ctx, change: Callable[[str, list[dict[str, Any]]], None]
    ) -> _Answer:
        _, refused = self._check_account(ctx)
        if refused is not None:
            return refused
        if ctx.body is _NO_JSON:  # a DELETE's body is not checked by the pipeline
            return self._error("chatapps", 400, 1000, "Invalid parameter: the body is not JSON")
        problem = body_problem(ctx.route.full_name, ctx.body)
        if problem is not None:
            return self._reject("chatapps", problem)
        change(ctx.match["account_id"], ctx.body)
        return _Answer(200, content_type=None)

    def _get_webhooks(self, ctx: _Ctx) -> _Answer:
        _, refused = self._check_account(ctx)
        if refused is not None:
            return refused
        table = self._state.webhooks.get(ctx.match["account_id"].lower().replace("-", ""), {})
        # 8x8 masks the secrets it holds in what it lists.
        listed = [
            {k: "***" if k == "httpAuthorization" else v for k, v in hook.items()}
            for hook in table.values()
        ]
        return _Answer(200, _ENCODER.encode(listed))

    def _get_message(self, ctx: _Ctx) -> _Answer:
        refused = self._check_8x8(ctx)
        if refused is not None:
            return refused
        umid = ctx.match["umid"]
        problem = param_problem(ctx.route.full_name, "umid", umid)
        if problem is not None:
            return self._reject("chatapps", problem)
        msg = self._state.find_message("chatapps", ctx.match["sub_account_id"], umid)
        if msg is None:
            return self._error("chatapps", 404, 1300, MSG_NOT_FOUND)
        return _Answer(200, _ENCODER.encode({"data": [message_record(msg)]}))

    def _delete_flow(self, ctx: _Ctx) -> _Answer:
        sim = self._sim
        key, refused = self._check_account(ctx)
        if refused is not None:
            return refused
        account_id = ctx.match["account_id"]
        # 8x8 limits Flow management per API key (100 requests per minute), whatever
        # the account.
        limited = self._rate_limited(
            "chatapps", "flows", key, sim.flows_rate_limit, sim.flows_rate_limit_burst
        )
        if limited is not None:
            return limited
        flow = self._state.get_flow(account_id, ctx.match["channel_id"], ctx.match["flow_id"])
        if flow is None:
            return self._error("chatapps", 404, 1300, "Flow not found")
        if flow.status != "DRAFT":
            return self._error("chatapps", 409, 1000, "Flow must be in DRAFT status")
        self._state.delete_flow(flow)
        # 8x8's reference documents 200 with no body; 204 on request.
        return _Answer(sim.flow_delete_status, content_type=None)

    def _revicom_stop(self, ctx: _Ctx) -> _Answer:
        sim = self._sim
        if ctx.request.headers.get("Authorization") != f"Basic {sim.revicom_token}":
            return self._error("revicom", 401, 0, "Unauthorized")
        problem = revicom_stop_problem(ctx.body)
        if problem is not None:
            return self._error("revicom", 400, 0, problem)
        limited = self._rate_limited(
            "revicom", "revicom", sim.revicom_token, sim.revicom_rate_limit,
            sim.revicom_rate_limit_burst,
        )  # fmt: skip
        if limited is not None:
            return limited
        items = [{"messageUuid": u, "code": self._state.stop(u)} for u in ctx.body["uuids"]]
        errors = any(item["code"] in (403, 404) for item in items)
        return _Answer(200, _ENCODER.encode({"errors": errors, "items": items}))


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return _NO_JSON


def _tls_version(request: web.Request) -> str | None:
    transport = request.transport
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    version = ssl_object.version()
    return version if isinstance(version, str) else None


def _reset(request: web.Request) -> web.Response:
    """Drop the connection with a TCP reset; aiohttp then cannot send the answer."""
    transport = request.transport
    if transport is not None:
        reset_connection(transport)
    return web.Response(status=500)


async def _truncated(
    request: web.Request, rec: RecordedRequest, answer: _Answer
) -> web.StreamResponse:
    """Announce the whole answer, send half of it, close the connection."""
    body = answer.body
    resp = web.StreamResponse(status=answer.status, headers=answer.headers)
    if answer.content_type:
        resp.content_type = answer.content_type
    resp.content_length = max(len(body), 16)
    rec.status, rec.code, rec.error = answer.status, answer.code, "fault: truncated body"
    await resp.prepare(request)
    await resp.write(body[: len(body) // 2])
    transport = request.transport
    if transport is not None:
        transport.close()
    return resp
