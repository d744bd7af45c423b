"""The command tree: bad usage exits 2, each help lists only what applies, and an option
given in the wrong place says where it goes."""

from __future__ import annotations

import pytest

from aiomsg.cli import main
from aiomsg.testing import Simulator

from .support import (
    run_cli,
)

SUB = "sim-sub"


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


@pytest.mark.parametrize(
    ("args", "absent", "present"),
    [
        (["revicom", "stop"], "--resend-unknown", "--journal"),
        (["8x8", "sms", "cancel", SUB], "--resend-unknown", "--report"),
        (["8x8", "sms", "cancel-batch"], "--report", "--api-key-file"),
        (["8x8", "line", "send"], "--token-file", "--resend-unknown"),
    ],
)
def test_each_help_lists_only_what_applies(
    args: list[str], absent: str, present: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([*args, "--help"])
    text = capsys.readouterr().out
    assert absent not in text
    assert present in text


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["--report", "r.jsonl", "revicom", "stop", "ids.txt"],
            "--report goes after the subcommand; it is an option of 'aiomsg revicom stop'",
        ),
        (
            ["--report", "r.jsonl", "revicom", "stop", "ids.txt"],
            "as in: aiomsg revicom stop ids.txt --report r.jsonl",
        ),
        (["revicom", "--quiet", "stop"], "as in: aiomsg revicom stop --quiet"),
        (["8x8", "--region", "us", "sms", "cancel-batch", "s", "b"], "--region goes after"),
        (
            ["revicom", "stop", "--resend-unknown"],
            "'aiomsg revicom stop' has no option --resend-unknown; it is an option of "
            "'aiomsg 8x8 line send'",
        ),
    ],
)
def test_a_misplaced_option_says_where_it_goes(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert said in err
    assert "unrecognized arguments" not in err


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        (["revicom", "stop", "--bogus"], "usage: aiomsg revicom stop "),
        (["8x8", "sms", "cancel", SUB, "--bogus=1"], "usage: aiomsg 8x8 sms cancel "),
        (["report", "merge", "out.jsonl", "a.jsonl", "--nope"], "usage: aiomsg report merge "),
    ],
)
def test_an_unknown_option_shows_the_usage_of_its_command(
    args: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not the top level's usage: the command that was given the option."""
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage)
    assert f"{usage[7:].strip()}: error: unrecognized arguments: {args[-1]}" in err


def test_the_receipts_commands_read_the_library_s_authorization_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import aiomsg.receipts
    from aiomsg.cli.webhooks import ENV_AUTHORIZATION

    assert ENV_AUTHORIZATION == aiomsg.receipts.AUTHORIZATION_ENV
    with pytest.raises(SystemExit):
        main(["8x8", "receipts", "serve", "--help"])
    assert f"default: {ENV_AUTHORIZATION}" in " ".join(capsys.readouterr().out.split())
