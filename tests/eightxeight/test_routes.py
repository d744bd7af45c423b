"""``aiomsg.eightxeight.routes``: each 8x8 endpoint declared once, and the client, the
simulator and its fault names all go by that one declaration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import aiomsg
from aiomsg.eightxeight import routes
from aiomsg.testing import ROUTES, Simulator

SUB = "sim-sub"
LINE = {"user": {"msisdn": "+6591234567"}, "content": {"title": "Hello"}}


def module_routes() -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(routes).items()
        if name.isupper() and not name.startswith("_")
    }


def test_all_is_sorted_and_complete() -> None:
    assert list(routes.__all__) == sorted(routes.__all__)
    assert set(routes.__all__) == set(module_routes())


def test_every_route_is_listed_once_and_named_uniquely() -> None:
    declared = [v for k, v in module_routes().items() if k not in ("ROUTES", "APIS")]
    assert sorted(routes.ROUTES, key=id) == sorted(declared, key=id)
    assert len({r.full_name for r in routes.ROUTES}) == len(routes.ROUTES)
    for route in routes.ROUTES:
        assert route.api in routes.APIS
        assert route.full_name == f"{route.api}.{route.name}"


def test_send_routes_are_never_repeated_blindly() -> None:
    """The LINE sends are the only routes that are not safe to repeat."""
    once = {r.name for r in routes.ROUTES if r.kind.value == "send_once"}
    assert once == {"send_line_notification_batch", "send_line_notification"}


def test_path_encodes_every_segment() -> None:
    path = routes.SMS_CANCEL_MESSAGE.path(sub_account_id="a/b", umid="{x}")
    assert path == "/api/v1/subaccounts/a%2Fb/messages/%7Bx%7D"


def _calls(sim: Simulator) -> dict[str, Callable[[aiomsg.EightByEight], Awaitable[object]]]:
    sms = sim.add_sms_messages(1)
    chat = sim.add_chatapps_messages(1)
    flow = sim.add_flow("chan-1")
    return {
        "chatapps.send_line_notification_batch": lambda c: c.chatapps.send_line_notification_batch(
            SUB, [LINE]
        ),
        "chatapps.send_line_notification": lambda c: c.chatapps.send_line_notification(SUB, LINE),
        "chatapps.cancel_batch": lambda c: c.chatapps.cancel_batch(SUB, str(chat.batch_id)),
        "chatapps.cancel_message": lambda c: c.chatapps.cancel_message(SUB, chat.umids[0]),
        "chatapps.delete_whatsapp_flow": lambda c: c.chatapps.delete_whatsapp_flow(
            sim.account_id, "chan-1", flow
        ),
        "chatapps.set_webhooks": lambda c: c.chatapps.set_webhooks(
            sim.account_id, [{"subAccountId": "*", "url": "https://example.com/dr"}]
        ),
        "chatapps.get_webhooks": lambda c: c.chatapps.get_webhooks(sim.account_id),
        "chatapps.delete_webhooks": lambda c: c.chatapps.delete_webhooks(
            sim.account_id, [{"subAccountId": "*"}]
        ),
        "chatapps.get_message": lambda c: c.chatapps.get_message(SUB, chat.umids[0]),
        "sms.cancel_batch": lambda c: c.sms.cancel_batch(SUB, str(sms.batch_id)),
        "sms.cancel_message": lambda c: c.sms.cancel_message(SUB, sms.umids[0]),
    }


@pytest.mark.parametrize("route", routes.ROUTES, ids=lambda r: r.full_name)
async def test_the_client_calls_the_route_the_simulator_serves(route: Any) -> None:
    async with Simulator(seed=2) as sim, sim.eightbyeight() as client:
        calls = _calls(sim)
        assert set(calls) == {r.full_name for r in routes.ROUTES}
        await calls[route.full_name](client)
        (seen,) = sim.requests
    assert (seen.route, seen.api, seen.method, seen.status) == (
        route.full_name, route.api, route.method, 200,
    )  # fmt: skip
    assert seen.api_path == route.path(**seen.match)


def test_the_simulator_names_exactly_these_routes() -> None:
    from aiomsg.revicom import routes as revicom_routes

    assert ROUTES == tuple(r.full_name for r in (*routes.ROUTES, *revicom_routes.ROUTES))
