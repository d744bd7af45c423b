"""The command line, run as a subprocess against a simulator in the test process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aiomsg.testing import Simulator

from .support import cli_env


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    # No rate limit: one-request-per-umid cancels would otherwise meet 429s by design.
    async with Simulator(rate_limit=None, schedule_line_sends=True, seed=5) as s:
        yield s
    s.assert_no_unexpected_requests()


@pytest.fixture
def env(sim: Simulator) -> dict[str, str]:
    return cli_env(sim)
