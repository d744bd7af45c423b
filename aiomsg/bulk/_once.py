"""Job-wide rules that send an id at most once (``OncePerJob``), and the one for
items that are their ids (``FirstOutcome``: 8x8 umids to cancel).

Cancelling is idempotent, so cancelling a umid twice does no harm at 8x8; but the
second answer is about the first ("nothing to cancel"), and a report must not say
two things about one message. So an id is carried by the first request that has
it; a repeat in a later request is never sent and takes its first's outcome, code
and error, waiting for them while that request is out. Ids are compared as written
(a umid in capitals is another id). The ids are kept by ``SentIds`` (``_sent``), as
for LINE. (Revicom stops take it only when asked, ``once_per_job=True``: a second stop is
answered about the message as it then is, and holding every uuid of a million-uuid
job costs more than the rest of its client work; see docs/bulk.md.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._admission import Admitted, Known, Prepared
from ._results import BulkInterruptedError, ChunkResult, Outcome
from ._sent import SentIds, id_fingerprints, pack, unpack

__all__ = ["FirstOutcome", "OncePerJob"]


class OncePerJob:
    """What every job-wide "an id at most once" rule shares: its ids (``sent``), the
    fast way in, and the outcome a repeat takes. ``field`` names the input and
    ``what`` an item in the error of a repeat left ``unknown``."""

    def __init__(self, sent: SentIds, field: str, what: str) -> None:
        self.sent = sent
        self.field = field
        self.what = what

    def all_new(
        self, ids: Sequence[str], start: int, positions: Sequence[int] | None = None
    ) -> bool:
        return self.sent.all_new(ids, start, positions)

    def finished(self, result: ChunkResult) -> None:
        self.sent.finished(result)

    async def outcome(self, position: int) -> Known:
        return await self.sent.outcome(position)

    def settled(self, position: int) -> Known:
        known = self.sent.outcome_now(position)
        if known is not None:
            return known
        return (
            Outcome.UNKNOWN,
            None,
            BulkInterruptedError(
                f"the job stopped before the outcome of this {self.what}'s first occurrence "
                f"({self.field}[{position}]) was known; it was not sent again"
            ),
        )


class FirstOutcome(OncePerJob):
    """A repeated id takes its first's outcome (``source``: the input, when a list;
    ``chunk_size``: the job's, which requests start at multiples of)."""

    def __init__(self, source: list[Any] | None, chunk_size: int, field: str) -> None:
        super().__init__(SentIds(source, chunk_size), field, "id")

    def admit(self, prepared: Prepared[str], start: int, size: int) -> Admitted[str]:
        """Keep the ids this job has not sent; ``later`` the others, with the input
        position of their first."""
        ids, positions, repeats = prepared.items, prepared.positions, prepared.repeats
        sent = self.sent
        fps = None if sent.source is not None else id_fingerprints(ids)
        hits = sent.admit(ids, positions, start, fps)
        if not hits:
            return Admitted(ids, positions, repeats, [], [])
        here = range(start, start + size)
        first_of: dict[int, int] = {}  # index into ids -> input position of its first
        for k, key, values in hits:
            fp = 0 if fps is None else fps[k]
            first = self._first(ids[k], values, fp, here)
            if first is None:  # another id with the same 64-bit key: this one is new
                sent.add(key, pack(start + positions[k], fp))
            else:
                first_of[k] = first
        keep = [k for k in range(len(ids)) if k not in first_of]
        new_index = {k: n for n, k in enumerate(keep)}
        later = [(positions[k], first) for k, first in first_of.items()]
        kept_repeats: list[tuple[int, int]] = []
        for i, k in repeats:
            first = first_of.get(k)
            if first is None:
                kept_repeats.append((i, new_index[k]))
            else:
                later.append((i, first))
        return Admitted([ids[k] for k in keep], [positions[k] for k in keep], kept_repeats,
                        later, [])  # fmt: skip

    def _first(self, uuid: str, values: list[int], fp: int, here: range) -> int | None:
        """The input position of the first occurrence of ``uuid``, or None."""
        source = self.sent.source
        for value in values:
            position, stored_fp = unpack(value)
            if position in here:
                continue  # another id of the same request with the same 64-bit key
            if source is None:
                if stored_fp == fp:
                    return position
                continue
            item = source[position]
            if isinstance(item, str) and str.__str__(item) == uuid:
                return position
        return None
