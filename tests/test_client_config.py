"""Client settings (argument, environment, error), regions, auth, session lifecycle."""

from __future__ import annotations

import asyncio
import gc
import re
import ssl
import warnings
from typing import Any

import aiohttp
import pytest

import aiomsg

UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
UUIDS = ["2a28d557-22a1-4be6-8908-1481723043dd"]
ENV_VARS = [
    "AIOMSG_8X8_API_KEY",
    "AIOMSG_REVICOM_TOKEN",
    "AIOMSG_8X8_CHATAPPS_URL",
    "AIOMSG_8X8_SMS_URL",
    "AIOMSG_REVICOM_URL",
]
NO_RETRY = aiomsg.RetryPolicy(max_attempts=1)
SECRET = "Sup3r-Secret-Key"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


async def cancel_through(client: aiomsg.EightByEight, mock_http: Any) -> tuple[str, str]:
    """Cancel once through each API; the (chatapps, sms) URLs that were requested."""
    mock_http.delete(re.compile(r".*"), payload={"cancelledCount": 1}, repeat=True)
    await client.chatapps.cancel_message("acme-sub_01", UMID)
    await client.sms.cancel_message("acme-sub_01", UMID)
    first, second = (str(url) for _, url, _ in mock_http.sent())
    return first, second


# ------------------------------------------------------------------- credentials


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


@pytest.mark.parametrize(
    ("make", "arg", "env"),
    [
        (lambda: aiomsg.EightByEight(), "api_key=", "AIOMSG_8X8_API_KEY"),
        (lambda: aiomsg.Revicom(), "token=", "AIOMSG_REVICOM_TOKEN"),
    ],
)
def test_missing_credential_names_both_ways(make: Any, arg: str, env: str) -> None:
    with pytest.raises(aiomsg.ConfigurationError) as info:
        make()
    assert arg in str(info.value)
    assert env in str(info.value)


BAD_SECRETS = [
    "",
    " ",
    f"{SECRET}\n",
    f" {SECRET}",
    f"{SECRET} x",
    f"{SECRET}\t",
    f"{SECRET}\x00",
    f"{SECRET}\x7f",
    f"{SECRET}\x9b",
    f"{SECRET}\r\nX-Injected: 1",
]


@pytest.mark.parametrize("secret", BAD_SECRETS)
@pytest.mark.parametrize("via_env", [False, True], ids=["argument", "environment"])
def test_bad_credentials_are_rejected_without_echo(
    monkeypatch: pytest.MonkeyPatch, secret: str, via_env: bool
) -> None:
    for make, kwarg, env in [
        (aiomsg.EightByEight, "api_key", "AIOMSG_8X8_API_KEY"),
        (aiomsg.Revicom, "token", "AIOMSG_REVICOM_TOKEN"),
    ]:
        if via_env:
            if "\x00" in secret:
                continue  # the OS cannot hold a NUL in the environment
            monkeypatch.setenv(env, secret)
            kwargs = {}
        else:
            kwargs = {kwarg: secret}
        with pytest.raises(aiomsg.ConfigurationError) as info:
            make(**kwargs)
        text = str(info.value)
        assert (env if via_env else kwarg) in text
        assert SECRET not in text
        assert SECRET not in repr(info.value)


def test_a_non_string_key_is_rejected() -> None:
    with pytest.raises(aiomsg.ConfigurationError):
        aiomsg.EightByEight(api_key=b"bytes-key")  # type: ignore[arg-type]


# --------------------------------------------------------------------- base URLs


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


async def test_revicom_url_from_the_environment(
    mock_http: Any, ssl_context: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOMSG_REVICOM_URL", "http://[::1]:8081")
    mock_http.post(re.compile(r".*"), payload={"errors": False, "items": []})
    async with aiomsg.Revicom(token="t", ssl=ssl_context, retry=NO_RETRY) as client:
        await client.stop_batch(UUIDS)
    assert str(mock_http.only_request()[1]) == "http://[::1]:8081/api/v1/message/stop"


@pytest.mark.parametrize(
    "url",
    [
        "http://chatapps.8x8.com",
        "http://10.0.0.5:8080",
        "http://localhost.example.com",
        "https://user:pass@chatapps.8x8.com",
        "https://user@chatapps.8x8.com",
        "http://user:pass@127.0.0.1:8080",
        "ftp://chatapps.8x8.com",
        "chatapps.8x8.com",
        "https://chatapps.8x8.com/?token=x",
    ],
)
@pytest.mark.parametrize("via_env", [False, True], ids=["argument", "environment"])
def test_unsafe_base_urls_are_refused(
    monkeypatch: pytest.MonkeyPatch, url: str, via_env: bool
) -> None:
    def eight(**kwargs: Any) -> object:
        return aiomsg.EightByEight(api_key="k", **kwargs)

    def revicom(**kwargs: Any) -> object:
        return aiomsg.Revicom(token="t", **kwargs)

    cases = [
        ("chatapps_url", "AIOMSG_8X8_CHATAPPS_URL", eight),
        ("sms_url", "AIOMSG_8X8_SMS_URL", eight),
        ("base_url", "AIOMSG_REVICOM_URL", revicom),
    ]
    for arg, env, make in cases:
        if via_env:
            monkeypatch.setenv(env, url)
            kwargs = {}
        else:
            kwargs = {arg: url}
        with pytest.raises(aiomsg.ConfigurationError) as info:
            make(**kwargs)
        assert (env if via_env else arg) in str(info.value)
        assert "pass" not in str(info.value).replace("password", "")
        monkeypatch.delenv(env, raising=False)


# ---------------------------------------------------------------- session lifecycle


async def test_a_caller_session_is_used_and_not_closed(
    mock_http: Any, ssl_context: ssl.SSLContext
) -> None:
    async with aiohttp.ClientSession(headers={"X-Caller-Session": "yes"}) as session:
        client = aiomsg.EightByEight(api_key="k", session=session, ssl=ssl_context, retry=NO_RETRY)
        async with client:
            await cancel_through(client, mock_http)
        assert client.closed
        assert not session.closed
        for _, _, kwargs in mock_http.sent():
            assert kwargs["headers"]["X-Caller-Session"] == "yes"
            assert kwargs["headers"]["Authorization"] == "Bearer k"


async def test_revicom_with_a_caller_session(mock_http: Any, ssl_context: ssl.SSLContext) -> None:
    mock_http.post(re.compile(r".*"), payload={"errors": False, "items": []})
    async with aiohttp.ClientSession(headers={"X-Caller-Session": "yes"}) as session:
        async with aiomsg.Revicom(token="t", session=session, ssl=ssl_context) as client:
            await client.stop_batch(UUIDS)
        assert not session.closed
    assert mock_http.only_request()[2]["headers"]["X-Caller-Session"] == "yes"


def test_session_and_ssl_must_have_the_right_types() -> None:
    with pytest.raises(aiomsg.ConfigurationError):
        aiomsg.EightByEight(api_key="k", session=object())  # type: ignore[arg-type]
    with pytest.raises(aiomsg.ConfigurationError):
        aiomsg.Revicom(token="t", ssl=True)  # type: ignore[arg-type]


async def test_aclose_is_idempotent_and_async_with_closes(
    mock_http: Any, ssl_context: ssl.SSLContext
) -> None:
    client = aiomsg.EightByEight(api_key="k", ssl=ssl_context, retry=NO_RETRY)
    await cancel_through(client, mock_http)
    assert not client.closed
    await client.aclose()
    await client.aclose()
    assert client.closed
    with pytest.raises(RuntimeError):
        await client.sms.cancel_message("acme-sub_01", UMID)
    with pytest.raises(RuntimeError):
        async with client:
            pass

    async with aiomsg.Revicom(token="t", ssl=ssl_context) as revicom:
        assert not revicom.closed
    assert revicom.closed
    await revicom.aclose()


async def test_closing_an_unused_client(ssl_context: ssl.SSLContext) -> None:
    async with aiomsg.EightByEight(api_key="k", ssl=ssl_context) as client:
        pass
    assert client.closed


def unclosed(records: list[warnings.WarningMessage]) -> list[str]:
    return [str(r.message) for r in records if "Unclosed" in str(r.message)]


async def test_no_unclosed_session_warnings(mock_http: Any, ssl_context: ssl.SSLContext) -> None:
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context["message"]))
    try:
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            async with aiomsg.EightByEight(api_key="k", ssl=ssl_context, retry=NO_RETRY) as client:
                await cancel_through(client, mock_http)
            mock_http.post(re.compile(r".*"), payload={"errors": False, "items": []})
            async with aiomsg.Revicom(token="t", ssl=ssl_context) as revicom:
                await revicom.stop_batch(UUIDS)
            del client, revicom
            gc.collect()
            ours = (unclosed(records), list(reported))
            # Control: the same checks do notice a session left open.
            leaked = aiohttp.ClientSession()
            del leaked
            gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert ours == ([], [])
    assert [w.split(" <")[0] for w in unclosed(records)] == ["Unclosed client session"]
    assert reported == ["Unclosed client session"]
