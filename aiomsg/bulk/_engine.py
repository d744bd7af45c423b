"""The engine: reads the input in chunks, runs them on a bounded pool of workers."""

from __future__ import annotations

import logging
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Sequence,
)
from itertools import islice
from typing import Final, Generic, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from .._errors import ValidationError
from ._chunk import Chunk
from ._options import Event, ItemsInput, check_concurrency, check_deadline, total_of
from ._results import ChunkResult, Counts, Outcome, Progress

T = TypeVar("T")
logger: Final = logging.getLogger("aiomsg")


class _Source(Generic[T]):
    """Hands out consecutive chunks of the input to workers, reading it lazily."""

    def __init__(self, items: ItemsInput[T], size: int) -> None:
        self._sync: Iterator[T] | None = None
        self._async: AsyncIterator[T] | None = None
        # A list is sliced rather than iterated: one C-level copy per chunk.
        self._list: list[T] | None = items if type(items) is list else None
        self._size = size
        self._next = 0
        self._lock = anyio.Lock()
        self._partial: list[T] = []
        self.exhausted = False
        self.error: Exception | None = None
        try:
            if isinstance(items, AsyncIterable):
                self._async = aiter(items)
            else:
                self._sync = iter(items)
        except Exception as exc:
            self.fail(exc)

    def fail(self, exc: Exception) -> None:
        """The input cannot be read at all (its ``__iter__`` or ``__len__`` raised):
        nothing is read, and the job ends with ``exc`` as its input error."""
        self._sync, self._async, self._list = iter(()), None, None
        self.exhausted = True
        self.error = exc

    async def take(self) -> tuple[int, list[T]] | None:
        """The next chunk, or None at the end."""
        if self._sync is not None:
            # Reading a plain iterable never awaits, so no other worker can interleave.
            return self._hand_out(self._take_sync() if not self.exhausted else [])
        async with self._lock:
            if self.exhausted:
                return None
            return self._hand_out(await self._take_async())

    def take_read(self) -> tuple[int, list[T]] | None:
        """After the job stopped: the items already read but not handed out (an async
        input cut short mid-chunk), reading nothing more."""
        batch, self._partial = self._partial, []
        if not batch:
            return None
        start = self._next
        self._next += len(batch)
        return start, batch

    @property
    def unread(self) -> bool:
        """Whether the input may hold items never read."""
        if self._list is not None:
            return self._next < len(self._list)
        return not self.exhausted

    def _hand_out(self, batch: list[T]) -> tuple[int, list[T]] | None:
        if len(batch) < self._size:
            self.exhausted = True
        if not batch:
            return None
        start = self._next
        self._next += len(batch)
        return start, batch

    def _take_sync(self) -> list[T]:
        assert self._sync is not None
        listed = self._list
        if listed is not None:
            start = self._next
            return listed[start : start + self._size]
        batch: list[T] = []
        try:
            batch.extend(islice(self._sync, self._size))  # keeps what came before a raise
        except Exception as exc:
            # The input itself failed (a bad file, a generator that raised): what was
            # read is processed and reported; reading stops here.
            self.error = exc
        return batch

    async def _take_async(self) -> list[T]:
        assert self._async is not None
        # Items read before a cancellation are kept for the next take(): never lost.
        batch, self._partial = self._partial, []
        try:
            while len(batch) < self._size:
                batch.append(await anext(self._async))
        except StopAsyncIteration:
            pass
        except Exception as exc:
            self.error = exc
        except BaseException:
            self._partial = batch
            raise
        return batch


Process = Callable[[Chunk[T]], Awaitable[None]]


class _Job(Generic[T]):
    def __init__(
        self,
        items: ItemsInput[T],
        process: Process[T],
        *,
        chunk_size: int,
        concurrency: int,
        stop_on_failure: bool,
        abort: Event | None,
        deadline: float | None,
        on_progress: Callable[[Progress], None] | None,
        before_send: Callable[[Sequence[int]], None] | None = None,
        finish: Event | None = None,
        id_of: Callable[[T], str | None],
    ) -> None:
        check_concurrency(concurrency)
        deadline = check_deadline(deadline)
        for name, event in (("abort", abort), ("finish", finish)):
            if event is not None and not callable(getattr(event, "wait", None)):
                raise ValidationError(name, "has no wait() method", "an anyio or asyncio Event")
        self._source = _Source(items, chunk_size)
        try:
            self.total = total_of(items)
        except Exception as exc:
            self.total = None
            self._source.fail(exc)
        self._process = process
        self._concurrency = concurrency
        self._stop_on_failure = stop_on_failure
        self._abort = abort
        self._deadline = deadline
        self._on_progress = on_progress
        self._before_send = before_send
        self._finish = finish
        # The id an item never sent is reported under (the provider's).
        self._id_of = id_of
        self.halted = finish is not None and bool(finish.is_set())
        # Scopes of workers waiting for input: finish cancels them (an idle async
        # input must not keep a finishing job alive).
        self._taking: set[anyio.CancelScope] = set()
        self._leftovers: list[ChunkResult] = []
        self._done = 0
        self._requests = 0
        self._counts: Counts = Counts.zero()
        self.stopped_early = self.halted

    async def run(self, send: MemoryObjectSendStream[ChunkResult]) -> None:
        async with send:
            async with anyio.create_task_group() as outer:
                with anyio.CancelScope() as workers:
                    if self._deadline is not None:
                        workers.deadline = anyio.current_time() + self._deadline
                    self._workers = workers
                    if self._abort is not None:
                        outer.start_soon(self._watch_abort, self._abort, workers)
                    if self._finish is not None:
                        outer.start_soon(self._watch_finish, self._finish)
                    async with anyio.create_task_group() as tg:
                        for _ in range(self._concurrency):
                            tg.start_soon(self._worker, send)
                if workers.cancelled_caught or workers.cancel_called:
                    self.stopped_early = True
                outer.cancel_scope.cancel()
            # Chunks finished or cut short while the stream was full, and items read
            # but never handed out: every position read gets its outcome. The rest
            # of the input is left unread (reading it could take as long as sending).
            if self.stopped_early:
                self.settle_read()
            while self._leftovers:
                result = self._leftovers[0]
                if not result.taken:
                    await self._emit(send, result)
                del self._leftovers[0]

    def settle_read(self) -> None:
        """Items read but never handed to a worker become not_attempted leftovers."""
        taken = self._source.take_read()
        if taken is not None:
            chunk = Chunk(*taken)
            chunk.ids = list(map(self._id_of, chunk.items))
            chunk.interrupt()
            self._leftovers.append(chunk.result())

    @property
    def unread_input(self) -> bool:
        return self._source.unread

    def leftovers(self) -> list[ChunkResult]:
        """Results cut short or finished but never handed to the reader; emptied."""
        found, self._leftovers = self._leftovers, []
        return found

    async def _watch_finish(self, finish: Event) -> None:
        await finish.wait()
        self.stopped_early = True
        self.halted = True
        for scope in self._taking:
            scope.cancel()

    def _is_halted(self) -> bool:
        return self.halted

    @property
    def input_error(self) -> Exception | None:
        return self._source.error

    async def _watch_abort(self, abort: Event, workers: anyio.CancelScope) -> None:
        await abort.wait()
        self.stopped_early = True
        workers.cancel()

    async def _worker(self, send: MemoryObjectSendStream[ChunkResult]) -> None:
        # stopped_early: stop_on_failure, abort or finish said so. Reading a plain
        # iterable does not await, so the loop must look before taking more.
        while not (self.halted or self.stopped_early):
            if self._finish is None:
                taken = await self._source.take()
            else:
                with anyio.CancelScope() as scope:
                    self._taking.add(scope)
                    try:
                        taken = await self._source.take()
                    finally:
                        self._taking.discard(scope)
                if scope.cancelled_caught:
                    return  # finishing: what was being read stays in the source
            if taken is None:
                return
            chunk = Chunk(*taken)
            chunk.before_send = self._before_send
            chunk.stopping = self._is_halted
            if self.halted:  # finish came while this chunk was being read
                chunk.ids = list(map(self._id_of, chunk.items))
                chunk.interrupt()
                self._leftovers.append(chunk.result())
                return
            try:
                await self._process(chunk)
            except Exception as exc:
                # Not a provider answer (those are handled per item): never lose the
                # chunk's items to it; they fail with the error and the job goes on.
                chunk.fail_unfinished(exc)
            except BaseException:
                chunk.interrupt()
                result = chunk.result()
                if chunk.on_result is not None:
                    chunk.on_result(result)
                self._leftovers.append(result)
                raise
            chunk.in_flight = ()
            if self.halted:
                chunk.interrupt()  # items it did not get to: not_attempted, with why
            result = chunk.result()
            if chunk.on_result is not None:
                chunk.on_result(result)
            if self._stop_on_failure and Outcome.FAILED in result.outcomes:
                self.stopped_early = True
                self._workers.cancel()
            try:
                await self._emit(send, result)
            except BaseException:
                self._leftovers.append(result)
                raise

    async def _emit(self, send: MemoryObjectSendStream[ChunkResult], r: ChunkResult) -> None:
        try:
            send.send_nowait(r)  # room in the buffer: no trip through the event loop
        except (anyio.WouldBlock, anyio.BrokenResourceError):
            # Full, or the reader has gone (its block was left, which cancels this
            # job): the awaiting send waits for room, or delivers that cancellation.
            await send.send(r)
        self._done += len(r)
        self._requests += r.requests
        if self._on_progress is not None:
            for outcome, n in r.counts().items():
                self._counts[outcome] += n
            progress = Progress(self._done, self.total, Counts(self._counts), self._requests)
            try:
                self._on_progress(progress)
            except Exception:
                # A faulty callback must not cost the job (and its report) its items.
                logger.exception("on_progress raised; the job goes on")
