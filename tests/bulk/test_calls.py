"""The provider seam: a provider gives checks and a request function; the engine does
the rest (invalid items, ids repeated within a request, requests failing as a whole)
the same way for every provider."""

from __future__ import annotations

from typing import Any

import pytest

from aiomsg import APIError, Outcome, OutcomeUnknownError, ValidationError
from aiomsg.bulk._calls import Answer, Checks, Request, Requests, bulk_stream, collect


def _check(item: Any, name: str) -> tuple[str, str]:
    if not isinstance(item, tuple) or not item or not isinstance(item[0], str):
        raise ValidationError(name, f"is {item!r}", "an (id, text) pair")
    return item


PAIRS: Checks[Any, tuple[str, str]] = Checks(
    checker=lambda: _check, id_of=lambda pair: pair[0],
    raw_id=lambda item: item if isinstance(item, str) else None, field="pairs",
)  # fmt: skip


class Provider:
    """Records what it was asked to send; answers per item, or fails as told."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.sent: list[list[tuple[str, str]]] = []
        self.fail = fail

    async def send(self, request: Request[tuple[str, str]]) -> Answer:
        request.on_wire(True)
        self.sent.append(list(request.items))
        if self.fail is not None:
            raise self.fail
        assert list(request.ids) == [pair[0] for pair in request.items]
        codes = [len(text) for _, text in request.items]
        return Answer(outcome=Outcome.STOPPED, code=codes, provider_ids=[f"p-{c}" for c in codes])


async def run(items: list[Any], provider: Provider, **kw: Any) -> Any:
    requests = Requests(checks=PAIRS, send=provider.send, **kw)
    return await collect(bulk_stream(items, requests, 10))


@pytest.mark.parametrize("one_per_item", [False, True])
async def test_invalid_items_and_repeats_are_handled_once_for_every_provider(
    one_per_item: bool,
) -> None:
    items = [("a", "x"), "bad", ("b", "yy"), ("a", "x"), ("b", "zzz"), 7]
    provider = Provider()
    report = await run(items, provider, one_per_item=one_per_item)
    sent = [pair for request in provider.sent for pair in request]
    assert sent == [("a", "x"), ("b", "yy")]  # each id once; nothing invalid
    assert len(provider.sent) == (2 if one_per_item else 1)
    rows = [(o.id, o.outcome, o.code, o.provider_id) for o in report]
    assert rows[0] == rows[3] == ("a", Outcome.STOPPED, 1, "p-1")  # the repeat takes it
    assert rows[2] == ("b", Outcome.STOPPED, 2, "p-2")
    assert rows[1][:2] == ("bad", Outcome.FAILED)  # its own id, never sent
    assert rows[5][:2] == (None, Outcome.FAILED)
    assert report[1].error.field == "pairs[1]"
    if not one_per_item:  # a different item under an id the request carries
        assert rows[4][:2] == ("b", Outcome.FAILED)
        assert "different item" in str(report[4].error)
    assert sum(report.counts.values()) == len(items)


@pytest.mark.parametrize("one_per_item", [False, True])
async def test_a_request_that_fails_as_a_whole_marks_exactly_its_items(
    one_per_item: bool,
) -> None:
    error = APIError("refused")
    error.code = 1000  # type: ignore[attr-defined]
    report = await run([("a", "x"), "bad", ("b", "y")], Provider(error), one_per_item=one_per_item)
    assert [o.outcome for o in report] == [Outcome.FAILED] * 3
    assert [o.error for o in report][0::2] == [error, error]
    assert [o.code for o in report][0::2] == [1000, 1000]
    assert isinstance(report[1].error, ValidationError)


async def test_a_request_that_may_have_been_taken_makes_its_items_unknown() -> None:
    error = OutcomeUnknownError("maybe", client_message_ids=["a"])
    report = await run([("a", "x"), ("a", "x"), "bad"], Provider(error))
    assert [o.outcome for o in report] == [Outcome.UNKNOWN, Outcome.UNKNOWN, Outcome.FAILED]
    assert report[1].error is error
