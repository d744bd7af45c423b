"""What the simulator saw: one record per request, secrets redacted."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from ._faults import Fault

__all__ = ["DEFAULT_REQUEST_LOG_BYTES", "RecordedRequest", "RequestLog", "redact_headers"]

#: Bytes each request log may hold (the log of every request and the log of unknown
#: routes, so at most twice this together): 10,000 stops of 10,000 uuids would
#: otherwise hold gigabytes.
DEFAULT_REQUEST_LOG_BYTES: Final = 32 * 1024 * 1024

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers with credentials replaced: ``Bearer ***``, ``Basic ***``."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            scheme, _, rest = value.partition(" ")
            value = f"{scheme} ***" if rest else "***"
        out[name] = value
    return out


@dataclass(eq=False, slots=True)
class RecordedRequest:
    """One request as the simulator received and answered it.

    ``path`` is the raw path as received (with the API prefix such as ``/sms``);
    ``api_path`` is the same without the prefix. ``api`` and ``route`` name the
    endpoint (None for an unknown route). ``body`` is the decoded JSON (None when
    empty, not JSON, or never read). ``status`` is the answer's status, None while
    the request is in progress or when no answer was sent (a reset, a stall the
    simulator stopped during). ``code`` is the provider error code of the answer and
    ``error`` why the simulator refused the request. ``fault`` is the injected
    fault that hit it; ``time`` the simulated time it arrived.

    Only the raw body is kept; ``body`` decodes it on each access, so that a log of
    large requests holds their bytes once, not a second time as Python objects.
    """

    method: str
    path: str
    api: str | None
    route: str | None
    headers: dict[str, str]
    time: float
    tls_version: str | None = None
    raw_body: bytes = b""
    match: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    code: int | None = None
    error: str | None = None
    fault: Fault | None = None

    @property
    def body(self) -> Any:
        """The body decoded from JSON; None when empty or not JSON."""
        if not self.raw_body:
            return None
        try:
            return msgspec.json.decode(self.raw_body)
        except (msgspec.DecodeError, RecursionError):
            return None

    def footprint(self) -> int:
        """Bytes this record holds in memory (what a request log's bound counts)."""
        size = sys.getsizeof(self) + sys.getsizeof(self.raw_body) + sys.getsizeof(self.path)
        for mapping in (self.headers, self.match):
            size += sys.getsizeof(mapping)
            size += sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in mapping.items())
        return size

    @property
    def api_path(self) -> str:
        """``path`` without the simulator's API prefix (``/api/v1/...``)."""
        if self.api is not None and self.path.startswith(f"/{self.api}/"):
            return self.path[len(self.api) + 1 :]
        return self.path

    def __repr__(self) -> str:
        where = self.route or "unknown route"
        extra = f", fault={self.fault!r}" if self.fault is not None else ""
        return (
            f"RecordedRequest({self.method} {self.path} -> {self.status}, {where}"
            f"{', code=' + str(self.code) if self.code is not None else ''}{extra})"
        )


class RequestLog:
    """A request log bounded in records and in bytes, dropping the oldest first.

    ``records`` is the list users read (``sim.requests``); ``dropped`` counts the
    records the bounds removed. A record larger than ``max_bytes`` on its own is
    not kept.
    """

    __slots__ = ("_sizes", "bytes", "dropped", "max_bytes", "max_count", "records")

    def __init__(self, max_count: int | None, max_bytes: int | None) -> None:
        self.records: list[RecordedRequest] = []
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.bytes = 0
        self.dropped = 0
        self._sizes: list[int] = []

    def add(self, rec: RecordedRequest) -> None:
        if len(self._sizes) != len(self.records):
            # The list was changed from outside (``sim.requests.clear()``): recount.
            self._sizes = [r.footprint() for r in self.records]
            self.bytes = sum(self._sizes)
        size = rec.footprint()
        self.records.append(rec)
        self._sizes.append(size)
        self.bytes += size
        drop = 0
        over_count = 0 if self.max_count is None else len(self.records) - self.max_count
        spare = self.bytes - self.max_bytes if self.max_bytes is not None else 0
        while drop < len(self._sizes) and (drop < over_count or spare > 0):
            spare -= self._sizes[drop]
            self.bytes -= self._sizes[drop]
            drop += 1
        if drop:
            del self.records[:drop]
            del self._sizes[:drop]
            self.dropped += drop

    def clear(self) -> None:
        self.records.clear()
        self._sizes.clear()
        self.bytes = 0
