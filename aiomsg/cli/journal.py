"""The resume journal of a bulk job: what is finished, what was in flight.

A journal is a JSON Lines file, appended to and never rewritten::

    {"journal": "aiomsg", "version": 2, "fingerprint": "...", "command": ..., ...}
    {"sent": [[0, 1000]]}
    {"done": [[0, 1000]], "r": [[998, "accepted", null, null], [2, "rejected", 3003, "..."]]}
    {"unsent": [[1000, 2000]]}

The header names the job: a fingerprint of the command, its arguments, the
endpoint (resolved base URL, region), the shard and the input's SHA-256, so a
journal is never applied to other work. A ``done`` record lists the input
positions a request finished (as ranges) and their outcomes run-length encoded,
in position order: a re-run skips those positions and still reports them. Only
final outcomes are recorded as done: the provider's answer about each item, or
bad input; an item whose request failed as a whole (a 401, a 5xx or 429 after
the retries, a connection error) or that was never sent is left for a re-run to
send. A ``sent`` record is written, and fsync'd, before a LINE request leaves, so
that a request whose answer never arrived is known and not re-sent by accident;
an ``unsent`` record withdraws positions of this run's ``sent`` records whose
request provably did not reach 8x8 (refused with a 4xx, never sent), so a re-run
sends them again.

Each record is one ``write()`` of a whole line: a process killed at any moment
leaves at worst a torn last line, which is ignored and cut off on the next open.
A file whose only content is a torn header is a job that never started and is
begun afresh; any other file that is not a journal is refused, never overwritten.
Records reach the operating system at once (they survive the process being
killed); ``sync_each`` fsyncs every record, otherwise fsync runs at most every half
second and on close (a machine crash may then forget the last moments of
idempotent work, which a re-run repeats harmlessly).
"""

from __future__ import annotations

import hashlib
import heapq
import os
import sys
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import msgspec

from aiomsg.bulk import Outcome

from .ranges import IndexRanges

__all__ = [
    "Finished",
    "JobIdentity",
    "Journal",
    "JournalError",
    "JournalHeader",
    "Run",
    "is_journal",
    "read_header",
]

FORMAT: Final = "aiomsg"
VERSION: Final = 2
#: Without ``sync_each``, fsync at most this often (seconds).
SYNC_INTERVAL: Final = 0.5

Run = tuple[int, str, int | None, str | None]
"""A run of consecutive items with the same outcome: (count, outcome, code, error)."""
Finished = tuple[int, str, int | None, str | None]
"""One item an earlier run finished, as replayed: (index, outcome, code, error)."""

_OUTCOMES: Final = frozenset(o.value for o in Outcome)
# How every header starts (msgspec writes the fields in order): a file holding
# only a prefix of this, or a line starting with it, is an aiomsg journal.
_HEADER_START: Final = b'{"journal":"aiomsg",'


class JournalError(Exception):
    """The journal cannot be used for this run; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class JobIdentity:
    """What makes two runs the same job: command, arguments, endpoint, shard and input.

    ``endpoint`` holds where requests go, as (name, value) pairs: the resolved base
    URL and, for 8x8, the region. Base URLs never hold credentials or a query (the
    clients refuse them), so they may be written in the header.
    """

    command: str
    params: tuple[tuple[str, str], ...]
    input_name: str
    input_digest: str
    items: int
    shard: str | None
    endpoint: tuple[tuple[str, str], ...] = ()

    @property
    def fingerprint(self) -> str:
        canonical = msgspec.json.encode(
            [
                self.command,
                list(self.params),
                list(self.endpoint),
                self.input_digest,
                self.items,
                self.shard,
            ]
        )
        return hashlib.sha256(canonical).hexdigest()

    @property
    def job(self) -> str:
        """The fingerprint every shard of one job shares: ``fingerprint`` with the shard
        count in place of the shard (a run without shards is one shard of one)."""
        count = self.shard.split("/")[1] if self.shard else "1"
        canonical = msgspec.json.encode(
            [
                self.command,
                list(self.params),
                list(self.endpoint),
                self.input_digest,
                self.items,
                count,
            ]
        )
        return hashlib.sha256(canonical).hexdigest()

    def describe(self) -> str:
        shard = f", shard {self.shard}" if self.shard else ""
        where = ", ".join(f"{name} {value}" for name, value in self.endpoint)
        return (
            f"'aiomsg {self.command}' over {self.items} items of {self.input_name!r} "
            f"(SHA-256 {self.input_digest[:12]}...{shard})" + (f" against {where}" if where else "")
        )


class _Header(msgspec.Struct, kw_only=True):
    journal: str
    version: int
    fingerprint: str
    command: str
    input: str
    input_digest: str
    items: int
    shard: str | None = None
    endpoint: list[tuple[str, str]] = msgspec.field(default_factory=list)
    #: ``JobIdentity.job`` (absent from journals of earlier versions).
    job: str | None = None


class _Record(msgspec.Struct, kw_only=True, omit_defaults=True):
    sent: list[tuple[int, int]] | None = None
    done: list[tuple[int, int]] | None = None
    r: list[tuple[int, str, int | None, str | None]] | None = None
    unsent: list[tuple[int, int]] | None = None


_encode: Final = msgspec.json.Encoder().encode
_decode_record: Final = msgspec.json.Decoder(_Record).decode
_decode_header: Final = msgspec.json.Decoder(_Header).decode


class Journal:
    """An open journal: what earlier runs did, and appending what this run does.

    ``done`` holds the positions earlier runs finished, ``sent`` those a LINE
    request carried (finished or not). Open with ``Journal.open``; ``readonly``
    journals (for ``--dry-run``) are read but never created or written.
    """

    def __init__(self, path: str, fd: int | None, *, sync_each: bool) -> None:
        self.path = path
        self._fd = fd
        self._sync_each = sync_each
        self._last_sync = time.monotonic()
        self._dirty = False
        self.done = IndexRanges()
        self.sent = IndexRanges()
        self.records = 0
        # Where each done record starts (first position, byte offset), for replay.
        self._firsts = array("q")
        self._offsets = array("q")

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls, path: str, identity: JobIdentity, *, readonly: bool = False, sync_each: bool = False
    ) -> Journal:
        """Open (creating it unless ``readonly``) and load the journal at ``path``.

        Raises ``JournalError`` when it belongs to another job, is damaged, or is in
        use by another process.
        """
        if readonly:
            journal = cls(path, None, sync_each=False)
            if os.path.exists(path):
                journal._load(identity, truncate=False)
            return journal
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise JournalError(f"cannot open the journal {path!r}: {exc.strerror}") from None
        journal = cls(path, fd, sync_each=sync_each)
        try:
            _lock(fd, path)
            if os.fstat(fd).st_size == 0 or not journal._load(identity, truncate=True):
                journal._write_header(identity)
        except BaseException:
            os.close(fd)
            raise
        return journal

    @classmethod
    def read(cls, path: str) -> tuple[Journal, JournalHeader]:
        """Load an existing journal read-only, whatever job it belongs to, with the
        job its header names. Raises ``JournalError`` when it is missing, not a
        journal, or damaged."""
        header = read_header(path)
        journal = cls(path, None, sync_each=False)
        journal._load(header, truncate=False)
        return journal, header

    def _write_header(self, identity: JobIdentity) -> None:
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        header = _Header(
            journal=FORMAT,
            version=VERSION,
            fingerprint=identity.fingerprint,
            command=identity.command,
            input=identity.input_name,
            input_digest=identity.input_digest,
            items=identity.items,
            shard=identity.shard,
            endpoint=list(identity.endpoint),
            job=identity.job,
        )
        self._append(_encode(header) + b"\n", sync=True)
        _sync_directory(self.path)

    def _load(self, identity: JobIdentity | JournalHeader, *, truncate: bool) -> bool:
        """Read the journal; False when it holds no complete header (a fresh start)."""
        with open(self.path, "rb") as f:
            first = f.readline()
            if not first.endswith(b"\n"):
                # The whole file is one line without its end: the run that made it
                # died while writing the header (a fresh start), or it is some other
                # file, which must not be overwritten.
                if _HEADER_START.startswith(first) or first.startswith(_HEADER_START):
                    return False
                raise JournalError(
                    f"{self.path!r} exists and is not an aiomsg journal; it was left as "
                    "it is. Give --journal a new path"
                )
            self._check_header(first, identity)
            offset = len(first)
            lineno = 1
            for line in f:
                lineno += 1
                if not line.endswith(b"\n"):
                    # A torn last record: cut it off, so appends start on a new line.
                    if truncate and self._fd is not None:
                        os.ftruncate(self._fd, offset)
                    break
                self._load_record(line, lineno, offset, identity.items)
                offset += len(line)
        return True

    def _check_header(self, line: bytes, identity: JobIdentity | JournalHeader) -> None:
        try:
            header = _decode_header(line)
        except (msgspec.DecodeError, RecursionError):
            raise JournalError(
                f"{self.path!r} is not an aiomsg journal; give --journal a new path"
            ) from None
        if header.journal != FORMAT:
            raise JournalError(f"{self.path!r} is not an aiomsg journal; give --journal a new path")
        if header.version != VERSION:
            raise JournalError(
                f"the journal {self.path!r} has format version {header.version}; this "
                f"aiomsg reads version {VERSION}. Resume it with the aiomsg that made it, "
                "or give --journal a new path"
            )
        if header.fingerprint != identity.fingerprint:
            made = JobIdentity(
                command=header.command,
                params=(),
                input_name=header.input,
                input_digest=header.input_digest,
                items=header.items,
                shard=header.shard,
                endpoint=tuple((str(k), str(v)) for k, v in header.endpoint),
            )
            raise JournalError(
                f"the journal {self.path!r} belongs to another job: it records "
                f"{made.describe()}, and this run is {identity.describe()}. Nothing was "
                "sent. Re-run with the original input and arguments to resume that job, "
                "or give --journal a new path"
            )

    def _load_record(self, line: bytes, lineno: int, offset: int, items: int) -> None:
        try:
            record = _decode_record(line)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise self._damaged(lineno, str(exc)) from None
        if record.sent is not None:
            for start, stop in record.sent:
                self._check_range(start, stop, items, lineno)
                self.sent.add(start, stop)
        if record.unsent is not None:
            for start, stop in record.unsent:
                self._check_range(start, stop, items, lineno)
                self.sent.discard(start, stop)
        if record.done is not None:
            if not record.done or record.r is None:
                raise self._damaged(lineno, "a done record without items or outcomes")
            size = 0
            for start, stop in record.done:
                self._check_range(start, stop, items, lineno)
                if self.done.overlaps(start, stop):
                    raise self._damaged(lineno, f"positions {start}-{stop - 1} finished twice")
                size += stop - start
            if sum(run[0] for run in record.r) != size:
                raise self._damaged(lineno, "outcome counts do not add up to the positions")
            for count, outcome, _, _ in record.r:
                if count < 1 or outcome not in _OUTCOMES:
                    raise self._damaged(lineno, f"bad outcome run ({count}, {outcome!r})")
            for start, stop in record.done:
                self.done.add(start, stop)
            self._firsts.append(record.done[0][0])
            self._offsets.append(offset)
        self.records += 1

    def _check_range(self, start: int, stop: int, items: int, lineno: int) -> None:
        if not 0 <= start < stop <= items:
            raise self._damaged(lineno, f"positions [{start}, {stop}) outside the input")

    def _damaged(self, lineno: int, why: str) -> JournalError:
        return JournalError(
            f"the journal {self.path!r} is damaged at line {lineno} ({why}); it cannot be "
            "trusted to resume. Give --journal a new path (the job then starts over)"
        )

    # ------------------------------------------------------------------ reading

    def in_flight(self) -> IndexRanges:
        """Positions a LINE request carried in an earlier run whose answer never came."""
        return self.sent.minus(self.done)

    def replay(self) -> Iterator[Finished]:
        """The outcomes earlier runs recorded, one per position, in ascending position.

        Records are read back one at a time (merged by position, since requests
        finish out of order), so memory does not grow with the journal.
        """
        if not self._firsts:
            return
        firsts = self._firsts
        order = sorted(range(len(firsts)), key=firsts.__getitem__)
        heap: list[tuple[int, int, Finished, Iterator[Finished]]] = []
        k = 0
        with open(self.path, "rb") as f:
            while True:
                if k < len(order) and (not heap or firsts[order[k]] <= heap[0][0]):
                    f.seek(self._offsets[order[k]])
                    rows = _rows(_decode_record(f.readline()))
                    row = next(rows)
                    heapq.heappush(heap, (row[0], k, row, rows))
                    k += 1
                    continue
                if not heap:
                    return
                _, seq, row, rows = heapq.heappop(heap)
                yield row
                following = next(rows, None)
                if following is not None:
                    heapq.heappush(heap, (following[0], seq, following, rows))

    # ------------------------------------------------------------------ writing

    def record_sent(self, ranges: Sequence[tuple[int, int]]) -> None:
        """Note, durably, the positions a request is about to carry (before it leaves)."""
        self._append(_encode(_Record(sent=list(ranges))) + b"\n", sync=True)

    def record_unsent(self, ranges: Sequence[tuple[int, int]]) -> None:
        """Withdraw positions of this run's ``sent`` records whose request provably did
        not reach the provider: a re-run sends them again. Not fsync'd at once: if it
        is lost, a re-run holds them as in flight, the safe side."""
        if ranges:
            self._append(_encode(_Record(unsent=list(ranges))) + b"\n", sync=self._sync_each)

    def record_done(self, ranges: Sequence[tuple[int, int]], runs: Sequence[Run]) -> None:
        """Note the positions a request finished and their outcomes (runs in order)."""
        data = _encode(_Record(done=list(ranges), r=list(runs))) + b"\n"
        self._append(data, sync=self._sync_each)

    def _append(self, data: bytes, *, sync: bool) -> None:
        fd = self._fd
        if fd is None:
            return
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        self.records += 1
        now = time.monotonic()
        if sync or now - self._last_sync >= SYNC_INTERVAL:
            os.fsync(fd)
            self._last_sync = now
            self._dirty = False
        else:
            self._dirty = True

    def close(self) -> None:
        """fsync what is pending and release the journal (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self._dirty:
                os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True, slots=True)
class JournalHeader:
    """What a journal's header says of its job (``job`` None: an older journal)."""

    fingerprint: str
    command: str
    input_name: str
    input_digest: str
    items: int
    shard: str | None
    endpoint: tuple[tuple[str, str], ...]
    job: str | None

    def describe(self) -> str:
        shard = f", shard {self.shard}" if self.shard else ""
        return (
            f"'aiomsg {self.command}' over {self.items} items of {self.input_name!r} "
            f"(SHA-256 {self.input_digest[:12]}...{shard})"
        )


def read_header(path: str) -> JournalHeader:
    """The header of the journal at ``path``; ``JournalError`` when it has none."""
    try:
        with open(path, "rb") as f:
            first = f.readline()
    except OSError as exc:
        raise JournalError(f"cannot read the journal {path!r}: {exc.strerror}") from None
    try:
        header = _decode_header(first)
    except (msgspec.DecodeError, RecursionError):
        header = None
    if header is None or header.journal != FORMAT or not first.endswith(b"\n"):
        raise JournalError(f"{path!r} is not an aiomsg journal (or holds no header yet)")
    if header.version != VERSION:
        raise JournalError(
            f"the journal {path!r} has format version {header.version}; this aiomsg "
            f"reads version {VERSION}"
        )
    return JournalHeader(
        fingerprint=header.fingerprint,
        command=header.command,
        input_name=header.input,
        input_digest=header.input_digest,
        items=header.items,
        shard=header.shard,
        endpoint=tuple((str(k), str(v)) for k, v in header.endpoint),
        job=header.job,
    )


def is_journal(path: str) -> bool:
    """Whether the file at ``path`` starts like an aiomsg journal (False if unreadable)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(_HEADER_START)) == _HEADER_START
    except OSError:
        return False


def _rows(record: _Record) -> Iterator[Finished]:
    assert record.done is not None
    assert record.r is not None
    positions = (i for start, stop in record.done for i in range(start, stop))
    for count, outcome, code, error in record.r:
        for _ in range(count):
            yield next(positions), outcome, code, error


def _lock(fd: int, path: str) -> None:
    """Hold an exclusive lock for the run: two processes must not share a journal."""
    if sys.platform == "win32":  # pragma: no cover - no flock there
        return
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise JournalError(
            f"the journal {path!r} is in use by another aiomsg process; wait for it to "
            "finish, or give --journal another path"
        ) from None


def _sync_directory(path: str) -> None:
    """fsync the directory, so that a new journal file survives a machine crash."""
    if sys.platform == "win32":  # pragma: no cover
        return
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:  # pragma: no cover - unusual file systems
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
