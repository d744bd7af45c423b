"""What ``aiomsg 8x8 receipts serve`` and ``aiomsg 8x8 line reconcile`` do (their
options are in ``receipts``; this module is loaded only when one of them runs)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, BinaryIO, Final

import msgspec

from aiomsg.bulk import SUCCESSFUL, Outcome

from .common import run_async
from .console import ProgressBar, say
from .exits import EXIT_INCOMPLETE, EXIT_NOT_ALL_SUCCEEDED, EXIT_OK, UsageError
from .input import InputError, InputFile, problem_of
from .journal import Journal, JournalError, JournalHeader
from .line_ids import find_repeats, line_message_id, repeat_error
from .paths import Role, first_clash
from .report import _Placement
from .summary import plural

if TYPE_CHECKING:
    from aiomsg.receipts import Reconciliation

__all__ = ["FIELDS", "LINE_SEND", "reconcile_journal", "serve"]

#: The command whose journals ``line reconcile`` reads.
LINE_SEND: Final = "8x8 line send"
#: Report fields: those of every job report, and the latest delivery state.
FIELDS: Final = ("index", "line", "id", "outcome", "code", "error", "state")
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_NOT_SENT_ERROR: Final = (
    "not sent: the job has not reached this item yet; resume the send with the same "
    "--journal, then reconcile again"
)


def _check_store_file(path: str) -> None:
    """Refuse a --store that exists and is not a SQLite database (never written over)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise UsageError(f"--store {path!r} is a directory") from None
    except OSError as exc:
        raise UsageError(f"cannot read --store {path!r}: {exc.strerror}") from None
    if head and head != _SQLITE_MAGIC:
        raise UsageError(
            f"--store {path!r} exists and is not a SQLite database; it was left as it is. "
            "Give --store a new path or an existing receipt store"
        )


# ---------------------------------------------------------------------------- serve


def serve(args: argparse.Namespace) -> int:
    """``aiomsg 8x8 receipts serve --port N --store PATH``."""
    authorization = os.environ.get(args.authorization_env, "").strip()
    if not authorization:
        raise UsageError(
            f"no webhook authorization: set {args.authorization_env} to the httpAuthorization "
            "value the webhook is registered with (or name another variable with "
            "--authorization-env)"
        )
    _check_store_file(args.store)  # a journal, a report or an input is no database
    return run_async(_serve(args, authorization))


async def _serve(args: argparse.Namespace, authorization: str) -> int:
    from aiohttp import web

    from aiomsg.receipts import RECEIVER_KEY, SQLiteReceiptStore, create_receipt_app

    store = SQLiteReceiptStore(args.store)
    app = create_receipt_app(authorization=authorization, store=store)
    # On stop, requests in flight get this long to be stored and answered.
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=30.0)
    try:
        await runner.setup()
    except Exception as exc:  # the store could not be opened: say why
        await runner.cleanup()
        raise UsageError(f"cannot open --store {args.store!r}: {exc}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, args.host, args.port)
        try:
            await site.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
        host, bound = _bound_address(runner, args.host, args.port)
        url = f"http://{host}:{bound}/"
        sys.stdout.write(url + "\n")  # the URL is the command's data: standard output
        sys.stdout.flush()
        receiver = app[RECEIVER_KEY]
        if not args.quiet:
            say(
                f"receiving 8x8 delivery receipts at {url} into {args.store!r}; register the "
                "webhook (type CADR) with that URL as seen from 8x8, behind HTTPS. Ctrl-C stops"
            )
        show = not args.quiet and sys.stderr.isatty()
        last, last_at = 0, time.monotonic()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass
            if show:
                now = time.monotonic()
                rate = (receiver.stored - last) / max(now - last_at, 1e-9)
                last, last_at = receiver.stored, now
                sys.stderr.write(
                    f"\r{receiver.stored:,} receipts stored, {receiver.repeated:,} repeats, "
                    f"{rate:,.0f}/s   "
                )
                sys.stderr.flush()
        if show:
            sys.stderr.write("\n")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        # Stops listening, lets requests in flight finish, then closes the store.
        await runner.cleanup()
    if not args.quiet:
        say(
            f"stopped: {plural(receiver.stored, 'receipt')} stored, {receiver.repeated:,} "
            f"repeated, {receiver.refused:,} refused, {receiver.unauthorized:,} unauthorized"
        )
    return EXIT_OK


def _bound_address(runner: object, host: str, requested: int) -> tuple[str, int]:
    addresses = getattr(runner, "addresses", [])
    for address in addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            shown = f"[{address[0]}]" if ":" in str(address[0]) else str(address[0])
            return shown, int(address[1])
    return host, requested


# ---------------------------------------------------------------------------- reconcile


def reconcile_journal(args: argparse.Namespace) -> int:
    """``aiomsg 8x8 line reconcile --journal J --store PATH``."""
    try:
        journal, job = Journal.read(args.journal)
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    if job.command != LINE_SEND:
        raise UsageError(
            f"the journal {args.journal!r} is of 'aiomsg {job.command}'; line reconcile reads "
            f"the journals of 'aiomsg {LINE_SEND}'"
        )
    input_path = args.input or job.input_name
    if input_path == "-":
        raise UsageError(
            "the job read its input from standard input: give the same file with --input FILE"
        )
    roles = [
        Role("the input", input_path, writes=False),
        Role("--journal", args.journal, writes=False),
        Role("--store", args.store, writes=False),
    ]
    if args.report is not None:
        roles.append(Role("--report", args.report, writes=True))
    clash = first_clash(roles)
    if clash is not None:
        raise UsageError(f"{clash}: refusing to overwrite it; give the report a path of its own")
    if not os.path.exists(args.store):
        raise UsageError(f"no receipt store at --store {args.store!r} (aiomsg 8x8 receipts serve)")
    _check_store_file(args.store)
    try:
        source = InputFile.open(input_path)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    try:
        rows = _job_rows(journal, job, source, input_path)
    finally:
        source.close()
    return run_async(_reconcile(args, rows))


# (index, line, id, outcome, code, error)
_Row = tuple[int, int, str | None, str, int | None, str | None]


def _job_rows(journal: Journal, job: JournalHeader, source: InputFile, shown: str) -> list[_Row]:
    """Every item of the job as the journal left it, in input order."""
    try:
        scan = source.scan("line", check=True)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    if scan.digest != job.input_digest or scan.items != job.items:
        raise UsageError(
            f"{shown!r} is not the input of this journal: the journal records "
            f"{job.describe()}, and {shown!r} has {scan.items} items (SHA-256 "
            f"{scan.digest[:12]}...). Give the job's input with --input FILE"
        )
    lo, hi = _shard_range(job.items, job.shard)
    in_flight = journal.in_flight()
    replay = journal.replay()
    upcoming = next(replay, None)
    bad = scan.invalid.cursor()
    rows: list[_Row] = []
    pending: list[int] = []  # positions neither finished nor in flight
    flying = in_flight.cursor()
    for index, lineno, item in source.items(lo, hi):
        while upcoming is not None and upcoming[0] < index:
            upcoming = next(replay, None)
        if upcoming is not None and upcoming[0] == index:
            _, outcome, code, error = upcoming
            rows.append((index, lineno, line_message_id(item, scan.digest), outcome, code, error))
        elif index in bad:
            error = f"line {lineno}: {problem_of('line', item)}"
            rows.append((index, lineno, None, Outcome.FAILED.value, None, error))
        else:
            cmid = line_message_id(item, scan.digest)
            if index in flying:
                rows.append((index, lineno, cmid, Outcome.UNKNOWN.value, None, _UNKNOWN_ERROR))
            else:
                pending.append(len(rows))
                rows.append((index, lineno, cmid, Outcome.NOT_ATTEMPTED.value, None, None))
    # A clientMessageId is sent at most once per job: a later position with the
    # same id (never sent) shares its first position's fate when it is the same
    # message, and failed when it is another one, as the send reported it.
    repeats = find_repeats(source, lo, hi, scan.invalid, scan.digest) if pending else {}
    for k in pending:
        index, lineno, cmid, _, _, _ = rows[k]
        repeat = repeats.get(index)
        if repeat is None:
            rows[k] = (index, lineno, cmid, Outcome.NOT_ATTEMPTED.value, None, _NOT_SENT_ERROR)
        elif not repeat.identical:
            error = repeat_error(repeat, "is a different message with the same id")
            rows[k] = (index, lineno, cmid, Outcome.FAILED.value, None, error)
        else:
            _, _, _, outcome, code, error = rows[repeat.first - lo]
            rows[k] = (index, lineno, cmid, outcome, code, error)
    return rows


_UNKNOWN_ERROR: Final = (
    "outcome unknown: the request carrying this message got no answer, and no delivery "
    "receipt for its clientMessageId is stored"
)


def _shard_range(items: int, shard: str | None) -> tuple[int, int]:
    if not shard:
        return 0, items
    k, n = (int(x) for x in shard.split("/"))
    return (k - 1) * items // n, k * items // n


async def _reconcile(args: argparse.Namespace, rows: list[_Row]) -> int:
    from aiomsg import ValidationError
    from aiomsg.receipts import ReconcileItem, SQLiteReceiptStore, reconcile

    items = [
        ReconcileItem(id=cmid, outcome=Outcome(outcome), code=code)
        for _, _, cmid, outcome, code, _ in rows
    ]
    # Distinct ids, as reconcile counts them (an identical repeat shares its first's).
    to_resolve = len({it.id for it in items if it.outcome is Outcome.UNKNOWN and it.id})
    bar = ProgressBar(total=to_resolve, initial=0, desc="receipts", enabled=not args.quiet)
    shown = 0

    def progress(resolved: int, pending: int) -> None:
        nonlocal shown
        bar.update(resolved - shown)
        shown = resolved

    try:
        async with SQLiteReceiptStore(args.store) as store:
            result = await reconcile(
                items,
                store,
                wait=args.wait if to_resolve else 0.0,
                sub_account_id=args.sub_account,
                on_progress=progress,
            )
    except ValidationError:
        raise
    except Exception as exc:  # sqlite3 errors: a damaged or foreign database
        raise UsageError(f"cannot read --store {args.store!r}: {exc}") from None
    finally:
        bar.close()
    out = list(_report_rows(rows, result))
    _write_report(args.report, out)
    counts: dict[str, int] = {}
    for row in out:
        counts[row[3]] = counts.get(row[3], 0) + 1
    if not args.quiet:
        _summary(result, counts, len(out))
    if counts.get(Outcome.NOT_ATTEMPTED.value):
        return EXIT_INCOMPLETE
    successful = {o.value for o in SUCCESSFUL}
    if all(o in successful for o in counts):
        return EXIT_OK
    return EXIT_NOT_ALL_SUCCEEDED


_ReportRow = tuple[int, int, str | None, str, int | None, str | None, str | None]


def _report_rows(rows: list[_Row], result: Reconciliation) -> Iterator[_ReportRow]:
    for row, m in zip(rows, result.messages, strict=True):
        index, lineno, cmid, _, code, error = row
        if m.resolved:
            error = None
            if m.outcome is Outcome.REJECTED:
                error = f"rejected by 8x8 (delivery receipt{': ' + m.detail if m.detail else ''})"
            yield (index, lineno, cmid, m.outcome.value, m.code, error, m.state)
        elif m.outcome is Outcome.UNKNOWN and m.waited is not None and cmid:
            why = f"{error}; waited {m.waited:.0f} s" if error else None
            yield (index, lineno, cmid, m.outcome.value, code, why, None)
        else:
            yield (index, lineno, cmid, m.outcome.value, code, error, m.state)


class _Record(msgspec.Struct):
    index: int
    line: int
    id: str | None
    outcome: str
    code: int | None
    error: str | None
    state: str | None


def _write_report(path: str | None, rows: Sequence[_ReportRow]) -> None:
    """The report, whole or not at all: written beside PATH and renamed over it."""
    if path is None:
        return
    if path == "-":
        sys.stdout.buffer.write(msgspec.json.Encoder().encode_lines([_Record(*r) for r in rows]))
        sys.stdout.buffer.flush()
        return
    try:
        placement = _Placement(path)
    except OSError as exc:
        raise UsageError(f"cannot write the report {path!r}: {exc.strerror}") from None
    f: BinaryIO | io.TextIOBase
    if path.lower().endswith(".csv"):
        f = open(placement.fd, "w", encoding="utf-8", newline="")
        writer = csv.writer(f)
        writer.writerow(FIELDS)
        writer.writerows(rows)
    else:
        f = open(placement.fd, "wb")
        f.write(msgspec.json.Encoder().encode_lines([_Record(*r) for r in rows]))
    placement.finish(f, True)


def _summary(result: Reconciliation, counts: dict[str, int], items: int) -> None:
    shown = ", ".join(f"{o.value} {counts[o.value]:,}" for o in Outcome if counts.get(o.value))
    say(f"line reconcile: {plural(items, 'item')}: {shown or 'none'}")
    say(f"  resolved from receipts: {result.resolved:,}; waited {result.waited:.0f} s")
    if result.states:
        states = ", ".join(f"{s} {n:,}" for s, n in sorted(result.states.items()))
        say(f"  accepted messages by latest delivery state: {states}")
    unknown = counts.get(Outcome.UNKNOWN.value, 0)
    if unknown:
        say(
            f"  {plural(unknown, 'item')} still unknown: no receipt yet. Reconcile again "
            "later (8x8 retries receipts for minutes), or re-send with --resend-unknown "
            "if you accept a possible duplicate"
        )
    not_sent = counts.get(Outcome.NOT_ATTEMPTED.value, 0)
    if not_sent:
        say(f"  {plural(not_sent, 'item')} not sent yet: resume the send with its --journal")
