"""Input rules checked before any I/O; each failure is a ``ValidationError``.

The patterns come from 8x8's OpenAPI specs (subAccountId, accountId) and the API
pages (uuid identifiers, length limits). Checks are plain functions so models,
endpoint coroutines and the bulk layer share one definition of every rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import islice
from operator import length_hint
from typing import Final, TypeVar
from urllib.parse import quote

from ._errors import ValidationError, redact_text

SUB_ACCOUNT_ID_RULE: Final = "3 to 50 characters from A-Z a-z 0-9 - . _ &"
_SUB_ACCOUNT_ID_RE: Final = re.compile(r"[A-Za-z0-9\-._&]{3,50}")

# 8x8 documents accountId as 32-36 hex characters with optional dashes.
ACCOUNT_ID_RULE: Final = "a uuid: 32 hex digits, dashes optional (32 to 36 characters)"
_ACCOUNT_ID_RE: Final = re.compile(r"[0-9A-Fa-f]{8}-?(?:[0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}")

UUID_RULE: Final = "a uuid such as 3fa85f64-5717-4562-b3fc-2c963f66afa6"
_UUID_RE: Final = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)

SEGMENT_RULE: Final = "non-empty, no whitespace or control characters, not '.' or '..'"
_BAD_SEGMENT_CHARS_RE: Final = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")

E164_RULE: Final = "E.164: '+' then 7 to 15 digits, first digit not 0"
_E164_RE: Final = re.compile(r"\+[1-9][0-9]{6,14}")
NATIONAL_RULE: Final = "E.164, or 4 to 15 national digits together with user.country"
_NATIONAL_RE: Final = re.compile(r"[0-9]{4,15}")

COUNTRY_RULE: Final = "two letters, ISO 3166-1 alpha-2 (SG, GB)"
_COUNTRY_RE: Final = re.compile(r"[A-Za-z]{2}")

# 8x8's schema sets no length on channelUserId but refuses an empty one (400, code
# 3002); 100 characters is far above any LINE or WhatsApp user id.
CHANNEL_USER_ID_RULE: Final = "1 to 100 characters, not all whitespace"

URL_RULE: Final = (
    "an absolute http:// or https:// URL of RFC 3986 characters (ASCII; no spaces, "
    'control characters or < > " { } | \\ ^ `; others percent-encoded as %XX)'
)
# 8x8's schemas give URL fields "format: uri", i.e. RFC 3986. Its grammar, with the
# characters each part may hold: unreserved, sub-delims, %XX; ':' '@' in a path.
_UNRESERVED_OR_SUB: Final = r"[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2}"
_PCHAR: Final = rf"(?:{_UNRESERVED_OR_SUB}|[:@])"
_URL_RE: Final = re.compile(
    rf"https?://(?:(?:{_UNRESERVED_OR_SUB}|:)*@)?"  # userinfo
    rf"(?:\[[0-9A-Fa-f:.]+\]|(?:{_UNRESERVED_OR_SUB})+)(?::[0-9]*)?"  # host, port
    rf"(?:/{_PCHAR}*)*(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?",
    re.IGNORECASE,
)


def describe(value: object) -> str:
    """A short, safe description of a rejected value (never the whole value).

    Phone-number-like digit runs are masked: a list of MSISDNs passed where uuids
    belong must not end up in exception text."""
    if isinstance(value, str):
        if not value:
            return "empty string"
        shown = redact_text(value if len(value) <= 40 else value[:37] + "...")
        return f"{shown!r} ({characters(len(value))})"
    return f"a value of type {type(value).__name__}"


def characters(n: int) -> str:
    """``n`` with the right form of "character" ("1 character", "2 characters")."""
    return "1 character" if n == 1 else f"{n:,} characters"


def unencodable(field: str) -> ValidationError:
    """The error for text that cannot be sent as UTF-8 (a lone surrogate)."""
    return ValidationError(
        field, "contains a character that cannot be encoded (a lone surrogate)",
        "valid Unicode text",
    )  # fmt: skip


def require_str(field: str, value: object) -> str:
    """``value`` as a plain ``str``: a subclass (``markupsafe.Markup``, say) becomes
    its plain string value, anything else is a ``ValidationError``."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        # str.__str__ copies the characters, whatever the subclass overrides.
        return str.__str__(value)
    raise ValidationError(field, f"got {describe(value)}", "must be a string")


def check_text(field: str, value: str, max_length: int | None = None) -> None:
    """Length limit and encodability (a lone surrogate cannot be sent as UTF-8)."""
    if max_length is not None and len(value) > max_length:
        raise ValidationError(
            field, f"is {characters(len(value))} long", f"at most {characters(max_length)}"
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise unencodable(field) from None


def check_sub_account_id(value: object, field: str = "sub_account_id") -> str:
    value = require_str(field, value)
    if _SUB_ACCOUNT_ID_RE.fullmatch(value) is None:
        raise ValidationError(field, f"got {describe(value)}", SUB_ACCOUNT_ID_RULE)
    return value


def check_account_id(value: object, field: str = "account_id") -> str:
    value = require_str(field, value)
    if _ACCOUNT_ID_RE.fullmatch(value) is None:
        raise ValidationError(field, f"got {describe(value)}", ACCOUNT_ID_RULE)
    return value


def check_uuid(value: object, field: str = "uuid") -> str:
    """A canonical textual uuid, kept as the caller wrote it (``str``, not ``UUID``).

    The form 8x8 umids and batch ids and Revicom message uuids take: 36 characters,
    hex digits with dashes in place. Anything else raises ``ValidationError``
    naming ``field``, whose ``rule`` says what a uuid looks like.
    """
    if type(value) is str and len(value) == 36 and _UUID_RE.fullmatch(value) is not None:
        return value
    value = require_str(field, value)
    if len(value) == 36 and _UUID_RE.fullmatch(value) is not None:
        return value  # a str subclass, now its plain value
    raise ValidationError(field, f"got {describe(value)}", UUID_RULE)


def is_uuid(value: object) -> bool:
    return type(value) is str and len(value) == 36 and _UUID_RE.fullmatch(value) is not None


def check_segment(value: object, field: str) -> str:
    """An opaque path segment (channelId, flowId): encoded later, but sane first."""
    value = require_str(field, value)
    if not value or value in (".", "..") or _BAD_SEGMENT_CHARS_RE.search(value):
        raise ValidationError(field, f"got {describe(value)}", SEGMENT_RULE)
    check_text(field, value, 256)
    return value


def check_msisdn(value: str, country_given: bool, field: str = "user.msisdn") -> None:
    if _E164_RE.fullmatch(value) is not None:
        return
    if country_given and _NATIONAL_RE.fullmatch(value) is not None:
        return
    # Never echo a phone number: only its length.
    problem = f"is not a valid number ({characters(len(value))})"
    raise ValidationError(field, problem, NATIONAL_RULE if country_given else E164_RULE)


def check_country(value: str, field: str = "user.country") -> None:
    if _COUNTRY_RE.fullmatch(value) is None:
        raise ValidationError(field, f"got {describe(value)}", COUNTRY_RULE)


def check_channel_user_id(value: object, field: str = "user.channelUserId") -> None:
    value = require_str(field, value)
    if not value.strip() or len(value) > 100:
        raise ValidationError(field, f"got {describe(value)}", CHANNEL_USER_ID_RULE)
    check_text(field, value)


def check_url(value: str, field: str) -> None:
    check_text(field, value)
    if _URL_RE.fullmatch(value) is None:
        raise ValidationError(field, f"got {describe(value)}", URL_RULE)


def check_one_of(value: object, allowed: frozenset[str], field: str) -> None:
    if require_str(field, value) not in allowed:  # a plain str: hashable
        listed = ", ".join(sorted(allowed))
        raise ValidationError(field, f"got {describe(value)}", f"one of {listed}")


def check_flag(field: str, value: object) -> bool:
    """A switch: True or False, not a truthy stand-in (1, "yes", None)."""
    if type(value) is not bool:
        raise ValidationError(field, f"got {describe(value)}", "True or False")
    return value


def check_count(field: str, count: object, low: int, high: int) -> None:
    """A count or size: a whole number (not a bool, float or string) in a range."""
    if type(count) is not int:
        raise ValidationError(
            field, f"got {describe(count)}", f"a whole number from {low:,} to {high:,}"
        )
    if not low <= count <= high:
        raise ValidationError(
            field, f"has {count} items", f"between {low:,} and {high:,} items per request"
        )


T = TypeVar("T")


#: A single-request call reads at most this many times its limit of items (repeats
#: are sent once, so more may be given), never an endless input to its end.
MAX_READ_PER_REQUEST: Final = 10


def read_list(field: str, values: Iterable[T], most: int | None = None) -> list[T]:
    """One request's input read into a list; an input that raises while read (its
    ``__iter__``, ``__len__`` or a generator) is a ``ValidationError`` whose cause
    is what it raised. With ``most``, reading stops past that many items (an endless
    iterator included) with a ``ValidationError``."""
    try:
        if most is None:
            items = list(values)
        else:  # its __len__ is asked as list() would ask it
            length_hint(values)
            items = list(islice(values, most + 1))
    except Exception as exc:
        raise ValidationError(
            field, f"raised {type(exc).__name__} while being read",
            "an iterable that can be read to its end",
        ) from exc  # fmt: skip
    if most is not None and len(items) > most:
        raise ValidationError(
            field, f"has more than {most:,} items (reading stopped there)",
            f"at most {most:,} items, repeats included; the bulk calls take any number",
        )  # fmt: skip
    return items


def quote_segment(value: str) -> str:
    """Percent-encode one path segment with nothing left safe ('/', '%', '.' included)."""
    encoded = quote(value, safe="")
    # quote() leaves '.' alone; a segment of dots would be resolved as '.'/'..'.
    if encoded.strip(".") == "":
        encoded = encoded.replace(".", "%2E")
    return encoded


# Each hex digit becomes 'x'; 'x' and 'X' themselves become '?', so that a literal
# "xxxxxxxx-xxxx-..." is not taken for a uuid. Every other byte stays as it is.
_HEX_TO_X: Final = bytes.maketrans(b"0123456789abcdefABCDEFxX", b"x" * 22 + b"??")
_UUID_SHAPE: Final = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"


@lru_cache(maxsize=8)
def _joined_shape(n: int, head: str, tail: str) -> bytes:
    """What ``join_uuids`` of ``n`` uuids gives once translated."""
    middle = '","'.join([_UUID_SHAPE] * n)
    ends = [part.encode().translate(_HEX_TO_X) for part in (head, tail)]
    return b"".join((ends[0], f'"{middle}"'.encode(), ends[1]))


def join_uuids(values: Sequence[object], head: str = "[", tail: str = "]") -> bytes | None:
    """``head``, the values as a comma-separated list of JSON strings, ``tail``, encoded
    as UTF-8; or None unless every value is a textual uuid.

    A uuid needs no JSON escaping, so joining them is encoding them. One C-level
    translate of the joined bytes then checks every value at once (about 10x faster
    than a regex per value): it must give, byte for byte, what ``n`` uuids give. That
    is exact: a quote inside a value would add one more quote than the separators
    account for, so the separators must sit where the shape has them, which makes
    every value 36 characters of hex digits with dashes in place.
    """
    if not values:
        return None
    try:
        joined = '","'.join(values)  # type: ignore[arg-type]
        body = f'{head}"{joined}"{tail}'.encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None
    if body.translate(_HEX_TO_X) != _joined_shape(len(values), head, tail):
        return None
    return body


def check_uuids(values: list[str], field: str) -> None:
    """Every item a textual uuid; the slow path only runs to name the bad item."""
    if join_uuids(values) is not None:
        return
    for i, value in enumerate(values):
        check_uuid(value, f"{field}[{i}]")
