"""Listing charging sessions: newest first, page by page with an opaque cursor, every session exactly
once even when many started in the same microsecond, each filter served by its own index."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from evbill.adapters.db.charging.sessions import (
    decode_session_cursor,
    encode_session_cursor,
    session_list_statement,
)
from evbill.adapters.db.charging.tables import charging_sessions
from evbill.adapters.db.records import SESSIONS
from evbill.domain.charging.sessions import SessionStatus
from evbill.domain.errors import InvalidInput
from tests.integration.db_records import a_session, an_operator, given_site

NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def stored(uow_factory):
    """23 sessions of one operator at two sites, started at only five distinct moments (many ties)."""
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        sites = [given_site(uow, operator.id), given_site(uow, operator.id)]
        sessions = []
        for number in range(23):
            session = a_session(
                sites[number % 2],
                started_at=NOON + timedelta(minutes=number % 5),
                status=SessionStatus.ACTIVE if number % 3 == 0 else SessionStatus.COMPLETED,
            )
            uow.sessions.add(session)
            sessions.append(session)
        uow.commit()
    return operator.id, sites, sessions


def _newest_first(sessions):
    return sorted(sessions, key=lambda session: (session.started_at, session.id), reverse=True)


def _every_page(uow_factory, operator_id, filters, limit):
    pages, cursor = [], None
    while True:
        with uow_factory() as uow:
            page = uow.sessions.list(operator_id, filters=filters, after=cursor, limit=limit)
            if not page:
                return pages
            pages.append([session.id for session in page])
            cursor = uow.sessions.cursor_of(page[-1])


def test_pages_return_every_session_exactly_once_newest_first(uow_factory, stored):
    # given 23 sessions with many equal start times
    operator_id, _, sessions = stored

    # when they are listed four at a time, following the cursors
    pages = _every_page(uow_factory, operator_id, {}, limit=4)

    # then the pages hold every session once, in (started_at, id) descending order
    assert [len(page) for page in pages] == [4, 4, 4, 4, 4, 3]
    assert [session_id for page in pages for session_id in page] == [s.id for s in _newest_first(sessions)]


def test_a_listed_session_is_the_stored_record(uow_factory, stored):
    operator_id, _, sessions = stored

    with uow_factory() as uow:
        first = uow.sessions.list(operator_id, filters={}, after=None, limit=1)

    assert first == [_newest_first(sessions)[0]]


@pytest.mark.parametrize(
    "kind", ["location_id", "station_id", "evse_id", "status", "started_from", "started_to", "combined"]
)
def test_filters_page_through_exactly_the_matching_sessions(uow_factory, stored, kind):
    operator_id, sites, sessions = stored
    site = sites[1]
    filters, matches = {
        "location_id": ({"location_id": site.location.id}, lambda s: s.location_id == site.location.id),
        "station_id": ({"station_id": site.station.id}, lambda s: s.station_id == site.station.id),
        "evse_id": ({"evse_id": site.evse.id}, lambda s: s.evse_id == site.evse.id),
        "status": ({"status": SessionStatus.ACTIVE}, lambda s: s.status is SessionStatus.ACTIVE),
        "started_from": ({"started_from": NOON + timedelta(minutes=3)}, lambda s: s.started_at.minute >= 3),
        "started_to": ({"started_to": NOON + timedelta(minutes=1)}, lambda s: s.started_at.minute < 1),
        "combined": (
            {
                "status": "COMPLETED",
                "location_id": site.location.id,
                "started_from": NOON + timedelta(minutes=1),
            },
            lambda s: (
                s.status is SessionStatus.COMPLETED
                and s.location_id == site.location.id
                and s.started_at.minute >= 1
            ),
        ),
    }[kind]

    pages = _every_page(uow_factory, operator_id, filters, limit=3)

    expected = [s.id for s in _newest_first(sessions) if matches(s)]
    assert expected  # the case is not vacuous
    assert [session_id for page in pages for session_id in page] == expected


def test_bad_filters_and_cursors_are_refused(uow_factory, stored):
    operator_id, _, _ = stored
    naive = datetime(2026, 5, 4)  # noqa: DTZ001 - the point of the test
    with uow_factory() as uow:
        with pytest.raises(ValueError, match="unknown filter customer for charging_sessions"):
            uow.sessions.list(operator_id, filters={"customer": "x"}, after=None, limit=5)
        with pytest.raises(InvalidInput) as naive_error:
            uow.sessions.list(operator_id, filters={"started_from": naive}, after=None, limit=5)
        with pytest.raises(InvalidInput) as status:
            uow.sessions.list(operator_id, filters={"status": "PAUSED"}, after=None, limit=5)
        with pytest.raises(InvalidInput) as cursor:
            uow.sessions.list(operator_id, filters={}, after="not-a-cursor", limit=5)

    assert (
        str(naive_error.value.problems[0])
        == "error: $.started_from: must be an aware date-time (with a UTC offset)"
    )
    assert str(status.value.problems[0]) == (
        "error: $.status: 'PAUSED' is not one of 'ACTIVE', 'COMPLETED', 'INVALID', 'REVIEW', 'VOIDED'"
    )
    assert str(cursor.value.problems[0]) == "error: $.cursor: is not a cursor this list gave out"


def test_a_cursor_round_trips_and_hides_nothing_surprising():
    started = datetime(2026, 5, 4, 19, 0, 0, 5, tzinfo=UTC)

    cursor = encode_session_cursor(started, "0196a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b")

    assert decode_session_cursor(cursor) == (started, "0196a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b")
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize("cursor", ["", "!!!", "bm90IGEgY3Vyc29y", encode_session_cursor(NOON, "x" * 37)])
def test_a_cursor_that_was_not_given_out_is_invalid_input(cursor):
    with pytest.raises(InvalidInput, match="invalid cursor"):
        decode_session_cursor(cursor)


# --- the indexes: EXPLAIN, with enough rows that a scan would lose ---------------------------------


@pytest.fixture
def many(uow_factory, database_engine: Engine):
    """3,000 sessions of one operator over 4 sites, and statistics up to date."""
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        sites = [given_site(uow, operator.id) for _ in range(4)]
        uow.commit()
    chooser = random.Random(7)
    rows = []
    for _ in range(3000):
        session = a_session(
            chooser.choice(sites),
            started_at=NOON + timedelta(seconds=chooser.randrange(100_000)),
            status=chooser.choice(
                [SessionStatus.COMPLETED] * 8 + [SessionStatus.ACTIVE, SessionStatus.INVALID]
            ),
        )
        rows.append(SESSIONS.to_row(session))
    with database_engine.begin() as connection:
        connection.execute(charging_sessions.insert(), rows)
    with database_engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE charging_sessions")
        connection.commit()
    return operator.id, sites


def _plan(engine: Engine, statement) -> str:
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return "\n".join(row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))


@pytest.mark.parametrize(
    ("filter_name", "index"),
    [
        (None, "ix_charging_sessions_started"),
        ("location_id", "ix_charging_sessions_location"),
        ("station_id", "ix_charging_sessions_station"),
        ("evse_id", "ix_charging_sessions_evse"),
        ("status", "ix_charging_sessions_status"),
    ],
)
def test_each_listing_reads_its_index_in_order_without_sorting(database_engine, many, filter_name, index):
    operator_id, sites = many
    values = {
        "location_id": sites[0].location.id,
        "station_id": sites[0].station.id,
        "evse_id": sites[0].evse.id,
        "status": "INVALID",
    }
    filters = {} if filter_name is None else {filter_name: values[filter_name]}
    cursor = encode_session_cursor(NOON + timedelta(hours=12), "ffffffff")

    for after in (None, cursor):
        plan = _plan(
            database_engine, session_list_statement(operator_id, filters=filters, after=after, limit=50)
        )

        assert index in plan
        assert "TEMP B-TREE" not in plan  # SQLite: no sort step
        assert "Sort" not in plan  # PostgreSQL: no sort node
        assert "Seq Scan" not in plan


def test_a_time_window_reads_the_started_index(database_engine, many):
    operator_id, _ = many
    window = {"started_from": NOON + timedelta(hours=3), "started_to": NOON + timedelta(hours=4)}

    plan = _plan(database_engine, session_list_statement(operator_id, filters=window, after=None, limit=50))

    assert "ix_charging_sessions_started" in plan
    assert "TEMP B-TREE" not in plan
    assert "Sort" not in plan
