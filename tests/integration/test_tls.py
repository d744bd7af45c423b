"""TLS versions and trust: the client's minimum, 8x8's 426 / 1014, a CA it does not know."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import pytest

import aiomsg
from aiomsg.testing import Simulator

from .conftest import FAST_RETRY, SUB

UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


@pytest.fixture
async def tls12_sim() -> AsyncIterator[Simulator]:
    async with Simulator(tls=True, tls_max_version=ssl.TLSVersion.TLSv1_2) as sim:
        yield sim


async def test_default_client_refuses_a_tls12_server(tls12_sim: Simulator) -> None:
    attempts: list[aiomsg.RequestEvent] = []
    async with tls12_sim.eightbyeight(retry=FAST_RETRY, on_request=attempts.append) as client:
        with pytest.raises(aiomsg.TLSHandshakeError) as info:
            await client.sms.cancel_message(SUB, UMID)
    assert info.value.request_sent is False
    assert len(attempts) == 1  # a handshake failure is final: never retried
    assert tls12_sim.requests == []  # no HTTP request ever reached the server


async def test_client_allowing_tls12_gets_426(tls12_sim: Simulator) -> None:
    async with tls12_sim.eightbyeight(
        retry=FAST_RETRY, min_tls_version=ssl.TLSVersion.TLSv1_2
    ) as client:
        with pytest.raises(aiomsg.TLSVersionError) as info:
            await client.chatapps.cancel_message(SUB, UMID)
    assert (info.value.status_code, info.value.code) == (426, 1014)
    assert "Detected: TLSv1.2" in info.value.message
    (rec,) = tls12_sim.requests  # not retried
    assert rec.tls_version == "TLSv1.2"


async def test_revicom_accepts_tls12(tls12_sim: Simulator) -> None:
    (uuid,) = tls12_sim.add_revicom_messages(1)
    async with tls12_sim.revicom(retry=FAST_RETRY) as revicom:
        result = await revicom.stop_batch([uuid])
    assert [item.code for item in result.items] == [200]


async def test_untrusted_certificate_is_a_handshake_error() -> None:
    async with Simulator(tls=True) as sim:
        stranger = ssl.create_default_context()  # the system store: no simulator CA
        async with sim.eightbyeight(ssl=stranger, retry=FAST_RETRY) as client:
            with pytest.raises(aiomsg.TLSHandshakeError):
                await client.sms.cancel_message(SUB, UMID)
        assert sim.requests == []


async def test_ca_file_is_enough_to_trust_the_simulator() -> None:
    async with Simulator(tls=True) as sim:
        ctx = ssl.create_default_context(cafile=sim.ca_path)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        (umid,) = sim.add_sms_messages(1).umids
        async with sim.eightbyeight(ssl=ctx) as client:
            assert (await client.sms.cancel_message(SUB, umid)).cancelled_count == 1
