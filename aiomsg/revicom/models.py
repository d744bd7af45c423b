"""Revicom request and response bodies as msgspec Structs."""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

__all__ = ["MAX_STOP_BATCH", "StopCode", "StopItem", "StopRequest", "StopResult"]

#: Revicom accepts at most 10,000 uuids per stop request.
MAX_STOP_BATCH: Final = 10_000


class StopCode:
    """Known per-item codes of a stop answer; others are kept as they arrive."""

    STOPPED: Final = 200
    """The message will be stopped."""
    MAYBE_STOPPED: Final = 202
    """The message is being sent or is generating a cascade: it may not stop."""
    NOT_STOPPABLE: Final = 403
    """The message is being sent or was already sent."""
    NOT_FOUND: Final = 404
    """No such message."""


class StopRequest(msgspec.Struct, kw_only=True, frozen=True):
    """Body of ``POST /api/v1/message/stop``."""

    uuids: list[str]


class StopItem(msgspec.Struct, kw_only=True, frozen=True, rename="camel", gc=False):
    """The outcome for one uuid; ``code`` is one of ``StopCode`` or a newer value.

    Codes are HTTP-style, at most three digits: a negative one or one over 999
    (-200, a 24-digit number) cannot be right, and the answer fails to decode
    (``APIResponseError``)."""

    message_uuid: str
    code: Annotated[int, msgspec.Meta(ge=0, le=999)]


class StopResult(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """Answer to a stop: ``errors`` is true when some item could not be stopped.

    ``Revicom.stop_batch`` checks the answer against the uuids it asked about:
    ``items`` then holds one answer per uuid asked, ``extra_items`` the answers for
    uuids never asked (taken out of ``items``) and ``missing`` the uuids asked that
    the answer did not mention (their fate is unknown). Neither comes from the wire.
    """

    errors: bool = False
    items: list[StopItem] = msgspec.field(default_factory=list)
    extra_items: list[StopItem] = msgspec.field(default_factory=list)
    missing: list[str] = msgspec.field(default_factory=list)


class _StoppedItem(StopItem, kw_only=True, frozen=True):
    code: Literal[200]


class _AllStopped(StopResult, kw_only=True, frozen=True):
    """A stop answer whose every item is 200: the decoder checks each code, so no
    pass over them is needed. Any other answer fails to decode as this and is read
    as ``StopResult``."""

    # Read only, never handed out: the narrower item type is safe here.
    items: list[_StoppedItem] = msgspec.field(default_factory=list)  # type: ignore[assignment]
