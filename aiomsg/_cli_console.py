"""What a command-line job shows while it runs and when it ends, on standard error.

The progress bar is tqdm's (small, pure Python, no dependencies; it sizes itself to
the terminal and computes rate and ETA); it is drawn only when standard error is a
terminal, so logs and pipes get the summary alone.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

from .bulk import Outcome

__all__ = ["ProgressBar", "format_summary", "say"]


def say(message: str) -> None:
    """A line on standard error (above the progress bar, when there is one)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


class ProgressBar:
    """Items done out of ``total``, rate and ETA; a no-op when not on a terminal."""

    def __init__(self, *, total: int, initial: int, desc: str, enabled: bool) -> None:
        self._bar: Any = None
        if enabled and sys.stderr.isatty():
            tqdm = importlib.import_module("tqdm").tqdm
            self._bar = tqdm(
                total=total,
                initial=initial,
                desc=desc,
                unit=" items",
                unit_scale=True,
                dynamic_ncols=True,
                mininterval=0.2,
                file=sys.stderr,
            )

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def update(self, n: int) -> None:
        if self._bar is not None and n:
            self._bar.update(n)

    def write(self, message: str) -> None:
        if self._bar is not None:
            self._bar.write(message, file=sys.stderr)
        else:
            say(message)

    def close(self) -> None:
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()


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
