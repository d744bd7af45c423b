"""Running one bulk job: send what the plan leaves, journal it, report every item.

What is left to send (``Plan.feed``) is streamed through the library's bulk calls
in segments; each finished request is journaled, then reported (records in input
order, see ``InputOrder``), and tallied.

What is final: the journal records an item as finished only when the provider
answered about that item (accepted, rejected, cancelled, not_found, stopped ...)
or when the item itself is bad (a ``ValidationError``). An item whose request
failed as a whole (a 401, a 5xx or 429 after the retries, a connection error, a
404 without 8x8's "not found" code, which is a wrong URL) is reported ``failed``
and left for a re-run to send; so is an item never sent (``not_attempted``). A
LINE request that may have reached 8x8 is ``unknown`` and held on a re-run unless
``--resend-unknown``.

Segments: the input is sent as a series of streams of at most a few hundred
thousand items each, because a stream numbers its items from 0 and each segment
keeps the input position of every item it carries (a compact array); memory then
stays bounded whatever the input size, and skipped positions (finished earlier,
bad lines) cost nothing.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Final, Generic

from aiomsg import Outcome, ValidationError
from aiomsg.bulk import BulkInterruptedError, BulkOptions, ChunkResult

from .console import ProgressBar, say
from .dryrun import dry_run
from .exits import UsageError
from .interrupt import Interrupt
from .journal import Run
from .line_ids import PENDING_REPEAT, Settlement
from .operation import C, I, JobOptions, Operation
from .plan import Plan
from .ranges import IndexRanges, ranges_of
from .report import InputOrder, ReportError, ReportWriter, Row, open_report, reorder_bound
from .summary import Tally, summary

__all__ = ["BulkJob", "is_final"]

#: Requests' worth of items per stream (see the module docstring), at least this many.
SEGMENT_REQUESTS: Final = 4
MIN_SEGMENT: Final = 50_000
#: Report records buffered before a write when no request is involved.
_ROWS_PER_WRITE: Final = 2_000

_NOT_FINAL: Final = frozenset({Outcome.UNKNOWN, Outcome.NOT_ATTEMPTED})
_NOT_SENT_ERROR: Final = "the job stopped before this item was sent"


class _Segment(Generic[I]):
    """Up to ``size`` pending items handed to one bulk stream, remembering the input
    position of each, since the stream numbers its items from 0."""

    def __init__(
        self, feed: Iterator[tuple[int, int, bytes]], size: int, convert: Callable[[bytes], I]
    ) -> None:
        self._feed = feed
        self._size = size
        self._convert = convert
        self.positions = array("q")
        self.lines = array("q")

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[I]:
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


def _settlement(outcome: Outcome, error: BaseException | None) -> Settlement:
    if is_final(outcome, error):
        return "final"
    if outcome is Outcome.FAILED:
        return "retryable"
    if outcome is Outcome.UNKNOWN and isinstance(error, BulkInterruptedError):
        return "interrupted"
    return ""


class BulkJob(Generic[C, I]):
    """Runs one operation over one input. ``prepare()`` (synchronous: reads and
    checks the input, opens the journal), then ``await run()``, then ``close()``."""

    def __init__(self, operation: Operation[C, I], options: JobOptions) -> None:
        self.operation: Operation[C, I] = operation
        self.options = options
        self.plan: Plan | None = None
        self.tally = Tally()
        self._report: ReportWriter | None = None
        self._order: InputOrder | None = None
        self._bar: ProgressBar | None = None
        self._interrupt: Interrupt | None = None
        self._segment: _Segment[I] | None = None
        # LINE positions this run journaled as sent (so a request that provably did
        # not reach 8x8 can be withdrawn).
        self._sent_now = IndexRanges()

    def prepare(self) -> None:
        """Read and check the input and open the journal; ``UsageError`` if unusable."""
        self.plan = Plan.make(self.operation, self.options)

    def close(self) -> None:
        if self.plan is not None:
            self.plan.close()

    async def run(self) -> int:
        plan = self.plan
        assert plan is not None
        if self.options.dry_run:
            return await dry_run(self.operation, plan)
        op, opts = self.operation, self.options
        async with op.checked_client(dry_run=False) as client:
            try:
                self._report = open_report(opts.report)
            except ReportError as exc:
                raise UsageError(str(exc)) from None
            started = time.monotonic()
            bar = self._bar = ProgressBar(
                total=plan.items, initial=0, desc=op.name, enabled=not opts.quiet
            )
            interrupt = self._interrupt = Interrupt(bar.write)
            interrupt.install()
            complete = False
            bound = reorder_bound(op.per_request, opts.concurrency)
            self._order = InputOrder(self._emit, plan.lo, self._settled(plan), bound)
            try:
                self._order.flush()
                await self._send(client, plan, interrupt)
                self._order.finish()
                complete = True
            finally:
                interrupt.restore()
                bar.close()
                # Interrupted (exit 3) still covers every item: put it in place.
                self._report.close(complete=complete)
            code = self.tally.exit_code(plan.items)
            if not opts.quiet:
                stats = client.stats
                self._say_summary(plan, time.monotonic() - started, stats.requests, stats.retries)
            return code

    def _say_summary(self, plan: Plan, elapsed: float, requests: int, retries: int) -> None:
        say(
            summary(
                self.tally,
                name=self.operation.name,
                options=self.options,
                items=plan.items,
                resumed=plan.done_count() if plan.journal is not None else 0,
                late=self._order.late if self._order is not None else 0,
                reorder_bound=reorder_bound(self.operation.per_request, self.options.concurrency),
                requests=requests,
                retries=retries,
                elapsed=elapsed,
            )
        )

    # ------------------------------------------------------------------ records

    def _settled(self, plan: Plan) -> Iterator[Row]:
        """The plan's settled records, tallied as they are pulled (an identical
        repeat is tallied when resolved)."""
        tally = self.tally
        for row in plan.settled():
            if row[3] != PENDING_REPEAT:
                tally.add(row[3])
            yield row

    def _emit(self, rows: list[Row]) -> None:
        """Records in input order: to the report, and counted on the progress bar."""
        assert self._report is not None
        assert self._bar is not None
        assert self.plan is not None
        repeats = self.plan.repeats
        if repeats.firsts:
            resolved: list[Row] = []
            for row in rows:
                row, settlement = repeats.resolve(row)
                if settlement is not None:
                    self.tally.add(row[3], settlement)
                resolved.append(row)
            rows = resolved
        self._report.write(rows)
        self._bar.update(len(rows))

    def _write(self, rows: Sequence[Row]) -> None:
        assert self._order is not None
        self._order.add(rows)

    # ------------------------------------------------------------------ sending

    async def _send(self, client: C, plan: Plan, interrupt: Interrupt) -> None:
        op, opts = self.operation, self.options
        options: BulkOptions = {
            "concurrency": opts.concurrency,
            "abort": interrupt.abort,
            "finish": interrupt.finish,
        }
        if plan.journal is not None and not op.resend_safe:
            options["before_send"] = self._before_send
        size = max(MIN_SEGMENT, op.per_request * opts.concurrency * SEGMENT_REQUESTS)
        scope = plan.scan.digest
        convert = op.convert

        def item(line: bytes) -> I:
            return convert(line, scope)

        feed = plan.feed()
        remaining = plan.pending
        while remaining > 0 and not interrupt.stopping:
            segment = self._segment = _Segment(feed, min(size, remaining), item)
            remaining -= len(segment)
            # Stopped (Ctrl-C), the bulk call still reports every item of its segment:
            # those it never sent are not_attempted.
            stream: Iterable[I] = segment
            async with op.open_stream(client, stream, options) as outcomes:
                async for chunk in outcomes.chunks():
                    self._finished(chunk, segment)
                self.tally.batches.extend(b.batch_id for b in outcomes.report.batches)
                self.tally.extra_items += outcomes.report.extra_items
        self._report_not_sent(plan, feed)

    def _report_not_sent(self, plan: Plan, feed: Iterator[tuple[int, int, bytes]]) -> None:
        """Stopped early: the items of the segments never started, not_attempted."""
        rows: list[Row] = []
        value = Outcome.NOT_ATTEMPTED.value
        for index, lineno, item in feed:
            rows.append((index, lineno, plan.item_id(item), value, None, _NOT_SENT_ERROR))
            if len(rows) >= _ROWS_PER_WRITE:
                self.tally.add(value, n=len(rows))
                self._write(rows)
                rows = []
        self.tally.add(value, n=len(rows))
        self._write(rows)

    def _before_send(self, stream_positions: Sequence[int]) -> None:
        """LINE: journal (fsync'd) the positions a request carries before it leaves."""
        assert self.plan is not None
        assert self.plan.journal is not None
        assert self._segment is not None
        positions = self._segment.positions
        ranges = ranges_of(positions[p] for p in stream_positions)
        self.plan.journal.record_sent(ranges)
        for start, stop in ranges:
            self._sent_now.add(start, stop)

    def _finished(self, chunk: ChunkResult, segment: _Segment[I]) -> None:
        """A request's items are done: journal what is final, then report them all."""
        assert self.plan is not None
        start = chunk.start
        outcomes = chunk.outcomes
        n = len(outcomes)
        where = segment.positions[start : start + n]
        lines = segment.lines[start : start + n]
        ids, codes, errors = chunk.ids, chunk.codes, chunk.errors
        journal = self.plan.journal
        repeats = self.plan.repeats
        first = outcomes[0]
        if (
            outcomes.count(first) == n
            and codes.count(codes[0]) == n
            and errors.count(None) == n
            and where[-1] - where[0] == n - 1
        ):
            # The common case: one outcome for a run of consecutive positions.
            settlement = _settlement(first, None)
            if journal is not None and settlement == "final":
                journal.record_done([(where[0], where[-1] + 1)], [(n, first.value, codes[0], None)])
            value, code = first.value, codes[0]
            rows: list[Row] = [(where[i], lines[i], ids[i], value, code, None) for i in range(n)]
            self.tally.add(value, settlement, n)
            if settlement == "retryable":
                for p in repeats.firsts.intersection(where) if repeats.firsts else ():
                    repeats.settle(p, settlement)
            self._write(rows)
            return
        texts: dict[int, str] = {}

        def text(error: BaseException | None) -> str | None:
            if error is None:
                return None
            key = id(error)
            found = texts.get(key)
            if found is None:
                found = texts[key] = str(error)
            return found

        rows = [
            (where[i], lines[i], ids[i], outcomes[i].value, codes[i], text(errors[i]))
            for i in range(n)
        ]
        settlements = [_settlement(outcomes[i], errors[i]) for i in range(n)]
        if journal is not None:
            done = [i for i in range(n) if settlements[i] == "final"]
            if done:
                journal.record_done(ranges_of(where[i] for i in done), _runs(rows[i] for i in done))
            if not self.operation.resend_safe and self._sent_now:
                self._withdraw_unsent(where, outcomes, settlements)
        for i in range(n):
            self.tally.add(outcomes[i].value, settlements[i])
            if settlements[i] != "final" and repeats.firsts:
                repeats.settle(where[i], settlements[i])
        self._write(rows)

    def _withdraw_unsent(
        self, where: Sequence[int], outcomes: Sequence[Outcome], settlements: Sequence[Settlement]
    ) -> None:
        """LINE: positions this run journaled as sent whose request provably did not
        reach 8x8 (failed as a whole with a refusal, or never sent after all) are
        withdrawn, so that a re-run sends them. Positions an earlier run left in
        flight stay held: that earlier request may have been delivered."""
        assert self.plan is not None
        assert self.plan.journal is not None
        sent_now, before = self._sent_now, self.plan.sent_before
        unsent = [
            p
            for p, outcome, settlement in zip(where, outcomes, settlements, strict=True)
            if settlement != "final"
            and outcome is not Outcome.UNKNOWN
            and p in sent_now
            and p not in before
        ]
        if unsent:
            self.plan.journal.record_unsent(ranges_of(sorted(unsent)))


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
