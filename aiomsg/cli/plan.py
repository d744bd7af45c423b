"""Planning a job: the input checked, the shard, the journal, and what to send.

Before anything is sent, the input is read and checked whole (nothing is sent if
a line is bad, unless ``--skip-invalid``); the journal says which positions
earlier runs finished; those, the bad lines and (for LINE) the requests whose
answer never came are reported without sending; so are LINE messages whose
clientMessageId an earlier position has (only the first position of an id is
ever sent, in any run). ``Plan.feed`` gives what is left to send, and
``Plan.settled`` the records of everything else, both in input order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, Protocol

from aiomsg import Outcome

from .exits import UsageError
from .input import InputError, InputFile, ItemKind, Problem, Scan, masked_id, problem_of
from .journal import JobIdentity, Journal, JournalError
from .line_ids import PENDING_REPEAT, RepeatOutcomes, find_repeats, line_message_id, repeat_error
from .operation import JobOptions
from .paths import Role, first_clash, secret_read_as_input
from .ranges import IndexRanges
from .report import Row
from .summary import plural

__all__ = ["OperationShape", "Plan"]

_IN_FLIGHT_ERROR: Final = (
    "outcome unknown: the request carrying this message was sent by an earlier run "
    "whose answer never arrived; it was not sent again (reconcile it by "
    "clientMessageId, or re-run with --resend-unknown)"
)


class OperationShape(Protocol):
    """What planning needs to know of an operation (see ``Operation``)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> ItemKind: ...
    @property
    def noun(self) -> str: ...
    @property
    def resend_safe(self) -> bool: ...
    @property
    def params(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def endpoint(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def once_per_job(self) -> bool: ...


class Plan:
    """One job's input, its shard ``[lo, hi)``, its journal and what is left to send.

    ``Plan.make`` reads and checks the input and opens the journal (``UsageError``
    when unusable); ``close()`` releases them.
    """

    def __init__(self, operation: OperationShape, options: JobOptions, source: InputFile) -> None:
        self.operation = operation
        self.options = options
        self.input = source
        self.scan = Scan()
        self.lo = self.hi = 0
        self.journal: Journal | None = None
        self.repeats = RepeatOutcomes()
        #: LINE positions earlier runs left in flight (never withdrawn by this run).
        self.sent_before = IndexRanges()
        self.pending = 0

    @classmethod
    def make(cls, operation: OperationShape, options: JobOptions) -> Plan:
        if options.dry_run and options.report is not None:
            # A report holds outcomes, and a dry run has none: a file of made-up
            # outcomes could pass for a real run's report.
            raise UsageError(
                "--dry-run writes no report (nothing is sent, so no item has an outcome); "
                "its plan goes to standard output. Drop --report, or drop --dry-run"
            )
        _check_paths(options)
        try:
            source = InputFile.open(options.input)
        except InputError as exc:
            raise UsageError(str(exc)) from None
        plan = cls(operation, options, source)
        try:
            plan._prepare()
        except BaseException:
            plan.close()
            raise
        return plan

    def _prepare(self) -> None:
        op, opts = self.operation, self.options
        try:
            self.scan = self.input.scan(op.kind, check=opts.shard is None)
            self.lo, self.hi = _shard_range(self.scan.items, opts.shard)
            if opts.shard is not None:
                self.input.check(op.kind, self.lo, self.hi, self.scan)
        except InputError as exc:
            raise UsageError(str(exc)) from None
        bad = self.invalid_count()
        if bad and not opts.skip_invalid:
            raise UsageError(self._bad_input_message(bad))
        identity = JobIdentity(
            command=op.name,
            params=op.params,
            input_name=self.input.name,
            input_digest=self.scan.digest,
            items=self.scan.items,
            shard=None if opts.shard is None else f"{opts.shard[0]}/{opts.shard[1]}",
            endpoint=op.endpoint,
        )
        if opts.journal is not None:
            try:
                self.journal = Journal.open(
                    opts.journal, identity, readonly=opts.dry_run, sync_each=not op.resend_safe
                )
            except JournalError as exc:
                raise UsageError(str(exc)) from None
            if not op.resend_safe:
                self.sent_before = self.journal.in_flight()
        if op.kind == "line" or op.once_per_job:
            # A clientMessageId (an 8x8 umid to cancel) is sent at most once per job,
            # across runs: only its first position is ever sent, whatever earlier
            # runs did.
            self.repeats = RepeatOutcomes.of(
                find_repeats(self.input, self.lo, self.hi, self.scan.invalid, self.scan.digest,
                             line=op.kind == "line"),
                "clientMessageId" if op.kind == "line" else op.noun,
            )  # fmt: skip
        self.pending = self.hi - self.lo - bad - self.done_count() - self.held_count()
        if self.repeats.repeats:
            done = self.journal.done if self.journal is not None else IndexRanges()
            held = self.in_flight() if not opts.resend_unknown else IndexRanges()
            self.pending -= sum(1 for p in self.repeats.repeats if p not in done and p not in held)

    def _bad_input_message(self, bad: int) -> str:
        lines = [f"{self.input.shown_name}: {plural(bad, 'bad line')}; nothing was sent"]
        lines += [f"  {problem}" for problem in self.problems()]
        if bad > len(self.scan.problems):
            lines.append(f"  ... and {bad - len(self.scan.problems):,} more")
        lines.append("Fix them, or pass --skip-invalid to report them as failed and send the rest.")
        return "\n".join(lines)

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
        self.input.close()

    # ------------------------------------------------------------------ counts

    @property
    def items(self) -> int:
        """The items of this job (of its shard)."""
        return self.hi - self.lo

    def problems(self) -> list[Problem]:
        """The bad lines listed (the first few of the input), within the shard."""
        return [p for p in self.scan.problems if self.lo <= p.index < self.hi]

    def invalid_count(self) -> int:
        return self.scan.invalid.count_in(self.lo, self.hi)

    def done_count(self) -> int:
        """Positions earlier runs finished."""
        return 0 if self.journal is None else self.journal.done.count_in(self.lo, self.hi)

    def in_flight(self) -> IndexRanges:
        """LINE positions sent earlier without an answer (empty for stop and cancel)."""
        if self.journal is None or self.operation.resend_safe:
            return IndexRanges()
        return self.journal.in_flight()

    def held_count(self) -> int:
        """In-flight positions that this run does not send again."""
        if self.options.resend_unknown:
            return 0
        return self.in_flight().count_in(self.lo, self.hi)

    # ------------------------------------------------------------------ items

    def feed(self) -> Iterator[tuple[int, int, bytes]]:
        """The items to send, ``(index, lineno, line)``, in input order."""
        done = self.journal.done.cursor() if self.journal is not None else None
        bad = self.scan.invalid.cursor()
        held = self.in_flight().cursor() if not self.options.resend_unknown else None
        repeats = self.repeats.repeats
        for index, lineno, item in self.input.items(self.lo, self.hi):
            if (done is not None and index in done) or index in bad:
                continue
            if held is not None and index in held:
                continue
            if repeats and index in repeats:
                continue
            yield index, lineno, item

    def settled(self) -> Iterator[Row]:
        """The records of what needs no request, in input order: positions finished by
        earlier runs, bad lines (``--skip-invalid``), held LINE messages and repeated
        clientMessageIds (an identical repeat's outcome is ``PENDING_REPEAT`` until
        ``RepeatOutcomes.resolve``)."""
        held = self.held_count()
        repeats = self.repeats.repeats
        if not (self.done_count() or self.invalid_count() or held or repeats):
            return
        kind, scope = self.operation.kind, self.scan.digest
        replay = iter(()) if self.journal is None else self.journal.replay()
        upcoming = next(replay, None)
        bad = self.scan.invalid.cursor()
        in_flight = self.in_flight().cursor() if held else None
        for index, lineno, item in self.input.items(self.lo, self.hi):
            if upcoming is not None and upcoming[0] == index:
                _, outcome, code, error = upcoming
                upcoming = next(replay, None)
                yield (index, lineno, self.item_id(item), outcome, code, error)
            elif index in bad:
                error = f"line {lineno}: {problem_of(kind, item)}"
                yield (index, lineno, self._bad_item_id(item), Outcome.FAILED.value, None, error)
            elif in_flight is not None and index in in_flight:
                cmid = line_message_id(item, scope)
                yield (index, lineno, cmid, Outcome.UNKNOWN.value, None, _IN_FLIGHT_ERROR)
            elif index in repeats:
                repeat = repeats[index]
                cmid = self.item_id(item)
                if repeat.identical:
                    yield (index, lineno, cmid, PENDING_REPEAT, None, None)
                else:
                    error = repeat_error(repeat, "is a different message with the same id")
                    yield (index, lineno, cmid, Outcome.FAILED.value, None, error)

    def item_id(self, item: bytes) -> str | None:
        """The report id of a valid line: the id, or the message's clientMessageId."""
        if self.operation.kind == "line":
            return line_message_id(item, self.scan.digest)
        return item.decode("ascii")

    def _bad_item_id(self, item: bytes) -> str | None:
        """The report id of a bad line: what it holds, with phone numbers masked."""
        if self.operation.kind == "line":
            cmid = line_message_id(item, self.scan.digest)
            return None if cmid is None else masked_id(cmid.encode("utf-8", "replace"))
        return masked_id(item)


def _check_paths(opts: JobOptions) -> None:
    """Refuse, before anything is opened for writing, outputs that would destroy the
    input, the journal or each other (compared as files, not as strings)."""
    roles = [Role("the input", opts.input, writes=False)]
    roles += [Role(option, path, writes=False, secret=True) for option, path in opts.reads]
    clash = secret_read_as_input(roles)
    if clash is not None:
        raise UsageError(f"{clash}: a secret file is never read as input, so its secret "
                         "cannot be echoed. Nothing was sent")  # fmt: skip
    if opts.journal is not None:
        roles.append(Role("--journal", opts.journal, writes=True))
    if opts.report is not None:
        roles.append(Role("--report", opts.report, writes=True))
    clash = first_clash(roles)
    if clash is not None:
        raise UsageError(f"{clash}: refusing to overwrite it. Nothing was sent; give "
                         "each output a path of its own")  # fmt: skip


def _shard_range(items: int, shard: tuple[int, int] | None) -> tuple[int, int]:
    """The positions of shard K of N: the K-th of N nearly equal consecutive slices."""
    if shard is None:
        return 0, items
    k, n = shard
    return (k - 1) * items // n, k * items // n
