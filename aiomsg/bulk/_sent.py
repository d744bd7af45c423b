"""The ids a bulk job has sent, so that each goes out at most once per job.

LINE: a notification that reaches a person twice cannot be undone, and 8x8 does not
de-duplicate on ``clientMessageId``. 8x8 cancels are idempotent, but a repeat must
still get its first's outcome, not an answer of its own ("nothing to cancel"). So a
job checks every id it sends against the ids it sent before. How
depends on the input, so the common case costs C-level work only:

- **A list**: each request's ids go into one ``set`` as the request is built (one
  C-level update while those ids are in cache; a pass over the list up front cost
  LINE's W1 about 0.2 µs a message in cache misses). While no id repeats that is
  all: the set, and each request's id list (the report's own column). At the first
  repeat, the ids so far move, with their input positions, into the exact
  structures below, and a repeat is then checked against the first item itself
  (random access): no hashing trade-off.
- **An iterator** (or async iterator) is read once and its items dropped, so the
  job remembers each id as it goes, with a fingerprint of its item. While the job
  is small (up to ``SMALL_LIMIT`` ids) that is a ``dict`` from the id itself
  (exact, C-level set operations per request); past it the ids move once into a
  compact open-addressing table of two ``array('q')`` columns:

  - the key: the id's 64-bit keyed hash (Python's ``hash`` of a ``str``, SipHash with
    a per-process random key, so no input can be crafted to collide);
  - the value: the input position of the id's first occurrence (40 bits) and a
    23-bit fingerprint of the first item (of the whole message for LINE, of the id
    under another key for a uuid or umid).

  16 bytes per slot, at most 70 % full before it doubles: 23 to 46 bytes per id,
  measured by ``benchmarks/dedupe_memory.py``.

A later item whose id is found is checked before anything is decided: against the
first item itself when the input is a list (exact), else against the fingerprint.
A false "identical repeat" needs two different ids to share both the 64-bit key and
the fingerprint (about 2^-87 per pair, and only past ``SMALL_LIMIT``); a LINE
message whose key matches with another fingerprint is a different message (failed
visibly, never silently) or a different id (sent). Either way nothing is sent twice.

Outcomes of firsts are kept per request, as the report's own columns (shared
tuples when a request's items all had one outcome), so a repeat found later can
take its first's outcome, code and error.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from itertools import repeat
from operator import add, and_, lshift, or_
from typing import Any, Final

import anyio

from ._results import ChunkResult, Outcome

__all__ = ["SMALL_LIMIT", "SentIds", "id_fingerprints", "key_of", "pack", "unpack"]

_POSITION_BITS: Final = 40
_POSITION_MASK: Final = (1 << _POSITION_BITS) - 1
FINGERPRINT_MASK: Final = (1 << 23) - 1
_MIN_SLOTS: Final = 1 << 10
#: Entries at most 7/10 of the slots: probes stay short (double hashing).
_LOAD_NUM, _LOAD_DEN = 7, 10
#: Ids an iterator job keeps in a ``dict`` before moving them to the compact table:
#: about 150 bytes each there (the id string is kept alive), so at most ~10 MB.
SMALL_LIMIT = 1 << 16

Columns = tuple[Sequence[Outcome], Sequence[int | None], Sequence[BaseException | None]]
Hit = tuple[int, int, list[int]]

#: The fingerprint's hash, bound apart from the id key's (tests replace that one).
_fingerprint_hash: Final = hash
#: Appended to an id before hashing it for its fingerprint: another SipHash input
#: than the key's, so the two are independent.
_SALT: Final = "\x00fingerprint"


def id_fingerprints(ids: Iterable[str]) -> list[int]:
    """Fingerprints of items that are their ids (uuids, umids), at C speed."""
    return list(
        map(and_, map(_fingerprint_hash, map(add, ids, repeat(_SALT))), repeat(FINGERPRINT_MASK))
    )


class SentIds:
    """Ids sent by one job; ``source`` is the input when it is a list (random access
    lets a repeat be checked against the first message itself)."""

    def __init__(self, source: list[Any] | None, chunk_size: int) -> None:
        self.source = source
        self.chunk_size = chunk_size
        # A list, while no id has repeated: its ids in one set, and each request's
        # (start, chunk positions, ids) to build the exact table from at a repeat.
        self._seen: set[str] | None = set() if source is not None else None
        self._admitted: dict[int, tuple[Sequence[int], Sequence[str]]] = {}
        # Ids (exactly) while few, then the compact table.
        self._small: dict[str, int] | None = None if source is not None else {}
        self._small_limit = SMALL_LIMIT
        self._slots = _MIN_SLOTS if source is None else 8
        self._keys = array("q", bytes(8 * self._slots))
        self._values = array("q", bytes(8 * self._slots))
        self._used = 0
        self._limit = self._slots * _LOAD_NUM // _LOAD_DEN
        # Outcome columns of finished requests, by their first input position.
        self._finished: dict[int, Columns] = {}
        self._waiting: dict[int, anyio.Event] = {}

    def __len__(self) -> int:
        if self._seen is not None:
            return len(self._seen)
        return self._used + (len(self._small) if self._small is not None else 0)

    @property
    def nbytes(self) -> int:
        """Bytes held by the table (the two columns; a set's or dict's own size)."""
        held = self._keys.itemsize * len(self._keys) + self._values.itemsize * len(self._values)
        if self._small is not None:
            held += self._small.__sizeof__()
        if self._seen is not None:
            held += self._seen.__sizeof__() + sum(
                ids.__sizeof__() for _, ids in self._admitted.values()
            )
        return held

    def find(self, key: int) -> list[int]:
        """Values stored under ``key`` in the table (more than one only after a hash
        collision)."""
        keys, mask = self._keys, self._slots - 1
        i = key & mask
        step = ((key >> 32) | 1) & mask
        found = []
        while (k := keys[i]) != 0:
            if k == key:
                found.append(self._values[i])
            i = (i + step) & mask
        return found

    def add(self, key: int, value: int) -> None:
        """Keep ``value`` under ``key``: a message found to be new although its key was
        there (another id with the same 64-bit hash)."""
        if self._used + 1 > self._limit:
            self._grow(self._used + 1)
        keys, mask = self._keys, self._slots - 1
        i = key & mask
        if keys[i] != 0:
            step = ((key >> 32) | 1) & mask
            while keys[i] != 0:
                i = (i + step) & mask
        keys[i] = key
        self._values[i] = value
        self._used += 1

    def admit(
        self,
        cmids: Sequence[str],
        positions: Sequence[int],
        start: int,
        fps: Sequence[int] | None,
    ) -> list[Hit]:
        """Add every id of a request not seen before (``positions`` are their chunk
        positions, ``start`` the chunk's input position, ``fps`` their messages'
        fingerprints when kept); return ``(k, key, values)`` for each ``cmids[k]``
        whose id (or key) is already there, which the caller checks and may ``add``."""
        if set(map(type, cmids)) != {str}:
            # A str subclass is sent as its plain value: compare that, with str's own
            # hash and equality, whatever the subclass overrides.
            cmids = list(map(str.__str__, cmids))
        if self._seen is not None and self._all_new(cmids, positions, start):
            return []
        where = _where(start, positions)
        values: Iterable[int] = where
        if fps is not None:  # the fingerprint above the position, at C speed
            values = map(or_, map(lshift, fps, repeat(_POSITION_BITS)), where)
        small = self._small
        if small is not None:
            if small.keys().isdisjoint(cmids) and not self._used:
                small.update(zip(cmids, values, strict=True))
                if len(small) > self._small_limit:
                    self._migrate()
                return []
            return self._admit_small(small, cmids, list(values))
        return self._admit_table(cmids, list(values))

    def all_new(
        self, cmids: Sequence[str], start: int, positions: Sequence[int] | None = None
    ) -> bool:
        """True when a list's request (plain ``str`` ids at chunk ``positions``, else
        every chunk position) repeats no id, within it or from earlier requests: its
        ids are then kept as sent. False decides nothing: ``admit`` follows."""
        if self._seen is None:
            return False
        return self._all_new(cmids, range(len(cmids)) if positions is None else positions, start)

    def _all_new(self, cmids: Sequence[str], positions: Sequence[int], start: int) -> bool:
        # One C-level set update per request, while each id is in cache from
        # building the request, answers "all new" in the common case.
        seen = self._seen
        assert seen is not None
        before = len(seen)
        seen.update(cmids)
        if len(seen) - before == len(cmids):
            got = self._admitted.get(start)
            if got is None:
                self._admitted[start] = (positions, cmids)
            else:  # one item at a time (one request each): one entry per chunk
                self._admitted[start] = ([*got[0], *positions], [*got[1], *cmids])
            return True
        self._leave_set()  # a repeat: from here on, the exact table
        return False

    def _leave_set(self) -> None:
        """A list's id repeated: its ids so far, each with its input position, move
        to the exact dict (and the table past ``SMALL_LIMIT``), once."""
        admitted, self._admitted, self._seen = self._admitted, {}, None
        small: dict[str, int] = {}
        for start, (positions, cmids) in admitted.items():
            small.update(zip(cmids, _where(start, positions), strict=True))
        self._small = small
        if len(small) > self._small_limit:
            self._migrate()

    def _admit_small(
        self, small: dict[str, int], cmids: Sequence[str], values: list[int]
    ) -> list[Hit]:
        hits: list[Hit] = []
        for k, cmid in enumerate(cmids):
            known = small.get(cmid)
            found = self.find(key_of(cmid)) if self._used else []
            if known is not None:
                found.insert(0, known)
            if found:
                hits.append((k, key_of(cmid), found))
            else:
                small[cmid] = values[k]
        if len(small) > self._small_limit:
            self._migrate()
        return hits

    def _admit_table(self, cmids: Sequence[str], values: list[int]) -> list[Hit]:
        hits: list[Hit] = []
        # Room for the whole request first: no check per id in the loop below.
        if self._used + len(cmids) > self._limit:
            self._grow(self._used + len(cmids))
        keys, table = self._keys, self._values
        mask = self._slots - 1
        used = self._used
        for k, key in enumerate(map(key_of, cmids)):
            i = key & mask
            if keys[i]:
                step = ((key >> 32) | 1) & mask
                found = []
                while (other := keys[i]) != 0:
                    if other == key:
                        found.append(table[i])
                    i = (i + step) & mask
                if found:
                    hits.append((k, key, found))
                    continue
            keys[i] = key
            table[i] = values[k]
            used += 1
        self._used = used
        return hits

    def _migrate(self) -> None:
        """The job outgrew the dict: move its ids into the compact table, once."""
        small, self._small = self._small, None
        assert small is not None
        self._grow(self._used + len(small))
        add = self.add
        for cmid, value in small.items():
            add(key_of(cmid), value)

    def _grow(self, needed: int) -> None:
        slots = self._slots
        while slots * _LOAD_NUM // _LOAD_DEN < needed:
            slots *= 2
        if slots == self._slots:
            return
        old = zip(self._keys, self._values, strict=True)
        self._slots = slots
        self._keys = array("q", bytes(8 * slots))
        self._values = array("q", bytes(8 * slots))
        self._limit = slots * _LOAD_NUM // _LOAD_DEN
        self._used = 0
        add = self.add
        for k, v in old:
            if k:
                add(k, v)

    # ----------------------------------------------------------- firsts' outcomes

    def finished(self, result: ChunkResult) -> None:
        """A request's outcomes are final: keep its columns for later repeats (shared
        tuples when its messages all had one outcome; a non-streaming report holds
        the same columns)."""
        self._finished[result.start] = (result.outcomes, result.codes, result.errors)
        event = self._waiting.pop(result.start, None)
        if event is not None:
            event.set()

    def outcome_now(self, position: int) -> tuple[Outcome, int | None, BaseException | None] | None:
        """The outcome of the message at input ``position``, if its request is done."""
        start = position - position % self.chunk_size
        columns = self._finished.get(start)
        if columns is None:
            return None
        outcomes, codes, errors = columns
        i = position - start
        return outcomes[i], codes[i], errors[i]

    async def outcome(self, position: int) -> tuple[Outcome, int | None, BaseException | None]:
        """The outcome of the message at ``position``, waiting for its request."""
        while (found := self.outcome_now(position)) is None:
            start = position - position % self.chunk_size
            event = self._waiting.get(start)
            if event is None:
                event = self._waiting[start] = anyio.Event()
            await event.wait()
        return found


def _where(start: int, positions: Sequence[int]) -> Iterable[int]:
    """Input positions of a request's chunk ``positions``."""
    if type(positions) is range:
        return range(start + positions.start, start + positions.stop, positions.step)
    return map(start.__add__, positions)


def key_of(client_message_id: str) -> int:
    """The table key of an id: its keyed hash, never 0 (0 marks an empty slot)."""
    return hash(client_message_id) or 1


def pack(position: int, fp: int) -> int:
    return (fp << _POSITION_BITS) | position


def unpack(value: int) -> tuple[int, int]:
    return value & _POSITION_MASK, value >> _POSITION_BITS
