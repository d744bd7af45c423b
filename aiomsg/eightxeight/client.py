"""The 8x8 client: one session pool for the Chat Apps and SMS APIs of one region."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from typing import Final, Literal

import aiohttp

from .._client import BaseClient, BaseUrl, Credential
from .._core import RequestEvent
from .._errors import ConfigurationError
from .._limits import DEFAULT_8X8_RATE_LIMIT, DEFAULT_FLOWS_RATE_LIMIT, RateLimit
from .._retry import RetryBudget, RetryPolicy
from .._transport import DEFAULT_CONNECTOR_LIMIT, DEFAULT_MAX_RESPONSE_SIZE, Timeout
from .chatapps import ChatApps
from .sms import Sms

__all__ = [
    "DEFAULT_REGION",
    "ENV_API_KEY",
    "ENV_CHATAPPS_URL",
    "ENV_SMS_URL",
    "REGIONS",
    "EightByEight",
    "Region",
]

Region = Literal["ap", "us", "eu", "id"]

#: Hosts per region, from the ``servers`` lists of 8x8's OpenAPI specs.
REGIONS: Final[dict[str, tuple[str, str]]] = {
    "ap": ("https://chatapps.8x8.com", "https://sms.8x8.com"),
    "us": ("https://chatapps.us.8x8.com", "https://sms.us.8x8.com"),
    "eu": ("https://chatapps.8x8.uk", "https://sms.8x8.uk"),
    "id": ("https://chatapps.8x8.id", "https://sms.8x8.id"),
}
#: The region used when none is given.
DEFAULT_REGION: Final = "ap"
#: The environment variable read when ``api_key=`` is not given.
ENV_API_KEY: Final = "AIOMSG_8X8_API_KEY"
#: The environment variable read when ``chatapps_url=`` is not given.
ENV_CHATAPPS_URL: Final = "AIOMSG_8X8_CHATAPPS_URL"
#: The environment variable read when ``sms_url=`` is not given.
ENV_SMS_URL: Final = "AIOMSG_8X8_SMS_URL"

_API_KEY: Final = Credential(arg="api_key", env=ENV_API_KEY, what="8x8 API key", scheme="Bearer")
_CHATAPPS_URL: Final = BaseUrl(arg="chatapps_url", env=ENV_CHATAPPS_URL)
_SMS_URL: Final = BaseUrl(arg="sms_url", env=ENV_SMS_URL)


class EightByEight(BaseClient):
    """Client for 8x8 CPaaS: ``client.chatapps`` and ``client.sms``.

    Open it with ``async with aiomsg.EightByEight() as client:`` (or call
    ``aclose()``): it holds one pooled HTTP session for both APIs. Every setting
    comes from the argument, else the environment, else the default. Besides the
    arguments below it takes the options every client shares (timeouts, retries,
    TLS, session, connection and size limits, request hooks), described with the
    client options.

    Args:
        api_key: Sent as a Bearer token (else ``$AIOMSG_8X8_API_KEY``).
        region: ``"ap"`` (default), ``"us"``, ``"eu"`` or ``"id"``: picks the hosts.
        chatapps_url: Chat Apps base URL (else ``$AIOMSG_8X8_CHATAPPS_URL``, else the
            region's host).
        sms_url: SMS base URL (else ``$AIOMSG_8X8_SMS_URL``, else the region's host).
        rate_limit: Pace and concurrency per sub-account, shared by every call
            (default 1,800 requests/s, 8x8's documented limit).
        flows_rate_limit: The same for WhatsApp Flow management (default 100 a
            minute per API key).

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
        region: Region | str = DEFAULT_REGION,
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
        super().__init__(
            credential=_API_KEY, secret=api_key,
            rate_limits={"rate_limit": rate_limit, "flows_rate_limit": flows_rate_limit},
            timeout=timeout, retry=retry, retry_budget=retry_budget, ssl=ssl,
            min_tls_version=min_tls_version, session=session, connector_limit=connector_limit,
            max_response_size=max_response_size, on_request=on_request,
            trace_configs=trace_configs,
        )  # fmt: skip
        if not isinstance(region, str) or region not in REGIONS:
            raise ConfigurationError(
                f"region must be one of {', '.join(REGIONS)} (got {str(region)[:10]!r})"
            )
        default_chatapps, default_sms = REGIONS[region]
        self.region = region
        self.chatapps = ChatApps(
            self._requester(_CHATAPPS_URL.resolve(chatapps_url, default_chatapps)),
            rate_limit=rate_limit,
            flows_rate_limit=flows_rate_limit,
        )
        self.sms = Sms(
            self._requester(_SMS_URL.resolve(sms_url, default_sms)), rate_limit=rate_limit
        )

    def __repr__(self) -> str:
        return f"EightByEight(region={self.region!r}, chatapps={self.chatapps!r}, sms={self.sms!r})"
