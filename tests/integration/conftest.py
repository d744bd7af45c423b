"""The real clients against the simulator over loopback: every test runs over HTTP and TLS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import aiomsg
from aiomsg.testing import Simulator

SUB = "sim-sub"
#: Quick retries so that fault tests stay fast; the policy's logic is unchanged.
FAST_RETRY = aiomsg.RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.05)
TIMEOUT = aiomsg.Timeout(connect=5.0, read=5.0, total=10.0)
#: The client paces WhatsApp Flow calls at 100/min by default; tests need not wait.
UNPACED_FLOWS = aiomsg.RateLimit(rate=None, concurrency=4)


def line(n: int = 0, **changes: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "user": {"msisdn": f"+659123{n:04d}"},
        "content": {"title": "Event reminder", "icon": "calendar"},
        "clientMessageId": f"msg-{n}",
    }
    msg.update(changes)
    return msg


@pytest.fixture(params=["http", "tls"])
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[Simulator]:
    async with Simulator(tls=request.param == "tls", seed=11, schedule_line_sends=True) as s:
        yield s
    s.assert_no_unexpected_requests()


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[aiomsg.EightByEight]:
    async with sim.eightbyeight(
        retry=FAST_RETRY, timeout=TIMEOUT, flows_rate_limit=UNPACED_FLOWS
    ) as c:
        yield c


@pytest.fixture
async def revicom_client(sim: Simulator) -> AsyncIterator[aiomsg.Revicom]:
    async with sim.revicom(retry=FAST_RETRY, timeout=TIMEOUT) as c:
        yield c
