"""What a job-wide rule on sending sees and decides (``Admission``): a request's
checked items (``Prepared``) in, what may go (``Admitted``) out."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from ._results import ChunkResult, Outcome

__all__ = ["Admission", "Admitted", "Known", "Prepared"]

K = TypeVar("K")
Known = tuple[Outcome, int | None, BaseException | None]


@dataclass(slots=True)
class Prepared(Generic[K]):
    """A chunk's items checked: what to send (``items``, at chunk ``positions``), the
    id of every position, repeats within the request (chunk position, index into
    ``items``), items failed already, and conflicts (a different item under the id
    of ``items[k]``: chunk position, k, the item), which failed already too."""

    items: list[K]
    positions: Sequence[int]
    ids: list[str | None]
    repeats: list[tuple[int, int]] = field(default_factory=list)
    failed: list[tuple[int, BaseException]] = field(default_factory=list)
    conflicts: list[tuple[int, int, K]] = field(default_factory=list)
    hint: Any = None
    #: The job-wide rule took every item already (``Admission.all_new``).
    admitted: bool = False


@dataclass(slots=True)
class Admitted(Generic[K]):
    """What a job-wide rule lets a request carry: ``items`` at ``positions`` with
    their ``repeats``, and ``later`` (chunk position, input position of the item
    it repeats) for items an earlier request carried: never sent, they take that
    item's outcome. ``failed``: items the rule refuses."""

    items: list[K]
    positions: Sequence[int]
    repeats: list[tuple[int, int]]
    later: list[tuple[int, int]]
    failed: list[tuple[int, BaseException]]


class Admission(Protocol[K]):
    """A job-wide rule on what may be sent (LINE: a clientMessageId at most once)."""

    def all_new(
        self, ids: Sequence[str], start: int, positions: Sequence[int] | None = None
    ) -> bool:
        """The fast way in, for items valid as they are (``ids``: plain ``str``, one
        per item, at chunk ``positions``, else the whole chunk): True when the rule
        lets every item go (they are then taken as sent); False decides nothing, and
        ``admit`` follows."""
        ...

    def admit(self, prepared: Prepared[K], start: int, size: int) -> Admitted[K]: ...

    def finished(self, result: ChunkResult) -> None: ...

    def settled(self, position: int) -> Known:
        """The outcome of the item at input ``position`` if known, else ``unknown``
        with why (the job stopped while it was out)."""
        ...

    def outcome(self, position: int) -> Awaitable[Known]: ...
