"""``serve()``: the stand-alone simulator behind ``aiomsg simulator``."""

from __future__ import annotations

import asyncio
import errno
import io
import os
import re
import signal
import socket

import anyio
import pytest

import aiomsg
from aiomsg.testing import ListenError, serve


async def test_serve_prints_what_a_client_needs_and_runs_until_cancelled() -> None:
    out = io.StringIO()
    with anyio.fail_after(10):  # a bound, not a timing assertion
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: serve(port=0, out=out, seed=1))
            for _ in range(500):
                if "Ctrl-C" in out.getvalue():
                    break
                await asyncio.sleep(0.01)
            text = out.getvalue()
            env = dict(re.findall(r"^export (\w+)=(\S+)", text, re.MULTILINE))
            seeded = dict(re.findall(r"^  (\w+): (.+)$", text, re.MULTILINE))
            assert env["AIOMSG_8X8_API_KEY"] == "sim-api-key"
            assert env["AIOMSG_REVICOM_TOKEN"] == "sim-revicom-token"
            assert env["AIOMSG_8X8_SMS_URL"].endswith("/sms")
            async with aiomsg.EightByEight(
                api_key=env["AIOMSG_8X8_API_KEY"],
                chatapps_url=env["AIOMSG_8X8_CHATAPPS_URL"],
                sms_url=env["AIOMSG_8X8_SMS_URL"],
            ) as client:
                result = await client.sms.cancel_batch("sim-sub", seeded["sms_batch_id"])
                assert result.cancelled_count == 3
            async with aiomsg.Revicom(
                token=env["AIOMSG_REVICOM_TOKEN"], base_url=env["AIOMSG_REVICOM_URL"]
            ) as revicom:
                stopped = await revicom.stop_batch(seeded["revicom_queued"].split())
                assert [item.code for item in stopped.items] == [200, 200, 200]
            tg.cancel_scope.cancel()


async def test_serve_over_tls_names_the_ca_file() -> None:
    out = io.StringIO()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: serve(tls=True, out=out, seed_data=False))
            for _ in range(500):
                if "Ctrl-C" in out.getvalue():
                    break
                await asyncio.sleep(0.01)
            assert re.search(r"^export SSL_CERT_FILE=\S+ca\.pem", out.getvalue(), re.MULTILINE)
            assert "seeded:" not in out.getvalue()
            tg.cancel_scope.cancel()


async def test_serve_keeps_a_bounded_request_log_and_says_when_it_cannot_listen() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with anyio.fail_after(10), pytest.raises(ListenError) as raised:
            await serve(port=port, out=io.StringIO())
    assert isinstance(raised.value, OSError)
    assert raised.value.errno == errno.EADDRINUSE
    assert str(raised.value).startswith(f"cannot listen on 127.0.0.1:{port}: ")


async def test_serve_handles_sigterm_like_sigint() -> None:
    out = io.StringIO()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: serve(tls=True, out=out, seed_data=False, handle_signals=True))
            for _ in range(500):
                if "Ctrl-C" in out.getvalue():
                    break
                await asyncio.sleep(0.01)
            found = re.search(r"^export SSL_CERT_FILE=(\S+)", out.getvalue(), re.MULTILINE)
            assert found is not None
            ca = anyio.Path(found[1])
            assert await ca.exists()
            os.kill(os.getpid(), signal.SIGTERM)  # serve() returns: the group ends
    assert not await ca.parent.exists(), "stopped cleanly: the TLS files are gone"
