"""Merging the shards' reports into one, every input position exactly once.

The shards of a job (``--shard K/N``, ``--shards N``) each write a report of their
slice. Merging reads them all, checks that every input position appears exactly
once across them, and only then writes one report in input order (JSON Lines, or
CSV when OUT ends in ``.csv``; the reports may be either). A report carries no job
identity; the shards' journals do: given with ``--journal`` (one per shard), they
must name one job (command, arguments, endpoint, input digest, shard count), each
shard once, and they give the input's length, so that a missing last shard is
missed positions too. Without journals the positions are checked from 0 to the
highest one a report holds.

Nothing is written unless the reports merge whole: doubled positions, reports
of different jobs or an unreadable report exit 2; missing positions exit 3 (run
the shards that lack them again with their journals, then merge again). OUT is
never one of the files read, nor a journal. A merged report exits as one run over
the whole input would: 0 every item succeeded, 1 some did not, 3 some were never
sent (``not_attempted``: a shard was interrupted; resume it, then merge again).
"""

from __future__ import annotations

import csv
import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

import msgspec

from aiomsg.bulk import SUCCESSFUL, Outcome

from .exits import EXIT_INCOMPLETE, EXIT_NOT_ALL_SUCCEEDED, EXIT_OK, EXIT_USAGE
from .journal import JournalError, JournalHeader, is_journal, read_header
from .paths import Role, first_clash
from .ranges import IndexRanges
from .report import ReportError, Row, open_report
from .summary import plural

__all__ = ["MergeError", "merge_reports", "merged_exit_code", "show_ranges"]

#: Ranges named in a message before "... and N more".
SHOWN_RANGES: Final = 12
_WRITE_BATCH: Final = 2_000
_SUCCESSFUL: Final = frozenset(o.value for o in SUCCESSFUL)


class MergeError(Exception):
    """The reports do not merge whole; ``code`` is the exit code (2 or 3)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def show_ranges(ranges: IndexRanges) -> str:
    """Positions as ranges (``0-99, 250, 300-1,299``), the first few of them."""
    shown = []
    total = 0
    for start, stop in ranges:
        total += 1
        if total <= SHOWN_RANGES:
            shown.append(f"{start:,}" if stop - start == 1 else f"{start:,}-{stop - 1:,}")
    more = f" ... and {plural(total - SHOWN_RANGES, 'more range')}" if total > SHOWN_RANGES else ""
    return ", ".join(shown) + more


# ---------------------------------------------------------------------------- reading


class _Record(msgspec.Struct):
    index: int
    line: int
    id: str | None
    outcome: str
    code: int | None
    error: str | None


_decode_record: Final = msgspec.json.Decoder(_Record).decode


def _read(path: str) -> Iterator[Row]:
    """The records of a report, in file order; ``MergeError`` when one is not a record."""
    try:
        if path.lower().endswith(".csv"):
            yield from _read_csv(path)
            return
        with open(path, "rb") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    r = _decode_record(line)
                except (msgspec.DecodeError, RecursionError) as exc:
                    raise MergeError(
                        f"{path!r} line {lineno} is not a report record: {exc}", EXIT_USAGE
                    ) from None
                if r.index < 0:
                    raise MergeError(f"{path!r} line {lineno}: negative index", EXIT_USAGE)
                yield (r.index, r.line, r.id, r.outcome, r.code, r.error)
    except OSError as exc:
        raise MergeError(f"cannot read the report {path!r}: {exc.strerror}", EXIT_USAGE) from None


def _read_csv(path: str) -> Iterator[Row]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        head = next(reader, None)
        if head != ["index", "line", "id", "outcome", "code", "error"]:
            raise MergeError(f"{path!r} is not an aiomsg CSV report", EXIT_USAGE)
        for lineno, row in enumerate(reader, 2):
            try:
                index, line, id_, outcome, code, error = row
                yield (int(index), int(line), id_ or None, outcome,
                       int(code) if code else None, error or None)  # fmt: skip
            except ValueError:
                raise MergeError(
                    f"{path!r} line {lineno} is not a report record", EXIT_USAGE
                ) from None


class _Scanned:
    """One report's positions (as ranges), and whether they are in ascending order."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.positions = IndexRanges()
        self.ascending = True
        self.doubled = IndexRanges()
        last = -1
        for row in _read(path):
            index = row[0]
            if index <= last:
                self.ascending = False
            if index in self.positions:
                self.doubled.add(index, index + 1)
            self.positions.add(index, index + 1)
            last = index

    def rows(self) -> Iterator[Row]:
        """The records in position order (a report with late records is sorted)."""
        if self.ascending:
            return _read(self.path)
        return iter(sorted(_read(self.path), key=lambda row: row[0]))


# ---------------------------------------------------------------------------- checking


def _check_journals(paths: Sequence[str]) -> int | None:
    """The input's length the journals agree on (None without journals)."""
    if not paths:
        return None
    headers: list[tuple[str, JournalHeader]] = []
    for path in paths:
        try:
            headers.append((path, read_header(path)))
        except JournalError as exc:
            raise MergeError(str(exc), EXIT_USAGE) from None
    first_path, first = headers[0]
    seen: dict[int, str] = {}
    for path, h in headers:
        k, n = _shard_of(h)
        k0, n0 = _shard_of(first)
        same = (
            h.command == first.command
            and h.input_digest == first.input_digest
            and h.items == first.items
            and h.endpoint == first.endpoint
            and n == n0
            and (h.job is None or first.job is None or h.job == first.job)
        )
        if not same:
            raise MergeError(
                f"the journals {first_path!r} and {path!r} are of different jobs "
                f"('aiomsg {first.command}' over {first.items:,} items of SHA-256 "
                f"{first.input_digest[:12]}..., shard {k0}/{n0}; 'aiomsg {h.command}' over "
                f"{h.items:,} items of SHA-256 {h.input_digest[:12]}..., shard {k}/{n}): "
                "merge the reports of one job",
                EXIT_USAGE,
            )
        if k in seen:
            raise MergeError(
                f"shard {k}/{n} is given twice: journals {seen[k]!r} and {path!r}", EXIT_USAGE
            )
        seen[k] = path
    return first.items


def _shard_of(header: JournalHeader) -> tuple[int, int]:
    if header.shard is None:
        return 1, 1
    k, n = header.shard.split("/")
    return int(k), int(n)


def _overlaps(scans: Sequence[_Scanned]) -> IndexRanges:
    """Positions held by more than one report, or twice by one."""
    doubled = IndexRanges()
    for scan in scans:
        for start, stop in scan.doubled:
            doubled.add(start, stop)
    events = sorted(
        (start, stop) for scan in scans for start, stop in scan.positions
    )  # fmt: skip
    reach = -1
    for start, stop in events:
        if start < reach:
            doubled.add(start, min(stop, reach))
        reach = max(reach, stop)
    return doubled


def _check_paths(out: str, reports: Sequence[str], journals: Sequence[str]) -> None:
    roles = [Role("the report", path, writes=False) for path in reports]
    roles += [Role("the journal", path, writes=False) for path in journals]
    roles.append(Role("OUT", out, writes=True))
    clash = first_clash(roles)
    if clash is None and out != "-" and is_journal(out):
        clash = f"OUT {out!r} is an aiomsg journal"
    if clash is not None:
        raise MergeError(f"{clash}: refusing to overwrite it", EXIT_USAGE)
    for path in reports:
        if is_journal(path):
            raise MergeError(
                f"{path!r} is a journal, not a report: give it with --journal", EXIT_USAGE
            )


def merge_reports(out: str, reports: Sequence[str], journals: Sequence[str] = ()) -> Counter[str]:
    """Merge ``reports`` into ``out`` in input order; the records written per outcome.

    ``MergeError`` (nothing written) when a position is missing or doubled, the
    journals name different jobs, or a file is unreadable or would be overwritten.
    """
    _check_paths(out, reports, journals)
    items = _check_journals(journals)
    scans = [_Scanned(path) for path in reports]
    covered = IndexRanges()
    for scan in scans:
        for start, stop in scan.positions:
            covered.add(start, stop)
    top = max((stop for _, stop in covered), default=0)
    if items is not None and top > items:
        raise MergeError(
            f"the reports hold positions up to {top - 1:,}, but the journals' input has "
            f"{plural(items, 'item')}: the reports are of another input",
            EXIT_USAGE,
        )
    doubled = _overlaps(scans)
    if doubled:
        raise MergeError(
            f"positions doubled across the reports: {plural(doubled.count, 'position')} "
            f"({show_ranges(doubled)}). Were the shards run with different "
            "shard counts, or is a report given twice?",
            EXIT_USAGE,
        )
    missing = IndexRanges([(0, top if items is None else items)]).minus(covered)
    if missing:
        raise MergeError(
            f"positions missing from the reports: {plural(missing.count, 'position')} "
            f"({show_ranges(missing)}). Run the shards that hold them again (same "
            "--journal resumes them), then merge again",
            EXIT_INCOMPLETE,
        )
    return _write(out, (scan.rows() for scan in scans))


def _write(out: str, streams: Iterable[Iterator[Row]]) -> Counter[str]:
    try:
        writer = open_report(out)
    except ReportError as exc:
        raise MergeError(str(exc), EXIT_USAGE) from None
    counts: Counter[str] = Counter()
    complete = False
    try:
        batch: list[Row] = []
        for row in heapq.merge(*streams, key=lambda row: row[0]):
            batch.append(row)
            if len(batch) >= _WRITE_BATCH:
                writer.write(batch)
                counts.update(r[3] for r in batch)
                batch = []
        writer.write(batch)
        counts.update(r[3] for r in batch)
        complete = True
    finally:
        writer.close(complete=complete)
    return counts


def merged_exit_code(counts: Counter[str]) -> int:
    """The job's exit code from its merged outcomes, as one run over the whole input
    would end: 3 when some items were never sent (``not_attempted``: resume their
    shards), 0 when every item succeeded, else 1."""
    if counts[Outcome.NOT_ATTEMPTED.value]:
        return EXIT_INCOMPLETE
    if all(outcome in _SUCCESSFUL for outcome, n in counts.items() if n):
        return EXIT_OK
    return EXIT_NOT_ALL_SUCCEEDED
