"""The Revicom client's own settings: its token and base URL."""

from __future__ import annotations

import re
import ssl
from typing import Any

import pytest

import aiomsg
from aiomsg.revicom.client import DEFAULT_REVICOM_URL, ENV_TOKEN, ENV_URL

UUIDS = ["2a28d557-22a1-4be6-8908-1481723043dd"]
NO_RETRY = aiomsg.RetryPolicy(max_attempts=1)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_TOKEN, ENV_URL):
        monkeypatch.delenv(name, raising=False)


async def test_revicom_token_from_argument_and_environment(
    mock_http: Any, ssl_context: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock_http.post(re.compile(r".*"), payload={"errors": False, "items": []}, repeat=True)
    monkeypatch.setenv("AIOMSG_REVICOM_TOKEN", "env-token")
    async with aiomsg.Revicom(ssl=ssl_context, retry=NO_RETRY) as client:
        await client.stop_batch(UUIDS)
    async with aiomsg.Revicom(token="arg-token", ssl=ssl_context, retry=NO_RETRY) as client:
        await client.stop_batch(UUIDS)
    sent = [(str(url), kw["headers"]["Authorization"]) for _, url, kw in mock_http.sent()]
    assert sent == [
        ("https://direct.revicom.ltd/api/v1/message/stop", "Basic env-token"),
        ("https://direct.revicom.ltd/api/v1/message/stop", "Basic arg-token"),
    ]


async def test_revicom_url_from_the_environment(
    mock_http: Any, ssl_context: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOMSG_REVICOM_URL", "http://[::1]:8081")
    mock_http.post(re.compile(r".*"), payload={"errors": False, "items": []})
    async with aiomsg.Revicom(token="t", ssl=ssl_context, retry=NO_RETRY) as client:
        await client.stop_batch(UUIDS)
    assert str(mock_http.only_request()[1]) == "http://[::1]:8081/api/v1/message/stop"


def test_the_names_it_reads_are_public_constants(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line and users read these rather than spelling the names again."""
    assert repr(aiomsg.Revicom(token="t")) == f"Revicom(Host('{DEFAULT_REVICOM_URL}'))"
    monkeypatch.setenv(ENV_URL, "http://10.0.0.5")
    with pytest.raises(aiomsg.ConfigurationError, match=re.escape(f"${ENV_URL} uses http://")):
        aiomsg.Revicom(token="t")
    monkeypatch.setenv(ENV_TOKEN, "")
    with pytest.raises(aiomsg.ConfigurationError, match=re.escape(f"${ENV_TOKEN} is empty")):
        aiomsg.Revicom()
