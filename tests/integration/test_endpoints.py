"""Every single-request endpoint of the real clients, against the simulator."""

from __future__ import annotations

import pytest

import aiomsg
from aiomsg.testing import Simulator

from .conftest import FAST_RETRY, SUB, line

UNKNOWN = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


# ---------------------------------------------------------------------------- Chat Apps


async def test_send_line_notification_batch(sim: Simulator, client: aiomsg.EightByEight) -> None:
    result = await client.chatapps.send_line_notification_batch(
        SUB, [line(0), line(1), line(2)], client_batch_id="batch-1",
        include_messages_in_response=True,
    )  # fmt: skip
    assert (result.accepted_count, result.rejected_count) == (3, 0)
    assert result.client_batch_id == "batch-1"
    assert result.messages is not None
    assert [m.client_message_id for m in result.messages] == ["msg-0", "msg-1", "msg-2"]
    assert {m.status.state for m in result.messages} == {aiomsg.MessageState.QUEUED}
    assert sim.batch(result.batch_id).umids == [m.umid for m in result.messages]
    assert {m.state for m in sim.find_messages(batch_id=result.batch_id)} == {"scheduled"}
    (rec,) = sim.requests
    assert rec.route == "chatapps.send_line_notification_batch"
    assert rec.body["clientBatchId"] == "batch-1"
    assert rec.headers["Authorization"] == "Bearer ***"
    assert rec.tls_version == ("TLSv1.3" if sim.tls else None)


async def test_line_batch_with_typed_messages_and_rejections(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    sim.reject_recipients(["+6591230001"], code=3003, message="Invalid MSISDN")
    messages = [
        aiomsg.LineNotification(
            user=aiomsg.LineUser(msisdn=f"+659123{n:04d}"),
            content=aiomsg.LineContent(title="Hi"),
            sms_fallback=aiomsg.SmsFallback(text="Hi", source="Info", encoding="AUTO"),
        )
        for n in range(2)
    ]
    result = await client.chatapps.send_line_notification_batch(
        SUB, messages, include_messages_in_response=True
    )
    assert (result.accepted_count, result.rejected_count) == (1, 1)
    assert result.messages is not None
    rejected = result.messages[1].status
    assert (rejected.state, rejected.error_code) == ("rejected", 3003)
    # The client gave each message a clientMessageId; the simulator saw the same ones.
    sent_ids = [m["clientMessageId"] for m in sim.requests[0].body["messages"]]
    assert [m.client_message_id for m in result.messages] == sent_ids


async def test_send_line_notification(sim: Simulator, client: aiomsg.EightByEight) -> None:
    result = await client.chatapps.send_line_notification(SUB, line(7))
    assert result.client_message_id == "msg-7"
    assert result.status.state == "queued"
    assert sim.message(result.umid).state == "scheduled"
    assert sim.message(result.umid).client_message_id == "msg-7"


async def test_chatapps_cancel_message(sim: Simulator, client: aiomsg.EightByEight) -> None:
    sent = await client.chatapps.send_line_notification(SUB, line())
    assert (await client.chatapps.cancel_message(SUB, sent.umid)).cancelled_count == 1
    assert sim.message(sent.umid).state == "cancelled"
    assert (await client.chatapps.cancel_message(SUB, sent.umid)).cancelled_count == 0
    with pytest.raises(aiomsg.NotFoundError) as info:
        await client.chatapps.cancel_message(SUB, UNKNOWN)
    assert (info.value.status_code, info.value.code) == (404, 1300)
    assert info.value.message == "Message not found."


async def test_chatapps_cancel_after_the_send_time(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    sent = await client.chatapps.send_line_notification(SUB, line())
    sim.advance(sim.schedule_delay)
    assert (await client.chatapps.cancel_message(SUB, sent.umid)).cancelled_count == 0
    assert sim.message(sent.umid).state == "sent"


async def test_chatapps_cancel_batch(sim: Simulator, client: aiomsg.EightByEight) -> None:
    result = await client.chatapps.send_line_notification_batch(
        SUB, [line(n) for n in range(4)], include_messages_in_response=True
    )
    assert result.messages is not None
    await client.chatapps.cancel_message(SUB, result.messages[0].umid)
    assert (await client.chatapps.cancel_batch(SUB, result.batch_id)).cancelled_count == 3
    assert (await client.chatapps.cancel_batch(SUB, result.batch_id)).cancelled_count == 0
    assert (await client.chatapps.cancel_batch(SUB, UNKNOWN)).cancelled_count == 0
    assert {m.state for m in sim.find_messages(batch_id=result.batch_id)} == {"cancelled"}


async def test_delete_whatsapp_flow(sim: Simulator, client: aiomsg.EightByEight) -> None:
    draft = sim.add_flow("wa-channel")
    published = sim.add_flow("wa-channel", status="PUBLISHED")
    deprecated = sim.add_flow("wa-channel", status="DEPRECATED")
    assert await client.chatapps.delete_whatsapp_flow(sim.account_id, "wa-channel", draft) is None
    assert [f.flow_id for f in sim.flows] == [published, deprecated]
    for flow_id in (published, deprecated):
        with pytest.raises(aiomsg.ConflictError) as conflict:
            await client.chatapps.delete_whatsapp_flow(sim.account_id, "wa-channel", flow_id)
        assert conflict.value.status_code == 409
    with pytest.raises(aiomsg.NotFoundError):
        await client.chatapps.delete_whatsapp_flow(sim.account_id, "wa-channel", draft)
    assert [r.status for r in sim.requests] == [200, 409, 409, 404]


async def test_delete_flow_with_odd_ids_reaches_the_right_flow(
    sim: Simulator, client: aiomsg.EightByEight
) -> None:
    sim.add_flow("chan/../x", "flow?id=1#2")
    await client.chatapps.delete_whatsapp_flow(sim.account_id, "chan/../x", "flow?id=1#2")
    assert sim.flows == []


# ---------------------------------------------------------------------------- SMS


async def test_sms_cancel_message(sim: Simulator, client: aiomsg.EightByEight) -> None:
    seeded = sim.add_sms_messages(2)
    assert (await client.sms.cancel_message(SUB, seeded.umids[0])).cancelled_count == 1
    assert (await client.sms.cancel_message(SUB, seeded.umids[0])).cancelled_count == 0
    assert sim.message(seeded.umids[1]).state == "scheduled"
    with pytest.raises(aiomsg.NotFoundError) as info:
        await client.sms.cancel_message(SUB, UNKNOWN)
    assert info.value.code == 1300
    (chatapps_umid,) = sim.add_chatapps_messages(1).umids
    with pytest.raises(aiomsg.NotFoundError):
        await client.sms.cancel_message(SUB, chatapps_umid)


async def test_sms_cancel_batch(sim: Simulator, client: aiomsg.EightByEight) -> None:
    seeded = sim.add_sms_messages(3)
    sent = sim.add_sms_messages(2, state="sent")
    assert seeded.batch_id is not None
    assert sent.batch_id is not None
    assert (await client.sms.cancel_batch(SUB, seeded.batch_id)).cancelled_count == 3
    assert (await client.sms.cancel_batch(SUB, seeded.batch_id)).cancelled_count == 0
    assert (await client.sms.cancel_batch(SUB, sent.batch_id)).cancelled_count == 0


# ---------------------------------------------------------------------------- credentials


async def test_wrong_api_key(sim: Simulator) -> None:
    async with sim.eightbyeight(api_key="not-the-key", retry=FAST_RETRY) as client:
        with pytest.raises(aiomsg.AuthenticationError) as info:
            await client.sms.cancel_message(SUB, UNKNOWN)
    assert (info.value.status_code, info.value.code) == (401, 1200)
    assert info.value.message == "Request was not authenticated properly"
    assert len(sim.requests) == 1


async def test_sub_account_of_another_customer(sim: Simulator, client: aiomsg.EightByEight) -> None:
    with pytest.raises(aiomsg.BadRequestError) as info:
        await client.chatapps.cancel_message("someone-else", UNKNOWN)
    assert (info.value.status_code, info.value.code) == (400, 1001)


# ---------------------------------------------------------------------------- Revicom


async def test_revicom_stop_batch(sim: Simulator, revicom_client: aiomsg.Revicom) -> None:
    queued = sim.add_revicom_messages(2)
    (sending,) = sim.add_revicom_messages(1, state="sending")
    (sent,) = sim.add_revicom_messages(1, state="sent")
    result = await revicom_client.stop_batch([*queued, sending, sent, UNKNOWN, queued[0]])
    codes = {item.message_uuid: item.code for item in result.items}
    assert codes == {queued[0]: 200, queued[1]: 200, sending: 202, sent: 403, UNKNOWN: 404}
    assert result.errors is True
    assert sim.requests[0].body == {"uuids": [*queued, sending, sent, UNKNOWN]}  # deduplicated
    assert sim.revicom_message(queued[0]).state == "queued"  # the stop has not landed yet
    sim.advance(sim.stop_delay)
    assert [sim.revicom_message(u).state for u in (*queued, sending, sent)] == [
        "stopped",
        "stopped",
        "stopped",
        "sent",
    ]


async def test_revicom_stops_a_cascade(sim: Simulator, revicom_client: aiomsg.Revicom) -> None:
    (root,) = sim.add_revicom_messages(1)
    cascade = sim.add_revicom_messages(3, cascade_of=root)
    result = await revicom_client.stop_batch([root])
    assert (result.errors, [i.code for i in result.items]) == (False, [200])
    sim.advance(sim.stop_delay)
    assert {sim.revicom_message(u).state for u in cascade} == {"stopped"}


async def test_revicom_wrong_token(sim: Simulator) -> None:
    async with sim.revicom(token="wrong", retry=FAST_RETRY) as revicom:
        with pytest.raises(aiomsg.AuthenticationError):
            await revicom.stop_batch([UNKNOWN])
