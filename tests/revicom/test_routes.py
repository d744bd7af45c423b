"""``aiomsg.revicom.routes``: the Revicom stop declared once, and the client and the
simulator going by it."""

from __future__ import annotations

from aiomsg.revicom import routes
from aiomsg.testing import Simulator


def test_all_is_sorted_and_complete() -> None:
    assert list(routes.__all__) == sorted(routes.__all__)
    assert set(routes.__all__) == {n for n in vars(routes) if n.isupper()}
    assert routes.ROUTES == (routes.STOP,)
    assert routes.STOP.full_name == "revicom.stop"
    assert routes.STOP.kind.value == "idempotent"


async def test_the_client_calls_the_route_the_simulator_serves() -> None:
    async with Simulator(seed=2) as sim, sim.revicom() as client:
        (uuid,) = sim.add_revicom_messages(1)
        await client.stop_batch([uuid])
        (seen,) = sim.requests
    assert (seen.route, seen.method, seen.status) == ("revicom.stop", routes.STOP.method, 200)
    assert seen.api_path == routes.STOP.template
