"""``--dry-run``: check the whole input and the arguments, show what would be sent."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from itertools import islice
from typing import Final

from .exits import EXIT_NOT_ALL_SUCCEEDED, EXIT_OK
from .operation import C, I, Operation
from .plan import Plan
from .summary import plural

__all__ = ["dry_run"]

#: Requests listed; the rest are counted.
_PLAN_SHOWN: Final = 10


async def dry_run(operation: Operation[C, I], plan: Plan) -> int:
    """Show the plan on standard output; exit 0, or 1 when bad lines would be failed."""
    op = operation
    async with op.checked_client(dry_run=True):
        pass  # opened and closed: the arguments are checked, nothing is sent
    items = plan.items
    bad = plan.invalid_count()
    done = plan.done_count()
    held = plan.held_count()
    shard = plan.options.shard
    out = [f"dry run of 'aiomsg {op.name}': nothing is sent"]
    out.append(f"input {plan.input.shown_name}: {plan.scan.items:,} items" + (
        f"; shard {shard[0]}/{shard[1]} is items {plan.lo:,}-{plan.hi - 1:,} ({items:,})"
        if shard else ""
    ))  # fmt: skip
    if done:
        out.append(f"{done:,} items already finished (journal): reported, not sent")
    if held:
        out.append(f"{held:,} LINE messages in flight in an earlier run: reported unknown, "
                   "not sent (--resend-unknown sends them)")  # fmt: skip
    if bad:
        out.append(f"{plural(bad, 'bad line')} would be reported failed (--skip-invalid):")
        out += [f"  {p}" for p in plan.problems()]
    repeats = plan.repeats.repeats
    if repeats:
        conflicts = sum(1 for r in repeats.values() if not r.identical)
        if op.kind == "line":
            out.append(
                f"{plural(len(repeats), 'message')} repeat an earlier clientMessageId: "
                f"not sent ({conflicts:,} of them a different message, reported failed)"
            )
        else:
            out.append(
                f"{plural(len(repeats), op.noun)} repeat an earlier line: not sent "
                "(reported with the first one's outcome)"
            )
    per = op.per_request
    requests = math.ceil(plan.pending / per)
    unit = f"{op.noun}s" if per > 1 else op.noun
    each = f"up to {per:,} {unit} each" if per > 1 else f"one {unit} each"
    out.append(f"would send {plural(plan.pending, op.noun)} in {plural(requests, 'request')}"
               f" ({each})")  # fmt: skip
    for i, group in enumerate(_groups(_plan_feed(plan), per)):
        if i == _PLAN_SHOWN:
            out.append(f"  ... and {requests - _PLAN_SHOWN:,} more requests")
            break
        first, last = group[0][0], group[-1][0]
        if per == 1:  # one request per item: its URL names the item
            out.append(f"  {op.method} {op.url(group[0][1])}  (item {first:,})")
        else:
            span = f"item {first:,}" if first == last else f"items {first:,}-{last:,}"
            out.append(f"  {op.method} {op.url('')}  {len(group):,} {unit} ({span})")
    sys.stdout.write("\n".join(out) + "\n")
    return EXIT_NOT_ALL_SUCCEEDED if bad else EXIT_OK


def _plan_feed(plan: Plan) -> Iterator[tuple[int, str]]:
    line = plan.operation.kind == "line"
    for index, _, item in plan.feed():
        yield index, "" if line else item.decode("ascii")


def _groups(feed: Iterator[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    while group := list(islice(feed, size)):
        yield group
