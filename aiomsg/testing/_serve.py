"""Run the simulator as a stand-alone server (what ``aiomsg simulator`` does)."""

from __future__ import annotations

import signal
import sys
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Final, TextIO

import anyio

from ._clock import SimClock
from ._simulator import Simulator

__all__ = ["DEFAULT_REQUEST_LOG_LIMIT", "ListenError", "populate", "serve"]

#: Requests a stand-alone simulator keeps in its log at most (it runs for days); the
#: log is bounded in bytes as well (``request_log_bytes``).
DEFAULT_REQUEST_LOG_LIMIT: Final = 10_000


class ListenError(OSError):
    """The simulator could not listen where asked (port in use, address not local)."""


def populate(sim: Simulator) -> dict[str, Any]:
    """Seed a little of everything, so that each endpoint has something to act on.

    Returns what was made: SMS umids and batch id, Chat Apps umids, a DRAFT and a
    PUBLISHED flow, Revicom uuids in each state and a cascade root.
    """
    sms = sim.add_sms_messages(3)
    chatapps = sim.add_chatapps_messages(3)
    channel = "sim-whatsapp-channel"
    draft = sim.add_flow(channel, status="DRAFT")
    published = sim.add_flow(channel, status="PUBLISHED")
    queued = sim.add_revicom_messages(3)
    sending = sim.add_revicom_messages(1, state="sending")
    sent = sim.add_revicom_messages(1, state="sent")
    root = queued[0]
    cascade = sim.add_revicom_messages(2, cascade_of=root)
    return {
        "sms_umids": list(sms.umids),
        "sms_batch_id": sms.batch_id,
        "chatapps_umids": list(chatapps.umids),
        "chatapps_batch_id": chatapps.batch_id,
        "channel_id": channel,
        "draft_flow_id": draft,
        "published_flow_id": published,
        "revicom_queued": queued,
        "revicom_sending": sending,
        "revicom_sent": sent,
        "revicom_cascade_root": root,
        "revicom_cascade": cascade,
    }


def describe(sim: Simulator, seeded: dict[str, Any] | None = None) -> str:
    """What a user needs to point aiomsg (or curl) at the running simulator."""
    lines = [
        f"aiomsg simulator listening on {sim.url}",
        "",
        "# point aiomsg at it:",
        f"export AIOMSG_8X8_CHATAPPS_URL={sim.chatapps_url}",
        f"export AIOMSG_8X8_SMS_URL={sim.sms_url}",
        f"export AIOMSG_REVICOM_URL={sim.revicom_url}",
        f"export AIOMSG_8X8_API_KEY={sim.api_key}",
        f"export AIOMSG_REVICOM_TOKEN={sim.revicom_token}",
    ]
    if sim.tls:
        lines.append(f"export SSL_CERT_FILE={sim.ca_path}  # trust the simulator's CA")
    lines += [
        "",
        f"sub-accounts: {', '.join(sim.sub_accounts)}",
        f"account id:   {sim.account_id}",
    ]
    if seeded:
        lines.append("")
        lines.append("seeded:")
        for key, value in seeded.items():
            shown = " ".join(value) if isinstance(value, list) else str(value)
            lines.append(f"  {key}: {shown}")
    lines += ["", "Press Ctrl-C to stop."]
    return "\n".join(lines) + "\n"


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = False,
    *,
    seed_data: bool = True,
    out: TextIO | None = None,
    handle_signals: bool = False,
    **options: Any,
) -> None:
    """Run a simulator until cancelled, printing its URLs, API key and token to ``out``.

    Its clock follows the wall clock, so scheduled messages get sent and Revicom
    stops land on their own. LINE sends are scheduled (so they can be cancelled)
    unless ``schedule_line_sends=False`` is passed. ``seed_data`` seeds a few
    messages, flows and Revicom messages (``populate``). The request log keeps the
    last ``DEFAULT_REQUEST_LOG_LIMIT`` requests unless ``request_log_limit`` says
    otherwise, within ``request_log_bytes``. Other ``options`` go to ``Simulator``.

    With ``handle_signals`` (what ``aiomsg simulator`` does), SIGINT and SIGTERM make
    it return after a clean stop (its TLS files removed). Raises ``ListenError``
    when it cannot listen on ``host``:``port``.
    """
    options.setdefault("clock", SimClock(follow_wall_clock=True))
    options.setdefault("schedule_line_sends", True)
    options.setdefault("request_log_limit", DEFAULT_REQUEST_LOG_LIMIT)
    sim = Simulator(host=host, port=port, tls=tls, **options)
    stream = out if out is not None else sys.stdout
    # Listening for the signals before starting: one that arrives while the
    # simulator starts still ends it cleanly.
    receiver: AbstractContextManager[Any] = (
        anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM)
        if handle_signals
        else nullcontext()
    )
    with receiver as signals:
        try:
            await sim.start()
        except OSError as exc:
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            error = ListenError(
                f"cannot listen on {where}: {exc.strerror or exc} (choose another --port, "
                "or --port 0 for a free one; --host must be an address of this machine)"
            )
            error.errno = exc.errno
            raise error from exc
        try:
            seeded = populate(sim) if seed_data else None
            stream.write(describe(sim, seeded))
            stream.flush()
            if signals is None:
                await anyio.sleep_forever()
            async for _ in signals:
                return
        finally:
            with anyio.CancelScope(shield=True):
                await sim.stop()
