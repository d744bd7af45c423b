"""The joined uuid body the stop hot path relies on: ``join_uuids`` must accept exactly
the lists ``is_uuid`` accepts, and encode them as the plain encoder would.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiomsg._validation import is_uuid, join_uuids

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

UUIDS = st.uuids().map(str)
# Near misses: a uuid with one character changed, added, or removed, and characters that
# matter to the check itself (quotes, commas, x, X, non-ASCII, lone surrogates).
TRICKY_CHARS = st.sampled_from(['"', ",", "x", "X", "-", "\n", "é", "\ud800", "g", "G", " ", "\\"])


@st.composite
def near_miss(draw: st.DrawFn) -> str:
    value = draw(UUIDS)
    at = draw(st.integers(0, len(value)))
    how = draw(st.sampled_from(["replace", "insert", "delete", "upper"]))
    if how == "upper":
        return value.upper()
    if how == "delete":
        return value[:at] + value[at + 1 :]
    char = draw(TRICKY_CHARS)
    end = at + 1 if how == "replace" else at
    return value[:at] + char + value[end:]


ITEMS = st.one_of(UUIDS, near_miss(), st.text(max_size=40), st.none(), st.integers())


@SETTINGS
@given(
    values=st.lists(ITEMS, max_size=12), ends=st.sampled_from([("[", "]"), ('{"uuids":[', "]}")])
)
def test_join_uuids_accepts_exactly_lists_of_uuids_and_encodes_them(
    values: list[Any], ends: tuple[str, str]
) -> None:
    head, tail = ends
    body = join_uuids(values, head, tail)
    if values and all(is_uuid(v) for v in values):
        assert body is not None
        assert body == head.encode() + msgspec.json.encode(values)[1:-1] + tail.encode()
        assert msgspec.json.decode(body[len(head) - 1 : len(body) - len(tail) + 1]) == values
    else:
        assert body is None


@pytest.mark.parametrize(
    "values",
    [
        ["xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"],
        # two values whose join looks like two uuids only if quotes were not counted
        ['3fa85f64-5717-4562-b3fc-2c963f66afa6","3fa85f64-5717-4562-b3fc-2c963f66afa6', ""],
        ["3fa85f64-5717-4562-b3fc-2c963f66afa", "63fa85f64-5717-4562-b3fc-2c963f66afa6"],
        [],
    ],
    ids=["x-shaped", "quote-smuggled", "shifted", "empty"],
)
def test_join_uuids_refuses_look_alikes(values: list[str]) -> None:
    assert join_uuids(values) is None
