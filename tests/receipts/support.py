"""Delivery receipt bodies shaped like 8x8's (v8 and v9), and a loopback receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

AUTH = "Basic cmVjZWlwdHM6czNjcmV0LXZhbHVl"
SUB = "sub-receipts"


def receipt(
    umid: str = "3f1b7e4c-8d6a-4a51-9c2e-0b9f4c1d2e3a",
    *,
    state: str = "delivered",
    detail: str | None = "delivered_to_recipient",
    timestamp: str | None = "2026-07-03T03:40:54.16Z",
    client_message_id: str | None = "msg-1",
    version: int | None = 9,
    channel: str = "line",
    error_code: Any = None,
    error_message: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    status: dict[str, Any] = {"state": state}
    if detail is not None:
        status["detail"] = detail
    if timestamp is not None:
        status["timestamp"] = timestamp
    if error_code is not None:
        status["errorCode"] = error_code
    if error_message is not None:
        status["errorMessage"] = error_message
    payload: dict[str, Any] = {
        "umid": umid,
        "batchId": "a9e4a3f0-6c2b-4c1d-8f3e-1d2c3b4a5f60",
        "clientBatchId": "job-7",
        "subAccountId": SUB,
        "channel": channel,
        "user": {"msisdn": "+6591234567"},
        "status": status,
    }
    if client_message_id is not None:
        payload["clientMessageId"] = client_message_id
    payload.update(extra)
    body: dict[str, Any] = {
        "namespace": "ChatApps",
        "eventType": "outbound_message_status_changed",
        "description": "ChatApps outbound message delivery receipt",
        "payload": payload,
    }
    if version is not None:
        body = {"version": version, **body}
    return body


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    """Run ``app`` on 127.0.0.1 (a free port); yield its URL and a client session.

    Served as ``web.run_app`` would (an ``AppRunner`` with aiohttp's defaults), not with
    ``TestServer``, which cancels a handler whose client hangs up: production servers
    do not, and the receiver must cope with that.
    """
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with aiohttp.ClientSession() as session:
            yield f"http://127.0.0.1:{port}/", session
    finally:
        await runner.cleanup()
