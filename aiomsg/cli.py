"""The ``aiomsg`` command line: argument parsing and dispatch to the commands.

Exit codes (``EXIT_CODES``, shown by ``--help``): 0 every item succeeded (or
``--dry-run`` found the input valid); 1 every item accounted for, some did not
succeed; 2 bad usage or input, a journal from another job, or an output that would
overwrite an input, the journal or another output (nothing sent); 3 interrupted or
incomplete (resumable with the same ``--journal``); 4 items failed because their
requests failed as a whole (a re-run with the same ``--journal`` sends them again).
When several apply, the first of 2, 3, 4, 1 is the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import re
import sys
import traceback
from collections.abc import Coroutine, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Final, Literal, TypeVar, cast
from urllib.parse import quote

from msgspec import UNSET

import aiomsg

from ._cli_job import (
    EXIT_INCOMPLETE,
    EXIT_NOT_ALL_SUCCEEDED,
    EXIT_OK,
    EXIT_REQUESTS_FAILED,
    EXIT_USAGE,
    BulkCommand,
    BulkJob,
    JobOptions,
    UsageError,
)
from .bulk import BulkOptions, OutcomeStream
from .eightxeight.client import REGIONS
from .eightxeight.models import MAX_LINE_BATCH
from .revicom.client import DEFAULT_REVICOM_URL
from .revicom.models import MAX_STOP_BATCH

__all__ = ["main"]

T = TypeVar("T")
Api = Literal["sms", "chatapps"]

MAX_CONCURRENCY: Final = 1000
_URL_ENV: Final = {
    "sms": "AIOMSG_8X8_SMS_URL",
    "chatapps": "AIOMSG_8X8_CHATAPPS_URL",
    "revicom": "AIOMSG_REVICOM_URL",
}
EXIT_CODES: Final = """exit codes:
  0  every item succeeded (or --dry-run found the input valid)
  1  every item accounted for, some did not succeed (not found, rejected, unknown ...)
  2  bad usage or input, a journal of another job, or an output path that is the
     input, the journal or the other output: nothing was sent
  3  interrupted or incomplete: re-run with the same --journal to resume
  4  items failed because their requests failed as a whole (authentication,
     connection, server errors after the retries): a re-run with the same
     --journal sends them again
  when several apply, the first of 2, 3, 4, 1.
"""
# A placeholder credential for --dry-run, which builds a client to check the
# arguments but never sends.
_DRY_RUN_SECRET: Final = "dry-run"


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when it is installed (``aiomsg[fast]``), else asyncio."""
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return asyncio.run(coro)
    return cast(T, uvloop.run(coro))


# ---------------------------------------------------------------------------- options


def _shard(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected K/N such as 2/5, got {value!r}")
    k, n = int(match[1]), int(match[2])
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"K must be from 1 to N (1-based), got {k}/{n}")
    return k, n


def _concurrency(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if not 1 <= n <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_CONCURRENCY}, got {n}")
    return n


def _port(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {value!r}") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 to 65535, got {n}")
    return n


def _common(parser: argparse.ArgumentParser, provider: Literal["8x8", "revicom"]) -> None:
    group = parser.add_argument_group("connection")
    env = "AIOMSG_REVICOM_URL" if provider == "revicom" else "AIOMSG_8X8_*_URL"
    group.add_argument("--base-url", metavar="URL", help=f"API base URL (else ${env})")
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
            help="read the 8x8 API key from this file (else $AIOMSG_8X8_API_KEY)",
        )
    else:
        group.add_argument(
            "--token-file",
            metavar="PATH",
            help="read the Revicom token from this file (else $AIOMSG_REVICOM_TOKEN)",
        )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="nothing on standard error but errors: no progress bar, no summary (results "
        "are data and still go to standard output)",
    )


def _bulk(
    parser: argparse.ArgumentParser, *, file_required: bool = False, line: bool = False
) -> None:
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


# What every command's --help ends with.
_LEAF: Final[dict[str, Any]] = {
    "epilog": EXIT_CODES,
    "formatter_class": argparse.RawDescriptionHelpFormatter,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiomsg",
        description="Bulk messaging control on 8x8 CPaaS and Revicom. Options go after "
        "the subcommand; secrets come from the environment or a --*-file option.",
        epilog="--quiet silences progress and summaries on standard error; results (a\n"
        "cancelled count, a deleted flow, --report -) still go to standard output.\n\n"
        + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"aiomsg {aiomsg.__version__}")
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = top.add_parser("demo", help="run the whole flow against the built-in simulator")
    demo.set_defaults(handler=_cmd_demo)

    sim = top.add_parser("simulator", help="serve the simulator of 8x8 and Revicom")
    _simulator_arguments(sim)
    sim.set_defaults(handler=_cmd_simulator)

    revicom = top.add_parser("revicom", help="Revicom").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    stop = revicom.add_parser("stop", help="stop messages by uuid (one per line)", **_LEAF)
    _bulk(stop)
    _common(stop, "revicom")
    stop.set_defaults(handler=_cmd_revicom_stop)

    eight = top.add_parser("8x8", help="8x8 CPaaS").add_subparsers(
        dest="api", required=True, metavar="API"
    )
    for api, title in (("sms", "8x8 SMS"), ("chatapps", "8x8 Chat Apps")):
        actions = eight.add_parser(api, help=title).add_subparsers(
            dest="action", required=True, metavar="ACTION"
        )
        cancel = actions.add_parser(
            "cancel", help="cancel scheduled messages by umid (one per line)", **_LEAF
        )
        cancel.add_argument("sub_account", metavar="SUB_ACCOUNT")
        _bulk(cancel)
        _common(cancel, "8x8")
        cancel.set_defaults(handler=_cmd_cancel, api=api)
        batch = actions.add_parser(
            "cancel-batch", help="cancel the scheduled messages of a batch", **_LEAF
        )
        batch.add_argument("sub_account", metavar="SUB_ACCOUNT")
        batch.add_argument("batch_id", metavar="BATCH_ID")
        _common(batch, "8x8")
        batch.set_defaults(handler=_cmd_cancel_batch, api=api)

    line = eight.add_parser("line", help="LINE Notifications").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    send = line.add_parser("send", help="send LINE Notifications from a JSONL file", **_LEAF)
    send.add_argument("sub_account", metavar="SUB_ACCOUNT")
    _bulk(send, file_required=True, line=True)
    send.add_argument("--client-batch-id", metavar="ID", help="clientBatchId for every request")
    _common(send, "8x8")
    send.set_defaults(handler=_cmd_line_send, api="chatapps")

    flows = eight.add_parser("flows", help="WhatsApp Flows").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    delete = flows.add_parser("delete", help="delete a WhatsApp Flow (DRAFT only)", **_LEAF)
    delete.add_argument("account_id", metavar="ACCOUNT_ID")
    delete.add_argument("channel_id", metavar="CHANNEL_ID")
    delete.add_argument("flow_id", metavar="FLOW_ID")
    _common(delete, "8x8")
    delete.set_defaults(handler=_cmd_flows_delete, api="chatapps")
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterable[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command under ``parser``, with the words that name it."""
    sub = _subcommands(parser)
    if sub is None:
        yield path, parser
        return
    for name, child in sub.items():
        yield from _commands(child, (*path, name))


def _misplaced(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """An option given before its subcommand: where it goes (None when there is none)."""
    node, words, i = parser, cast(tuple[str, ...], ()), 0
    while (sub := _subcommands(node)) is not None:
        while i < len(argv) and argv[i] not in sub:
            token = argv[i]
            if not token.startswith("-") or token == "-":
                return None  # argparse says what is wrong with it
            option = token.split("=", 1)[0]
            if option in node._option_string_actions:
                i += 1
                continue
            takers = [
                w for w, leaf in _commands(node, words) if option in leaf._option_string_actions
            ]
            if not takers:
                return None
            action = next(
                leaf._option_string_actions[option] for _, leaf in _commands(node, words)
                if option in leaf._option_string_actions
            )  # fmt: skip
            moved = [token] if "=" in token or action.nargs == 0 else list(argv[i : i + 2])
            rest = [*argv[:i], *argv[i + len(moved) :]]
            fixed = (
                f"; as in: aiomsg {' '.join([*rest, *moved])}"
                if _accepts(parser, rest, option) else ""
            )  # fmt: skip
            where = ", ".join(f"'aiomsg {' '.join(w)}'" for w in takers)
            return f"{option} goes after the subcommand; it is an option of {where}{fixed}"
        if i >= len(argv):
            return None
        words, node, i = (*words, argv[i]), sub[argv[i]], i + 1
    # The command is named: an option it does not take, but another command does.
    for token in argv[i:]:
        if token == "--":
            break
        option = token.split("=", 1)[0]
        if not option.startswith("--") or option in node._option_string_actions:
            continue
        takers = [w for w, leaf in _commands(parser) if option in leaf._option_string_actions]
        if takers:
            where = ", ".join(f"'aiomsg {' '.join(w)}'" for w in takers)
            return f"'aiomsg {' '.join(words)}' has no option {option}; it is an option of {where}"
    return None


def _accepts(parser: argparse.ArgumentParser, argv: Sequence[str], option: str) -> bool:
    """Whether ``argv`` names a command (its words first) that takes ``option``."""
    node = parser
    for word in argv:
        sub = _subcommands(node)
        if sub is None:
            break
        if word not in sub:
            return False
        node = sub[word]
    return _subcommands(node) is None and option in node._option_string_actions


# ---------------------------------------------------------------------------- clients


def _secret_file(path: str | None, option: str) -> str | None:
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


def _revicom(args: argparse.Namespace, dry_run: bool) -> aiomsg.Revicom:
    token = _secret_file(args.token_file, "--token-file")
    if token is None and os.environ.get("AIOMSG_REVICOM_TOKEN") is None:
        if not dry_run:
            raise UsageError(
                "no Revicom token: set AIOMSG_REVICOM_TOKEN, or pass --token-file PATH"
            )
        token = _DRY_RUN_SECRET
    return aiomsg.Revicom(token=token, base_url=args.base_url)


def _eightbyeight(args: argparse.Namespace, dry_run: bool = False) -> aiomsg.EightByEight:
    key = _secret_file(args.api_key_file, "--api-key-file")
    if key is None and os.environ.get("AIOMSG_8X8_API_KEY") is None:
        if not dry_run:
            raise UsageError("no 8x8 API key: set AIOMSG_8X8_API_KEY, or pass --api-key-file PATH")
        key = _DRY_RUN_SECRET
    url = args.base_url
    return aiomsg.EightByEight(
        api_key=key,
        region=args.region,
        chatapps_url=url if args.api == "chatapps" else None,
        sms_url=url if args.api == "sms" else None,
    )


def _shown_base(args: argparse.Namespace, api: str) -> str:
    """The base URL requests would go to, for ``--dry-run``."""
    url = args.base_url or os.environ.get(_URL_ENV[api])
    if not url:
        url = DEFAULT_REVICOM_URL if api == "revicom" else REGIONS[args.region][api == "sms"]
    return str(url).rstrip("/")


def _endpoint(args: argparse.Namespace, api: str) -> tuple[tuple[str, str], ...]:
    """Where a job's requests go: part of its identity in a journal."""
    if api == "revicom":
        return (("base_url", _shown_base(args, api)),)
    return (("base_url", _shown_base(args, api)), ("region", str(args.region)))


def _job_options(args: argparse.Namespace) -> JobOptions:
    return JobOptions(
        input=args.file,
        concurrency=args.concurrency,
        report=args.report,
        journal=args.journal,
        resend_unknown=getattr(args, "resend_unknown", False),
        skip_invalid=args.skip_invalid,
        dry_run=args.dry_run,
        quiet=args.quiet,
        shard=args.shard,
        reads=tuple(
            (f"--{name.replace('_', '-')}", path)
            for name in ("token_file", "api_key_file")
            if (path := getattr(args, name, None)) is not None
        ),
    )


def _run_job(command: BulkCommand, options: JobOptions) -> int:
    job = BulkJob(command, options)
    try:
        job.prepare()
        return run_async(job.run())
    finally:
        job.close()


# ---------------------------------------------------------------------------- commands


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_async(run_demo())


def _simulator_arguments(sim: argparse.ArgumentParser) -> None:
    sim.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    sim.add_argument("--port", type=_port, default=0, help="port (default: a free one)")
    sim.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA")
    seed = sim.add_argument_group(
        "rehearsal: seeded ids are written to files in --seed-dir, whose paths are printed"
    )
    seed.add_argument(
        "--seed-revicom", metavar="FILE", help="seed these uuids (one a line) as stoppable"
    )
    for name, what in (
        ("revicom-count", "queued Revicom messages"),
        ("sms", "scheduled SMS messages (one batch)"),
        ("chatapps", "scheduled Chat Apps messages (one batch)"),
        ("line", "LINE Notifications, written as a JSONL file to send"),
        ("flows", "DRAFT WhatsApp Flows"),
    ):
        seed.add_argument(f"--seed-{name}", type=int, default=0, metavar="N", help=f"N {what}")
    seed.add_argument(
        "--seed-dir", metavar="DIR", help="where to write them (default: a new temporary one)"
    )
    seed.add_argument("--no-demo-data", action="store_true", help="skip the small demo set")
    act = sim.add_argument_group("behaviour")
    act.add_argument(
        "--latency", metavar="S", help="wait before each answer: 0.05, 50ms or a range 10ms-200ms"
    )
    act.add_argument(
        "--fault-rate", type=float, default=0.0, metavar="P",
        help="share of requests (0 to 1) that fail with one of --faults",
    )  # fmt: skip
    act.add_argument(
        "--faults", default="429,503,reset", metavar="LIST",
        help="429, 500, 502, 503, 504, reset, reset-after, stall[:S], truncated, non-json "
        "(default: 429,503,reset: failures after which nothing was done)",
    )  # fmt: skip
    act.add_argument(
        "--rate-limit", default="1800", metavar="N",
        help="requests per second per 8x8 sub-account, answered 429 + Retry-After beyond "
        "(default: 1800, as 8x8; none: unlimited)",
    )  # fmt: skip
    act.add_argument(
        "--revicom-rate-limit", default="none", metavar="N",
        help="the same per Revicom token (default: none)",
    )  # fmt: skip
    act.add_argument(
        "--flow-delete-status", type=int, choices=(200, 204), default=200,
        help="answer to a deleted DRAFT flow (default: 200, as 8x8 documents)",
    )  # fmt: skip


def _cmd_simulator(args: argparse.Namespace) -> int:
    from .testing._serve import ListenError, serve_command

    try:
        # SIGINT and SIGTERM both stop it cleanly (the TLS files are removed).
        run_async(serve_command(args))
    except (ListenError, ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _cmd_revicom_stop(args: argparse.Namespace) -> int:
    def open_client(dry_run: bool) -> aiomsg.Revicom:
        return _revicom(args, dry_run)

    def open_stream(
        client: aiomsg.Revicom, items: Iterable[Any], options: BulkOptions
    ) -> AbstractAsyncContextManager[OutcomeStream]:
        return client.stream_stop(items, **options)

    command = BulkCommand(
        name="revicom stop",
        kind="ids",
        noun="uuid",
        per_request=MAX_STOP_BATCH,
        resend_safe=True,
        method="POST",
        url=f"{_shown_base(args, 'revicom')}/api/v1/message/stop",
        params=(),
        open_client=open_client,
        open_stream=open_stream,
        endpoint=_endpoint(args, "revicom"),
    )
    return _run_job(command, _job_options(args))


def _cmd_cancel(args: argparse.Namespace) -> int:
    api: Api = args.api
    sub = args.sub_account

    def open_client(dry_run: bool) -> aiomsg.EightByEight:
        return _eightbyeight(args, dry_run)

    def open_stream(
        client: aiomsg.EightByEight, items: Iterable[Any], options: BulkOptions
    ) -> AbstractAsyncContextManager[OutcomeStream]:
        resource = client.sms if api == "sms" else client.chatapps
        return resource.stream_cancel_messages(sub, items, **options)

    path = f"/api/v1/subaccounts/{quote(sub, safe='')}/messages/{{id}}"
    command = BulkCommand(
        name=f"8x8 {api} cancel",
        kind="ids",
        noun="umid",
        per_request=1,
        resend_safe=True,
        method="DELETE",
        url=_shown_base(args, api) + path,
        params=(("sub_account", sub),),
        open_client=open_client,
        open_stream=open_stream,
        endpoint=_endpoint(args, api),
    )
    return _run_job(command, _job_options(args))


def _cmd_line_send(args: argparse.Namespace) -> int:
    sub = args.sub_account
    client_batch_id = args.client_batch_id

    def open_client(dry_run: bool) -> aiomsg.EightByEight:
        return _eightbyeight(args, dry_run)

    def open_stream(
        client: aiomsg.EightByEight, items: Iterable[Any], options: BulkOptions
    ) -> AbstractAsyncContextManager[OutcomeStream]:
        return client.chatapps.stream_send_line_notifications(
            sub,
            items,
            client_batch_id=UNSET if client_batch_id is None else client_batch_id,
            **options,
        )

    path = f"/api/v1/subaccounts/{quote(sub, safe='')}/lon/batch"
    command = BulkCommand(
        name="8x8 line send",
        kind="line",
        noun="message",
        per_request=MAX_LINE_BATCH,
        resend_safe=False,
        method="POST",
        url=_shown_base(args, "chatapps") + path,
        params=(("sub_account", sub), ("client_batch_id", client_batch_id or "")),
        open_client=open_client,
        open_stream=open_stream,
        endpoint=_endpoint(args, "chatapps"),
    )
    return _run_job(command, _job_options(args))


def _cmd_cancel_batch(args: argparse.Namespace) -> int:
    async def cancel() -> int:
        async with _eightbyeight(args) as client:
            resource = client.sms if args.api == "sms" else client.chatapps
            result = await resource.cancel_batch(args.sub_account, args.batch_id)
        n = result.cancelled_count
        if n:
            print(f"batch {args.batch_id}: {n:,} scheduled message{'s' if n > 1 else ''} cancelled")
        else:
            print(
                f"batch {args.batch_id}: nothing left to cancel (its messages were already "
                "sent or cancelled)"
            )
        return EXIT_OK

    return run_async(cancel())


def _cmd_flows_delete(args: argparse.Namespace) -> int:
    async def delete() -> int:
        async with _eightbyeight(args) as client:
            await client.chatapps.delete_whatsapp_flow(
                args.account_id, args.channel_id, args.flow_id
            )
        print(f"WhatsApp Flow {args.flow_id} (channel {args.channel_id}) deleted")
        return EXIT_OK

    return run_async(delete())


# ---------------------------------------------------------------------------- main


def _say(message: str) -> None:
    print(f"aiomsg: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    misplaced = _misplaced(parser, sys.argv[1:] if argv is None else argv)
    if misplaced is not None:
        parser.exit(EXIT_USAGE, f"aiomsg: {misplaced}\n")
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except UsageError as exc:
        _say(str(exc))
    except (aiomsg.ConfigurationError, aiomsg.ValidationError) as exc:
        _say(str(exc))
    except aiomsg.ConflictError as exc:
        _say(f"refused by 8x8 ({exc.status_code}): {exc.message}. Only a DRAFT flow can be deleted")
        return EXIT_NOT_ALL_SUCCEEDED
    except aiomsg.NotFoundError as exc:
        _say(f"not found ({exc.status_code}): {exc.message}")
        return EXIT_NOT_ALL_SUCCEEDED
    except aiomsg.APIError as exc:
        # The request failed as a whole (authentication, connection, a server fault
        # after the retries): not an answer about the batch or flow; run it again.
        _say(f"{exc}; nothing was done: run the command again once the cause is fixed")
        return EXIT_REQUESTS_FAILED
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INCOMPLETE
    except OSError as exc:
        _say(str(exc))
        return EXIT_INCOMPLETE
    except Exception:  # a bug: show it, and do not let it pass for exit code 1
        traceback.print_exc()
        _say("unexpected error; a --journal is left consistent: re-run to resume")
        return EXIT_INCOMPLETE
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
