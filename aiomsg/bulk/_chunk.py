"""One request's worth of input and the outcome columns the engine fills in."""

from __future__ import annotations

import traceback
from collections.abc import (
    Callable,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar, overload

from ._columns import _compact, pack, uniform
from ._results import BatchRange, BulkInterruptedError, ChunkResult, Outcome

T = TypeVar("T")

_INTERRUPTED: Final = "the job stopped before this item's answer arrived"
_NOT_ATTEMPTED_ERROR: Final = "the job stopped before this item was sent"


@dataclass(slots=True, kw_only=True)
class Answer:
    """A provider's answer to one request, about the items it carried, in order.

    Each of ``outcome``, ``code`` and ``error`` is one value for every item or a
    sequence with one value per item; ``provider_ids`` the provider's id per item.
    ``batch_id``: the provider's id for the request (a LINE ``batchId``);
    ``extra_items``: answers about items never asked; ``error_flag``: the provider
    said some item could not be done (Revicom's ``errors``).
    """

    outcome: Outcome | Sequence[Outcome]
    code: int | Sequence[int | None] | None = None
    error: BaseException | Sequence[BaseException | None] | None = None
    provider_ids: Sequence[str | None] | None = None
    batch_id: str | None = None
    extra_items: int = 0
    error_flag: bool = False


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

    def record(
        self, i: int, outcome: Outcome, code: int | None, error: BaseException | None
    ) -> None:
        self.tally = None
        self.outcomes[i] = outcome
        self.codes[i] = code
        self.errors[i] = error

    def copy(self, i: int, j: int) -> None:
        """Item ``i`` repeats item ``j`` (sent once): it takes its outcome."""
        self.tally = None
        self.outcomes[i] = self.outcomes[j]
        self.codes[i] = self.codes[j]
        self.errors[i] = self.errors[j]
        if self.provider_ids is not None:
            self.provider_ids[i] = self.provider_ids[j]

    def take(self, answer: Answer, positions: Sequence[int], whole: bool) -> None:
        """Record a request's ``answer`` about the items at ``positions`` (``whole``:
        every item of the chunk, in order, nothing recorded before)."""
        if answer.batch_id is not None:
            self.batches.append(BatchRange(answer.batch_id, self.start, self.start + len(self)))
        self.extra_items += answer.extra_items
        self.error_flag = self.error_flag or answer.error_flag
        outcome, code, error, pids = answer.outcome, answer.code, answer.error, answer.provider_ids
        one_outcome = isinstance(outcome, Outcome)
        one_code = code is None or isinstance(code, int)
        one_error = error is None or isinstance(error, BaseException)
        if whole:
            n = len(self.items)
            if pids is not None:
                self.provider_ids = pids if type(pids) is list else list(pids)
            if one_outcome and one_code and error is None:
                self.settle(outcome, code)  # type: ignore[arg-type]
                return
            self.tally = None
            if one_outcome:
                self._outcomes, self._fill = None, outcome  # type: ignore[assignment]
            else:
                self.outcomes = _as_list(outcome)
            if one_code:
                self._codes, self._code_fill = None, code  # type: ignore[assignment]
            else:
                self.codes = _as_list(code)
            if not one_error:
                self.errors = _as_list(error)
            elif error is not None:
                self.errors = [error] * n  # type: ignore[list-item]
            return
        self.tally = None
        if pids is not None:
            if self.provider_ids is None:
                self.provider_ids = [None] * len(self)
            provider_ids = self.provider_ids
            for i, pid in zip(positions, pids, strict=True):
                provider_ids[i] = pid
        _fill(self.outcomes, positions, outcome, one_outcome)
        if code is not None:
            _fill(self.codes, positions, code, one_code)
        if error is not None:
            _fill(self.errors, positions, error, one_error)

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
        if self._errors is not None:
            _unpin(self._errors)
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


def _unpin(errors: list[BaseException | None]) -> None:
    """Let go of the frames the errors a report keeps were raised through.

    A traceback holds its frames and their locals: the request body and the chunk's
    items (about 0.6 MB for a failed 10,000-uuid request), kept alive as long as the
    report. The errors keep their type, message, chain and line numbers.
    """
    seen: set[int] = set()
    todo = [e for e in set(errors) if e is not None]
    while todo:
        error = todo.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if error.__traceback__ is not None:
            traceback.clear_frames(error.__traceback__)  # skips frames still running
        todo.extend(e for e in (error.__cause__, error.__context__) if e is not None)


def _as_list(values: Any) -> list[Any]:
    return values if type(values) is list else list(values)


def _fill(column: list[Any], positions: Sequence[int], value: Any, one: bool) -> None:
    if one:
        for i in positions:
            column[i] = value
    else:
        for i, v in zip(positions, value, strict=True):
            column[i] = v
