"""Every Revicom endpoint aiomsg calls, declared once (see ``aiomsg.eightxeight.routes``
for what a route holds)."""

from __future__ import annotations

from typing import Final

from .._core import Route
from .._retry import CallKind

__all__ = ["API", "ROUTES", "STOP"]

API: Final = "revicom"
"""The Revicom API's name (the simulator serves it under ``/revicom``)."""

STOP: Final = Route("POST", "/api/v1/message/stop", CallKind.IDEMPOTENT, api=API, name="stop")
"""Stop messages by uuid. Idempotent: a repeated stop of the same uuid changes nothing more."""

ROUTES: Final[tuple[Route, ...]] = (STOP,)
"""Every Revicom route aiomsg calls."""
