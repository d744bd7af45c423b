"""Run a receipt receiver on 127.0.0.1 in its own process (for the kill -9 test).

``python -m tests.receipts.receiver_process DB_PATH SYNCHRONOUS``: prints the port
it listens on, then serves until killed. The Authorization value comes from the
environment (``RECEIPTS_TEST_AUTH``) so it is not on the command line.
"""

from __future__ import annotations

import asyncio
import os
import sys

from aiohttp import web

from aiomsg.receipts import SQLiteReceiptStore, create_receipt_app


async def main(path: str, synchronous: str) -> None:
    store = SQLiteReceiptStore(path, synchronous=synchronous)  # type: ignore[arg-type]
    app = create_receipt_app(authorization=os.environ["RECEIPTS_TEST_AUTH"], store=store)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
