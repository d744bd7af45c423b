"""The exception tree of aiomsg.

Every exception the library raises on purpose derives from ``AiomsgError``::

    AiomsgError
    ├── ClientClosedError             the client was closed (also RuntimeError)
    ├── ConfigurationError            missing or unusable client settings (also ValueError)
    ├── ValidationError               bad input, raised before any I/O (also ValueError)
    └── APIError                      something went wrong talking to a provider
        ├── APIConnectionError        the request did not complete (no HTTP answer)
        │   ├── APITimeoutError       ... because a timeout fired
        │   └── TLSHandshakeError     ... because TLS failed (never retried)
        ├── APIResponseError          an answer arrived but could not be used
        │                             (undecodable success body, body over the size cap)
        ├── OutcomeUnknownError       a non-idempotent send may or may not have been
        │                             taken; carries the clientMessageIds to reconcile
        └── APIStatusError            the provider answered with a non-success status
            ├── BadRequestError            400
            ├── AuthenticationError        401
            ├── PermissionDeniedError      403
            ├── NotFoundError              404
            ├── ConflictError              409
            ├── GoneError                  410
            ├── UnprocessableEntityError   422
            ├── TLSVersionError            426 (provider code 1014)
            ├── RateLimitError             429 (``retry_after``)
            └── InternalServerError        5xx

Messages never contain API keys, Basic tokens or full MSISDNs, in any encoding: the
URL kept on an error is the redacted one, and every string kept from an answer (and
every message quoting one) passes through ``redact_text``, the one masking rule.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Final, TypeVar

import msgspec

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AiomsgError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "GoneError",
    "InternalServerError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "TLSHandshakeError",
    "TLSVersionError",
    "UnprocessableEntityError",
    "ValidationError",
    "error_from_response",
    "redact",
    "redact_text",
]

#: Longest excerpt of a response body kept on an error.
EXCERPT_LIMIT: Final = 200
#: How much of a body the excerpt is cut from.
_EXCERPT_SOURCE: Final = 4096

# Runs of 7+ digits (optionally after "+") look like phone numbers: keep the last 4.
# Not the fraction of a decimal number (a timestamp's "19.4297387"), nor digits inside
# an identifier (a GUID's "b4478860-...").
_MSISDN_RE: Final = re.compile(r"(?<!\d\.)(?<![0-9A-Za-z])\+?\d{3,}(\d{4})\b")
# Written with separators after a "+": "+65 9123 4567", "+65-9123-4567", "+1 (555) 010-9999",
# and form-encoded, a "+" for each space: "+65+9123+4567".
_SPACED_MSISDN_RE: Final = re.compile(r"\+\d[\d\s.()+\-]{5,}\d")
_BEARER_RE: Final = re.compile(r"(?i)\b(?:bearer|basic)\s+([A-Za-z0-9._~+/=\-]+)")
# One layer of the encodings a server may wrap text in: JSON escapes (\uXXXX in either
# case, \/ \" \\; a run of backslashes counts as one, as escapes of escapes and reprs
# of reprs double them), percent-encoding (either case; a run of bytes is UTF-8) and
# HTML numeric references.
_ENCODED_RE: Final = re.compile(
    r"\\+u([0-9A-Fa-f]{4})|\\+([\\/\"'])|((?:%[0-9A-Fa-f]{2})+)"
    r"|&#(?:[xX]([0-9A-Fa-f]{1,6})|([0-9]{1,7}));"
)
_ENCODED_MARKS: Final = ("\\", "%", "&#")
#: Layers of encoding looked through (2: a percent-encoded JSON escape, and the like).
_LAYERS: Final = 2
#: Shortest user or password part of a Basic token masked on its own.
_MIN_PART: Final = 3

# A span of the original text, and what replaces it.
_Cut = tuple[int, int, str]


def redact_text(text: str, secrets: Sequence[str] = (), *, numbers: bool = True) -> str:
    """Mask credentials and phone numbers in free text, in any encoding they arrive in.

    The one rule for every string aiomsg keeps or shows from an answer (and from
    input it echoes): each of ``secrets`` (the client's credentials, with the forms
    ``secret_forms`` derives) and anything after ``Bearer``/``Basic`` becomes
    ``***``; a run of 7+ digits becomes ``***`` and its last four. Matches are
    looked for in the text as given and after undoing up to two layers of JSON
    escapes, percent-encoding and HTML numeric references (mixed freely, character
    by character), and masked in the text as given: a JSON-escaped or
    percent-encoded number loses its digits just like ``+6591234567`` does.
    Credentials are masked first, numbers in what remains. ``numbers=False``
    leaves digit runs alone (a timestamp given as epoch seconds).
    """
    text = _mask(text, _forms_of(tuple(secrets)), numbers=False)
    return _mask(text, (), numbers=True) if numbers else text


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Mask phone numbers and credentials in ``text``, as aiomsg does in its errors.

    Anything after ``Bearer``/``Basic`` and each of ``secrets`` becomes ``***``; a
    run of 7 or more digits (a phone number, written with or without separators
    after ``+``) becomes ``***`` and its last four. Forms a server may echo them in
    (JSON escapes, percent-encoding) are masked too. For text your program shows or
    logs that may hold what a user typed, such as a bad input line.
    """
    return redact_text(text, secrets)


def _mask(text: str, forms: tuple[str, ...], *, numbers: bool) -> str:
    """One masking pass: credentials (``numbers`` False) or numbers (True)."""
    cuts: list[_Cut] = []
    layer = text
    spans: list[tuple[int, int]] | None = None  # None: the identity (layer 0)
    for depth in range(_LAYERS + 1):
        _find(layer, spans, forms, cuts, numbers)
        if depth == _LAYERS or not any(mark in layer for mark in _ENCODED_MARKS):
            break
        layer, spans = _decode_layer(layer, spans)
    return _apply(text, cuts) if cuts else text


def _find(
    layer: str,
    spans: list[tuple[int, int]] | None,
    forms: tuple[str, ...],
    cuts: list[_Cut],
    numbers: bool,
) -> None:
    """Add the cuts for every match in ``layer``, in the original text's positions."""

    def cut(start: int, end: int, replacement: str) -> None:
        if start < end:
            if spans is None:
                cuts.append((start, end, replacement))
            else:
                cuts.append((spans[start][0], spans[end - 1][1], replacement))

    for form in forms:
        at = layer.find(form)
        while at >= 0:
            cut(at, at + len(form), "***")
            at = layer.find(form, at + 1)
    if not numbers:
        for m in _BEARER_RE.finditer(layer):
            cut(m.start(1), m.end(1), "***")
        return
    for m in _SPACED_MSISDN_RE.finditer(layer):
        digits = "".join(ch for ch in m.group(0) if ch.isdigit())
        if len(digits) >= 7:
            cut(m.start(), m.end(), "***" + digits[-4:])
    for m in _MSISDN_RE.finditer(layer):
        cut(m.start(), m.end(), "***" + m.group(1))


def _decode_layer(
    text: str, spans: list[tuple[int, int]] | None
) -> tuple[str, list[tuple[int, int]]]:
    """Undo one layer of encoding; each character keeps the original span it came from."""
    out: list[str] = []
    out_spans: list[tuple[int, int]] = []

    def span(start: int, end: int) -> tuple[int, int]:
        return (start, end) if spans is None else (spans[start][0], spans[end - 1][1])

    def emit(chars: str, start: int, end: int) -> None:
        out.append(chars)
        whole = span(start, end)
        out_spans.extend([whole] * len(chars))

    pos = 0
    for m in _ENCODED_RE.finditer(text):
        for i in range(pos, m.start()):
            emit(text[i], i, i + 1)
        pos = m.end()
        hex4, escaped, percent, html_hex, html_dec = m.groups()
        if percent is not None:
            _emit_percent(percent, m.start(), emit)
            continue
        if escaped is not None:
            emit(escaped, m.start(), m.end())
            continue
        code = int(hex4 or html_hex or "", 16) if (hex4 or html_hex) else int(html_dec)
        if code > 0x10FFFF:
            for i in range(m.start(), m.end()):
                emit(text[i], i, i + 1)
        else:
            emit(chr(code), m.start(), m.end())
    for i in range(pos, len(text)):
        emit(text[i], i, i + 1)
    return "".join(out), out_spans


def _emit_percent(run: str, start: int, emit: Callable[[str, int, int], None]) -> None:
    """A run of ``%XX``: UTF-8 where it decodes, one character per byte where not."""
    data = bytes(int(run[i + 1 : i + 3], 16) for i in range(0, len(run), 3))
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        decoded = data.decode("latin-1")
        for i, ch in enumerate(decoded):
            emit(ch, start + 3 * i, start + 3 * i + 3)
        return
    at = start
    for ch in decoded:
        width = 3 * len(ch.encode("utf-8"))
        emit(ch, at, at + width)
        at += width


def _apply(text: str, cuts: list[_Cut]) -> str:
    """Replace the cut spans; overlapping cuts merge (the wider one's text wins)."""
    cuts.sort(key=lambda c: (c[0], -c[1]))
    merged: list[_Cut] = []
    for start, end, replacement in cuts:
        if merged and start < merged[-1][1]:
            p_start, p_end, _ = merged[-1]
            if end > p_end:
                merged[-1] = (p_start, end, "***")
            continue
        merged.append((start, end, replacement))
    parts: list[str] = []
    pos = 0
    for start, end, replacement in merged:
        parts.append(text[pos:start])
        parts.append(replacement)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


@functools.lru_cache(maxsize=64)
def _forms_of(secrets: tuple[str, ...]) -> tuple[str, ...]:
    forms = {form for secret in secrets for form in secret_forms(secret)}
    # Longest first: a form inside another then masks only what the longer one missed.
    return tuple(sorted(forms, key=len, reverse=True))


def secret_forms(secret: str) -> tuple[str, ...]:
    """The forms of a credential a server may echo, each masked on its own.

    The secret itself; as base64 (a Basic token), also without its ``=`` padding
    and in the URL-safe alphabet; and when it decodes to ``user:password``, that
    pair, the pair with ``+`` for a space (form encoding), and each part of at
    least three characters.
    """
    if not secret:
        return ()
    forms = [secret]
    unpadded = secret.rstrip("=")
    if len(unpadded) >= 8 and unpadded != secret:
        forms.append(unpadded)
    urlsafe = unpadded.translate(_URLSAFE)
    if urlsafe != unpadded:
        forms.append(urlsafe)
    try:
        pair = base64.b64decode(secret, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        pair = ""
    if ":" in pair and pair.isprintable():
        user, _, password = pair.partition(":")
        forms += [pair, pair.replace(" ", "+")]
        forms += [part for part in (user, password) if len(part) >= _MIN_PART]
        forms += [password.replace(" ", "+")] if len(password) >= _MIN_PART else []
    return tuple(dict.fromkeys(forms))


_URLSAFE: Final = str.maketrans("+/", "-_")


class RedactedCause(Exception):
    """Stands in a traceback for a library's exception whose text quoted an answer.

    aiohttp quotes what a server sent (a bad status line, a header, a chunk size)
    in its exceptions; when that text held a credential or a full number, the
    exception chained to ours is replaced by this one: its type name and its text
    passed through ``redact_text``, with the original traceback.
    """


def redact_error(exc: _E, secrets: Sequence[str]) -> _E:
    """``exc`` with ``redact_text`` applied to its text and to every exception chained to it.

    Errors built from an answer already hold only redacted text; this is for the
    text quoted by the libraries underneath (msgspec's decode errors, aiohttp's
    parser errors), which reaches users through ``args``, ``message`` and the
    ``__cause__``/``__context__`` chain a traceback prints.
    """
    if exc.args and isinstance(exc.args[0], str):
        clean = redact_text(exc.args[0], secrets)
        if clean != exc.args[0]:
            exc.args = (clean, *exc.args[1:])
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        exc.message = redact_text(message, secrets)  # type: ignore[attr-defined]
    link: BaseException = exc
    for _ in range(16):  # chains are short; a cycle must not hang us
        for attr in ("__cause__", "__context__"):
            linked = getattr(link, attr)
            if linked is None or isinstance(linked, AiomsgError | RedactedCause):
                continue
            text = f"{type(linked).__name__}: {linked}"
            clean = redact_text(text, secrets)
            shown = repr(linked)  # aiohttp's reprs hold the request's headers
            if clean != text or redact_text(shown, secrets) != shown:
                stand_in = RedactedCause(clean).with_traceback(linked.__traceback__)
                stand_in.__cause__ = linked.__cause__
                stand_in.__context__ = linked.__context__
                stand_in.__suppress_context__ = linked.__suppress_context__
                setattr(link, attr, stand_in)
        following = link.__cause__ or link.__context__
        if following is None:
            break
        link = following
    return exc


class AiomsgError(Exception):
    """Root of every exception aiomsg raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take arguments that ``args`` does not hold, so the default
        # ``cls(*args)`` cannot rebuild them: restore the attributes instead, so that
        # errors survive pickling (process pools, task queues).
        return (_rebuild, (type(self), self.args, self.__dict__))


_E = TypeVar("_E", bound=AiomsgError)


def _rebuild(cls: type[AiomsgError], args: tuple[Any, ...], state: dict[str, Any]) -> AiomsgError:
    exc = cls.__new__(cls, *args)
    exc.__dict__.update(state)
    return exc


class ClientClosedError(AiomsgError, RuntimeError):
    """The client was closed (``aclose()`` or the end of its ``async with``)."""

    def __init__(self, message: str = "this client is closed; create a new one") -> None:
        super().__init__(message)


class ConfigurationError(AiomsgError, ValueError):
    """A client setting is missing or unusable (credentials, base URL, region)."""


class ValidationError(AiomsgError, ValueError):
    """Input broke a documented rule; raised before anything is sent.

    ``field`` names the offending input (``messages[3].user.msisdn``), ``problem``
    says what is wrong with the value and ``rule`` states the rule it breaks.
    """

    def __init__(self, field: str, problem: str, rule: str) -> None:
        self.field = field
        self.problem = problem
        self.rule = rule
        super().__init__(f"{field}: {problem} (rule: {rule})")

    def with_prefix(self, prefix: str) -> ValidationError:
        """The same error for a field nested under ``prefix``."""
        field = f"{prefix}.{self.field}" if not self.field.startswith("[") else prefix + self.field
        return ValidationError(field, self.problem, self.rule)


class APIError(AiomsgError):
    """A request to a provider failed. ``method`` and ``url`` (redacted) say which."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.method = method
        self.url = url
        self.message = message
        where = f" ({method} {url})" if method else ""
        super().__init__(f"{message}{where}")


class APIConnectionError(APIError):
    """No HTTP answer: the connection failed, was reset, or the body was cut short.

    ``request_sent`` is False only when the request provably never left this process
    (the connection could not be opened), which makes even a POST safe to repeat.
    """

    def __init__(
        self,
        message: str = "Connection error",
        *,
        method: str = "",
        url: str = "",
        request_sent: bool = True,
    ) -> None:
        self.request_sent = request_sent
        super().__init__(message, method=method, url=url)


class APITimeoutError(APIConnectionError):
    """A connect, read or total timeout fired before the answer was complete."""

    def __init__(
        self,
        message: str = "Request timed out",
        *,
        method: str = "",
        url: str = "",
        request_sent: bool = True,
    ) -> None:
        super().__init__(message, method=method, url=url, request_sent=request_sent)


class TLSHandshakeError(APIConnectionError):
    """The TLS handshake or certificate check failed. Never retried: it will not heal.

    Toward 8x8 this often means the peer does not offer TLS 1.3 (the client's default
    minimum) or the certificate is not trusted (pass ``ssl=`` a context with your CA).
    """


class APIResponseError(APIError):
    """An answer arrived but cannot be used (bad success body, body over the size cap)."""

    def __init__(
        self, message: str, *, method: str = "", url: str = "", status_code: int = 0
    ) -> None:
        self.status_code = status_code
        super().__init__(message, method=method, url=url)


class OutcomeUnknownError(APIError):
    """A LINE send failed after its body may have reached 8x8: it was not repeated.

    8x8 documents no de-duplication, so a repeat could deliver twice. Look the
    messages up by ``client_message_ids`` (in request order) to learn their fate.
    ``__cause__`` is the underlying failure.
    """

    def __init__(
        self,
        message: str,
        *,
        client_message_ids: Sequence[str],
        method: str = "",
        url: str = "",
    ) -> None:
        self.client_message_ids: tuple[str, ...] = tuple(client_message_ids)
        super().__init__(message, method=method, url=url)


class APIStatusError(APIError):
    """The provider answered with an error status.

    Carries the provider's ``code``, ``message``, ``error_id`` and ``timestamp`` when
    the body held them, and ``body_excerpt`` (short, redacted) when it did not.
    """

    status_code: int
    default_message: ClassVar[str] = "API error"

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int,
        code: int | None = None,
        error_id: str | None = None,
        timestamp: str | None = None,
        method: str = "",
        url: str = "",
        retry_after: float | None = None,
        body_excerpt: str = "",
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.error_id = error_id
        self.timestamp = timestamp
        self.retry_after = retry_after
        self.body_excerpt = body_excerpt
        text = message if message else self.default_message
        parts = [f"HTTP {status_code}"]
        if code is not None:
            parts.append(f"code {code}")
        detail = f"{text} [{', '.join(parts)}]"
        if error_id:
            detail += f" errorId={error_id}"
        if body_excerpt and not message:
            detail += f" body={body_excerpt!r}"
        super().__init__(detail, method=method, url=url)
        # ``message`` is the provider's own text (or our default), without decoration.
        self.message = text


class BadRequestError(APIStatusError):
    """400: the provider refused the request as invalid."""

    default_message = "Bad request"


class AuthenticationError(APIStatusError):
    """401: the API key or token was missing or wrong (provider code 1200)."""

    default_message = "Request was not authenticated"


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed to do this."""

    default_message = "Forbidden"


class NotFoundError(APIStatusError):
    """404: the message, batch or flow does not exist (provider code 1300)."""

    default_message = "Not found"


class ConflictError(APIStatusError):
    """409: the resource is in a state that forbids this (a published WhatsApp Flow)."""

    default_message = "Conflict"


class GoneError(APIStatusError):
    """410: the resource or API version is permanently gone."""

    default_message = "Gone"


class UnprocessableEntityError(APIStatusError):
    """422: well-formed but semantically invalid."""

    default_message = "Unprocessable entity"


class TLSVersionError(APIStatusError):
    """426 / code 1014: the connection used a TLS version older than 8x8 accepts."""

    default_message = (
        "The provider requires TLS 1.3 or newer; keep the client's default SSL context "
        "(minimum TLS 1.3) or pass ssl= a context with minimum_version=TLSv1_3"
    )

    def __init__(self, message: str | None = None, **kwargs: object) -> None:
        hint = self.default_message
        text = f"{message} — {hint}" if message else hint
        super().__init__(text, **kwargs)  # type: ignore[arg-type]
        # str() carries the hint; ``message`` stays the provider's own text.
        self.message = message or hint


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the provider's hint in seconds, if any."""

    default_message = "Too many requests"


class InternalServerError(APIStatusError):
    """5xx: the provider failed (code 2000 for 8x8's own internal errors)."""

    default_message = "Internal server error"


STATUS_ERRORS: Final[dict[int, type[APIStatusError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: UnprocessableEntityError,
    426: TLSVersionError,
    429: RateLimitError,
}


def status_error_class(status: int, code: int | None) -> type[APIStatusError]:
    """The exception class for an HTTP status (and 8x8 code 1014 whatever the status)."""
    if code == 1014:
        return TLSVersionError
    cls = STATUS_ERRORS.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return InternalServerError
    return APIStatusError


# Error bodies are read field by field: one field of an unexpected type (a numeric
# timestamp, say) must not cost the others, above all ``code`` (1014 makes a 400 a
# TLSVersionError).
_JSON_ANY: Final = msgspec.json.Decoder()


def _field_text(value: object, secrets: Sequence[str], *, numbers: bool = True) -> str | None:
    if isinstance(value, str):
        return redact_text(value, secrets) or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return redact_text(str(value), secrets, numbers=numbers)
    return None


def _field_code(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit():  # "²".isdigit() is True, int("²") is not
        return int(text)
    return None


def _excerpt(body: bytes, secrets: Sequence[str]) -> str:
    text = body[:_EXCERPT_SOURCE].decode("utf-8", "replace")
    if len(body) > _EXCERPT_SOURCE:
        # However much masking and squeezing shrink the text, no piece of a credential
        # cut in two may come into view.
        text = _without_cut_secret(text, secrets)
    text = " ".join(redact_text(text, secrets).split())
    if len(text) > EXCERPT_LIMIT:
        text = text[: EXCERPT_LIMIT - 3] + "..."
    return text


# An escape or reference cut short by the end of the text.
_CUT_ESCAPE_RE: Final = re.compile(
    r"(?:\\+(?:u[0-9A-Fa-f]{0,3})?|%[0-9A-Fa-f]?|&#?[xX]?[0-9A-Fa-f]*)$"
)


def _without_cut_secret(text: str, secrets: Sequence[str]) -> str:
    """``text`` without a tail that begins one of ``secrets``' forms, in any encoding."""
    forms = _forms_of(tuple(secrets))
    if not forms:
        return text
    text = _CUT_ESCAPE_RE.sub("", text)
    layer, spans = text, None
    end = len(text)
    for depth in range(_LAYERS + 1):
        for form in forms:
            for k in range(min(len(form) - 1, len(layer)), 0, -1):
                if layer.endswith(form[:k]):
                    start = len(layer) - k
                    end = min(end, start if spans is None else spans[start][0])
                    break
        if depth == _LAYERS:
            break
        layer, spans = _decode_layer(layer, spans)
    return text[:end]


def error_from_response(
    status: int,
    body: bytes,
    *,
    method: str,
    url: str,
    retry_after: float | None = None,
    secrets: Sequence[str] = (),
) -> APIStatusError:
    """The one place that turns an error answer into an exception.

    A JSON body in 8x8's shape fills ``code``, ``message``, ``error_id`` and
    ``timestamp``; anything else (empty, HTML, truncated, another JSON shape) still
    gives the status's class, with a short redacted excerpt of the body. Every
    string kept passes through ``redact_text`` after decoding, with ``secrets`` (the
    client's credentials): an echoed secret or number is masked however the body
    encoded it.
    """
    parsed: object = None
    if body:
        try:
            parsed = _JSON_ANY.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            parsed = None
    code: int | None = None
    message = error_id = timestamp = None
    excerpt = ""
    if isinstance(parsed, dict):
        code = _field_code(parsed.get("code"))
        message = _field_text(parsed.get("message"), secrets)
        error_id = _field_text(parsed.get("errorId"), secrets)
        # A JSON number here is epoch time, not a phone number.
        timestamp = _field_text(parsed.get("timestamp"), secrets, numbers=False)
    if message is None and body:
        excerpt = _excerpt(body, secrets)
    if 300 <= status < 400:
        message = message or f"Unexpected redirect (HTTP {status}); redirects are not followed"
    cls = status_error_class(status, code)
    return cls(
        message,
        status_code=status,
        code=code,
        error_id=error_id,
        timestamp=timestamp,
        method=method,
        url=url,
        retry_after=retry_after,
        body_excerpt=excerpt,
    )


class MissingFromAnswerError(APIResponseError):
    """The provider's answer did not mention an item it was asked about, so that
    item's fate is unknown (its outcome is ``unknown``); the rest of the answer holds."""
