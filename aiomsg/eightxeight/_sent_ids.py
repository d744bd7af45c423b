"""A LINE message's fingerprint, kept by a job's ``SentIds`` table (see
``aiomsg.bulk._sent``) when the input is not a list: a later message reusing an id
is the same message (never sent again; it takes the first's outcome) or a different
one (failed) by its fingerprint."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from .._codec import encode
from ..bulk._sent import FINGERPRINT_MASK

__all__ = ["fingerprint"]

#: The fingerprint's hash, bound apart from the id key's (tests replace that one).
_fingerprint_hash: Final = hash


def _plain_str(obj: object) -> object:
    """A str subclass is sent as its plain value (as the wire's encoder does)."""
    if isinstance(obj, str):
        return str.__str__(obj)
    raise NotImplementedError(type(obj).__name__)


#: The fields as msgpack: the same content as the wire's JSON, about a quarter
#: cheaper to produce (no escaping), and only ever hashed.
_pack_fields: Final = msgspec.msgpack.Encoder(enc_hook=_plain_str).encode


def fingerprint(message: Any) -> int:
    """A small keyed hash of a message's content (its id included)."""
    try:
        packed = _pack_fields(message)
    except Exception:
        encode(message, "message")  # the typed error the wire form gives
        raise
    return _fingerprint_hash(packed) & FINGERPRINT_MASK
