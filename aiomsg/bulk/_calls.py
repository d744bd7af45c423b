"""The seam between a provider and the bulk engine.

A provider describes its requests once (``Requests``): how one item is checked,
what id it is reported under, and the function that sends one request and returns
its ``Answer``. Everything else is done here, once for every provider: invalid
items fail and are never sent, an id repeated within a request is sent once (a
different item under the same id fails), a request that fails as a whole marks
its items, a job-wide rule (``Admission``) may hold back items an earlier request
carried, and the engine alone writes a chunk's columns and tallies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, Generic, NamedTuple, TypeVar

from .._errors import APIError, OutcomeUnknownError, ValidationError
from .._validation import check_uuid, is_uuid
from ._admission import Admission, Admitted, Known, Prepared
from ._chunk import Answer, Chunk
from ._once import FirstOutcome
from ._options import (
    DEFAULT_CONCURRENCY,
    ItemsInput,
    check_concurrency,
    check_items,
    check_options,
    total_of,
)
from ._results import Outcome
from ._stream import OutcomeStream, collect, run_bulk

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._options import BulkOptions

__all__ = [
    "Admission",
    "Admitted",
    "Answer",
    "Checks",
    "ItemsInput",
    "Known",
    "Prepared",
    "Ready",
    "Request",
    "Requests",
    "bulk_stream",
    "check_items",
    "collect",
    "prepare",
    "uuid_checks",
]

T = TypeVar("T")
K = TypeVar("K")


@dataclass(slots=True)
class Request(Generic[K]):
    """One request to make: the checked items, their ids, and ``on_wire`` to call when
    it is really handed to the transport (True) or provably never arrived (False).
    ``hint`` is what the fast check returned, when the items are the chunk's own."""

    items: Sequence[K]
    ids: Sequence[str]
    on_wire: Callable[[bool], None]
    hint: Any = None


class Ready(NamedTuple):
    """A fast check's verdict: every item is valid as it is; their ids, whether those
    are known to be distinct, and a hint for the request (a prebuilt body, say).
    With a job-wide rule (``Admission``) the ids must be plain ``str``: a subclass
    could hash and compare as something else than the value sent."""

    ids: list[str]
    distinct: bool
    hint: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Checks(Generic[T, K]):
    """How a provider checks items before sending them.

    ``checker()`` gives, per chunk, a function from an item and its name
    (``uuids[12]``) to the value sent, raising ``ValidationError`` for an invalid
    one; ``id_of`` is the id a checked item is reported under, ``raw_id`` that of an
    item that failed its check. ``fast`` may recognise a chunk whose items are all
    valid as they are (None: look at each). ``duplicate`` builds the error of a
    different item under an id already in the request.
    """

    checker: Callable[[], Callable[[T, str], K]]
    id_of: Callable[[K], str]
    raw_id: Callable[[T], str | None]
    field: str
    fast: Callable[[list[T]], Ready | None] | None = None
    duplicate: Callable[[int], BaseException] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Requests(Generic[T, K]):
    """A provider's whole side of the seam: its ``checks`` and ``send``, which makes
    one request and returns its ``Answer`` (or raises ``APIError`` when the request
    failed as a whole).

    ``one_per_item``: one request per distinct item, in input order, until the job
    finishes; else one request per chunk. ``reports_wire``: ``send`` calls
    ``on_wire`` (else a request counts as on the wire as soon as it is made).
    ``admission``: a job-wide rule, if any. ``first_outcome``: the items are their
    ids, and an id repeated in a later request is not sent again but takes its
    first's outcome (``FirstOutcome``, made per job).
    """

    checks: Checks[T, K]
    send: Callable[[Request[K]], Awaitable[Answer]]
    one_per_item: bool = False
    reports_wire: bool = True
    admission: Admission[K] | None = None
    first_outcome: bool = False


def bulk_stream(
    items: ItemsInput[T],
    requests: Requests[T, Any],
    chunk_size: int | None = None,
    /,
    **options: Unpack[BulkOptions],
) -> AbstractAsyncContextManager[OutcomeStream]:
    """Run ``requests`` over ``items`` in chunks of ``chunk_size`` (see ``run_bulk``).

    Without ``chunk_size`` (one request per item), each worker takes a few items
    at a time: see ``take_size``. Positional only: a caller's ``chunk_size=`` among
    the options is refused as an unknown option, never taken for this one.
    """
    checks = requests.checks
    if chunk_size is None:
        check_items(items, checks.field)
        check_options(options)
        concurrency = check_concurrency(options.get("concurrency", DEFAULT_CONCURRENCY))
        chunk_size = take_size(items, concurrency)
    if requests.first_outcome:
        source = items if type(items) is list else None
        requests = replace(requests, admission=FirstOutcome(source, chunk_size, checks.field))
    run = _one_per_item if requests.one_per_item else _one_per_chunk

    async def process(chunk: Chunk[T]) -> None:
        await run(chunk, requests)

    return run_bulk(
        items, process, chunk_size=chunk_size, field=checks.field, id_of=checks.raw_id, **options
    )


#: Items each worker takes from the input at a time when they are sent one request
#: each.
MAX_TAKE: Final = 16


def take_size(items: object, concurrency: int) -> int:
    """Small takes keep every worker busy on short inputs; larger ones cut overhead."""
    try:
        total = total_of(items)
    except Exception:
        return 4  # the engine reports it: the input cannot be read
    if total is None:
        return 4
    return max(1, min(MAX_TAKE, total // (concurrency * 4)))


def prepare(
    items: list[T], start: int, checks: Checks[T, K], admission: Admission[K] | None = None
) -> Prepared[K]:
    """Check every item of a request, keeping each id once (``Prepared``); with a
    job-wide rule, its fast way in is tried first (``Admission.all_new``)."""
    check: Callable[[T, str], K] | None = None
    if checks.fast is not None:
        ready = checks.fast(items)
        if ready is not None:
            if admission is not None and admission.all_new(ready.ids, start):
                # Valid, distinct, and new to the job: sent as they are.
                return Prepared(items, range(len(items)), ready.ids, hint=ready.hint,  # type: ignore[arg-type]
                                admitted=True)  # fmt: skip
            if ready.distinct or len(set(ready.ids)) == len(ready.ids):
                # Valid as they are: the items are what is sent.
                return Prepared(items, range(len(items)), ready.ids, hint=ready.hint)  # type: ignore[arg-type]
            check = _as_is  # valid, but some id repeats: only look for repeats
    if check is None:
        check = checks.checker()
    id_of, name = checks.id_of, checks.field
    prepared: Prepared[K] = Prepared([], [], [None] * len(items))
    sent, positions, ids = prepared.items, prepared.positions, prepared.ids
    assert isinstance(positions, list)
    first_of: dict[str, int] = {}  # id -> index into sent
    for i, item in enumerate(items):
        try:
            key = check(item, f"{name}[{start + i}]")
        except ValidationError as exc:
            ids[i] = checks.raw_id(item)
            prepared.failed.append((i, exc))
            continue
        cmid = id_of(key)
        ids[i] = cmid
        seen = first_of.get(cmid)
        if seen is None:
            first_of[cmid] = len(sent)
            sent.append(key)
            positions.append(i)
        elif sent[seen] == key:
            prepared.repeats.append((i, seen))  # the same item twice: sent once
        else:
            prepared.failed.append((i, _duplicate(checks, start + i)))
            prepared.conflicts.append((i, seen, key))
    return prepared


def _as_is(item: Any, name: str) -> Any:
    return item


def _duplicate(checks: Checks[Any, Any], index: int) -> BaseException:
    if checks.duplicate is not None:
        return checks.duplicate(index)
    return ValidationError(
        f"{checks.field}[{index}]",
        "repeats the id of a different item in the same request",
        "unique within a request",
    )


async def _one_per_chunk(chunk: Chunk[T], requests: Requests[T, K]) -> None:
    admission = requests.admission
    prepared = prepare(chunk.items, chunk.start, requests.checks, admission)
    chunk.ids = prepared.ids
    for i, error in prepared.failed:
        chunk.fail(i, error)
    if admission is not None:
        chunk.on_result = admission.finished
    if admission is None or prepared.admitted:
        if prepared.items:
            await _send(chunk, requests, prepared.items, prepared.positions, prepared.repeats,
                        prepared.hint)  # fmt: skip
        return
    if not prepared.items:
        return
    admitted = admission.admit(prepared, chunk.start, len(chunk))
    for i, error in admitted.failed:
        chunk.fail(i, error)
    later = admitted.later
    hint = prepared.hint if admitted.items is prepared.items else None
    try:
        if admitted.items:
            await _send(chunk, requests, admitted.items, admitted.positions, admitted.repeats,
                        hint)  # fmt: skip
    except BaseException:
        _copy_known(chunk, later, admission)
        raise
    await _take_outcome(chunk, later, admission)


async def _take_outcome(
    chunk: Chunk[Any], later: list[tuple[int, int]], admission: Admission[Any]
) -> None:
    """Items an earlier request carried: never sent, they take its outcome, waiting
    for it when that request is still out."""
    done = 0
    try:
        for i, first in later:
            chunk.record(i, *await admission.outcome(first))
            done += 1
    except BaseException:
        _copy_known(chunk, later[done:], admission)
        raise


def _copy_known(chunk: Chunk[Any], later: list[tuple[int, int]], admission: Admission[Any]) -> None:
    """The job stopped: items held back take their earlier carrier's outcome when it
    is known, else ``unknown`` (that request may still have reached the provider).
    None is sent."""
    for i, first in later:
        chunk.record(i, *admission.settled(first))


async def _send(
    chunk: Chunk[Any],
    requests: Requests[Any, K],
    items: Sequence[K],
    positions: Sequence[int],
    repeats: list[tuple[int, int]],
    hint: Any,
) -> None:
    """Make one request for ``items`` (at chunk ``positions``) and record its answer."""
    whole = type(positions) is range and len(positions) == len(chunk)
    chunk.mark_in_flight(
        positions if not repeats else [*positions, *(i for i, _ in repeats)],
        tracked=requests.reports_wire,
    )
    ids = chunk.ids if whole else [chunk.ids[i] for i in positions]
    try:
        answer = await requests.send(Request(items, ids, chunk.on_wire, hint if whole else None))  # type: ignore[arg-type]
    except APIError as exc:
        _request_failed(chunk, exc)
        return
    chunk.take(answer, positions, whole)
    for i, k in repeats:
        chunk.copy(i, positions[k])


def _request_failed(chunk: Chunk[Any], exc: APIError) -> None:
    """The request failed as a whole: its items fail with the error, or are
    ``unknown`` when it may have been taken (a LINE send is never repeated)."""
    if isinstance(exc, OutcomeUnknownError):
        for i in chunk.in_flight:
            chunk.record(i, Outcome.UNKNOWN, None, exc)
        return
    code = getattr(exc, "code", None)
    for i in chunk.in_flight:
        chunk.fail(i, exc, code)


async def _one_per_item(chunk: Chunk[T], requests: Requests[T, K]) -> None:
    """One request per distinct item, in input order, until the job finishes."""
    checks = requests.checks
    check, id_of, name, start = checks.checker(), checks.id_of, checks.field, chunk.start
    admission = requests.admission
    if admission is not None:
        chunk.on_result = admission.finished
    ids = chunk.ids
    done: dict[str, int] = {}
    for i, item in enumerate(chunk.items):
        if chunk.stopping():
            return  # the job is finishing: the rest stay not_attempted
        try:
            key = check(item, f"{name}[{start + i}]")
        except ValidationError as exc:
            ids[i] = checks.raw_id(item)
            chunk.fail(i, exc)
            continue
        ids[i] = key_id = id_of(key)
        first = done.get(key_id)
        if first is not None:  # the same id twice in one take: one request
            chunk.copy(i, first)
            continue
        done[key_id] = i
        if admission is not None and not admission.all_new((key_id,), start, (i,)):
            later = admission.admit(Prepared([key], [i], ids), start, len(chunk)).later
            if later:  # an earlier take carried it: its outcome, never sent again
                await _take_outcome(chunk, later, admission)
                continue
        await _send(chunk, requests, (key,), (i,), [], None)


def uuid_checks(
    field: str, fast: Callable[[list[Any]], Ready | None] | None = None
) -> Checks[Any, str]:
    """Checks for items that are uuids, reported under themselves."""
    return Checks(checker=_uuid_checker, id_of=_same, raw_id=_text, field=field, fast=fast)


def _uuid_checker() -> Callable[[object, str], str]:
    return _check_uuid


def _check_uuid(value: object, name: str) -> str:
    # A str subclass holding a uuid goes on as its plain value.
    return value if is_uuid(value) else check_uuid(value, name)  # type: ignore[return-value]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _same(value: str) -> str:
    return value
