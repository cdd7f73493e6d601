"""The OCPP central system's storage: stations by identity, live sessions, samples, frames, journal.

The repositories work inside a unit of work like the others. ``GroupCommitJournal`` is the fast
path for the busiest messages (meter values, heartbeats, replies): each ``append`` queues frames and
samples and returns a future that resolves once they are committed. A flusher commits whatever is
queued in a single transaction (``executemany`` per table on SQLite, ``COPY`` on PostgreSQL), in the
order it was queued. On PostgreSQL up to three such batches are in flight at once and may commit in
either order; one station's messages are still stored in order, since the station sends its next
only once the last was acknowledged. So 1,000
chargers sending at once cost a few commits, not a thousand, and a charger is never acknowledged
before its message is durable. A failed commit fails every future of its batch: those chargers get
no acknowledgement and send again. The journal's inserts skip SQLAlchemy's per-row statement
machinery (``DriverInsert``): each column's own bind processing (UTC times, exact decimals) runs on
each value, and the rows go to the driver's ``executemany`` as they are; the rows stored are the
same as through SQLAlchemy's insert (``tests/integration/test_db_ocpp_journal.py``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Table, insert, select, update

from evbill.adapters.db.charging import tables as charging_tables
from evbill.adapters.db.records import (
    FRAMES,
    METER_SAMPLES,
    SESSIONS,
    STATION_REQUESTS,
    STATIONS,
    FrameRow,
    MeterSampleRow,
)
from evbill.adapters.db.repositories import ConnectionSource, insert_row
from evbill.adapters.db.sites import tables as site_tables
from evbill.domain.charging.frames import Frame
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.metering.cleaning import MeterSample
from evbill.domain.sites.model import ChargingStation, StationRequest

LOGGER = logging.getLogger("evbill.db")


def frame_row(frame: Frame) -> dict[str, Any]:
    """A frame as a row to insert (the id is the database's counter)."""
    row = FRAMES.to_row(
        FrameRow(
            None,
            frame.operator_id,
            frame.station_id,
            frame.charge_point_id,
            frame.direction,
            frame.at,
            frame.message_type,
            frame.unique_id,
            frame.action,
            frame.raw,
        )  # fmt: skip
    )
    del row["id"]
    return row


def sample_row(operator_id: str, session_id: str, sample: MeterSample) -> dict[str, Any]:
    row = METER_SAMPLES.to_row(
        MeterSampleRow(
            None,
            operator_id,
            session_id,
            sample.timestamp,
            sample.energy,
            str(sample.energy_unit),
            sample.multiplier,
            sample.power,
            str(sample.power_unit),
            sample.current,
            sample.state,
            sample.seq_no,
            sample.context,
            sample.offline,
            sample.signed_data,
        )  # fmt: skip
    )
    del row["id"]
    return row


def _sample(row: Any) -> MeterSample:
    stored = METER_SAMPLES.from_row(row)
    return MeterSample(
        timestamp=stored.timestamp,
        energy=stored.energy,
        energy_unit=stored.energy_unit,
        multiplier=stored.multiplier,
        power=stored.power,
        power_unit=stored.power_unit,
        current=stored.current,
        state=stored.state,
        seq_no=stored.seq_no,
        context=stored.context,
        offline=stored.offline,
        signed_data=stored.signed_data,
    )


class SqlStationDirectory:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def find_by_charge_point_id(self, charge_point_id: str) -> ChargingStation | None:
        row = (
            self._connection()
            .execute(
                select(site_tables.charging_stations).where(
                    site_tables.charging_stations.c.charge_point_id == charge_point_id
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else STATIONS.from_row(row)


class SqlStationRequestLog:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def note(self, request: StationRequest) -> None:
        connection = self._connection()
        c = charging_tables.station_requests.c
        found = connection.execute(
            select(c.attempts).where(c.charge_point_id == request.charge_point_id)
        ).scalar()
        if found is None:
            insert_row(connection, charging_tables.station_requests, STATION_REQUESTS.to_row(request))
            return
        seen = {"last_seen": request.last_seen, "subprotocol": request.subprotocol, "attempts": found + 1}
        described = {
            name: getattr(request, name)
            for name in ("vendor", "model", "serial_number", "firmware_version")
            if getattr(request, name) is not None
        }
        connection.execute(
            update(charging_tables.station_requests)
            .where(c.charge_point_id == request.charge_point_id)
            .values(**seen, **described)
        )

    def all(self) -> Sequence[StationRequest]:
        rows = self._connection().execute(
            select(charging_tables.station_requests).order_by(charging_tables.station_requests.c.first_seen)
        )
        return [STATION_REQUESTS.from_row(row) for row in rows.mappings()]


class SqlLiveSessionRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def _one(self, *where: Any) -> ChargingSession | None:
        row = (
            self._connection()
            .execute(select(charging_tables.charging_sessions).where(*where))
            .mappings()
            .first()
        )
        return None if row is None else SESSIONS.from_row(row)

    def find_by_transaction(
        self, operator_id: str, station_id: str, transaction_id: str
    ) -> ChargingSession | None:
        c = charging_tables.charging_sessions.c
        return self._one(
            c.operator_id == operator_id, c.station_id == station_id, c.transaction_id == transaction_id
        )

    def find_by_start_key(self, operator_id: str, station_id: str, start_key: str) -> ChargingSession | None:
        evidence = charging_tables.session_evidence.c
        found = (
            self._connection()
            .execute(
                select(evidence.session_id).where(
                    evidence.operator_id == operator_id, evidence.start_key == _key(station_id, start_key)
                )
            )
            .scalar()
        )
        if found is None:
            return None
        c = charging_tables.charging_sessions.c
        return self._one(c.operator_id == operator_id, c.id == found)

    def active_of_token(self, operator_id: str, token_uid: str) -> Sequence[ChargingSession]:
        c = charging_tables.charging_sessions.c
        rows = self._connection().execute(
            select(charging_tables.charging_sessions).where(
                c.operator_id == operator_id, c.token_uid == token_uid, c.status == SessionStatus.ACTIVE.value
            )
        )
        return [SESSIONS.from_row(row) for row in rows.mappings()]

    def next_transaction_number(self) -> int:
        result = self._connection().execute(
            insert(charging_tables.ocpp_transaction_numbers).values(session_id="")
        )
        number = result.inserted_primary_key
        assert number is not None
        return int(number[0])

    def open(self, session: ChargingSession, *, transaction_id: str, start_key: str | None) -> None:
        connection = self._connection()
        insert_row(
            connection,
            charging_tables.charging_sessions,
            SESSIONS.to_row(replace(session, transaction_id=transaction_id)),
        )
        key = None if start_key is None else _key(session.station_id, start_key)
        evidence = {
            "session_id": session.id,
            "operator_id": session.operator_id,
            "start_key": key,
            "details": None,
        }
        insert_row(connection, charging_tables.session_evidence, evidence)

    def release_start_key(self, operator_id: str, session_id: str) -> None:
        e = charging_tables.session_evidence.c
        self._connection().execute(
            update(charging_tables.session_evidence)
            .where(e.operator_id == operator_id, e.session_id == session_id)
            .values(start_key=None)
        )

    def close(self, session: ChargingSession, *, details: Mapping[str, Any]) -> None:
        connection = self._connection()
        c = charging_tables.charging_sessions.c
        row = SESSIONS.to_row(session)
        connection.execute(
            update(charging_tables.charging_sessions)
            .where(c.operator_id == session.operator_id, c.id == session.id)
            .values(**row)
        )
        e = charging_tables.session_evidence.c
        connection.execute(
            update(charging_tables.session_evidence)
            .where(e.operator_id == session.operator_id, e.session_id == session.id)
            .values(details=dict(details))
        )

    def details(self, operator_id: str, session_id: str) -> Mapping[str, Any] | None:
        e = charging_tables.session_evidence.c
        value = (
            self._connection()
            .execute(select(e.details).where(e.operator_id == operator_id, e.session_id == session_id))
            .scalar()
        )
        return value  # type: ignore[no-any-return]


def _key(station_id: str, start_key: str) -> str:
    return f"{station_id}|{start_key}"[:200]


class SqlMeterSampleRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def add_many(self, operator_id: str, session_id: str, samples: Sequence[MeterSample]) -> None:
        if samples:
            self._connection().execute(
                insert(charging_tables.meter_samples),
                [sample_row(operator_id, session_id, s) for s in samples],
            )

    def of_session(self, operator_id: str, session_id: str) -> Sequence[MeterSample]:
        c = charging_tables.meter_samples.c
        rows = self._connection().execute(
            select(charging_tables.meter_samples)
            .where(c.operator_id == operator_id, c.session_id == session_id)
            .order_by(c.id)
        )
        return [_sample(row) for row in rows.mappings()]

    def of_session_after(
        self, operator_id: str, session_id: str, mark: int
    ) -> tuple[Sequence[MeterSample], int]:
        c = charging_tables.meter_samples.c
        rows = (
            self._connection()
            .execute(
                select(charging_tables.meter_samples)
                .where(c.operator_id == operator_id, c.session_id == session_id, c.id > mark)
                .order_by(c.id)
            )
            .mappings()
            .all()
        )
        return [_sample(row) for row in rows], (rows[-1]["id"] if rows else mark)


class SqlFrameLog:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def add_many(self, frames: Sequence[Frame]) -> None:
        if frames:
            self._connection().execute(
                insert(charging_tables.ocpp_frames), [frame_row(frame) for frame in frames]
            )


class DriverInsert:
    """One table's INSERT in the driver's own SQL, its rows bound the way SQLAlchemy binds them.

    On PostgreSQL the rows go in with COPY instead (``copy_into``): one statement streams the whole
    batch, where an INSERT per row costs the server a parse, plan and execution each, and PostgreSQL,
    not evbill, was what held the 1.6 MeterValues throughput below the bare server's.
    """

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.columns = [column for column in table.columns if not column.primary_key]
        names = ", ".join(dialect.identifier_preparer.quote(column.name) for column in self.columns)
        self.copy_sql = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
        compiled = insert(table).compile(dialect=dialect, column_keys=[column.key for column in self.columns])
        self.sql = compiled.string
        positions = compiled.positiontup
        self.positional = positions is not None
        if positions is not None and list(positions) != [column.key for column in self.columns]:
            raise ValueError(f"{table.name}: unexpected parameter order {positions}")
        self._processors = [
            (column.key, column.type._cached_bind_processor(dialect)) for column in self.columns
        ]

    def bound(self, row: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        values = []
        for key, process in self._processors:
            value = row[key]
            values.append(value if process is None else process(value))
        if self.positional:
            return tuple(values)
        return dict(zip((key for key, _ in self._processors), values, strict=True))

    def copy_into(self, connection: Connection, rows: Sequence[tuple[Any, ...] | dict[str, Any]]) -> None:
        """PostgreSQL (psycopg): the bound rows in one COPY, inside the connection's transaction."""
        keys = [key for key, _ in self._processors]
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(self.copy_sql) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row if isinstance(row, tuple) else [row[key] for key in keys])


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
        self._frames = DriverInsert(charging_tables.ocpp_frames, engine.dialect)
        self._samples = DriverInsert(charging_tables.meter_samples, engine.dialect)
        self._postgresql = engine.dialect.name == "postgresql"
        self._max_batch = max_batch
        # SQLite has one writer whatever we do. PostgreSQL commits several transactions at once, and
        # a batch that waits for its commit's flush to disk need not hold up the next: 3 in flight.
        # A session's samples still commit in order: its station reads no next message before the
        # last one was acknowledged, that is committed (``of_session_after`` relies on it).
        self._writers = writers if writers is not None else (3 if self._postgresql else 1)
        self._pending: list[
            tuple[Sequence[Frame], Sequence[tuple[str, str, MeterSample]], asyncio.Future[None]]
        ] = []
        self._wakeup: asyncio.Event | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        # Threads of their own: a commit that acknowledges chargers never queues behind use cases
        # (a minute's running costs for every live session) in the event loop's shared pool.
        self._writer = ThreadPoolExecutor(max_workers=self._writers, thread_name_prefix="evbill-journal")
        self._checkpointer: threading.Thread | None = None

    def __call__(
        self, frames: Sequence[Frame], samples: Sequence[tuple[str, str, MeterSample]]
    ) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((frames, samples, future))
        if self._checkpointer is None and self._engine.dialect.name == "sqlite":
            self._checkpointer = _start_checkpointer(self)
        if self._flusher is None or self._flusher.done():
            self._wakeup = asyncio.Event()
            self._flusher = loop.create_task(self._flush_forever())
        assert self._wakeup is not None
        self._wakeup.set()
        return future

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

    async def _commit(
        self,
        batch: Sequence[tuple[Sequence[Frame], Sequence[tuple[str, str, MeterSample]], asyncio.Future[None]]],
        slots: asyncio.Semaphore,
    ) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._write, batch)
        except Exception as error:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        finally:
            slots.release()
        for _, _, future in batch:
            if not future.done():
                future.set_result(None)

    def _write(
        self, batch: Sequence[tuple[Sequence[Frame], Sequence[tuple[str, str, MeterSample]], Any]]
    ) -> None:
        frame_rows = []
        sample_rows = []
        for frames, samples, _ in batch:
            frame_rows.extend(self._frames.bound(frame_row(frame)) for frame in frames)
            sample_rows.extend(
                self._samples.bound(sample_row(operator_id, session_id, sample))
                for operator_id, session_id, sample in samples
            )
        with self._engine.begin() as connection:
            # samples first: a frame's acknowledgement never precedes what it carried
            for table, rows in ((self._samples, sample_rows), (self._frames, frame_rows)):
                if not rows:
                    continue
                if self._postgresql:
                    table.copy_into(connection, rows)
                else:
                    connection.exec_driver_sql(table.sql, rows)
