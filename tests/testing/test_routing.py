"""Every id the client accepts reaches the right route of the simulator, intact."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aiomsg import ValidationError
from aiomsg._validation import check_segment
from aiomsg.testing import Simulator

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that URLs treat specially, plus the rest of Unicode the client accepts.
_SPECIAL = st.sampled_from(list("{}/%?#.&+=;:@!$'()*,~[]|\\^`\"<> é𝄞"))
_PIECES = st.one_of(_SPECIAL, st.sampled_from(["%2F", "%7B", "%25", ".."]), st.characters())
_TEXT = st.lists(_PIECES, min_size=1, max_size=12).map("".join)


def _accepted(value: str) -> bool:
    try:
        check_segment(value, "id")
    except ValidationError:
        return False
    return True


SEGMENTS = _TEXT.filter(_accepted)
SUB_ACCOUNTS = st.from_regex(r"[A-Za-z0-9\-._&]{3,50}", fullmatch=True)


async def _delete_flow(channel_id: str, flow_id: str) -> None:
    async with Simulator(seed=1) as sim:
        sim.add_flow(channel_id, flow_id)
        decoy = sim.add_flow(channel_id + "x", flow_id)
        async with sim.eightbyeight() as client:
            await client.chatapps.delete_whatsapp_flow(sim.account_id, channel_id, flow_id)
        assert [r.route for r in sim.requests] == ["chatapps.delete_whatsapp_flow"]
        assert sim.requests[0].match["channel_id"] == channel_id
        assert sim.requests[0].match["flow_id"] == flow_id
        assert [(f.channel_id, f.flow_id) for f in sim.flows] == [(channel_id + "x", decoy)]
        sim.assert_no_unexpected_requests()


@SETTINGS
@given(channel_id=SEGMENTS, flow_id=SEGMENTS)
@example(channel_id="{channel}", flow_id="{flow_id}")
@example(channel_id="a/b", flow_id="%2F")
@example(channel_id="...", flow_id=".a.")
@example(channel_id="%", flow_id="%7B%7D")
def test_any_flow_id_the_client_accepts_reaches_the_delete_route(
    channel_id: str, flow_id: str
) -> None:
    asyncio.run(_delete_flow(channel_id, flow_id))


async def _cancel(sub: str) -> None:
    async with Simulator(seed=1, sub_accounts=(sub,)) as sim:
        sms = sim.add_sms_messages(1)
        chat = sim.add_chatapps_messages(2)
        async with sim.eightbyeight() as client:
            assert (await client.sms.cancel_message(sub, sms.umids[0])).cancelled_count == 1
            assert chat.batch_id is not None
            assert (await client.chatapps.cancel_batch(sub, chat.batch_id)).cancelled_count == 2
        assert [r.route for r in sim.requests] == ["sms.cancel_message", "chatapps.cancel_batch"]
        assert {r.match["sub_account_id"] for r in sim.requests} == {sub}
        sim.assert_no_unexpected_requests()


@SETTINGS
@given(sub=SUB_ACCOUNTS)
@example(sub="...")
@example(sub="a&b")
@example(sub="batch")
def test_any_sub_account_the_client_accepts_reaches_its_route(sub: str) -> None:
    asyncio.run(_cancel(sub))


@pytest.mark.parametrize(
    "path",
    [
        "/chatapps/api/v1/accounts/x/channels/%FF/flows/f",  # not UTF-8
        "/chatapps/api/v1/accounts/x/channels/a/b/flows/f",  # a raw slash splits segments
        "/sms/api/v1/subaccounts/s/messages/batch",  # a method the route does not take
    ],
)
async def test_what_no_client_sends_is_an_unknown_endpoint(path: str) -> None:
    async with Simulator() as sim:
        async with aiohttp.ClientSession() as session:
            method = "POST" if "batch" in path and "sms" in path else "DELETE"
            async with session.request(method, sim.url + path) as resp:
                assert resp.status == 404
                body = await resp.json()
        assert body["message"].startswith("No such endpoint")
        assert len(sim.unexpected_requests) == 1


async def test_a_newline_in_a_segment_reaches_its_route() -> None:
    """aiohttp's own router would answer a bare 404 to a decoded path with a newline."""
    async with Simulator(seed=1) as sim, aiohttp.ClientSession() as session:
        sim.add_flow("a\nb", "f")
        url = f"{sim.chatapps_url}/api/v1/accounts/{sim.account_id}/channels/a%0Ab/flows/f"
        headers = {"Authorization": f"Bearer {sim.api_key}"}
        async with session.delete(url, headers=headers) as resp:
            assert resp.status == 200
        async with session.delete(url + "%0A", headers=headers) as resp:
            assert resp.status == 404
            assert (await resp.json())["code"] == 1300
    assert [r.route for r in sim.requests] == ["chatapps.delete_whatsapp_flow"] * 2
