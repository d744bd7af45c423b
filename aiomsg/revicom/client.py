"""The Revicom client: stop messages by uuid."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Sequence
from typing import Final

import aiohttp

from .._client import BaseClient, resolve_base_url, resolve_secret
from .._codec import encode
from .._core import RequestEvent, Route
from .._errors import ValidationError
from .._limits import DEFAULT_REVICOM_RATE_LIMIT, RateLimit
from .._retry import CallKind, RetryBudget, RetryPolicy
from .._transport import DEFAULT_CONNECTOR_LIMIT, DEFAULT_MAX_RESPONSE_SIZE, Timeout
from .._validation import check_count, check_uuids
from .models import MAX_STOP_BATCH, StopRequest, StopResult

__all__ = ["DEFAULT_REVICOM_URL", "Revicom"]

DEFAULT_REVICOM_URL: Final = "https://direct.revicom.ltd"

# Stopping is idempotent: a repeated stop of the same uuid changes nothing more.
STOP: Final = Route("POST", "/api/v1/message/stop", CallKind.IDEMPOTENT)


class Revicom(BaseClient):
    """Client for Revicom's message-stop API.

    ``token`` (else ``$AIOMSG_REVICOM_TOKEN``) is sent as ``Authorization: Basic
    {token}``; ``base_url`` (else ``$AIOMSG_REVICOM_URL``) overrides the host.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        ssl: ssl.SSLContext | None = None,
        min_tls_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
        session: aiohttp.ClientSession | None = None,
        rate_limit: RateLimit = DEFAULT_REVICOM_RATE_LIMIT,
        connector_limit: int = DEFAULT_CONNECTOR_LIMIT,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        on_request: Callable[[RequestEvent], None] | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        secret = resolve_secret(
            token, arg="token", env="AIOMSG_REVICOM_TOKEN", what="Revicom token"
        )
        base = resolve_base_url(
            base_url, arg="base_url", env="AIOMSG_REVICOM_URL", default=DEFAULT_REVICOM_URL
        )
        super().__init__(
            timeout=timeout, retry=retry, retry_budget=retry_budget, ssl_context=ssl,
            min_tls_version=min_tls_version, session=session, connector_limit=connector_limit,
            max_response_size=max_response_size, on_request=on_request,
            trace_configs=trace_configs,
        )  # fmt: skip
        self._api = self._requester(base, {"Authorization": f"Basic {secret}"})
        self._rate_limit = rate_limit

    def __repr__(self) -> str:
        return f"Revicom({self._api.host!r})"

    async def stop_batch(self, uuids: Iterable[str]) -> StopResult:
        """Stop up to 10,000 messages in one request; duplicates are sent once.

        ``POST /api/v1/message/stop``. Stopping a cascade's root stops the cascade;
        the change takes a few seconds to show in message states.
        """
        if isinstance(uuids, str | bytes):
            raise ValidationError("uuids", "is a single string", "a list of uuid strings")
        items = list(uuids)
        check_uuids(items, "uuids")
        unique = list(dict.fromkeys(items))
        check_count("uuids", len(unique), 1, MAX_STOP_BATCH)
        return await self.stop_prepared(unique)

    async def stop_prepared(self, uuids: list[str]) -> StopResult:
        """Send a stop for uuids already checked and de-duplicated."""
        body = encode(StopRequest(uuids=uuids))
        return await self._api.call_decoded(
            STOP, STOP.template, body, StopResult, scope="revicom", limit=self._rate_limit
        )
