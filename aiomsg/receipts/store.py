"""Where delivery receipts are kept: the ``ReceiptStore`` protocol and its SQLite store.

The protocol is what the receiver and reconcile need, and no more: add receipts
(durably, ignoring repeats), and find the latest receipt of given messages by
``clientMessageId`` or by ``umid``. Anything that implements it (a table in the
user's own database, say) can stand in for ``SQLiteReceiptStore``.

``SQLiteReceiptStore`` keeps one writer connection and one reader connection, both
driven from worker threads so the event loop never waits on the disk. Receipts
added while a commit is running wait for the next one and go in together (group
commit): under load one fsync covers many receipts, so the store keeps up with
many more receipts per second than the disk has fsyncs, and ``add`` still returns
only once its receipts are committed. The database is in WAL mode, so readers (in
this process or another) never block the writer nor the writer them.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections import deque
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Final, Literal, Protocol, runtime_checkable

import anyio
import msgspec

from .._errors import ConfigurationError
from .._validation import describe
from .models import DeliveryReceipt, decode_webhook, state_rank

__all__ = [
    "DEFAULT_SYNCHRONOUS",
    "ReceiptRecord",
    "ReceiptStore",
    "SQLiteReceiptStore",
    "Synchronous",
]

logger: Final = logging.getLogger("aiomsg.receipts")

Synchronous = Literal["full", "normal"]
"""``SQLiteReceiptStore(synchronous=...)``: ``"full"`` or ``"normal"`` (SQLite's
``PRAGMA synchronous`` in WAL mode)."""
DEFAULT_SYNCHRONOUS: Final[Synchronous] = "full"
"""FULL: a commit is on disk before ``add`` returns, across power loss too."""
# SQLite's default limit on host parameters is 32,766 since 3.32; stay well below.
_IDS_PER_QUERY: Final = 500
# One commit takes at most this many receipts; the rest wait for the next one.
_MAX_GROUP: Final = 5000
_SCHEMA_VERSION: Final = 1


class ReceiptRecord(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """One stored delivery receipt: the fields reconcile needs, and the body as sent.

    ``key`` identifies the receipt (8x8's retried deliveries share it); ``observed_us``
    is the status timestamp in microseconds since the epoch (None when 8x8 sent none or
    an unreadable one) and ``rank`` the state's place in a message's life
    (``state_rank``): together with arrival order they decide which receipt is a
    message's latest. ``body`` is the webhook body exactly as received, so fields this
    version does not model are kept.
    """

    key: str
    umid: str
    state: str
    client_message_id: str | None = None
    client_batch_id: str | None = None
    batch_id: str | None = None
    sub_account_id: str | None = None
    channel: str | None = None
    detail: str | None = None
    timestamp: str | None = None
    observed_us: int | None = None
    rank: int = 0
    error_code: int | str | None = None
    error_message: str | None = None
    received_at: float = 0.0
    body: bytes = b""

    @classmethod
    def from_receipt(
        cls, receipt: DeliveryReceipt, body: bytes, *, received_at: float | None = None
    ) -> ReceiptRecord:
        """The record of ``receipt``, received as ``body`` (now, unless given)."""
        p = receipt.payload
        s = p.status
        observed = s.observed_at
        return cls(
            key=receipt.key,
            umid=p.umid.lower(),  # a UUID: 8x8 and its answers may differ in case
            state=s.state,
            client_message_id=p.client_message_id,
            client_batch_id=p.client_batch_id,
            batch_id=p.batch_id,
            sub_account_id=p.sub_account_id,
            channel=p.channel,
            detail=s.detail,
            timestamp=s.timestamp,
            observed_us=None if observed is None else _to_us(observed.timestamp()),
            rank=state_rank(s.state),
            error_code=_storable_code(s.error_code),
            error_message=s.error_message,
            received_at=time.time() if received_at is None else received_at,
            body=body,
        )

    @property
    def order(self) -> tuple[int, int, float]:
        """Sort key: a message's latest receipt has the largest."""
        return (-1 if self.observed_us is None else self.observed_us, self.rank, self.received_at)

    def receipt(self) -> DeliveryReceipt:
        """The typed receipt, decoded again from the stored body."""
        decoded = decode_webhook(self.body)
        if not isinstance(decoded, DeliveryReceipt):  # pragma: no cover - stored as one
            raise TypeError("the stored body is not a delivery receipt")
        return decoded

    def __repr__(self) -> str:  # the body holds the recipient's phone number
        return (
            f"ReceiptRecord(umid={self.umid!r}, client_message_id={self.client_message_id!r}, "
            f"state={self.state!r}, detail={self.detail!r}, timestamp={self.timestamp!r})"
        )


_INT64: Final = range(-(2**63), 2**63)


def _storable_code(code: int | str | None) -> int | str | None:
    # SQLite integers are 64-bit: a larger code is kept as its digits.
    return str(code) if type(code) is int and code not in _INT64 else code


def _to_us(seconds: float) -> int:
    return round(seconds * 1_000_000)


@runtime_checkable
class ReceiptStore(Protocol):
    """What the receiver and reconcile need from a receipt store.

    ``add`` must return only once its records are durable, must ignore a record whose
    ``key`` is already stored, and returns, for each record in order, whether it was
    new. The ``latest_by_*`` methods return the latest record (largest
    ``ReceiptRecord.order``) of each id that has any; ids without receipts are absent.
    Records hold umids in lower case; ``latest_by_umid`` matches umids in any case.
    """

    async def add(self, records: Sequence[ReceiptRecord]) -> list[bool]:
        """Store ``records`` durably (return only once they are); for each record, in
        order, True if it was new, False if a record with its ``key`` was stored."""
        ...

    async def latest_by_client_message_id(
        self, ids: Collection[str], *, sub_account_id: str | None = None
    ) -> dict[str, ReceiptRecord]:
        """The latest record of each clientMessageId in ``ids`` that has one; with
        ``sub_account_id``, only records from that sub-account."""
        ...

    async def latest_by_umid(self, umids: Collection[str]) -> dict[str, ReceiptRecord]:
        """The latest record of each umid in ``umids`` that has one, keyed as given
        (umids match in any case)."""
        ...


_COLUMNS: Final = (
    "key", "umid", "state", "client_message_id", "client_batch_id", "batch_id",
    "sub_account_id", "channel", "detail", "timestamp", "observed_us", "rank",
    "error_code", "error_message", "received_at", "body",
)  # fmt: skip
_SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS receipts (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    umid TEXT NOT NULL,
    state TEXT NOT NULL,
    client_message_id TEXT,
    client_batch_id TEXT,
    batch_id TEXT,
    sub_account_id TEXT,
    channel TEXT,
    detail TEXT,
    timestamp TEXT,
    observed_us INTEGER,
    rank INTEGER NOT NULL,
    error_code,
    error_message TEXT,
    received_at REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS receipts_by_client_message_id ON receipts (client_message_id);
CREATE INDEX IF NOT EXISTS receipts_by_umid ON receipts (umid);
PRAGMA user_version = {_SCHEMA_VERSION};
"""
# ON CONFLICT (key), not INSERT OR IGNORE: OR IGNORE would also drop a row that breaks
# NOT NULL, and report a receipt it never stored as a repeat.
_INSERT: Final = (
    f"INSERT INTO receipts ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_COLUMNS))}) ON CONFLICT (key) DO NOTHING"
)
_SELECT: Final = f"SELECT {', '.join(_COLUMNS)} FROM receipts"


class _Pending:
    __slots__ = ("done", "error", "new", "records")

    def __init__(self, records: Sequence[ReceiptRecord]) -> None:
        self.records = records
        self.done = anyio.Event()
        self.new: list[bool] = []
        self.error: BaseException | None = None


def _checked_path(path: object) -> str:
    fspath = os.fspath(path) if isinstance(path, str | os.PathLike) else None
    if not isinstance(fspath, str) or not fspath:
        raise ConfigurationError(
            f"path: got {describe(path)} (rule: a non-empty file path, str or os.PathLike)"
        )
    return fspath


class SQLiteReceiptStore:
    """Receipts in a SQLite database file (WAL mode), safe to read while written.

    ``synchronous``: ``"full"`` (default) syncs the WAL at every commit, so a receipt
    ``add`` has returned survives the receiver being killed and the machine losing
    power; ``"normal"`` survives the receiver being killed (``kill -9``) but may lose
    the last commits on power loss or an OS crash, for fewer fsyncs.

    Open it with ``async with SQLiteReceiptStore(path) as store:`` (or ``await
    store.open()`` / ``await store.aclose()``). One process should write a database
    at a time; any number may read it.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, synchronous: Synchronous = DEFAULT_SYNCHRONOUS
    ) -> None:
        if synchronous not in ("full", "normal"):
            raise ConfigurationError(f"synchronous: got {synchronous!r} (rule: 'full' or 'normal')")
        self.path: str = _checked_path(path)
        self.synchronous: Synchronous = synchronous
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = anyio.Lock()
        self._queue: deque[_Pending] = deque()
        self._committing = False
        self._idle = anyio.Event()
        self._idle.set()
        self.commits = 0

    def __repr__(self) -> str:
        return f"SQLiteReceiptStore({self.path!r}, synchronous={self.synchronous!r})"

    async def __aenter__(self) -> SQLiteReceiptStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def is_open(self) -> bool:
        """Whether the store is open (``open()`` ran and ``aclose()`` has not)."""
        return self._writer is not None

    async def open(self) -> None:
        """Create the database and its schema if needed and connect."""
        if self._writer is None:
            self._writer, self._reader = await anyio.to_thread.run_sync(self._connect)

    def _connect(self) -> tuple[sqlite3.Connection, sqlite3.Connection]:
        writer = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        try:
            mode = writer.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"could not put {self.path!r} in WAL mode: {mode}")
            writer.execute(f"PRAGMA synchronous={self.synchronous.upper()}")
            version = writer.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                raise sqlite3.DatabaseError(
                    f"{self.path!r} holds receipts in schema version {version}; "
                    f"this version of aiomsg reads version {_SCHEMA_VERSION}"
                )
            writer.executescript(_SCHEMA)
            reader = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
        except BaseException:
            writer.close()
            raise
        reader.execute("PRAGMA query_only=ON")
        return writer, reader

    async def aclose(self) -> None:
        """Close the connections once the commit under way (if any) is done."""
        with anyio.CancelScope(shield=True):
            await self._idle.wait()
        writer, reader = self._writer, self._reader
        self._writer = self._reader = None
        with anyio.CancelScope(shield=True):
            async with self._read_lock:
                if reader is not None:
                    await anyio.to_thread.run_sync(reader.close)
            if writer is not None:
                await anyio.to_thread.run_sync(writer.close)

    # ------------------------------------------------------------------- writing

    async def add(self, records: Sequence[ReceiptRecord]) -> list[bool]:
        """Store ``records`` durably; for each, whether it was new (False: a repeat)."""
        if not records:
            return []
        pending = _Pending(records)
        self._queue.append(pending)
        if not self._committing:
            # This call commits for everyone waiting, in rounds, until nobody is left.
            # Shielded: callers whose receipts joined this round wait on it, so it must
            # finish even if the call that started it is cancelled.
            self._committing = True
            self._idle = anyio.Event()
            try:
                with anyio.CancelScope(shield=True):
                    while self._queue:
                        await self._commit_round()
            finally:
                self._committing = False
                self._idle.set()
        await pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.new

    async def _commit_round(self) -> None:
        group: list[_Pending] = []
        count = 0
        while self._queue and (not group or count + len(self._queue[0].records) <= _MAX_GROUP):
            item = self._queue.popleft()
            group.append(item)
            count += len(item.records)
        try:
            results = await anyio.to_thread.run_sync(
                self._insert, [r for p in group for r in p.records]
            )
        except Exception as exc:
            if len(group) == 1 or isinstance(exc, RuntimeError):
                _fail(group, exc)
                return
            # One caller's record may be what failed (one that cannot be bound, a
            # constraint): commit each caller's records on their own, so only that
            # caller gets the error.
            for p in group:
                await self._commit_one(p)
            return
        except BaseException as exc:
            _fail(group, exc)
            raise
        self.commits += 1
        at = 0
        for p in group:
            p.new = results[at : at + len(p.records)]
            at += len(p.records)
            p.done.set()

    async def _commit_one(self, p: _Pending) -> None:
        try:
            p.new = await anyio.to_thread.run_sync(self._insert, list(p.records))
        except BaseException as exc:
            _fail([p], exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.commits += 1
        p.done.set()

    def _insert(self, records: list[ReceiptRecord]) -> list[bool]:
        db = self._writer
        if db is None:
            raise RuntimeError("the receipt store is closed")
        new: list[bool] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            for r in records:
                cur = db.execute(
                    _INSERT,
                    (
                        r.key, r.umid, r.state, r.client_message_id, r.client_batch_id,
                        r.batch_id, r.sub_account_id, r.channel, r.detail, r.timestamp,
                        r.observed_us, r.rank, r.error_code, r.error_message,
                        r.received_at, r.body,
                    ),
                )  # fmt: skip
                new.append(cur.rowcount == 1)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # a failed COMMIT may have ended it already
                db.execute("ROLLBACK")
            raise
        return new

    # ------------------------------------------------------------------- reading

    async def latest_by_client_message_id(
        self, ids: Collection[str], *, sub_account_id: str | None = None
    ) -> dict[str, ReceiptRecord]:
        """The latest receipt of each clientMessageId that has one (optionally only
        receipts from ``sub_account_id``)."""
        return await self._latest("client_message_id", ids, sub_account_id)

    async def latest_by_umid(self, umids: Collection[str]) -> dict[str, ReceiptRecord]:
        """The latest receipt of each umid that has one (keyed as given; umids are
        UUIDs and match in any case)."""
        spelled: dict[str, list[str]] = {}
        for umid in umids:
            spelled.setdefault(umid.lower(), []).append(umid)
        found = await self._latest("umid", spelled, None)
        return {given: record for low, record in found.items() for given in spelled[low]}

    async def count(self) -> int:
        """How many receipts are stored (retried deliveries counted once)."""
        rows = await self._read("SELECT count(*) FROM receipts", ())
        return int(rows[0][0])

    async def _latest(
        self, column: str, ids: Iterable[str], sub_account_id: str | None
    ) -> dict[str, ReceiptRecord]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, ReceiptRecord] = {}
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            part = wanted[start : start + _IDS_PER_QUERY]
            sql = f"{_SELECT} WHERE {column} IN ({', '.join('?' * len(part))})"
            params: list[object] = list(part)
            if sub_account_id is not None:
                sql += " AND sub_account_id = ?"
                params.append(sub_account_id)
            for row in await self._read(sql, params):
                record = ReceiptRecord(**dict(zip(_COLUMNS, row, strict=True)))
                id_ = record.client_message_id if column == "client_message_id" else record.umid
                assert id_ is not None
                best = found.get(id_)
                if best is None or record.order > best.order:
                    found[id_] = record
        return found

    async def _read(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        async with self._read_lock:
            reader = self._reader
            if reader is None:
                raise RuntimeError("the receipt store is not open")
            return await anyio.to_thread.run_sync(_fetch_all, reader, sql, params)


def _fail(group: Iterable[_Pending], exc: BaseException) -> None:
    for p in group:
        p.error = exc
        p.done.set()


def _fetch_all(db: sqlite3.Connection, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
    return db.execute(sql, params).fetchall()
