"""The codec (``aiomsg._codec``): answers that do not decode are ``APIResponseError``,
the stricter type is tried first, and request bodies that cannot be encoded are a
``ValidationError`` before any I/O."""

from __future__ import annotations

from typing import Literal

import msgspec
import pytest

import aiomsg
from aiomsg._codec import decode, encode
from aiomsg.revicom.models import StopRequest


def test_wrong_success_shape_is_a_response_error() -> None:
    for body in (b"", b"[]", b'{"cancelledCount": "1"}', b"{}", b'{"cancelledCount": 1'):
        with pytest.raises(aiomsg.APIResponseError) as info:
            decode(aiomsg.CancelResult, body, method="DELETE", url="https://h/p", status=200)
        assert (info.value.status_code, info.value.url) == (200, "https://h/p")


class _Loose(msgspec.Struct):
    state: str = "unknown"


class _Strict(_Loose):
    state: Literal["queued"] = "queued"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"state": "queued"}', _Strict()),
        (b'{"state": "sent"}', _Loose(state="sent")),  # falls through to the loose type
        (b"{}", _Strict()),
    ],
)
def test_decode_tries_the_stricter_type_first(body: bytes, expected: _Loose) -> None:
    got = decode(_Loose, body, method="POST", url="https://h/p", status=200, first=_Strict)
    assert type(got) is type(expected)
    assert got == expected


@pytest.mark.parametrize("body", [b"", b"{", b'{"state": 1}', b"[]"])
def test_decode_words_the_error_of_the_general_type(body: bytes) -> None:
    with pytest.raises(aiomsg.APIResponseError, match="Could not decode the _Loose answer"):
        decode(_Loose, body, method="POST", url="https://h/p", status=200, first=_Strict)


def test_unset_request_fields_stay_off_the_wire() -> None:
    msg = aiomsg.LineNotification(
        user=aiomsg.LineUser(msisdn="+6500000000"), content=aiomsg.LineContent(title="t")
    )
    assert msgspec.json.decode(encode(msg)) == {
        "user": {"msisdn": "+6500000000"},
        "content": {"title": "t"},
    }


def test_lone_surrogate_in_an_unchecked_body_is_a_validation_error() -> None:
    with pytest.raises(aiomsg.ValidationError) as info:
        encode(StopRequest(uuids=["\ud800"]), "uuids")
    assert info.value.field == "uuids"
