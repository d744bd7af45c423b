"""The pytest fixtures, used directly and from a pytest run of their own."""

from __future__ import annotations

import pytest

# Import before the in-process pytest run below: that run unloads the modules it
# imported, and cryptography (under trustme) cannot be imported a second time.
import trustme  # noqa: F401

import aiomsg
from aiomsg.testing import Simulator

from .conftest import SUB

pytest_plugins = ["pytester"]


async def test_fixtures_are_bound_to_the_simulator(
    aiomsg_simulator: Simulator,
    aiomsg_client: aiomsg.EightByEight,
    aiomsg_revicom: aiomsg.Revicom,
) -> None:
    assert aiomsg_simulator.started
    seeded = aiomsg_simulator.add_sms_messages(1)
    result = await aiomsg_client.sms.cancel_message(SUB, seeded.umids[0])
    assert result.cancelled_count == 1
    (uuid,) = aiomsg_simulator.add_revicom_messages(1)
    stopped = await aiomsg_revicom.stop_batch([uuid])
    assert [item.code for item in stopped.items] == [200]


@pytest.mark.aiomsg_simulator(rate_limit=None, stop_delay=0.0, seed=9)
async def test_marker_passes_options(aiomsg_simulator: Simulator) -> None:
    assert aiomsg_simulator.rate_limit is None
    assert aiomsg_simulator.stop_delay == 0.0


USER_TESTS = """
import pytest
import aiomsg

@pytest.mark.aiomsg_simulator(tls=True)
async def test_over_tls(aiomsg_simulator, aiomsg_client):
    assert aiomsg_simulator.url.startswith("https://")
    flow = aiomsg_simulator.add_flow("chan")
    await aiomsg_client.chatapps.delete_whatsapp_flow(aiomsg_simulator.account_id, "chan", flow)
    assert aiomsg_simulator.flows == []

async def test_unknown_endpoint_fails_the_test(aiomsg_simulator):
    async with aiomsg.EightByEight(api_key="k", sms_url=aiomsg_simulator.url) as client:
        with pytest.raises(aiomsg.NotFoundError):
            await client.sms.cancel_message("sub", "3fa85f64-5717-4562-b3fc-2c963f66afa6")

@pytest.fixture
def aiomsg_simulator_options():
    return {"sub_accounts": ["my-sub"]}

async def test_options_fixture(aiomsg_simulator):
    assert aiomsg_simulator.sub_accounts == ("my-sub",)
"""


def test_plugin_in_a_users_suite(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings =\n    error\n"
        # In-process runs re-import nothing: pytest may warn that the already
        # imported plugin cannot have its asserts rewritten. Not the user's concern.
        "    ignore::pytest.PytestAssertRewriteWarning\n"
    )
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*1 request(s) to unknown endpoints*/api/v1/subaccounts/sub*"])
