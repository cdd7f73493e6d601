"""Charging sessions: stored once, listed newest first, a page at a time, fast at a million rows.

Lists are ordered by ``(started_at DESC, id DESC)``: the id breaks ties between sessions that started
in the same microsecond, so every session appears exactly once across pages. The cursor carries the
last session's ``(started_at, id)``; the next page is the rows strictly before it:

    WHERE operator_id = :operator [AND filter] AND (started_at, id) < (:started_at, :id)
    ORDER BY started_at DESC, id DESC LIMIT :limit

Each filter has an index ``(operator_id, <filter column>, started_at, id)`` (the unfiltered list uses
``(operator_id, started_at, id)``), which both databases read backwards, stopping after ``limit``
rows: no sort, no scan of the operator's other sessions.

The cursor is opaque to callers: URL-safe base64 (unpadded) of ``<started_at>|<id>`` with the time as
``2026-05-04T09:30:00.000000Z``:

    >>> from datetime import UTC, datetime
    >>> cursor = encode_session_cursor(datetime(2026, 5, 4, 9, 30, tzinfo=UTC), "0196a1b2-7000")
    >>> cursor
    'MjAyNi0wNS0wNFQwOTozMDowMC4wMDAwMDBafDAxOTZhMWIyLTcwMDA'
    >>> decode_session_cursor(cursor)
    (datetime.datetime(2026, 5, 4, 9, 30, tzinfo=datetime.timezone.utc), '0196a1b2-7000')

Filters: location_id, station_id, evse_id, customer_id, status, started_from (inclusive), started_to
(exclusive).

Billing reads sessions the other way round: ``of_customers`` gives every session of some customers
(a fleet: the business and its drivers) in a window, oldest first, and ``count_before`` how many they
started earlier (the ordinal of the next one, for "every 10th session free"). Both read the index
``(operator_id, customer_id, started_at, id)``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, String, bindparam, func, literal, select, true, tuple_
from sqlalchemy.dialects.postgresql import ARRAY

from evbill.adapters.db.charging import tables as charging_tables
from evbill.adapters.db.invoicing.tables import session_receipts
from evbill.adapters.db.records import SESSIONS
from evbill.adapters.db.repositories import (
    ConnectionSource,
    FilterBuilder,
    bad_filter,
    check_limit,
    equals,
    equals_enum,
    filter_clauses,
    insert_row,
)
from evbill.adapters.db.types import UtcDateTime
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import InvalidInput, Problem

_CURSOR_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_MAX_ID_LENGTH = 36


def encode_session_cursor(started_at: datetime, session_id: str) -> str:
    """The cursor that continues a newest-first listing after the session (started_at, session_id)."""
    if started_at.tzinfo is None:
        raise ValueError("a cursor needs an aware started_at")
    text = f"{started_at.astimezone(UTC).strftime(_CURSOR_TIME_FORMAT)}|{session_id}"
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def decode_session_cursor(cursor: str) -> tuple[datetime, str]:
    """(started_at, id) from a cursor; InvalidInput if it is not one this module gave out."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode()
        moment, separator, session_id = text.partition("|")
        started_at = datetime.strptime(moment, _CURSOR_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:  # binascii.Error and UnicodeError are ValueErrors too
        started_at, separator, session_id = None, "", ""
    if started_at is None or not separator or not 0 < len(session_id) <= _MAX_ID_LENGTH:
        raise InvalidInput("invalid cursor", (Problem("$.cursor", "is not a cursor this list gave out"),))
    return started_at, session_id


def session_cursor(session: ChargingSession) -> str:
    return encode_session_cursor(session.started_at, session.id)


def _moment(value: object, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise bad_filter(name, "must be an aware date-time (with a UTC offset)")
    return value


_COLUMNS = charging_tables.charging_sessions.c
_FILTERS: dict[str, FilterBuilder] = {
    "location_id": equals(_COLUMNS.location_id),
    "station_id": equals(_COLUMNS.station_id),
    "evse_id": equals(_COLUMNS.evse_id),
    "customer_id": equals(_COLUMNS.customer_id),
    "status": equals_enum(_COLUMNS.status, SessionStatus),
    "started_from": lambda value: _COLUMNS.started_at >= _moment(value, "started_from"),
    "started_to": lambda value: _COLUMNS.started_at < _moment(value, "started_to"),
}


def session_list_statement(
    operator_id: str, *, filters: Mapping[str, object], after: str | None, limit: int
) -> Select[tuple[object, ...]]:
    """The newest-first page query (public so tests and benchmarks can EXPLAIN it)."""
    check_limit(limit)
    query = select(charging_tables.charging_sessions).where(
        _COLUMNS.operator_id == operator_id, *filter_clauses("charging_sessions", _FILTERS, filters)
    )
    if after is not None:
        started_at, session_id = decode_session_cursor(after)
        before_cursor = tuple_(_COLUMNS.started_at, _COLUMNS.id) < tuple_(
            literal(started_at, UtcDateTime()), literal(session_id, String(36))
        )
        query = query.where(before_cursor)
    return query.order_by(_COLUMNS.started_at.desc(), _COLUMNS.id.desc()).limit(limit)


_READ_SESSION = SESSIONS.reader([column.name for column in charging_tables.charging_sessions.columns])


class SqlSessionRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def get(self, operator_id: str, session_id: str, *, lock: bool = False) -> ChargingSession | None:
        query = select(charging_tables.charging_sessions).where(
            _COLUMNS.operator_id == operator_id, _COLUMNS.id == session_id
        )
        # on SQLite the unit of work's BEGIN IMMEDIATE already serialises writers
        row = self._connection().execute(query.with_for_update() if lock else query).mappings().first()
        return None if row is None else SESSIONS.from_row(row)

    def list(
        self, operator_id: str, *, filters: Mapping[str, object], after: str | None, limit: int
    ) -> Sequence[ChargingSession]:
        query = session_list_statement(operator_id, filters=filters, after=after, limit=limit)
        return [_READ_SESSION(row) for row in self._connection().execute(query).all()]

    def add(self, session: ChargingSession) -> None:
        insert_row(self._connection(), charging_tables.charging_sessions, SESSIONS.to_row(session))

    def cursor_of(self, session: ChargingSession) -> str:
        return session_cursor(session)

    def of_customers(
        self,
        operator_id: str,
        customer_ids: Sequence[str],
        *,
        started_from: datetime,
        started_to: datetime,
        without_receipt: bool = False,
    ) -> Sequence[ChargingSession]:
        if not customer_ids:
            return []
        window = (
            _COLUMNS.started_at >= _moment(started_from, "started_from"),
            _COLUMNS.started_at < _moment(started_to, "started_to"),
        )
        unreceipted = (  # in the same query (a billing run asks per contract): an anti-join on its key
            ~select(session_receipts.c.session_id)
            .where(
                session_receipts.c.operator_id == _COLUMNS.operator_id,
                session_receipts.c.session_id == _COLUMNS.id,
            )
            .exists()
        )
        connection = self._connection()
        if connection.dialect.name == "postgresql":
            query = _of_each_customer(
                operator_id, customer_ids, *window, *((unreceipted,) if without_receipt else ())
            )
        else:
            # No ORDER BY in SQL: with one, SQLite walks the (operator, started_at) index over every
            # session of the window and filters the customers (a billing run asks once per 32 cycles,
            # so the whole month was read again and again); without, it searches the customer index.
            # The few rows are sorted here.
            query = select(charging_tables.charging_sessions).where(
                *_of_customers(operator_id, customer_ids), *window
            )
            if without_receipt:
                query = query.where(unreceipted)
        # both queries give the table's columns in its order: read by position, no mapping per row
        found = [_READ_SESSION(row) for row in connection.execute(query)]
        return sorted(found, key=lambda session: (session.started_at, session.id))

    def started_at(self, operator_id: str, session_ids: Sequence[str]) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        for offset in range(0, len(session_ids), 500):  # bound the IN list
            query = select(_COLUMNS.id, _COLUMNS.started_at).where(
                _COLUMNS.operator_id == operator_id, _COLUMNS.id.in_(list(session_ids[offset : offset + 500]))
            )
            found.update({row.id: row.started_at for row in self._connection().execute(query)})
        return found

    def count_before(self, operator_id: str, customer_ids: Sequence[str], before: datetime) -> int:
        if not customer_ids:
            return 0
        query = (
            select(func.count())
            .select_from(charging_tables.charging_sessions)
            .where(*_of_customers(operator_id, customer_ids), _COLUMNS.started_at < _moment(before, "before"))
        )
        return int(self._connection().scalar(query) or 0)

    def counts_before(
        self, operator_id: str, customer_ids: Sequence[str], before: datetime
    ) -> dict[str, int]:
        wanted = list(dict.fromkeys(customer_ids))
        counts = dict.fromkeys(wanted, 0)
        for offset in range(0, len(wanted), 500):  # bound the IN list
            query = (
                select(_COLUMNS.customer_id, func.count())
                .where(
                    *_of_customers(operator_id, wanted[offset : offset + 500]),
                    _COLUMNS.started_at < _moment(before, "before"),
                )
                .group_by(_COLUMNS.customer_id)
            )
            counts.update({row[0]: int(row[1]) for row in self._connection().execute(query)})
        return counts


def _of_customers(operator_id: str, customer_ids: Sequence[str]) -> tuple[ColumnElement[bool], ...]:
    if isinstance(customer_ids, str):  # a lone id would be read as a sequence of characters
        raise TypeError("customer_ids must be a sequence of ids, not one id")
    return (_COLUMNS.operator_id == operator_id, _COLUMNS.customer_id.in_(list(customer_ids)))


def _of_each_customer(
    operator_id: str, customer_ids: Sequence[str], *conditions: ColumnElement[bool]
) -> Select[tuple[object, ...]]:
    """PostgreSQL: the sessions of each customer (``conditions`` on top), read customer by customer
    from the (operator, customer, started_at) index in one statement: the customers unnested from
    one array, each one's sessions in a LATERAL subquery (its ORDER BY keeps the planner from
    flattening it into a join). A plain ``customer_id IN (...)`` with a started_at range is planned
    on the (operator, started_at) index whenever the table has no statistics yet (a month loaded in
    bulk just before its billing run: the default selectivity of a range is 0.5 %, of 32 ids 16 %),
    and then every session of the window is read and filtered for each 32 contracts billed."""
    if isinstance(customer_ids, str):  # a lone id would be read as a sequence of characters
        raise TypeError("customer_ids must be a sequence of ids, not one id")
    payer = (
        func.unnest(bindparam("customer_ids", list(dict.fromkeys(customer_ids)), type_=ARRAY(String)))
        .table_valued("customer_id")
        .render_derived(name="payer")
    )
    sessions = (
        select(charging_tables.charging_sessions)
        .where(_COLUMNS.operator_id == operator_id, _COLUMNS.customer_id == payer.c.customer_id, *conditions)
        .order_by(_COLUMNS.started_at, _COLUMNS.id)
        .lateral("found")
    )
    return select(sessions).select_from(payer).join(sessions, true())
