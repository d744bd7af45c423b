"""Per-item reports of a bulk job: JSON Lines, or CSV when the path ends in .csv.

One record per input item: ``index`` (0-based input position), ``line`` (1-based
line of the input it came from), ``id``, ``outcome``, ``code`` and ``error``, in
input order: requests finish out of order, so ``InputOrder`` holds records until
those before them are written, up to a stated bound (see ``reorder_bound``).

A report file is written to a temporary file beside it (``.NAME.*.partial``) and
renamed over ``PATH`` when the run ends, interrupted or not: a report in place is
always whole, and a run that dies (kill -9, a second Ctrl-C) leaves the previous
report as it was, with its partial file beside it.
"""

from __future__ import annotations

import csv
import errno
import heapq
import io
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO, Final, Protocol

import msgspec

__all__ = [
    "FIELDS",
    "MIN_REORDER_BOUND",
    "InputOrder",
    "ReportError",
    "ReportWriter",
    "Row",
    "open_report",
    "reorder_bound",
]

FIELDS: Final = ("index", "line", "id", "outcome", "code", "error")
#: Records held back for input order, at least (see ``reorder_bound``).
MIN_REORDER_BOUND: Final = 50_000

Row = tuple[int, int, str | None, str, int | None, str | None]
"""(index, line, id, outcome, code, error)"""


class ReportError(Exception):
    """The report cannot be written; the message names the path and why."""


class ReportWriter(Protocol):
    def write(self, rows: Sequence[Row]) -> None:
        """Write these records and flush them to the operating system."""

    def close(self, *, complete: bool = True) -> None:
        """End the report: put it in place, or (not ``complete``) leave the old one."""


class _Record(msgspec.Struct):
    index: int
    line: int
    id: str | None
    outcome: str
    code: int | None
    error: str | None


class _NoReport:
    def write(self, rows: Sequence[Row]) -> None:
        pass

    def close(self, *, complete: bool = True) -> None:
        pass


class _Placement:
    """A temporary file beside ``path``, renamed over it once the report is whole.

    A symlink is followed (the file it names is replaced, not the link); a path that
    is not a regular file (a pipe such as ``>(gzip > r.gz)``, ``/dev/stdout``) is
    written directly, since it cannot be replaced.
    """

    def __init__(self, path: str) -> None:
        self.path = os.path.realpath(path)
        self.temp: str | None = None
        try:
            st: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a directory")
        if st is not None and not stat.S_ISREG(st.st_mode):
            self.fd = os.open(self.path, os.O_WRONLY)
            return
        head, name = os.path.split(self.path)
        self.fd, self.temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=head)
        # mkstemp makes it private (0600); the report gets the mode open() would give
        # it, or keeps the mode of the report it replaces.
        if st is not None:
            mode = stat.S_IMODE(st.st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(self.fd, mode)

    def finish(self, f: BinaryIO | io.TextIOBase, complete: bool) -> None:
        f.flush()
        if complete and self.temp is not None:
            os.fsync(f.fileno())
        f.close()
        if self.temp is None:
            return
        if complete:
            os.replace(self.temp, self.path)
        else:
            try:
                os.unlink(self.temp)
            except OSError:
                pass


class _FileReport:
    """A report written to ``f``: put in place when it ends (``owned``), else flushed."""

    def __init__(self, f: BinaryIO | io.TextIOBase, owned: _Placement | None) -> None:
        self._file = f
        self._owned = owned

    def close(self, *, complete: bool = True) -> None:
        if self._owned is not None:
            self._owned.finish(self._file, complete)
        else:
            self._file.flush()


class _JsonLinesReport(_FileReport):
    def __init__(self, f: BinaryIO, *, owned: _Placement | None) -> None:
        super().__init__(f, owned)
        self._f = f
        self._encode_lines = msgspec.json.Encoder().encode_lines

    def write(self, rows: Sequence[Row]) -> None:
        if rows:
            self._f.write(self._encode_lines([_Record(*row) for row in rows]))
            self._f.flush()


class _CsvReport(_FileReport):
    def __init__(self, f: io.TextIOBase, *, owned: _Placement | None) -> None:
        super().__init__(f, owned)
        self._f = f
        self._writer = csv.writer(f)
        self._writer.writerow(FIELDS)
        f.flush()

    def write(self, rows: Sequence[Row]) -> None:
        if rows:
            self._writer.writerows(rows)
            self._f.flush()


def open_report(path: str | None) -> ReportWriter:
    """A writer for ``--report PATH`` (``-`` is standard output; None writes nothing).

    An existing file is replaced when the run ends: a resumed run writes every item
    again, the ones finished earlier included.
    """
    if path is None:
        return _NoReport()
    if path == "-":
        return _JsonLinesReport(sys.stdout.buffer, owned=None)
    as_csv = path.lower().endswith(".csv")
    try:
        placement = _Placement(path)
    except OSError as exc:
        raise ReportError(f"cannot write the report {path!r}: {exc.strerror}") from None
    if as_csv:
        text = open(placement.fd, "w", encoding="utf-8", newline="")
        return _CsvReport(text, owned=placement)
    return _JsonLinesReport(open(placement.fd, "wb"), owned=placement)


#: Records pulled from ``settled`` per write.
_ROWS_PER_WRITE: Final = 2_000


def reorder_bound(per_request: int, concurrency: int) -> int:
    """How many records may wait for an earlier one: two rounds of requests in flight,
    at least ``MIN_REORDER_BOUND`` (about 200 bytes each)."""
    return max(MIN_REORDER_BOUND, 2 * per_request * concurrency)


class InputOrder:
    """Hands records to ``write`` in input order, whichever order they arrive in.

    Every position of ``[lo, hi)`` comes exactly once: from ``add`` (a request's
    records, ascending) or from ``settled`` (records that need no request, ascending,
    pulled only when their turn comes, so they cost no memory while waiting). When
    more than ``bound`` records wait for a missing earlier one, the earliest waiting
    are written anyway and the missing ones are written when they come, out of order
    (``late`` counts them).
    """

    def __init__(
        self,
        write: Callable[[list[Row]], None],
        lo: int,
        settled: Iterator[Row],
        bound: int,
    ) -> None:
        self._write = write
        self._next = lo
        self._settled = settled
        self._head = next(settled, None)
        self._bound = bound
        self._waiting: list[tuple[int, int, list[Row], int]] = []
        self._held = 0
        self._seq = 0
        self.late = 0

    def add(self, rows: Sequence[Row]) -> None:
        if not rows:
            return
        out: list[Row] = []
        k = 0
        while k < len(rows) and rows[k][0] < self._next:
            out.append(rows[k])  # the bound was passed: its place is already behind
            k += 1
        if out:
            self.late += len(out)
            self._write(out)
        if k < len(rows):
            rest = list(rows[k:])
            heapq.heappush(self._waiting, (rest[0][0], self._seq, rest, 0))
            self._seq += 1
            self._held += len(rest)
        self._release()
        while self._held > self._bound:
            self._skip_gap()
            self._release()

    def flush(self) -> None:
        """Write what can be written in order now (settled records up to a gap)."""
        self._release()

    def finish(self) -> None:
        """Write everything still waiting (the settled records included)."""
        self._release()
        while self._waiting or self._head is not None:
            self._skip_gap()
            self._release()

    def _skip_gap(self) -> None:
        first = [self._waiting[0][0]] if self._waiting else []
        if self._head is not None:
            first.append(self._head[0])
        self._next = min(first)

    def _release(self) -> None:
        out: list[Row] = []
        waiting = self._waiting
        while True:
            head = self._head
            if head is not None and head[0] == self._next:
                out.append(head)
                self._next += 1
                self._head = next(self._settled, None)
                if len(out) >= _ROWS_PER_WRITE:
                    self._write(out)
                    out = []
                continue
            if not waiting or waiting[0][0] != self._next:
                break
            _, seq, rows, k = heapq.heappop(waiting)
            n = len(rows)
            start = k
            while k < n and rows[k][0] == self._next:
                out.append(rows[k])
                self._next += 1
                k += 1
                head = self._head
                if head is not None and head[0] == self._next:
                    break  # a settled record goes between
            self._held -= k - start
            if k < n:
                heapq.heappush(waiting, (rows[k][0], seq, rows, k))
        if out:
            self._write(out)
