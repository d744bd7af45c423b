"""What the simulator saw: one record per request, secrets redacted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._faults import Fault

__all__ = ["RecordedRequest", "redact_headers"]

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
    """

    method: str
    path: str
    api: str | None
    route: str | None
    headers: dict[str, str]
    time: float
    tls_version: str | None = None
    raw_body: bytes = b""
    body: Any = None
    match: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    code: int | None = None
    error: str | None = None
    fault: Fault | None = None

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
