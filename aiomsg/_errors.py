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

from collections.abc import Sequence
from typing import Any, ClassVar, Final, TypeVar

import msgspec

from ._redact import body_text, redact, redact_text
from ._redact import excerpt as excerpt_of

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


def _parsed(body: bytes, content_type: str | None) -> object:
    """The JSON value of an error body, in UTF-8 or the charset it came in; or None."""
    try:
        return _JSON_ANY.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass
    data = body_text(body, content_type)[0].encode("utf-8", "replace")
    if data == body:
        return None
    try:
        return _JSON_ANY.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None


def error_from_response(
    status: int,
    body: bytes,
    *,
    method: str,
    url: str,
    retry_after: float | None = None,
    secrets: Sequence[str] = (),
    content_type: str | None = None,
) -> APIStatusError:
    """The one place that turns an error answer into an exception.

    A JSON body in 8x8's shape fills ``code``, ``message``, ``error_id`` and
    ``timestamp``; anything else (empty, HTML, truncated, another JSON shape) still
    gives the status's class, with a short redacted excerpt of the body. Every
    string kept passes through ``redact_text`` after decoding, with ``secrets`` (the
    client's credentials): an echoed secret or number is masked however the body
    encoded it. ``content_type`` (the answer's header) names the body's charset; a
    body in UTF-16, UTF-32 or an 8-bit charset is read in it (see ``excerpt``).
    """
    parsed = _parsed(body, content_type) if body else None
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
        excerpt = excerpt_of(body, secrets, content_type)
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
