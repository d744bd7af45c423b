"""The simulator's clock, state rules, seeding API and fault rules, without HTTP."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest

from aiomsg.testing import ROUTES, Fault, FaultKind, SimClock, Simulator
from aiomsg.testing._clock import format_timestamp
from aiomsg.testing._faults import FaultRules, match_routes

# ---------------------------------------------------------------------------- clock


def test_clock_stands_still_until_advanced() -> None:
    clock = SimClock(start=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc))
    assert clock.now() == 0.0
    ran: list[str] = []
    clock.call_at(5.0, lambda: ran.append("b"))
    clock.call_at(1.0, lambda: ran.append("a"))
    clock.call_at(5.0, lambda: ran.append("c"))
    clock.advance(4.9)
    assert ran == ["a"]
    clock.advance(0.1)
    assert ran == ["a", "b", "c"]
    assert clock.pending == 0
    assert clock.utcnow() == dt.datetime(2024, 1, 2, 0, 0, 5, tzinfo=dt.timezone.utc)
    with pytest.raises(ValueError, match="advance"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(start=dt.datetime(2024, 1, 2))


def test_clock_can_follow_the_wall_clock() -> None:
    clock = SimClock(follow_wall_clock=True)
    clock.advance(100)
    assert clock.now() >= 100.0
    assert "SimClock(now=" in repr(clock)


def test_timestamps_have_two_fractional_digits() -> None:
    when = dt.datetime(2020, 6, 18, 6, 42, 57, 209999, tzinfo=dt.timezone.utc)
    assert format_timestamp(when) == "2020-06-18T06:42:57.20Z"


# ---------------------------------------------------------------------------- messages


def test_seeded_sms_messages() -> None:
    sim = Simulator(seed=1)
    seeded = sim.add_sms_messages(3, send_in=60)
    assert len(seeded.umids) == 3
    assert sim.batch(seeded.batch_id or "").umids == list(seeded.umids)
    assert [sim.message(u).state for u in seeded.umids] == ["scheduled"] * 3
    sim.advance(60)
    assert [sim.message(u).state for u in seeded.umids] == ["sent"] * 3
    assert sim.add_sms_messages(2, batch=False).batch_id is None
    sent = sim.add_sms_messages(1, state="sent").umids[0]
    cancelled = sim.add_sms_messages(1, state="cancelled").umids[0]
    assert (sim.message(sent).state, sim.message(cancelled).state) == ("sent", "cancelled")
    assert len(sim.find_messages(api="sms", state="sent")) == 4
    assert sim.find_messages(api="chatapps") == []
    assert len(sim.find_messages(batch_id=seeded.batch_id)) == 3
    with pytest.raises(KeyError):
        sim.message("3fa85f64-5717-4562-b3fc-2c963f66afa6")
    with pytest.raises(ValueError, match="state"):
        sim.add_sms_messages(1, state="queued")


def test_ids_are_repeatable_with_a_seed() -> None:
    first = Simulator(seed=42).add_sms_messages(3).umids
    assert Simulator(seed=42).add_sms_messages(3).umids == first
    assert Simulator(seed=43).add_sms_messages(3).umids != first


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        Simulator(rate_limit=-1)
    with pytest.raises(ValueError, match="stop_delay"):
        Simulator(stop_delay=float("nan"))
    with pytest.raises(TypeError, match="sub_accounts"):
        Simulator(sub_accounts="one")
    with pytest.raises(ValueError, match="account_id"):
        Simulator(account_id="nope")
    with pytest.raises(ValueError, match="sub_account_id"):
        Simulator(sub_accounts=["x"])


def test_addresses_need_a_started_simulator() -> None:
    sim = Simulator()
    assert repr(sim) == "Simulator(stopped)"
    with pytest.raises(RuntimeError, match="not started"):
        _ = sim.url
    with pytest.raises(RuntimeError, match="tls=True"):
        sim.ssl_context()
    with pytest.raises(RuntimeError, match="tls=True"):
        _ = sim.ca_path


# ---------------------------------------------------------------------------- flows


def test_flows() -> None:
    sim = Simulator(seed=1)
    flow_id = sim.add_flow("chan")
    assert flow_id.isdigit()
    assert len(flow_id) == 16
    flow = sim.flow("chan", flow_id)
    assert (flow.account_id, flow.status) == (sim.account_id, "DRAFT")
    with pytest.raises(KeyError):
        sim.flow("chan", "other")
    with pytest.raises(ValueError, match="status"):
        sim.add_flow("chan", status="LIVE")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- Revicom


def test_revicom_stop_lands_after_the_delay() -> None:
    sim = Simulator(stop_delay=2.0)
    queued, sending, sent = (
        sim.add_revicom_messages(1, state=s)[0] for s in ("queued", "sending", "sent")
    )
    state = sim._state
    assert [state.stop(u) for u in (queued, sending, sent)] == [200, 202, 403]
    assert state.stop("3fa85f64-5717-4562-b3fc-2c963f66afa6") == 404
    assert sim.revicom_message(queued).state == "queued"
    assert sim.revicom_message(queued).stop_lands_at == 2.0
    assert state.stop(sending) == 202  # a stop on its way answers the same again
    sim.advance(1.9)
    assert sim.revicom_message(queued).state == "queued"
    sim.advance(0.1)
    assert [sim.revicom_message(u).state for u in (queued, sending, sent)] == [
        "stopped",
        "stopped",
        "sent",
    ]
    assert state.stop(queued) == 200  # already stopped: harmless


def test_a_maybe_stopped_message_can_still_go_out() -> None:
    sim = Simulator(stop_delay=1.0)
    (sending,) = sim.add_revicom_messages(1, state="sending")
    assert sim._state.stop(sending) == 202
    sim.revicom_message(sending).state = "sent"
    sim.advance(1.0)
    assert sim.revicom_message(sending).state == "sent"


def test_stopping_a_cascade_root_stops_the_cascade() -> None:
    sim = Simulator(stop_delay=0.0)
    (root,) = sim.add_revicom_messages(1)
    children = sim.add_revicom_messages(2, cascade_of=root)
    grandchild = sim.add_revicom_messages(1, cascade_of=children[0])[0]
    (sent_child,) = sim.add_revicom_messages(1, state="sent", cascade_of=root)
    assert sim.revicom_message(root).children == [*children, sent_child]
    assert sim.revicom_message(grandchild).cascade_root == children[0]
    assert sim._state.stop(root) == 200
    states = [m.state for m in sim.revicom_messages]
    assert states == ["stopped", "stopped", "stopped", "stopped", "sent"]
    with pytest.raises(KeyError):
        sim.add_revicom_messages(1, cascade_of="3fa85f64-5717-4562-b3fc-2c963f66afa6")
    with pytest.raises(ValueError, match="state"):
        sim.add_revicom_messages(1, state="lost")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- faults


def test_fault_constructors() -> None:
    assert Fault.status(503).kind is FaultKind.STATUS
    assert Fault.status(503).http_status == 503
    assert Fault.rate_limited(2).retry_after == "2"
    assert Fault.rate_limited(0.5).retry_after == "0.5"
    assert Fault.rate_limited(None).retry_after is None
    assert Fault.rate_limited("garbage").retry_after == "garbage"
    when = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    assert Fault.rate_limited(when).retry_after == email.utils.format_datetime(when, usegmt=True)
    dated = Fault.rate_limited(3, http_date=True)
    assert (dated.http_date, dated.retry_after, dated.seconds) == (True, None, 3.0)
    assert Fault.reset_after_body().process is True
    assert Fault.reset_after_body(process=False).process is False
    assert Fault.truncated_body().process is True
    assert Fault.non_json_body().process is True
    assert Fault.non_json_body(502).process is False
    assert Fault.non_json_body(body="x").body == b"x"
    assert Fault.tls_version().http_status == 426
    assert repr(Fault.stall(1.5)) == "Fault(stall, seconds=1.5)"
    for bad in (
        lambda: Fault.status(200),
        lambda: Fault.stall(0),
        lambda: Fault.stall(4000),
        lambda: Fault.rate_limited(-1),
        lambda: Fault.rate_limited(dt.datetime(2030, 1, 1)),
        lambda: Fault.non_json_body(100),
    ):
        with pytest.raises(ValueError, match="Fault"):
            bad()


def test_route_patterns() -> None:
    assert match_routes("sms") == ("sms.cancel_message", "sms.cancel_batch")
    assert match_routes("*.cancel_batch") == ("chatapps.cancel_batch", "sms.cancel_batch")
    assert match_routes("revicom.stop") == ("revicom.stop",)
    assert match_routes("nope") == ()
    assert len(ROUTES) == 12


def test_scripted_rules_fire_in_order_and_run_out() -> None:
    rules = FaultRules(seed=1)
    first = rules.add(Fault.status(503), route="sms", times=2, probability=None, after=1)
    second = rules.add(Fault.status(500), route=None, times=None, probability=None, after=0)
    assert second.remaining == 1  # scripted rules fire once unless told otherwise
    picked = [rules.pick("sms.cancel_message") for _ in range(4)]
    assert picked == [Fault.status(500), Fault.status(503), Fault.status(503), None]
    assert (first.hits, first.seen, first.active) == (2, 3, False)
    rules.add(Fault.status(502), route="revicom", times=None, probability=1.0, after=0).cancel()
    assert rules.pick("revicom.stop") is None


def test_probabilistic_rules_repeat_with_the_seed() -> None:
    def run(seed: int) -> list[bool]:
        rules = FaultRules(seed)
        rules.add(Fault.status(503), route=None, times=None, probability=0.3, after=0)
        return [rules.pick("sms.cancel_message") is not None for _ in range(200)]

    assert run(5) == run(5)
    assert run(5) != run(6)
    assert 30 < sum(run(5)) < 90


def test_inject_checks_its_arguments() -> None:
    sim = Simulator()
    with pytest.raises(ValueError, match="matches no endpoint"):
        sim.inject(Fault.status(503), route="sms.cancel")
    with pytest.raises(ValueError, match="probability"):
        sim.inject(Fault.status(503), probability=2)
    with pytest.raises(ValueError, match="times"):
        sim.inject(Fault.status(503), times=0)
    with pytest.raises(TypeError, match="Fault"):
        sim.inject("503")  # type: ignore[arg-type]
    rule = sim.inject(Fault.status(503), route="sms.*", probability=0.5)
    assert rule.remaining is None
    assert sim.faults == [rule]
    sim.clear_faults()
    assert sim.faults == []


async def test_factories_pass_options_through() -> None:
    async with Simulator() as sim:
        async with sim.eightbyeight(region="us") as client, sim.revicom() as revicom:
            assert client.region == "us"
            assert f"{sim.url}/chatapps" in repr(client)
            assert f"{sim.url}/revicom" in repr(revicom)
