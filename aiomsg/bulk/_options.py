"""The options every bulk call takes, and their checks (made before any I/O)."""

from __future__ import annotations

from collections.abc import (
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Final, Protocol, TypedDict, TypeVar

from .._errors import ValidationError
from .._numbers import SECONDS_RULE, duration, shown, whole, whole_rule

DEFAULT_CONCURRENCY: Final = 8
#: The most requests one bulk call keeps in flight (the command line's
#: ``--concurrency`` takes the same). A job runs one worker per unit of concurrency;
#: beyond this the client's own limits (``RateLimit.concurrency``, ``connector_limit``)
#: hold the requests back anyway.
MAX_CONCURRENCY: Final = 1000
CONCURRENCY_RULE: Final = whole_rule(1, MAX_CONCURRENCY)

T = TypeVar("T")
ItemsInput = Iterable[T] | AsyncIterable[T]

if TYPE_CHECKING:
    from ._results import BulkReport, Progress


class Event(Protocol):
    """What ``abort`` and ``finish`` take: an ``anyio.Event`` or an ``asyncio.Event``."""

    def is_set(self) -> bool: ...

    def wait(self) -> Awaitable[object]: ...


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
    abort: Event | None
    deadline: float | None
    on_progress: Callable[[Progress], None] | None
    before_send: Callable[[Sequence[int]], None] | None
    finish: Event | None
    report: BulkReport


def check_concurrency(concurrency: object) -> int:
    checked = whole(concurrency, 1, MAX_CONCURRENCY)
    if checked is None:
        raise ValidationError("concurrency", f"is {shown(concurrency)}", CONCURRENCY_RULE)
    return checked


def check_deadline(deadline: object) -> float | None:
    """The ``deadline`` option: None, or seconds as a plain number."""
    if deadline is None:
        return None
    checked = duration(deadline)
    if checked is None:
        raise ValidationError("deadline", f"is {shown(deadline)}", SECONDS_RULE)
    return checked


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
        elif name == "deadline":
            check_deadline(value)
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
    """How many items the input holds, or None when it has no length. A ``__len__``
    that raises anything else (``ValueError``, ``OverflowError``) is raised."""
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None
