"""Run the simulator as a stand-alone server (what ``aiomsg simulator`` does)."""

from __future__ import annotations

import sys
from typing import Any, TextIO

import anyio

from ._clock import SimClock
from ._simulator import Simulator

__all__ = ["populate", "serve"]


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
    **options: Any,
) -> None:
    """Run a simulator until cancelled, printing its URLs, API key and token to ``out``.

    Its clock follows the wall clock, so scheduled messages get sent and Revicom
    stops land on their own. LINE sends are scheduled (so they can be cancelled)
    unless ``schedule_line_sends=False`` is passed. ``seed_data`` seeds a few
    messages, flows and Revicom messages (``populate``). Other ``options`` go to
    ``Simulator``.
    """
    options.setdefault("clock", SimClock(follow_wall_clock=True))
    options.setdefault("schedule_line_sends", True)
    sim = Simulator(host=host, port=port, tls=tls, **options)
    stream = out if out is not None else sys.stdout
    async with sim:
        seeded = populate(sim) if seed_data else None
        stream.write(describe(sim, seeded))
        stream.flush()
        await anyio.sleep_forever()
