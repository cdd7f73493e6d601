"""What utilisation reads: the EVSEs and where they are, the status history, the sessions' charging time.

    places:   evses JOIN charging_stations JOIN locations LEFT JOIN connectors   (one row per connector)
    reports:  connector_status_history WHERE station IN (...) AND received_at IN [from - margin, to + margin)
              UNION the last report of each (station, evse, connector) received before that
    readings: the same rows as reports, the times as integer microseconds (``extract(epoch ...)``), what
              utilisation, faults and occupancy walk (``domain.analytics.utilisation_sums``); on
              PostgreSQL the stations are one array (``station = ANY(:ids)``)
    readings_ahead: the same, read on a thread about a tenth of the stations at a time while the caller
              walks those that have come (PostgreSQL)
    charging: charging_sessions JOIN session_usage WHERE evse IN (...) AND the session overlaps the window

The history is read by ``ix_connector_status_history_station (operator_id, station_id, received_at)``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import itemgetter

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    String,
    any_,
    bindparam,
    cast,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from evbill.adapters.db.analytics.tables import session_usage
from evbill.adapters.db.charging.rows import status_row
from evbill.adapters.db.charging.tables import charging_sessions
from evbill.adapters.db.charging_state.tables import connector_status_history
from evbill.adapters.db.repositories import ConnectionSource
from evbill.adapters.db.sites.tables import charging_stations, connectors, evses, locations
from evbill.adapters.db.types import sqlite_time
from evbill.domain.analytics.utilisation import EvsePlace
from evbill.domain.analytics.utilisation_sums import Reading, micros
from evbill.domain.charging.status_history import StatusReport
from evbill.domain.offers.plans import connector_class

_CHUNK = 500
_PARTS = 10  # readings_ahead reads the stations in about this many parts
_ARRIVAL = itemgetter(0, 4, 7)  # station, received time, storage order
_RECEIVED, _STORED = itemgetter(4), itemgetter(7)


def _utc_naive(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def _raw_times(
    postgresql: bool,
) -> tuple[Callable[[ColumnElement[datetime]], ColumnElement[object]], Callable[[object], datetime]]:
    """How to read a UtcDateTime column as the driver gives it (no TypeDecorator per row: 144,000
    reports are two timestamps each), and the aware UTC datetime from that value.

    PostgreSQL: the naive UTC timestamp (``timezone('UTC', at)``) made aware; SQLite: the stored text."""
    if postgresql:
        return (
            lambda column: type_coerce(func.timezone("UTC", column), DateTime()),
            _utc_naive,  # type: ignore[return-value,arg-type]
        )
    return lambda column: type_coerce(column, String()), sqlite_time  # type: ignore[return-value]


def _micros(column: ColumnElement[datetime]) -> ColumnElement[int]:
    """A timestamptz as integer microseconds since the epoch (exact: ``extract`` is numeric)."""
    return type_coerce(cast(func.extract("epoch", column) * 1_000_000, BigInteger), BigInteger())


class SqlStatusHistory:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def add(self, reports: Sequence[StatusReport]) -> None:
        """Append reports (the OCPP journal writes them itself; this is for imports and tests)."""
        if reports:
            rows = [status_row(report) for report in reports]
            self._connection().execute(connector_status_history.insert(), rows)

    def places(
        self,
        operator_id: str,
        *,
        location_id: str | None = None,
        station_id: str | None = None,
        evse_id: str | None = None,
        connector_class_name: str | None = None,
    ) -> list[EvsePlace]:
        e, st, loc, con = evses.c, charging_stations.c, locations.c, connectors.c
        statement = (
            select(
                e.id,
                e.station_id,
                e.ocpp_evse_id,
                st.location_id,
                loc.time_zone,
                con.power_type,
                con.max_electric_power,
            )  # fmt: skip
            .select_from(
                evses.join(charging_stations, (st.id == e.station_id) & (st.operator_id == e.operator_id))
                .join(locations, (loc.id == st.location_id) & (loc.operator_id == st.operator_id))
                .outerjoin(connectors, (con.evse_id == e.id) & (con.operator_id == e.operator_id))
            )
            .where(e.operator_id == operator_id)
        )
        for column, value in ((st.location_id, location_id), (e.station_id, station_id), (e.id, evse_id)):
            if value is not None:
                statement = statement.where(column == value)
        found: dict[str, tuple[EvsePlace, bool, int | None]] = {}
        for row in self._connection().execute(statement):
            place = EvsePlace(row.id, row.station_id, row.ocpp_evse_id, row.location_id, row.time_zone, "")
            _, dc, power = found.get(row.id, (place, False, None))
            dc = dc or str(row.power_type or "").startswith("DC")
            if row.max_electric_power is not None:
                power = max(power or 0, row.max_electric_power)
            found[row.id] = (place, dc, power)
        places = [
            EvsePlace(
                p.evse_id,
                p.station_id,
                p.evse_number,
                p.location_id,
                p.zone,
                connector_class(is_dc=dc, max_power_w=power).value,
            )  # fmt: skip
            for p, dc, power in found.values()
        ]
        if connector_class_name is not None:
            places = [place for place in places if place.connector_class == connector_class_name]
        return sorted(places, key=lambda place: (place.station_id, place.evse_number))

    def reports(
        self, operator_id: str, station_ids: Sequence[str], start: datetime, end: datetime, margin: timedelta
    ) -> list[StatusReport]:
        """Reports received in [start - margin, end + margin), and the last one before of each connector."""
        h = connector_status_history.c
        connection = self._connection()
        raw, time = _raw_times(connection.dialect.name == "postgresql")
        found: list[StatusReport] = []
        stations = sorted(set(station_ids))
        for first in range(0, len(stations), _CHUNK):
            chunk = stations[first : first + _CHUNK]
            mine = (h.operator_id == operator_id) & h.station_id.in_(chunk)
            before = (
                select(func.max(h.id))
                .where(mine, h.received_at < start - margin)
                .group_by(h.station_id, h.evse_number, h.connector_number)
            )
            statement = (
                select(
                    h.station_id,
                    h.evse_number,
                    h.connector_number,
                    h.status,
                    raw(h.received_at),
                    raw(h.reported_at),
                    h.error_code,
                    h.info,
                )  # fmt: skip
                .where(
                    mine,
                    or_(
                        (h.received_at >= start - margin) & (h.received_at < end + margin),
                        h.id.in_(before.scalar_subquery()),
                    ),
                )
                .order_by(h.id)
            )
            # the driver's own tuples: no column here has a result processor left, and a Row per report
            # would cost as much again as the driver's fetch
            result = connection.execute(statement)
            rows = result.cursor.fetchall()
            result.close()
            for station, evse, connector, status, received, reported, error, info in rows:
                at = time(received)  # a charger's clock mostly agrees: then one datetime serves both
                charger = at if reported == received else None if reported is None else time(reported)
                report = StatusReport(operator_id, station, evse, connector, status, at, charger, error, info)
                found.append(report)
        return found

    def charging_intervals(
        self, operator_id: str, evse_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, datetime]]]:
        """EVSE id -> the periods its sessions were charging (charging time, no idle time), in order."""
        s = charging_sessions.c
        intervals: dict[str, list[tuple[datetime, datetime]]] = {}
        wanted = sorted(set(evse_ids))
        for first in range(0, len(wanted), _CHUNK):
            statement = (
                select(s.evse_id, session_usage.c.periods)
                .select_from(charging_sessions.join(session_usage, session_usage.c.session_id == s.id))
                .where(
                    s.operator_id == operator_id,
                    s.evse_id.in_(wanted[first : first + _CHUNK]),
                    s.started_at < end,
                    or_(s.ended_at.is_(None), s.ended_at > start),
                )
            )
            for row in self._connection().execute(statement):
                for period in json.loads(row.periods):
                    charging, parking = period[3], period[4]
                    if charging is not None and Decimal(charging) > 0 and not (parking and Decimal(parking)):
                        intervals.setdefault(row.evse_id, []).append(
                            (datetime.fromisoformat(period[0]), datetime.fromisoformat(period[1]))
                        )
        for spans in intervals.values():
            spans.sort()
        return intervals

    def readings(
        self, operator_id: str, station_ids: Sequence[str], start: datetime, end: datetime, margin: timedelta
    ) -> dict[str, list[Reading]]:
        """``reports`` as integer microseconds, per station in arrival order. PostgreSQL turns the times
        into integers itself (no datetime per value: 288,000 of them in a month of 200 EVSEs) and sends
        them sorted; SQLite's stored text is read as ``reports`` reads it."""
        connection = self._connection()
        if connection.dialect.name != "postgresql":
            return self._readings_of_reports(operator_id, station_ids, start, end, margin)
        found: dict[str, list[Reading]] = {}
        stations = sorted(set(station_ids))
        for first in range(0, len(stations), _CHUNK):
            found.update(_readings_part(connection, operator_id, stations[first : first + _CHUNK], start, end,
                                        margin))  # fmt: skip
        return found

    @contextmanager
    def readings_ahead(
        self, operator_id: str, station_ids: Sequence[str], start: datetime, end: datetime, margin: timedelta
    ) -> Iterator[Mapping[str, Sequence[Reading]]]:
        """``readings``, read on a thread a part of the stations at a time while the caller walks those
        that have come (PostgreSQL's backend and this process then work at once); a station's readings
        wait for its part. The connection is the thread's until the block ends (which waits for it)."""
        connection = self._connection()
        if connection.dialect.name != "postgresql":
            yield self._readings_of_reports(operator_id, station_ids, start, end, margin)
            return
        stations = sorted(set(station_ids))
        size = max(1, min(_CHUNK, -(-len(stations) // _PARTS)))
        parts = [stations[first : first + size] for first in range(0, len(stations), size)]
        ahead = _ReadAhead(
            parts, lambda part: _readings_part(connection, operator_id, part, start, end, margin)
        )
        try:
            yield ahead
        finally:
            ahead.close()

    def _readings_of_reports(
        self, operator_id: str, station_ids: Sequence[str], start: datetime, end: datetime, margin: timedelta
    ) -> dict[str, list[Reading]]:
        found: dict[str, list[Reading]] = {}
        # reports() reads in storage order: its place in that list keeps it
        for stored, r in enumerate(self.reports(operator_id, station_ids, start, end, margin)):
            reported = None if r.reported_at is None else micros(r.reported_at)
            reading = (r.station_id, r.evse_number, r.connector_number, r.status, micros(r.received_at),
                       reported, r.error_code, stored)  # fmt: skip
            found.setdefault(r.station_id, []).append(reading)
        for readings in found.values():
            readings.sort(key=_ARRIVAL)
        return found


def _readings_part(
    connection: Connection, operator_id: str, stations: list[str], start: datetime, end: datetime,
    margin: timedelta,
) -> dict[str, list[Reading]]:  # fmt: skip
    """The readings of some stations (at most ``_CHUNK``), PostgreSQL."""
    h = connector_status_history.c
    # one array parameter, not a list of them: PostgreSQL then looks each row's station up in a hash of
    # the array instead of comparing it with every id of the list (a third of the read)
    chunk = bindparam(None, stations, type_=ARRAY(String()))
    mine = (h.operator_id == operator_id) & (h.station_id == any_(chunk))
    before = (
        select(func.max(h.id))
        .where(mine, h.received_at < start - margin)
        .group_by(h.station_id, h.evse_number, h.connector_number)
    )
    statement = select(
        h.station_id,
        h.evse_number,
        h.connector_number,
        h.status,
        _micros(h.received_at),
        _micros(h.reported_at),
        h.error_code,
        h.id,
    ).where(
        mine,
        or_(
            (h.received_at >= start - margin) & (h.received_at < end + margin),
            h.id.in_(before.scalar_subquery()),
        ),
    )
    # the driver's own tuples, in no order: sorting here is cheaper than PostgreSQL's sort of the
    # station ids as text. Per station, by storage order then (stable) by received time: two sorts on
    # one integer each (no key tuple per row) of rows nearly in order already, as stored
    result = connection.execute(statement)
    rows = result.cursor.fetchall()
    result.close()
    found: dict[str, list[Reading]] = {}
    for row in rows:
        readings = found.get(row[0])
        if readings is None:
            readings = found[row[0]] = []
        readings.append(row)
    for readings in found.values():
        readings.sort(key=_STORED)
        readings.sort(key=_RECEIVED)
    return dict(sorted(found.items()))


class _ReadAhead(Mapping[str, Sequence[Reading]]):
    """Station id -> its readings, the parts read in order on a thread; asking for a station waits for
    its part (and raises what reading raised). ``close`` stops after the part being read and waits."""

    def __init__(self, parts: list[list[str]], read: Callable[[list[str]], dict[str, list[Reading]]]) -> None:
        self._part_of = {station: index for index, part in enumerate(parts) for station in part}
        self._parts, self._read = parts, read
        self._found: dict[str, list[Reading]] = {}
        self._done = 0
        self._failure: BaseException | None = None
        self._stop = False
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="status-readings", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for part in self._parts:
                if self._stop:
                    return
                found = self._read(part)
                with self._ready:
                    self._found.update(found)
                    self._done += 1
                    self._ready.notify_all()
        except BaseException as error:  # handed to the caller, who waits for it
            with self._ready:
                self._failure = error
                self._ready.notify_all()

    def _wait(self, parts: int) -> None:
        with self._ready:
            while self._done < parts and self._failure is None:
                self._ready.wait()
            if self._done < parts and self._failure is not None:
                raise self._failure

    def __getitem__(self, station_id: str) -> Sequence[Reading]:
        index = self._part_of.get(station_id)
        self._wait(len(self._parts) if index is None else index + 1)
        return self._found[station_id]

    def __iter__(self) -> Iterator[str]:
        self._wait(len(self._parts))
        return iter(self._found)

    def __len__(self) -> int:
        self._wait(len(self._parts))
        return len(self._found)

    def close(self) -> None:
        self._stop = True
        self._thread.join()
