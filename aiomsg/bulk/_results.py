"""What a bulk job hands back: per-item outcomes, chunk results, the report."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import (
    Iterator,
    Sequence,
)
from dataclasses import dataclass, field
from itertools import islice, repeat
from typing import Any, Final

import msgspec

from .._errors import AiomsgError


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
