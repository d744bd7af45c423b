"""What every provider client shares: its options, the session pool and the lifecycle.

Settings come from the argument, else the environment (``AIOMSG_*``), else a
default; a missing credential is an error naming both ways to give it. A provider
client adds only what is its own: its ``Credential``, its ``BaseUrl`` settings
with their defaults, and its rate limits; every other option, its checks and its
documentation live here, once (``BaseClient``'s docstring is appended to each
client's own ``Args:`` section).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from ssl import SSLContext, TLSVersion
from types import TracebackType
from typing import Any, Final, TypeVar

import aiohttp
import anyio.lowlevel
from yarl import URL

from ._core import CallStats, Requester, RequestEvent
from ._errors import ClientClosedError, ConfigurationError
from ._limits import LimiterRegistry, RateLimit
from ._redact import hold_secrets
from ._retry import DEFAULT_RETRY_POLICY, RetryBudget, RetryPolicy
from ._transport import (
    Host,
    Timeout,
    Transport,
    check_base_url,
)
from ._version import __version__

__all__ = [
    "BaseClient",
    "BaseUrl",
    "Credential",
    "check_settings",
    "resolve_base_url",
    "resolve_secret",
]

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
    if not value.isascii():
        # It goes in the Authorization header: aiohttp would send other characters
        # as raw bytes, and drop a lone surrogate, sending another credential.
        raise ConfigurationError(
            f"{source} contains a character that cannot go in an HTTP header (only "
            f"printable ASCII); check how the {what} was copied (the value is not shown)"
        )
    return value


def resolve_base_url(value: str | None, *, arg: str, env: str, default: str) -> URL:
    if value is None:
        value = os.environ.get(env) or None
        arg = f"${env}" if value is not None else arg
    return check_base_url(default if value is None else value, arg)


@dataclass(frozen=True, slots=True)
class Credential:
    """A provider's secret: the keyword that takes it, the variable that stands in for
    it, what to call it in errors, and the ``Authorization`` scheme it is sent with."""

    arg: str
    env: str
    what: str
    scheme: str

    def resolve(self, value: str | None) -> str:
        return resolve_secret(value, arg=self.arg, env=self.env, what=self.what)


@dataclass(frozen=True, slots=True)
class BaseUrl:
    """A base-URL setting: the keyword that takes it and the variable that stands in."""

    arg: str
    env: str

    def resolve(self, value: str | None, default: str) -> URL:
        return resolve_base_url(value, arg=self.arg, env=self.env, default=default)


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
    "min_tls_version": (lambda v: isinstance(v, TLSVersion), "an ssl.TLSVersion"),
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
    """The options every client takes, and its lifecycle: use ``async with`` or ``aclose()``.

    ``aiomsg.EightByEight`` and ``aiomsg.Revicom`` take these keyword options besides
    their own credential, base URLs and rate limits. Each holds one pooled HTTP
    session, opened on first use.

    Args:
        timeout: Per-attempt limits: a ``Timeout`` or a float (the total seconds of
            one attempt). Default ``Timeout()``: connect 10, read 30, total 60.
        retry: When and how often a call is repeated (default ``RetryPolicy()``:
            3 attempts, full-jitter backoff, ``Retry-After`` up to 60 s).
        retry_budget: The retry quota every call of this client draws from
            (default ``RetryBudget()``, 500 tokens).
        ssl: Your own ``ssl.SSLContext`` (to trust a private CA, say);
            certificates are always verified.
        min_tls_version: The oldest TLS version accepted (default: what the
            provider requires, TLS 1.3 for 8x8 and TLS 1.2 for Revicom).
        session: A caller-owned ``aiohttp.ClientSession``: used, never closed; its
            connector's limits cap this client's concurrency, aiohttp's own silent
            retry is stopped for this client's requests (so attempts are exactly
            as configured), and trace configs belong on that session rather than
            in ``trace_configs=``.
        connector_limit: Connections the client's own session may open at once.
        max_response_size: The largest answer body read, in bytes; a longer one
            raises ``APIResponseError``.
        on_request: Called with a ``RequestEvent`` after every attempt.
        trace_configs: aiohttp trace configs for the client's own session.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__doc__")
        if own:
            cls.__doc__ = with_shared_options(own)

    def __init__(
        self,
        *,
        credential: Credential,
        secret: str | None,
        rate_limits: Mapping[str, RateLimit],
        timeout: Timeout | float | None,
        retry: RetryPolicy | None,
        retry_budget: RetryBudget | None,
        ssl: SSLContext | None,
        min_tls_version: TLSVersion,
        session: aiohttp.ClientSession | None,
        connector_limit: int,
        max_response_size: int,
        on_request: Callable[[RequestEvent], None] | None,
        trace_configs: Sequence[aiohttp.TraceConfig],
    ) -> None:
        secret = credential.resolve(secret)
        check_settings(
            **rate_limits, retry=retry, retry_budget=retry_budget,
            min_tls_version=min_tls_version, connector_limit=connector_limit,
            max_response_size=max_response_size, on_request=on_request,
            trace_configs=trace_configs,
        )  # fmt: skip
        if ssl is not None and not isinstance(ssl, SSLContext):
            raise ConfigurationError("ssl must be an ssl.SSLContext")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise ConfigurationError("session must be an aiohttp.ClientSession")
        self._transport = Transport(
            timeout=Timeout.coerce(timeout),
            ssl_context=ssl,
            min_tls_version=min_tls_version,
            session=session,
            connector_limit=connector_limit,
            max_response_size=max_response_size,
            trace_configs=trace_configs,
        )
        self._secret = secret
        hold_secrets(self, (secret,))
        self._auth_header = f"{credential.scheme} {secret}"
        self.retry_policy = retry or DEFAULT_RETRY_POLICY
        self.retry_budget = retry_budget if retry_budget is not None else RetryBudget()
        self.stats = CallStats()
        self._limiters = LimiterRegistry()
        self._on_request = on_request

    def _requester(self, base_url: URL) -> Requester:
        """Calls to one of the provider's APIs, authenticated with the client's credential."""
        return Requester(
            self._transport,
            Host(
                base_url,
                {
                    "User-Agent": USER_AGENT,
                    "Accept": "application/json",
                    "Authorization": self._auth_header,
                },
                secrets=(self._secret,),
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


_ARGS: Final = re.compile(r"^(?P<indent>[ ]*)Args:\n(?P<entries>(?:(?P=indent)[ ]+\S.*\n)+)", re.M)


def shared_options_doc() -> str:
    """The ``Args:`` entries of ``BaseClient``'s docstring, dedented one level."""
    found = _ARGS.search(BaseClient.__doc__ or "")
    if found is None:  # pragma: no cover - the docstring above has them
        raise AssertionError("BaseClient's docstring lost its Args: section")
    indent = len(found["indent"])
    return "".join(line[indent:] + "\n" for line in found["entries"].splitlines())


def with_shared_options(doc: str) -> str:
    """``doc`` with the shared options appended to its ``Args:`` section, so ``help()``
    on a client shows every keyword it takes; the text itself is written once, above."""
    found = _ARGS.search(doc)
    if found is None:
        return doc
    indent = found["indent"]
    shared = "".join(f"{indent}{line}\n" for line in shared_options_doc().splitlines())
    return doc[: found.end()] + shared + doc[found.end() :]
