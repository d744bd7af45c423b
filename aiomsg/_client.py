"""What both provider clients share: settings, the session pool and the lifecycle.

Settings come from the argument, else the environment (``AIOMSG_*``), else a
default; a missing credential is an error naming both ways to give it.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Final, TypeVar

import aiohttp
import anyio.lowlevel
from yarl import URL

from ._core import CallStats, Requester, RequestEvent
from ._errors import ClientClosedError, ConfigurationError
from ._limits import LimiterRegistry, RateLimit
from ._retry import DEFAULT_RETRY_POLICY, RetryBudget, RetryPolicy
from ._transport import (
    Host,
    Timeout,
    Transport,
    check_base_url,
)
from ._version import __version__

__all__ = ["BaseClient", "check_settings", "resolve_base_url", "resolve_secret"]

USER_AGENT: Final = f"aiomsg/{__version__}"
_C = TypeVar("_C", bound="BaseClient")


def resolve_secret(value: str | None, *, arg: str, env: str, what: str) -> str:
    """The credential from the argument, else the environment; never echoed back."""
    source = f"{arg}="
    if value is None:
        value = os.environ.get(env)
        source = f"${env}"
    if value is None:
        raise ConfigurationError(f"No {what} given: pass {arg}=... or set {env}")
    if not isinstance(value, str):
        raise ConfigurationError(f"{source} must be a string")
    if not value:
        raise ConfigurationError(f"{source} is empty; give the {what} itself")
    if any(ch.isspace() or ord(ch) < 32 or 127 <= ord(ch) <= 159 for ch in value):
        raise ConfigurationError(
            f"{source} contains whitespace or control characters; check how the {what} "
            "was copied (the value is not shown)"
        )
    return value


def resolve_base_url(value: str | None, *, arg: str, env: str, default: str) -> URL:
    if value is None:
        value = os.environ.get(env) or None
        arg = f"${env}" if value is not None else arg
    return check_base_url(default if value is None else value, arg)


def check_settings(**settings: object) -> None:
    """Client settings of the wrong type or range are a ``ConfigurationError`` here,
    not a ``TypeError`` (or a silent misbehaviour) at the first request."""
    for name, value in settings.items():
        rule = _SETTING_RULES[name]
        if not rule[0](value):
            raise ConfigurationError(
                f"{name} must be {rule[1]} (got a value of type {type(value).__name__})"
            )


def _whole(value: object) -> bool:
    return type(value) is int and value >= 1


def _optional(tp: type) -> Callable[[object], bool]:
    return lambda value: value is None or isinstance(value, tp)


_SETTING_RULES: Final[dict[str, tuple[Callable[[object], bool], str]]] = {
    "retry": (_optional(RetryPolicy), "an aiomsg.RetryPolicy or None"),
    "retry_budget": (_optional(RetryBudget), "an aiomsg.RetryBudget or None"),
    "min_tls_version": (lambda v: isinstance(v, ssl.TLSVersion), "an ssl.TLSVersion"),
    "connector_limit": (_whole, "a whole number, at least 1"),
    "max_response_size": (_whole, "a whole number of bytes, at least 1"),
    "on_request": (lambda v: v is None or callable(v), "a callable or None"),
    "trace_configs": (
        lambda v: (
            isinstance(v, list | tuple) and all(isinstance(t, aiohttp.TraceConfig) for t in v)
        ),
        "a list or tuple of aiohttp.TraceConfig",
    ),
    "rate_limit": (lambda v: isinstance(v, RateLimit), "an aiomsg.RateLimit"),
}
_SETTING_RULES["flows_rate_limit"] = _SETTING_RULES["rate_limit"]


class BaseClient:
    """Lifecycle and plumbing of a provider client. Use ``async with`` or ``aclose()``."""

    def __init__(
        self,
        *,
        timeout: Timeout | float | None,
        retry: RetryPolicy | None,
        retry_budget: RetryBudget | None,
        ssl_context: ssl.SSLContext | None,
        min_tls_version: ssl.TLSVersion,
        session: aiohttp.ClientSession | None,
        connector_limit: int,
        max_response_size: int,
        on_request: Callable[[RequestEvent], None] | None,
        trace_configs: Sequence[aiohttp.TraceConfig],
    ) -> None:
        check_settings(
            retry=retry, retry_budget=retry_budget, min_tls_version=min_tls_version,
            connector_limit=connector_limit, max_response_size=max_response_size,
            on_request=on_request, trace_configs=trace_configs,
        )  # fmt: skip
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise ConfigurationError("ssl must be an ssl.SSLContext")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise ConfigurationError("session must be an aiohttp.ClientSession")
        self._transport = Transport(
            timeout=Timeout.coerce(timeout),
            ssl_context=ssl_context,
            min_tls_version=min_tls_version,
            session=session,
            connector_limit=connector_limit,
            max_response_size=max_response_size,
            trace_configs=trace_configs,
        )
        self.retry_policy = retry or DEFAULT_RETRY_POLICY
        self.retry_budget = retry_budget if retry_budget is not None else RetryBudget()
        self.stats = CallStats()
        self._limiters = LimiterRegistry()
        self._on_request = on_request

    def _requester(self, base_url: URL, headers: Mapping[str, str], secret: str) -> Requester:
        return Requester(
            self._transport,
            Host(
                base_url,
                {"User-Agent": USER_AGENT, "Accept": "application/json", **headers},
                secrets=(secret,),
            ),
            policy=self.retry_policy,
            budget=self.retry_budget,
            limiters=self._limiters,
            stats=self.stats,
            on_request=self._on_request,
        )

    @property
    def closed(self) -> bool:
        """True once the client was closed (``aclose()`` or the end of ``async with``).

        Calls on a closed client raise ``ClientClosedError``.
        """
        return self._transport.closed

    async def aclose(self) -> None:
        """Close the client's session (not a session the caller passed in). Idempotent."""
        await self._transport.aclose()

    async def __aenter__(self: _C) -> _C:
        if self.closed:
            raise ClientClosedError()
        # anyio loads its event-loop backend on first use (about 15 ms): pay that
        # here, with the client's set-up, rather than inside the first call.
        await anyio.lowlevel.checkpoint()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
