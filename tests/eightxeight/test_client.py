"""The 8x8 client's own settings: its API key, regions and base URLs."""

from __future__ import annotations

import re
import ssl
from typing import Any

import pytest

import aiomsg
from aiomsg.eightxeight.client import (
    DEFAULT_REGION,
    ENV_API_KEY,
    ENV_CHATAPPS_URL,
    ENV_SMS_URL,
    REGIONS,
)

UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
NO_RETRY = aiomsg.RetryPolicy(max_attempts=1)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_API_KEY, ENV_CHATAPPS_URL, ENV_SMS_URL):
        monkeypatch.delenv(name, raising=False)


async def cancel_through(client: aiomsg.EightByEight, mock_http: Any) -> tuple[str, str]:
    """Cancel once through each API; the (chatapps, sms) URLs that were requested."""
    mock_http.delete(re.compile(r".*"), payload={"cancelledCount": 1}, repeat=True)
    await client.chatapps.cancel_message("acme-sub_01", UMID)
    await client.sms.cancel_message("acme-sub_01", UMID)
    first, second = (str(url) for _, url, _ in mock_http.sent())
    return first, second


async def test_api_key_argument_is_sent_as_bearer(
    mock_http: Any, ssl_context: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOMSG_8X8_API_KEY", "from-env")
    async with aiomsg.EightByEight(api_key="from-arg", ssl=ssl_context, retry=NO_RETRY) as client:
        await cancel_through(client, mock_http)
    assert {kw["headers"]["Authorization"] for _, _, kw in mock_http.sent()} == {"Bearer from-arg"}


async def test_api_key_from_the_environment(
    mock_http: Any, ssl_context: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOMSG_8X8_API_KEY", "from-env")
    async with aiomsg.EightByEight(ssl=ssl_context, retry=NO_RETRY) as client:
        await cancel_through(client, mock_http)
    assert {kw["headers"]["Authorization"] for _, _, kw in mock_http.sent()} == {"Bearer from-env"}


@pytest.mark.parametrize(
    ("region", "chatapps", "sms"),
    [
        ("ap", "https://chatapps.8x8.com", "https://sms.8x8.com"),
        ("us", "https://chatapps.us.8x8.com", "https://sms.us.8x8.com"),
        ("eu", "https://chatapps.8x8.uk", "https://sms.8x8.uk"),
        ("id", "https://chatapps.8x8.id", "https://sms.8x8.id"),
    ],
)
async def test_regions_use_the_spec_servers(
    mock_http: Any, ssl_context: ssl.SSLContext, region: str, chatapps: str, sms: str
) -> None:
    async with aiomsg.EightByEight(
        api_key="k", region=region, ssl=ssl_context, retry=NO_RETRY
    ) as client:
        urls = await cancel_through(client, mock_http)
    path = f"/api/v1/subaccounts/acme-sub_01/messages/{UMID}"
    assert urls == (chatapps + path, sms + path)


def test_default_region_is_asia_pacific() -> None:
    assert aiomsg.EightByEight(api_key="k").region == "ap"


@pytest.mark.parametrize("region", ["AP", "asia", "", "uk"])
def test_unknown_region(region: str) -> None:
    with pytest.raises(aiomsg.ConfigurationError, match="region"):
        aiomsg.EightByEight(api_key="k", region=region)


async def test_base_urls_from_arguments_then_environment(
    mock_http: Any, ssl_context: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOMSG_8X8_CHATAPPS_URL", "https://chat.env.example/base")
    monkeypatch.setenv("AIOMSG_8X8_SMS_URL", "https://sms.env.example")
    async with aiomsg.EightByEight(api_key="k", region="us", ssl=ssl_context, retry=NO_RETRY) as c:
        from_env = await cancel_through(c, mock_http)
    mock_http.requests.clear()
    async with aiomsg.EightByEight(
        api_key="k",
        chatapps_url="http://127.0.0.1:8080/",
        sms_url="http://localhost:9",
        ssl=ssl_context,
        retry=NO_RETRY,
    ) as c:
        from_args = await cancel_through(c, mock_http)
    path = f"/api/v1/subaccounts/acme-sub_01/messages/{UMID}"
    assert from_env == ("https://chat.env.example/base" + path, "https://sms.env.example" + path)
    assert from_args == ("http://127.0.0.1:8080" + path, "http://localhost:9" + path)


def test_the_names_it_reads_are_public_constants(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line and users read these rather than spelling the names again."""
    assert aiomsg.EightByEight(api_key="k").region == DEFAULT_REGION
    assert set(REGIONS) == {"ap", "us", "eu", "id"}
    monkeypatch.setenv(ENV_API_KEY, "from-env")
    for env in (ENV_CHATAPPS_URL, ENV_SMS_URL):
        monkeypatch.setenv(env, "http://10.0.0.5")
        with pytest.raises(aiomsg.ConfigurationError, match=re.escape(f"${env} uses http://")):
            aiomsg.EightByEight()
        monkeypatch.delenv(env)
    monkeypatch.setenv(ENV_API_KEY, "")
    with pytest.raises(aiomsg.ConfigurationError, match=re.escape(f"${ENV_API_KEY} is empty")):
        aiomsg.EightByEight()
