"""The seam between the commands and the bulk job: the provider operation a job runs.

A command (``aiomsg revicom stop``, ``aiomsg 8x8 sms cancel`` ...) describes its
operation as an ``Operation``: how to open the client, how an input line becomes
the item the library takes, how to open the library's bulk stream over the items,
and what the job needs to know to plan, journal and show it. The job knows no
provider; the commands know nothing of journals, reports or signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from aiomsg import ConfigurationError, EightByEight, Revicom, ValidationError
from aiomsg.bulk import BulkOptions, OutcomeStream

from .exits import UsageError

if TYPE_CHECKING:
    from .input import ItemKind

__all__ = ["JobOptions", "Operation", "id_item"]

#: The client an operation uses.
C = TypeVar("C", EightByEight, Revicom)
#: What the library's bulk call takes per item (a uuid, a ``LineNotification``).
I = TypeVar("I")  # noqa: E741 - the item type, as in the library's bulk calls


@dataclass(frozen=True, slots=True)
class Operation(Generic[C, I]):
    """A provider's bulk operation, as a job runs it.

    ``open_client(dry_run)`` builds the client (with ``dry_run``, a missing secret
    is replaced, since nothing is sent). ``convert(line, scope)`` turns a checked
    input line into the item to send (``scope``: the input's digest).
    ``open_stream(client, items, options)`` is the library's streaming bulk call;
    called with no items it only checks the command's arguments. ``url(first_id)``
    is where a request whose first item has that id goes, shown by ``--dry-run``.
    ``resend_safe``: repeating a request does no harm (stop, cancel), so requests
    whose answer never came are simply sent again. ``params`` and ``endpoint``
    (resolved base URL, region) are part of the job's identity in a journal, so
    that a journal is never resumed with other arguments or against another
    endpoint. ``once_per_job``: an id is sent at most once per job, across runs; a
    repeat gets its first's outcome (LINE, 8x8 cancels; Revicom stops with
    ``--once-per-job``).
    """

    name: str
    kind: ItemKind
    noun: str
    per_request: int
    resend_safe: bool
    method: str
    url: Callable[[str], str]
    params: tuple[tuple[str, str], ...]
    endpoint: tuple[tuple[str, str], ...]
    open_client: Callable[[bool], C]
    convert: Callable[[bytes, str], I]
    open_stream: Callable[[C, Iterable[I], BulkOptions], AbstractAsyncContextManager[OutcomeStream]]
    once_per_job: bool = False

    def checked_client(self, *, dry_run: bool) -> C:
        """The client, the command's arguments checked: ``UsageError`` when they are
        bad (nothing is sent either way)."""
        try:
            client = self.open_client(dry_run)
            self.open_stream(client, (), {})
        except (ConfigurationError, ValidationError) as exc:
            raise UsageError(str(exc)) from None
        return client


@dataclass(frozen=True, slots=True)
class JobOptions:
    """The command-line options of a bulk job."""

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


def id_item(line: bytes, scope: str) -> str:
    """An input line holding an id (checked: ASCII) as the id to send."""
    return line.decode("ascii")
