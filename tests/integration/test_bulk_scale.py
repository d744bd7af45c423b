"""The demo's scale through the bulk layer: 25,000 Revicom uuids, with faults on the way."""

from __future__ import annotations

import aiomsg
from aiomsg.testing import Fault, Simulator

from .conftest import FAST_RETRY


async def test_stop_25000_uuids_in_bulk(sim: Simulator) -> None:
    queued = sim.add_revicom_messages(20_000)
    sent = sim.add_revicom_messages(4_000, state="sent")
    unknown = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1_000)]
    sim.inject(Fault.status(503), route="revicom.stop", times=1)
    sim.inject(Fault.reset_after_body(), route="revicom.stop", times=1, after=1)
    async with sim.revicom(retry=FAST_RETRY) as revicom:
        report = await revicom.stop([*queued, *sent, *unknown], concurrency=2)
    assert sum(report.counts.values()) == 25_000
    assert report.counts[aiomsg.Outcome.STOPPED] == 20_000
    assert report.counts[aiomsg.Outcome.NOT_STOPPABLE] == 4_000
    assert report.counts[aiomsg.Outcome.NOT_FOUND] == 1_000
    assert max(len(r.body["uuids"]) for r in sim.requests if r.body) == 10_000
    sim.advance(sim.stop_delay)
    assert {m.state for m in sim.revicom_messages} == {"stopped", "sent"}
