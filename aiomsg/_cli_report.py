"""Per-item reports of a command-line job: JSON Lines, or CSV when the path ends in .csv.

One record per input item: ``index`` (0-based input position), ``id``, ``outcome``,
``code`` and ``error``. Records are written as requests finish, not in input order,
and flushed after each batch so that a killed process leaves a readable prefix.
"""

from __future__ import annotations

import csv
import io
import sys
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

    def close(self) -> None: ...


class _Record(msgspec.Struct):
    index: int
    id: str | None
    outcome: str
    code: int | None
    error: str | None


class _NoReport:
    def write(self, rows: Sequence[Row]) -> None:
        pass

    def close(self) -> None:
        pass


class _JsonLinesReport:
    def __init__(self, f: BinaryIO, *, owned: bool) -> None:
        self._f = f
        self._owned = owned
        self._encode_lines = msgspec.json.Encoder().encode_lines

    def write(self, rows: Sequence[Row]) -> None:
        if rows:
            self._f.write(self._encode_lines([_Record(*row) for row in rows]))
            self._f.flush()

    def close(self) -> None:
        if self._owned:
            self._f.close()
        else:
            self._f.flush()


class _CsvReport:
    def __init__(self, f: io.TextIOBase, *, owned: bool) -> None:
        self._f = f
        self._owned = owned
        self._writer = csv.writer(f)
        self._writer.writerow(FIELDS)
        f.flush()

    def write(self, rows: Sequence[Row]) -> None:
        if rows:
            self._writer.writerows(rows)
            self._f.flush()

    def close(self) -> None:
        if self._owned:
            self._f.close()
        else:
            self._f.flush()


def open_report(path: str | None) -> ReportWriter:
    """A writer for ``--report PATH`` (``-`` is standard output; None writes nothing).

    An existing file is replaced: a resumed run writes every item again, the ones
    finished earlier included.
    """
    if path is None:
        return _NoReport()
    if path == "-":
        return _JsonLinesReport(sys.stdout.buffer, owned=False)
    as_csv = path.lower().endswith(".csv")
    try:
        if as_csv:
            return _CsvReport(open(path, "w", encoding="utf-8", newline=""), owned=True)
        return _JsonLinesReport(open(path, "wb"), owned=True)
    except OSError as exc:
        raise ReportError(f"cannot write the report {path!r}: {exc.strerror}") from None
