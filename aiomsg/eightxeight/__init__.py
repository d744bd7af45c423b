"""8x8 CPaaS: Chat Apps (LINE Notifications, cancels, WhatsApp Flows) and SMS."""

from .chatapps import ChatApps
from .client import REGIONS, EightByEight
from .sms import Sms

__all__ = ["REGIONS", "ChatApps", "EightByEight", "Sms"]
