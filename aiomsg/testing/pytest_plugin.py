"""pytest fixtures for testing code that uses aiomsg against the simulator.

Installed with aiomsg (entry point ``pytest11``), so the fixtures are simply there:

- ``aiomsg_simulator``: a started ``Simulator``, stopped after the test. The test
  fails if a request reached no known endpoint.
- ``aiomsg_client``: an ``aiomsg.EightByEight`` bound to it.
- ``aiomsg_revicom``: an ``aiomsg.Revicom`` bound to it.

Options: ``@pytest.mark.aiomsg_simulator(tls=True, rate_limit=None)`` on a test, or
override the ``aiomsg_simulator_options`` fixture (a dict) for a module or suite.
The async fixtures need pytest-asyncio: ``asyncio_mode = "auto"`` and
``asyncio_default_fixture_loop_scope = "function"`` in the pytest configuration, or
in strict mode ``@pytest.mark.asyncio`` on each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import pytest

from ..eightxeight import EightByEight
from ..revicom import Revicom
from ._simulator import Simulator

_F = TypeVar("_F", bound=Callable[..., Any])

try:
    import pytest_asyncio

    _fixture: Any = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - without pytest-asyncio, another async plugin
    _fixture = pytest.fixture


def _async_fixture(fn: _F) -> _F:
    return cast(_F, _fixture(fn))


__all__ = ["aiomsg_client", "aiomsg_revicom", "aiomsg_simulator", "aiomsg_simulator_options"]

MARKER = "aiomsg_simulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): keyword options for the aiomsg_simulator fixture's Simulator",
    )


@pytest.fixture
def aiomsg_simulator_options() -> dict[str, Any]:
    """Options for the ``aiomsg_simulator`` fixture; override it to change defaults."""
    return {}


@_async_fixture
async def aiomsg_simulator(
    request: pytest.FixtureRequest, aiomsg_simulator_options: dict[str, Any]
) -> AsyncIterator[Simulator]:
    """A started ``aiomsg.testing.Simulator``; unknown-endpoint requests fail the test."""
    options = dict(aiomsg_simulator_options)
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args:
            raise TypeError(f"@pytest.mark.{MARKER} takes keyword options only")
        options.update(marker.kwargs)
    async with Simulator(**options) as sim:
        yield sim
    sim.assert_no_unexpected_requests()


@_async_fixture
async def aiomsg_client(aiomsg_simulator: Simulator) -> AsyncIterator[EightByEight]:
    """An ``aiomsg.EightByEight`` talking to ``aiomsg_simulator``."""
    async with aiomsg_simulator.eightbyeight() as client:
        yield client


@_async_fixture
async def aiomsg_revicom(aiomsg_simulator: Simulator) -> AsyncIterator[Revicom]:
    """An ``aiomsg.Revicom`` talking to ``aiomsg_simulator``."""
    async with aiomsg_simulator.revicom() as client:
        yield client
