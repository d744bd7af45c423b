"""What the commands share: credentials (from the environment or a file, never echoed)
and --quiet, described alike everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiomsg.cli import main
from aiomsg.testing import Simulator

from .support import (
    cli_env,
    read_report,
    run_cli,
    uuids,
    write_lines,
)

SUB = "sim-sub"


async def test_missing_credentials_exit_2(sim: Simulator) -> None:
    env = cli_env(sim)
    del env["AIOMSG_REVICOM_TOKEN"], env["AIOMSG_8X8_API_KEY"]
    stop = await run_cli("revicom", "stop", env=env, stdin=b"")
    assert stop.code == 2
    assert "AIOMSG_REVICOM_TOKEN" in stop.err
    assert "--token-file" in stop.err
    flows = await run_cli("8x8", "flows", "delete", sim.account_id, "c", "f", env=env)
    assert flows.code == 2
    assert "AIOMSG_8X8_API_KEY" in flows.err
    assert "--api-key-file" in flows.err
    assert sim.requests == []


async def test_secrets_from_files_are_never_echoed(sim: Simulator, tmp_path: Path) -> None:
    env = cli_env(sim)
    del env["AIOMSG_8X8_API_KEY"], env["AIOMSG_REVICOM_TOKEN"]
    secret = "s3cret-Key-that-is-wrong"
    key_file = tmp_path / "key"
    key_file.write_text(secret + "\n")
    report = tmp_path / "report.jsonl"
    umids = write_lines(tmp_path / "umids.txt", sim.add_sms_messages(2).umids)

    cancel = await run_cli(
        "8x8", "sms", "cancel", SUB, str(umids), "--api-key-file", str(key_file),
        "--report", str(report), env=env,
    )  # fmt: skip
    assert cancel.code == 4  # 401 for each umid: the requests failed
    assert {r["outcome"] for r in read_report(report)} == {"failed"}
    assert {r["code"] for r in read_report(report)} == {1200}
    revicom = await run_cli(
        "revicom", "stop", "--token-file", str(key_file), "--report", "-", env=env,
        stdin=uuids(1)[0].encode(),
    )  # fmt: skip
    assert revicom.code == 4
    everything = cancel.out + cancel.err + revicom.out + revicom.err + report.read_text()
    assert secret not in everything
    assert all(r.headers.get("Authorization", "").endswith("***") for r in sim.requests)

    good = tmp_path / "good-key"
    good.write_text(sim.api_key)
    ok = await run_cli(
        "8x8", "sms", "cancel", SUB, str(umids), "--api-key-file", str(good), env=env
    )
    assert ok.code == 0, ok.err


@pytest.mark.parametrize("secret", ["t\u00f8k-Secret", "tok-Secret\u20ac", "tok-\u200bSecret"])
@pytest.mark.parametrize("via", ["file", "environment"])
async def test_a_secret_no_header_can_carry_exits_2_unsent(
    sim: Simulator, tmp_path: Path, secret: str, via: str
) -> None:
    env = cli_env(sim)
    args = ["revicom", "stop", "--report", "-"]
    if via == "file":
        del env["AIOMSG_REVICOM_TOKEN"]
        (tmp_path / "token").write_text(secret + "\n", encoding="utf-8")
        args += ["--token-file", str(tmp_path / "token")]
    else:
        env["AIOMSG_REVICOM_TOKEN"] = secret
    stop = await run_cli(*args, env=env, stdin=uuids(1)[0].encode())
    assert stop.code == 2, stop.err
    assert "HTTP header" in stop.err
    assert "Secret" not in stop.out + stop.err
    assert sim.requests == []


@pytest.mark.parametrize(
    "args", [["revicom", "stop"], ["8x8", "sms", "cancel-batch"], ["8x8", "flows", "delete"]]
)
def test_quiet_is_described_the_same_in_every_help(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([*args, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "nothing on standard error but errors: no progress bar, no summary (results are " \
        "data and still go to standard output)" in text  # fmt: skip
