"""The simulator judges requests by the providers' published contract, shipped as data
(``aiomsg/testing/contract.json``) and read by a validator of its own."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import tomllib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiomsg.eightxeight import routes as r8
from aiomsg.revicom import routes as rr
from aiomsg.testing import Simulator
from aiomsg.testing._contract import KEYWORDS, check, contract, load

from .conftest import LINE, SUB, Raw
from .contract_source import extract

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT.parent / "shared" / "reference" / "8x8"
TESTING = ROOT / "aiomsg" / "testing"


def shipped() -> dict[str, Any]:
    text = resources.files("aiomsg.testing").joinpath("contract.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@pytest.mark.skipif(not PUBLISHED.is_dir(), reason="8x8's published OpenAPI files are not here")
def test_the_shipped_contract_matches_8x8s_published_files() -> None:
    assert shipped()["published"] == extract(PUBLISHED)


def test_the_contract_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "testing/contract.json" in config["tool"]["setuptools"]["package-data"]["aiomsg"]


def test_every_served_route_has_a_contract_for_each_path_parameter() -> None:
    served = (*r8.ROUTES, *rr.ROUTES)
    assert set(contract()) == {route.full_name for route in served}
    for route in served:
        names = re.findall(r"\{(\w+)\}", route.template)
        camel = {re.sub(r"_(\w)", lambda m: m.group(1).upper(), n) for n in names}
        assert set(contract()[route.full_name].path) == camel, route.full_name


def test_every_amendment_says_why_and_changes_something() -> None:
    data = shipped()
    for amendment in data["amendments"]:
        assert amendment["why"], amendment
        assert amendment.get("set") or amendment.get("unset"), amendment
    assert load(data) == contract()


def test_a_keyword_the_validator_does_not_know_is_refused_at_load() -> None:
    data = shipped()
    data["seeded"]["revicom.stop"]["body"]["properties"]["uuids"]["uniqueItems"] = True
    with pytest.raises(ValueError, match="uniqueItems"):
        load(data)
    data = shipped()
    data["seeded"]["revicom.stop"]["body"]["properties"]["uuids"]["format"] = "email"
    with pytest.raises(ValueError, match="format email"):
        load(data)
    assert "uniqueItems" not in KEYWORDS


def test_patterns_are_anchored_as_json_schema_reads_them() -> None:
    schema = contract()["sms.cancel_message"].path["subAccountId"]
    assert check(schema, "acme-sub") is None
    for value in ("acme-sub\n", "acme/sub", "ab", "a" * 51, 7, None, ["acme-sub"]):
        assert check(schema, value) is not None, value


def test_json_types_are_not_confused() -> None:
    assert check({"type": "string"}, True) is not None
    assert check({"type": "boolean"}, 1) is not None
    assert check({"type": "integer"}, False) is not None
    assert check({"type": "object"}, []) is not None
    assert check({"enum": ["a"]}, ["a"]) is not None  # unhashable: refused, no crash
    assert (
        check({"type": "string", "format": "uuid"}, "3FA85F64-5717-4562-B3FC-2C963F66AFA6") is None
    )


# What the contract refuses that the simulator once let through (it checked with the
# client's own, narrower list of fields): each earns 8x8's 400 and code 1000.
_UNCHECKED_BEFORE = {
    "emphasis.label": {"content": {"title": "t", "emphasis": {"label": 5}}},
    "emphasis-not-object": {"content": {"title": "t", "emphasis": "big"}},
    "list[].content": {"content": {"title": "t", "list": [{"label": "a", "content": 1}]}},
    "actions[].url": {"content": {"title": "t", "actions": [{"title": "go", "url": 1}]}},
    "channelUserId": {"user": {"msisdn": "+6591234567", "channelUserId": 7}},
}


@pytest.mark.parametrize("change", _UNCHECKED_BEFORE.values(), ids=list(_UNCHECKED_BEFORE))
async def test_raw_requests_breaking_the_contract_get_8x8s_refusal(
    raw: Raw, sim: Simulator, change: dict[str, Any]
) -> None:
    message = {**LINE, **change}
    for url, body in (
        (raw.chatapps(f"/subaccounts/{SUB}/lon"), message),
        (raw.chatapps(f"/subaccounts/{SUB}/lon/batch"), {"messages": [LINE, message]}),
    ):
        status, _, out = await raw.call("POST", url, json=body)
        assert (status, out["code"]) == (400, 1000), out
        assert out["message"].startswith("Invalid parameter: ")
        assert set(out) == {"code", "message", "errorId", "timestamp"}
    assert sim.messages == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = st.sampled_from(["user", "content", "clientMessageId", "dlrCallbackUrl", "smsFallback"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=_FIELDS, value=_JSON)
async def test_any_json_in_any_field_is_answered_200_or_400_never_500(
    field: str, value: Any
) -> None:
    message = {**LINE, field: value}
    async with Simulator(seed=4) as sim, aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {sim.api_key}"}
        for url, body in (
            (f"{sim.chatapps_url}/api/v1/subaccounts/{SUB}/lon", message),
            (f"{sim.chatapps_url}/api/v1/subaccounts/{SUB}/lon/batch", {"messages": [message]}),
            (f"{sim.chatapps_url}/api/v1/subaccounts/{SUB}/lon/batch", {"messages": value}),
        ):
            async with session.post(url, json=body, headers=headers) as resp:
                assert resp.status in (200, 400), await resp.text()
        stop = f"{sim.revicom_url}/api/v1/message/stop"
        revicom = {"Authorization": f"Basic {sim.revicom_token}"}
        async with session.post(stop, json={"uuids": value}, headers=revicom) as resp:
            assert resp.status in (200, 400), await resp.text()
