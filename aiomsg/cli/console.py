"""What a job shows while it runs, on standard error: messages and the progress bar.

The progress bar is tqdm's (small, pure Python, no dependencies; it sizes itself to
the terminal and computes rate and ETA); it is drawn only when standard error is a
terminal, so logs and pipes get the summary alone. tqdm is imported when a bar is
drawn, not when the command line starts.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["ProgressBar", "say"]


def say(message: str) -> None:
    """A line on standard error (above the progress bar, when there is one)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


class ProgressBar:
    """Items done out of ``total``, rate and ETA; a no-op when not on a terminal."""

    def __init__(self, *, total: int, initial: int, desc: str, enabled: bool) -> None:
        self._bar: tqdm[NoReturn] | None = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

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
