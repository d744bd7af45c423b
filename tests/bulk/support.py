"""A scripted loopback server for the bulk-layer tests.

Serves the Revicom stop, the LINE batch send and the single cancels on 127.0.0.1
with behaviour chosen per request by a ``plan`` callable, records what it was
sent, and counts requests in flight so tests can check the concurrency bound.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

STOP_PATH = "/api/v1/message/stop"
_CODES = {401: 1200, 404: 1300, 500: 2000, 502: 2000, 503: 2000, 504: 2000}


@dataclass(frozen=True)
class Action:
    """What the server does with one request."""

    kind: str = "ok"  # ok | status | reset_before | reset_after | stall
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    codes: dict[str, int] | None = None  # Revicom: per-uuid codes (default 200)
    drop: frozenset[str] = frozenset()  # Revicom: uuids left out of the answer
    extra: int = 0  # Revicom: unasked uuids added to the answer
    stall: float = 0.0
    delay: float = 0.0
    rejected: frozenset[str] = frozenset()  # LINE: clientMessageIds rejected
    statuses: dict[str, Any] = field(default_factory=dict)  # LINE: clientMessageId -> status
    cancelled_count: int = 1  # cancels


OK = Action()


@dataclass
class Seen:
    """One request as the server saw it, with what it did."""

    method: str
    path: str
    body: Any
    action: Action


Plan = Callable[[str, int, Any], Action]


class BulkServer:
    def __init__(self, plan: Plan | None = None) -> None:
        self.plan: Plan = plan or (lambda api, n, body: OK)
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(STOP_PATH, self._stop)
        app.router.add_post("/api/v1/subaccounts/{sub}/lon/batch", self._lon)
        app.router.add_delete("/api/v1/subaccounts/{sub}/messages/{umid}", self._cancel)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.1
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def count(self, path_part: str) -> int:
        return sum(1 for s in self.seen if path_part in s.path)

    async def _enter(self, request: web.Request, api: str) -> tuple[Any, Action] | None:
        body: Any = request.match_info.get("umid")  # cancels: the plan sees the umid
        if request.method == "POST":
            body = json.loads(await request.read())
        action = self.plan(api, len(self.seen), body)
        self.seen.append(Seen(request.method, request.path, body, action))
        if action.kind == "reset_before" or action.kind == "reset_after":
            assert request.transport is not None
            request.transport.abort()
            return None
        if action.kind == "stall":
            await asyncio.sleep(action.stall)
        if action.delay:
            await asyncio.sleep(action.delay)
        return body, action

    async def _guarded(self, request: web.Request, api: str, answer: Callable[..., Any]) -> Any:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            entered = await self._enter(request, api)
            if entered is None:
                raise web.HTTPInternalServerError()  # never reaches the client
            body, action = entered
            if action.kind == "status":
                return web.json_response(
                    {"code": _CODES.get(action.status, 1000), "message": "scripted"},
                    status=action.status,
                    headers=action.headers,
                )
            return answer(request, body, action)
        finally:
            self.in_flight -= 1

    async def _stop(self, request: web.Request) -> web.StreamResponse:
        def answer(_: web.Request, body: Any, action: Action) -> web.Response:
            codes = action.codes or {}
            items = [
                {"messageUuid": u, "code": codes.get(u, 200)}
                for u in body["uuids"]
                if u not in action.drop
            ]
            items += [{"messageUuid": str(uuid.uuid4()), "code": 404} for _ in range(action.extra)]
            errors = any(i["code"] in (403, 404) for i in items)
            return web.json_response({"errors": errors, "items": items})

        result: web.StreamResponse = await self._guarded(request, "stop", answer)
        return result

    async def _lon(self, request: web.Request) -> web.StreamResponse:
        def answer(_: web.Request, body: Any, action: Action) -> web.Response:
            msgs = body["messages"]
            out = []
            for m in msgs:
                cmid = m.get("clientMessageId")
                status: dict[str, Any] = {"state": "queued", "timestamp": "2020-01-04T08:19:45.99Z"}
                if cmid in action.rejected:
                    status = {"state": "rejected", "errorCode": 3038, "errorMessage": "no"}
                status = action.statuses.get(cmid, status)
                out.append(
                    {"umid": str(uuid.uuid4()), "user": m["user"], "clientMessageId": cmid,
                     "status": status}
                )  # fmt: skip
            rejected = sum(1 for m in out if m["status"].get("state") == "rejected")
            answer_body: dict[str, Any] = {
                "batchId": str(uuid.uuid4()),
                "acceptedCount": len(msgs) - rejected,
                "rejectedCount": rejected,
            }
            if "clientBatchId" in body:
                answer_body["clientBatchId"] = body["clientBatchId"]
            if body.get("includeMessagesInResponse"):
                answer_body["messages"] = out
            return web.json_response(answer_body)

        result: web.StreamResponse = await self._guarded(request, "lon", answer)
        return result

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        def answer(_: web.Request, body: Any, action: Action) -> web.Response:
            return web.json_response({"cancelledCount": action.cancelled_count})

        result: web.StreamResponse = await self._guarded(request, "cancel", answer)
        return result


@asynccontextmanager
async def bulk_server(plan: Plan | None = None) -> AsyncIterator[BulkServer]:
    server = BulkServer(plan)
    await server.start()
    try:
        yield server
    finally:
        await server.close()
