"""Which shard a run takes (``--shard``, ``--shards``, ``JOB_COMPLETION_INDEX``,
``AIOMSG_SHARDS``) and the pace each shard keeps."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from aiomsg import EightByEight, RateLimit, Revicom
from aiomsg.cli.exits import UsageError
from aiomsg.cli.parser import build_parser
from aiomsg.cli.shard import default_rate_limit, rate_limit, resolve_shard
from aiomsg.testing import Simulator

from .support import read_report, run_cli, write_lines

INDEX, SHARDS = "JOB_COMPLETION_INDEX", "AIOMSG_SHARDS"


@pytest.mark.parametrize(
    ("shard", "shards", "environ", "expected"),
    [
        (None, None, {}, None),
        ((2, 5), None, {}, (2, 5)),
        (None, 4, {INDEX: "0"}, (1, 4)),
        (None, 4, {INDEX: "3"}, (4, 4)),
        (None, None, {INDEX: "2", SHARDS: "3"}, (3, 3)),
        (None, 3, {INDEX: " 2 ", SHARDS: "3"}, (3, 3)),
        ((3, 3), 3, {INDEX: "2", SHARDS: "3"}, (3, 3)),
        # Index 0 alone is a job of one (an Indexed Job with completions 1).
        (None, None, {INDEX: "0"}, None),
        (None, None, {INDEX: "", SHARDS: ""}, None),
    ],
)
def test_the_shard_comes_from_options_and_environment(
    shard: tuple[int, int] | None,
    shards: int | None,
    environ: dict[str, str],
    expected: tuple[int, int] | None,
) -> None:
    assert resolve_shard(shard, shards, environ) == expected


@pytest.mark.parametrize(
    ("shard", "shards", "environ", "message"),
    [
        (None, 4, {}, "needs this shard's number"),
        (None, None, {SHARDS: "4"}, "needs this shard's number"),
        (None, None, {INDEX: "3"}, "no shard count"),
        (None, 4, {INDEX: "4"}, "is not below the shard count 4"),
        (None, 4, {INDEX: "-1"}, "must be from 0"),
        (None, 4, {INDEX: "two"}, "must be a whole number"),
        (None, None, {INDEX: "0", SHARDS: "0"}, "must be from 1"),
        (None, 4, {INDEX: "0", SHARDS: "5"}, "disagree"),
        ((2, 5), 4, {}, "disagree on the shard count"),
        ((2, 5), None, {SHARDS: "4"}, "disagree on the shard count"),
        ((2, 5), None, {INDEX: "0", SHARDS: "5"}, "disagree"),
        ((2, 5), None, {INDEX: "0"}, "disagree"),
    ],
)
def test_inconsistent_or_missing_shard_values_are_refused(
    shard: tuple[int, int] | None, shards: int | None, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        resolve_shard(shard, shards, environ)


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["revicom", "stop", *argv])


def test_each_shard_paces_at_the_default_rate_divided_by_the_shard_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (INDEX, SHARDS):
        monkeypatch.delenv(name, raising=False)
    default = default_rate_limit(EightByEight)
    assert default.rate == 1800.0
    assert rate_limit(_args(), EightByEight) == default
    quarter = rate_limit(_args("--shard", "2/4"), EightByEight)
    assert quarter.rate == pytest.approx(450.0)
    assert quarter.burst == default.burst // 4
    assert quarter.concurrency == default.concurrency
    # Many shards: the burst never drops below one, the rates still sum to the limit.
    many = rate_limit(_args("--shard", "1/1000"), EightByEight)
    assert many.burst == 1
    assert many.rate == pytest.approx(1.8)
    monkeypatch.setenv(INDEX, "5")
    monkeypatch.setenv(SHARDS, "6")
    assert rate_limit(_args(), EightByEight).rate == pytest.approx(300.0)
    assert rate_limit(_args("--rate", "50"), EightByEight) == RateLimit(
        rate=50.0, burst=16, concurrency=default.concurrency
    )


def test_revicom_stays_unpaced_unless_a_rate_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (INDEX, SHARDS):
        monkeypatch.delenv(name, raising=False)
    assert default_rate_limit(Revicom).rate is None
    assert rate_limit(_args("--shard", "1/4"), Revicom) == default_rate_limit(Revicom)
    assert rate_limit(_args("--shard", "1/4", "--rate", "2.5"), Revicom).rate == 2.5


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "fast"])
def test_a_rate_that_is_not_a_positive_number_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        _args("--rate", value)
    assert exc.value.code == 2
    assert "--rate" in capsys.readouterr().err


async def test_an_indexed_job_pod_takes_its_slice(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(10)
    source = write_lines(tmp_path / "uuids.txt", ids)
    report = tmp_path / "r.jsonl"
    pod = {**env, INDEX: "1", SHARDS: "2"}
    ran = await run_cli("revicom", "stop", str(source), "--report", str(report), env=pod)
    assert ran.code == 0, ran.err
    assert [row["id"] for row in read_report(report)] == ids[5:]

    refused = await run_cli(
        "revicom", "stop", str(source), "--shard", "1/2", "--report", str(report), env=pod
    )
    assert refused.code == 2
    assert "disagree" in refused.err
    missing = await run_cli("revicom", "stop", str(source), "--shards", "2", env=env)
    assert missing.code == 2
    assert "JOB_COMPLETION_INDEX" in missing.err


def test_commands_without_shards_ignore_the_pod_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INDEX, "3")
    monkeypatch.delenv(SHARDS, raising=False)
    args = build_parser().parse_args(["8x8", "sms", "cancel-batch", "sub", "b-1"])
    assert rate_limit(args, EightByEight) == default_rate_limit(EightByEight)
    with pytest.raises(UsageError, match="no shard count"):
        rate_limit(_args(), EightByEight)
