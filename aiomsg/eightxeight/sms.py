"""8x8 SMS endpoints: cancel scheduled messages, one by umid or a whole batch."""

from __future__ import annotations

from ._cancels import ScheduledCancels

__all__ = ["Sms"]


class Sms(ScheduledCancels):
    """8x8 SMS API (``client.sms``): ``cancel_message``, ``cancel_batch`` and the bulk
    ``cancel_messages`` / ``stream_cancel_messages``."""

    scope = "sms"
