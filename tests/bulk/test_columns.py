"""The compact column forms the bulk hot paths rely on: packed ids, shared columns.

Each must say exactly what the plain form says, whatever the input. Joined uuid
bodies (``aiomsg._validation.join_uuids``) are tested in ``tests/test_validation.py``.
"""

from __future__ import annotations

import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiomsg.bulk import Outcome
from aiomsg.bulk._chunk import Chunk
from aiomsg.bulk._columns import PackedStrings, pack, uniform

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(values=st.lists(st.one_of(st.text(max_size=12), st.none()), max_size=30))
def test_pack_keeps_every_value_in_order(values: list[str | None]) -> None:
    packed = pack(values)
    assert list(packed) == values
    assert len(packed) == len(values)
    for i in range(-len(values), len(values)):
        assert packed[i] == values[i]
    assert list(packed[1:-1]) == values[1:-1]
    if isinstance(packed, PackedStrings):
        assert None not in values
        assert all("\x00" not in v for v in values if v is not None)
        assert packed == values
        assert pickle.loads(pickle.dumps(packed)) == packed


def test_pack_leaves_lists_it_cannot_pack_as_they_are() -> None:
    for values in ([], ["a", None], ["a\x00b", "c"]):
        assert pack(values) is values  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        pack(["a", "b"])[2]


@SETTINGS
@given(
    outcomes=st.lists(st.sampled_from([Outcome.STOPPED, Outcome.UNKNOWN, Outcome.FAILED])),
    codes=st.lists(st.one_of(st.none(), st.sampled_from([200, 404, 1300]))),
)
def test_a_chunk_result_says_what_its_columns_said(
    outcomes: list[Outcome], codes: list[int | None]
) -> None:
    n = min(len(outcomes), len(codes))
    chunk: Chunk[str] = Chunk(5, [f"id{i}" for i in range(n)])
    chunk.ids = [f"id{i}" for i in range(n)]
    chunk.outcomes = outcomes[:n]
    chunk.codes = codes[:n]
    result = chunk.result()
    assert [(o.index, o.id, o.outcome, o.code, o.error) for o in result] == [
        (5 + i, f"id{i}", outcomes[i], codes[i], None) for i in range(n)
    ]
    assert result.counts() == {o: outcomes[:n].count(o) for o in set(outcomes[:n])}
    if n and outcomes[:n].count(outcomes[0]) == n:
        assert result.outcomes is uniform(outcomes[0], n)  # shared, not one list per chunk


def test_a_settled_chunk_builds_no_columns() -> None:
    chunk: Chunk[str] = Chunk(0, ["a", "b", "c"])
    chunk.ids = ["a", "b", "c"]
    chunk.settle(Outcome.STOPPED, 200)
    result = chunk.result()
    assert [(o.outcome, o.code, o.error) for o in result] == [(Outcome.STOPPED, 200, None)] * 3
    assert result.outcomes is uniform(Outcome.STOPPED, 3)
    assert result.codes is uniform(200, 3)
    assert result.errors is uniform(None, 3)
    # A later change still starts from what was settled.
    chunk.fail(1, ValueError("late"))
    assert [o.outcome for o in chunk.result()] == [Outcome.STOPPED, Outcome.FAILED, Outcome.STOPPED]
    assert chunk.result().codes == [200, None, 200]


def test_shared_columns_cannot_be_changed_by_a_reader() -> None:
    chunk: Chunk[str] = Chunk(0, ["a", "b"])
    chunk.settle(Outcome.STOPPED, 200)
    with pytest.raises(TypeError):
        chunk.result().outcomes[0] = Outcome.FAILED  # type: ignore[index]


def test_a_shared_error_is_not_cached() -> None:
    chunk: Chunk[str] = Chunk(0, ["a", "b"])
    error = ValueError("both")
    chunk.fail(0, error)
    chunk.fail(1, error)
    result = chunk.result()
    assert result.outcomes is uniform(Outcome.FAILED, 2)
    assert isinstance(result.errors, list)  # a cached tuple would keep the error alive
    assert list(result.errors) == [error, error]
