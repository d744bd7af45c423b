"""``aiomsg 8x8 ...``: the commands of 8x8's SMS and Chat Apps APIs."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Final, Literal

from msgspec import UNSET

from aiomsg import EightByEight, LineNotification
from aiomsg.bulk import BulkOptions, OutcomeStream
from aiomsg.eightxeight import routes
from aiomsg.eightxeight.client import ENV_API_KEY, ENV_CHATAPPS_URL, ENV_SMS_URL, REGIONS
from aiomsg.eightxeight.models import MAX_LINE_BATCH

from . import receipts, webhooks
from .common import (
    add_bulk_arguments,
    add_command,
    add_connection_arguments,
    run_async,
    run_job,
    secret_file,
)
from .exits import EXIT_OK, UsageError
from .operation import Operation, id_item
from .revicom import DRY_RUN_SECRET
from .shard import rate_limit

if TYPE_CHECKING:
    from .common import Commands

__all__ = ["add_commands"]

Api = Literal["sms", "chatapps"]

_URL_ENV: Final[dict[Api, str]] = {"sms": ENV_SMS_URL, "chatapps": ENV_CHATAPPS_URL}
_CANCEL_MESSAGE: Final = {
    "sms": routes.SMS_CANCEL_MESSAGE,
    "chatapps": routes.CHATAPPS_CANCEL_MESSAGE,
}


def add_commands(top: Commands) -> None:
    eight = top.add_parser("8x8", help="8x8 CPaaS").add_subparsers(
        dest="api", required=True, metavar="API"
    )
    apis: tuple[tuple[Api, str], ...] = (("sms", "8x8 SMS"), ("chatapps", "8x8 Chat Apps"))
    for api, title in apis:
        actions = eight.add_parser(api, help=title).add_subparsers(
            dest="action", required=True, metavar="ACTION"
        )
        cancel = add_command(actions, "cancel", "cancel scheduled messages by umid (one per line)")
        cancel.add_argument("sub_account", metavar="SUB_ACCOUNT")
        add_bulk_arguments(cancel)
        add_connection_arguments(cancel, "8x8", _URL_ENV[api])
        cancel.set_defaults(handler=cancel_messages, api=api)
        batch = add_command(actions, "cancel-batch", "cancel the scheduled messages of a batch")
        batch.add_argument("sub_account", metavar="SUB_ACCOUNT")
        batch.add_argument("batch_id", metavar="BATCH_ID")
        add_connection_arguments(batch, "8x8", _URL_ENV[api])
        batch.set_defaults(handler=cancel_batch, api=api)

    line = eight.add_parser("line", help="LINE Notifications").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    send = add_command(line, "send", "send LINE Notifications from a JSONL file")
    send.add_argument("sub_account", metavar="SUB_ACCOUNT")
    add_bulk_arguments(send, file_required=True, line=True)
    send.add_argument("--client-batch-id", metavar="ID", help="clientBatchId for every request")
    add_connection_arguments(send, "8x8", ENV_CHATAPPS_URL)
    send.set_defaults(handler=send_line_notifications, api="chatapps")
    receipts.add_commands(eight, line)
    webhooks.add_commands(eight, open_client)

    flows = eight.add_parser("flows", help="WhatsApp Flows").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    delete = add_command(flows, "delete", "delete a WhatsApp Flow (DRAFT only)")
    delete.add_argument("account_id", metavar="ACCOUNT_ID")
    delete.add_argument("channel_id", metavar="CHANNEL_ID")
    delete.add_argument("flow_id", metavar="FLOW_ID")
    add_connection_arguments(delete, "8x8", ENV_CHATAPPS_URL)
    delete.set_defaults(handler=delete_flow, api="chatapps")


def base_url(args: argparse.Namespace, api: Api) -> str:
    """The base URL requests go to: the option, else the environment, else the
    region's host."""
    url = args.base_url or os.environ.get(_URL_ENV[api])
    if not url:
        chatapps, sms = REGIONS[args.region]
        url = sms if api == "sms" else chatapps
    return str(url).rstrip("/")


def _endpoint(args: argparse.Namespace, api: Api) -> tuple[tuple[str, str], ...]:
    """Where a job's requests go: part of its identity in a journal."""
    return (("base_url", base_url(args, api)), ("region", str(args.region)))


def open_client(args: argparse.Namespace, dry_run: bool = False) -> EightByEight:
    key = secret_file(args.api_key_file, "--api-key-file")
    if key is None and os.environ.get(ENV_API_KEY) is None:
        if not dry_run:
            raise UsageError(f"no 8x8 API key: set {ENV_API_KEY}, or pass --api-key-file PATH")
        key = DRY_RUN_SECRET
    url = args.base_url
    return EightByEight(
        api_key=key,
        region=args.region,
        chatapps_url=url if args.api == "chatapps" else None,
        sms_url=url if args.api == "sms" else None,
        rate_limit=rate_limit(args, EightByEight),
    )


def cancel_messages(args: argparse.Namespace) -> int:
    """``aiomsg 8x8 {sms,chatapps} cancel SUB_ACCOUNT [FILE]``."""
    api: Api = args.api
    sub = args.sub_account

    def open_stream(
        client: EightByEight, items: Iterable[str], options: BulkOptions
    ) -> AbstractAsyncContextManager[OutcomeStream]:
        resource = client.sms if api == "sms" else client.chatapps
        return resource.stream_cancel_messages(sub, items, **options)

    base, route = base_url(args, api), _CANCEL_MESSAGE[api]
    operation = Operation(
        name=f"8x8 {api} cancel",
        kind="ids",
        noun="umid",
        per_request=1,
        resend_safe=True,
        method="DELETE",
        url=lambda umid: base + route.path(sub_account_id=sub, umid=umid),
        params=(("sub_account", sub),),
        endpoint=_endpoint(args, api),
        open_client=lambda dry_run: open_client(args, dry_run),
        convert=id_item,
        open_stream=open_stream,
        once_per_job=True,
    )
    return run_job(operation, args)


def send_line_notifications(args: argparse.Namespace) -> int:
    """``aiomsg 8x8 line send SUB_ACCOUNT FILE``."""
    from .line_ids import line_message

    sub = args.sub_account
    client_batch_id = args.client_batch_id

    def open_stream(
        client: EightByEight, items: Iterable[LineNotification], options: BulkOptions
    ) -> AbstractAsyncContextManager[OutcomeStream]:
        return client.chatapps.stream_send_line_notifications(
            sub,
            items,
            client_batch_id=UNSET if client_batch_id is None else client_batch_id,
            **options,
        )

    url = base_url(args, "chatapps") + routes.CHATAPPS_SEND_LINE_NOTIFICATION_BATCH.path(
        sub_account_id=sub
    )
    operation = Operation(
        name="8x8 line send",
        kind="line",
        noun="message",
        per_request=MAX_LINE_BATCH,
        resend_safe=False,
        method="POST",
        url=lambda first_id: url,
        params=(("sub_account", sub), ("client_batch_id", client_batch_id or "")),
        endpoint=_endpoint(args, "chatapps"),
        open_client=lambda dry_run: open_client(args, dry_run),
        convert=line_message,
        open_stream=open_stream,
    )
    return run_job(operation, args)


def cancel_batch(args: argparse.Namespace) -> int:
    """``aiomsg 8x8 {sms,chatapps} cancel-batch SUB_ACCOUNT BATCH_ID``."""

    async def cancel() -> int:
        async with open_client(args) as client:
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


def delete_flow(args: argparse.Namespace) -> int:
    """``aiomsg 8x8 flows delete ACCOUNT_ID CHANNEL_ID FLOW_ID``."""

    async def delete() -> int:
        async with open_client(args) as client:
            await client.chatapps.delete_whatsapp_flow(
                args.account_id, args.channel_id, args.flow_id
            )
        print(f"WhatsApp Flow {args.flow_id} (channel {args.channel_id}) deleted")
        return EXIT_OK

    return run_async(delete())
