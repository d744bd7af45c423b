"""Answers that cannot be right are errors or flagged results, never plain data.

- a negative ``cancelledCount``: ``APIResponseError`` (a bulk cancel: that item
  ``failed`` with it);
- a Revicom answer giving one uuid two different codes: ``stop_batch`` raises
  ``APIResponseError``; a bulk stop makes that uuid ``unknown`` with the error and
  settles the rest;
- ``stop_batch`` items for uuids never asked: taken out of ``items`` into
  ``StopResult.extra_items``; uuids asked but not answered: ``StopResult.missing``;
- an item a bulk answer leaves out: ``unknown`` with a ``MissingFromAnswerError``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import aiomsg

SUB = "acme-sub_01"
A = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
B = "cf3cbbf5-3e2d-ea11-815d-020897df5459"
C = "0d0e6a8e-5b4f-4c3d-9a1b-2c3d4e5f6a7b"
STOP_URL = "https://direct.revicom.ltd/api/v1/message/stop"
CANCEL_URL = re.compile(r"^https://(chatapps|sms)\.8x8\.com/api/v1/subaccounts/.*$")


def stop_answer(*items: tuple[str, int]) -> dict[str, Any]:
    return {"errors": False, "items": [{"messageUuid": u, "code": c} for u, c in items]}


@pytest.mark.parametrize("count", [-1, -(2**40), 2**31, 10**26, -(10**26)])
@pytest.mark.parametrize("api", ["chatapps", "sms"])
async def test_a_negative_or_huge_cancelled_count_is_an_error(
    count: int, api: str, eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    mock_http.delete(CANCEL_URL, payload={"cancelledCount": count}, repeat=True)
    resource = getattr(eight, api)
    with pytest.raises(aiomsg.APIResponseError, match="cancelledCount"):
        await resource.cancel_message(SUB, A)
    with pytest.raises(aiomsg.APIResponseError, match="cancelledCount"):
        await resource.cancel_batch(SUB, B)
    report = await resource.cancel_messages(SUB, [A, B])
    assert [o.outcome for o in report] == [aiomsg.Outcome.FAILED] * 2
    assert all(isinstance(o.error, aiomsg.APIResponseError) for o in report)


async def test_zero_cancelled_is_still_not_cancelled(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    mock_http.delete(CANCEL_URL, payload={"cancelledCount": 0})
    assert (await eight.sms.cancel_message(SUB, A)).cancelled_count == 0


async def test_the_largest_possible_cancelled_count_is_kept(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    mock_http.delete(CANCEL_URL, payload={"cancelledCount": 2**31 - 1})
    assert (await eight.sms.cancel_batch(SUB, B)).cancelled_count == 2**31 - 1


# Revicom's codes are HTTP-style: at most three digits. Anything else cannot be right.
IMPOSSIBLE_CODES = [-200, -1, 1000, 2**31, 10**23, -(10**23)]


@pytest.mark.parametrize("code", IMPOSSIBLE_CODES)
async def test_stop_batch_raises_on_an_impossible_code(
    code: int, revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    mock_http.post(STOP_URL, payload=stop_answer((A, 200), (B, code)))
    with pytest.raises(aiomsg.APIResponseError, match="code"):
        await revicom.stop_batch([A, B])


@pytest.mark.parametrize("code", IMPOSSIBLE_CODES)
async def test_bulk_stop_never_takes_an_impossible_code_as_an_outcome(
    code: int, revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    mock_http.post(STOP_URL, payload=stop_answer((A, 200), (B, code)))
    report = await revicom.stop([A, B])
    # The answer as a whole cannot be trusted: no item is settled from it, as for
    # any answer that fails to decode.
    assert [o.outcome for o in report] == [aiomsg.Outcome.FAILED] * 2
    assert all(isinstance(o.error, aiomsg.APIResponseError) for o in report)
    assert all(o.code is None for o in report)


@pytest.mark.parametrize("code", [0, 99, 409, 999])
async def test_a_new_code_of_up_to_three_digits_is_kept(
    code: int, revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    mock_http.post(STOP_URL, payload=stop_answer((A, code)))
    assert [i.code for i in (await revicom.stop_batch([A])).items] == [code]


async def test_stop_batch_raises_when_a_uuid_gets_two_codes(
    revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    mock_http.post(STOP_URL, payload=stop_answer((A, 200), (B, 404), (A, 403)))
    with pytest.raises(aiomsg.APIResponseError) as info:
        await revicom.stop_batch([A, B])
    assert A in str(info.value)
    assert "200" in str(info.value)
    assert "403" in str(info.value)


@pytest.mark.parametrize("second", [A, A.upper()], ids=["same-case", "upper-case"])
async def test_stop_batch_keeps_one_item_when_a_uuid_is_repeated_alike(
    second: str, revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    mock_http.post(STOP_URL, payload=stop_answer((A, 200), (second, 200), (B, 404)))
    result = await revicom.stop_batch([A, B])
    assert [(i.message_uuid, i.code) for i in result.items] == [(A, 200), (B, 404)]


async def test_stop_batch_flags_uuids_never_asked_and_uuids_left_out(
    revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    mock_http.post(STOP_URL, payload=stop_answer((A, 200), (C, 200)))
    result = await revicom.stop_batch([A, B])
    assert [(i.message_uuid, i.code) for i in result.items] == [(A, 200)]
    assert [(i.message_uuid, i.code) for i in result.extra_items] == [(C, 200)]
    assert result.missing == [B]


async def test_stop_batch_never_takes_the_flags_from_the_wire(
    revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    answer = stop_answer((A, 200))
    answer["missing"] = [B]
    answer["extraItems"] = [{"messageUuid": C, "code": 200}]
    mock_http.post(STOP_URL, payload=answer)
    result = await revicom.stop_batch([A])
    assert (result.extra_items, result.missing) == ([], [])


async def test_bulk_stop_makes_a_contradicted_uuid_unknown_and_settles_the_rest(
    revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    mock_http.post(STOP_URL, payload=stop_answer((A, 200), (B, 404), (A, 403), (C, 202)))
    report = await revicom.stop([A, B, C, A])
    outcomes = [o.outcome for o in report]
    assert outcomes == [
        aiomsg.Outcome.UNKNOWN, aiomsg.Outcome.NOT_FOUND, aiomsg.Outcome.MAYBE_STOPPED,
        aiomsg.Outcome.UNKNOWN,
    ]  # fmt: skip
    first = report.outcomes[0]
    assert isinstance(first.error, aiomsg.APIResponseError)
    assert "two different codes" in str(first.error)
    assert first.code is None


async def test_bulk_stop_marks_a_left_out_uuid_with_its_own_error(
    revicom: aiomsg.Revicom, mock_http: Any
) -> None:
    mock_http.post(STOP_URL, payload=stop_answer((A, 200), (C, 200)))
    report = await revicom.stop([A, B])
    assert [o.outcome for o in report] == [aiomsg.Outcome.STOPPED, aiomsg.Outcome.UNKNOWN]
    assert isinstance(report.outcomes[1].error, aiomsg.MissingFromAnswerError)
    assert isinstance(report.outcomes[1].error, aiomsg.APIResponseError)
    assert report.extra_items == 1


def test_missing_from_answer_is_a_public_error() -> None:
    assert "MissingFromAnswerError" in aiomsg.__all__
    assert issubclass(aiomsg.MissingFromAnswerError, aiomsg.APIError)


async def test_bulk_line_send_marks_a_left_out_message_with_its_own_error(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    url = f"https://chatapps.8x8.com/api/v1/subaccounts/{SUB}/lon/batch"
    answer = {
        "batchId": B,
        "messages": [{"umid": A, "clientMessageId": "m-1", "status": {"state": "queued"}}],
    }
    mock_http.post(url, payload=answer)
    messages = [
        {"user": {"msisdn": "+6591234567"}, "content": {"title": "x"}, "clientMessageId": cmid}
        for cmid in ("m-1", "m-2")
    ]
    report = await eight.chatapps.send_line_notifications(SUB, messages)
    assert [o.outcome for o in report] == [aiomsg.Outcome.ACCEPTED, aiomsg.Outcome.UNKNOWN]
    assert isinstance(report.outcomes[1].error, aiomsg.MissingFromAnswerError)
