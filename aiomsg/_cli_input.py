"""Command-line inputs: ids one per line, or LINE messages as JSON Lines.

An input is read several times (check everything, then send), never held in
memory: a file is re-read from disk, and standard input is first copied to a
temporary file, removed from the directory as soon as it is made (only the open
descriptor keeps it, so no copy of the ids is left behind however the process
ends). Blank lines and ``#`` comments are skipped and surrounding
whitespace is stripped; an item's ``index`` is its 0-based position among the
items, its ``lineno`` the 1-based line of the file it came from.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import shutil
import stat
import sys
import tempfile
import uuid
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Final, Literal

import msgspec

from ._cli_ranges import IndexRanges
from ._codec import encode
from ._errors import ValidationError, redact_text
from ._validation import UUID_RULE, is_uuid
from .eightxeight.models import LineNotification, as_line_notification

__all__ = [
    "MAX_PROBLEMS_SHOWN",
    "InputError",
    "InputFile",
    "ItemKind",
    "Problem",
    "Repeat",
    "Scan",
    "find_repeats",
    "line_message",
    "line_message_id",
    "masked_id",
    "problem_of",
    "shown",
]

ItemKind = Literal["ids", "line"]

#: Bad lines listed in an error message; the rest are counted.
MAX_PROBLEMS_SHOWN: Final = 10

_BOM: Final = b"\xef\xbb\xbf"
_COMMENT: Final = ord("#")
_READ_BUFFER: Final = 1 << 20
#: Longest bad value shown in a message or kept as a report ``id``.
_SHOWN_LIMIT: Final = 40
_ID_LIMIT: Final = 100
# clientMessageIds the command line gives messages that have none: a uuid5 of the
# message's canonical encoding, so identical lines share one id (the library then
# sends such a message once per request and reports every position), and a resumed
# run and a reconciliation use the same id.
_CLIENT_MESSAGE_ID_NAMESPACE: Final = uuid.UUID("5d0f8a8e-6c1b-4f1e-9a55-6e0d3c7b2a41")


class InputError(Exception):
    """The input cannot be read; the message names it and says why."""


class _MessageId(msgspec.Struct, rename="camel"):
    client_message_id: Any = None


_decode_message_id: Final = msgspec.json.Decoder(_MessageId).decode
_decode_json: Final = msgspec.json.Decoder().decode


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad line: where it is and what is wrong with it."""

    index: int
    lineno: int
    message: str

    def __str__(self) -> str:
        return f"line {self.lineno}: {self.message}"


@dataclass(slots=True)
class Scan:
    """What checking an input found: item count, digest, and the bad items."""

    items: int = 0
    digest: str = ""
    invalid: IndexRanges = field(default_factory=IndexRanges)
    problems: list[Problem] = field(default_factory=list)

    @property
    def invalid_count(self) -> int:
        return self.invalid.count


class _SpoolReader(io.RawIOBase):
    """Reads a file by descriptor at its own offset (``pread``), so that several
    readers of one descriptor never disturb each other."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = os.pread(self._fd, len(view), self._offset)
        n = len(data)
        view[:n] = data
        self._offset += n
        return n


class InputFile:
    """An input file (or standard input, copied to an unlinked temporary file first)."""

    def __init__(self, name: str, path: str, *, spool_fd: int | None = None) -> None:
        self.name = name
        self.path = path
        self._spool_fd = spool_fd

    @classmethod
    def open(cls, name: str) -> InputFile:
        """The input called ``name`` on the command line: a path, or ``-`` for stdin.

        Anything but a regular file (stdin, a pipe such as ``<(zcat ids.gz)``) can be
        read only once, so it is copied to a temporary file first.
        """
        if name == "-":
            return cls._spooled("-", sys.stdin.buffer)
        try:
            with open(name, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    return cls._spooled(name, f)
        except OSError as exc:
            raise InputError(f"cannot read {name!r}: {exc.strerror}") from None
        return cls(name, name)

    @classmethod
    def _spooled(cls, name: str, source: BinaryIO) -> InputFile:
        # The copy holds ids or phone numbers: it leaves the directory at once, so
        # that nothing is left behind, whether the process ends normally, by a
        # second Ctrl-C (os._exit) or by kill -9. The descriptor keeps it readable.
        fd, path = tempfile.mkstemp(prefix="aiomsg-input-")
        try:
            if sys.platform != "win32":  # pragma: no branch - Windows cannot unlink open files
                os.unlink(path)
            with os.fdopen(os.dup(fd), "wb") as spool:
                shutil.copyfileobj(source, spool, _READ_BUFFER)
        except BaseException:
            os.close(fd)
            _unlink(path)
            raise
        return cls(name, path, spool_fd=fd)

    @property
    def shown_name(self) -> str:
        return "standard input" if self.name == "-" else repr(self.name)

    def close(self) -> None:
        fd, self._spool_fd = self._spool_fd, None
        if fd is not None:
            os.close(fd)
            if sys.platform == "win32":  # pragma: no cover
                _unlink(self.path)

    def _open(self) -> BinaryIO:
        if self._spool_fd is not None:
            if sys.platform == "win32":  # pragma: no cover - no pread there
                return open(self.path, "rb")
            return io.BufferedReader(_SpoolReader(self._spool_fd), _READ_BUFFER)
        try:
            return open(self.path, "rb")
        except OSError as exc:
            raise InputError(f"cannot read {self.shown_name}: {exc.strerror}") from None

    def scan(self, kind: ItemKind, *, check: bool = True) -> Scan:
        """Count the items and hash the content; with ``check``, check every item."""
        result = Scan()
        digest = hashlib.sha256()
        problem = _CHECKS[kind]
        index = 0
        with self._open() as f:
            for lineno, raw in enumerate(f, 1):
                digest.update(raw)
                item = raw.strip()
                if lineno == 1 and item.startswith(_BOM):
                    item = item[3:].strip()
                if not item or item[0] == _COMMENT:
                    continue
                if check:
                    message = problem(item)
                    if message is not None:
                        _note(result, index, lineno, message)
                index += 1
        result.items = index
        result.digest = digest.hexdigest()
        return result

    def check(self, kind: ItemKind, lo: int, hi: int, into: Scan) -> None:
        """Check the items of ``[lo, hi)`` only (one shard), adding to ``into``."""
        problem = _CHECKS[kind]
        for index, lineno, item in self.items(lo, hi):
            message = problem(item)
            if message is not None:
                _note(into, index, lineno, message)

    def items(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[int, int, bytes]]:
        """``(index, lineno, item)`` for the items of ``[lo, hi)``, stripped, in order."""
        index = 0
        with self._open() as f:
            for lineno, raw in enumerate(f, 1):
                item = raw.strip()
                if lineno == 1 and item.startswith(_BOM):
                    item = item[3:].strip()
                if not item or item[0] == _COMMENT:
                    continue
                if hi is not None and index >= hi:
                    return
                if index >= lo:
                    yield index, lineno, item
                index += 1


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _note(scan: Scan, index: int, lineno: int, message: str) -> None:
    scan.invalid.add(index, index + 1)
    if len(scan.problems) < MAX_PROBLEMS_SHOWN:
        scan.problems.append(Problem(index, lineno, message))


# ---------------------------------------------------------------------------- items


def _masked(item: bytes, limit: int) -> str:
    # Masked before it is cut short, so that a cut never leaves part of a number.
    text = redact_text(item.decode("utf-8", "replace"))
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def shown(item: bytes) -> str:
    """A bad value as it may appear in a message: short, phone numbers masked (the
    library's rule: digit runs, and numbers written with separators after '+')."""
    return repr(_masked(item, _SHOWN_LIMIT))


def masked_id(item: bytes) -> str:
    """The report ``id`` of a line that is not a valid id: phone numbers masked."""
    return _masked(item, _ID_LIMIT)


def _id_problem(item: bytes) -> str | None:
    # The library's own rule (umids, batch ids and Revicom uuids are uuids).
    if len(item) == 36 and item.isascii() and is_uuid(item.decode("ascii")):
        return None
    return f"{shown(item)} is not {UUID_RULE}"


def _message_problem(item: bytes) -> str | None:
    try:
        obj = _decode_json(item)
    except msgspec.DecodeError as exc:
        return redact_text(f"not valid JSON ({exc})")
    if not isinstance(obj, dict):
        return (
            "expected a JSON object (one LINE Notification message in the API's "
            f"camelCase shape), got {_json_type(obj)}"
        )
    try:
        encode(as_line_notification(obj, "message"), "message")
    except ValueError as exc:  # aiomsg.ValidationError names the field and the rule
        return redact_text(str(exc))
    return None


_CHECKS: Final[dict[ItemKind, Callable[[bytes], str | None]]] = {
    "ids": _id_problem,
    "line": _message_problem,
}


def problem_of(kind: ItemKind, item: bytes) -> str:
    """Why an item found bad by ``scan`` is bad."""
    return _CHECKS[kind](item) or "invalid"


def _json_type(obj: object) -> str:
    if isinstance(obj, list):
        return "an array"
    if isinstance(obj, str):
        return "a string"
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "a boolean"
    return "a number"


def derived_message_id(message: LineNotification, scope: str) -> str:
    """The clientMessageId of a message that has none: a uuid5 of the job's input
    digest (``scope``) and the message's canonical encoding (fields in a fixed order,
    no whitespace). Identical messages of one input share it, however their lines were
    written, and every run over that input gives the same id; the same message in
    another input gets another id, so reconciling by id stays unambiguous."""
    canonical = encode(msgspec.structs.replace(message, client_message_id=msgspec.UNSET))
    return str(uuid.uuid5(_CLIENT_MESSAGE_ID_NAMESPACE, f"{scope}\n{canonical.decode()}"))


def line_message(item: bytes, scope: str) -> LineNotification:
    """A checked JSONL line as the message to send, with a clientMessageId."""
    message = as_line_notification(_decode_json(item), "message")
    if message.client_message_id is msgspec.UNSET:
        cmid = derived_message_id(message, scope)
        message = msgspec.structs.replace(message, client_message_id=cmid)
    return message


def line_message_id(item: bytes, scope: str) -> str | None:
    """The clientMessageId a JSONL line is (or would be) sent with; for a line that is
    not a valid message, its clientMessageId if it has one."""
    try:
        cmid = _decode_message_id(item).client_message_id
    except msgspec.DecodeError:
        return None
    if isinstance(cmid, str):
        return cmid
    if cmid is not None:
        return None
    try:
        return derived_message_id(as_line_notification(_decode_json(item), "message"), scope)
    except (ValidationError, msgspec.DecodeError):
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
    source: InputFile, lo: int, hi: int, invalid: IndexRanges, scope: str
) -> dict[int, Repeat]:
    """The positions of ``[lo, hi)`` whose clientMessageId an earlier valid position
    already has (a clientMessageId is sent at most once per job).

    Two passes, so that memory follows the repeats, not the input: the first keeps
    8 bytes per message (a hash of its clientMessageId) and sorts them; the second,
    only when some hash repeats, compares the ids and messages behind those hashes.
    """
    hashes = array("Q")
    bad = invalid.cursor()
    for index, _, item in source.items(lo, hi):
        if index in bad:
            continue
        hashes.append(_hash64((line_message_id(item, scope) or "").encode()))
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
        cmid = line_message_id(item, scope) or ""
        if _hash64(cmid.encode()) not in repeated:
            continue
        digest = hashlib.blake2b(encode(line_message(item, scope)), digest_size=16).digest()
        first = firsts.get(cmid)
        if first is None:
            firsts[cmid] = (index, lineno, digest)
        else:
            found[index] = Repeat(first[0], first[1], identical=first[2] == digest)
    return found
