"""Inputs of a bulk job: ids one per line, or LINE messages as JSON Lines.

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
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Final, Literal

import msgspec

from aiomsg import ValidationError, check_uuid, redact
from aiomsg.eightxeight.models import as_line_notification

from .ranges import IndexRanges

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "MAX_PROBLEMS_SHOWN",
    "InputError",
    "InputFile",
    "ItemKind",
    "Problem",
    "Scan",
    "decode_json",
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


class InputError(Exception):
    """The input cannot be read; the message names it and says why."""


decode_json: Final = msgspec.json.Decoder().decode


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


class _SpoolReader(io.RawIOBase):
    """Reads a file by descriptor at its own offset (``pread``), so that several
    readers of one descriptor never disturb each other."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
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
    text = redact(item.decode("utf-8", "replace"))
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
    try:
        check_uuid(item.decode("utf-8", "replace"), "id")
    except ValidationError as exc:
        return f"{shown(item)} is not {exc.rule}"
    return None


def _message_problem(item: bytes) -> str | None:
    try:
        obj = decode_json(item)
    except (msgspec.DecodeError, RecursionError) as exc:
        return redact(f"not valid JSON ({exc})")
    if not isinstance(obj, dict):
        return (
            "expected a JSON object (one LINE Notification message in the API's "
            f"camelCase shape), got {_json_type(obj)}"
        )
    try:
        # Decoded JSON holds only text msgspec can encode again (it refuses lone
        # surrogates when decoding): building the message checks it whole.
        as_line_notification(obj, "message")
    except ValueError as exc:  # aiomsg.ValidationError names the field and the rule
        return redact(str(exc))
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
