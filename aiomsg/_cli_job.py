"""One bulk job of the command line: check the input, resume, send, report, exit code.

The data path: the input is read and checked whole first (nothing is sent if a
line is bad, unless ``--skip-invalid``); the journal says which positions earlier
runs finished; those, the bad lines and (for LINE) the requests whose answer never
came are reported without sending; so are LINE messages whose clientMessageId an
earlier position has (only the first position of an id is ever sent, in any run);
the rest is streamed through the library's bulk calls in segments, and each
finished request is journaled, then reported (records in input order, see
``InputOrder``).

What is final: the journal records an item as finished only when the provider
answered about that item (accepted, rejected, cancelled, not_found, stopped ...)
or when the item itself is bad (a ``ValidationError``). An item whose request
failed as a whole (a 401, a 5xx or 429 after the retries, a connection error, a
404 without 8x8's "not found" code, which is a wrong URL) is reported ``failed``
and left for a re-run to send; so is an item never sent (``not_attempted``). A
LINE request that may have reached 8x8 is ``unknown`` and held on a re-run unless
``--resend-unknown``.

Ctrl-C: the first asks the bulk calls to finish (no new request, those in flight
end), then after a grace period to abort; every item is still reported, the ones
never sent as ``not_attempted``, and the exit code is 3.

Segments: the input is sent as a series of streams of at most a few hundred
thousand items each, because a stream numbers its items from 0 and each segment
keeps the input position of every item it carries (a compact array); memory then
stays bounded whatever the input size, and skipped positions (finished earlier,
bad lines) cost nothing.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from itertools import islice
from types import FrameType
from typing import Any, Final

import anyio

from . import ConfigurationError, ValidationError
from ._cli_console import ProgressBar, format_summary, say
from ._cli_input import (
    InputError,
    InputFile,
    ItemKind,
    Repeat,
    Scan,
    find_repeats,
    line_message,
    line_message_id,
    masked_id,
    problem_of,
)
from ._cli_paths import Role, first_clash
from ._cli_ranges import IndexRanges, ranges_of
from ._cli_report import (
    InputOrder,
    ReportError,
    ReportWriter,
    Row,
    open_report,
    reorder_bound,
)
from ._journal import JobIdentity, Journal, JournalError, Run
from .bulk import SUCCESSFUL, BulkInterruptedError, BulkOptions, Outcome, OutcomeStream

__all__ = [
    "EXIT_INCOMPLETE",
    "EXIT_NOT_ALL_SUCCEEDED",
    "EXIT_OK",
    "EXIT_REQUESTS_FAILED",
    "EXIT_USAGE",
    "BulkCommand",
    "BulkJob",
    "JobOptions",
    "UsageError",
]

EXIT_OK: Final = 0
EXIT_NOT_ALL_SUCCEEDED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INCOMPLETE: Final = 3
EXIT_REQUESTS_FAILED: Final = 4

#: After the first Ctrl-C, how long requests in flight may take to finish.
GRACE_SECONDS: Final = 5.0
#: Requests' worth of items per stream (see the module docstring), at least this many.
SEGMENT_REQUESTS: Final = 4
MIN_SEGMENT: Final = 50_000
#: Report records buffered before a write when no request is involved.
_ROWS_PER_WRITE: Final = 2_000
_PLAN_SHOWN: Final = 10

_SUCCESSFUL_VALUES: Final = frozenset(o.value for o in SUCCESSFUL)
_NOT_FINAL: Final = frozenset({Outcome.UNKNOWN, Outcome.NOT_ATTEMPTED})
_NOT_SENT_ERROR: Final = "the job stopped before this item was sent"
# The outcome of a repeated clientMessageId's record until it is written (_resolve).
_REPEAT: Final = ""
_IN_FLIGHT_ERROR: Final = (
    "outcome unknown: the request carrying this message was sent by an earlier run "
    "whose answer never arrived; it was not sent again (reconcile it by "
    "clientMessageId, or re-run with --resend-unknown)"
)


class UsageError(Exception):
    """Bad usage or input: the message says what to fix; nothing was sent (exit 2)."""


OpenStream = Callable[[Any, Iterable[Any], BulkOptions], AbstractAsyncContextManager[OutcomeStream]]


@dataclass(frozen=True, slots=True)
class BulkCommand:
    """A bulk command: how to reach the provider and how its requests are shaped.

    ``url`` is shown by ``--dry-run``; for one-request-per-item commands it holds
    ``{id}`` where the item goes. ``resend_safe``: repeating a request does no harm
    (stop, cancel), so requests whose answer never came are simply sent again.
    ``endpoint``: where requests go (resolved base URL, region), part of the job's
    identity so that a journal is never resumed against another endpoint.
    """

    name: str
    kind: ItemKind
    noun: str
    per_request: int
    resend_safe: bool
    method: str
    url: str
    params: tuple[tuple[str, str], ...]
    open_client: Callable[[bool], Any]
    open_stream: OpenStream
    endpoint: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class JobOptions:
    input: str
    concurrency: int = 8
    report: str | None = None
    journal: str | None = None
    resend_unknown: bool = False
    skip_invalid: bool = False
    dry_run: bool = False
    quiet: bool = False
    shard: tuple[int, int] | None = None
    #: Other files the job reads, as (option, path): an output must not be one.
    reads: tuple[tuple[str, str], ...] = ()


class _Segment:
    """Up to ``size`` pending items handed to one bulk stream, remembering the input
    position of each, since the stream numbers its items from 0."""

    def __init__(
        self, feed: Iterator[tuple[int, int, bytes]], size: int, convert: Callable[[bytes], Any]
    ) -> None:
        self._feed = feed
        self._size = size
        self._convert = convert
        self.positions = array("q")
        self.lines = array("q")

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        append = self.positions.append
        append_line = self.lines.append
        convert = self._convert
        for index, lineno, item in islice(self._feed, self._size):
            append(index)
            append_line(lineno)
            yield convert(item)


def is_final(outcome: Outcome, error: BaseException | None) -> bool:
    """Whether an outcome is settled for good (journaled as done, never sent again).

    Final: the provider's answer about the item, or bad input (``ValidationError``).
    Not final: ``unknown`` and ``not_attempted``, and ``failed`` for any other reason
    (the request failed as a whole: authentication, server errors and 429 after the
    retries, connection errors, a 404 that is not 8x8's "not found"), which a re-run
    sends again once the cause is fixed.
    """
    if outcome in _NOT_FINAL:
        return False
    if outcome is Outcome.FAILED:
        return isinstance(error, ValidationError)
    return True


@dataclass(slots=True)
class _Interrupt:
    """Ctrl-C (or SIGTERM): the first stops sending, the second exits at once."""

    on_first: Callable[[], None]
    signals: int = 0
    previous: dict[int, Any] = field(default_factory=dict)

    @property
    def stopping(self) -> bool:
        return self.signals > 0

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:  # nohup and the like: keep
                self.previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        if self.signals > 1:
            # Journal records are whole lines written in one call: stopping here
            # leaves it consistent. Nothing else needs to be tidy.
            os.write(2, b"\naiomsg: interrupted again; exiting now. Re-run with the same "
                        b"--journal to resume.\n")  # fmt: skip
            os._exit(EXIT_INCOMPLETE)
        self.on_first()


class BulkJob:
    """Runs one bulk command over one input. ``prepare()`` (synchronous: reads and
    checks the input, opens the journal), then ``await run()``, then ``close()``."""

    def __init__(self, command: BulkCommand, options: JobOptions) -> None:
        self.command = command
        self.options = options
        self.input: InputFile | None = None
        self.journal: Journal | None = None
        self.scan = Scan()
        self.lo = self.hi = 0
        self.counts: Counter[str] = Counter()
        self.pending = 0
        self.batches: list[str] = []
        self.extra_items = 0
        # Items whose request was cut short (unknown), and failed items left for a
        # re-run (their request failed as a whole).
        self.interrupted = 0
        self.retryable = 0
        self._report: ReportWriter | None = None
        self._order: InputOrder | None = None
        self._bar: ProgressBar | None = None
        self._interrupt: _Interrupt | None = None
        self._abort: anyio.Event | None = None
        self._finishing: anyio.Event | None = None
        self._segment: _Segment | None = None
        # LINE positions this run journaled as sent (so a request that provably did
        # not reach 8x8 can be withdrawn), and those earlier runs left in flight.
        self._sent_now = IndexRanges()
        self._sent_before = IndexRanges()
        # LINE positions whose clientMessageId an earlier position has (never sent),
        # and what the first position of each such id came to, once reported:
        # (outcome, code, error, kind), kind "final", "retryable" or "interrupted".
        self._repeats: dict[int, Repeat] = {}
        self._firsts: set[int] = set()
        self._first_outcome: dict[int, tuple[str, int | None, str | None, str]] = {}
        self._first_kind: dict[int, str] = {}

    # ------------------------------------------------------------------ preparing

    def prepare(self) -> None:
        """Read and check the input and open the journal; ``UsageError`` if unusable."""
        cmd, opts = self.command, self.options
        if opts.dry_run and opts.report is not None:
            # A report holds outcomes, and a dry run has none: a file of made-up
            # outcomes could pass for a real run's report.
            raise UsageError(
                "--dry-run writes no report (nothing is sent, so no item has an outcome); "
                "its plan goes to standard output. Drop --report, or drop --dry-run"
            )
        self._check_paths()
        try:
            self.input = InputFile.open(opts.input)
            self.scan = self.input.scan(cmd.kind, check=opts.shard is None)
            self.lo, self.hi = _shard_range(self.scan.items, opts.shard)
            if opts.shard is not None:
                self.input.check(cmd.kind, self.lo, self.hi, self.scan)
        except InputError as exc:
            raise UsageError(str(exc)) from None
        bad = self.scan.invalid.count_in(self.lo, self.hi)
        if bad and not opts.skip_invalid:
            raise UsageError(self._bad_input_message(bad))
        identity = JobIdentity(
            command=cmd.name,
            params=cmd.params,
            input_name=self.input.name,
            input_digest=self.scan.digest,
            items=self.scan.items,
            shard=None if opts.shard is None else f"{opts.shard[0]}/{opts.shard[1]}",
            endpoint=cmd.endpoint,
        )
        if opts.journal is not None:
            try:
                self.journal = Journal.open(
                    opts.journal, identity, readonly=opts.dry_run, sync_each=not cmd.resend_safe
                )
            except JournalError as exc:
                raise UsageError(str(exc)) from None
            if not cmd.resend_safe:
                self._sent_before = self.journal.in_flight()
        if cmd.kind == "line":
            # A clientMessageId is sent at most once per job, across runs: only its
            # first position is ever sent, whatever earlier runs did.
            self._repeats = find_repeats(
                self.input, self.lo, self.hi, self.scan.invalid, self.scan.digest
            )
            self._firsts = {r.first for r in self._repeats.values()}
        self.pending = self.hi - self.lo - bad - self._done_count() - self._held_count()
        if self._repeats:
            done = self.journal.done if self.journal is not None else IndexRanges()
            held = self._in_flight() if not opts.resend_unknown else IndexRanges()
            self.pending -= sum(1 for p in self._repeats if p not in done and p not in held)

    def _check_paths(self) -> None:
        """Refuse, before anything is opened for writing, outputs that would destroy
        the input, the journal or each other (compared as files, not as strings)."""
        opts = self.options
        roles = [Role("the input", opts.input, writes=False)]
        roles += [Role(option, path, writes=False) for option, path in opts.reads]
        if opts.journal is not None:
            roles.append(Role("--journal", opts.journal, writes=True))
        if opts.report is not None:
            roles.append(Role("--report", opts.report, writes=True))
        clash = first_clash(roles)
        if clash is not None:
            raise UsageError(f"{clash}: refusing to overwrite it. Nothing was sent; give "
                             "each output a path of its own")  # fmt: skip

    def _bad_input_message(self, bad: int) -> str:
        assert self.input is not None
        lines = [f"{self.input.shown_name}: {plural(bad, 'bad line')}; nothing was sent"]
        lines += [
            f"  {problem}" for problem in self.scan.problems if self.lo <= problem.index < self.hi
        ]
        if bad > len(self.scan.problems):
            lines.append(f"  ... and {bad - len(self.scan.problems):,} more")
        lines.append("Fix them, or pass --skip-invalid to report them as failed and send the rest.")
        return "\n".join(lines)

    def _done_count(self) -> int:
        return 0 if self.journal is None else self.journal.done.count_in(self.lo, self.hi)

    def _in_flight(self) -> IndexRanges:
        """LINE positions sent earlier without an answer (empty for stop and cancel)."""
        if self.journal is None or self.command.resend_safe:
            return IndexRanges()
        return self.journal.in_flight()

    def _held_count(self) -> int:
        """In-flight positions that this run does not send again."""
        if self.options.resend_unknown:
            return 0
        return self._in_flight().count_in(self.lo, self.hi)

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
        if self.input is not None:
            self.input.close()

    # ------------------------------------------------------------------ running

    async def run(self) -> int:
        if self.options.dry_run:
            return await self._dry_run()
        cmd, opts = self.command, self.options
        try:
            client_cm = cmd.open_client(False)
        except (ConfigurationError, ValidationError) as exc:
            raise UsageError(str(exc)) from None
        async with client_cm as client:
            try:
                cmd.open_stream(client, (), {})  # checks the arguments; sends nothing
            except ValidationError as exc:
                raise UsageError(str(exc)) from None
            try:
                self._report = open_report(opts.report)
            except ReportError as exc:
                raise UsageError(str(exc)) from None
            started = time.monotonic()
            self._loop = asyncio.get_running_loop()
            self._abort = anyio.Event()
            self._finishing = anyio.Event()
            interrupt = self._interrupt = _Interrupt(self._begin_stop)
            self._bar = ProgressBar(
                total=self.hi - self.lo, initial=0, desc=cmd.name, enabled=not opts.quiet
            )
            interrupt.install()
            complete = False
            bound = reorder_bound(cmd.per_request, opts.concurrency)
            self._order = InputOrder(self._emit, self.lo, self._settled_rows(), bound)
            try:
                self._order.flush()
                await self._send(client)
                self._order.finish()
                complete = True
            finally:
                interrupt.restore()
                self._bar.close()
                # Interrupted (exit 3) still covers every item: put it in place.
                self._report.close(complete=complete)
            stats = client.stats
            return self._finish(time.monotonic() - started, stats.requests, stats.retries)

    def _begin_stop(self) -> None:
        """First Ctrl-C (in the signal handler): wake the event loop to finish the bulk
        calls gently (no new request), give requests in flight a moment, then abort."""
        self._loop.call_soon_threadsafe(self._stop_in_loop)

    def _stop_in_loop(self) -> None:
        assert self._bar is not None
        assert self._abort is not None
        assert self._finishing is not None
        self._finishing.set()
        self._bar.write(
            f"aiomsg: stopping: no new requests; waiting up to {GRACE_SECONDS:g} s for those "
            "in flight (Ctrl-C again to quit at once)"
        )
        self._loop.call_later(GRACE_SECONDS, self._abort.set)

    @property
    def _stopping(self) -> bool:
        return self._interrupt is not None and self._interrupt.stopping

    def _emit(self, rows: list[Row]) -> None:
        """Records in input order: to the report, and counted on the progress bar."""
        assert self._report is not None
        assert self._bar is not None
        if self._firsts:
            rows = [self._resolve(row) for row in rows]
        self._report.write(rows)
        self._bar.update(len(rows))

    def _write(self, rows: Sequence[Row]) -> None:
        assert self._order is not None
        self._order.add(rows)

    def _resolve(self, row: Row) -> Row:
        """Note what a first clientMessageId position came to; give an identical repeat
        (written after its first, in input order) the same outcome."""
        index, lineno, cmid, outcome, code, error = row
        if index in self._firsts:
            kind = self._first_kind.pop(index, "final")
            self._first_outcome[index] = (outcome, code, error, kind)
            return row
        if outcome != _REPEAT:
            return row
        repeat = self._repeats[index]
        first = self._first_outcome.get(repeat.first)
        if first is None:  # its first record is late (the reorder bound was passed)
            first = (Outcome.UNKNOWN.value, None, _repeat_error(repeat, "had no answer yet"), "")
        outcome, code, error, kind = first
        self.counts[outcome] += 1
        if kind == "retryable":
            self.retryable += 1
        elif kind == "interrupted":
            self.interrupted += 1
        return (index, lineno, cmid, outcome, code, error)

    def _settled_rows(self) -> Iterator[Row]:
        """The records of what needs no request, in input order: positions finished by
        earlier runs, bad lines (``--skip-invalid``) and held LINE messages. Pulled as
        their turn comes in the report; not cut short by Ctrl-C (it sends nothing, and
        the report must cover every item)."""
        assert self.input is not None
        invalid = self.scan.invalid.count_in(self.lo, self.hi)
        held = self._held_count()
        repeats = self._repeats
        if not (self._done_count() or invalid or held or repeats):
            return
        kind = self.command.kind
        replay = iter(()) if self.journal is None else self.journal.replay()
        upcoming = next(replay, None)
        bad = self.scan.invalid.cursor()
        in_flight = self._in_flight().cursor() if held else None
        counts = self.counts
        row: Row
        for index, lineno, item in self.input.items(self.lo, self.hi):
            if upcoming is not None and upcoming[0] == index:
                _, outcome, code, error = upcoming
                upcoming = next(replay, None)
                row = (index, lineno, self._item_id(item), outcome, code, error)
            elif index in bad:
                error = f"line {lineno}: {problem_of(kind, item)}"
                row = (index, lineno, self._bad_item_id(item), Outcome.FAILED.value, None, error)
            elif in_flight is not None and index in in_flight:
                cmid = line_message_id(item, self.scan.digest)
                row = (index, lineno, cmid, Outcome.UNKNOWN.value, None, _IN_FLIGHT_ERROR)
            elif index in repeats:
                repeat = repeats[index]
                cmid = line_message_id(item, self.scan.digest)
                if repeat.identical:
                    # Resolved when written, after its first position: see _resolve.
                    yield (index, lineno, cmid, _REPEAT, None, None)
                    continue
                error = _repeat_error(repeat, "is a different message with the same id")
                row = (index, lineno, cmid, Outcome.FAILED.value, None, error)
            else:
                continue
            counts[row[3]] += 1
            yield row

    def _item_id(self, item: bytes) -> str | None:
        if self.command.kind == "line":
            return line_message_id(item, self.scan.digest)
        return item.decode("ascii")

    def _bad_item_id(self, item: bytes) -> str | None:
        """The report id of a bad line: what it holds, with phone numbers masked."""
        if self.command.kind == "line":
            cmid = line_message_id(item, self.scan.digest)
            return None if cmid is None else masked_id(cmid.encode("utf-8", "replace"))
        return masked_id(item)

    def _convert(self, item: bytes) -> Any:
        """A checked input line as the bulk call takes it."""
        return (
            line_message(item, self.scan.digest)
            if self.command.kind == "line"
            else item.decode("ascii")
        )

    def _feed(self) -> Iterator[tuple[int, int, bytes]]:
        """The items to send, with their input positions, in input order."""
        assert self.input is not None
        done = self.journal.done.cursor() if self.journal is not None else None
        bad = self.scan.invalid.cursor()
        held = self._in_flight().cursor() if not self.options.resend_unknown else None
        repeats = self._repeats
        for index, lineno, item in self.input.items(self.lo, self.hi):
            if (done is not None and index in done) or index in bad:
                continue
            if held is not None and index in held:
                continue
            if repeats and index in repeats:
                continue
            yield index, lineno, item

    def _stop_asked(self) -> bool:
        return self._stopping or (self._finishing is not None and self._finishing.is_set())

    async def _send(self, client: Any) -> None:
        cmd, opts = self.command, self.options
        options: BulkOptions = {
            "concurrency": opts.concurrency,
            "abort": self._abort,
            "finish": self._finishing,
        }
        if self.journal is not None and not cmd.resend_safe:
            options["before_send"] = self._before_send
        size = max(MIN_SEGMENT, cmd.per_request * opts.concurrency * SEGMENT_REQUESTS)
        feed = self._feed()
        remaining = self.pending
        while remaining > 0 and not self._stop_asked():
            segment = self._segment = _Segment(feed, min(size, remaining), self._convert)
            remaining -= len(segment)
            # Stopped (Ctrl-C), the bulk call still reports every item of its segment:
            # those it never sent are not_attempted.
            async with cmd.open_stream(client, segment, options) as stream:
                async for chunk in stream.chunks():
                    self._finished(chunk, segment)
                self.batches.extend(b.batch_id for b in stream.report.batches)
                self.extra_items += stream.report.extra_items
        self._report_not_sent(feed)

    def _report_not_sent(self, feed: Iterator[tuple[int, int, bytes]]) -> None:
        """Stopped early: the items of the segments never started, not_attempted."""
        rows: list[Row] = []
        value = Outcome.NOT_ATTEMPTED.value
        for index, lineno, item in feed:
            rows.append((index, lineno, self._item_id(item), value, None, _NOT_SENT_ERROR))
            if len(rows) >= _ROWS_PER_WRITE:
                self.counts[value] += len(rows)
                self._write(rows)
                rows = []
        self.counts[value] += len(rows)
        self._write(rows)

    def _before_send(self, stream_positions: Sequence[int]) -> None:
        """LINE: journal (fsync'd) the positions a request carries before it leaves."""
        assert self.journal is not None
        assert self._segment is not None
        positions = self._segment.positions
        ranges = ranges_of(positions[p] for p in stream_positions)
        self.journal.record_sent(ranges)
        for start, stop in ranges:
            self._sent_now.add(start, stop)

    def _finished(self, chunk: Any, segment: _Segment) -> None:
        """A request's items are done: journal what is final, then report them all."""
        start = chunk.start
        outcomes: list[Outcome] = chunk.outcomes
        n = len(outcomes)
        where = segment.positions[start : start + n]
        lines = segment.lines[start : start + n]
        ids, codes, errors = chunk.ids, chunk.codes, chunk.errors
        texts: dict[int, str] = {}

        def text(error: BaseException | None) -> str | None:
            if error is None:
                return None
            key = id(error)
            found = texts.get(key)
            if found is None:
                found = texts[key] = str(error)
            return found

        journal = self.journal
        first = outcomes[0]
        if (
            outcomes.count(first) == n
            and codes.count(codes[0]) == n
            and errors.count(None) == n
            and where[-1] - where[0] == n - 1
        ):
            # The common case: one outcome for a run of consecutive positions.
            if journal is not None and is_final(first, None):
                journal.record_done([(where[0], where[-1] + 1)], [(n, first.value, codes[0], None)])
            value, code = first.value, codes[0]
            rows: list[Row] = [(where[i], lines[i], ids[i], value, code, None) for i in range(n)]
            self.counts[first.value] += n
            if first is Outcome.FAILED:
                self.retryable += n
                for p in self._firsts.intersection(where) if self._firsts else ():
                    self._first_kind[p] = "retryable"
            self._write(rows)
            return
        rows = [
            (where[i], lines[i], ids[i], outcomes[i].value, codes[i], text(errors[i]))
            for i in range(n)
        ]
        final = [is_final(outcomes[i], errors[i]) for i in range(n)]
        if journal is not None:
            done = [i for i in range(n) if final[i]]
            if done:
                journal.record_done(ranges_of(where[i] for i in done), _runs(rows[i] for i in done))
            if not self.command.resend_safe and self._sent_now:
                self._withdraw_unsent(where, outcomes, final)
        self.counts.update(outcomes[i].value for i in range(n))
        firsts = self._firsts
        for i in range(n):
            if final[i]:
                continue
            kind = ""
            if outcomes[i] is Outcome.FAILED:
                self.retryable += 1
                kind = "retryable"
            elif outcomes[i] is Outcome.UNKNOWN and isinstance(errors[i], BulkInterruptedError):
                self.interrupted += 1
                kind = "interrupted"
            if firsts and where[i] in firsts:
                self._first_kind[where[i]] = kind
        self._write(rows)

    def _withdraw_unsent(
        self, where: Sequence[int], outcomes: Sequence[Outcome], final: Sequence[bool]
    ) -> None:
        """LINE: positions this run journaled as sent whose request provably did not
        reach 8x8 (failed as a whole with a refusal, or never sent after all) are
        withdrawn, so that a re-run sends them. Positions an earlier run left in
        flight stay held: that earlier request may have been delivered."""
        assert self.journal is not None
        sent_now, before = self._sent_now, self._sent_before
        unsent = [
            p
            for p, outcome, done in zip(where, outcomes, final, strict=True)
            if not done and outcome is not Outcome.UNKNOWN and p in sent_now and p not in before
        ]
        if unsent:
            self.journal.record_unsent(ranges_of(sorted(unsent)))

    # ------------------------------------------------------------------ ending

    def _finish(self, elapsed: float, requests: int, retries: int) -> int:
        cmd, opts = self.command, self.options
        items = self.hi - self.lo
        accounted = sum(self.counts.values())
        # Not reported at all, never sent (not_attempted), or cut short by Ctrl-C
        # (unknown): what a resumed run does. Each item is counted once.
        unfinished = items - accounted + self.counts[Outcome.NOT_ATTEMPTED.value]
        unfinished += self.interrupted
        if unfinished:
            code = EXIT_INCOMPLETE
        elif self.retryable:
            code = EXIT_REQUESTS_FAILED
        elif all(o in _SUCCESSFUL_VALUES for o, n in self.counts.items() if n):
            code = EXIT_OK
        else:
            code = EXIT_NOT_ALL_SUCCEEDED
        if opts.quiet:
            return code
        notes: list[str] = []
        if self.journal is not None:
            resumed = self._done_count()
            notes.append(
                f"journal {opts.journal}: {resumed:,} items finished by earlier runs"
                if resumed else f"journal {opts.journal}"
            )  # fmt: skip
        if opts.report is not None and opts.report != "-":
            notes.append(f"report {opts.report}")
        if self.batches:
            shown = ", ".join(self.batches[:3])
            more = f" and {len(self.batches) - 3:,} more" if len(self.batches) > 3 else ""
            notes.append(f"LINE batchIds: {shown}{more}")
        if self._order is not None and self._order.late:
            notes.append(
                f"{plural(self._order.late, 'report record')} written out of input order: "
                "a request took long while more than "
                f"{reorder_bound(cmd.per_request, opts.concurrency):,} later records waited"
            )
        if self.extra_items:
            notes.append(f"{plural(self.extra_items, 'id')} answered that were not asked for")
        if self.retryable:
            again = (
                "a re-run with the same --journal sends them again"
                if opts.journal else "fix the cause and run again (with --journal, a re-run "
                "sends only those)"
            )  # fmt: skip
            notes.append(
                f"{plural(self.retryable, 'item')} failed because the request failed (not an "
                f"answer about the item); {again}"
            )
        if code == EXIT_INCOMPLETE:
            resume = (
                "re-run with the same --journal to resume"
                if opts.journal else "use --journal to make a job resumable"
            )  # fmt: skip
            notes.append(f"incomplete: {plural(unfinished, 'item')} not processed; {resume}")
        elif code == EXIT_NOT_ALL_SUCCEEDED:
            failed = sum(n for o, n in self.counts.items() if o not in _SUCCESSFUL_VALUES)
            notes.append(f"{plural(failed, 'item')} did not succeed" + (
                " (see the report)" if opts.report else "; --report PATH lists them"
            ))  # fmt: skip
        say(
            format_summary(
                title=f"aiomsg {cmd.name}",
                counts=self.counts,
                items=items,
                done=items - unfinished,
                requests=requests,
                retries=retries,
                elapsed=elapsed,
                notes=notes,
            )
        )
        return code

    # ------------------------------------------------------------------ dry run

    async def _dry_run(self) -> int:
        cmd = self.command
        try:
            client_cm = cmd.open_client(True)
        except (ConfigurationError, ValidationError) as exc:
            raise UsageError(str(exc)) from None
        async with client_cm as client:  # never sends: it only checks the arguments
            try:
                cmd.open_stream(client, (), {})
            except ValidationError as exc:
                raise UsageError(str(exc)) from None
        items = self.hi - self.lo
        bad = self.scan.invalid.count_in(self.lo, self.hi)
        done = self._done_count()
        held = self._held_count()
        out = [f"dry run of 'aiomsg {cmd.name}': nothing is sent"]
        out.append(f"input {self._input_name()}: {self.scan.items:,} items" + (
            f"; shard {self.options.shard[0]}/{self.options.shard[1]} is items "
            f"{self.lo:,}-{self.hi - 1:,} ({items:,})" if self.options.shard else ""
        ))  # fmt: skip
        if done:
            out.append(f"{done:,} items already finished (journal): reported, not sent")
        if held:
            out.append(f"{held:,} LINE messages in flight in an earlier run: reported unknown, "
                       "not sent (--resend-unknown sends them)")  # fmt: skip
        if bad:
            out.append(f"{plural(bad, 'bad line')} would be reported failed (--skip-invalid):")
            out += [f"  {p}" for p in self.scan.problems if self.lo <= p.index < self.hi]
        if self._repeats:
            conflicts = sum(1 for r in self._repeats.values() if not r.identical)
            out.append(
                f"{plural(len(self._repeats), 'message')} repeat an earlier clientMessageId: "
                f"not sent ({conflicts:,} of them a different message, reported failed)"
            )
        per = cmd.per_request
        requests = math.ceil(self.pending / per)
        unit = f"{cmd.noun}s" if per > 1 else cmd.noun
        each = f"up to {per:,} {unit} each" if per > 1 else f"one {unit} each"
        out.append(f"would send {plural(self.pending, cmd.noun)} in {plural(requests, 'request')}"
                   f" ({each})")  # fmt: skip
        for i, group in enumerate(_groups(self._plan_feed(), per)):
            if i == _PLAN_SHOWN:
                out.append(f"  ... and {requests - _PLAN_SHOWN:,} more requests")
                break
            first, last = group[0][0], group[-1][0]
            if "{id}" in cmd.url:
                out.append(
                    f"  {cmd.method} {cmd.url.replace('{id}', group[0][1])}  (item {first:,})"
                )
            else:
                span = f"item {first:,}" if first == last else f"items {first:,}-{last:,}"
                out.append(f"  {cmd.method} {cmd.url}  {len(group):,} {unit} ({span})")
        sys.stdout.write("\n".join(out) + "\n")
        return EXIT_NOT_ALL_SUCCEEDED if bad else EXIT_OK

    def _plan_feed(self) -> Iterator[tuple[int, str]]:
        line = self.command.kind == "line"
        for index, _, item in self._feed():
            yield index, "" if line else item.decode("ascii")

    def _input_name(self) -> str:
        assert self.input is not None
        return self.input.shown_name


def _repeat_error(repeat: Repeat, why: str) -> str:
    return (
        f"not sent: line {repeat.first_line} has this clientMessageId and {why} (a "
        "clientMessageId is sent at most once per job)"
    )


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _groups(feed: Iterator[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    while group := list(islice(feed, size)):
        yield group


def _runs(rows: Iterable[Row]) -> list[Run]:
    """Consecutive records with the same outcome, code and error, counted."""
    runs: list[Run] = []
    last: tuple[str, int | None, str | None] | None = None
    count = 0
    for _, _, _, outcome, code, error in rows:
        key = (outcome, code, error)
        if key == last:
            count += 1
            continue
        if last is not None:
            runs.append((count, *last))
        last, count = key, 1
    if last is not None:
        runs.append((count, *last))
    return runs


def _shard_range(items: int, shard: tuple[int, int] | None) -> tuple[int, int]:
    """The positions of shard K of N: the K-th of N nearly equal consecutive slices."""
    if shard is None:
        return 0, items
    k, n = shard
    return (k - 1) * items // n, k * items // n
