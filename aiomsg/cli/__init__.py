"""The ``aiomsg`` command line, on the library's public API only.

``main`` parses the arguments (``parser``) and runs the command's handler (one
module per provider: ``revicom``, ``eightxeight``, ``simulator``). A bulk command
describes its ``Operation`` and hands it to a ``BulkJob`` (``job``), which plans
the work (``plan``: input, shard, journal), sends it, journals it (``journal``),
reports every item (``report``), and ends with a summary and an exit code
(``summary``); ``--dry-run`` (``dryrun``) shows the plan instead.

Exit codes (``EXIT_CODES``, shown by ``--help``): 0 every item succeeded (or
``--dry-run`` found the input valid); 1 every item accounted for, some did not
succeed; 2 bad usage or input, a journal from another job, or an output that would
overwrite an input, the journal or another output (nothing sent); 3 interrupted or
incomplete (resumable with the same ``--journal``); 4 items failed because their
requests failed as a whole (a re-run with the same ``--journal`` sends them again).
When several apply, the first of 2, 3, 4, 1 is the exit code.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

from aiomsg import APIError, ConfigurationError, ConflictError, NotFoundError, ValidationError

from .console import say
from .exits import (
    EXIT_INCOMPLETE,
    EXIT_NOT_ALL_SUCCEEDED,
    EXIT_REQUESTS_FAILED,
    EXIT_USAGE,
    UsageError,
)
from .parser import build_parser, command_parser, misplaced_option

__all__ = ["main"]


def _say(message: str) -> None:
    say(f"aiomsg: {message}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    misplaced = misplaced_option(parser, sys.argv[1:] if argv is None else argv)
    if misplaced is not None:
        parser.exit(EXIT_USAGE, f"aiomsg: {misplaced}\n")
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # with the usage of the command it was given to
        words = sys.argv[1:] if argv is None else argv
        command_parser(parser, words).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.handler(args))
    except UsageError as exc:
        _say(str(exc))
    except (ConfigurationError, ValidationError) as exc:
        _say(str(exc))
    except ConflictError as exc:
        _say(f"refused by 8x8 ({exc.status_code}): {exc.message}. Only a DRAFT flow can be deleted")
        return EXIT_NOT_ALL_SUCCEEDED
    except NotFoundError as exc:
        _say(f"not found ({exc.status_code}): {exc.message}")
        return EXIT_NOT_ALL_SUCCEEDED
    except APIError as exc:
        # The request failed as a whole (authentication, connection, a server fault
        # after the retries): not an answer about the batch or flow; run it again.
        _say(f"{exc}; nothing was done: run the command again once the cause is fixed")
        return EXIT_REQUESTS_FAILED
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INCOMPLETE
    except OSError as exc:
        _say(str(exc))
        return EXIT_INCOMPLETE
    except Exception:  # a bug: show it, and do not let it pass for exit code 1
        traceback.print_exc()
        _say("unexpected error; a --journal is left consistent: re-run to resume")
        return EXIT_INCOMPLETE
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
