"""JSON encoding and decoding, with encoders and decoders built once and reused."""

from __future__ import annotations

from typing import Any, Final, TypeVar

import msgspec

from ._errors import APIResponseError, ValidationError
from ._validation import unencodable

__all__ = ["decode", "decoder_for", "encode"]

T = TypeVar("T")


def _plain(obj: object) -> object:
    """msgspec encodes only exact ``str``: a subclass (``markupsafe.Markup``, say) is
    sent as its plain string value. Called only for types msgspec cannot encode, so
    the common path pays nothing."""
    if isinstance(obj, str):
        return str.__str__(obj)
    raise NotImplementedError(f"cannot encode a value of type {type(obj).__name__}")


_ENCODER: Final = msgspec.json.Encoder(enc_hook=_plain)
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def encode(body: object, field: str = "body") -> bytes:
    """Encode a request body; text that is not valid Unicode is a ``ValidationError``."""
    try:
        return _ENCODER.encode(body)
    except UnicodeEncodeError:
        raise unencodable(field) from None
    except (TypeError, NotImplementedError) as exc:
        # Models check every field's type when built; this is the last line for a
        # value that got past them, so it is still a typed error before any I/O.
        raise ValidationError(
            field,
            f"holds a value that cannot be sent ({exc})",
            "JSON text, numbers, booleans, lists and objects",
        ) from None


def decoder_for(tp: type[T]) -> msgspec.json.Decoder[T]:
    """The shared decoder for ``tp`` (built on first use)."""
    dec = _DECODERS.get(tp)
    if dec is None:
        dec = _DECODERS[tp] = msgspec.json.Decoder(tp)
    return dec


def decode(
    tp: type[T],
    body: bytes,
    *,
    method: str,
    url: str,
    status: int,
    first: type[T] | None = None,
) -> T:
    """Decode a success body; a body that does not fit ``tp`` is an ``APIResponseError``.

    ``first``, a stricter subtype of ``tp``, is tried before it: the common answer
    then decodes with its checks done in C, and any other falls through to ``tp``.
    """
    if first is not None:
        try:
            return decoder_for(first).decode(body)
        except (msgspec.DecodeError, RecursionError):
            pass  # ``tp`` decides, and words the error if it fails too
    try:
        return decoder_for(tp).decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        what = (
            "empty body" if not body
            else "JSON nested too deeply" if isinstance(exc, RecursionError)
            else str(exc)
        )  # fmt: skip
        raise APIResponseError(
            f"Could not decode the {tp.__name__} answer: {what}",
            method=method,
            url=url,
            status_code=status,
        ) from None
