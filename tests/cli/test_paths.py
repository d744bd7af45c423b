"""Never destroy an input: a report or journal that is the same file as the input, the
journal or the other output is refused before anything is written, whatever the
spelling of the path; a report is put in place whole or not at all."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiomsg.cli import main
from aiomsg.testing import Fault, Simulator

from .support import (
    by_index,
    cli_env,
    kill,
    read_report,
    run_cli,
    start_cli,
    uuids,
    wait_until,
    write_lines,
)

# ---------------------------------------------------------------------------- subprocess


async def test_a_report_over_the_input_is_refused(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(3)
    victim = write_lines(tmp_path / "victim.txt", ids)
    content = victim.read_bytes()

    result = await run_cli("revicom", "stop", str(victim), "--report", str(victim), env=env)

    assert result.code == 2, result.err
    assert f"the input '{victim}' and --report '{victim}' are the same file" in result.err
    assert "Nothing was sent" in result.err
    assert victim.read_bytes() == content
    assert sim.requests == []


async def test_a_report_over_the_journal_or_any_journal_is_refused(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(3)
    source = write_lines(tmp_path / "ids.txt", ids)
    journal = tmp_path / "job.journal"

    same = await run_cli(
        "revicom", "stop", str(source), "--journal", str(journal), "--report", str(journal),
        env=env,
    )  # fmt: skip
    assert same.code == 2, same.err
    assert "--journal" in same.err
    assert "--report" in same.err
    assert not journal.exists(), "nothing was opened for writing"

    made = await run_cli("revicom", "stop", str(source), "--journal", str(journal), env=env)
    assert made.code == 0, made.err
    content = journal.read_bytes()
    requests = len(sim.requests)

    # The journal of a finished job, given as the report of another run.
    other = await run_cli("revicom", "stop", str(source), "--report", str(journal), env=env)
    assert other.code == 2, other.err
    assert f"--report '{journal}' is an aiomsg journal" in other.err
    assert journal.read_bytes() == content
    assert len(sim.requests) == requests


async def test_a_report_over_a_secret_file_is_refused(sim: Simulator, tmp_path: Path) -> None:
    env = cli_env(sim)
    del env["AIOMSG_8X8_API_KEY"]
    key = tmp_path / "key"
    key.write_text(sim.api_key)
    source = write_lines(tmp_path / "umids.txt", uuids(2))
    alias = tmp_path / "alias"
    alias.symlink_to(key)
    result = await run_cli(
        "8x8", "sms", "cancel", "sim-sub", str(source), "--api-key-file", str(key),
        "--journal", str(alias), env=env,
    )  # fmt: skip
    assert result.code == 2, result.err
    assert "--api-key-file" in result.err
    assert key.read_text() == sim.api_key
    assert sim.requests == []


async def test_a_report_over_the_file_behind_standard_input_is_refused(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    victim = write_lines(tmp_path / "victim.txt", sim.add_revicom_messages(3))
    content = victim.read_bytes()
    link = tmp_path / "alias.txt"
    link.symlink_to(victim)
    proc = await start_cli(
        "revicom", "stop", "-", "--report", str(link), env=env, stderr=tmp_path / "err",
        stdin=victim,
    )  # fmt: skip
    try:
        code = await proc.wait()
    finally:
        await kill(proc)
    assert code == 2
    assert "the input (standard input) and --report" in (tmp_path / "err").read_text()
    assert victim.read_bytes() == content
    assert sim.requests == []


async def test_a_killed_run_leaves_the_previous_report_whole(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(30_000)
    source = write_lines(tmp_path / "ids.txt", ids)
    report = tmp_path / "report.jsonl"
    report.write_text('{"previous": "report"}\n')
    sim.inject(Fault.stall(60), route="revicom.stop", after=1)

    proc = await start_cli(
        "revicom", "stop", str(source), "--report", str(report), "--concurrency", "1",
        env=env, stderr=tmp_path / "err",
    )  # fmt: skip
    try:
        await wait_until(lambda: len(sim.requests) == 2, "the second request to arrive")
    finally:
        await kill(proc)
    assert report.read_text() == '{"previous": "report"}\n'
    partial = _partials(tmp_path)
    assert len(partial) == 1
    assert partial[0].name.startswith(".report.jsonl.")
    sim.clear_faults()

    _chmod(report, 0o640)
    result = await run_cli("revicom", "stop", str(source), "--report", str(report), env=env)
    assert result.code == 0, result.err
    assert [r["id"] for r in by_index(read_report(report), 30_000)] == ids
    assert _mode(report) == 0o640, "the replaced report keeps its mode"
    fresh = tmp_path / "fresh.csv"
    again = await run_cli("revicom", "stop", str(source), "--report", str(fresh), env=env)
    assert again.code == 0, again.err
    assert _mode(fresh) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _chmod(path: Path, mode: int) -> None:
    path.chmod(mode)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _partials(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.partial"))


# ---------------------------------------------------------------------------- aliases


def _aliases(root: Path, target: Path) -> dict[str, Callable[[], str]]:
    """Ways to name ``target`` (a file in ``root/real``) other than its own path."""
    rel = os.path.relpath(target)

    def symlink() -> str:
        link = root / "link-to-file"
        if not link.is_symlink():
            link.symlink_to(target)
        return str(link)

    def hardlink() -> str:
        link = root / "hard-link"
        if not link.exists():
            os.link(target, link)
        return str(link)

    def via_dir_link() -> str:
        link = root / "dir-link"
        if not link.is_symlink():
            link.symlink_to(target.parent, target_is_directory=True)
        return str(link / target.name)

    return {
        "same": lambda: str(target),
        "relative": lambda: rel,
        "dot-slash": lambda: "./" + rel,
        "dot-dot": lambda: str(target.parent / ".." / target.parent.name / target.name),
        "doubled-slash": lambda: str(target.parent) + "//" + target.name,
        "symlink": symlink,
        "hard link": hardlink,
        "symlinked directory": via_dir_link,
    }


ALIASES = sorted(_aliases(Path("/"), Path("/x/y")))


@contextmanager
def _job_dir() -> Iterator[Path]:
    """A fresh directory as the working directory, with no server behind the URLs."""
    saved_cwd, saved_env = os.getcwd(), dict(os.environ)
    with tempfile.TemporaryDirectory() as d:
        root = Path(d).resolve()
        (root / "real").mkdir()
        os.chdir(root)
        os.environ.update(
            AIOMSG_REVICOM_URL="http://127.0.0.1:9", AIOMSG_REVICOM_TOKEN="t"
        )  # nothing listens there: a run that is not refused fails, never reaches anyone
        try:
            yield root
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["input-as-report", "input-as-journal", "journal-as-report", "new-outputs"]),
    st.sampled_from(ALIASES),
    st.booleans(),
)
def test_every_alias_of_a_file_is_refused(
    capsys: pytest.CaptureFixture[str], case: str, alias: str, flip: bool
) -> None:
    with _job_dir() as root:
        source = root / "real" / "ids.txt"
        source.write_text("".join(f"{u}\n" for u in uuids(3)))
        journal = root / "real" / "job.journal"
        journal.write_bytes(
            b'{"journal":"aiomsg","version":2,"fingerprint":"x","command":"revicom stop",'
            b'"input":"ids.txt","input_digest":"0","items":3}\n'
        )
        before = {p: p.read_bytes() for p in (source, journal)}
        if case == "new-outputs":
            # Neither output exists yet: they still name one file.
            target = root / "real" / "out.jsonl"
            # A hard link needs an existing file: a dangling symlink stands in for it.
            other = _aliases(root, target)["symlink" if alias == "hard link" else alias]()
            a, b = (str(target), other) if not flip else (other, str(target))
            args = [str(source), "--report", a, "--journal", b]
        else:
            target = source if case.startswith("input") else journal
            other = _aliases(root, target)[alias]()
            plain = str(target)
            option = "--report" if case.endswith("report") else "--journal"
            if case == "journal-as-report":
                args = [str(source), "--journal", plain, "--report", other]
            else:
                args = [plain if not flip else other, option, other if not flip else plain]
        code = main(["revicom", "stop", *args])
        err = capsys.readouterr().err
        assert code == 2, err
        assert "are the same file" in err
        assert "Nothing was sent" in err
        assert {p: p.read_bytes() for p in (source, journal)} == before
        assert not (root / "real" / "out.jsonl").exists()
        assert not _partials(root)


def test_distinct_files_are_not_refused(tmp_path: Path) -> None:
    from aiomsg.cli.paths import Role, first_clash

    (tmp_path / "in.txt").write_text("x\n")
    (tmp_path / "sub").mkdir()
    roles = [
        Role("the input", str(tmp_path / "in.txt"), writes=False),
        Role("--journal", str(tmp_path / "sub" / "in.txt"), writes=True),
        Role("--report", str(tmp_path / "in.txt.csv"), writes=True),
    ]
    assert first_clash(roles) is None
    # An input read twice is not a clash: nothing writes it.
    assert (
        first_clash([roles[0], Role("the input", str(tmp_path / "in.txt"), writes=False)]) is None
    )


async def test_a_report_through_a_symlink_or_a_pipe_is_written_there(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = sim.add_revicom_messages(3)
    source = write_lines(tmp_path / "ids.txt", ids)
    target = tmp_path / "kept" / "report.jsonl"
    _mkdir(target.parent)
    link = tmp_path / "report-link.jsonl"
    link.symlink_to(target)

    linked = await run_cli("revicom", "stop", str(source), "--report", str(link), env=env)
    assert linked.code == 0, linked.err
    assert _is_symlink(link), "the link stays a link"
    assert [r["id"] for r in read_report(target)] == ids

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proc = await start_cli(
        "revicom", "stop", str(source), "--report", str(fifo), env=env, stderr=tmp_path / "err"
    )
    try:
        data = await asyncio.wait_for(asyncio.to_thread(_read_all, fifo), 20)
        assert await proc.wait() == 0
    finally:
        await kill(proc)
    assert len(data.splitlines()) == 3

    refused = await run_cli("revicom", "stop", str(source), "--report", str(tmp_path), env=env)
    assert refused.code == 2
    assert "it is a directory" in refused.err


def _mkdir(path: Path) -> None:
    path.mkdir()


def _is_symlink(path: Path) -> bool:
    return path.is_symlink()


def _read_all(path: Path) -> bytes:
    return path.read_bytes()


@pytest.mark.parametrize("command", [["revicom", "stop"], ["8x8", "sms", "cancel", "sub-1"]])
def test_a_secret_file_given_as_the_input_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("k3y+Sl/ash=9f2-Zq\n")
    option = "--token-file" if command[0] == "revicom" else "--api-key-file"
    link = tmp_path / "ids.txt"
    link.symlink_to(secret)
    code = main([*command, str(link), option, str(secret), "--base-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "are the same file" in err
    assert "k3y" not in err
