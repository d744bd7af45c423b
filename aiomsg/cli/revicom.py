"""``aiomsg revicom ...``: Revicom's commands."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Final

from aiomsg import Revicom
from aiomsg.bulk import BulkOptions, OutcomeStream
from aiomsg.revicom import routes
from aiomsg.revicom.client import DEFAULT_REVICOM_URL, ENV_TOKEN, ENV_URL
from aiomsg.revicom.models import MAX_STOP_BATCH

from .common import (
    add_bulk_arguments,
    add_command,
    add_connection_arguments,
    run_job,
    secret_file,
)
from .exits import UsageError
from .operation import Operation, id_item
from .shard import rate_limit

if TYPE_CHECKING:
    from .common import Commands

__all__ = ["add_commands"]

# A placeholder credential for --dry-run, which builds a client to check the
# arguments but never sends.
DRY_RUN_SECRET: Final = "dry-run"


def add_commands(top: Commands) -> None:
    revicom = top.add_parser("revicom", help="Revicom").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    stop = add_command(revicom, "stop", "stop messages by uuid (one per line)")
    add_bulk_arguments(stop)
    stop.add_argument(
        "--once-per-job",
        action="store_true",
        help="send a uuid repeated in the input once; its repeats get its outcome "
        "(default: a repeat in a later request is stopped again)",
    )
    add_connection_arguments(stop, "revicom", ENV_URL)
    stop.set_defaults(handler=stop_messages)


def base_url(args: argparse.Namespace) -> str:
    """The base URL requests go to: the option, else the environment, else Revicom's."""
    url = args.base_url or os.environ.get(ENV_URL) or DEFAULT_REVICOM_URL
    return str(url).rstrip("/")


def open_client(args: argparse.Namespace, dry_run: bool) -> Revicom:
    token = secret_file(args.token_file, "--token-file")
    if token is None and os.environ.get(ENV_TOKEN) is None:
        if not dry_run:
            raise UsageError(f"no Revicom token: set {ENV_TOKEN}, or pass --token-file PATH")
        token = DRY_RUN_SECRET
    return Revicom(token=token, base_url=args.base_url, rate_limit=rate_limit(args, Revicom))


def stop_messages(args: argparse.Namespace) -> int:
    """``aiomsg revicom stop [FILE]``."""

    def open_stream(
        client: Revicom, items: Iterable[str], options: BulkOptions
    ) -> AbstractAsyncContextManager[OutcomeStream]:
        return client.stream_stop(items, **options)

    base = base_url(args)
    operation = Operation(
        name="revicom stop",
        kind="ids",
        noun="uuid",
        per_request=MAX_STOP_BATCH,
        resend_safe=True,
        method="POST",
        url=lambda first_id: base + routes.STOP.path(),
        # Part of the job's identity: a journal resumes only under the same rule.
        params=(("once_per_job", "yes"),) if args.once_per_job else (),
        endpoint=(("base_url", base),),
        open_client=lambda dry_run: open_client(args, dry_run),
        convert=id_item,
        open_stream=open_stream,
        # Repeats are found in the input before the job (every run of it), so the
        # library's rule, which holds the job's uuids, is not needed.
        once_per_job=args.once_per_job,
    )
    return run_job(operation, args)
