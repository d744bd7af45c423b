"""8x8 CPaaS: Chat Apps (LINE Notifications, cancels, WhatsApp Flows) and SMS."""

from .chatapps import ChatApps
from .client import (
    DEFAULT_REGION,
    ENV_API_KEY,
    ENV_CHATAPPS_URL,
    ENV_SMS_URL,
    REGIONS,
    EightByEight,
)
from .sms import Sms

__all__ = [
    "DEFAULT_REGION",
    "ENV_API_KEY",
    "ENV_CHATAPPS_URL",
    "ENV_SMS_URL",
    "REGIONS",
    "ChatApps",
    "EightByEight",
    "Sms",
]
