"""What is retried, when, and how long to wait.

Two kinds of call exist. Idempotent ones (every DELETE cancel, the flow delete and
the Revicom stop, which only moves messages toward "stopped") are repeated after
connection errors, timeouts, 429 and 502/503/504. A LINE send is a POST that 8x8
does not de-duplicate, so it is repeated only when the request provably never
reached the server: the connection could not be opened, or the answer was 429.

Waits use exponential backoff with full jitter; a ``Retry-After`` on a retryable
answer sets the minimum, and one too long for the policy or the call's deadline ends
the call at once (nobody sleeps past a deadline). A client-wide ``RetryBudget``
(after botocore's retry quota) stops an outage from turning into a retry storm:
retries spend tokens, successes earn them back.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import enum
import math
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    TLSHandshakeError,
    TLSVersionError,
)
from ._numbers import (
    NON_NEGATIVE_SECONDS_RULE,
    SECONDS_RULE,
    duration,
    setting_error,
    whole,
    whole_rule,
)

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "MIN_ATTEMPT_TIME",
    "RETRYABLE_STATUSES",
    "CallKind",
    "RetryBudget",
    "RetryPolicy",
    "backoff_delay",
    "is_retryable",
    "may_have_been_taken",
    "parse_retry_after",
    "retry_delay",
]

RETRYABLE_STATUSES: Final = frozenset({429, 502, 503, 504})
#: Waking up with less than this left of the deadline would only time out: give up.
MIN_ATTEMPT_TIME: Final = 0.01
# RFC 9110 delta-seconds is 1*DIGIT, of any length; a decimal fraction is tolerated.
# ASCII digits only: float() would also take "inf", "nan", "1e400", "-1", "1_0" and
# non-ASCII digits. (aiohttp bounds a header's length, so the digits are bounded too.)
_DELTA_SECONDS_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?")
#: A valid hint too large for a float (hundreds of digits) is kept as this.
_LONGEST_HINT: Final = sys.float_info.max


class CallKind(enum.Enum):
    """How safe a call is to repeat."""

    IDEMPOTENT = "idempotent"
    """Repeating it cannot do harm (cancels, deletes, Revicom stop)."""
    SEND_ONCE = "send_once"
    """Repeat only when the request provably never reached the server (LINE sends)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """When and how often a call is repeated.

    ``max_attempts`` counts every attempt, the first included. ``deadline`` bounds a
    whole call, waits included (``None``: only the attempts bound it). A
    ``Retry-After`` longer than ``max_retry_after`` or than what is left of the
    deadline raises ``RateLimitError`` at once instead of sleeping.
    """

    max_attempts: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_retry_after: float = 60.0
    deadline: float | None = None

    def __post_init__(self) -> None:
        if whole(self.max_attempts, 1) is None:
            raise setting_error("RetryPolicy.max_attempts", self.max_attempts, whole_rule(1))
        for name in ("backoff_base", "backoff_cap", "max_retry_after"):
            value = getattr(self, name)
            number = duration(value, zero=True)
            if number is None:
                raise setting_error(f"RetryPolicy.{name}", value, NON_NEGATIVE_SECONDS_RULE)
            object.__setattr__(self, name, number)
        if self.deadline is not None:
            deadline = duration(self.deadline)
            if deadline is None:
                raise setting_error(
                    "RetryPolicy.deadline", self.deadline, f"{SECONDS_RULE}, or None"
                )
            object.__setattr__(self, "deadline", deadline)


DEFAULT_RETRY_POLICY: Final = RetryPolicy()


def backoff_delay(
    policy: RetryPolicy, retry_number: int, rand: Callable[[], float] = random.random
) -> float:
    """Full-jitter delay before retry ``retry_number`` (1 for the first retry)."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2.0 ** min(retry_number - 1, 62))
    return ceiling * rand()


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` value; None for absent or garbage.

    Accepts delta-seconds (any number of digits, a decimal fraction tolerated) and
    HTTP dates (a date in the past means 0, one days ahead its distance). A valid hint
    is kept however large, so that a call can give up at once when it exceeds what
    the policy accepts; one too large for a float is kept as the largest float.
    Signs, exponents, ``inf``/``nan``, letters and unparsable dates are garbage: the
    caller falls back to its own backoff.
    """
    if not value:
        return None
    text = value.strip()
    if _DELTA_SECONDS_RE.fullmatch(text):
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # asctime form or "-0000": HTTP dates are always GMT
            when = when.replace(tzinfo=_dt.timezone.utc)
        seconds = max(0.0, when.timestamp() - now())
    return seconds if math.isfinite(seconds) else _LONGEST_HINT


def may_have_been_taken(exc: APIError) -> bool:
    """Whether a failed attempt may still have been acted on by the provider.

    A refusal (a 4xx) or a request that provably never left is a sure "no"; a reset,
    a timeout, a 5xx, a redirect (servers redirect after processing a POST too) or an
    unreadable success answer leave it open.
    """
    if isinstance(exc, APIStatusError):
        return not 400 <= exc.status_code < 500
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    return True


def is_retryable(exc: APIError, kind: CallKind) -> bool:
    """Whether a failed attempt of a call of ``kind`` may be repeated."""
    if isinstance(exc, APIStatusError):
        if isinstance(exc, TLSVersionError):  # code 1014 can come with any status
            return False
        if kind is CallKind.SEND_ONCE:
            return exc.status_code == 429
        return exc.status_code in RETRYABLE_STATUSES
    if isinstance(exc, TLSHandshakeError):
        return False
    if isinstance(exc, APIConnectionError):
        if kind is CallKind.SEND_ONCE:
            return not exc.request_sent
        return True
    return False


def retry_delay(
    error: APIError,
    kind: CallKind,
    policy: RetryPolicy,
    attempt: int,
    remaining: float | None,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to sleep after failed attempt number ``attempt``, or None to give up.

    ``remaining`` is what is left of the call's deadline (None: no deadline). The
    wait is the backoff, or the answer's ``Retry-After`` when that is longer; a
    ``Retry-After`` beyond ``policy.max_retry_after`` or the deadline, or any wait
    that would reach the deadline, means give up now rather than sleep in vain.
    """
    if attempt >= policy.max_attempts or not is_retryable(error, kind):
        return None
    delay = backoff_delay(policy, attempt, rand)
    if isinstance(error, APIStatusError) and error.retry_after is not None:
        hint = error.retry_after
        if hint > policy.max_retry_after or (
            remaining is not None and hint >= remaining - MIN_ATTEMPT_TIME
        ):
            return None
        delay = max(delay, hint)
    if remaining is not None and delay >= remaining - MIN_ATTEMPT_TIME:
        return None
    return delay


class RetryBudget:
    """A client-wide token bucket that every retry draws from (botocore's retry quota).

    A retry costs ``retry_cost`` tokens (``timeout_cost`` after a timeout); every
    successful call returns ``success_refill``. With the bucket empty, failures are
    raised at once instead of retried, so an outage is not multiplied by retries.
    """

    def __init__(
        self,
        capacity: int = 500,
        *,
        retry_cost: int = 5,
        timeout_cost: int = 10,
        success_refill: int = 1,
    ) -> None:
        for name, value in (
            ("capacity", capacity),
            ("retry_cost", retry_cost),
            ("timeout_cost", timeout_cost),
            ("success_refill", success_refill),
        ):
            if whole(value, 0) is None:
                raise setting_error(f"RetryBudget.{name}", value, whole_rule(0))
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.success_refill = success_refill
        self._tokens = capacity

    @property
    def tokens(self) -> int:
        """Tokens left: a retry is allowed while its cost is at most this."""
        return self._tokens

    def try_spend(self, exc: APIError) -> bool:
        """Take the cost of retrying after ``exc``; False when the budget cannot pay."""
        cost = self.timeout_cost if isinstance(exc, APITimeoutError) else self.retry_cost
        if cost > self._tokens:
            return False
        self._tokens -= cost
        return True

    def refill(self) -> None:
        """Return ``success_refill`` tokens after a successful call (up to ``capacity``)."""
        self._tokens = min(self.capacity, self._tokens + self.success_refill)

    def __repr__(self) -> str:
        return f"RetryBudget(tokens={self._tokens}, capacity={self.capacity})"
