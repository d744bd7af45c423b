"""Run the simulator as a stand-alone server (what ``aiomsg simulator`` does)."""

from __future__ import annotations

import math
import os
import re
import shlex
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

import anyio
import msgspec

from ._clock import SimClock
from ._contract import is_uuid
from ._faults import Fault
from ._simulator import Simulator

__all__ = [
    "DEFAULT_FAULTS",
    "DEFAULT_REQUEST_LOG_LIMIT",
    "FAULTS",
    "ListenError",
    "SeedFile",
    "parse_faults",
    "parse_latency",
    "populate",
    "seed_files",
    "serve",
]

#: Requests a stand-alone simulator keeps in its log at most (it runs for days); the
#: log is bounded in bytes as well (``request_log_bytes``).
DEFAULT_REQUEST_LOG_LIMIT: Final = 10_000


class ListenError(OSError):
    """The simulator could not listen where asked (port in use, address not local)."""


#: Faults by the name ``aiomsg simulator --faults`` takes. "reset" drops the
#: connection before the request is read (nothing happened); "reset-after" after the
#: simulator acted on it (the answer is lost); "stall" holds a request past the
#: client's default 30 s read timeout, then handles it ("stall:SECONDS" for another).
FAULTS: Final[dict[str, Callable[[], Fault]]] = {
    "429": lambda: Fault.rate_limited(1),
    "500": lambda: Fault.status(500),
    "502": lambda: Fault.status(502),
    "503": lambda: Fault.status(503),
    "504": lambda: Fault.status(504),
    "reset": Fault.reset_before_body,
    "reset-after": Fault.reset_after_body,
    "stall": lambda: Fault.stall(35.0),
    "truncated": Fault.truncated_body,
    "non-json": lambda: Fault.non_json_body(502),
}
#: What ``--fault-rate`` injects unless ``--faults`` says otherwise: failures that
#: leave nothing done, so a rehearsal's outcome stays exact.
DEFAULT_FAULTS: Final = ("429", "503", "reset")

_SECONDS_RE: Final = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*")


def parse_faults(text: str | Iterable[str]) -> list[Fault]:
    """Faults from names (``"429,503,reset"`` or a list of names); see ``FAULTS``."""
    names = text.split(",") if isinstance(text, str) else list(text)
    faults = []
    for raw in names:
        name = raw.strip().lower()
        kind, _, arg = name.partition(":")
        if kind == "stall" and arg:
            faults.append(Fault.stall(_seconds(arg, "fault stall")))
        elif name in FAULTS:
            faults.append(FAULTS[name]())
        else:
            known = ", ".join([*FAULTS, "stall:SECONDS"])
            raise ValueError(f"unknown fault {raw.strip()!r}; known faults: {known}")
    if not faults:
        raise ValueError("name at least one fault")
    return faults


def parse_latency(text: str) -> tuple[float, float]:
    """``"0.05"`` (seconds), ``"20ms"``, or a range ``"10ms-200ms"`` / ``"0.01-0.2"``."""
    low, sep, high = text.partition("-")
    first = _seconds(low, "latency")
    last = _seconds(high, "latency") if sep else first
    if first > last:
        raise ValueError(f"latency {text!r}: the low end is above the high end")
    return (first, last)


def _seconds(text: str, what: str) -> float:
    found = _SECONDS_RE.fullmatch(text)
    if found is None:
        raise ValueError(f"{what}: expected seconds such as 0.05, 50ms or 10ms-200ms, got {text!r}")
    value = float(found.group(1))
    return value / 1000 if found.group(2) == "ms" else value


@dataclass(frozen=True, slots=True)
class SeedFile:
    """A file of seeded ids written for a rehearsal, and a command that uses it."""

    label: str
    path: Path
    count: int
    command: str


def read_uuids(path: str | os.PathLike[str]) -> list[str]:
    """The uuids of a file, one a line (blank lines and ``#`` comments skipped)."""
    uuids = []
    with open(path, encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            value = line.strip()
            if not value or value.startswith("#"):
                continue
            if not is_uuid(value):
                raise ValueError(f"{os.fspath(path)} line {number}: not a uuid")
            uuids.append(value)
    return uuids


def _q(path: Path) -> str:
    return shlex.quote(str(path))


def _line_message(i: int) -> dict[str, Any]:
    return {
        "clientMessageId": f"rehearsal-{i:06d}",
        "user": {"msisdn": f"+659{i:07d}"},
        "content": {"title": "Rehearsal", "icon": "calendar", "greeting": f"Message {i}"},
    }


def seed_files(
    sim: Simulator,
    directory: str | os.PathLike[str],
    *,
    revicom: Sequence[str] = (),
    revicom_source: str | os.PathLike[str] | None = None,
    revicom_count: int = 0,
    sms: int = 0,
    chatapps: int = 0,
    line: int = 0,
    flows: int = 0,
) -> list[SeedFile]:
    """Seed the simulator for a rehearsal and write the ids to files in ``directory``.

    ``revicom`` uuids are seeded as queued (stoppable) messages (read from the
    file ``revicom_source``, named in the result); ``revicom_count`` more are
    generated. ``sms`` / ``chatapps`` scheduled messages (one batch each), ``flows``
    DRAFT WhatsApp Flows, and ``line`` LINE Notifications written as a JSONL file
    to send. A file is written only for what was generated, never over an
    existing one (``FileExistsError``).
    """
    for name, count in (
        ("revicom_count", revicom_count), ("sms", sms), ("chatapps", chatapps),
        ("line", line), ("flows", flows),
    ):  # fmt: skip
        if type(count) is not int or count < 0:
            raise ValueError(f"{name} must be a whole number >= 0")
    folder = Path(directory).absolute()  # the printed commands work from anywhere
    planned = [
        name
        for name, count in (
            ("revicom-uuids.txt", revicom_count),
            ("sms-umids.txt", sms),
            ("chatapps-umids.txt", chatapps),
            ("line.jsonl", line),
            ("flows.txt", flows),
        )
        if count
    ]
    folder.mkdir(parents=True, exist_ok=True)
    for name in planned:  # refuse before writing any, rather than half-way
        if (folder / name).exists():
            raise FileExistsError(f"{folder / name} exists; choose another --seed-dir")
    sub = sim.sub_accounts[0]
    made: list[SeedFile] = []

    def write(name: str, lines: Iterable[str]) -> Path:
        path = folder / name
        with open(path, "x", encoding="utf-8") as out:  # never over an existing file
            out.writelines(f"{text}\n" for text in lines)
        return path

    if revicom:
        added = sim.add_revicom_messages(uuids=revicom)
        if revicom_source is not None:
            source = Path(revicom_source).absolute()
            journal = folder / "revicom-stop.journal"
            command = f"aiomsg revicom stop {_q(source)} --journal {_q(journal)}"
            made.append(
                SeedFile("Revicom uuids (queued) from your file", source, len(added), command)
            )
    if revicom_count:
        uuids = sim.add_revicom_messages(revicom_count)
        path = write("revicom-uuids.txt", uuids)
        journal = folder / "revicom-generated-stop.journal"
        command = f"aiomsg revicom stop {_q(path)} --journal {_q(journal)}"
        made.append(SeedFile("Revicom uuids (queued)", path, len(uuids), command))
    for api, count in (("sms", sms), ("chatapps", chatapps)):
        if not count:
            continue
        seeded = (sim.add_sms_messages if api == "sms" else sim.add_chatapps_messages)(count)
        path = write(f"{api}-umids.txt", seeded.umids)
        journal = folder / f"{api}-cancel.journal"
        command = f"aiomsg 8x8 {api} cancel {sub} {_q(path)} --journal {_q(journal)}"
        name = "SMS" if api == "sms" else "Chat Apps"
        label = f"{name} umids (scheduled, batch {seeded.batch_id})"
        made.append(SeedFile(label, path, count, command))
    if line:
        encode = msgspec.json.encode
        path = write("line.jsonl", (encode(_line_message(i)).decode() for i in range(line)))
        journal = folder / "line-send.journal"
        command = f"aiomsg 8x8 line send {sub} {_q(path)} --journal {_q(journal)}"
        made.append(SeedFile("LINE Notifications to send", path, line, command))
    if flows:
        channel = "sim-rehearsal-channel"
        ids = [sim.add_flow(channel) for _ in range(flows)]
        path = write("flows.txt", (f"{channel} {flow_id}" for flow_id in ids))
        command = f"aiomsg 8x8 flows delete {sim.account_id} {channel} {ids[0]}"
        made.append(SeedFile("WhatsApp Flows (DRAFT): channel flow", path, flows, command))
    return made


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


def describe(
    sim: Simulator, seeded: dict[str, Any] | None = None, files: Sequence[SeedFile] = ()
) -> str:
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
    if files:
        lines += ["", "seeded for a rehearsal (files are kept when the simulator stops):"]
        for each in files:
            lines.append(f"  {each.label}: {each.count} in {each.path}")
            lines.append(f"    try: {each.command}")
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
    seed_revicom: str | os.PathLike[str] | None = None,
    seed_revicom_count: int = 0,
    seed_sms: int = 0,
    seed_chatapps: int = 0,
    seed_line: int = 0,
    seed_flows: int = 0,
    seed_dir: str | os.PathLike[str] | None = None,
    fault_rate: float = 0.0,
    faults: str | Sequence[str | Fault] = DEFAULT_FAULTS,
    **options: Any,
) -> None:
    """Run a simulator until cancelled, printing its URLs, API key and token to ``out``.

    Its clock follows the wall clock, so scheduled messages get sent and Revicom
    stops land on their own. LINE sends are scheduled (so they can be cancelled)
    unless ``schedule_line_sends=False`` is passed. ``seed_data`` seeds a few
    messages, flows and Revicom messages (``populate``). The request log keeps the
    last ``DEFAULT_REQUEST_LOG_LIMIT`` requests unless ``request_log_limit`` says
    otherwise, within ``request_log_bytes``. Other ``options`` go to ``Simulator``
    (``latency``, ``rate_limit``, ``revicom_rate_limit``, ``flow_delete_status``...).

    To rehearse a real job: ``seed_revicom`` names a file of uuids to seed as
    stoppable messages; ``seed_revicom_count``, ``seed_sms``, ``seed_chatapps``,
    ``seed_flows`` generate that many and ``seed_line`` writes that many LINE
    Notifications to send, each into a file in ``seed_dir`` (default: a new
    temporary directory, kept) whose path is printed with a command that uses it.
    ``fault_rate`` makes that share of requests fail with one of ``faults``
    (names from ``FAULTS`` or ``Fault`` values).

    With ``handle_signals`` (what ``aiomsg simulator`` does), SIGINT and SIGTERM make
    it return after a clean stop (its TLS files removed). Raises ``ListenError``
    when it cannot listen on ``host``:``port``.
    """
    options.setdefault("clock", SimClock(follow_wall_clock=True))
    options.setdefault("schedule_line_sends", True)
    options.setdefault("request_log_limit", DEFAULT_REQUEST_LOG_LIMIT)
    sim = Simulator(host=host, port=port, tls=tls, **options)
    # Everything an operator asked for is checked before listening: a bad file or
    # option refuses to start rather than serve something else.
    if fault_rate:
        chosen = [f if isinstance(f, Fault) else parse_faults([f])[0] for f in _names(faults)]
        sim.inject_random(chosen, rate=fault_rate)
    revicom = read_uuids(seed_revicom) if seed_revicom is not None else []
    generated = (seed_revicom_count, seed_sms, seed_chatapps, seed_line, seed_flows)
    files: list[SeedFile] = []
    if revicom or any(generated):
        folder = (
            Path(seed_dir)
            if seed_dir is not None
            else Path(tempfile.mkdtemp(prefix="aiomsg-simulator-"))
        )
        files = seed_files(
            sim, folder, revicom=revicom, revicom_source=seed_revicom,
            revicom_count=seed_revicom_count, sms=seed_sms, chatapps=seed_chatapps,
            line=seed_line, flows=seed_flows,
        )  # fmt: skip
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
            stream.write(describe(sim, seeded, files))
            stream.flush()
            if signals is None:
                await anyio.sleep_forever()
            async for _ in signals:
                return
        finally:
            with anyio.CancelScope(shield=True):
                await sim.stop()


def _names(faults: str | Sequence[str | Fault]) -> Sequence[str | Fault]:
    return faults.split(",") if isinstance(faults, str) else faults


def parse_rate(text: str, what: str) -> float | None:
    """Requests per second, or None for ``none`` / ``0`` (no limit)."""
    if text.strip().lower() in ("none", "off", "0"):
        return None
    try:
        rate = float(text)
    except ValueError:
        raise ValueError(f"{what}: expected requests per second or none, got {text!r}") from None
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"{what}: expected a positive number of requests per second")
    return rate
