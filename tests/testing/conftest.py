"""Helpers for the simulator's own tests: a started simulator and a raw HTTP session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest

from aiomsg.testing import Simulator

SUB = "sim-sub"
UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
LINE: dict[str, Any] = {
    "user": {"msisdn": "+6591234567"},
    "content": {"title": "Event reminder", "icon": "calendar"},
}


class Raw:
    """Plain aiohttp calls against a simulator, returning (status, headers, decoded body)."""

    def __init__(self, session: aiohttp.ClientSession, sim: Simulator) -> None:
        self.session = session
        self.sim = sim

    async def call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        auth: str | None = "default",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, Any]:
        sent = dict(headers or {})
        if auth == "default":
            auth = (
                f"Basic {self.sim.revicom_token}"
                if "/revicom/" in url
                else (f"Bearer {self.sim.api_key}")
            )
        if auth is not None:
            sent["Authorization"] = auth
        if json is not None:
            data = msgspec.json.encode(json)
            sent.setdefault("Content-Type", "application/json")
        async with self.session.request(method, url, data=data, headers=sent) as resp:
            raw = await resp.read()
            body = (
                msgspec.json.decode(raw) if raw and resp.content_type == "application/json" else raw
            )
            return resp.status, resp.headers, body

    def sms(self, path: str) -> str:
        return f"{self.sim.sms_url}/api/v1{path}"

    def chatapps(self, path: str) -> str:
        return f"{self.sim.chatapps_url}/api/v1{path}"

    def revicom(self) -> str:
        return f"{self.sim.revicom_url}/api/v1/message/stop"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(seed=3, schedule_line_sends=True) as simulator:
        yield simulator


@pytest.fixture
async def raw(sim: Simulator) -> AsyncIterator[Raw]:
    async with aiohttp.ClientSession() as session:
        yield Raw(session, sim)
