"""The delivery receipt guide's two-function example runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from aiomsg.receipts import RECEIVER_KEY, Reconciliation, SQLiteReceiptStore
from aiomsg.testing import Simulator
from tests.receipts.support import AUTH, encode, receipt, serve

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "receipts.md"


def block_defining(name: str) -> dict[str, Any]:
    text = GUIDE.read_text(encoding="utf-8")
    for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL):
        if f"def {name}(" in block:
            namespace: dict[str, Any] = {}
            exec(compile(block, str(GUIDE), "exec"), namespace)
            return namespace
    pytest.fail(f"docs/receipts.md has no example defining {name}")


async def test_the_receiver_example_serves_and_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOMSG_RECEIPTS_AUTHORIZATION", AUTH)
    app = block_defining("receipts_app")["receipts_app"](str(tmp_path / "receipts.db"))
    async with serve(app) as (url, session):
        body = encode(receipt())
        async with session.post(
            url + "8x8/receipts", data=body, headers={"Authorization": AUTH}
        ) as r:
            assert r.status == 200
    assert app[RECEIVER_KEY].stored == 1


async def test_the_reconcile_example_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = block_defining("send_and_reconcile")["send_and_reconcile"]
    messages = [
        {"user": {"msisdn": f"+659123{n:04d}"}, "content": {"title": "Hi"}} for n in range(5)
    ]
    async with Simulator() as sim, SQLiteReceiptStore(tmp_path / "r.db") as store:
        async with sim.eightbyeight() as client:
            result = await example(client, sim.sub_accounts[0], messages, store)
    assert isinstance(result, Reconciliation)
    assert result.counts["accepted"] == 5
    assert "no_receipt" in capsys.readouterr().out
