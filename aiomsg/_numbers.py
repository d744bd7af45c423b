"""Number rules shared by client settings and call options.

Each check returns the value as a plain ``int`` or ``float`` (never a bool, a
``Decimal``, a string or a subclass whose operators may do anything else), or None
when the value breaks the rule. The caller raises its own error naming the setting
and the rule: ``ConfigurationError`` for a client setting, ``ValidationError`` for
an argument. An ``int`` too large for a float is refused here, once, rather than
raising ``OverflowError`` wherever it is first used as a float.
"""

from __future__ import annotations

import math
from typing import Final

from ._errors import ConfigurationError

__all__ = [
    "NON_NEGATIVE_SECONDS_RULE",
    "SECONDS_RULE",
    "duration",
    "real",
    "setting_error",
    "shown",
    "whole",
    "whole_rule",
]

SECONDS_RULE: Final = "a finite number of seconds, greater than 0"
NON_NEGATIVE_SECONDS_RULE: Final = "a finite number of seconds, 0 or more"


def real(value: object) -> int | float | None:
    """``value`` as a plain ``int`` or ``float`` when it is a finite real number that a
    float can hold; None otherwise (bool, str, ``Decimal``, nan, inf, 10**400)."""
    if isinstance(value, bool):
        return None
    number: int | float
    if isinstance(value, int):
        number = int.__int__(value)  # a subclass becomes its plain value
        try:
            float(number)
        except OverflowError:
            return None
        return number
    if isinstance(value, float):
        number = float.__float__(value)
        return number if math.isfinite(number) else None
    return None


def duration(value: object, *, zero: bool = False) -> int | float | None:
    """A duration: a finite number of seconds, greater than 0 (or 0 too, with ``zero``)."""
    number = real(value)
    if number is None or number < 0 or (number == 0 and not zero):
        return None
    return number


def whole(value: object, low: int, high: int | None = None) -> int | None:
    """A count: an ``int`` itself (not a bool, float, string or subclass) from ``low``
    to ``high`` (no upper bound when None)."""
    if type(value) is not int or value < low or (high is not None and value > high):
        return None
    return value


def whole_rule(low: int, high: int | None = None) -> str:
    """How ``whole`` reads in an error message."""
    if high is None:
        return f"a whole number, at least {low:,}"
    return f"a whole number from {low:,} to {high:,}"


def shown(value: object) -> str:
    """A short description of a refused number for an error message (a 400-digit int
    is described, not printed: str() of one would even raise ValueError)."""
    if type(value) is int and not -(10**15) < value < 10**15:
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"an int of about {digits:,} digits"
    if type(value) in (int, float):
        return repr(value)
    return f"a value of type {type(value).__name__}"


def setting_error(name: str, value: object, rule: str) -> ConfigurationError:
    """The error for a client setting that breaks ``rule``."""
    return ConfigurationError(f"{name} must be {rule} (got {shown(value)})")
