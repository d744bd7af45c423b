"""aioresponses, made to work with the installed aiohttp, with a few helpers.

aioresponses 0.7.9 (the latest release) builds ``ClientResponse`` objects without the
``stream_writer`` argument that aiohttp 3.14 requires; its canned responses get a
writer that has already sent everything.
"""

from __future__ import annotations

import inspect
from typing import Any

import aiohttp
from aioresponses import aioresponses
from yarl import URL

_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(aiohttp.ClientResponse).parameters


class _SentWriter:
    output_size = 0


class _CompatResponse(aiohttp.ClientResponse):
    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        if _NEEDS_STREAM_WRITER:
            kwargs.setdefault("stream_writer", _SentWriter())
        super().__init__(method, url, **kwargs)


class MockHTTP(aioresponses):
    """aioresponses with helpers; a request with no registered answer fails loudly."""

    def add(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", _CompatResponse)
        super().add(*args, **kwargs)

    @property
    def count(self) -> int:
        """How many requests were made, matched or not."""
        return sum(len(calls) for calls in self.requests.values())

    def sent(self) -> list[tuple[str, URL, dict[str, Any]]]:
        """Every request made: (method, url, keyword arguments given to aiohttp)."""
        return [(m, u, call.kwargs) for (m, u), calls in self.requests.items() for call in calls]

    def only_request(self) -> tuple[str, URL, dict[str, Any]]:
        requests = self.sent()
        assert len(requests) == 1, requests
        return requests[0]
