"""8x8 SMS endpoints: cancel scheduled messages, one by umid or a whole batch."""

from __future__ import annotations

from ._cancels import ScheduledCancels
from .routes import SMS_CANCEL_BATCH, SMS_CANCEL_MESSAGE

__all__ = ["Sms"]


class Sms(ScheduledCancels):
    """8x8 SMS API (``client.sms``): ``cancel_message``, ``cancel_batch`` and the bulk
    ``cancel_messages`` / ``stream_cancel_messages``."""

    scope = "sms"
    cancel_message_route = SMS_CANCEL_MESSAGE
    cancel_batch_route = SMS_CANCEL_BATCH
