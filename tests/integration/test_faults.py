"""Every injectable fault, met by the real clients: what is retried, what is never re-sent."""

from __future__ import annotations

import datetime as dt

import pytest

import aiomsg
from aiomsg.testing import Fault, Simulator

from .conftest import FAST_RETRY, SUB, line

#: The read timeout for stall tests: short, so a stall outlasts it quickly.
STALL_TIMEOUT = aiomsg.Timeout(connect=5.0, read=0.2, total=5.0)


def statuses(sim: Simulator, route: str) -> list[int | None]:
    return [r.status for r in sim.requests_for(route)]


# ---------------------------------------------------------------------------- error statuses


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_errors_on_a_cancel_are_retried(
    sim: Simulator, client: aiomsg.EightByEight, status: int
) -> None:
    seeded = sim.add_sms_messages(1)
    rule = sim.inject(Fault.status(status), route="sms.cancel_message", times=2)
    result = await client.sms.cancel_message(SUB, seeded.umids[0])
    assert result.cancelled_count == 1
    assert statuses(sim, "sms.cancel_message") == [status, status, 200]
    assert rule.hits == 2


async def test_500_on_a_cancel_is_not_retried(sim: Simulator, client: aiomsg.EightByEight) -> None:
    seeded = sim.add_chatapps_messages(1)
    sim.inject(Fault.status(500), route="chatapps.cancel_message")
    with pytest.raises(aiomsg.InternalServerError) as info:
        await client.chatapps.cancel_message(SUB, seeded.umids[0])
    assert (info.value.status_code, info.value.code) == (500, 2000)
    assert statuses(sim, "chatapps.cancel_message") == [500]
    assert sim.message(seeded.umids[0]).state == "scheduled"


async def test_5xx_on_a_line_send_is_outcome_unknown(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    sim.inject(Fault.status(503), route="chatapps.send_line_notification_batch")
    with pytest.raises(aiomsg.OutcomeUnknownError) as info:
        await client.chatapps.send_line_notification_batch(SUB, [line(0), line(1)])
    assert info.value.client_message_ids == ("msg-0", "msg-1")
    assert statuses(sim, "chatapps") == [503]  # never re-sent
    assert sim.messages == []


async def test_gateway_error_on_a_revicom_stop_is_retried(
    sim: Simulator, revicom_client: aiomsg.Revicom
) -> None:
    uuids = sim.add_revicom_messages(2)
    sim.inject(Fault.status(502), route="revicom")
    result = await revicom_client.stop_batch(uuids)
    assert [item.code for item in result.items] == [200, 200]
    assert statuses(sim, "revicom.stop") == [502, 200]


# ---------------------------------------------------------------------------- 429


async def test_429_on_a_line_send_is_retried(sim: Simulator, client: aiomsg.EightByEight) -> None:
    sim.inject(Fault.rate_limited(0), route="chatapps.send_line_notification_batch")
    result = await client.chatapps.send_line_notification_batch(SUB, [line(0)])
    assert result.accepted_count == 1
    assert statuses(sim, "chatapps") == [429, 200]
    assert len(sim.batches) == 1  # the refused attempt created nothing
    assert sim.requests[0].code == 1100


async def test_429_with_an_http_date_on_a_cancel_is_retried(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    seeded = sim.add_sms_messages(1)
    sim.inject(Fault.rate_limited(0, http_date=True), route="sms.cancel_message")
    assert (await client.sms.cancel_message(SUB, seeded.umids[0])).cancelled_count == 1
    assert statuses(sim, "sms") == [429, 200]


async def test_429_beyond_max_retry_after_raises_at_once(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
    sim.inject(Fault.rate_limited(later), route="sms.cancel_batch")
    with pytest.raises(aiomsg.RateLimitError) as info:
        await client.sms.cancel_batch(SUB, "3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert info.value.retry_after is not None
    assert info.value.retry_after > 3600
    assert statuses(sim, "sms") == [429]


async def test_rate_limit_of_the_simulator(sim: Simulator, client: aiomsg.EightByEight) -> None:
    sim.rate_limit = 0.01  # one request per 100 s, after a burst of two
    sim.rate_limit_burst = 2
    seeded = sim.add_sms_messages(3, batch=False)
    for umid in seeded.umids[:2]:
        assert (await client.sms.cancel_message(SUB, umid)).cancelled_count == 1
    # Retry-After: 100 is beyond the client's max_retry_after: it raises at once.
    with pytest.raises(aiomsg.RateLimitError) as info:
        await client.sms.cancel_message(SUB, seeded.umids[2])
    assert (info.value.retry_after, info.value.code) == (100.0, 1100)
    assert statuses(sim, "sms") == [200, 200, 429]


# ---------------------------------------------------------------------------- resets


async def test_reset_before_the_body_on_a_cancel_is_retried(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    seeded = sim.add_chatapps_messages(1)
    sim.inject(Fault.reset_before_body(), route="chatapps.cancel_message")
    assert (await client.chatapps.cancel_message(SUB, seeded.umids[0])).cancelled_count == 1
    assert statuses(sim, "chatapps.cancel_message") == [None, 200]


async def test_reset_before_the_body_on_a_line_send_is_outcome_unknown(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    sim.inject(Fault.reset_before_body(), route="chatapps.send_line_notification")
    with pytest.raises(aiomsg.OutcomeUnknownError) as info:
        await client.chatapps.send_line_notification(SUB, line(3))
    assert info.value.client_message_ids == ("msg-3",)
    assert isinstance(info.value.__cause__, aiomsg.APIConnectionError)
    assert len(sim.requests) == 1
    assert sim.messages == []  # in fact it was not taken; the client cannot know that


async def test_reset_after_the_body_on_a_line_send(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    sim.inject(Fault.reset_after_body(), route="chatapps.send_line_notification_batch")
    with pytest.raises(aiomsg.OutcomeUnknownError) as info:
        await client.chatapps.send_line_notification_batch(SUB, [line(0), line(1)])
    assert info.value.client_message_ids == ("msg-0", "msg-1")
    assert len(sim.requests) == 1  # exactly one request: never re-sent
    assert sim.requests[0].status is None
    # The simulator took the batch before the connection broke: reconcile by id.
    (taken,) = sim.find_messages(client_message_id="msg-0")
    assert taken.state == "scheduled"


async def test_reset_after_the_body_on_a_cancel_is_retried(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    seeded = sim.add_sms_messages(1)
    sim.inject(Fault.reset_after_body(), route="sms.cancel_message")
    result = await client.sms.cancel_message(SUB, seeded.umids[0])
    # The first attempt cancelled it but its answer was lost; the retry finds nothing left.
    assert result.cancelled_count == 0
    assert sim.message(seeded.umids[0]).state == "cancelled"
    assert statuses(sim, "sms") == [None, 200]


async def test_reset_on_a_revicom_stop_is_retried(
    sim: Simulator, revicom_client: aiomsg.Revicom
) -> None:
    uuids = sim.add_revicom_messages(2)
    sim.inject(Fault.reset_after_body(process=False), route="revicom.stop")
    result = await revicom_client.stop_batch(uuids)
    assert [item.code for item in result.items] == [200, 200]
    assert statuses(sim, "revicom") == [None, 200]


# ---------------------------------------------------------------------------- stalls


async def test_stall_past_the_timeout_on_a_cancel_is_retried(sim: Simulator) -> None:
    seeded = sim.add_sms_messages(1)
    sim.inject(Fault.stall(30), route="sms.cancel_batch")
    async with sim.eightbyeight(retry=FAST_RETRY, timeout=STALL_TIMEOUT) as client:
        assert seeded.batch_id is not None
        result = await client.sms.cancel_batch(SUB, seeded.batch_id)
    assert result.cancelled_count == 1
    assert statuses(sim, "sms") == [None, 200]  # the first is still held by the stall


async def test_stall_on_a_line_send_is_outcome_unknown(sim: Simulator) -> None:
    sim.inject(Fault.stall(30), route="chatapps.send_line_notification_batch")
    async with sim.eightbyeight(retry=FAST_RETRY, timeout=STALL_TIMEOUT) as client:
        with pytest.raises(aiomsg.OutcomeUnknownError) as info:
            await client.chatapps.send_line_notification_batch(SUB, [line(0)])
    assert isinstance(info.value.__cause__, aiomsg.APITimeoutError)
    assert len(sim.requests) == 1


# ---------------------------------------------------------------------------- broken bodies


async def test_truncated_body_on_a_cancel_is_retried(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    seeded = sim.add_chatapps_messages(2)
    sim.inject(Fault.truncated_body(), route="chatapps.cancel_batch")
    assert seeded.batch_id is not None
    result = await client.chatapps.cancel_batch(SUB, seeded.batch_id)
    assert result.cancelled_count == 0  # the first attempt did it; its answer was cut
    assert {sim.message(u).state for u in seeded.umids} == {"cancelled"}
    assert len(sim.requests) == 2


async def test_truncated_body_on_a_line_send_is_outcome_unknown(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    sim.inject(Fault.truncated_body(), route="chatapps.send_line_notification")
    with pytest.raises(aiomsg.OutcomeUnknownError):
        await client.chatapps.send_line_notification(SUB, line(0))
    assert len(sim.requests) == 1
    assert len(sim.find_messages(client_message_id="msg-0")) == 1


async def test_non_json_success_body(sim: Simulator, client: aiomsg.EightByEight) -> None:
    seeded = sim.add_sms_messages(1)
    sim.inject(Fault.non_json_body(200), route="sms.cancel_message")
    with pytest.raises(aiomsg.APIResponseError) as info:
        await client.sms.cancel_message(SUB, seeded.umids[0])
    assert info.value.status_code == 200
    assert statuses(sim, "sms") == [200]


async def test_non_json_gateway_error_is_retried(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    seeded = sim.add_sms_messages(1)
    sim.inject(Fault.non_json_body(502), route="sms.cancel_message")
    assert (await client.sms.cancel_message(SUB, seeded.umids[0])).cancelled_count == 1
    assert statuses(sim, "sms") == [502, 200]


async def test_non_json_answer_to_a_line_send(sim: Simulator, client: aiomsg.EightByEight) -> None:
    sim.inject(Fault.non_json_body(), route="chatapps.send_line_notification_batch")
    with pytest.raises(aiomsg.OutcomeUnknownError) as info:
        await client.chatapps.send_line_notification_batch(SUB, [line(0)])
    assert isinstance(info.value.__cause__, aiomsg.APIResponseError)
    assert len(sim.requests) == 1


# ---------------------------------------------------------------------------- 426


async def test_426_on_demand(sim: Simulator, client: aiomsg.EightByEight) -> None:
    sim.inject(Fault.tls_version(), route="sms")
    with pytest.raises(aiomsg.TLSVersionError) as info:
        await client.sms.cancel_message(SUB, "3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert (info.value.status_code, info.value.code) == (426, 1014)
    assert "Detected: TLSv1.2" in info.value.message
    assert len(sim.requests) == 1  # never retried


# ---------------------------------------------------------------------------- probability


async def test_probabilistic_faults_repeat_with_the_seed(sim: Simulator) -> None:
    async def run(seed: int) -> list[int | None]:
        async with Simulator(seed=seed, tls=sim.tls) as other:
            seeded = other.add_sms_messages(12, batch=False)
            other.inject(Fault.status(503), route="sms.cancel_message", probability=0.4)
            retry = aiomsg.RetryPolicy(max_attempts=20, backoff_base=0.001, backoff_cap=0.002)
            async with other.eightbyeight(retry=retry) as client:
                for umid in seeded.umids:
                    assert (await client.sms.cancel_message(SUB, umid)).cancelled_count == 1
            return statuses(other, "sms")

    first = await run(21)
    assert first == await run(21)
    assert first.count(200) == 12
    assert 503 in first
