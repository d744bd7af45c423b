"""The clientMessageIds a LINE bulk job has sent: each goes out at most once per job.

A notification that reaches a person twice cannot be undone, and 8x8 does not
de-duplicate on ``clientMessageId``, so a job remembers every id it sends, in a
compact open-addressing table of two ``array('q')`` columns:

- the key: the id's 64-bit keyed hash (Python's ``hash`` of a ``str``, SipHash with
  a per-process random key, so no input can be crafted to collide);
- the value: the input position of the id's first occurrence (40 bits) and, when
  the input is read once (an iterator), a 23-bit fingerprint of the first message.

16 bytes per slot, at most 70 % full before it doubles: 23 to 46 bytes per id,
measured by ``benchmarks/dedupe_memory.py``. A later message whose key is found is
checked before anything is decided: against the first message itself when the input
is a list (exact: a hash collision is told apart and the message is sent), else
against the fingerprint. With an iterator, a false "identical repeat" needs two
different ids to share the 64-bit key and their encoded messages to share the
fingerprint (about 2^-87 per pair); a false "different message" needs only the key
(about 2^-64 per pair) and fails that message visibly (``ValidationError``), never
silently. Either way nothing is sent twice.

Outcomes of firsts are kept per request, as the report's own columns (shared
tuples when a request's messages all had one outcome), so a repeat found later can
take its first's outcome, code and error.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any, Final

import anyio

from .._codec import encode
from ..bulk import ChunkResult, Outcome

__all__ = ["SentIds"]

_POSITION_BITS: Final = 40
_POSITION_MASK: Final = (1 << _POSITION_BITS) - 1
_FINGERPRINT_MASK: Final = (1 << 23) - 1
_MIN_SLOTS: Final = 1 << 10
#: Entries at most 7/10 of the slots: probes stay short (double hashing).
_LOAD_NUM, _LOAD_DEN = 7, 10

Columns = tuple[Sequence[Outcome], Sequence[int | None], Sequence[BaseException | None]]


#: The fingerprint's hash, bound apart from the id key's (tests replace that one).
_fingerprint_hash: Final = hash


def fingerprint(message: Any) -> int:
    """A small keyed hash of a message's wire form (its id included)."""
    return _fingerprint_hash(encode(message)) & _FINGERPRINT_MASK


class SentIds:
    """Ids sent by one job; ``source`` is the input when it is a list (random access
    lets a repeat be checked against the first message itself)."""

    def __init__(self, source: list[Any] | None, chunk_size: int) -> None:
        self.source = source
        self.chunk_size = chunk_size
        # A list's length is known: size the table once rather than grow it.
        self._slots = _MIN_SLOTS
        while source is not None and self._slots * _LOAD_NUM // _LOAD_DEN < len(source):
            self._slots *= 2
        self._keys = array("q", bytes(8 * self._slots))
        self._values = array("q", bytes(8 * self._slots))
        self._used = 0
        self._limit = self._slots * _LOAD_NUM // _LOAD_DEN
        # Outcome columns of finished requests, by their first input position.
        self._finished: dict[int, Columns] = {}
        self._waiting: dict[int, anyio.Event] = {}

    def __len__(self) -> int:
        return self._used

    @property
    def nbytes(self) -> int:
        """Bytes held by the table (the two columns)."""
        return self._keys.itemsize * len(self._keys) + self._values.itemsize * len(self._values)

    def find(self, key: int) -> list[int]:
        """Values stored under ``key`` (more than one only after a hash collision)."""
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
        keys, mask = self._keys, self._slots - 1
        i = key & mask
        if keys[i] != 0:
            step = ((key >> 32) | 1) & mask
            while keys[i] != 0:
                i = (i + step) & mask
        keys[i] = key
        self._values[i] = value
        self._used += 1
        if self._used > self._limit:
            self._grow()

    def admit(
        self,
        cmids: Sequence[str],
        positions: Sequence[int],
        start: int,
        fps: Sequence[int] | None,
    ) -> list[tuple[int, int, list[int]]]:
        """Add every id of a request not seen before (``positions`` are their chunk
        positions, ``start`` the chunk's input position, ``fps`` their messages'
        fingerprints when kept); return ``(k, key, values)`` for each ``cmids[k]``
        whose key is already there, which the caller checks and may ``add``."""
        hits: list[tuple[int, int, list[int]]] = []
        keys, values = self._keys, self._values
        mask = self._slots - 1
        for k, cmid in enumerate(cmids):
            key = hash(cmid) or 1
            i = key & mask
            if keys[i] != 0:
                found = self.find(key)
                if found:
                    hits.append((k, key, found))
                    continue
                step = ((key >> 32) | 1) & mask
                while keys[i] != 0:
                    i = (i + step) & mask
            keys[i] = key
            position = start + positions[k]
            values[i] = position if fps is None else (fps[k] << _POSITION_BITS) | position
            self._used += 1
            if self._used > self._limit:
                self._grow()
                keys, values, mask = self._keys, self._values, self._slots - 1
        return hits

    def _grow(self) -> None:
        old = zip(self._keys, self._values, strict=True)
        self._slots *= 2
        self._keys = array("q", bytes(8 * self._slots))
        self._values = array("q", bytes(8 * self._slots))
        self._limit = self._slots * _LOAD_NUM // _LOAD_DEN
        self._used = 0
        add = self.add
        for k, v in old:
            if k:
                add(k, v)

    # ----------------------------------------------------------- firsts' outcomes

    def finished(self, result: ChunkResult) -> None:
        """A request's outcomes are final: keep its columns for later repeats."""
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
