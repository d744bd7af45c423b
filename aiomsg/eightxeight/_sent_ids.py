"""The clientMessageIds a LINE bulk job has sent: each goes out at most once per job.

A notification that reaches a person twice cannot be undone, and 8x8 does not
de-duplicate on ``clientMessageId``, so a job checks every id it sends against the
ids it sent before. How depends on the input, so the common case costs C-level work
only:

- **A list** is read once, up front, at C speed: its ids, and which of them occur
  more than once. When all are distinct (the common case) nothing more is kept or
  done per request. Otherwise only the repeated ids are remembered, each with the
  exact input position of its first sent occurrence: no hashing trade-off. Messages
  given without an id get a fresh random uuid4 each, so they need no check.
- **An iterator** (or async iterator) is read once and its messages dropped, so the
  job remembers each id as it goes. While the job is small (up to ``SMALL_LIMIT``
  ids) that is a ``dict`` from the id itself (exact, C-level set operations per
  request); past it the ids move once into a compact open-addressing table of two
  ``array('q')`` columns:

  - the key: the id's 64-bit keyed hash (Python's ``hash`` of a ``str``, SipHash with
    a per-process random key, so no input can be crafted to collide);
  - the value: the input position of the id's first occurrence (40 bits) and a
    23-bit fingerprint of the first message.

  16 bytes per slot, at most 70 % full before it doubles: 23 to 46 bytes per id,
  measured by ``benchmarks/dedupe_memory.py``.

A later message whose id is found is checked before anything is decided: against
the first message itself when the input is a list (exact), else against the
fingerprint. A false "identical repeat" needs the fingerprints of two messages with
the same id, or with ids sharing the 64-bit key, to collide; a false "different
message" needs only the key (about 2^-64 per pair, and only past ``SMALL_LIMIT``)
and fails that message visibly (``ValidationError``), never silently. Either way
nothing is sent twice.

Outcomes of firsts are kept per request, as the report's own columns (shared
tuples when a request's messages all had one outcome), so a repeat found later can
take its first's outcome, code and error; a list with distinct ids keeps none.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import compress, repeat
from operator import lshift, or_
from typing import Any, Final

import anyio
import msgspec
from msgspec import UNSET

from .._codec import encode
from ..bulk import ChunkResult, Outcome
from .models import LineNotification

__all__ = ["SentIds"]

_POSITION_BITS: Final = 40
_POSITION_MASK: Final = (1 << _POSITION_BITS) - 1
_FINGERPRINT_MASK: Final = (1 << 23) - 1
_MIN_SLOTS: Final = 1 << 10
#: Entries at most 7/10 of the slots: probes stay short (double hashing).
_LOAD_NUM, _LOAD_DEN = 7, 10
#: Ids an iterator job keeps in a ``dict`` before moving them to the compact table:
#: about 150 bytes each there (the id string is kept alive), so at most ~10 MB.
SMALL_LIMIT = 1 << 16

Columns = tuple[Sequence[Outcome], Sequence[int | None], Sequence[BaseException | None]]
Hit = tuple[int, int, list[int]]

_NO_ID: Final = (type(UNSET), type(None))


#: The fingerprint's hash, bound apart from the id key's (tests replace that one).
_fingerprint_hash: Final = hash


def _plain_str(obj: object) -> object:
    """A str subclass is sent as its plain value (as the wire's encoder does)."""
    if isinstance(obj, str):
        return str.__str__(obj)
    raise NotImplementedError(type(obj).__name__)


#: The fields as msgpack: the same content as the wire's JSON, about a quarter
#: cheaper to produce (no escaping), and only ever hashed.
_pack_fields: Final = msgspec.msgpack.Encoder(enc_hook=_plain_str).encode


def fingerprint(message: Any) -> int:
    """A small keyed hash of a message's content (its id included)."""
    try:
        packed = _pack_fields(message)
    except Exception:
        encode(message, "message")  # the typed error the wire form gives
        raise
    return _fingerprint_hash(packed) & _FINGERPRINT_MASK


def _plain(value: object) -> object:
    """An id as compared here: a ``str`` subclass goes on the wire as its plain value,
    so compare that, with str's own hash and equality, whatever the subclass
    overrides; no id (``UNSET``, ``None``) stays as it is."""
    if isinstance(value, str):
        return str.__str__(value)
    return value if value is UNSET or value is None else str(value)


def _repeated_ids(source: list[Any]) -> set[str] | None:
    """The ids occurring more than once in a list, found in one pass at C speed when
    it holds messages (the common case: typed, plain ``str`` ids, all distinct).

    The set may hold more than the ids sent twice (an invalid message's id counts),
    never fewer. None when the list holds items whose ids cannot be read up front
    as the job will read them (a mapping other than a ``dict``)."""
    try:
        # What the job reads of a typed message; a mapping raises.
        distinct = {m.client_message_id for m in source}
    except (AttributeError, TypeError):
        distinct = set()
    if len(distinct) == len(source) and set(map(type, distinct)) == {str}:
        return set()  # the common case, in one C-level pass
    del distinct
    if any(not isinstance(m, LineNotification | dict) for m in source):
        return None
    ids: list[Any] = [
        m.get("clientMessageId") if type(m) is dict else m.client_message_id for m in source
    ]
    kinds = set(map(type, ids))
    if not kinds <= {str, *_NO_ID}:
        try:
            ids = list(map(_plain, ids))
        except Exception:
            return None
        kinds = set(map(type, ids))
    # Without an id: one is generated (a fresh uuid4, never one sent before).
    given = len(ids) - (ids.count(UNSET) if type(UNSET) in kinds else 0)
    given -= ids.count(None) if type(None) in kinds else 0
    distinct = set(ids)
    distinct.discard(UNSET)
    distinct.discard(None)
    if len(distinct) == given:
        return set()
    del distinct
    counts = Counter(ids)
    counts.pop(UNSET, None)
    counts.pop(None, None)
    keys = list(counts)
    return set(compress(keys, map((1).__lt__, map(counts.__getitem__, keys))))


class SentIds:
    """Ids sent by one job; ``source`` is the input when it is a list (random access
    lets a repeat be checked against the first message itself)."""

    def __init__(self, source: list[Any] | None, chunk_size: int) -> None:
        self.source = source
        self.chunk_size = chunk_size
        # A list: the ids it repeats, and the first sent position of each of them.
        self._repeated: set[str] | None = None
        self._first: dict[str, int] = {}
        # Starts of the requests whose outcomes a repeat may need (a list only).
        self._firsts_in: set[int] = set()
        # An iterator: ids (exactly) while few, then the compact table.
        self._small: dict[str, int] | None = None
        self._small_limit = SMALL_LIMIT
        self._slots = _MIN_SLOTS
        if source is not None:
            self._repeated = _repeated_ids(source)
        if self._repeated is not None:
            # Only a hash shared by two different ids (see ``add``) reaches the table.
            self._slots = 8
        else:
            self._small = {}
        self._keys = array("q", bytes(8 * self._slots))
        self._values = array("q", bytes(8 * self._slots))
        self._used = 0
        self._limit = self._slots * _LOAD_NUM // _LOAD_DEN
        # Outcome columns of finished requests, by their first input position.
        self._finished: dict[int, Columns] = {}
        self._waiting: dict[int, anyio.Event] = {}

    def __len__(self) -> int:
        if self._repeated is not None:
            return len(self._first) + self._used
        return self._used + (len(self._small) if self._small is not None else 0)

    @property
    def nbytes(self) -> int:
        """Bytes held by the table (the two columns; a dict's own size while small)."""
        held = self._keys.itemsize * len(self._keys) + self._values.itemsize * len(self._values)
        if self._small is not None:
            held += self._small.__sizeof__()
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
        if self._repeated is not None and not self._repeated:
            return []  # the common case: a list whose ids are all distinct
        if set(map(type, cmids)) != {str}:
            # A str subclass is sent as its plain value: compare that, with str's own
            # hash and equality, whatever the subclass overrides.
            cmids = list(map(str.__str__, cmids))
        if self._repeated is not None:
            if self._repeated.isdisjoint(cmids):
                return []  # no id of this request repeats in the list
            return self._admit_repeated(cmids, positions, start)
        if type(positions) is range:
            where: Iterable[int] = range(
                start + positions.start, start + positions.stop, positions.step
            )
        else:
            where = map(start.__add__, positions)
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

    def _admit_repeated(
        self, cmids: Sequence[str], positions: Sequence[int], start: int
    ) -> list[Hit]:
        hits: list[Hit] = []
        repeated, first_of = self._repeated, self._first
        assert repeated is not None
        for k, cmid in enumerate(cmids):
            # Past ``add`` only: an id sharing its hash with an id kept there.
            found = self.find(key_of(cmid)) if self._used else []
            if cmid in repeated:
                first = first_of.get(cmid)
                if first is None:
                    position = start + positions[k]
                    first_of[cmid] = position
                    self._firsts_in.add(position - position % self.chunk_size)
                else:
                    found.insert(0, first)
            if found:
                hits.append((k, key_of(cmid), found))
        return hits

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
        """A request's outcomes are final: keep its columns for later repeats."""
        if self._repeated is None or result.start in self._firsts_in:
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


def key_of(client_message_id: str) -> int:
    """The table key of an id: its keyed hash, never 0 (0 marks an empty slot)."""
    return hash(client_message_id) or 1


def pack(position: int, fp: int) -> int:
    return (fp << _POSITION_BITS) | position


def unpack(value: int) -> tuple[int, int]:
    return value & _POSITION_MASK, value >> _POSITION_BITS
