"""The OCPP journal: frames and meter samples of every station, committed in groups, each station alone.

``GroupCommitJournal`` is the fast path for the busiest messages (meter values, heartbeats, replies):
each call queues one message's frames and samples and returns a future that resolves once they are
committed. A flusher commits whatever is queued in a single transaction (``executemany`` per table
on SQLite, ``COPY`` on PostgreSQL), in the order it was queued. On PostgreSQL up to three such batches
are in flight at once and may commit in either order; one station's messages are still stored in
order, since the station sends its next only once the last was acknowledged. So 1,000 chargers
sending at once cost a few commits, not a thousand, and a charger is never acknowledged before its
message is durable.

**One station cannot take the others down.** Many stations share a group, so a value that cannot be
stored must never reach one:

1. Each message's rows are bound and checked when it is queued, on the caller's side, by the same
   code that would bind them for the database (exact decimals within their column's digits, aware
   times), plus what the database itself would refuse: text longer than its column or holding a NUL
   character or a lone surrogate, integers outside the column's range. A message that fails is
   ``Unstorable`` at once, for its sender alone; nothing was queued.
2. A group that fails anyway, for any reason but the database being unreachable, is split in halves
   and each half written again, down to the one message at fault, which alone fails (``Unstorable``).
   Every other message of the group is committed. An unreachable database fails the whole group, as
   it must: those chargers get no acknowledgement and send again.

The samples of a message point at the frame that carried them (``meter_samples.frame_id``): the
first frame queued with them. SQLite, with one writer, gives the frames consecutive row ids; on
PostgreSQL the journal takes the ids from the frames' sequence before it copies them in.

Status reports (``connector_status_history``) ride along with the frames of the message that
carried them: one more ``executemany``/``COPY`` per group that holds any, nothing per message but
binding its row.

The inserts skip SQLAlchemy's per-row statement machinery (``DriverInsert``): each column's own bind
processing runs on each value, and the rows go to the driver as they are; the rows stored are the
same as through SQLAlchemy's insert (``tests/integration/test_db_ocpp_journal.py``).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import BigInteger, Connection, Dialect, Engine, Integer, String, Table, insert
from sqlalchemy import exc as sql_errors
from sqlalchemy.dialects import postgresql, sqlite

from evbill.adapters.db.charging import tables as charging_tables
from evbill.adapters.db.charging.rows import frame_row, refused_row, sample_row, status_row
from evbill.adapters.db.charging_state import tables as state_tables
from evbill.domain.charging.frames import Frame, RefusedFrames, Unstorable
from evbill.domain.charging.status_history import StatusReport
from evbill.domain.errors import Problem, brief_numbers
from evbill.domain.metering.cleaning import MeterSample

LOGGER = logging.getLogger("evbill.db")

Samples = Sequence[tuple[str, str, MeterSample]]  # (operator_id, session_id, sample)
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
# Columns of frames and samples that only evbill fills (from its own records), never a charger.
TRUSTED = frozenset(
    {"operator_id", "station_id", "charge_point_id", "direction", "at", "session_id", "frame_id"}
)

STATUS_TRUSTED = frozenset({"operator_id", "station_id", "received_at"})


def _storable_text(value: object, length: int | None) -> None:
    """Refuse what a text column would refuse: not a string, too long, NUL, a lone surrogate."""
    if not isinstance(value, str):
        raise TypeError(f"text is required, not {type(value).__name__}")
    if length is not None and len(value) > length:
        raise ValueError(f"{len(value)} characters, more than the column's {length}")
    if "\x00" in value:
        raise ValueError("a NUL character cannot be stored")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ValueError("a lone surrogate is not text that can be stored") from None


def _check_for(column: Any) -> Callable[[Any], None] | None:
    """What the database would refuse of a value of ``column``, checked before it gets there."""
    kind = column.type
    if isinstance(kind, String):  # Text is a String too
        length = getattr(kind, "length", None)
        return lambda value: _storable_text(value, length)
    if isinstance(kind, Integer):  # BigInteger is an Integer too
        low, high = INT64 if isinstance(kind, BigInteger) else INT32

        def in_range(value: Any) -> None:
            if not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{value!r} is not an integer from {low} to {high}")

        return in_range
    return None


class DriverInsert:
    """One table's INSERT in the driver's own SQL, its rows checked and bound as SQLAlchemy binds them.

    Columns named ``trusted`` hold only what evbill itself wrote (ids, the direction): their values
    are bound without the checks a charger's values get.

    On PostgreSQL the rows go in with COPY instead (``copy_into``): one statement streams the whole
    batch, where an INSERT per row costs the server a parse, plan and execution each, and PostgreSQL,
    not evbill, was what held the 1.6 MeterValues throughput below the bare server's.
    """

    def __init__(self, table: Table, dialect: Dialect, *, trusted: frozenset[str] = frozenset()) -> None:
        self.table = table
        self.columns = [column for column in table.columns if not column.primary_key]
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(column.name) for column in self.columns)
        target = dialect.identifier_preparer.format_table(table)
        self.copy_sql = f"COPY {target} ({names}) FROM STDIN"
        self.copy_with_ids_sql = f"COPY {target} (id, {names}) FROM STDIN"
        compiled = insert(table).compile(dialect=dialect, column_keys=[column.key for column in self.columns])
        self.sql = compiled.string
        positions = compiled.positiontup
        if positions is not None and list(positions) != [column.key for column in self.columns]:
            raise ValueError(f"{table.name}: unexpected parameter order {positions}")
        self.positional = positions is not None
        self._columns = [
            (
                column.key,
                column.type._cached_bind_processor(dialect),
                None if column.key in trusted else _check_for(column),
            )
            for column in self.columns
        ]

    def position(self, key: str) -> int:
        return [column.key for column in self.columns].index(key)

    def bound(self, row: Mapping[str, Any]) -> list[Any]:
        """The row's values in column order, as the driver takes them; ``Unstorable`` if one cannot be."""
        values = []
        for key, process, check in self._columns:
            value = row[key]
            try:
                if check is not None and value is not None:
                    check(value)
                values.append(value if process is None else process(value))
            except (ValueError, TypeError, ArithmeticError) as error:
                problem = Problem(f"{self.table.name}.{key}", brief_numbers(str(error))[:200])
                raise Unstorable("a value of the message cannot be stored", (problem,)) from None
        return values

    def driver_rows(self, rows: Sequence[list[Any]]) -> Sequence[Any]:
        if self.positional:
            return [tuple(row) for row in rows]
        keys = [key for key, _, _ in self._columns]
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def copy_into(
        self, connection: Connection, rows: Sequence[Sequence[Any]], *, with_ids: bool = False
    ) -> None:
        """PostgreSQL (psycopg): the bound rows in one COPY, inside the connection's transaction."""
        driver = connection.connection.driver_connection
        sql = self.copy_with_ids_sql if with_ids else self.copy_sql
        with driver.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)


_CHECKS: dict[tuple[str, str], DriverInsert] = {}


def checked_rows(table: Table, dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> None:
    """Raise ``Unstorable`` if one of ``rows`` could not be stored in ``table`` (the journal's checks,
    for the repositories that insert through SQLAlchemy)."""
    key = (table.name, dialect.name)
    insert_of = _CHECKS.get(key) or _CHECKS.setdefault(key, DriverInsert(table, dialect))
    for row in rows:
        insert_of.bound(row)


def _is_outage(error: BaseException) -> bool:
    """The database could not be reached or used at all: no message of the group is at fault."""
    outages = (
        sql_errors.OperationalError,
        sql_errors.InterfaceError,
        sql_errors.TimeoutError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
        sqlite3.OperationalError,
        sqlite3.InterfaceError,
    )
    return isinstance(error, outages)


@dataclass(slots=True)
class _Message:
    frames: list[list[Any]]  # bound rows; the first one carried the samples
    samples: list[list[Any]]  # bound rows; their frame_id is filled in when the frames have ids
    future: asyncio.Future[None]
    statuses: list[list[Any]]  # bound rows of connector_status_history


CHECKPOINT_SECONDS = 0.5


def _start_checkpointer(journal: GroupCommitJournal) -> threading.Thread:
    """SQLite: copy the write-ahead log into the database often, in a thread of its own.

    Left to itself, SQLite checkpoints inside whichever commit finds the log past 1,000 pages: that
    commit then also copies and syncs megabytes, and every charger waiting on it waits a quarter of a
    second (the p99 of the OCPP bench). A passive checkpoint every half second keeps the log far
    below that mark, and it runs beside the writer, never blocking it. The thread ends with the
    journal (it holds the journal only weakly).
    """
    engine, alive = journal._engine, weakref.ref(journal)

    def checkpoint() -> None:
        connection = engine.raw_connection()
        try:
            while alive() is not None:
                time.sleep(CHECKPOINT_SECONDS)
                connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
        except Exception:
            LOGGER.warning("SQLite checkpoints stopped; SQLite's own take over", exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=checkpoint, name="evbill-checkpoint", daemon=True)
    thread.start()
    return thread


class GroupCommitJournal:
    """Append frames and samples; ``await`` returns once they are committed (see the module)."""

    def __init__(self, engine: Engine, *, max_batch: int = 2000, writers: int | None = None) -> None:
        self._engine = engine
        self._frames = DriverInsert(charging_tables.ocpp_frames, engine.dialect, trusted=TRUSTED)
        self._samples = DriverInsert(charging_tables.meter_samples, engine.dialect, trusted=TRUSTED)
        self._frame_of_sample = self._samples.position("frame_id")
        self._statuses = DriverInsert(
            state_tables.connector_status_history, engine.dialect, trusted=STATUS_TRUSTED
        )
        self._postgresql = engine.dialect.name == "postgresql"
        self._max_batch = max_batch
        # SQLite has one writer whatever we do. PostgreSQL commits several transactions at once, and
        # a batch that waits for its commit's flush to disk need not hold up the next: 3 in flight.
        # A session's samples still commit in order: its station reads no next message before the
        # last one was acknowledged, that is committed (``of_session_after`` relies on it).
        self._writers = writers if writers is not None else (3 if self._postgresql else 1)
        self._pending: list[_Message] = []
        self._wakeup: asyncio.Event | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        # Threads of their own: a commit that acknowledges chargers never queues behind use cases
        # (a minute's running costs for every live session) in the event loop's shared pool.
        self._writer = ThreadPoolExecutor(max_workers=self._writers, thread_name_prefix="evbill-journal")
        self._checkpointer: threading.Thread | None = None

    def __call__(
        self,
        frames: Sequence[Frame],
        samples: Samples = (),
        *,
        session_id: str | None = None,
        statuses: Sequence[StatusReport] = (),
    ) -> asyncio.Future[None]:
        """Queue one message's frames (about ``session_id``, if given), samples and status reports;
        ``Unstorable`` at once if a value cannot be stored."""
        message = _Message(
            [self._frames.bound(frame_row(frame, session_id)) for frame in frames],
            [
                self._samples.bound(sample_row(operator, session, sample))
                for operator, session, sample in samples
            ],
            asyncio.get_running_loop().create_future(),
            [self._statuses.bound(status_row(report)) for report in statuses],
        )
        self._pending.append(message)
        if self._checkpointer is None and self._engine.dialect.name == "sqlite":
            self._checkpointer = _start_checkpointer(self)
        if self._flusher is None or self._flusher.done():
            self._wakeup = asyncio.Event()
            self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())
        assert self._wakeup is not None
        self._wakeup.set()
        return message.future

    async def count_refused(self, refused: RefusedFrames) -> None:
        """Add ``refused`` to its station's count for its reason and window (one row per window)."""
        await asyncio.get_running_loop().run_in_executor(self._writer, self._add_refused, refused)

    def _add_refused(self, refused: RefusedFrames) -> None:
        table = charging_tables.ocpp_refused_frames
        dialect_insert = postgresql.insert if self._postgresql else sqlite.insert
        row = refused_row(refused)
        statement = dialect_insert(table).values(**row)
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["station_id", "reason", "window_start"],
            set_={
                "frames": table.c.frames + excluded.frames,
                "bytes": table.c.bytes + excluded.bytes,
                "last_at": excluded.last_at,
            },
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    async def _flush_forever(self) -> None:
        assert self._wakeup is not None
        slots = asyncio.Semaphore(self._writers)
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                await slots.acquire()  # a writer is free: it takes everything queued meanwhile
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                task = asyncio.get_running_loop().create_task(self._commit(batch, slots))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)

    async def _commit(self, batch: Sequence[_Message], slots: asyncio.Semaphore) -> None:
        try:
            failures = await asyncio.get_running_loop().run_in_executor(
                self._writer, self._write_apart, batch
            )
        except Exception as error:  # the database is out of reach: nobody is acknowledged
            for message in batch:
                if not message.future.done():
                    message.future.set_exception(error)
            return
        finally:
            slots.release()
        for message, failure in zip(batch, failures, strict=True):
            if message.future.done():
                continue
            if failure is None:
                message.future.set_result(None)
            else:
                problem = Problem("$", f"{type(failure).__name__}: {str(failure).splitlines()[0][:200]}")
                message.future.set_exception(Unstorable("the message cannot be stored", (problem,)))

    def _write_apart(self, batch: Sequence[_Message]) -> list[BaseException | None]:
        """Write the batch; if it fails, write its halves apart, down to the messages at fault."""
        try:
            self._write(batch)
        except Exception as error:
            if _is_outage(error):
                raise
            if len(batch) == 1:
                LOGGER.warning("a message could not be stored and was refused to its station: %s", error)
                return [error]
            middle = len(batch) // 2
            return self._write_apart(batch[:middle]) + self._write_apart(batch[middle:])
        return [None] * len(batch)

    def _write(self, batch: Sequence[_Message]) -> None:
        frame_rows = [row for message in batch for row in message.frames]
        with self._engine.begin() as connection:
            if any(message.samples for message in batch):
                ids = self._insert_frames_with_ids(connection, frame_rows)
                sample_rows = self._samples_with_frames(batch, ids)
            else:
                self._insert(connection, self._frames, frame_rows)
                sample_rows = []
            self._insert(connection, self._samples, sample_rows)
            self._insert(connection, self._statuses, [row for message in batch for row in message.statuses])

    def _insert(self, connection: Connection, table: DriverInsert, rows: Sequence[list[Any]]) -> None:
        if not rows:
            return
        if self._postgresql:
            table.copy_into(connection, rows)
        else:
            connection.exec_driver_sql(table.sql, table.driver_rows(rows))

    def _insert_frames_with_ids(self, connection: Connection, rows: Sequence[list[Any]]) -> list[int]:
        """Insert the frames; their ids, in order."""
        if not rows:
            return []
        if not self._postgresql:  # one writer: the new rows take the next row ids, one after another
            connection.exec_driver_sql(self._frames.sql, self._frames.driver_rows(rows))
            last = int(connection.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
            return list(range(last - len(rows) + 1, last + 1))
        ids = sorted(
            int(value)
            for value in connection.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('ocpp_frames', 'id')) FROM generate_series(1, %(n)s)",
                {"n": len(rows)},
            ).scalars()
        )
        self._frames.copy_into(
            connection, [[id_, *row] for id_, row in zip(ids, rows, strict=True)], with_ids=True
        )
        return ids

    def _samples_with_frames(self, batch: Sequence[_Message], ids: Sequence[int]) -> list[list[Any]]:
        rows = []
        position = 0
        for message in batch:
            frame_id = ids[position] if message.frames else None
            position += len(message.frames)
            for row in message.samples:
                row[self._frame_of_sample] = frame_id
                rows.append(row)
        return rows
