"""Fixtures shared by the unit tests: mocked HTTP (aioresponses) and ready clients."""

from __future__ import annotations

import ssl
import sys
from collections.abc import AsyncIterator, Iterator

import pytest

import aiomsg
from tests.mockhttp import MockHTTP

NO_RETRY = aiomsg.RetryPolicy(max_attempts=1)


@pytest.fixture
def mock_http() -> Iterator[MockHTTP]:
    with MockHTTP() as mock:
        yield mock


@pytest.fixture(scope="session")
def ssl_context() -> ssl.SSLContext:
    # One verifying context for every test client: building one per client is slow.
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


@pytest.fixture
def api_key() -> str:
    return "8x8-test-KEY-5f1e2d3c4b"


@pytest.fixture
def revicom_token() -> str:
    return "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


@pytest.fixture
async def eight(api_key: str, ssl_context: ssl.SSLContext) -> AsyncIterator[aiomsg.EightByEight]:
    """An 8x8 client on the default (Asia-Pacific) hosts that makes a single attempt."""
    async with aiomsg.EightByEight(api_key=api_key, ssl=ssl_context, retry=NO_RETRY) as client:
        yield client


@pytest.fixture
async def revicom(revicom_token: str, ssl_context: ssl.SSLContext) -> AsyncIterator[aiomsg.Revicom]:
    async with aiomsg.Revicom(token=revicom_token, ssl=ssl_context, retry=NO_RETRY) as client:
        yield client


def pytest_configure(config: pytest.Config) -> None:
    if sys.version_info < (3, 11):
        # Python 3.10's asyncio SSL transport never marks itself closed when aborted
        # (aiohttp aborts TLS connections it drops), so collecting one warns although
        # it was shut down; 3.11 rewrote the SSL protocol and the warning stays an
        # error there.
        config.addinivalue_line(
            "filterwarnings",
            "ignore:Exception ignored in. <function _SSLProtocolTransport.__del__"
            ":pytest.PytestUnraisableExceptionWarning",
        )
