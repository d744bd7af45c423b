"""What every client shares (``aiomsg._client``): credentials and base URLs from the
argument or the environment, the shared options, their checks and their one
documentation, and the session lifecycle. Each provider's own settings are tested
under ``tests/eightxeight/`` and ``tests/revicom/``."""

from __future__ import annotations

import ast
import asyncio
import gc
import inspect
import os
import re
import ssl
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

import aiomsg
from aiomsg._client import BaseClient

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
    # Not ASCII: sent as raw bytes, or (a lone surrogate) silently dropped.
    f"{SECRET}\ud800",
    f"{SECRET}\udcff",  # how an environment's undecodable byte reads
    f"\udfff{SECRET}",
    f"S\u00e9{SECRET}",
    f"{SECRET}\u20ac",
    f"{SECRET}\U0001f511",
    f"{SECRET}\u200b",  # zero-width space: not whitespace to str.isspace()
    f"{SECRET}\ufeff",
    f"{SECRET}\uff21",  # fullwidth A
]


def os_can_hold(text: str) -> bool:
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return True


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
            if "\x00" in secret or not os_can_hold(secret):
                continue  # the OS cannot hold a NUL (or a lone surrogate) there
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
        # A URL other than the one given: yarl dropped the surrogate, kept the NUL.
        "https://chatapps.8x8.com/api\ud800",
        "https://chatapps.8x8.com/\udcff",
        "https://chat\x00apps.8x8.com",
        "https://chatapps.8x8.com\x7f/",
        "https://chatapps.8x8.com/a b",
        "https://chatapps.8x8.com\u2028",
        "https://chat%00apps.8x8.com",
        "https://chat<apps>.8x8.com",
        "https://chatapps..8x8.com",
        "https://chatapps.8x8.com:0",
        "http://127.0.0.1:0",
        "http://[::1]:0/",
        "https://chatapps.8x8.com:65536",
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
            if "\x00" in url or not os_can_hold(url):
                continue  # the OS cannot hold these in the environment
            monkeypatch.setenv(env, url)
            kwargs = {}
        else:
            kwargs = {arg: url}
        with pytest.raises(aiomsg.ConfigurationError) as info:
            make(**kwargs)
        assert (env if via_env else arg) in str(info.value)
        assert "pass" not in str(info.value).replace("password", "")
        monkeypatch.delenv(env, raising=False)


@pytest.mark.parametrize(
    "url", ["https://xn--r8jz45g.jp/api", "https://\u4f8b\u3048.jp", "https://my_svc.internal:8443"]
)
def test_unusual_but_valid_base_urls_are_kept(url: str) -> None:
    assert aiomsg.Revicom(token="t", base_url=url) is not None


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


# ------------------------------------------------------------------ shared options

CLIENTS = [
    pytest.param(lambda **kw: aiomsg.EightByEight(api_key="k", **kw), id="EightByEight"),
    pytest.param(lambda **kw: aiomsg.Revicom(token="t", **kw), id="Revicom"),
]
BAD_OPTIONS = [
    ("retry", 3, "retry must be an aiomsg.RetryPolicy or None"),
    ("retry_budget", 500, "retry_budget must be an aiomsg.RetryBudget or None"),
    ("min_tls_version", "1.3", "min_tls_version must be an ssl.TLSVersion"),
    ("connector_limit", 0, "connector_limit must be a whole number, at least 1"),
    ("connector_limit", True, "connector_limit must be a whole number, at least 1"),
    ("max_response_size", 1.5, "max_response_size must be a whole number of bytes"),
    ("on_request", "print", "on_request must be a callable or None"),
    ("trace_configs", [object()], "trace_configs must be a list or tuple of aiohttp"),
    ("rate_limit", 100, "rate_limit must be an aiomsg.RateLimit"),
    ("ssl", True, "ssl must be an ssl.SSLContext"),
    ("session", object(), "session must be an aiohttp.ClientSession"),
]


@pytest.mark.parametrize("make", CLIENTS)
@pytest.mark.parametrize(("option", "value", "message"), BAD_OPTIONS)
def test_every_client_checks_the_shared_options_alike(
    make: Any, option: str, value: object, message: str
) -> None:
    with pytest.raises(aiomsg.ConfigurationError) as info:
        make(**{option: value})
    assert str(info.value).startswith(message)


def args_entries(doc: str) -> dict[str, str]:
    """The ``Args:`` entries of a Google-style docstring: name to its whole text."""
    section = re.search(r"^Args:\n((?:[ ]+\S.*\n?)+)", doc, re.M)
    assert section is not None, doc
    entries: dict[str, str] = {}
    for name, text in re.findall(r"^    (\w+): (.*(?:\n {8}.*)*)", section.group(1), re.M):
        assert name not in entries, f"{name} documented twice"
        entries[name] = " ".join(text.split())
    return entries


@pytest.mark.parametrize("client", [aiomsg.EightByEight, aiomsg.Revicom])
def test_help_documents_every_keyword_of_a_client(client: type) -> None:
    keywords = set(inspect.signature(client).parameters)
    assert set(args_entries(inspect.getdoc(client) or "")) == keywords


def test_the_shared_options_are_documented_once_for_every_client() -> None:
    shared = args_entries(inspect.getdoc(BaseClient) or "")
    assert {"timeout", "retry", "session", "ssl", "min_tls_version"} <= set(shared)
    for client in (aiomsg.EightByEight, aiomsg.Revicom):
        documented = args_entries(inspect.getdoc(client) or "")
        assert {name: documented[name] for name in shared} == shared, client.__name__
        # Written once: the client's source documents only its own keywords.
        assert not set(shared) & set(args_entries(source_docstring(client)))


def source_docstring(client: type) -> str:
    """The class docstring as written in its module."""
    tree = ast.parse(inspect.getsource(inspect.getmodule(client)))  # type: ignore[arg-type]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == client.__name__:
            return inspect.cleandoc(ast.get_docstring(node) or "")
    raise AssertionError(client.__name__)


# ------------------------------------------------------------- number settings

HUGE = 10**400  # an int no float can hold: was a bare OverflowError
NAN, INF = float("nan"), float("inf")
# Every way a number setting can be wrong: a ConfigurationError naming the setting
# and its rule, never TypeError, OverflowError or silent acceptance.
NOT_SECONDS: list[object] = [-1, HUGE, -HUGE, NAN, INF, -INF, "5", True, Decimal("5"), 1j, [1]]
NOT_COUNTS: list[object] = [-1, 2.5, 5.0, NAN, INF, "5", None, True, Decimal("5"), HUGE * -1]
SETTINGS: dict[str, tuple[Callable[[Any], object], list[object]]] = {
    "RetryPolicy.backoff_base": (
        lambda v: aiomsg.RetryPolicy(backoff_base=v),
        [*NOT_SECONDS, None],
    ),
    "RetryPolicy.backoff_cap": (lambda v: aiomsg.RetryPolicy(backoff_cap=v), [*NOT_SECONDS, None]),
    "RetryPolicy.max_retry_after": (
        lambda v: aiomsg.RetryPolicy(max_retry_after=v),
        [*NOT_SECONDS, None],
    ),
    "RetryPolicy.deadline": (lambda v: aiomsg.RetryPolicy(deadline=v), [0, *NOT_SECONDS]),
    "RetryPolicy.max_attempts": (lambda v: aiomsg.RetryPolicy(max_attempts=v), [0, *NOT_COUNTS]),
    "Timeout.connect": (lambda v: aiomsg.Timeout(connect=v), [0, *NOT_SECONDS]),
    "Timeout.read": (lambda v: aiomsg.Timeout(read=v), [0, *NOT_SECONDS]),
    "Timeout.total": (lambda v: aiomsg.Timeout(total=v), [0, *NOT_SECONDS]),
    "timeout": (lambda v: aiomsg.EightByEight(api_key="k", timeout=v), [0, *NOT_SECONDS]),
    "RateLimit.rate": (lambda v: aiomsg.RateLimit(rate=v), [0, *NOT_SECONDS]),
    "RateLimit.burst": (lambda v: aiomsg.RateLimit(rate=1.0, burst=v), [0, HUGE, *NOT_COUNTS]),
    "RateLimit.concurrency": (
        lambda v: aiomsg.RateLimit(rate=1.0, concurrency=v),
        [0, *NOT_COUNTS],
    ),
    "RetryBudget.capacity": (lambda v: aiomsg.RetryBudget(v), NOT_COUNTS),
    "RetryBudget.retry_cost": (lambda v: aiomsg.RetryBudget(retry_cost=v), NOT_COUNTS),
    "RetryBudget.timeout_cost": (lambda v: aiomsg.RetryBudget(timeout_cost=v), NOT_COUNTS),
    "RetryBudget.success_refill": (lambda v: aiomsg.RetryBudget(success_refill=v), NOT_COUNTS),
}


def _label(value: object) -> str:
    if type(value) is int and abs(value) == HUGE:
        return "-HUGE" if value < 0 else "HUGE"
    return repr(value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param(name, value, id=f"{name}={_label(value)}")
        for name, (_, values) in SETTINGS.items()
        for value in values
    ],
)
def test_a_bad_number_setting_is_a_configuration_error(name: str, value: object) -> None:
    make = SETTINGS[name][0]
    with pytest.raises(aiomsg.ConfigurationError) as info:
        make(value)
    text = str(info.value)
    assert text.startswith(f"{name} must be ")
    assert "seconds" in text or "whole number" in text or "requests per second" in text
    assert len(text) < 200  # a 400-digit int is described, not printed


@pytest.mark.parametrize(
    ("make", "attribute", "value"),
    [
        (lambda v: aiomsg.RetryPolicy(deadline=v), "deadline", 1e308),
        (lambda v: aiomsg.RetryPolicy(backoff_base=v), "backoff_base", 0),
        (lambda v: aiomsg.Timeout(total=v), "total", 10**300),
        (lambda v: aiomsg.RateLimit(rate=v), "rate", 1e-300),
        (lambda v: aiomsg.RateLimit(rate=1.0, burst=v), "burst", 2**53),
        (lambda v: aiomsg.RetryBudget(v), "capacity", 0),
        (lambda v: aiomsg.RetryBudget(v), "capacity", 10**30),
    ],
)
def test_extreme_but_valid_number_settings_are_kept(
    make: Callable[[Any], object], attribute: str, value: object
) -> None:
    assert getattr(make(value), attribute) == value


def test_a_number_subclass_is_kept_as_its_plain_value() -> None:
    class Seconds(float):
        def __gt__(self, other: object) -> bool:
            return True

    policy = aiomsg.RetryPolicy(deadline=Seconds(2.5))
    assert type(policy.deadline) is float
    assert policy.deadline == 2.5
    with pytest.raises(aiomsg.ConfigurationError, match=r"Timeout\.total"):
        aiomsg.Timeout(total=Seconds(-1.0))
