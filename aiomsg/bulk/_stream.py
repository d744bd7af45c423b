"""A running job's outcomes as an ``async with`` block, and its report."""

from __future__ import annotations

from collections.abc import (
    AsyncIterator,
    Callable,
    Iterator,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from .._errors import ValidationError
from ._engine import Process, _Job
from ._options import (
    DEFAULT_CONCURRENCY,
    BulkOptions,
    ItemsInput,
    check_concurrency,
    check_items,
    check_options,
)
from ._results import BulkInputError, BulkReport, ChunkResult, ItemOutcome

T = TypeVar("T")

if TYPE_CHECKING:
    from typing_extensions import Unpack


class OutcomeStream(AsyncIterator[ItemOutcome]):
    """Outcomes as chunks finish (not in input order: each carries its ``index``).

    ``report`` accumulates totals as the stream is read (the ``report`` option's
    object when given); when the block is left before the end (an error, a
    cancellation, a ``break``), it also takes in what the job had finished or cut
    short but the reader had not read, so it accounts for every item read.
    ``chunks()`` iterates whole chunk results instead of single outcomes, for
    consumers that write in bulk.
    """

    def __init__(
        self,
        receive: MemoryObjectReceiveStream[ChunkResult],
        job: _Job[Any],
        report: BulkReport | None = None,
    ) -> None:
        self._receive = receive
        self._job = job
        self._current: Iterator[ItemOutcome] = iter(())
        self.report = BulkReport(keep_outcomes=False) if report is None else report
        self._ended = False

    def _settle(self) -> None:
        """The block is being left and the job has stopped: take every result not
        read yet into the report, so it names every item read."""
        if self._ended:
            return
        self._ended = True
        report = self.report
        report.complete = False
        while True:
            try:
                report._add(self._receive.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                break
        job = self._job
        job.settle_read()
        for result in job.leftovers():
            if not result.taken:
                report._add(result)
        report.unread_input = job.unread_input

    @property
    def total(self) -> int | None:
        """The number of input items, when the input has a length."""
        return self._job.total

    def __aiter__(self) -> AsyncIterator[ItemOutcome]:
        # An async generator's steps run in C: a third cheaper per item than
        # __anext__, which builds a coroutine for every item. Both read the same
        # position, so they can be mixed.
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ItemOutcome]:
        while True:
            for item in self._current:
                yield item
            try:
                result = await self._next_chunk()
            except StopAsyncIteration:
                return
            self._current = iter(result)

    async def __anext__(self) -> ItemOutcome:
        while True:
            for item in self._current:
                return item
            result = await self._next_chunk()
            self._current = iter(result)

    async def _next_chunk(self) -> ChunkResult:
        try:
            try:
                result = self._receive.receive_nowait()
            except anyio.WouldBlock:
                result = await self._receive.receive()
        except anyio.EndOfStream:
            self._ended = True
            self.report.complete = not self._job.stopped_early
            self.report.unread_input = self._job.unread_input
            error = self._job.input_error
            if error is not None:
                self.report.complete = False
                try:
                    why = f"{type(error).__name__}: {error}"
                except Exception:  # an exception whose __str__ raises too
                    why = type(error).__name__
                raise BulkInputError(
                    f"reading the input failed after {len(self.report):,} items "
                    f"({why}); every item read was processed "
                    "and is in .report",
                    report=self.report,
                ) from error
            raise StopAsyncIteration from None
        self.report._add(result)
        return result

    async def chunks(self) -> AsyncIterator[ChunkResult]:
        """Whole chunk results as they finish (cheaper than one outcome at a time)."""
        while True:
            try:
                yield await self._next_chunk()
            except StopAsyncIteration:
                return


@asynccontextmanager
async def run_bulk(
    items: ItemsInput[T],
    process: Process[T],
    *,
    chunk_size: int,
    field: str = "items",
    id_of: Callable[[T], str | None] | None = None,
    **options: Unpack[BulkOptions],
) -> AsyncIterator[OutcomeStream]:
    """Run a bulk job while the ``async with`` body reads its outcomes.

    Leaving the block early cancels the job: no task outlives the block. ``field``
    names the input in errors; ``id_of`` gives the id of an item never processed.
    """
    check_items(items, field)
    check_options(options)
    concurrency = check_concurrency(options.get("concurrency", DEFAULT_CONCURRENCY))
    job: _Job[T] = _Job(
        items, process, chunk_size=chunk_size, concurrency=concurrency,
        stop_on_failure=options.get("stop_on_failure", False), abort=options.get("abort"),
        deadline=options.get("deadline"), on_progress=options.get("on_progress"),
        before_send=options.get("before_send"), finish=options.get("finish"),
        id_of=id_of or _no_id,
    )  # fmt: skip
    # A small buffer: workers wait (holding no new input) when the reader lags, so
    # memory stays bounded by about 2 x concurrency chunks.
    report = options.get("report")
    if report is not None and (
        not isinstance(report, BulkReport) or report.requests or len(report)
    ):
        raise ValidationError("report", f"is {report!r}", "a new, empty aiomsg.BulkReport")
    send, receive = anyio.create_memory_object_stream[ChunkResult](concurrency)
    stream = OutcomeStream(receive, job, report)
    try:
        async with receive:
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(job.run, send)
                    try:
                        yield stream
                    finally:
                        tg.cancel_scope.cancel()
            finally:
                # Every task has ended: nothing changes under this synchronous pass.
                stream._settle()
    except BaseException as exc:
        # The task group wraps whatever the block raised in an exception group;
        # hand back the one exception itself, as a plain ``async with`` would.
        inner = _single(exc)
        if inner is exc:
            raise
        context, suppress, cause = inner.__context__, inner.__suppress_context__, inner.__cause__
        try:
            raise inner
        finally:  # keep the exception's own chain, not "during handling of the group"
            inner.__context__, inner.__suppress_context__ = context, suppress
            inner.__cause__ = cause


def _single(exc: BaseException) -> BaseException:
    """The one ordinary exception the task group wrapped ``exc`` around, else ``exc``.

    Only the group's own layer is removed: a group the caller raised stays a group.
    Cancellation and other base exceptions are never unwrapped.
    """
    members = getattr(exc, "exceptions", None)
    if isinstance(members, tuple) and len(members) == 1 and isinstance(members[0], Exception):
        return members[0]
    return exc


async def collect(stream_cm: AbstractAsyncContextManager[OutcomeStream]) -> BulkReport:
    """Read a whole ``run_bulk`` stream into a ``BulkReport``."""
    async with stream_cm as stream:
        stream.report.outcomes_kept = True
        async for _ in stream.chunks():
            pass
        return stream.report


def _no_id(item: object) -> str | None:
    return None
