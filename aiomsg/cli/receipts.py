"""``aiomsg 8x8 receipts serve`` and ``aiomsg 8x8 line reconcile``: closing the loop.

``receipts serve`` runs the delivery-receipt receiver (``aiomsg.receipts``) with a
SQLite store, until SIGINT or SIGTERM: it stops taking connections, lets the
receipts in flight be stored and answered, and closes the store. A receipt is
acknowledged only once committed, so nothing acknowledged is lost however it stops.

``line reconcile`` reads the journal of an ``aiomsg 8x8 line send`` job and its
input (the journal names it by SHA-256: another input is refused), and reports every
item of the job once, in input order, with its final outcome and delivery state:
``unknown`` items are resolved from the stored receipts (waiting up to ``--wait``
for the last ones), ``accepted`` ones get their latest state. It never sends.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, Final

from .common import add_command, port
from .webhooks import ENV_AUTHORIZATION

if TYPE_CHECKING:
    from .common import Commands

__all__ = ["add_commands", "parse_duration", "reconcile_journal", "serve_receipts"]

_DURATION_RE: Final = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*", re.IGNORECASE)
_UNIT: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
#: The longest --wait: 8x8 retries a receipt for minutes, not days.
MAX_WAIT: Final = 86_400.0


def add_commands(eight: Commands, line: Commands) -> None:
    """``8x8 receipts serve`` (under ``eight``) and ``8x8 line reconcile`` (under ``line``)."""
    receipts = eight.add_parser("receipts", help="8x8 delivery receipts").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    serve = add_command(
        receipts, "serve", "receive 8x8's delivery receipts into a SQLite store until stopped"
    )
    serve.add_argument("--port", type=port, required=True, help="port (0: a free one)")
    serve.add_argument("--store", required=True, metavar="PATH", help="SQLite receipt store")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve.add_argument(
        "--authorization-env",
        metavar="VAR",
        default=ENV_AUTHORIZATION,
        help="environment variable holding the webhook's httpAuthorization value "
        f"(default: {ENV_AUTHORIZATION})",
    )
    serve.add_argument("--quiet", action="store_true", help="no progress line on standard error")
    serve.set_defaults(handler=serve_receipts)

    rec = add_command(
        line, "reconcile", "report a LINE job's final outcomes from stored receipts (sends nothing)"
    )
    rec.add_argument("--journal", required=True, metavar="PATH", help="the line send's journal")
    rec.add_argument("--store", required=True, metavar="PATH", help="SQLite receipt store")
    rec.add_argument(
        "--report",
        metavar="PATH",
        help="write one record per input item (JSON Lines; CSV if PATH ends in .csv; - for "
        "standard output)",
    )
    rec.add_argument(
        "--input",
        metavar="FILE",
        help="the job's input (default: the path the journal records); it must be the "
        "same file content",
    )
    rec.add_argument(
        "--wait",
        type=_wait,
        default=0.0,
        metavar="DURATION",
        help="wait up to this long for the last receipts: 90, 30s, 10m, 1h (default: 0)",
    )
    rec.add_argument(
        "--sub-account",
        metavar="ID",
        help="only trust receipts from this sub-account (the one the job sent from)",
    )
    rec.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    rec.set_defaults(handler=reconcile_journal)


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``1.5``, ``500ms``, ``30s``, ``10m`` or ``1h``."""
    match = _DURATION_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"expected a duration such as 30s, 10m or 1h, got {text!r}")
    return float(match[1]) * _UNIT[(match[2] or "s").lower()]


def _wait(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds > MAX_WAIT:
        raise argparse.ArgumentTypeError(f"at most 24h, got {text!r}")
    return seconds


def serve_receipts(args: argparse.Namespace) -> int:
    """``aiomsg 8x8 receipts serve --port N --store PATH``."""
    from .receipts_run import serve  # loaded when the command runs, not for --help

    return serve(args)


def reconcile_journal(args: argparse.Namespace) -> int:
    """``aiomsg 8x8 line reconcile --journal J --store PATH``."""
    from .receipts_run import reconcile_journal as run

    return run(args)
