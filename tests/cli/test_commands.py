"""Every command of the command line against the simulator: inputs, reports, exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
from pathlib import Path

import pytest

from aiomsg.cli import main
from aiomsg.testing import Simulator

from .support import (
    by_index,
    cli_env,
    command,
    kill,
    line_messages,
    read_report,
    run_cli,
    sent_message_ids,
    sent_uuids,
    uuids,
    wait_exit,
    write_jsonl,
    write_lines,
)

SUB = "sim-sub"

# ---------------------------------------------------------------------------- revicom


async def test_revicom_stop_from_a_file(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(25_000)
    source = write_lines(tmp_path / "uuids.txt", ids)
    report = tmp_path / "report.jsonl"

    result = await run_cli("revicom", "stop", str(source), "--report", str(report), env=env)

    assert result.code == 0, result.err
    rows = by_index(read_report(report), len(ids))
    assert [r["id"] for r in rows] == ids
    assert {(r["outcome"], r["code"], r["error"]) for r in rows} == {("stopped", 200, None)}
    assert len(sim.requests_for("revicom.stop")) == 3  # 10,000 uuids per request
    assert "stopped" in result.err
    assert "requests 3" in result.err
    assert result.out == ""


async def test_revicom_stop_from_stdin_with_comments_and_blank_lines(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    queued = sim.add_revicom_messages(2)
    sent = sim.add_revicom_messages(1, state="sent")
    unknown = uuids(1)[0]
    text = f"# to stop\n\n  {queued[0]}  \n{sent[0]}\n\t\n# more\n{queued[1]}\r\n{unknown}\n"
    report = tmp_path / "report.csv"

    result = await run_cli(
        "revicom", "stop", "-", "--report", str(report), env=env, stdin=text.encode()
    )

    assert result.code == 1, result.err  # not every uuid could be stopped
    rows = by_index(read_report(report), 4)
    assert [(r["id"], r["outcome"], r["code"]) for r in rows] == [
        (queued[0], "stopped", 200),
        (sent[0], "not_stoppable", 403),
        (queued[1], "stopped", 200),
        (unknown, "not_found", 404),
    ]
    assert sent_uuids(sim.requests) == [queued[0], sent[0], queued[1], unknown]
    assert "2 items did not succeed" in result.err


async def test_reports_account_for_every_line_in_jsonl_and_csv(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = [*sim.add_revicom_messages(30), *uuids(20)]
    source = write_lines(tmp_path / "uuids.txt", ids)
    for name in ("report.jsonl", "report.csv", "REPORT.CSV"):
        report = tmp_path / name
        result = await run_cli("revicom", "stop", str(source), "--report", str(report), env=env)
        assert result.code == 1
        rows = by_index(read_report(report) if name != "REPORT.CSV" else _csv(report), 50)
        assert [r["id"] for r in rows] == ids
        assert [r["outcome"] for r in rows] == ["stopped"] * 30 + ["not_found"] * 20


def _csv(path: Path) -> list[dict[str, object]]:
    copy = path.with_name("upper.csv")
    copy.write_bytes(path.read_bytes())
    return read_report(copy)


async def test_report_to_stdout(sim: Simulator, env: dict[str, str]) -> None:
    ids = sim.add_revicom_messages(3)
    result = await run_cli(
        "revicom", "stop", "--report", "-", env=env, stdin="\n".join(ids).encode()
    )
    assert result.code == 0
    assert len(result.out.splitlines()) == 3


# ---------------------------------------------------------------------------- 8x8 cancels


@pytest.mark.parametrize("api", ["sms", "chatapps"])
async def test_cancel_by_umid(
    api: str, sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    seed = sim.add_sms_messages if api == "sms" else sim.add_chatapps_messages
    scheduled = seed(40).umids
    sent = seed(1, state="sent").umids
    unknown = uuids(1)
    source = write_lines(tmp_path / "umids.txt", [*scheduled, *sent, *unknown])
    report = tmp_path / "report.jsonl"

    result = await run_cli("8x8", api, "cancel", SUB, str(source), "--report", str(report), env=env)

    assert result.code == 1, result.err  # one umid is unknown
    rows = by_index(read_report(report), 42)
    assert [r["outcome"] for r in rows] == ["cancelled"] * 40 + ["not_cancelled", "not_found"]
    assert rows[-1]["code"] == 1300
    assert all(sim.message(u).state == "cancelled" for u in scheduled)
    assert len(sim.requests_for(f"{api}.cancel_message")) == 42

    # Everything left is already cancelled: "not_cancelled" counts as success.
    again = await run_cli("8x8", api, "cancel", SUB, env=env, stdin="\n".join(scheduled).encode())
    assert again.code == 0, again.err
    assert "not_cancelled" in again.err


@pytest.mark.parametrize("api", ["sms", "chatapps"])
async def test_cancel_batch(api: str, sim: Simulator, env: dict[str, str]) -> None:
    seed = sim.add_sms_messages if api == "sms" else sim.add_chatapps_messages
    seeded = seed(7)
    assert seeded.batch_id is not None

    first = await run_cli("8x8", api, "cancel-batch", SUB, seeded.batch_id, env=env)
    assert first.code == 0, first.err
    assert "7 scheduled messages cancelled" in first.out
    assert all(sim.message(u).state == "cancelled" for u in seeded.umids)

    second = await run_cli("8x8", api, "cancel-batch", SUB, seeded.batch_id, env=env)
    assert second.code == 0
    assert "nothing left to cancel" in second.out

    bad = await run_cli("8x8", api, "cancel-batch", SUB, "not-a-uuid", env=env)
    assert bad.code == 2
    assert "batch_id" in bad.err
    assert len(sim.requests) == 2


# ---------------------------------------------------------------------------- LINE


async def test_line_send(sim: Simulator, env: dict[str, str], tmp_path: Path) -> None:
    messages = line_messages(2_500)
    source = write_jsonl(tmp_path / "messages.jsonl", messages)
    report = tmp_path / "report.jsonl"

    result = await run_cli(
        "8x8", "line", "send", SUB, str(source), "--report", str(report),
        "--client-batch-id", "campaign-7", env=env,
    )  # fmt: skip

    assert result.code == 0, result.err
    requests = sim.requests_for("chatapps.send_line_notification_batch")
    assert sorted(len(r.body["messages"]) for r in requests) == [500, 1000, 1000]
    assert {r.body["clientBatchId"] for r in requests} == {"campaign-7"}
    rows = by_index(read_report(report), 2_500)
    assert {r["outcome"] for r in rows} == {"accepted"}
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == 2_500
    assert ids[1::2] == [f"msg-{i}" for i in range(1, 2_500, 2)]  # kept as given
    assert sorted(sent_message_ids(requests)) == sorted(ids)  # generated ones as sent
    assert len(sim.find_messages(api="chatapps", state="scheduled")) == 2_500
    assert "LINE batchIds:" in result.err


async def test_line_send_from_stdin_with_a_rejected_message_exits_1(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    messages = line_messages(10)
    sim.reject_recipients([messages[3]["user"]["msisdn"]], code=3003)
    stdin = write_jsonl(tmp_path / "messages.jsonl", messages).read_bytes()
    report = tmp_path / "report.csv"

    result = await run_cli(
        "8x8", "line", "send", SUB, "-", "--report", str(report), env=env, stdin=stdin
    )

    assert result.code == 1
    rows = by_index(read_report(report), 10)
    assert [r["outcome"] for r in rows] == ["accepted"] * 3 + ["rejected"] + ["accepted"] * 6
    assert rows[3]["code"] == 3003
    assert "+659" not in result.err  # no phone number in the summary


# ---------------------------------------------------------------------------- flows


async def test_flows_delete(sim: Simulator, env: dict[str, str]) -> None:
    draft = sim.add_flow("channel-1", status="DRAFT")
    published = sim.add_flow("channel-1", status="PUBLISHED")
    account = sim.account_id

    deleted = await run_cli("8x8", "flows", "delete", account, "channel-1", draft, env=env)
    assert deleted.code == 0, deleted.err
    assert draft in deleted.out
    assert [f.flow_id for f in sim.flows] == [published]

    refused = await run_cli("8x8", "flows", "delete", account, "channel-1", published, env=env)
    assert refused.code == 1
    assert "409" in refused.err
    assert "DRAFT" in refused.err

    missing = await run_cli("8x8", "flows", "delete", account, "channel-1", draft, env=env)
    assert missing.code == 1
    assert "404" in missing.err


# ---------------------------------------------------------------------------- bad input


async def test_a_bad_line_sends_nothing(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    good = uuids(3)
    source = write_lines(
        tmp_path / "uuids.txt", [good[0], "# fine", good[1], "nope", "+6591234567"]
    )

    result = await run_cli("revicom", "stop", str(source), env=env)

    assert result.code == 2
    assert "2 bad lines; nothing was sent" in result.err
    assert "line 4: 'nope' is not a uuid" in result.err
    assert "line 5:" in result.err
    assert "91234567" not in result.err  # a phone number is never echoed
    assert "--skip-invalid" in result.err
    assert sim.requests == []


async def test_a_bad_jsonl_line_names_line_and_field(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    messages = line_messages(3)
    messages[1]["content"]["icon"] = "sparkles"
    lines = [*map(json.dumps, messages), "[1, 2]", "{oops"]
    source = write_lines(tmp_path / "messages.jsonl", lines)

    result = await run_cli("8x8", "line", "send", SUB, str(source), env=env)

    assert result.code == 2
    assert "line 2: message.content.icon" in result.err
    assert "line 4: expected a JSON object" in result.err
    assert "line 5: not valid JSON" in result.err
    assert sim.requests == []


async def test_skip_invalid_reports_bad_lines_as_failed(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    good = sim.add_revicom_messages(3)
    source = write_lines(tmp_path / "uuids.txt", [good[0], "bad-1", good[1], "bad-2", good[2]])
    report = tmp_path / "report.jsonl"

    result = await run_cli(
        "revicom", "stop", str(source), "--skip-invalid", "--report", str(report), env=env
    )

    assert result.code == 1
    rows = by_index(read_report(report), 5)
    assert [r["outcome"] for r in rows] == ["stopped", "failed", "stopped", "failed", "stopped"]
    assert rows[1]["id"] == "bad-1"
    assert rows[1]["error"].startswith("line 2: 'bad-1' is not a uuid")
    assert sent_uuids(sim.requests) == good


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["revicom", "stop", "--shard", "0/3"], "K must be from 1 to N"),
        (["revicom", "stop", "--shard", "4/3"], "K must be from 1 to N"),
        (["revicom", "stop", "--shard", "two"], "expected K/N"),
        (["revicom", "stop", "--concurrency", "0"], "must be from 1"),
        (["revicom", "stop", "missing-file.txt"], "cannot read 'missing-file.txt'"),
        (["revicom", "start"], "invalid choice"),
        (["8x8", "sms", "cancel", "bad/sub"], "sub_account_id"),
        (["8x8", "line", "send", SUB], "required: FILE"),
        (["8x8", "flows", "delete", "not-hex", "c", "f"], "account_id"),
        (["revicom", "stop", "--token-file", "no-such-token"], "cannot read --token-file"),
    ],
)
async def test_bad_usage_exits_2(
    args: list[str], message: str, sim: Simulator, env: dict[str, str]
) -> None:
    valid = b"3fa85f64-5717-4562-b3fc-2c963f66afa6\n"
    result = await run_cli(*args, env=env, stdin=valid)
    assert result.code == 2, result.err
    assert message in result.err
    assert sim.requests == []


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


# ---------------------------------------------------------------------------- dry run


async def test_dry_run_sends_nothing(sim: Simulator, tmp_path: Path) -> None:
    env = cli_env(sim)
    del env["AIOMSG_8X8_API_KEY"], env["AIOMSG_REVICOM_TOKEN"]  # not needed for a dry run
    ids = write_lines(tmp_path / "uuids.txt", uuids(25_000))
    messages = write_jsonl(tmp_path / "messages.jsonl", line_messages(1_500))

    stop = await run_cli("revicom", "stop", str(ids), "--dry-run", env=env)
    assert stop.code == 0, stop.err
    assert "would send 25,000 uuids in 3 requests" in stop.out
    assert f"POST {sim.revicom_url}/api/v1/message/stop  10,000 uuids (items 0-9,999)" in stop.out

    cancel = await run_cli("8x8", "sms", "cancel", SUB, str(ids), "--dry-run", env=env)
    assert cancel.code == 0, cancel.err
    assert "in 25,000 requests" in cancel.out
    assert f"DELETE {sim.sms_url}/api/v1/subaccounts/{SUB}/messages/" in cancel.out
    assert "... and 24,990 more requests" in cancel.out

    line = await run_cli("8x8", "line", "send", SUB, str(messages), "--dry-run", env=env)
    assert line.code == 0, line.err
    assert "would send 1,500 messages in 2 requests" in line.out
    # A dry run has no outcomes to report: the combination is refused, not ignored.
    report = tmp_path / "r"
    refused = await run_cli(
        "8x8", "line", "send", SUB, str(messages), "--dry-run", "--report", str(report),
        env=env,
    )  # fmt: skip
    assert refused.code == 2
    assert "--dry-run writes no report" in refused.err
    assert refused.out == ""

    bad = write_lines(tmp_path / "bad.txt", ["nope"])
    invalid = await run_cli("revicom", "stop", str(bad), "--dry-run", env=env)
    assert invalid.code == 2
    skipped = await run_cli("revicom", "stop", str(bad), "--dry-run", "--skip-invalid", env=env)
    assert skipped.code == 1
    assert "1 bad line would be reported failed" in skipped.out

    assert sim.requests == []
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------------------- shards


async def test_shards_cover_the_input_exactly_once(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(1_003)
    source = write_lines(tmp_path / "uuids.txt", ["# header", *ids])
    shard_args = ("revicom", "stop", str(source), "--shard")
    runs = [
        run_cli(*shard_args, f"{k}/3", "--report", str(tmp_path / f"shard-{k}.jsonl"), env=env)
        for k in (1, 2, 3)
    ]
    results = await asyncio.gather(*runs)
    assert [r.code for r in results] == [0, 0, 0], [r.err for r in results]

    reports = [read_report(tmp_path / f"shard-{k}.jsonl") for k in (1, 2, 3)]
    assert [len(r) for r in reports] == [334, 334, 335]
    rows = by_index([row for report in reports for row in report], 1_003)
    assert [r["id"] for r in rows] == ids
    assert sorted(sent_uuids(sim.requests)) == sorted(ids)  # each sent once
    assert [min(r["index"] for r in report) for report in reports] == [0, 334, 668]


# ---------------------------------------------------------------------------- simulator


async def test_simulator_command_serves_until_interrupted() -> None:
    proc = await asyncio.create_subprocess_exec(
        *command("simulator", "--port", "0"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(None),
    )
    try:
        assert proc.stdout is not None
        banner = ""
        while "Press Ctrl-C" not in banner:
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line, "the simulator exited early"
            banner += line.decode()
        url = re.search(r"listening on (http://\S+)", banner)
        queued = re.search(r"revicom_queued: (.*)", banner)
        assert url is not None
        assert queued is not None
        env = cli_env(None, AIOMSG_REVICOM_URL=f"{url[1]}/revicom",
                      AIOMSG_REVICOM_TOKEN="sim-revicom-token")  # fmt: skip
        stop = await run_cli("revicom", "stop", "--report", "-", env=env,
                             stdin="\n".join(queued[1].split()).encode())  # fmt: skip
        assert stop.code == 0, stop.err
        assert stop.out.count('"stopped"') == 3
        os.kill(proc.pid, signal.SIGINT)
        assert await wait_exit(proc, 20) == 0
    finally:
        await kill(proc)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_simulator_over_tls_removes_its_certificate_files_when_stopped(
    stop: signal.Signals, tmp_path: Path
) -> None:
    proc = await asyncio.create_subprocess_exec(
        *command("simulator", "--tls"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=cli_env(None, TMPDIR=str(tmp_path)),
    )
    try:
        assert proc.stdout is not None
        banner = ""
        while "Press Ctrl-C" not in banner:
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line, "the simulator exited early"
            banner += line.decode()
        assert [name[:11] for name in _names(tmp_path)] == ["aiomsg-sim-"]
        os.kill(proc.pid, stop)
        assert await wait_exit(proc, 20) == 0
    finally:
        await kill(proc)
    assert _names(tmp_path) == [], "the TLS files are removed"


@pytest.mark.parametrize("tls", [False, True])
async def test_simulator_on_a_busy_port_is_a_usage_error(tls: bool, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = ["simulator", "--port", str(port), *(["--tls"] if tls else [])]
        result = await run_cli(*args, env=cli_env(None, TMPDIR=str(tmp_path)))
    assert result.code == 2, result.err
    assert f"cannot listen on 127.0.0.1:{port}" in result.err
    assert "Traceback" not in result.err
    assert _names(tmp_path) == [], "no TLS files left behind"


def _names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


async def test_simulator_on_an_address_not_of_this_machine_is_a_usage_error() -> None:
    result = await run_cli("simulator", "--host", "192.0.2.1", env=cli_env(None))
    assert result.code == 2, result.err
    assert "cannot listen on 192.0.2.1:0" in result.err


# ---------------------------------------------------------------------------- LINE ids


async def test_identical_lines_share_one_id_and_are_sent_once(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    message = {"user": {"msisdn": "+6591230000"}, "content": {"title": "Hi", "icon": "bell"}}
    same = '{ "content": {"icon": "bell", "title": "Hi"},  "user": {"msisdn": "+6591230000"} }'
    other = {"user": {"msisdn": "+6591230001"}, "content": {"title": "Hi", "icon": "bell"}}
    source = write_lines(
        tmp_path / "messages.jsonl", [json.dumps(message), same, json.dumps(other)]
    )
    report = tmp_path / "report.jsonl"
    args = ("8x8", "line", "send", SUB, str(source), "--report", str(report))

    result = await run_cli(*args, env=env)

    assert result.code == 0, result.err
    rows = by_index(read_report(report), 3)
    assert [r["outcome"] for r in rows] == ["accepted"] * 3
    assert rows[0]["id"] == rows[1]["id"] != rows[2]["id"]
    (request,) = sim.requests_for("chatapps.send_line_notification_batch")
    assert sent_message_ids([request]) == [rows[0]["id"], rows[2]["id"]], "sent once"
    assert len(sim.find_messages(api="chatapps")) == 2

    # The ids come from the input and the content: the same on every run over this
    # input (so a resume agrees with the first run), another for the same message in
    # another input (so reconciling by id never mixes two jobs up).
    again = await run_cli("8x8", "line", "send", SUB, str(source), "--report", "-", env=env)
    assert [json.loads(line)["id"] for line in again.out.splitlines()] == [
        rows[0]["id"], rows[1]["id"], rows[2]["id"]
    ]  # fmt: skip
    write_lines(tmp_path / "other.jsonl", [json.dumps(other), json.dumps(message)])
    elsewhere = await run_cli(
        "8x8", "line", "send", SUB, str(tmp_path / "other.jsonl"), "--report", "-", env=env
    )
    ids = [json.loads(line)["id"] for line in elsewhere.out.splitlines()]
    assert ids[0] != rows[2]["id"]
    assert ids[1] != rows[0]["id"]


# ---------------------------------------------------------------------------- privacy


async def test_phone_numbers_in_bad_lines_are_masked_everywhere(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    good = sim.add_revicom_messages(1)
    bad = ["+65 9123 4567", "+65-9123-4568", "tel:6591234569", "bad-1"]
    source = write_lines(tmp_path / "uuids.txt", [*good, *bad])
    report = tmp_path / "report.jsonl"

    refused = await run_cli("revicom", "stop", str(source), env=env)
    skipped = await run_cli(
        "revicom", "stop", str(source), "--skip-invalid", "--report", str(report), env=env
    )

    assert refused.code == 2
    assert skipped.code == 1, skipped.err
    rows = by_index(read_report(report), 5)
    shown = refused.err + skipped.err + report.read_text()
    for number in ("9123", "91234568", "91234569", "659123"):
        assert number not in shown.replace("***", "")
    assert [r["id"] for r in rows[1:]] == ["***4567", "***4568", "tel:***4569", "bad-1"]
    assert "'***4567' is not a uuid" in refused.err
    assert sent_uuids(sim.requests) == good


# ---------------------------------------------------------------------------- --quiet


async def test_quiet_silences_progress_and_summary_not_results(
    sim: Simulator, env: dict[str, str]
) -> None:
    seeded = sim.add_sms_messages(2)
    assert seeded.batch_id is not None
    batch = await run_cli("8x8", "sms", "cancel-batch", SUB, seeded.batch_id, "--quiet", env=env)
    assert batch.code == 0
    assert batch.out.startswith(f"batch {seeded.batch_id}: 2 scheduled messages cancelled")
    assert batch.err == ""
    flow = sim.add_flow("channel-1", status="DRAFT")
    deleted = await run_cli(
        "8x8", "flows", "delete", sim.account_id, "channel-1", flow, "--quiet", env=env
    )
    assert deleted.code == 0
    assert flow in deleted.out
    assert deleted.err == ""
    missing = await run_cli(
        "8x8", "flows", "delete", sim.account_id, "channel-1", flow, "--quiet", env=env
    )
    assert missing.code == 1
    assert "404" in missing.err  # errors are still shown


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
