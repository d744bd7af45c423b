"""The ``aiomsg`` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from aiohttp import web

import aiomsg


async def _demo() -> int:
    """Every endpoint once, against a tiny local stand-in for the providers."""

    async def lon(req: web.Request) -> web.Response:
        body = await req.json()
        n = len(body["messages"])
        return web.json_response(
            {"batchId": "cf3cbbf5-3e2d-ea11-815d-020897df5459", "acceptedCount": n,
             "rejectedCount": 0}
        )  # fmt: skip

    async def cancel(req: web.Request) -> web.Response:
        return web.json_response({"cancelledCount": 1})

    async def flow(req: web.Request) -> web.Response:
        return web.Response(status=204)

    async def stop(req: web.Request) -> web.Response:
        body = await req.json()
        items = [{"messageUuid": u, "code": 200} for u in body["uuids"]]
        return web.json_response({"errors": False, "items": items})

    app = web.Application()
    app.router.add_post("/api/v1/subaccounts/{s}/lon/batch", lon)
    app.router.add_delete("/api/v1/subaccounts/{s}/messages/batch/{b}", cancel)
    app.router.add_delete("/api/v1/subaccounts/{s}/messages/{u}", cancel)
    app.router.add_delete("/api/v1/accounts/{a}/channels/{c}/flows/{f}", flow)
    app.router.add_post("/api/v1/message/stop", stop)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}"
        umid = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
        async with aiomsg.EightByEight(api_key="demo", chatapps_url=url, sms_url=url) as c:
            msg = {"user": {"msisdn": "+6500000000"}, "content": {"title": "Event reminder"}}
            sent = await c.chatapps.send_line_notification_batch("demo-sub", [msg])
            print(f"LINE batch {sent.batch_id}: {sent.accepted_count} accepted")
            res = await c.sms.cancel_message("demo-sub", umid)
            print(f"SMS cancel: {res.cancelled_count} cancelled")
            await c.chatapps.delete_whatsapp_flow("0" * 32, "channel", "flow")
            print("WhatsApp Flow deleted")
        async with aiomsg.Revicom(token="demo", base_url=url) as r:
            stopped = await r.stop_batch([umid])
            print(f"Revicom stop: {len(stopped.items)} items, errors={stopped.errors}")
    finally:
        await runner.cleanup()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aiomsg", description=aiomsg.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run every endpoint against a local stand-in")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return asyncio.run(_demo())
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
