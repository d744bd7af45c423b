"""What a job comes to: the tally of outcomes, the exit code and the closing summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from aiomsg.bulk import SUCCESSFUL, Outcome

from .exits import EXIT_INCOMPLETE, EXIT_NOT_ALL_SUCCEEDED, EXIT_OK, EXIT_REQUESTS_FAILED
from .line_ids import Settlement
from .operation import JobOptions

__all__ = ["Tally", "format_summary", "plural", "summary"]

_SUCCESSFUL_VALUES: Final = frozenset(o.value for o in SUCCESSFUL)


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


@dataclass(slots=True)
class Tally:
    """Items per outcome, and those a re-run must process again.

    ``retryable``: failed because their request failed as a whole; ``interrupted``:
    cut short by Ctrl-C (``unknown``). Each item is counted once.
    """

    counts: Counter[str] = field(default_factory=Counter)
    retryable: int = 0
    interrupted: int = 0
    batches: list[str] = field(default_factory=list)
    extra_items: int = 0

    def add(self, outcome: str, settlement: Settlement | None = None, n: int = 1) -> None:
        self.counts[outcome] += n
        if settlement == "retryable":
            self.retryable += n
        elif settlement == "interrupted":
            self.interrupted += n

    def unfinished(self, items: int) -> int:
        """Items not reported at all, never sent (not_attempted), or cut short by
        Ctrl-C (unknown): what a resumed run does."""
        accounted = sum(self.counts.values())
        return items - accounted + self.counts[Outcome.NOT_ATTEMPTED.value] + self.interrupted

    def exit_code(self, items: int) -> int:
        if self.unfinished(items):
            return EXIT_INCOMPLETE
        if self.retryable:
            return EXIT_REQUESTS_FAILED
        if all(o in _SUCCESSFUL_VALUES for o, n in self.counts.items() if n):
            return EXIT_OK
        return EXIT_NOT_ALL_SUCCEEDED


def summary(
    tally: Tally,
    *,
    name: str,
    options: JobOptions,
    items: int,
    resumed: int,
    late: int,
    reorder_bound: int,
    requests: int,
    retries: int,
    elapsed: float,
) -> str:
    """The summary of a finished run: counts, requests, and what to do next."""
    opts = options
    code = tally.exit_code(items)
    unfinished = tally.unfinished(items)
    notes: list[str] = []
    if opts.journal is not None:
        notes.append(
            f"journal {opts.journal}: {resumed:,} items finished by earlier runs"
            if resumed else f"journal {opts.journal}"
        )  # fmt: skip
    if opts.report is not None and opts.report != "-":
        notes.append(f"report {opts.report}")
    if tally.batches:
        shown = ", ".join(tally.batches[:3])
        more = f" and {len(tally.batches) - 3:,} more" if len(tally.batches) > 3 else ""
        notes.append(f"LINE batchIds: {shown}{more}")
    if late:
        notes.append(
            f"{plural(late, 'report record')} written out of input order: a request took "
            f"long while more than {reorder_bound:,} later records waited"
        )
    if tally.extra_items:
        notes.append(f"{plural(tally.extra_items, 'id')} answered that were not asked for")
    if tally.retryable:
        again = (
            "a re-run with the same --journal sends them again"
            if opts.journal else "fix the cause and run again (with --journal, a re-run "
            "sends only those)"
        )  # fmt: skip
        notes.append(
            f"{plural(tally.retryable, 'item')} failed because the request failed (not an "
            f"answer about the item); {again}"
        )
    if code == EXIT_INCOMPLETE:
        resume = (
            "re-run with the same --journal to resume"
            if opts.journal else "use --journal to make a job resumable"
        )  # fmt: skip
        notes.append(f"incomplete: {plural(unfinished, 'item')} not processed; {resume}")
    elif code == EXIT_NOT_ALL_SUCCEEDED:
        failed = sum(n for o, n in tally.counts.items() if o not in _SUCCESSFUL_VALUES)
        notes.append(f"{plural(failed, 'item')} did not succeed" + (
            " (see the report)" if opts.report else "; --report PATH lists them"
        ))  # fmt: skip
    return format_summary(
        title=f"aiomsg {name}",
        counts=tally.counts,
        items=items,
        done=items - unfinished,
        requests=requests,
        retries=retries,
        elapsed=elapsed,
        notes=notes,
    )


def format_summary(
    *,
    title: str,
    counts: Mapping[str, int],
    items: int,
    done: int,
    requests: int,
    retries: int,
    elapsed: float,
    notes: list[str],
) -> str:
    """Counts per outcome (the non-zero ones), requests, retries and time, as a few
    aligned lines. ``done``: the items processed, out of ``items`` (the caller counts
    them once, so that every line agrees)."""
    rate = f", {done / elapsed:,.0f} items/s" if elapsed > 0 and done else ""
    lines = [f"{title}: {done:,} of {items:,} items in {elapsed:.1f} s{rate}"]
    for outcome in Outcome:
        n = counts.get(outcome.value, 0)
        if n:
            lines.append(f"  {outcome.value:<14} {n:>12,}")
    lines.append(f"  requests {requests:,}, retries {retries:,}")
    lines.extend(f"  {note}" for note in notes)
    return "\n".join(lines)
