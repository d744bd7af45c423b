"""The rehearsal knobs in the Python API: latency, random faults, Revicom's limit,
seeding given uuids, and the files ``serve()`` writes."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp
import anyio
import pytest

import aiomsg
from aiomsg.testing import Fault, FaultKind, Simulator
from aiomsg.testing._serve import parse_faults, parse_latency, read_uuids, seed_files

FAST = aiomsg.RetryPolicy(max_attempts=6, backoff_base=0.01, backoff_cap=0.05)
U1 = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
U2 = "3fa85f64-5717-4562-b3fc-2c963f66afa7"


@pytest.mark.parametrize(
    ("text", "want"),
    [("0.05", (0.05, 0.05)), ("50ms", (0.05, 0.05)), ("10ms-200ms", (0.01, 0.2)),
     ("0-1", (0.0, 1.0)), (" 2s ", (2.0, 2.0))],
)  # fmt: skip
def test_parse_latency(text: str, want: tuple[float, float]) -> None:
    assert parse_latency(text) == pytest.approx(want)


@pytest.mark.parametrize("text", ["", "fast", "-1", "1-", "2-1", "1e3", "nan", "inf", "5m"])
def test_parse_latency_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="latency"):
        parse_latency(text)


def test_parse_faults() -> None:
    kinds = [f.kind for f in parse_faults("429, 503,reset,reset-after,stall:2,truncated")]
    assert kinds == [
        FaultKind.RATE_LIMITED, FaultKind.STATUS, FaultKind.RESET_BEFORE_BODY,
        FaultKind.RESET_AFTER_BODY, FaultKind.STALL, FaultKind.TRUNCATED_BODY,
    ]  # fmt: skip
    assert parse_faults(["stall:250ms"])[0].seconds == pytest.approx(0.25)
    for bad in ("", "418", "stall:x", "reset,,"):
        with pytest.raises(ValueError, match="fault"):
            parse_faults(bad)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), (0.2, 0.1), (-1.0, 1.0)])
def test_latency_is_checked(bad: float | tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="latency"):
        Simulator(latency=bad)
    sim = Simulator()
    with pytest.raises(ValueError, match="latency"):
        sim.latency = bad


async def test_requests_wait_out_the_latency_and_succeed() -> None:
    async with Simulator(latency=(0.001, 0.003), seed=1) as sim, sim.revicom() as client:
        uuids = sim.add_revicom_messages(3)
        result = await client.stop_batch(uuids)
        assert [item.code for item in result.items] == [200, 200, 200]
        assert sim.latency == (0.001, 0.003)


async def test_stopping_during_a_latency_drops_the_request_at_once() -> None:
    sim = await Simulator(latency=600.0).start()
    try:
        async with aiohttp.ClientSession() as session:
            with anyio.fail_after(20):  # a bound: 600 s would fail it
                call = asyncio.ensure_future(
                    session.post(f"{sim.revicom_url}/api/v1/message/stop", json={"uuids": [U1]})
                )
                for _ in range(1000):
                    if sim.requests:
                        break
                    await asyncio.sleep(0.01)
                await sim.stop()
                with pytest.raises(aiohttp.ClientError):
                    await call
    finally:
        await sim.stop()
    assert sim.revicom_messages == []


async def test_inject_random_shares_the_rate_among_the_faults() -> None:
    async with Simulator(seed=7, rate_limit=None) as sim, aiohttp.ClientSession() as session:
        rules = sim.inject_random(
            [Fault.status(500), Fault.status(502), Fault.status(503)], rate=1.0, route="sms"
        )
        statuses: Counter[int] = Counter()
        for _ in range(150):
            url = f"{sim.sms_url}/api/v1/subaccounts/sim-sub/messages/{U1}"
            async with session.delete(url, headers={"Authorization": "Bearer sim-api-key"}) as r:
                statuses[r.status] += 1
        assert sum(statuses.values()) == 150
        assert set(statuses) == {500, 502, 503}  # every one of them, nothing else
        assert all(25 <= n <= 75 for n in statuses.values()), statuses  # about a third each
        assert sum(rule.hits for rule in rules) == 150
        sim.clear_faults()
        rules = sim.inject_random([Fault.status(503), Fault.rate_limited(1)], rate=0.2)
        for _ in range(300):
            url = f"{sim.sms_url}/api/v1/subaccounts/sim-sub/messages/{U1}"
            async with session.delete(url, headers={"Authorization": "Bearer sim-api-key"}) as r:
                await r.read()
        hits = sum(rule.hits for rule in rules)
        assert 30 <= hits <= 90, hits  # about 60 of 300 (seeded, so the same every run)
        assert all(rule.hits > 0 for rule in rules)


@pytest.mark.parametrize(("faults", "rate"), [([], 0.1), ([Fault.status(503)], 1.5)])
def test_inject_random_refuses(faults: list[Fault], rate: float) -> None:
    with pytest.raises(ValueError, match=r"Fault|rate"):
        Simulator().inject_random(faults, rate=rate)


async def test_revicom_rate_limit_answers_429_and_the_client_gets_through() -> None:
    async with Simulator(revicom_rate_limit=1.0, revicom_rate_limit_burst=1) as sim:
        uuids = sim.add_revicom_messages(2)
        async with sim.revicom(retry=FAST) as client:
            for u in uuids:
                assert [i.code for i in (await client.stop_batch([u])).items] == [200]
        statuses = [r.status for r in sim.requests_for("revicom.stop")]
        assert statuses[0] == 200
        assert 429 in statuses
        assert statuses[-1] == 200
    with pytest.raises(ValueError, match="revicom_rate_limit"):
        Simulator(revicom_rate_limit=0)


def test_add_revicom_messages_seeds_given_uuids_once() -> None:
    sim = Simulator()
    assert sim.add_revicom_messages(uuids=[U1, U2.upper(), U1]) == [U1, U2]
    sim.revicom_message(U1).state = "sent"
    assert sim.add_revicom_messages(uuids=[U1]) == []  # known: left as it is
    assert sim.revicom_message(U1).state == "sent"
    assert sim.revicom_message(U2.upper()).state == "queued"
    with pytest.raises(aiomsg.ValidationError):
        sim.add_revicom_messages(uuids=["not-a-uuid"])
    with pytest.raises(TypeError):
        sim.add_revicom_messages(uuids=U1)


def test_read_uuids_skips_blanks_and_comments_and_names_a_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text(f"\ufeff# header\n{U1}\n\n  {U2}  \r\n", encoding="utf-8")
    assert read_uuids(good) == [U1, U2]
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{U1}\n\n{U1[:-1]}\n")
    with pytest.raises(ValueError, match=r"bad\.txt line 3: not a uuid"):
        read_uuids(bad)


def test_seed_files_write_what_they_seed_and_never_overwrite(tmp_path: Path) -> None:
    sim = Simulator(seed=2)
    files = seed_files(sim, tmp_path, revicom_count=4, sms=3, chatapps=2, line=5, flows=2)
    by_name = {f.path.name: f for f in files}
    assert sorted(by_name) == [
        "chatapps-umids.txt", "flows.txt", "line.jsonl", "revicom-uuids.txt", "sms-umids.txt",
    ]  # fmt: skip
    for f in files:
        assert len(f.path.read_text().splitlines()) == f.count
        assert f.path.is_absolute()
        if f.path.name == "flows.txt":  # one command per flow: it names the first
            assert f.command.endswith(f.path.read_text().splitlines()[0])
        else:
            assert str(f.path) in f.command
    revicom = by_name["revicom-uuids.txt"].path.read_text().split()
    assert {sim.revicom_message(u).state for u in revicom} == {"queued"}
    sms = by_name["sms-umids.txt"].path.read_text().split()
    assert {sim.message(u).state for u in sms} == {"scheduled"}
    assert len(sim.flows) == 2
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(FileExistsError):
        seed_files(sim, tmp_path, flows=1, sms=1)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    with pytest.raises(ValueError, match="sms"):
        seed_files(sim, tmp_path / "x", sms=-1)
    made = seed_files(sim, tmp_path / "new" / "dir", sms=1)  # a directory is made
    assert made[0].path == tmp_path / "new" / "dir" / "sms-umids.txt"
