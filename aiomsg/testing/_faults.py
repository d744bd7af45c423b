"""Fault injection: what can go wrong with a request, and which requests it hits."""

from __future__ import annotations

import datetime as _dt
import email.utils
import enum
import http
import math
import random
import socket
import struct
from asyncio import WriteTransport
from dataclasses import dataclass, field

from ._routing import ROUTES, match_routes

__all__ = ["Fault", "FaultKind", "FaultRule", "FaultRules", "reset_connection"]


class FaultKind(str, enum.Enum):
    """What a fault does to the request it hits."""

    STATUS = "status"
    """Answer with an HTTP error status (8x8's error body)."""
    RATE_LIMITED = "rate_limited"
    """Answer 429 with ``Retry-After``."""
    RESET_BEFORE_BODY = "reset_before_body"
    """Reset the connection before reading the request body; nothing happens."""
    RESET_AFTER_BODY = "reset_after_body"
    """Read the body (and by default act on it), then reset without answering."""
    STALL = "stall"
    """Hold the request for a while (past the client's timeout), then handle it."""
    TRUNCATED_BODY = "truncated_body"
    """Act on the request, then send only part of the answer's body."""
    NON_JSON_BODY = "non_json_body"
    """Answer with an HTML body instead of JSON."""
    TLS_VERSION = "tls_version"
    """Answer 426 with 8x8's code 1014, as for a client below TLS 1.3."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One kind of failure, built with the class methods (``Fault.status(503)``).

    ``process`` says whether the request takes effect (a message is created, a
    cancel lands) before the failure: True for failures that happen while
    answering (a reset after the body, a truncated answer), False for those
    that happen before the simulator acts on the request.
    """

    kind: FaultKind
    http_status: int = 0
    retry_after: str | None = None
    seconds: float = 0.0
    body: bytes | None = None
    process: bool = False
    http_date: bool = False
    detected: str = "TLSv1.2"

    @classmethod
    def status(cls, status: int, *, process: bool = False) -> Fault:
        """Answer ``status`` (400-599) with 8x8's error body (code 2000 for 5xx).

        With ``process=True`` the request takes effect first (the server acted,
        then failed while answering).
        """
        if not 400 <= status <= 599:
            raise ValueError("Fault.status() takes an error status from 400 to 599")
        return cls(kind=FaultKind.STATUS, http_status=status, process=process)

    @classmethod
    def rate_limited(
        cls, retry_after: float | _dt.datetime | str | None = 1, *, http_date: bool = False
    ) -> Fault:
        """Answer 429 with a ``Retry-After`` header.

        ``retry_after`` is seconds (sent as an integer when whole), an aware
        ``datetime`` (sent as an HTTP date), a raw header value (to test odd
        values), or None for no header. With ``http_date=True`` seconds are sent
        as the HTTP date that far from the moment the fault fires.
        """
        value: str | None
        seconds = 0.0
        if retry_after is None or isinstance(retry_after, str):
            value = retry_after
        elif isinstance(retry_after, _dt.datetime):
            if retry_after.tzinfo is None:
                raise ValueError("Fault.rate_limited() needs an aware datetime")
            value = email.utils.format_datetime(
                retry_after.astimezone(_dt.timezone.utc), usegmt=True
            )
        else:
            if not (retry_after >= 0 and math.isfinite(retry_after)):
                raise ValueError("Fault.rate_limited() takes seconds >= 0")
            seconds = float(retry_after)
            value = None if http_date else _seconds_text(seconds)
        return cls(
            kind=FaultKind.RATE_LIMITED,
            http_status=429,
            retry_after=value,
            seconds=seconds,
            http_date=http_date and value is None and retry_after is not None,
        )

    @classmethod
    def reset_before_body(cls) -> Fault:
        """Reset the connection before the request body is read; nothing is done."""
        return cls(kind=FaultKind.RESET_BEFORE_BODY)

    @classmethod
    def reset_after_body(cls, *, process: bool = True) -> Fault:
        """Read the request, act on it (unless ``process=False``), reset the connection."""
        return cls(kind=FaultKind.RESET_AFTER_BODY, process=process)

    @classmethod
    def stall(cls, seconds: float = 30.0) -> Fault:
        """Hold the request ``seconds`` (at most an hour) before handling it.

        Use it to outlast the client's timeout. Stopping the simulator ends the
        wait at once and drops the request without acting on it.
        """
        if not (0 < seconds <= 3600):
            raise ValueError("Fault.stall() takes 0 < seconds <= 3600")
        return cls(kind=FaultKind.STALL, seconds=float(seconds))

    @classmethod
    def truncated_body(cls) -> Fault:
        """Act on the request, then send half of the answer and close the connection."""
        return cls(kind=FaultKind.TRUNCATED_BODY, process=True)

    @classmethod
    def non_json_body(cls, status: int = 200, *, body: bytes | str | None = None) -> Fault:
        """Answer ``status`` with an HTML body; with a 2xx status the request takes effect."""
        if not 200 <= status <= 599:
            raise ValueError("Fault.non_json_body() takes a status from 200 to 599")
        raw = body.encode() if isinstance(body, str) else body
        if raw is None:  # what a proxy in front of an API typically sends
            try:
                phrase = http.HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            raw = f"<html><body><h1>{status} {phrase}</h1></body></html>".encode()
        return cls(
            kind=FaultKind.NON_JSON_BODY,
            http_status=status,
            body=raw,
            process=status < 300,
        )

    @classmethod
    def tls_version(cls, detected: str = "TLSv1.2") -> Fault:
        """Answer 426 with ``Upgrade: TLS/1.3`` and code 1014, whatever the connection."""
        return cls(kind=FaultKind.TLS_VERSION, http_status=426, detected=detected)

    def __repr__(self) -> str:
        parts = [self.kind.value]
        if self.http_status:
            parts.append(str(self.http_status))
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after!r}")
        if self.seconds:
            parts.append(f"seconds={self.seconds:g}")
        if self.http_date:
            parts.append("http_date")
        if self.process:
            parts.append("process")
        return f"Fault({', '.join(parts)})"


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if seconds == int(seconds) else f"{seconds:g}"


@dataclass(eq=False, slots=True)
class FaultRule:
    """An injected fault and which requests it hits; returned by ``Simulator.inject``.

    ``remaining`` is how many more times it may fire (None: no limit), ``hits``
    how many times it fired, ``seen`` how many matching requests it looked at.
    """

    fault: Fault
    route: str | None
    routes: tuple[str, ...]
    remaining: int | None
    probability: float | None
    after: int
    hits: int = 0
    seen: int = 0
    cancelled: bool = field(default=False)

    @property
    def active(self) -> bool:
        """Whether the rule can still fire."""
        return not self.cancelled and (self.remaining is None or self.remaining > 0)

    def cancel(self) -> None:
        """Stop the rule from firing again."""
        self.cancelled = True

    def _try_fire(self, route: str, rng: random.Random) -> bool:
        if not self.active or route not in self.routes:
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.probability is not None and rng.random() >= self.probability:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        self.hits += 1
        return True


class FaultRules:
    """The injected rules, in order; the first rule that fires decides the fault."""

    def __init__(self, seed: int | None) -> None:
        self.rules: list[FaultRule] = []
        self._rng = random.Random(seed)

    def add(
        self,
        fault: Fault,
        *,
        route: str | None,
        times: int | None,
        probability: float | None,
        after: int,
    ) -> FaultRule:
        if not isinstance(fault, Fault):
            raise TypeError("inject() takes a Fault (Fault.status(503), Fault.stall(), ...)")
        routes = ROUTES if route is None else match_routes(route)
        if not routes:
            known = ", ".join(ROUTES)
            raise ValueError(f"route {route!r} matches no endpoint; known routes: {known}")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if times is None and probability is None:
            times = 1
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for no limit)")
        if after < 0:
            raise ValueError("after must be >= 0")
        rule = FaultRule(fault, route, routes, times, probability, after)
        self.rules.append(rule)
        return rule

    def pick(self, route: str) -> Fault | None:
        for rule in self.rules:
            if rule._try_fire(route, self._rng):
                return rule.fault
        return None

    def clear(self) -> None:
        self.rules.clear()


def reset_connection(transport: WriteTransport) -> None:
    """Drop a connection with a TCP reset (RST), not an orderly close: what a peer
    sees when a server or a middlebox dies mid-request."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:  # pragma: no cover - platform dependent
            pass
    transport.abort()
