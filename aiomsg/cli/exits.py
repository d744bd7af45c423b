"""Exit codes of the command line, and the error that means "bad usage" (exit 2)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "EXIT_CODES",
    "EXIT_INCOMPLETE",
    "EXIT_NOT_ALL_SUCCEEDED",
    "EXIT_OK",
    "EXIT_REQUESTS_FAILED",
    "EXIT_USAGE",
    "UsageError",
]

EXIT_OK: Final = 0
EXIT_NOT_ALL_SUCCEEDED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INCOMPLETE: Final = 3
EXIT_REQUESTS_FAILED: Final = 4

#: What ``--help`` says about them.
EXIT_CODES: Final = """exit codes:
  0  every item succeeded (or --dry-run found the input valid)
  1  every item accounted for, some did not succeed (not found, rejected, unknown ...)
  2  bad usage or input, a journal of another job, or an output path that is the
     input, the journal or the other output: nothing was sent
  3  interrupted or incomplete: re-run with the same --journal to resume
  4  items failed because their requests failed as a whole (authentication,
     connection, server errors after the retries): a re-run with the same
     --journal sends them again
  when several apply, the first of 2, 3, 4, 1.
"""


class UsageError(Exception):
    """Bad usage or input: the message says what to fix; nothing was sent (exit 2)."""
