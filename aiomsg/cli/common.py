"""What the commands share: option types and groups, secrets from files, running a job."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import math
import re
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Literal, TypeAlias, TypeVar, cast

from aiomsg.bulk import MAX_CONCURRENCY
from aiomsg.eightxeight.client import ENV_API_KEY, REGIONS
from aiomsg.revicom.client import ENV_TOKEN

from .exits import EXIT_CODES, UsageError
from .operation import C, I, JobOptions, Operation
from .shard import MAX_SHARDS, shard_of

__all__ = [
    "MAX_CONCURRENCY",
    "add_bulk_arguments",
    "add_command",
    "add_connection_arguments",
    "job_options",
    "port",
    "run_async",
    "run_job",
    "secret_file",
]

T = TypeVar("T")


if TYPE_CHECKING:
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def add_command(commands: Commands, name: str, help: str) -> argparse.ArgumentParser:
    """A command that runs (not a group of them): its --help ends with the exit codes."""
    return commands.add_parser(
        name, help=help, epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def run_async(coro: Coroutine[object, object, T]) -> T:
    """Run ``coro`` on uvloop when it is installed (``aiomsg[fast]``), else asyncio."""
    try:
        uvloop = importlib.import_module("uvloop")  # optional: not a dependency
    except ImportError:
        return asyncio.run(coro)
    return cast(T, uvloop.run(coro))


# ---------------------------------------------------------------------------- option types


def _shard(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected K/N such as 2/5, got {value!r}")
    k, n = int(match[1]), int(match[2])
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"K must be from 1 to N (1-based), got {k}/{n}")
    return k, n


def _whole(value: str, low: int, high: int, what: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}") from None
    if not low <= n <= high:
        raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {n}")
    return n


def _concurrency(value: str) -> int:
    return _whole(value, 1, MAX_CONCURRENCY, "a whole number")


def _shards(value: str) -> int:
    return _whole(value, 1, MAX_SHARDS, "a whole number")


def _rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected requests per second, got {value!r}") from None
    if not (rate > 0 and math.isfinite(rate)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value!r}")
    return rate


def port(value: str) -> int:
    """A ``--port``: 0 (a free one) to 65535."""
    return _whole(value, 0, 65535, "a port number")


# ---------------------------------------------------------------------------- option groups


def add_connection_arguments(
    parser: argparse.ArgumentParser, provider: Literal["8x8", "revicom"], url_env: str
) -> None:
    """--base-url, the credential's file option (--region for 8x8), and --quiet."""
    group = parser.add_argument_group("connection")
    group.add_argument("--base-url", metavar="URL", help=f"API base URL (else ${url_env})")
    if provider == "8x8":
        group.add_argument(
            "--region",
            choices=sorted(REGIONS),
            default="ap",
            help="8x8 region whose hosts to use (default: ap)",
        )
        group.add_argument(
            "--api-key-file",
            metavar="PATH",
            help=f"read the 8x8 API key from this file (else ${ENV_API_KEY})",
        )
    else:
        group.add_argument(
            "--token-file",
            metavar="PATH",
            help=f"read the Revicom token from this file (else ${ENV_TOKEN})",
        )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="nothing on standard error but errors: no progress bar, no summary (results "
        "are data and still go to standard output)",
    )


def add_bulk_arguments(
    parser: argparse.ArgumentParser, *, file_required: bool = False, line: bool = False
) -> None:
    """The input FILE and the options of a bulk job."""
    parser.add_argument(
        "file",
        metavar="FILE",
        nargs=None if file_required else "?",
        default="-",
        help="input file, or - for standard input" + ("" if file_required else " (the default)"),
    )
    group = parser.add_argument_group("bulk job")
    group.add_argument(
        "--concurrency",
        type=_concurrency,
        default=8,
        metavar="N",
        help="requests in flight at once (default: 8)",
    )
    group.add_argument(
        "--report",
        metavar="PATH",
        help="write one record per input item (JSON Lines; CSV if PATH ends in "
        ".csv; - for standard output)",
    )
    group.add_argument(
        "--journal",
        metavar="PATH",
        help="record progress here; re-run with the same journal to resume",
    )
    if line:
        group.add_argument(
            "--resend-unknown",
            action="store_true",
            help="on resume, send again LINE requests whose answer never came",
        )
    group.add_argument(
        "--skip-invalid",
        action="store_true",
        help="report bad lines as failed and send the rest (default: send "
        "nothing when a line is bad)",
    )
    group.add_argument(
        "--dry-run",
        action="store_true",
        help="check the whole input and show what would be sent; send nothing",
    )
    group.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="process only the K-th of N equal slices of the input (1-based)",
    )
    group.add_argument(
        "--shards",
        type=_shards,
        metavar="N",
        help="the input is cut into N slices; this run takes slice "
        "$JOB_COMPLETION_INDEX + 1 (Kubernetes Indexed Jobs; else $AIOMSG_SHARDS)",
    )
    group.add_argument(
        "--rate",
        type=_rate,
        metavar="R",
        help="requests per second for this run (default: the provider's limit divided "
        "by the shard count)",
    )


# ---------------------------------------------------------------------------- running


def secret_file(path: str | None, option: str) -> str | None:
    """A secret from ``--*-file``: the file's content without surrounding whitespace."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            value = f.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read {option} {path!r}: {why}") from None
    if not value:
        raise UsageError(f"{option} {path!r} is empty")
    return value


def job_options(args: argparse.Namespace) -> JobOptions:
    """The options of a bulk job, from its command's arguments."""
    return JobOptions(
        input=args.file,
        concurrency=args.concurrency,
        report=args.report,
        journal=args.journal,
        resend_unknown=getattr(args, "resend_unknown", False),
        skip_invalid=args.skip_invalid,
        dry_run=args.dry_run,
        quiet=args.quiet,
        shard=shard_of(args),
        reads=tuple(
            (f"--{name.replace('_', '-')}", path)
            for name in ("token_file", "api_key_file")
            if (path := getattr(args, name, None)) is not None
        ),
    )


def run_job(operation: Operation[C, I], args: argparse.Namespace) -> int:
    """Run a bulk operation over the command's input; its exit code."""
    from .job import BulkJob  # the job's machinery is loaded when a job runs, not for --help

    job = BulkJob(operation, job_options(args))
    try:
        job.prepare()
        return run_async(job.run())
    finally:
        job.close()
