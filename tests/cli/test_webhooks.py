"""``aiomsg 8x8 webhooks set|get|delete``, run as subprocesses against the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiomsg.testing import Fault, Simulator

from .support import cli_env, run_cli

SECRET = "Bearer s3cret-T0ken"
HTTPS_URL = "https://receipts.example.com/8x8"


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line]


def no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text
        assert "s3cret-T0ken" not in text


async def test_set_then_get_shows_it_masked_and_delete_removes_it(sim: Simulator) -> None:
    env = cli_env(sim, AIOMSG_RECEIPTS_AUTHORIZATION=SECRET)
    account = sim.account_id

    put = await run_cli("8x8", "webhooks", "set", account, "--url", HTTPS_URL, "--type", "CADR",
                        env=env)  # fmt: skip
    assert put.code == 0, put.err
    assert "CADR webhook of sub-account *" in put.out
    sent = sim.requests_for("chatapps.set_webhooks")
    assert [r.body for r in sent] == [
        [{"subAccountId": "*", "url": HTTPS_URL, "type": "CADR", "httpAuthorization": SECRET}]
    ]

    got = await run_cli("8x8", "webhooks", "get", account, env=env)
    assert got.code == 0, got.err
    assert lines(got.out) == [
        {
            "subAccountId": "*",
            "url": HTTPS_URL,
            "type": "CADR",
            "enabled": True,
            "httpAuthorization": "***",
        }
    ]

    gone = await run_cli("8x8", "webhooks", "delete", account, "--type", "CADR", env=env)
    assert gone.code == 0, gone.err
    assert [r.body for r in sim.requests_for("chatapps.delete_webhooks")] == [
        [{"subAccountId": "*", "type": "CADR"}]
    ]
    after = await run_cli("8x8", "webhooks", "get", account, env=env)
    assert after.code == 0
    assert after.out == ""
    assert "no webhooks registered" in after.err
    no_secret(put.out, put.err, got.out, got.err, gone.out, gone.err)


async def test_types_scope_and_defaults_follow_the_spec(sim: Simulator, tmp_path: Path) -> None:
    env = cli_env(sim)
    secret_file = tmp_path / "auth"
    secret_file.write_text(SECRET + "\n")
    sub = sim.sub_accounts[0]
    # Without --type 8x8 registers CADR and MSG; a type given twice is sent once.
    put = await run_cli(
        *("8x8", "webhooks", "set", sim.account_id, "--url", HTTPS_URL, "--sub-account", sub),
        *("--authorization-file", str(secret_file)),
        env=env,
    )
    assert put.code == 0, put.err
    twice = await run_cli(
        *("8x8", "webhooks", "set", sim.account_id, "--url", HTTPS_URL),
        *("--type", "CABM", "--type", "CABM", "--no-authorization"),
        env=env,
    )
    assert twice.code == 0, twice.err
    bodies = [r.body for r in sim.requests_for("chatapps.set_webhooks")]
    assert bodies == [
        [{"subAccountId": sub, "url": HTTPS_URL, "httpAuthorization": SECRET}],
        [{"subAccountId": "*", "url": HTTPS_URL, "type": "CABM"}],
    ]
    got = await run_cli("8x8", "webhooks", "get", sim.account_id, env=env)
    listed = {(h["subAccountId"], h["type"]): h for h in lines(got.out)}
    assert set(listed) == {(sub, "CADR"), (sub, "MSG"), ("*", "CABM")}
    assert "httpAuthorization" not in listed["*", "CABM"]
    # Deleting the "*" scope leaves the sub-account's own webhooks.
    gone = await run_cli("8x8", "webhooks", "delete", sim.account_id, "--type", "CABM", env=env)
    assert gone.code == 0, gone.err
    left = await run_cli("8x8", "webhooks", "get", sim.account_id, env=env)
    assert {(h["subAccountId"], h["type"]) for h in lines(left.out)} == {
        (sub, "CADR"),
        (sub, "MSG"),
    }
    no_secret(put.out, put.err, got.out, left.out)


@pytest.mark.parametrize(
    "url",
    [
        "http://receipts.example.com/8x8",  # plain http to a public host
        "ftp://receipts.example.com/",
        "receipts.example.com/8x8",
        "https://user:pw@receipts.example.com/",
        "https://exa mple.com/",
    ],
)
async def test_a_bad_url_exits_2_with_nothing_sent(sim: Simulator, url: str) -> None:
    env = cli_env(sim, AIOMSG_RECEIPTS_AUTHORIZATION=SECRET)
    result = await run_cli("8x8", "webhooks", "set", sim.account_id, "--url", url, env=env)
    assert result.code == 2, result.err
    assert "url" in result.err
    assert sim.requests == []
    no_secret(result.out, result.err)


async def test_loopback_http_is_allowed(sim: Simulator) -> None:
    env = cli_env(sim, AIOMSG_RECEIPTS_AUTHORIZATION=SECRET)
    url = "http://127.0.0.1:8080/"
    result = await run_cli("8x8", "webhooks", "set", sim.account_id, "--url", url, env=env)
    assert result.code == 0, result.err
    assert len(sim.requests_for("chatapps.set_webhooks")) == 1


@pytest.mark.parametrize(
    ("args", "extra", "says"),
    [
        ((), {}, "no webhook authorization"),  # no variable set: refused, not sent bare
        (("--authorization-env", "MY_AUTH"), {"MY_AUTH": "  "}, "MY_AUTH"),
        (("--authorization-env", "MY_AUTH"), {"AIOMSG_RECEIPTS_AUTHORIZATION": SECRET}, "MY_AUTH"),
        (("--authorization-file", "/nonexistent/auth"), {}, "--authorization-file"),
        (("--sub-account", "bad sub!"), {"AIOMSG_RECEIPTS_AUTHORIZATION": SECRET}, "subAccountId"),
        ((), {"AIOMSG_RECEIPTS_AUTHORIZATION": "Bearer a\u20acb"}, "httpAuthorization"),
    ],
)
async def test_bad_usage_exits_2_with_nothing_sent(
    sim: Simulator, args: tuple[str, ...], extra: dict[str, str], says: str
) -> None:
    env = cli_env(sim, **extra)
    result = await run_cli(
        "8x8", "webhooks", "set", sim.account_id, "--url", HTTPS_URL, *args, env=env
    )
    assert result.code == 2, result.err
    assert says in result.err
    assert sim.requests == []
    no_secret(result.out, result.err)
    assert "a\u20acb" not in result.err


async def test_the_secret_is_not_taken_from_the_command_line(sim: Simulator) -> None:
    env = cli_env(sim)
    result = await run_cli("8x8", "webhooks", "set", sim.account_id, "--url", HTTPS_URL,
                           "--authorization", SECRET, env=env)  # fmt: skip
    assert result.code == 2
    assert sim.requests == []


async def test_a_bad_account_id_exits_2(sim: Simulator) -> None:
    env = cli_env(sim)
    for action in ("get", "delete"):
        result = await run_cli("8x8", "webhooks", action, "not-a-uuid", env=env)
        assert result.code == 2, result.err
    assert sim.requests == []


async def test_get_masks_a_secret_the_server_echoes_in_clear(sim: Simulator) -> None:
    # A server that lies: it lists the secret as it was registered, not as ***.
    listed = [{"subAccountId": "*", "url": HTTPS_URL, "type": "CADR", "httpAuthorization": SECRET,
               "oauth": {"clientSecret": SECRET}}]  # fmt: skip
    sim.inject(Fault.non_json_body(200, body=json.dumps(listed)), route="chatapps.get_webhooks")
    result = await run_cli("8x8", "webhooks", "get", sim.account_id, env=cli_env(sim))
    assert result.code == 0, result.err
    assert lines(result.out)[0]["httpAuthorization"] == "***"
    no_secret(result.out, result.err)


async def test_an_account_of_another_key_exits_4(sim: Simulator) -> None:
    # 403: the request failed as a whole (the key), not an answer about the webhook.
    other = "0" * 31 + "1"
    result = await run_cli("8x8", "webhooks", "get", other, env=cli_env(sim))
    assert result.code == 4, result.err


async def test_a_refusal_by_8x8_exits_1(sim: Simulator) -> None:
    sim.inject(Fault.status(400), route="chatapps.delete_webhooks")
    result = await run_cli("8x8", "webhooks", "delete", sim.account_id, env=cli_env(sim))
    assert result.code == 1, result.err
    assert "refused by 8x8 (400)" in result.err


async def test_a_server_fault_after_the_retries_exits_4(sim: Simulator) -> None:
    sim.inject(Fault.status(503), route="chatapps.get_webhooks", probability=1.0)
    result = await run_cli("8x8", "webhooks", "get", sim.account_id, env=cli_env(sim))
    assert result.code == 4, result.err
