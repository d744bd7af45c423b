"""``aiomsg 8x8 webhooks set|get|delete``: where 8x8 POSTs receipts and inbound messages.

``set`` registers one webhook per ``--type`` for a sub-account scope, with the
``httpAuthorization`` value read from an environment variable or a file (never from
the command line, where other users of the machine could read it); ``get`` prints
the registered webhooks as JSON Lines, their secrets masked whatever 8x8 answers;
``delete`` removes them by scope and type. Each is one request: 0 done, 1 8x8
refused it (an answer about the request), 2 bad usage (nothing sent), 4 the request
failed as a whole.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import msgspec
from msgspec import UNSET

from aiomsg import (
    BadRequestError,
    ConflictError,
    EightByEight,
    GoneError,
    NotFoundError,
    UnprocessableEntityError,
)
from aiomsg.eightxeight.client import ENV_CHATAPPS_URL
from aiomsg.eightxeight.webhooks import WEBHOOK_TYPES, RegisteredWebhook, Webhook, WebhookTarget

from .common import add_command, add_connection_arguments, run_async, secret_file
from .console import say
from .exits import EXIT_NOT_ALL_SUCCEEDED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from .common import Commands

__all__ = ["ENV_AUTHORIZATION", "add_commands"]

#: The variable ``set`` reads the httpAuthorization from by default: the one
#: ``aiomsg 8x8 receipts serve`` checks calls against.
ENV_AUTHORIZATION: Final = "AIOMSG_RECEIPTS_AUTHORIZATION"
MASK: Final = "***"

OpenClient = Callable[[argparse.Namespace], EightByEight]

#: Answers about the request itself (exit 1), as opposed to failures of it (exit 4).
_REFUSALS: Final = (
    BadRequestError,
    NotFoundError,
    ConflictError,
    GoneError,
    UnprocessableEntityError,
)
_ENCODER: Final = msgspec.json.Encoder()


def add_commands(eight: Commands, open_client: OpenClient) -> None:
    """``8x8 webhooks set|get|delete`` (under ``eight``); requests go through
    ``open_client`` (the 8x8 commands' client, from the connection options)."""
    hooks = eight.add_parser("webhooks", help="8x8 webhooks (delivery receipts)").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    types = sorted(WEBHOOK_TYPES)

    def scope_and_types(parser: argparse.ArgumentParser, verb: str) -> None:
        parser.add_argument("account_id", metavar="ACCOUNT_ID", help="the 8x8 account (a uuid)")
        parser.add_argument(
            "--sub-account",
            metavar="ID",
            default="*",
            help="the sub-account scope; * (the default) is the account-wide webhook, "
            "not a wildcard",
        )
        parser.add_argument(
            "--type",
            dest="types",
            action="append",
            choices=types,
            metavar="TYPE",
            help=f"{'/'.join(types)}; repeat for several (default: CADR and MSG, as 8x8 "
            f"{verb} without a type)",
        )

    put = add_command(hooks, "set", "register (or replace) a webhook")
    scope_and_types(put, "registers")
    put.add_argument("--url", required=True, help="where 8x8 POSTs (https; http only to loopback)")
    auth = put.add_argument_group("authorization (the Authorization header 8x8 sends)")
    source = auth.add_mutually_exclusive_group()
    source.add_argument(
        "--authorization-env",
        metavar="VAR",
        help=f"environment variable holding the httpAuthorization value (default: "
        f"{ENV_AUTHORIZATION}, the one receipts serve checks)",
    )
    source.add_argument(
        "--authorization-file", metavar="PATH", help="read the httpAuthorization value from a file"
    )
    source.add_argument(
        "--no-authorization",
        action="store_true",
        help="register without one (8x8 then sends no Authorization header)",
    )
    add_connection_arguments(put, "8x8", ENV_CHATAPPS_URL)
    put.set_defaults(handler=lambda args: set_webhooks(args, open_client), api="chatapps")

    get = add_command(hooks, "get", "print the registered webhooks as JSON Lines (secrets masked)")
    get.add_argument("account_id", metavar="ACCOUNT_ID", help="the 8x8 account (a uuid)")
    add_connection_arguments(get, "8x8", ENV_CHATAPPS_URL)
    get.set_defaults(handler=lambda args: get_webhooks(args, open_client), api="chatapps")

    delete = add_command(hooks, "delete", "delete a sub-account scope's webhooks by type")
    scope_and_types(delete, "deletes")
    add_connection_arguments(delete, "8x8", ENV_CHATAPPS_URL)
    delete.set_defaults(handler=lambda args: delete_webhooks(args, open_client), api="chatapps")


def _authorization(args: argparse.Namespace) -> str | None:
    """The httpAuthorization value to register, from a file or the environment."""
    if args.no_authorization:
        return None
    if args.authorization_file is not None:
        return secret_file(args.authorization_file, "--authorization-file")
    var = args.authorization_env or ENV_AUTHORIZATION
    value = os.environ.get(var, "").strip()
    if not value:
        raise UsageError(
            f"no webhook authorization: set {var} to the Authorization value 8x8 should send "
            "(or use --authorization-env VAR, --authorization-file PATH, or --no-authorization)"
        )
    return value


def _types(args: argparse.Namespace) -> list[str | None]:
    """Each ``--type`` once, in order; [None] (8x8's default: CADR and MSG) without one."""
    return list(dict.fromkeys(args.types)) if args.types else [None]


def _what(kind: str | None, sub_account: str) -> str:
    return f"{kind or 'CADR and MSG'} webhook of sub-account {sub_account}"


def _out(line: str) -> None:
    """A result on standard output: data, shown even with --quiet."""
    sys.stdout.write(line + "\n")


def _refused(exc: Exception) -> int:
    status, message = getattr(exc, "status_code", "?"), getattr(exc, "message", str(exc))
    say(f"aiomsg: refused by 8x8 ({status}): {message}")
    return EXIT_NOT_ALL_SUCCEEDED


def set_webhooks(args: argparse.Namespace, open_client: OpenClient) -> int:
    """``aiomsg 8x8 webhooks set ACCOUNT_ID --url URL``."""
    authorization = _authorization(args)
    # Built (and so checked) before any client exists: a bad URL sends nothing.
    hooks = [
        Webhook(
            sub_account_id=args.sub_account,
            url=args.url,
            type=UNSET if kind is None else kind,
            http_authorization=UNSET if authorization is None else authorization,
        )
        for kind in _types(args)
    ]

    async def put() -> int:
        async with open_client(args) as client:
            try:
                await client.chatapps.set_webhooks(args.account_id, hooks)
            except _REFUSALS as exc:
                return _refused(exc)
        with_auth = "with" if authorization is not None else "without"
        for kind in _types(args):
            _out(
                f"{_what(kind, args.sub_account)} set to {args.url} ({with_auth} an "
                "Authorization header)"
            )
        return EXIT_OK

    return run_async(put())


def _masked(hook: RegisteredWebhook) -> bytes:
    record: dict[str, object] = {
        "subAccountId": hook.sub_account_id,
        "url": hook.url,
        "type": hook.type,
        "enabled": hook.enabled,
    }
    if hook.http_authorization is not None:
        record["httpAuthorization"] = MASK  # whatever the answer held
    return _ENCODER.encode(record)


def get_webhooks(args: argparse.Namespace, open_client: OpenClient) -> int:
    """``aiomsg 8x8 webhooks get ACCOUNT_ID``."""

    async def get() -> int:
        async with open_client(args) as client:
            try:
                hooks = await client.chatapps.get_webhooks(args.account_id)
            except _REFUSALS as exc:
                return _refused(exc)
        for hook in hooks:
            _out(_masked(hook).decode())
        if not hooks and not args.quiet:
            say(f"account {args.account_id}: no webhooks registered")
        return EXIT_OK

    return run_async(get())


def delete_webhooks(args: argparse.Namespace, open_client: OpenClient) -> int:
    """``aiomsg 8x8 webhooks delete ACCOUNT_ID [--sub-account ID] [--type T]``."""
    targets = [
        WebhookTarget(sub_account_id=args.sub_account, type=UNSET if kind is None else kind)
        for kind in _types(args)
    ]

    async def delete() -> int:
        async with open_client(args) as client:
            try:
                await client.chatapps.delete_webhooks(args.account_id, targets)
            except _REFUSALS as exc:
                return _refused(exc)
        for kind in _types(args):
            _out(f"{_what(kind, args.sub_account)} deleted")
        return EXIT_OK

    return run_async(delete())
