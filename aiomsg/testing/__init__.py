"""A stateful simulator of the 8x8 and Revicom APIs, for tests and demos.

``Simulator`` serves the 8x8 Chat Apps, 8x8 SMS and Revicom endpoints over real
HTTP (or HTTPS) on 127.0.0.1. It keeps state (scheduled messages and batches,
WhatsApp Flows, Revicom messages and cascades), checks every request against the
providers' published contract (``contract.json``: the constraints of 8x8's OpenAPI
request schemas and Revicom's stop page, read apart from the client's validation),
answers with the providers' status codes and error bodies,
records what it received, and can inject faults::

    import aiomsg
    from aiomsg.testing import Fault, Simulator

    async def test_cancel_survives_a_503() -> None:
        async with Simulator() as sim:
            seeded = sim.add_sms_messages(3)
            sim.inject(Fault.status(503), route="sms.cancel_message", times=1)
            async with sim.eightbyeight(retry=aiomsg.RetryPolicy(backoff_base=0.01)) as client:
                result = await client.sms.cancel_message("sim-sub", seeded.umids[0])
            assert result.cancelled_count == 1
            assert sim.message(seeded.umids[0]).state == "cancelled"
            assert [r.status for r in sim.requests_for("sms.cancel_message")] == [503, 200]

With pytest, the ``aiomsg_simulator``, ``aiomsg_client`` and ``aiomsg_revicom``
fixtures (registered by installing aiomsg) give a started simulator and clients
bound to it; ``@pytest.mark.aiomsg_simulator(tls=True, ...)`` passes options.
``serve()`` runs a simulator until cancelled (``aiomsg simulator``).

TLS needs the ``trustme`` package: ``pip install 'aiomsg[testing]'``.
"""

from ._clock import SimClock
from ._deliveries import RETRY_DELAYS, ReceiptDeliveries
from ._faults import Fault, FaultKind, FaultRule
from ._recording import RecordedRequest
from ._routing import ROUTES
from ._serve import ListenError, parse_faults, parse_latency, parse_rate, populate, serve
from ._simulator import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_API_KEY,
    DEFAULT_REVICOM_TOKEN,
    DEFAULT_SUB_ACCOUNT,
    SeededMessages,
    Simulator,
)
from ._state import RevicomMessage, SimBatch, SimFlow, SimMessage

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_API_KEY",
    "DEFAULT_REVICOM_TOKEN",
    "DEFAULT_SUB_ACCOUNT",
    "RETRY_DELAYS",
    "ROUTES",
    "Fault",
    "FaultKind",
    "FaultRule",
    "ListenError",
    "ReceiptDeliveries",
    "RecordedRequest",
    "RevicomMessage",
    "SeededMessages",
    "SimBatch",
    "SimClock",
    "SimFlow",
    "SimMessage",
    "Simulator",
    "parse_faults",
    "parse_latency",
    "parse_rate",
    "populate",
    "serve",
]
