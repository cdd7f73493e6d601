"""The status history on SQLite and PostgreSQL: written by the journal with its message, append-only,
and a value that cannot be stored is refused to its sender at once, with nothing stored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import DBAPIError

from evbill.adapters.db.charging.journal import GroupCommitJournal
from evbill.adapters.db.charging_state.tables import connector_status_history
from evbill.domain.charging.frames import Direction, Frame, Unstorable
from evbill.domain.charging.status_history import StatusReport, status_report_16
from tests.integration.db_records import an_operator, given_site

PLUS_ONE = timezone(timedelta(hours=1))
RECEIVED = datetime(2026, 11, 21, 10, 0, 1, 250000, tzinfo=UTC)


def _given_station(uow_factory) -> tuple[str, str]:
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        site = given_site(uow, operator.id)
        uow.commit()
    return operator.id, site.station.id


def _frame(operator_id: str, station_id: str) -> Frame:
    return Frame(operator_id, station_id, "CP-1", Direction.OUT, RECEIVED, 3, "s1", "StatusNotification",
                 '[3,"s1",{}]')  # fmt: skip


def _rows(engine: Engine) -> list[tuple[object, ...]]:
    table = connector_status_history
    with engine.connect() as connection:
        return [tuple(row)[1:] for row in connection.execute(select(table).order_by(table.c.id)).all()]


def test_the_journal_stores_each_status_as_reported_beside_its_frames(uow_factory, database_engine) -> None:
    operator_id, station_id = _given_station(uow_factory)
    reports = [
        status_report_16(operator_id, station_id, connector_id=1, status="Faulted", error_code="OtherError",
                         vendor_error_code="E-1234 ventilation", info="fan", received_at=RECEIVED,
                         reported_at=datetime(2026, 11, 21, 11, 0, tzinfo=PLUS_ONE)),
        StatusReport(operator_id, station_id, 2, 1, "Occupied", RECEIVED, None),
    ]  # fmt: skip

    async def write() -> None:
        journal = GroupCommitJournal(database_engine)
        await journal([_frame(operator_id, station_id)], statuses=reports)

    asyncio.run(write())
    # Then the vendor's code stands for OtherError, and the charger's +01:00 time is kept as UTC
    assert _rows(database_engine) == [
        (operator_id, station_id, 1, None, "Faulted", "E-1234 ventilation", "fan",
         datetime(2026, 11, 21, 10, 0, tzinfo=UTC), RECEIVED),
        (operator_id, station_id, 2, 1, "Occupied", None, None, None, RECEIVED),
    ]  # fmt: skip


def test_a_status_that_cannot_be_stored_is_refused_at_once_and_nothing_is_stored(
    uow_factory, database_engine
) -> None:
    operator_id, station_id = _given_station(uow_factory)
    too_long = StatusReport(operator_id, station_id, 1, None, "X" * 33, RECEIVED, None)

    async def write() -> None:
        journal = GroupCommitJournal(database_engine)
        with pytest.raises(Unstorable) as refused:
            journal([_frame(operator_id, station_id)], statuses=[too_long])
        assert [problem.path for problem in refused.value.problems] == ["connector_status_history.status"]

    asyncio.run(write())
    assert _rows(database_engine) == []


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_the_history_is_append_only(uow_factory, database_engine: Engine, statement: str) -> None:
    operator_id, station_id = _given_station(uow_factory)
    with uow_factory() as uow:
        uow.status_history.add([StatusReport(operator_id, station_id, 1, None, "Available", RECEIVED, None)])
        uow.commit()
    table = connector_status_history
    change = update(table).values(status="Faulted") if statement == "update" else delete(table)
    with database_engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(change)
    assert [row[4] for row in _rows(database_engine)] == ["Available"]


def test_utilisation_reads_both_clocks_as_aware_utc_and_the_last_report_before(uow_factory) -> None:
    operator_id, station_id = _given_station(uow_factory)
    start = datetime(2026, 11, 21, tzinfo=UTC)
    before = StatusReport(operator_id, station_id, 1, None, "Charging", start - timedelta(days=3),
                          start - timedelta(days=3), "NoError")  # fmt: skip
    older = before._replace(status="Available", received_at=before.received_at - timedelta(hours=1))
    stored = [
        older,
        before,
        StatusReport(
            operator_id,
            station_id,
            1,
            None,
            "Faulted",
            RECEIVED,
            datetime(2026, 11, 21, 11, 0, tzinfo=PLUS_ONE),
            "OtherError",
            "fan",
        ),  # fmt: skip
        StatusReport(operator_id, station_id, 2, 1, "Occupied", RECEIVED + timedelta(microseconds=1), None),
        StatusReport(
            operator_id,
            station_id,
            2,
            1,
            "Available",
            RECEIVED + timedelta(hours=1),
            RECEIVED + timedelta(hours=1),
            "NoError",
        ),  # fmt: skip
        StatusReport(operator_id, station_id, 2, 1, "Charging", start + timedelta(days=5), None),  # after
    ]
    with uow_factory() as uow:
        uow.status_history.add(stored)
        uow.commit()
    with uow_factory(read_only=True) as uow:
        found = uow.status_history.reports(operator_id, [station_id], start, start + timedelta(days=1),
                                           timedelta(days=1))  # fmt: skip
    # Then the last report before the margin, those inside it, each time aware UTC to the microsecond
    assert found == [
        before,
        StatusReport(
            operator_id,
            station_id,
            1,
            None,
            "Faulted",
            RECEIVED,
            datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
            "OtherError",
            "fan",
        ),  # fmt: skip
        stored[3],
        stored[4],
    ]
    assert all(report.received_at.tzinfo is UTC for report in found)
    assert all(report.reported_at is None or report.reported_at.tzinfo is UTC for report in found)


def test_report_utilisation_by_total_prints_its_one_row_once(database_url, uow_factory, tmp_path) -> None:
    # Given one EVSE Available for the first 6 hours of a day and Occupied for the next 6
    from evbill.config import Settings
    from evbill.entrypoints.cli.main import build_app
    from tests.support import CliRunner

    operator_id, station_id = _given_station(uow_factory)
    day = datetime(2026, 11, 21, tzinfo=UTC)
    with uow_factory() as uow:
        uow.status_history.add([
            StatusReport(operator_id, station_id, 1, None, "Available", day, day, "NoError"),
            StatusReport(operator_id, station_id, 1, None, "Occupied", day + timedelta(hours=6),
                         day + timedelta(hours=6), "NoError"),
        ])  # fmt: skip
        uow.commit()
    # When the report by total is asked for as CSV and as a table
    out = tmp_path / "total.csv"
    cli, runner = build_app(Settings(database_url=database_url)), CliRunner()
    base = ["report", "utilisation", "--operator", operator_id, "--by", "total",
            "--from", "2026-11-21T00:00:00Z", "--to", "2026-11-21T12:00:00Z"]  # fmt: skip
    written = runner.invoke(cli, [*base, "--csv", str(out)])
    shown = runner.invoke(cli, base)
    # Then the one row (the total) is there once, not a second time as the totals line
    assert written.exit_code == 0, written.output
    assert shown.exit_code == 0, shown.output
    assert out.read_text().splitlines()[1:] == [
        "total,1,12.00,0.5000,0.0000,0.5000,0.0000,0.0000,0.0000,0.0000,6.00,0.00"
    ]
    assert shown.output.count("│ total │") == 1


def test_readings_are_the_reports_as_integer_microseconds_in_arrival_order(uow_factory) -> None:
    # Given reports stored out of arrival order (a late one stored last), one long before the window
    from evbill.domain.analytics.utilisation_sums import micros

    operator_id, station_id = _given_station(uow_factory)
    start = datetime(2026, 11, 21, tzinfo=UTC)
    stored = [
        StatusReport(operator_id, station_id, 1, None, "Charging", start - timedelta(days=3), None,
                     "NoError"),
        StatusReport(operator_id, station_id, 1, None, "Available", RECEIVED + timedelta(hours=1),
                     RECEIVED + timedelta(hours=1), "NoError"),
        StatusReport(operator_id, station_id, 2, 1, "Occupied", RECEIVED, RECEIVED - timedelta(minutes=5),
                     None),
        StatusReport(operator_id, station_id, 0, None, "Faulted", RECEIVED, RECEIVED, "GroundFailure"),
    ]  # fmt: skip
    with uow_factory() as uow:
        uow.status_history.add(stored)
        uow.commit()
    with uow_factory(read_only=True) as uow:
        found = uow.status_history.readings(operator_id, [station_id], start, start + timedelta(days=1),
                                            timedelta(days=1))  # fmt: skip
    # Then per station, by received time then as stored, each time to the microsecond
    readings = found[station_id]
    assert [reading[:7] for reading in readings] == [
        (station_id, 1, None, "Charging", micros(start - timedelta(days=3)), None, "NoError"),
        (station_id, 2, 1, "Occupied", micros(RECEIVED), micros(RECEIVED - timedelta(minutes=5)), None),
        (station_id, 0, None, "Faulted", micros(RECEIVED), micros(RECEIVED), "GroundFailure"),
        (station_id, 1, None, "Available", micros(RECEIVED + timedelta(hours=1)),
         micros(RECEIVED + timedelta(hours=1)), "NoError"),
    ]  # fmt: skip
    assert readings[1][7] < readings[2][7]  # same received time: in the order stored
    assert micros(RECEIVED) % 1_000_000 == 250_000


def test_readings_are_those_of_the_stations_asked_for_only(uow_factory) -> None:
    # Given two stations of one operator, each with a report in the window and one long before it
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        first, second = given_site(uow, operator.id).station.id, given_site(uow, operator.id).station.id
        uow.commit()
    start = datetime(2026, 11, 21, tzinfo=UTC)
    with uow_factory() as uow:
        uow.status_history.add([
            StatusReport(operator.id, station, 1, None, status, at, at, "NoError")
            for station in (first, second)
            for status, at in (("Charging", start - timedelta(days=5)), ("Available", RECEIVED))
        ])  # fmt: skip
        uow.commit()
    # When the readings of one station are asked for, and of both
    with uow_factory(read_only=True) as uow:
        one = uow.status_history.readings(operator.id, [second], start, start + timedelta(days=1),
                                          timedelta(days=1))  # fmt: skip
        both = uow.status_history.readings(operator.id, [first, second], start, start + timedelta(days=1),
                                           timedelta(days=1))  # fmt: skip
    # Then only that station's reports come back (the last one before the window included), else both's
    assert list(one) == [second]
    assert [reading[3] for reading in one[second]] == ["Charging", "Available"]
    assert sorted(both) == sorted([first, second])
    assert all(len(readings) == 2 for readings in both.values())


def test_readings_ahead_are_the_readings_read_part_by_part(uow_factory) -> None:
    # Given 23 stations (more parts than one: about a tenth of them each), each with reports in the
    # window, the last one before it and one received on the same microsecond as another
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        stations = [given_site(uow, operator.id).station.id for _ in range(23)]
        uow.commit()
    start = datetime(2026, 11, 21, tzinfo=UTC)
    with uow_factory() as uow:
        reports = ((1, "Charging", start - timedelta(days=5)), (1, "Available", RECEIVED),
                   (2, "Faulted", RECEIVED), (2, "Available", RECEIVED + timedelta(hours=1)))  # fmt: skip
        uow.status_history.add([
            StatusReport(operator.id, station, evse, None, status, at, at - timedelta(seconds=n), "NoError")
            for n, station in enumerate(stations)
            for evse, status, at in reports
        ])  # fmt: skip
        uow.commit()
    asked = [*reversed(stations), "no-such-station"]
    window = (start, start + timedelta(days=1), timedelta(days=1))
    # When they are read at once, and ahead while each station is asked for in another order
    with uow_factory(read_only=True) as uow:
        whole = uow.status_history.readings(operator.id, asked, *window)
        with uow.status_history.readings_ahead(operator.id, asked, *window) as ahead:
            walked = {station: list(ahead.get(station, ())) for station in asked}
            listed = sorted(ahead)
    # Then every station has the same readings in the same order (the unknown one none)
    assert walked == {**{station: list(whole[station]) for station in stations}, "no-such-station": []}
    assert listed == sorted(stations)
    assert all(len(walked[station]) == 4 for station in stations)


def test_a_part_that_cannot_be_read_is_raised_to_the_walk_that_waits_for_it() -> None:
    # Given parts read on a thread, the second of which fails
    from evbill.adapters.db.analytics.utilisation import _ReadAhead

    def read(part: list[str]) -> dict[str, list[tuple[object, ...]]]:
        if part == ["c"]:
            raise RuntimeError("connection lost")
        return {station: [(station, 1)] for station in part}

    ahead = _ReadAhead([["a", "b"], ["c"], ["d"]], read)  # type: ignore[arg-type]
    try:
        # Then the first part's stations are there, and asking for one of a later part raises the failure
        assert ahead["b"] == [("b", 1)]
        with pytest.raises(RuntimeError, match="connection lost"):
            ahead.get("c")
        with pytest.raises(RuntimeError, match="connection lost"):
            ahead.get("d")
    finally:
        ahead.close()


def test_utilisation_and_faults_equal_the_walked_segments_and_a_late_report_moves_them(
    database_url, uow_factory
) -> None:
    # Given a day of one station: both EVSEs Available, EVSE 1 Charging 06:00-08:00, the station
    # Faulted 09:00-09:30 and offline from 20:00
    from evbill.application.access.keys import platform_actor
    from evbill.application.analytics.utilisation import (
        UtilisationQuery,
        find_timelines,
        shown_faults,
        shown_utilisation,
    )
    from evbill.bootstrap import bootstrap
    from evbill.config import Settings
    from evbill.domain.analytics.utilisation_report import (
        UtilisationGroup,
        faults,
        faults_text,
        total_of,
        utilisation,
        utilisation_text,
    )
    from evbill.domain.charging.status_history import offline_report

    operator_id, station_id = _given_station(uow_factory)
    day = datetime(2026, 11, 21, tzinfo=UTC)

    def at(hours: float) -> datetime:
        return day + timedelta(hours=hours)

    def status(evse: int, name: str, hours: float, received: float | None = None, error: str = "NoError"):
        arrived = at(hours if received is None else received)
        return StatusReport(operator_id, station_id, evse, None, name, arrived, at(hours), error)

    with uow_factory() as uow:
        # the site has EVSE 1 only: EVSE 2's reports count as unknown
        uow.status_history.add([
            status(1, "Available", 0), status(2, "Available", 0), status(1, "Charging", 6),
            status(1, "Available", 8), status(0, "Faulted", 9, error="GroundFailure"),
            status(0, "Available", 9.5),
            offline_report(operator_id, station_id, at(20)),
        ])  # fmt: skip
        uow.commit()
    container = bootstrap(Settings(database_url=database_url))
    services = container.services
    who = platform_actor(operator_id)
    query = UtilisationQuery(at(0), at(24))

    def expected(group_by: UtilisationGroup) -> dict[str, object]:
        found = find_timelines(services, who, query)
        rows = utilisation(found.segments, group_by)
        return utilisation_text(rows, total_of(rows), found.cleaning)

    def check() -> dict[str, object]:
        for group_by in UtilisationGroup:
            assert shown_utilisation(services, who, query=query, group_by=group_by) == expected(group_by)
        assert shown_faults(services, who, query=query) == faults_text(
            faults(find_timelines(services, who, query))
        )
        return shown_utilisation(services, who, query=query, group_by=UtilisationGroup.TOTAL)

    # Then the sums equal the walked segments: charging 2 h, faulted 0.5 h, unknown 4 h (offline)
    total = check()["rows"][0]
    assert (total["charging_share"], total["faulted_share"], total["unknown_share"]) == (
        "0.0833",
        "0.0208",
        "0.1667",
    )
    assert shown_faults(services, who, query=query)["rows"][0]["faulted_hours"] == "0.50"
    # When a report sent at 12:00 (Charging) arrives late, at 13:30, and its Finishing at 14:00
    with uow_factory() as uow:
        uow.status_history.add([status(1, "Charging", 12, received=13.5), status(1, "Finishing", 14)])
        uow.commit()
    # Then it counts from 12:00: 4 h charging, 10 h busy (Finishing from 14:00 until the offline at 20:00)
    total = check()["rows"][0]
    assert (total["charging_share"], total["occupied_share"]) == ("0.1667", "0.4167")
    container.dispose()
