"""Per-item reports of a command-line job: JSON Lines, or CSV when the path ends in .csv.

One record per input item: ``index`` (0-based input position), ``id``, ``outcome``,
``code`` and ``error``.

A report file is written to a temporary file beside it (``.NAME.*.partial``) and
renamed over ``PATH`` when the run ends, interrupted or not: a report in place is
always whole, and a run that dies (kill -9, a second Ctrl-C) leaves the previous
report as it was, with its partial file beside it.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
from collections.abc import Sequence
from typing import BinaryIO, Final, Protocol

import msgspec

__all__ = ["FIELDS", "ReportError", "ReportWriter", "Row", "open_report"]

FIELDS: Final = ("index", "id", "outcome", "code", "error")

Row = tuple[int, str | None, str, int | None, str | None]
"""(index, id, outcome, code, error)"""


class ReportError(Exception):
    """The report cannot be written; the message names the path and why."""


class ReportWriter(Protocol):
    def write(self, rows: Sequence[Row]) -> None:
        """Write these records and flush them to the operating system."""

    def close(self, *, complete: bool = True) -> None:
        """End the report: put it in place, or (not ``complete``) leave the old one."""


class _Record(msgspec.Struct):
    index: int
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
    """A temporary file beside ``path``, renamed over it once the report is whole."""

    def __init__(self, path: str) -> None:
        self.path = path
        head, name = os.path.split(path)
        self.fd, self.temp = tempfile.mkstemp(
            prefix=f".{name}.", suffix=".partial", dir=head or "."
        )

    def finish(self, f: BinaryIO | io.TextIOBase, complete: bool) -> None:
        f.flush()
        if complete:
            os.fsync(f.fileno())
        f.close()
        if complete:
            os.replace(self.temp, self.path)
        else:
            try:
                os.unlink(self.temp)
            except OSError:
                pass


class _JsonLinesReport:
    def __init__(self, f: BinaryIO, *, owned: _Placement | None) -> None:
        self._f = f
        self._owned = owned
        self._encode_lines = msgspec.json.Encoder().encode_lines

    def write(self, rows: Sequence[Row]) -> None:
        if rows:
            self._f.write(self._encode_lines([_Record(*row) for row in rows]))
            self._f.flush()

    def close(self, *, complete: bool = True) -> None:
        if self._owned is not None:
            self._owned.finish(self._f, complete)
        else:
            self._f.flush()


class _CsvReport:
    def __init__(self, f: io.TextIOBase, *, owned: _Placement | None) -> None:
        self._f = f
        self._owned = owned
        self._writer = csv.writer(f)
        self._writer.writerow(FIELDS)
        f.flush()

    def write(self, rows: Sequence[Row]) -> None:
        if rows:
            self._writer.writerows(rows)
            self._f.flush()

    def close(self, *, complete: bool = True) -> None:
        if self._owned is not None:
            self._owned.finish(self._f, complete)
        else:
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
