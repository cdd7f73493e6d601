"""The OCPP central system's storage: stations by identity, live sessions, samples and frames.

The repositories work inside a unit of work like the others; the busiest messages go through the
group-commit journal instead (``journal.py``). What a charger sent is checked as the journal checks
it before it is inserted (``checked_rows``): a value that cannot be stored is ``Unstorable``, refused
to that charger, and never a database error.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from evbill.adapters.db.charging import tables as charging_tables
from evbill.adapters.db.charging.journal import checked_rows
from evbill.adapters.db.charging.rows import frame_row, sample_of, sample_row
from evbill.adapters.db.records import FRAMES, METER_SAMPLES, SESSIONS, STATION_REQUESTS, STATIONS
from evbill.adapters.db.repositories import ConnectionSource, insert_row
from evbill.adapters.db.sites import tables as site_tables
from evbill.domain.charging.frames import Frame, StoredFrame, StoredSample
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.metering.cleaning import MeterSample
from evbill.domain.sites.model import ChargingStation, StationRequest

LOGGER = logging.getLogger("evbill.db")
TRANSACTION_NUMBERS = 2**31 - 1  # OCPP 1.6 transactionId is an integer: positive 32-bit ones


def _sample(row: Any) -> MeterSample:
    return sample_of(METER_SAMPLES.from_row(row))


# A ``select(meter_samples)`` row straight to its record, without a mapping per row: a running cost
# reads every sample stored since the last push, for every live session, each minute.
_READ_SAMPLE_ROW = METER_SAMPLES.reader([column.name for column in charging_tables.meter_samples.columns])


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

    def next_transaction_number(self, station_id: str) -> int:
        """A random positive 32-bit number no session of the station has: a counter would tell every
        driver how many sessions the platform (or the station) has had."""
        c = charging_tables.charging_sessions.c
        while True:
            number = 1 + secrets.randbelow(TRANSACTION_NUMBERS)
            taken = self._connection().execute(
                select(c.id).where(c.station_id == station_id, c.transaction_id == str(number))
            )
            if taken.first() is None:
                return number

    def open(
        self,
        session: ChargingSession,
        *,
        transaction_id: str,
        start_key: str | None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
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
            "details": None if details is None else dict(details),
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

    def amend(self, session: ChargingSession, *, details: Mapping[str, Any] | None) -> None:
        c = charging_tables.charging_sessions.c
        self._connection().execute(
            update(charging_tables.charging_sessions)
            .where(c.operator_id == session.operator_id, c.id == session.id)
            .values(**SESSIONS.to_row(session))
        )
        e = charging_tables.session_evidence.c
        self._connection().execute(
            update(charging_tables.session_evidence)
            .where(e.operator_id == session.operator_id, e.session_id == session.id)
            .values(details=None if details is None else dict(details))
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

    def add_many(
        self,
        operator_id: str,
        session_id: str,
        samples: Sequence[MeterSample],
        *,
        frame_id: int | None = None,
    ) -> None:
        if samples:
            connection = self._connection()
            rows = [sample_row(operator_id, session_id, sample, frame_id) for sample in samples]
            checked_rows(charging_tables.meter_samples, connection.dialect, rows)
            connection.execute(insert(charging_tables.meter_samples), rows)

    def stored_of_session(self, operator_id: str, session_id: str) -> Sequence[StoredSample]:
        """The session's samples as stored, each with its place in the log and its frame."""
        c = charging_tables.meter_samples.c
        rows = self._connection().execute(
            select(charging_tables.meter_samples)
            .where(c.operator_id == operator_id, c.session_id == session_id)
            .order_by(c.id)
        )
        return [StoredSample(row["id"], row["frame_id"], _sample(row)) for row in rows.mappings()]

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
            .all()
        )
        records = [_READ_SAMPLE_ROW(row) for row in rows]
        return [sample_of(record) for record in records], ((records[-1].id or mark) if records else mark)


class SqlFrameLog:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def add_many(self, frames: Sequence[Frame], *, session_id: str | None = None) -> Sequence[int]:
        """Store the frames (about ``session_id``, if given); their ids, in order."""
        if not frames:
            return []
        connection = self._connection()
        rows = [frame_row(frame, session_id) for frame in frames]
        checked_rows(charging_tables.ocpp_frames, connection.dialect, rows)
        table = charging_tables.ocpp_frames
        inserted = connection.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
        return [int(row[0]) for row in inserted]

    def by_ids(self, operator_id: str, ids: Sequence[int]) -> Sequence[StoredFrame]:
        c = charging_tables.ocpp_frames.c
        found: list[StoredFrame] = []
        for start in range(0, len(ids), 500):
            rows = self._connection().execute(
                select(charging_tables.ocpp_frames)
                .where(c.operator_id == operator_id, c.id.in_(ids[start : start + 500]))
                .order_by(c.id)
            )
            found += [_stored_frame(row) for row in rows.mappings()]
        return found


def _stored_frame(row: Any) -> StoredFrame:
    stored = FRAMES.from_row(row)
    frame = Frame(
        stored.operator_id, stored.station_id, stored.charge_point_id, stored.direction, stored.at,
        stored.message_type, stored.unique_id, stored.action, stored.raw, stored.session_id,
    )  # fmt: skip
    return StoredFrame(int(row["id"]), frame)


class SqlFrameRetention:
    """Old frames of no session, found by id ranges (the primary key: no index on time is needed)."""

    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def id_range(self) -> tuple[int, int]:
        c = charging_tables.ocpp_frames.c
        first, last = self._connection().execute(select(func.min(c.id), func.max(c.id))).one()
        return (int(first or 0), int(last or 0))

    def old_frames(self, *, after: int, upto: int, cutoff: datetime) -> Sequence[StoredFrame] | None:
        c = charging_tables.ocpp_frames.c
        in_range = (c.id > after, c.id <= upto)
        connection = self._connection()
        oldest = connection.execute(select(func.min(c.at)).where(*in_range)).scalar()
        if oldest is not None and oldest >= cutoff:
            return None
        rows = connection.execute(
            select(charging_tables.ocpp_frames)
            .where(*in_range, c.at < cutoff, c.session_id.is_(None))
            .order_by(c.id)
        )
        return [_stored_frame(row) for row in rows.mappings()]

    def purge(self, ids: Sequence[int], *, cutoff: datetime, at: datetime, archive: str | None) -> int:
        connection = self._connection()
        purges, c = charging_tables.ocpp_frame_purges, charging_tables.ocpp_frames.c
        run = connection.execute(
            insert(purges)
            .values(at=at, cutoff=cutoff, open=True, frames=0, archive=archive)
            .returning(purges.c.id)
        ).scalar_one()
        deleted = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            result = connection.execute(
                delete(charging_tables.ocpp_frames).where(
                    c.id.in_(chunk), c.at < cutoff, c.session_id.is_(None)
                )
            )
            deleted += result.rowcount
        connection.execute(update(purges).where(purges.c.id == run).values(open=False, frames=deleted))
        return deleted
