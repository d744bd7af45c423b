"""Bulk jobs: any number of items through bounded concurrent requests, none lost.

A job reads its input lazily in chunks (one request's worth), hands chunks to a
fixed pool of workers (the ``concurrency``), and passes each chunk's per-item
outcomes on as soon as the chunk finishes. Every input position gets exactly one
outcome, whatever happens: invalid items are ``failed`` and never sent, a request
that fails marks its items, an interrupted job marks what was in flight
``unknown`` and what was never sent ``not_attempted``.

The bulk layer never builds a URL: provider modules give it a ``process``
coroutine that fills a ``Chunk`` in place, so a chunk cut short by cancellation
still knows which of its items were finished.
"""

from __future__ import annotations

import enum
import logging
import math
from collections import Counter
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice, repeat
from typing import TYPE_CHECKING, Any, Final, Generic, TypedDict, TypeVar, overload

import anyio
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._errors import AiomsgError, ValidationError

__all__ = [
    "DEFAULT_CONCURRENCY",
    "SUCCESSFUL",
    "BatchRange",
    "BulkInputError",
    "BulkInterruptedError",
    "BulkOptions",
    "BulkReport",
    "Chunk",
    "ChunkResult",
    "Counts",
    "ItemOutcome",
    "Outcome",
    "PackedStrings",
    "Progress",
    "run_bulk",
]

DEFAULT_CONCURRENCY: Final = 8
logger: Final = logging.getLogger("aiomsg")

T = TypeVar("T")
ItemsInput = Iterable[T] | AsyncIterable[T]

if TYPE_CHECKING:
    from typing_extensions import Unpack


class BulkOptions(TypedDict, total=False):
    """Keyword options every bulk call takes.

    ``concurrency``: requests in flight at once (default 8). ``stop_on_failure``:
    stop sending at the first ``failed`` item; the rest become ``not_attempted``.
    ``abort``: an ``anyio.Event`` or ``asyncio.Event``; setting it stops the job the
    same way (in-flight items become ``unknown``). ``deadline``: seconds after which
    the job stops the same way. ``on_progress``: called with a ``Progress`` each
    time a request's items are done. ``before_send``: called with the input
    positions a request carries just before it is sent (a resume journal uses it
    to know which items may have reached the provider if the process dies).
    ``finish``: an event; setting it stops the job gently: no new request is sent,
    requests in flight finish, and the rest become ``not_attempted`` (set ``abort``
    as well to cut the requests in flight short). A stopped job reads no more of
    its input: items it never read are not in the report (see
    ``BulkReport.unread_input``). ``report``: a ``BulkReport`` the job fills as it
    goes, which the caller keeps: if the call is cancelled from outside, it still
    holds every item read (those cut short ``unknown`` or ``not_attempted``) and
    the LINE ``batchId``s created (the non-streaming call returns it; the
    streaming form's ``.report`` is it).
    """

    concurrency: int
    stop_on_failure: bool
    abort: Any
    deadline: float | None
    on_progress: Callable[[Progress], None] | None
    before_send: Callable[[Sequence[int]], None] | None
    finish: Any
    report: BulkReport


class Outcome(str, enum.Enum):
    """What became of one input item."""

    ACCEPTED = "accepted"
    """A LINE message 8x8 queued."""
    REJECTED = "rejected"
    """A LINE message 8x8 refused inside a 200 answer (``code`` has its errorCode)."""
    CANCELLED = "cancelled"
    """A scheduled message was cancelled (``cancelledCount`` >= 1)."""
    NOT_CANCELLED = "not_cancelled"
    """Nothing to cancel: already sent or already cancelled (``cancelledCount`` 0)."""
    NOT_FOUND = "not_found"
    """The provider does not know the id (8x8 404/1300, Revicom 404)."""
    STOPPED = "stopped"
    """Revicom 200: the message will be stopped."""
    MAYBE_STOPPED = "maybe_stopped"
    """Revicom 202: being sent or generating a cascade; it may still go out."""
    NOT_STOPPABLE = "not_stoppable"
    """Revicom 403: being sent or already sent."""
    UNKNOWN = "unknown"
    """The outcome cannot be known: a LINE request that may have been delivered, a
    request cut short, an id missing from the answer, or an unrecognised code."""
    FAILED = "failed"
    """Invalid input (never sent) or a request that failed; ``error`` says why."""
    NOT_ATTEMPTED = "not_attempted"
    """Never sent: the job stopped first (``stop_on_failure``, ``abort``, deadline)."""

    def __str__(self) -> str:
        return self.value


#: Outcomes that count as "did what was asked" for exit codes and summaries.
SUCCESSFUL: Final = frozenset(
    {Outcome.ACCEPTED, Outcome.CANCELLED, Outcome.NOT_CANCELLED, Outcome.STOPPED}
)


class ItemOutcome(msgspec.Struct, frozen=True, gc=False):
    """The outcome of the input item at ``index``.

    ``id`` is the item's id (uuid, umid, or a LINE message's clientMessageId);
    ``provider_id`` the id the provider gave it (a LINE message's umid); ``code`` the
    provider's code (Revicom item code, 8x8 errorCode or error code); ``error`` the
    exception when the item failed or its outcome is unknown.
    """

    # gc=False: outcomes are created by the million and hold no containers, so the
    # cyclic garbage collector need not track them (its passes would grow with them).

    index: int
    id: str | None
    outcome: Outcome
    code: int | None = None
    error: BaseException | None = None
    provider_id: str | None = None

    @property
    def succeeded(self) -> bool:
        """True for ``accepted``, ``cancelled``, ``not_cancelled`` and ``stopped``."""
        return self.outcome in SUCCESSFUL


class BatchRange(msgspec.Struct, frozen=True, gc=False):
    """A LINE ``batchId`` and the input positions ``[start, stop)`` its request held."""

    batch_id: str
    start: int
    stop: int


class BulkInputError(AiomsgError):
    """Reading a bulk call's input raised. Every item read before that was processed
    and is in ``report`` (``complete`` False); ``__cause__`` is the input's error."""

    def __init__(self, message: str, *, report: BulkReport) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_input_error, (str(self), self.report))


def _rebuild_input_error(message: str, report: BulkReport) -> BulkInputError:
    return BulkInputError(message, report=report)


class BulkInterruptedError(AiomsgError):
    """Set as ``ItemOutcome.error`` on items whose request was cut short by the job
    stopping (``abort``, ``deadline``, ``stop_on_failure``) before its answer arrived."""


_INTERRUPTED: Final = "the job stopped before this item's answer arrived"
_NOT_ATTEMPTED_ERROR: Final = "the job stopped before this item was sent"


def _never() -> bool:
    return False


V = TypeVar("V")


class _Column(Generic[V]):
    """A column of a ``Chunk``: a list made on first use, ``fill`` (the value of the
    chunk attribute it names, else None) at every position."""

    def __init__(self, fill: str | None = None) -> None:
        self._fill = fill

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}"

    @overload
    def __get__(self, chunk: None, owner: type) -> _Column[V]: ...
    @overload
    def __get__(self, chunk: Chunk[Any], owner: type) -> list[V]: ...
    def __get__(self, chunk: Chunk[Any] | None, owner: type) -> _Column[V] | list[V]:
        if chunk is None:
            return self
        column: list[V] | None = getattr(chunk, self._slot)
        if column is None:
            fill: V = None if self._fill is None else getattr(chunk, self._fill)  # type: ignore[assignment]
            column = [fill] * len(chunk.items)
            setattr(chunk, self._slot, column)
        return column

    def __set__(self, chunk: Chunk[Any], column: list[V]) -> None:
        setattr(chunk, self._slot, column)


class Chunk(Generic[T]):
    """One request's worth of input, and the outcomes filled in as they are learnt.

    ``outcomes`` starts as ``not_attempted`` for every item; ``mark_in_flight`` notes
    which items a request is carrying so that an interruption turns exactly those
    into ``unknown``. The columns (``ids``, ``outcomes``, ``codes``, ``errors``) are
    lists made on first use: a request whose items all share one outcome (``settle``)
    never builds them, and ``result`` hands on one shared tuple for a column whose
    items are all alike, so a large report holds little more than its ids.
    """

    __slots__ = (
        "_code_fill",
        "_codes",
        "_errors",
        "_fill",
        "_ids",
        "_outcomes",
        "announced",
        "batches",
        "before_send",
        "error_flag",
        "extra_items",
        "in_flight",
        "items",
        "on_result",
        "provider_ids",
        "requests",
        "start",
        "stopping",
        "tally",
        "wire",
    )

    def __init__(self, start: int, items: list[T]) -> None:
        self.start = start
        self.items = items
        self._ids: list[str | None] | None = None
        self._outcomes: list[Outcome] | None = None
        # The outcome of every item while ``_outcomes`` is not built.
        self._fill = Outcome.NOT_ATTEMPTED
        self._codes: list[int | None] | None = None
        self._code_fill: int | None = None
        self._errors: list[BaseException | None] | None = None
        self.provider_ids: list[str | None] | None = None
        self.in_flight: Sequence[int] = ()
        self.batches: list[BatchRange] = []
        self.extra_items = 0
        self.requests = 0
        self.error_flag = False
        self.before_send: Callable[[Sequence[int]], None] | None = None
        # Outcome counts, when the processor already knows them (saves a pass).
        self.tally: dict[Outcome, int] | None = None
        # Whether the request in flight may have reached the provider yet.
        self.wire = False
        self.announced = False
        # True once the job is finishing: a processor sending several requests
        # checks it before each one and leaves the rest not_attempted.
        self.stopping: Callable[[], bool] = _never
        # Told the chunk's final result, whichever way its processing ended.
        self.on_result: Callable[[ChunkResult], None] | None = None

    def __len__(self) -> int:
        return len(self.items)

    ids: _Column[str | None] = _Column()
    outcomes: _Column[Outcome] = _Column("_fill")
    codes: _Column[int | None] = _Column("_code_fill")
    errors: _Column[BaseException | None] = _Column()

    def settle(self, outcome: Outcome, code: int | None = None) -> None:
        """Every item of the chunk has ``outcome`` and ``code`` (and no error): the
        common answer, recorded without a pass over the items."""
        self._outcomes = self._codes = None
        self._fill = outcome
        self._code_fill = code
        self.tally = {outcome: len(self.items)}

    def fail(self, i: int, error: BaseException, code: int | None = None) -> None:
        self.tally = None
        self.outcomes[i] = Outcome.FAILED
        self.errors[i] = error
        self.codes[i] = code

    def mark_in_flight(self, positions: Sequence[int], *, tracked: bool = False) -> None:
        """Note the chunk positions the request about to be made carries.

        With ``tracked``, the request reports through ``on_wire`` when it is really
        handed to the transport; until then an interruption leaves its items
        ``not_attempted``. Untracked requests count as on the wire at once.
        """
        self.in_flight = positions
        self.requests += 1
        self.announced = False
        self.wire = False
        if not tracked:
            self.on_wire(True)

    def on_wire(self, live: bool) -> None:
        """The request is being sent (True), or provably did not arrive (False)."""
        if live and not self.announced:
            if self.before_send is not None:
                start = self.start
                # If the hook raises, the request is not sent and wire stays False.
                self.before_send([start + i for i in self.in_flight])
            self.announced = True
        self.wire = live

    def fail_unfinished(self, error: BaseException) -> None:
        """An unexpected error: what was in flight is unknown (it may have reached the
        provider), what was never sent fails with it."""
        self._unknown_in_flight(error)
        for i, outcome in enumerate(self.outcomes):
            if outcome is Outcome.NOT_ATTEMPTED:
                self.fail(i, error)

    def interrupt(self) -> None:
        """The job stopped mid-request: what was on the wire is now unknown; what
        was still waiting to be sent stays ``not_attempted``."""
        self._unknown_in_flight(BulkInterruptedError(_INTERRUPTED))
        outcomes = self.outcomes
        if Outcome.NOT_ATTEMPTED in outcomes:
            errors = self.errors
            error = BulkInterruptedError(_NOT_ATTEMPTED_ERROR)
            for i, outcome in enumerate(outcomes):
                if outcome is Outcome.NOT_ATTEMPTED and errors[i] is None:
                    errors[i] = error

    def _unknown_in_flight(self, error: BaseException) -> None:
        self.tally = None
        outcomes = self.outcomes
        for i in self.in_flight if self.wire else ():
            if outcomes[i] is Outcome.NOT_ATTEMPTED:
                outcomes[i] = Outcome.UNKNOWN
                self.errors[i] = error
        self.in_flight = ()

    def result(self) -> ChunkResult:
        n = len(self.items)
        return ChunkResult(
            start=self.start,
            ids=self._ids if self._ids is not None else uniform(None, n),
            outcomes=_compact(self._outcomes, n, self._fill),
            codes=_compact(self._codes, n, self._code_fill),
            errors=_compact(self._errors, n, None),
            provider_ids=None if self.provider_ids is None else pack(self.provider_ids),
            batches=self.batches,
            extra_items=self.extra_items,
            requests=self.requests,
            error_flag=self.error_flag,
            tally=self.tally,
        )


@lru_cache(maxsize=32, typed=True)
def uniform(value: Any, n: int) -> tuple[Any, ...]:
    """``n`` times ``value``, as one immutable tuple shared by every chunk that needs it."""
    return (value,) * n


class PackedStrings(Sequence[str]):
    """Strings kept as one string, NUL-separated: a third of the memory of a list of
    str objects, and one object for the garbage collector instead of thousands (a
    report keeps a umid per LINE message). Iterating splits the text each time;
    the first index lookup keeps the split list for the next ones."""

    __slots__ = ("_n", "_split", "_text")

    def __init__(self, text: str, n: int) -> None:
        self._text = text
        self._n = n
        self._split: list[str] | None = None

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if self._split is None:
            self._split = self._text.split(_SEPARATOR)
        return self._split[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._split or self._text.split(_SEPARATOR))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedStrings):
            return self._text == other._text
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PackedStrings({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackedStrings, (self._text, self._n))


_SEPARATOR: Final = "\x00"


def pack(values: list[str | None]) -> Sequence[str | None]:
    """``values`` as ``PackedStrings`` when they are all strings without a NUL."""
    n = len(values)
    if not n:
        return values
    try:
        whole = "".join(values)  # type: ignore[arg-type]
    except TypeError:  # a None among them
        return values
    # A second join is cheaper than counting separators: ``in`` finds a character
    # with memchr, while ``count`` steps through the text one character at a time.
    if _SEPARATOR in whole:
        return values
    return PackedStrings(_SEPARATOR.join(values), n)  # type: ignore[arg-type]


def _compact(column: list[Any] | None, n: int, fill: Outcome | int | None) -> Sequence[Any]:
    """A column whose items are all alike becomes the shared tuple (the list is freed);
    one never built is ``fill`` throughout. Only plain values are shared this way: a
    cached tuple of one exception would keep it (and its traceback) alive."""
    if column is None:
        return uniform(fill, n)
    if n and column.count(first := column[0]) == n and type(first) in _SHAREABLE:
        return uniform(first, n)
    return column


_SHAREABLE: Final = frozenset({type(None), int, Outcome})


@dataclass(slots=True, kw_only=True)
class ChunkResult:
    """Finished outcomes of one chunk, kept in columns and turned into
    ``ItemOutcome`` objects only when someone looks at them."""

    start: int
    ids: Sequence[str | None]
    outcomes: Sequence[Outcome]
    codes: Sequence[int | None]
    errors: Sequence[BaseException | None]
    provider_ids: Sequence[str | None] | None = None
    batches: list[BatchRange] = field(default_factory=list)
    extra_items: int = 0
    requests: int = 0
    error_flag: bool = False
    tally: dict[Outcome, int] | None = None
    # Set once the result is in a report: a result that a cancelled sender also
    # kept as a leftover is never counted twice.
    taken: bool = False

    def __len__(self) -> int:
        return len(self.outcomes)

    def counts(self) -> dict[Outcome, int]:
        """Items per outcome in this chunk."""
        if self.tally is None:
            self.tally = dict(Counter(self.outcomes))
        return self.tally

    def __iter__(self) -> Iterator[ItemOutcome]:
        # map() over the columns builds each outcome in C: a streamed job spends
        # most of its per-item time here.
        n = len(self.outcomes)
        pids = self.provider_ids if self.provider_ids is not None else repeat(None, n)
        indices = range(self.start, self.start + n)
        return map(ItemOutcome, indices, self.ids, self.outcomes, self.codes, self.errors, pids)


class Counts(dict[Outcome, int]):
    """Items per outcome: every outcome is a key (zero included), so ``counts[o]``
    never raises; printed, it shows only the outcomes that occurred."""

    __slots__ = ()

    @classmethod
    def zero(cls) -> Counts:
        return cls.fromkeys(Outcome, 0)  # type: ignore[return-value]

    def __repr__(self) -> str:
        shown = ", ".join(f"{o.value}={n}" for o, n in self.items() if n)
        return f"Counts({shown})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return (Counts, (dict(self),))


@dataclass(frozen=True, slots=True)
class Progress:
    """Passed to ``on_progress`` each time a chunk finishes."""

    done: int
    total: int | None
    counts: dict[Outcome, int]
    requests: int


class BulkReport:
    """Every input item's outcome, in input order, with totals.

    ``counts`` maps each outcome to its number of items and always sums to the
    input size. ``batches`` lists the LINE ``batchId``s created with the input
    positions each covers. ``extra_items`` counts ids a provider answered about that
    were not asked for. ``provider_errors`` merges Revicom's ``errors`` flags.
    ``complete`` is False when the job stopped early
    (``stop_on_failure``, ``abort``, ``deadline``, ``finish``, a cancellation):
    items read but not sent are ``not_attempted``. A stopped job reads no further:
    ``unread_input`` is then True when the input may hold more items, which were
    neither read nor sent and are not in the report; the report always covers
    input positions ``0`` to ``len(report) - 1``, so ``items[len(report):]`` is
    what was left (``counts`` sums to ``len(report)``).

    The ``report`` of a streamed job keeps only these totals (``outcomes_kept`` is
    False): its outcomes went to the reader, so memory stays bounded.
    """

    def __init__(self, *, keep_outcomes: bool = True) -> None:
        self.outcomes_kept = keep_outcomes
        self._chunks: list[ChunkResult] = []
        self._sorted = True
        self.counts: Counts = Counts.zero()
        self.batches: list[BatchRange] = []
        self.extra_items = 0
        self.requests = 0
        self.complete = True
        self.unread_input = False
        self.provider_errors = False

    def _add(self, chunk: ChunkResult) -> None:
        chunk.taken = True
        if self.outcomes_kept:
            if self._chunks and chunk.start < self._chunks[-1].start:
                self._sorted = False
            self._chunks.append(chunk)
        for outcome, n in chunk.counts().items():
            self.counts[outcome] += n
        self.batches.extend(chunk.batches)
        self.extra_items += chunk.extra_items
        self.requests += chunk.requests
        self.provider_errors = self.provider_errors or chunk.error_flag

    def _chunks_in_order(self) -> list[ChunkResult]:
        if not self.outcomes_kept:
            raise RuntimeError(
                "this report of a streamed job keeps totals only; its outcomes were "
                "yielded by the stream (use the non-streaming call to keep them all)"
            )
        if not self._sorted:
            self._chunks.sort(key=lambda c: c.start)
            self.batches.sort(key=lambda b: b.start)
            self._sorted = True
        return self._chunks

    def __len__(self) -> int:
        return sum(self.counts.values())

    def __iter__(self) -> Iterator[ItemOutcome]:
        for chunk in self._chunks_in_order():
            yield from chunk

    def __getitem__(self, index: int) -> ItemOutcome:
        """The outcome of input position ``index``."""
        chunks = self._chunks_in_order()
        if index < 0:
            index += len(self)
        lo, hi = 0, len(chunks)
        while lo < hi:
            mid = (lo + hi) // 2
            if chunks[mid].start <= index:
                lo = mid + 1
            else:
                hi = mid
        if lo:
            chunk = chunks[lo - 1]
            offset = index - chunk.start
            if 0 <= offset < len(chunk):
                for item in islice(chunk, offset, offset + 1):
                    return item
        raise IndexError(index)

    @property
    def outcomes(self) -> list[ItemOutcome]:
        """All outcomes in input order (built on demand: prefer iterating)."""
        return list(self)

    @property
    def succeeded(self) -> bool:
        """True when every item succeeded (accepted, cancelled, not_cancelled, stopped)."""
        return all(n == 0 for o, n in self.counts.items() if o not in SUCCESSFUL)

    def failures(self) -> Iterator[ItemOutcome]:
        """The outcomes that did not succeed, in input order."""
        return (o for o in self if o.outcome not in SUCCESSFUL)

    def __repr__(self) -> str:
        shown = ", ".join(f"{o.value}={n}" for o, n in self.counts.items() if n)
        more = ", incomplete" if not self.complete else ""
        more += ", input left unread" if self.unread_input else ""
        return f"BulkReport(items={len(self)}, requests={self.requests}, {shown or 'empty'}{more})"


# ------------------------------------------------------------------------ the engine


class _Source(Generic[T]):
    """Hands out consecutive chunks of the input to workers, reading it lazily."""

    def __init__(self, items: ItemsInput[T], size: int) -> None:
        self._sync: Iterator[T] | None = None
        self._async: AsyncIterator[T] | None = None
        # A list is sliced rather than iterated: one C-level copy per chunk.
        self._list: list[T] | None = items if type(items) is list else None
        if isinstance(items, AsyncIterable):
            self._async = aiter(items)
        else:
            self._sync = iter(items)
        self._size = size
        self._next = 0
        self._lock = anyio.Lock()
        self._partial: list[T] = []
        self.exhausted = False
        self.error: Exception | None = None

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


def check_concurrency(concurrency: object) -> int:
    if type(concurrency) is not int or concurrency < 1:
        raise ValidationError("concurrency", f"is {concurrency!r}", "a whole number, at least 1")
    return concurrency


def check_options(options: Mapping[str, object]) -> None:
    """Every bulk option known and of its documented type, before any I/O."""
    for name, value in options.items():
        if name not in BulkOptions.__annotations__:
            known = ", ".join(sorted(BulkOptions.__annotations__))
            raise ValidationError(name, "is not a bulk option", f"one of {known}")
        if value is None and name not in ("concurrency", "stop_on_failure"):
            continue
        if name == "concurrency":
            check_concurrency(value)
        elif name == "stop_on_failure" and type(value) is not bool:
            raise ValidationError(name, f"is {type(value).__name__}", "True or False")
        elif name == "deadline" and (
            type(value) not in (int, float) or not 0 < value < math.inf  # type: ignore[operator]
        ):
            raise ValidationError(name, f"is {value!r}", "a positive number of seconds")
        elif name in ("on_progress", "before_send") and not callable(value):
            raise ValidationError(name, f"is a {type(value).__name__}", "a callable")


def check_items(items: object, field: str) -> None:
    """A bulk input: any iterable or async iterable of items, but not one item."""
    if isinstance(items, str | bytes | bytearray | Mapping):
        raise ValidationError(
            field, f"is a single {type(items).__name__}", "an iterable of items (a list, say)"
        )
    if not isinstance(items, Iterable | AsyncIterable):
        raise ValidationError(field, f"is a {type(items).__name__}", "an iterable of items")


def total_of(items: object) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None


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
        abort: Any,
        deadline: float | None,
        on_progress: Callable[[Progress], None] | None,
        before_send: Callable[[Sequence[int]], None] | None = None,
        finish: Any = None,
    ) -> None:
        check_concurrency(concurrency)
        if deadline is not None and not (deadline > 0 and math.isfinite(deadline)):
            raise ValidationError("deadline", f"is {deadline}", "a positive number of seconds")
        for name, event in (("abort", abort), ("finish", finish)):
            if event is not None and not callable(getattr(event, "wait", None)):
                raise ValidationError(name, "has no wait() method", "an anyio or asyncio Event")
        self.total = total_of(items)
        self._source = _Source(items, chunk_size)
        self._process = process
        self._concurrency = concurrency
        self._stop_on_failure = stop_on_failure
        self._abort = abort
        self._deadline = deadline
        self._on_progress = on_progress
        self._before_send = before_send
        self._finish = finish
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
                        outer.start_soon(self._watch_abort, workers)
                    if self._finish is not None:
                        outer.start_soon(self._watch_finish)
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
            chunk.ids = [_id_of(x) for x in chunk.items]
            chunk.interrupt()
            self._leftovers.append(chunk.result())

    @property
    def unread_input(self) -> bool:
        return self._source.unread

    def leftovers(self) -> list[ChunkResult]:
        """Results cut short or finished but never handed to the reader; emptied."""
        found, self._leftovers = self._leftovers, []
        return found

    async def _watch_finish(self) -> None:
        await self._finish.wait()
        self.stopped_early = True
        self.halted = True
        for scope in self._taking:
            scope.cancel()

    def _is_halted(self) -> bool:
        return self.halted

    @property
    def input_error(self) -> Exception | None:
        return self._source.error

    async def _watch_abort(self, workers: anyio.CancelScope) -> None:
        await self._abort.wait()
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
                chunk.ids = [_id_of(x) for x in chunk.items]
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


def _id_of(item: object) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        cmid = item.get("clientMessageId")
        return cmid if isinstance(cmid, str) else None
    cmid = getattr(item, "client_message_id", None)
    return cmid if isinstance(cmid, str) else None


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
                raise BulkInputError(
                    f"reading the input failed after {len(self.report):,} items "
                    f"({type(error).__name__}: {error}); every item read was processed "
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
    **options: Unpack[BulkOptions],
) -> AsyncIterator[OutcomeStream]:
    """Run a bulk job while the ``async with`` body reads its outcomes.

    Leaving the block early cancels the job: no task outlives the block. ``field``
    names the input in errors.
    """
    check_items(items, field)
    check_options(options)
    concurrency = check_concurrency(options.get("concurrency", DEFAULT_CONCURRENCY))
    job: _Job[T] = _Job(
        items, process, chunk_size=chunk_size, concurrency=concurrency,
        stop_on_failure=options.get("stop_on_failure", False), abort=options.get("abort"),
        deadline=options.get("deadline"), on_progress=options.get("on_progress"),
        before_send=options.get("before_send"), finish=options.get("finish"),
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
