"""The 8x8 client: one session pool for the Chat Apps and SMS APIs of one region."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from typing import Final, Literal

import aiohttp

from .._client import BaseClient, check_settings, resolve_base_url, resolve_secret
from .._core import RequestEvent
from .._errors import ConfigurationError
from .._limits import DEFAULT_8X8_RATE_LIMIT, DEFAULT_FLOWS_RATE_LIMIT, RateLimit
from .._retry import RetryBudget, RetryPolicy
from .._transport import DEFAULT_CONNECTOR_LIMIT, DEFAULT_MAX_RESPONSE_SIZE, Timeout
from .chatapps import ChatApps
from .sms import Sms

__all__ = [
    "API_KEY_ENV",
    "CHATAPPS_URL_ENV",
    "REGIONS",
    "SMS_URL_ENV",
    "EightByEight",
    "Region",
]

Region = Literal["ap", "us", "eu", "id"]

REGIONS: Final[dict[str, tuple[str, str]]] = {
    "ap": ("https://chatapps.8x8.com", "https://sms.8x8.com"),
    "us": ("https://chatapps.us.8x8.com", "https://sms.us.8x8.com"),
    "eu": ("https://chatapps.8x8.uk", "https://sms.8x8.uk"),
    "id": ("https://chatapps.8x8.id", "https://sms.8x8.id"),
}
"""The (Chat Apps, SMS) hosts of each region, from the ``servers`` lists of 8x8's
OpenAPI specs."""

API_KEY_ENV: Final = "AIOMSG_8X8_API_KEY"
"""The environment variable holding the API key when ``api_key`` is not given."""
CHATAPPS_URL_ENV: Final = "AIOMSG_8X8_CHATAPPS_URL"
"""The environment variable holding the Chat Apps base URL when ``chatapps_url`` is not given."""
SMS_URL_ENV: Final = "AIOMSG_8X8_SMS_URL"
"""The environment variable holding the SMS base URL when ``sms_url`` is not given."""


class EightByEight(BaseClient):
    """Client for 8x8 CPaaS: ``client.chatapps`` and ``client.sms``.

    Open it with ``async with aiomsg.EightByEight() as client:`` (or call
    ``aclose()``): it holds one pooled HTTP session for both APIs. Every setting
    comes from the argument, else the environment, else the default.

    Args:
        api_key: Sent as a Bearer token (else ``$AIOMSG_8X8_API_KEY``).
        region: ``"ap"`` (default), ``"us"``, ``"eu"`` or ``"id"``: picks the hosts.
        chatapps_url: Chat Apps base URL (else ``$AIOMSG_8X8_CHATAPPS_URL``, else the
            region's host).
        sms_url: SMS base URL (else ``$AIOMSG_8X8_SMS_URL``, else the region's host).
        timeout: Per-attempt limits: a ``Timeout`` or a float (the total seconds of
            one attempt). Default ``Timeout()``: connect 10, read 30, total 60.
        retry: When and how often a call is repeated (default ``RetryPolicy()``:
            3 attempts, full-jitter backoff, ``Retry-After`` up to 60 s).
        retry_budget: The retry quota every call of this client draws from
            (default ``RetryBudget()``, 500 tokens).
        ssl: Your own ``ssl.SSLContext`` (to trust a private CA, say);
            certificates are always verified.
        min_tls_version: The oldest TLS version accepted: TLS 1.3, as 8x8 requires.
        session: A caller-owned ``aiohttp.ClientSession``: used, never closed; its
            connector's limits cap this client's concurrency, aiohttp's own silent
            retry is stopped for this client's requests (so attempts are exactly
            as configured), and trace configs belong on that session rather than
            in ``trace_configs=``.
        rate_limit: Pace and concurrency per sub-account, shared by every call
            (default 1,800 requests/s, 8x8's documented limit).
        flows_rate_limit: The same for WhatsApp Flow management (default 100 a
            minute per API key).
        connector_limit: Connections the client's own session may open at once.
        max_response_size: The largest answer body read, in bytes; a longer one
            raises ``APIResponseError``.
        on_request: Called with a ``RequestEvent`` after every attempt.
        trace_configs: aiohttp trace configs for the client's own session.

    Raises:
        ConfigurationError: A credential or base URL is missing or unusable, or
            an option is out of range.

    Example:
        ``async with aiomsg.EightByEight(region="eu") as client: ...``
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        region: Region | str = "ap",
        chatapps_url: str | None = None,
        sms_url: str | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        ssl: ssl.SSLContext | None = None,
        min_tls_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3,
        session: aiohttp.ClientSession | None = None,
        rate_limit: RateLimit = DEFAULT_8X8_RATE_LIMIT,
        flows_rate_limit: RateLimit = DEFAULT_FLOWS_RATE_LIMIT,
        connector_limit: int = DEFAULT_CONNECTOR_LIMIT,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        on_request: Callable[[RequestEvent], None] | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        key = resolve_secret(api_key, arg="api_key", env=API_KEY_ENV, what="8x8 API key")
        check_settings(rate_limit=rate_limit, flows_rate_limit=flows_rate_limit)
        if not isinstance(region, str) or region not in REGIONS:
            raise ConfigurationError(
                f"region must be one of {', '.join(REGIONS)} (got {str(region)[:10]!r})"
            )
        default_chatapps, default_sms = REGIONS[region]
        chatapps_base = resolve_base_url(
            chatapps_url, arg="chatapps_url", env=CHATAPPS_URL_ENV,
            default=default_chatapps,
        )  # fmt: skip
        sms_base = resolve_base_url(sms_url, arg="sms_url", env=SMS_URL_ENV, default=default_sms)
        super().__init__(
            timeout=timeout, retry=retry, retry_budget=retry_budget, ssl_context=ssl,
            min_tls_version=min_tls_version, session=session, connector_limit=connector_limit,
            max_response_size=max_response_size, on_request=on_request,
            trace_configs=trace_configs,
        )  # fmt: skip
        auth = {"Authorization": f"Bearer {key}"}
        self.region = region
        self.chatapps = ChatApps(
            self._requester(chatapps_base, auth, key),
            rate_limit=rate_limit,
            flows_rate_limit=flows_rate_limit,
        )
        self.sms = Sms(self._requester(sms_base, auth, key), rate_limit=rate_limit)

    def __repr__(self) -> str:
        return f"EightByEight(region={self.region!r}, chatapps={self.chatapps!r}, sms={self.sms!r})"
