"""Starting, stopping and TLS: idempotent, bounded, nothing left open."""

from __future__ import annotations

import asyncio
import socket
import ssl
import tempfile
import uuid
from pathlib import Path

import aiohttp
import anyio
import pytest

from aiomsg.testing import Fault, Simulator

from .conftest import SUB, UMID


async def test_start_and_stop_are_idempotent() -> None:
    sim = Simulator()
    assert await sim.start() is sim
    port = sim.port
    assert port > 0
    await sim.start()
    assert sim.port == port
    assert sim.url == f"http://127.0.0.1:{port}"
    assert (sim.chatapps_url, sim.sms_url, sim.revicom_url) == (
        f"{sim.url}/chatapps",
        f"{sim.url}/sms",
        f"{sim.url}/revicom",
    )
    seeded = sim.add_sms_messages(1)
    await sim.stop()
    await sim.stop()
    assert not sim.started
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get(f"http://127.0.0.1:{port}/")
    async with sim:  # a stopped simulator starts again, with its state
        assert sim.message(seeded.umids[0]).state == "scheduled"


async def test_stop_ends_a_stall_at_once() -> None:
    sim = await Simulator().start()
    sim.inject(Fault.stall(600), route="sms.cancel_message")
    seeded = sim.add_sms_messages(1)
    url = f"{sim.sms_url}/api/v1/subaccounts/{SUB}/messages/{seeded.umids[0]}"
    async with aiohttp.ClientSession() as session:

        async def cancel() -> None:
            headers = {"Authorization": f"Bearer {sim.api_key}"}
            with pytest.raises(aiohttp.ClientError):
                await session.delete(url, headers=headers)

        with anyio.fail_after(10):  # a bound, not a timing assertion
            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel)
                for _ in range(500):
                    if sim.requests:
                        break
                    await asyncio.sleep(0.01)
                assert sim.requests[0].status is None  # held by the stall
                await sim.stop()
    # The stalled request was dropped without acting on it.
    assert sim.message(seeded.umids[0]).state == "scheduled"


async def test_stop_with_idle_keep_alive_connections() -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(f"{sim.url}/nowhere") as resp:
                await resp.read()
        sim.clear_requests()


async def test_tls_serves_https_with_a_fresh_ca() -> None:
    async with Simulator(tls=True) as sim:
        assert sim.url.startswith("https://127.0.0.1:")
        ca_path = anyio.Path(sim.ca_path)
        assert (await ca_path.read_bytes()).startswith(b"-----BEGIN CERTIFICATE-----")
        ctx = ssl.create_default_context(cafile=str(ca_path))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{sim.url}/nowhere", ssl=ctx) as resp:
                assert resp.status == 404
            async with session.get(f"{sim.url}/nowhere", ssl=sim.ssl_context()) as resp:
                assert resp.status == 404
        assert sim.ssl_context() is sim.ssl_context()
        assert sim.unexpected_requests[0].tls_version == "TLSv1.3"
        sim.clear_requests()
    assert not await ca_path.parent.exists()


async def test_tls12_connection_gets_426_from_8x8_but_not_revicom() -> None:
    async with Simulator(tls=True, tls_max_version=ssl.TLSVersion.TLSv1_2) as sim:
        ctx = sim.ssl_context(minimum_version=ssl.TLSVersion.TLSv1_2)
        async with aiohttp.ClientSession() as session:
            url = f"{sim.sms_url}/api/v1/subaccounts/{SUB}/messages/{UMID}"
            async with session.delete(url, ssl=ctx) as resp:
                body = await resp.json()
                assert resp.status == 426
                assert resp.headers["Upgrade"] == "TLS/1.3"
                assert body["code"] == 1014
                assert body["message"] == (
                    "TLS 1.3+ is required for Singapore-bound messages. Detected: TLSv1.2"
                )
            headers = {"Authorization": f"Basic {sim.revicom_token}"}
            url = f"{sim.revicom_url}/api/v1/message/stop"
            async with session.post(url, json={"uuids": [UMID]}, headers=headers, ssl=ctx) as resp:
                assert resp.status == 200
        assert [r.tls_version for r in sim.requests] == ["TLSv1.2", "TLSv1.2"]


async def test_426_can_be_switched_off() -> None:
    async with Simulator(
        tls=True, tls_max_version=ssl.TLSVersion.TLSv1_2, require_tls13=False
    ) as sim:
        ctx = sim.ssl_context(minimum_version=ssl.TLSVersion.TLSv1_2)
        async with aiohttp.ClientSession() as session:
            url = f"{sim.sms_url}/api/v1/subaccounts/{SUB}/messages/{UMID}"
            headers = {"Authorization": f"Bearer {sim.api_key}"}
            async with session.delete(url, ssl=ctx, headers=headers) as resp:
                assert resp.status == 404


async def test_a_failed_tls_start_leaves_no_certificate_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        sim = Simulator(tls=True, port=busy.getsockname()[1])
        with pytest.raises(OSError, match="address already in use"):
            await sim.start()
    assert not sim.started
    assert _names(tmp_path) == []
    async with sim:  # the port is free again: it starts, with new certificate files
        assert len(_names(tmp_path)) == 1
    assert _names(tmp_path) == []


def _names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


async def test_the_request_log_can_be_bounded() -> None:
    with pytest.raises(ValueError, match="request_log_limit"):
        Simulator(request_log_limit=0)
    async with Simulator(request_log_limit=3) as sim, aiohttp.ClientSession() as session:
        for i in range(5):
            async with session.get(f"{sim.url}/nowhere/{i}") as resp:
                await resp.read()
            url = f"{sim.sms_url}/api/v1/subaccounts/{SUB}/messages/{UMID}"
            async with session.delete(url) as resp:
                assert resp.status == 401
        assert [r.path for r in sim.unexpected_requests] == [f"/nowhere/{i}" for i in (2, 3, 4)]
        # The latest three of ten (requests to unknown routes are logged in both).
        assert [r.route for r in sim.requests] == ["sms.cancel_message", None, "sms.cancel_message"]
        sim.clear_requests()
        assert (sim.requests, sim.unexpected_requests) == ([], [])
        assert sim.request_counts == {}


def _uuids(batch: int, count: int) -> list[str]:
    return [str(uuid.UUID(int=batch << 64 | i, version=4)) for i in range(count)]


async def test_the_request_log_is_bounded_in_bytes_and_counts_every_route() -> None:
    assert Simulator().request_log_bytes is not None
    assert Simulator().request_log_bytes <= 64 * 1024 * 1024 // 2  # two logs: <= 64 MB
    with pytest.raises(ValueError, match="request_log_bytes"):
        Simulator(request_log_bytes=0)
    bound = 1_000_000
    # Twelve stops of 10,000 uuids: about 4.4 MB of bodies, 4.4 times the bound.
    async with Simulator(request_log_bytes=bound) as sim, sim.revicom() as revicom:
        for batch in range(12):
            await revicom.stop_batch(_uuids(batch, 10_000))
        kept = sim.requests
        assert 1 <= len(kept) < 12
        assert sum(r.footprint() for r in kept) <= bound
        assert all(r.footprint() > len(r.raw_body) > 300_000 for r in kept)
        assert kept[-1].body["uuids"] == _uuids(11, 10_000)  # the latest are kept
        assert sim.request_counts["revicom.stop"] == 12
        assert sim.requests_dropped == 12 - len(kept)
    # A record larger than the whole bound on its own is counted, not kept.
    async with Simulator(request_log_bytes=10_000) as sim, sim.revicom() as revicom:
        await revicom.stop_batch(_uuids(12, 10_000))
        assert sim.requests == []
        assert sim.request_counts["revicom.stop"] == 1


async def test_the_unexpected_log_is_bounded_in_bytes_too() -> None:
    async with Simulator(request_log_bytes=200_000) as sim, aiohttp.ClientSession() as session:
        for i in range(8):
            async with session.post(f"{sim.url}/nowhere/{i}", data=b"x" * 60_000) as resp:
                assert resp.status == 404
        assert [r.path for r in sim.unexpected_requests] == [
            "/nowhere/5",
            "/nowhere/6",
            "/nowhere/7",
        ]
        assert sim.request_counts[None] == 8
        sim.requests.clear()  # changed from outside: the bound still holds afterwards
        async with session.post(f"{sim.url}/nowhere/8", data=b"x" * 60_000) as resp:
            assert resp.status == 404
        assert [r.path for r in sim.requests] == ["/nowhere/8"]
