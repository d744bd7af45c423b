"""``aiomsg report merge OUT REPORT... [--journal JOURNAL...]``: the shards' reports as one.

The work is in ``merging``, loaded when the command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import add_command
from .console import say

if TYPE_CHECKING:
    from .common import Commands

__all__ = ["add_commands"]


def add_commands(top: Commands) -> None:
    report = top.add_parser("report", help="work with bulk job reports").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    merge = add_command(
        report, "merge", "merge the shards' reports into one, each input position once"
    )
    merge.add_argument("out", metavar="OUT", help="the merged report (CSV if it ends in .csv)")
    merge.add_argument(
        "reports", metavar="REPORT", nargs="+", help="the shards' reports (JSON Lines or CSV)"
    )
    merge.add_argument(
        "--journal",
        dest="journals",
        action="extend",
        nargs="+",
        default=[],
        metavar="JOURNAL",
        help="the shards' journals (after the reports): they check that the reports are "
        "of one job and give the input's length",
    )
    merge.add_argument("--quiet", action="store_true", help="no summary on standard error")
    merge.set_defaults(handler=merge_command)


def merge_command(args: argparse.Namespace) -> int:
    """``aiomsg report merge OUT REPORT... [--journal JOURNAL...]``."""
    from .merging import MergeError, merge_reports, merged_exit_code  # loaded when it runs

    try:
        counts = merge_reports(args.out, args.reports, args.journals)
    except MergeError as exc:
        say(f"aiomsg: {exc}\nNothing was written.")
        return exc.code
    if not args.quiet:
        records, reports = sum(counts.values()), len(args.reports)
        each = ", ".join(f"{n:,} {outcome}" for outcome, n in sorted(counts.items()))
        say(
            f"merged {records:,} records from {reports} report{'' if reports == 1 else 's'}"
            + (f": {each}" if each else "")
        )
    return merged_exit_code(counts)
