"""The clientMessageIds of a LINE job: derived for messages without one, and repeats.

A clientMessageId is sent at most once per job, across runs: only the first
position of an id is ever sent. A later position with the same id is a ``Repeat``:
the identical message gets the first one's outcome (``RepeatOutcomes``), another
message reusing the id is failed. The same holds for the umids of an 8x8 cancel job
(``find_repeats(line=False)``): a repeat gets its first's outcome.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from array import array
from dataclasses import dataclass, field
from typing import Final, Literal

import msgspec

from aiomsg import LineNotification, Outcome, ValidationError
from aiomsg.eightxeight.models import as_line_notification

from .input import InputFile, decode_json
from .ranges import IndexRanges
from .report import Row

__all__ = [
    "Repeat",
    "RepeatOutcomes",
    "Settlement",
    "derived_message_id",
    "find_repeats",
    "line_message",
    "line_message_id",
]

# clientMessageIds the command line gives messages that have none: a uuid5 of the
# message's canonical encoding, so identical lines share one id (the library then
# sends such a message once per request and reports every position), and a resumed
# run and a reconciliation use the same id.
_CLIENT_MESSAGE_ID_NAMESPACE: Final = uuid.UUID("5d0f8a8e-6c1b-4f1e-9a55-6e0d3c7b2a41")
# The canonical encoding: the wire form (fields in a fixed order, no whitespace).
_encode: Final = msgspec.json.Encoder().encode
# The outcome of a repeated clientMessageId's record until it is written (resolve).
PENDING_REPEAT: Final = ""

Settlement = Literal["final", "retryable", "interrupted", ""]
"""What an item's outcome means for the job: final, failed with its request (sent
again by a re-run), cut short by Ctrl-C, or neither (not final for another reason)."""


class _MessageId(msgspec.Struct, rename="camel"):
    client_message_id: object = None


_decode_message_id: Final = msgspec.json.Decoder(_MessageId).decode


def derived_message_id(message: LineNotification, scope: str) -> str:
    """The clientMessageId of a message that has none: a uuid5 of the job's input
    digest (``scope``) and the message's canonical encoding (fields in a fixed order,
    no whitespace). Identical messages of one input share it, however their lines were
    written, and every run over that input gives the same id; the same message in
    another input gets another id, so reconciling by id stays unambiguous."""
    canonical = _encode(msgspec.structs.replace(message, client_message_id=msgspec.UNSET))
    return str(uuid.uuid5(_CLIENT_MESSAGE_ID_NAMESPACE, f"{scope}\n{canonical.decode()}"))


def line_message(item: bytes, scope: str) -> LineNotification:
    """A checked JSONL line as the message to send, with a clientMessageId."""
    message = as_line_notification(decode_json(item), "message")
    if message.client_message_id is msgspec.UNSET:
        cmid = derived_message_id(message, scope)
        message = msgspec.structs.replace(message, client_message_id=cmid)
    return message


def line_message_id(item: bytes, scope: str) -> str | None:
    """The clientMessageId a JSONL line is (or would be) sent with; for a line that is
    not a valid message, its clientMessageId if it has one."""
    try:
        cmid = _decode_message_id(item).client_message_id
    except (msgspec.DecodeError, RecursionError):
        return None
    if isinstance(cmid, str):
        return cmid
    if cmid is not None:
        return None
    try:
        return derived_message_id(as_line_notification(decode_json(item), "message"), scope)
    except (ValidationError, msgspec.DecodeError, RecursionError):
        return None


@dataclass(frozen=True, slots=True)
class Repeat:
    """A LINE message whose clientMessageId an earlier position of the job already
    has: it is never sent. ``identical``: the same message (it gets the first one's
    outcome); otherwise another message reusing the id (failed)."""

    first: int
    first_line: int
    identical: bool


def _hash64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def find_repeats(
    source: InputFile, lo: int, hi: int, invalid: IndexRanges, scope: str, *, line: bool = True
) -> dict[int, Repeat]:
    """The positions of ``[lo, hi)`` whose id an earlier valid position already has
    (a clientMessageId is sent at most once per job, and so is an 8x8 umid to
    cancel: ``line=False``, where the line is the id and a repeat always identical).

    Two passes, so that memory follows the repeats, not the input: the first keeps
    8 bytes per item (a hash of its id) and sorts them; the second, only when some
    hash repeats, compares the ids and messages behind those hashes.
    """
    id_of = (lambda item: line_message_id(item, scope)) if line else _line_as_id
    hashes = array("Q")
    bad = invalid.cursor()
    for index, _, item in source.items(lo, hi):
        if index in bad:
            continue
        hashes.append(_hash64((id_of(item) or "").encode()))
    ordered = sorted(hashes)
    del hashes
    repeated = {b for a, b in itertools.pairwise(ordered) if a == b}
    del ordered
    if not repeated:
        return {}
    firsts: dict[str, tuple[int, int, bytes]] = {}
    found: dict[int, Repeat] = {}
    bad = invalid.cursor()
    for index, lineno, item in source.items(lo, hi):
        if index in bad:
            continue
        cmid = id_of(item) or ""
        if _hash64(cmid.encode()) not in repeated:
            continue
        digest = b"" if not line else _message_digest(item, scope)
        first = firsts.get(cmid)
        if first is None:
            firsts[cmid] = (index, lineno, digest)
        else:
            found[index] = Repeat(first[0], first[1], identical=first[2] == digest)
    return found


def _line_as_id(item: bytes) -> str:
    return item.decode("ascii")


def _message_digest(item: bytes, scope: str) -> bytes:
    return hashlib.blake2b(_encode(line_message(item, scope)), digest_size=16).digest()


def repeat_error(repeat: Repeat, why: str, noun: str = "clientMessageId") -> str:
    """The error of a repeat that is not sent (``noun``: what the id is)."""
    return (
        f"not sent: line {repeat.first_line} has this {noun} and {why} (a {noun} is "
        "sent at most once per job)"
    )


@dataclass(slots=True)
class RepeatOutcomes:
    """Hands what the first position of a repeated clientMessageId came to on to its
    identical repeats, whose records are written after it (in input order)."""

    repeats: dict[int, Repeat] = field(default_factory=dict)
    firsts: set[int] = field(default_factory=set)
    noun: str = "clientMessageId"
    _settled: dict[int, Settlement] = field(default_factory=dict)
    _first: dict[int, tuple[str, int | None, str | None, Settlement]] = field(default_factory=dict)

    @classmethod
    def of(cls, repeats: dict[int, Repeat], noun: str = "clientMessageId") -> RepeatOutcomes:
        return cls(repeats, {r.first for r in repeats.values()}, noun)

    def settle(self, position: int, settlement: Settlement) -> None:
        """Note what a finished first position's outcome means (before it is written)."""
        if position in self.firsts:
            self._settled[position] = settlement

    def resolve(self, row: Row) -> tuple[Row, Settlement | None]:
        """The record as written: a first position's is noted, an identical repeat's
        gets its first's outcome, with the settlement to count (None: counted already)."""
        index, lineno, cmid, outcome, code, error = row
        if index in self.firsts:
            settlement = self._settled.pop(index, "final")
            self._first[index] = (outcome, code, error, settlement)
            return row, None
        if outcome != PENDING_REPEAT:
            return row, None
        repeat = self.repeats[index]
        first = self._first.get(repeat.first)
        if first is None:  # its first record is late (the reorder bound was passed)
            error = repeat_error(repeat, "had no answer yet", self.noun)
            return (index, lineno, cmid, Outcome.UNKNOWN.value, None, error), ""
        outcome, code, error, settlement = first
        return (index, lineno, cmid, outcome, code, error), settlement
