"""Report rollups: the fact rows summed ahead per bucket, so a report reads thousands of rows, not a million.

Reports are sums and counts, so a GROUP BY over ``session_report_facts`` can be answered from sums
made ahead, exactly (integers), if the buckets fit the report's window:

    report_day_sums       per UTC day of the start (start_s // 86400), local day and week, currency,
                          connector class, tariff, plan, segment, payment method: sessions and measures
    report_place_sums     per 28-day UTC period of the start, currency and EVSE (station, location,
                          class, tariff with it); report_place_totals the same of all time
    report_heat_sums      per UTC day of the start, local hour of the week, class and tariff: starts
                          and seconds occupied (each session split in Python, ``rollup.occupancy``)
    report_customer_sums  per customer, currency and low-cardinality key, of all time: sums, the first
                          and the last start, the customer's first session
    report_customer_totals the same added up per customer and currency (indexed by gross revenue)
    report_key_customers  distinct customers (and new ones) of all time per local day, week, month,
                          location, station and EVSE

A window [start, end) is cut into the buckets it covers whole, read from a rollup, and the edges
(from ``start`` to the first whole bucket, from the last one to ``end``) read from the facts by
``ix_session_report_facts_started``: at most two UTC days (28-day periods for places). A bucket is
a UTC span and the filter is on the UTC start, so local days and DST need no care here: each rollup
row carries the local keys (local day, week, hour of the week from the zone and quarter) the facts
computed with the location's zone.

Distinct customers do not add up across buckets. They come from ``report_customer_sums`` for the
low-cardinality groupings when the window is open on at least one side (a customer and key has a
session in [start, ...) exactly when its last start is >= start), from ``report_key_customers`` for
the others when the window is the whole history, and otherwise from the facts in the window (a
cost in proportion to the window: a month is ~85,000 rows of the bench's million).

Upkeep: each refresh batch recomputes, from the facts, the keys its sessions touched before and
after (their UTC days, EVSE periods, customers, local days, weeks, months and places): a DELETE and
an INSERT ... SELECT ... GROUP BY each, the same SQL on both dialects. A long catch-up (the first
report after an upgrade, the bench's load) forgets the rollups (``report_rollup_state``), folds the
queue into the facts alone and then builds every rollup with one GROUP BY each. Reports read the
facts while an operator's rollups are not built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import Select

from evbill.adapters.db.analytics.tables import (
    report_customer_sums,
    report_customer_totals,
    report_day_sums,
    report_heat_sums,
    report_key_customers,
    report_place_sums,
    report_place_totals,
    report_rollup_state,
    session_report_facts,
)
from evbill.domain.analytics.facts import GroupBy
from evbill.domain.analytics.rollup import MEASURES, PRESENCE, occupancy

DAY_S = 86400
PERIOD_S = 28 * DAY_S
KEY_LIMIT = 64  # more touched keys of a kind than this: rebuild the kind whole (one GROUP BY)
_CHUNK = 500
_LOCK_KEY = "evbill report rollups "
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

LOW = (
    GroupBy.TOTAL, GroupBy.CONNECTOR_CLASS, GroupBy.PLAN, GroupBy.TARIFF, GroupBy.SEGMENT,
    GroupBy.PAYMENT_METHOD,
)  # fmt: skip
TIMES = (GroupBy.DAY, GroupBy.WEEK, GroupBy.MONTH)
PLACES = (GroupBy.LOCATION, GroupBy.STATION, GroupBy.EVSE)
KEYED = (*TIMES, *PLACES)  # distinct customers of all time in report_key_customers


def _div(column: Any, size: int) -> Any:
    """Integer division on both dialects (bigint / integer; the seconds are whole and positive)."""
    return column.op("/")(literal(size))


def _f() -> Any:
    return session_report_facts.c


def key_of_facts(group_by: GroupBy) -> Any:
    """The fact rows' key column of a grouping (month: the local day's first 7 characters)."""
    f = _f()
    columns = {
        GroupBy.DAY: f.local_day, GroupBy.WEEK: f.local_week, GroupBy.LOCATION: f.location_id,
        GroupBy.STATION: f.station_id, GroupBy.EVSE: f.evse_id, GroupBy.CONNECTOR_CLASS: f.connector_class,
        GroupBy.PLAN: f.plan_id, GroupBy.TARIFF: f.tariff_id, GroupBy.SEGMENT: f.segment,
        GroupBy.CUSTOMER: f.customer_id, GroupBy.PAYMENT_METHOD: f.payment_method,
    }  # fmt: skip
    if group_by is GroupBy.TOTAL:
        return literal("total")
    if group_by is GroupBy.MONTH:
        return func.substr(f.local_day, 1, 7)
    return columns[group_by]


def _key_of(table: Any, group_by: GroupBy) -> Any:
    if group_by is GroupBy.TOTAL:
        return literal("total")
    if group_by is GroupBy.MONTH:
        return func.substr(table.c.local_day, 1, 7)
    name = {
        GroupBy.DAY: "local_day", GroupBy.WEEK: "local_week", GroupBy.LOCATION: "location_id",
        GroupBy.STATION: "station_id", GroupBy.EVSE: "evse_id", GroupBy.CONNECTOR_CLASS: "connector_class",
        GroupBy.PLAN: "plan_id", GroupBy.TARIFF: "tariff_id", GroupBy.SEGMENT: "segment",
        GroupBy.CUSTOMER: "customer_id", GroupBy.PAYMENT_METHOD: "payment_method",
    }[group_by]  # fmt: skip
    return table.c[name]


# ---------------------------------------------------------------- windows cut into buckets


def _micros(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * DAY_S + delta.seconds) * 10**6 + delta.microseconds


def _at(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Cut:
    """Buckets [first, last) read from a rollup (None: unbounded), and the edges read from the facts."""

    first: int | None
    last: int | None
    edges: tuple[tuple[datetime | None, datetime | None], ...]
    whole: bool = True  # False: no whole bucket, everything from the facts

    def bucket_conditions(self, column: Any) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.first is not None:
            where.append(column >= self.first)
        if self.last is not None:
            where.append(column < self.last)
        return where


def cut(start: datetime | None, end: datetime | None, size: int) -> Cut:
    unit = size * 10**6
    first = None if start is None else -(-_micros(start) // unit)
    last = None if end is None else _micros(end) // unit
    if first is not None and last is not None and first >= last:
        return Cut(None, None, ((start, end),), whole=False)
    edges = []
    if start is not None and first is not None and _at(first * size) > start:
        edges.append((start, _at(first * size)))
    if end is not None and last is not None and _at(last * size) < end:
        edges.append((_at(last * size), end))
    return Cut(first, last, tuple(edges))


def edge_condition(edges: Sequence[tuple[datetime | None, datetime | None]]) -> ColumnElement[bool]:
    f = _f()
    spans = []
    for start, end in edges:
        parts = []
        if start is not None:
            parts.append(f.started_at >= start)
        if end is not None:
            parts.append(f.started_at < end)
        spans.append(and_(*parts))
    return or_(*spans) if spans else false()


# ---------------------------------------------------------------- upkeep


@dataclass(slots=True)
class Touched:
    """The keys a batch of fact rows touched (before and after)."""

    days: set[int] = field(default_factory=set)
    places: set[tuple[str, int]] = field(default_factory=set)  # (evse, period)
    customers: set[str] = field(default_factory=set)
    keys: dict[GroupBy, set[str]] = field(default_factory=lambda: {kind: set() for kind in KEYED})

    def add(self, row: Any) -> None:
        start_s = int(row["start_s"])
        self.days.add(start_s // DAY_S)
        self.places.add((row["evse_id"], start_s // PERIOD_S))
        if row["customer_id"] is not None:
            self.customers.add(row["customer_id"])
            keys = self.keys
            keys[GroupBy.DAY].add(row["local_day"])
            keys[GroupBy.WEEK].add(row["local_week"])
            keys[GroupBy.MONTH].add(row["local_day"][:7])
            keys[GroupBy.LOCATION].add(row["location_id"])
            keys[GroupBy.STATION].add(row["station_id"])
            keys[GroupBy.EVSE].add(row["evse_id"])


def is_built(connection: Connection, operator_id: str, *, lock: bool = False) -> bool:
    """Whether the operator's rollups are built. ``lock``: and hold its state row until the end of the
    transaction (PostgreSQL), so two refreshes never recompute the same keys at once (each would
    delete the rows it sees and insert its own: the key twice)."""
    state = report_rollup_state.c
    statement = select(state.operator_id).where(state.operator_id == operator_id)
    if lock and connection.dialect.name == "postgresql":
        # No state row to lock before the first build: the operator's rollup lock, held to the end of
        # the transaction, makes a second first build wait, then find the rollups built (SQLite
        # already runs one writer at a time).
        key = func.hashtext(literal(_LOCK_KEY + operator_id))
        connection.execute(select(func.pg_advisory_xact_lock(key)))
        statement = statement.with_for_update()
    return connection.execute(statement).first() is not None


def forget(connection: Connection, operator_id: str) -> None:
    connection.execute(delete(report_rollup_state).where(report_rollup_state.c.operator_id == operator_id))


def touched_before(connection: Connection, operator_id: str, session_ids: Sequence[str]) -> Touched:
    f = _f()
    touched = Touched()
    for first in range(0, len(session_ids), _CHUNK):
        statement = select(
            f.start_s, f.evse_id, f.customer_id, f.local_day, f.local_week, f.location_id, f.station_id
        ).where(f.operator_id == operator_id, f.session_id.in_(session_ids[first : first + _CHUNK]))
        for row in connection.execute(statement).mappings():
            touched.add(row)
    return touched


def _total(postgresql: bool) -> Any:
    return func.sum if postgresql else func.evbill_sum


def _sum_columns(postgresql: bool, source: Any) -> list[Any]:
    total = _total(postgresql)
    return [
        func.count() if source is None else total(source.c.sessions),
        *(total((_f() if source is None else source.c)[name]) for name in MEASURES),
        *((func.sum(_f()[name]) if source is None else total(source.c[name])) for name in PRESENCE),
    ]


def _refill(
    connection: Connection,
    table: Any,
    keys: Sequence[str],
    key_columns: Sequence[Any],
    extra: Sequence[tuple[str, Any]],
    where: Sequence[ColumnElement[bool]],
    postgresql: bool,
) -> None:
    """INSERT INTO table SELECT operator, keys, extra, count, sums FROM facts WHERE ... GROUP BY keys."""
    f = _f()
    names = ["operator_id", *keys, *(name for name, _ in extra), "sessions", *MEASURES, *PRESENCE]
    statement = (
        select(f.operator_id, *key_columns, *(column for _, column in extra), *_sum_columns(postgresql, None))
        .where(*where)
        .group_by(f.operator_id, *key_columns)
    )
    connection.execute(insert(table).from_select(names, statement))


_DAY_KEYS = ("local_day", "local_week", "currency", "connector_class", "tariff_id", "plan_id", "segment",
             "payment_method")  # fmt: skip
_PLACE_KEYS = ("currency", "location_id", "station_id", "evse_id", "connector_class", "tariff_id")
_CUSTOMER_KEYS = ("customer_id", "currency", "connector_class", "tariff_id", "plan_id", "segment",
                  "payment_method")  # fmt: skip


def _day_ranges(days: Iterable[int]) -> ColumnElement[bool]:
    f = _f()
    return or_(
        *(and_(f.started_at >= _at(day * DAY_S), f.started_at < _at((day + 1) * DAY_S)) for day in days)
    )


def _refresh_days(connection: Connection, operator_id: str, days: Sequence[int] | None, pg: bool) -> None:
    f = _f()
    mine = [f.operator_id == operator_id]
    for table, column in (
        (report_day_sums, report_day_sums.c.day),
        (report_heat_sums, report_heat_sums.c.day),
    ):
        gone = delete(table).where(table.c.operator_id == operator_id)
        connection.execute(gone if days is None else gone.where(column.in_(days)))
    chunks = [None] if days is None else [days[i : i + _CHUNK] for i in range(0, len(days), _CHUNK)]
    for chunk in chunks:
        where = mine if chunk is None else [*mine, _day_ranges(chunk)]
        day = _div(f.start_s, DAY_S).label("day")
        _refill(connection, report_day_sums, ["day", *_DAY_KEYS],
                [day, *(f[name] for name in _DAY_KEYS)], (), where, pg)  # fmt: skip
        _refill_heat(connection, operator_id, where)


def _refill_heat(connection: Connection, operator_id: str, where: Sequence[ColumnElement[bool]]) -> None:
    """Starts and seconds occupied per (UTC day, local hour of the week, class, tariff): each session
    split by quarter hours in Python (``rollup.occupancy``), streamed, inserted in pages."""
    f = _f()
    statement = select(f.zone, f.start_s, f.end_s, f.local_hour, f.connector_class, f.tariff_id).where(*where)
    sums: dict[tuple[int, int, str | None, str | None], list[int]] = {}
    for zone, start_s, end_s, local_hour, connector_class, tariff_id in connection.execute(
        statement.execution_options(yield_per=20_000)
    ):
        day = start_s // DAY_S
        known = sums.setdefault((day, local_hour, connector_class, tariff_id), [0, 0])
        known[0] += 1
        for hour, seconds in occupancy(zone, start_s, end_s):
            known = sums.setdefault((day, hour, connector_class, tariff_id), [0, 0])
            known[1] += seconds
    rows = [
        {"operator_id": operator_id, "day": day, "hour": hour, "connector_class": connector_class,
         "tariff_id": tariff_id, "starts": starts, "seconds": seconds}
        for (day, hour, connector_class, tariff_id), (starts, seconds) in sums.items()
    ]  # fmt: skip
    for first in range(0, len(rows), 10_000):
        connection.execute(insert(report_heat_sums), rows[first : first + 10_000])


def _refresh_place_totals(
    connection: Connection, operator_id: str, evses: Sequence[str] | None, pg: bool
) -> None:
    f, p = _f(), report_place_totals.c
    chunks = [None] if evses is None else [evses[i : i + _CHUNK] for i in range(0, len(evses), _CHUNK)]
    for chunk in chunks:
        gone = delete(report_place_totals).where(p.operator_id == operator_id)
        where = [f.operator_id == operator_id]
        if chunk is not None:
            gone = gone.where(p.evse_id.in_(chunk))
            where.append(f.evse_id.in_(chunk))
        connection.execute(gone)
        _refill(
            connection, report_place_totals, _PLACE_KEYS, [f[name] for name in _PLACE_KEYS], (), where, pg
        )


def _refresh_places(
    connection: Connection, operator_id: str, places: set[tuple[str, int]] | None, pg: bool
) -> None:
    f, p = _f(), report_place_sums.c
    _refresh_place_totals(
        connection, operator_id, None if places is None else sorted({e for e, _ in places}), pg
    )
    period = _div(f.start_s, PERIOD_S).label("period")
    if places is None:
        connection.execute(delete(report_place_sums).where(p.operator_id == operator_id))
        mine = [f.operator_id == operator_id]
        _refill(connection, report_place_sums, ["period", *_PLACE_KEYS],
                [period, *(f[name] for name in _PLACE_KEYS)], (), mine, pg)  # fmt: skip
        return
    by_period: dict[int, list[str]] = {}
    for evse, number in places:
        by_period.setdefault(number, []).append(evse)
    for number, evses in sorted(by_period.items()):
        evses.sort()
        for first in range(0, len(evses), _CHUNK):
            chunk = evses[first : first + _CHUNK]
            connection.execute(
                delete(report_place_sums).where(
                    p.operator_id == operator_id, p.evse_id.in_(chunk), p.period == number
                )
            )
            where = [
                f.operator_id == operator_id, f.evse_id.in_(chunk),
                f.started_at >= _at(number * PERIOD_S), f.started_at < _at((number + 1) * PERIOD_S),
            ]  # fmt: skip
            _refill(connection, report_place_sums, ["period", *_PLACE_KEYS],
                    [period, *(f[name] for name in _PLACE_KEYS)], (), where, pg)  # fmt: skip


def _refresh_customers(
    connection: Connection, operator_id: str, customers: Sequence[str] | None, pg: bool
) -> None:
    f, c = _f(), report_customer_sums.c
    extra = (
        ("first_started_at", func.min(f.started_at)), ("last_started_at", func.max(f.started_at)),
        ("customer_first_at", func.max(f.customer_first_at)),
    )  # fmt: skip
    mine = [f.operator_id == operator_id, f.customer_id.is_not(None)]
    if customers is None:
        connection.execute(delete(report_customer_sums).where(c.operator_id == operator_id))
        _refill(
            connection, report_customer_sums, _CUSTOMER_KEYS, [f[n] for n in _CUSTOMER_KEYS], extra, mine, pg
        )
        _refill_customer_totals(connection, operator_id, None, pg)
        return
    for first in range(0, len(customers), _CHUNK):
        chunk = customers[first : first + _CHUNK]
        connection.execute(
            delete(report_customer_sums).where(c.operator_id == operator_id, c.customer_id.in_(chunk))
        )
        where = [*mine, f.customer_id.in_(chunk)]
        _refill(
            connection, report_customer_sums, _CUSTOMER_KEYS, [f[n] for n in _CUSTOMER_KEYS], extra, where, pg
        )
        _refill_customer_totals(connection, operator_id, chunk, pg)


def _refill_customer_totals(
    connection: Connection, operator_id: str, customers: Sequence[str] | None, pg: bool
) -> None:
    """``report_customer_totals`` of the customers (None: every one) from their rows of
    ``report_customer_sums``, just refilled: a customer without rows any more has no totals."""
    c, t = report_customer_sums.c, report_customer_totals.c
    gone = delete(report_customer_totals).where(t.operator_id == operator_id)
    where = [c.operator_id == operator_id]
    if customers is not None:
        gone = gone.where(t.customer_id.in_(customers))
        where.append(c.customer_id.in_(customers))
    connection.execute(gone)
    names = ["operator_id", "customer_id", "currency", "customer_first_at", "sessions", *MEASURES, *PRESENCE]
    statement = (
        select(
            c.operator_id,
            c.customer_id,
            c.currency,
            func.max(c.customer_first_at),
            *_sum_columns(pg, report_customer_sums),
        )  # fmt: skip
        .where(*where)
        .group_by(c.operator_id, c.customer_id, c.currency)
    )
    connection.execute(insert(report_customer_totals).from_select(names, statement))


def _key_condition(kind: GroupBy, keys: Sequence[str]) -> ColumnElement[bool]:
    f = _f()
    if kind is GroupBy.MONTH:
        return or_(*(and_(f.local_day >= key, f.local_day < key + "~") for key in keys))
    return key_of_facts(kind).in_(keys)


def distinct_customers(
    where: Sequence[ColumnElement[bool]], key: Any, new: ColumnElement[Any]
) -> Select[Any]:
    """(key, currency, customers, new customers) over the facts: two hash aggregates, no sort."""
    f = _f()
    per_customer = (
        select(key.label("k"), f.currency.label("c"), func.max(new).label("n"))
        .where(*where, f.customer_id.is_not(None))
        .group_by(key, f.currency, f.customer_id)
        .subquery()
    )
    return select(per_customer.c.k, per_customer.c.c, func.count(), func.count(per_customer.c.n)).group_by(
        per_customer.c.k, per_customer.c.c
    )


def _refresh_keys(
    connection: Connection, operator_id: str, kind: GroupBy, keys: Sequence[str] | None
) -> None:
    f, k = _f(), report_key_customers.c
    gone = delete(report_key_customers).where(k.operator_id == operator_id, k.kind == kind.value)
    chunks: list[Sequence[str] | None] = (
        [None] if keys is None else [keys[i : i + _CHUNK] for i in range(0, len(keys), _CHUNK)]
    )
    for chunk in chunks:
        where = [f.operator_id == operator_id]
        if chunk is None:
            connection.execute(gone)
        else:
            connection.execute(gone.where(k.key.in_(chunk)))
            where.append(_key_condition(kind, chunk))
        new = case((f.customer_first_at.is_not(None), 1))
        counted = distinct_customers(where, key_of_facts(kind), new).subquery()
        statement = select(literal(operator_id), literal(kind.value), *counted.c)
        names = ["operator_id", "kind", "key", "currency", "customers", "new_customers"]
        connection.execute(insert(report_key_customers).from_select(names, statement))


def refresh(connection: Connection, operator_id: str, touched: Touched, postgresql: bool) -> None:
    """Recompute every rollup row of the keys touched (the facts already replaced)."""
    if touched.days:
        days = sorted(touched.days)
        _refresh_days(connection, operator_id, days, postgresql)
        _refresh_places(connection, operator_id, touched.places, postgresql)
    if touched.customers:
        _refresh_customers(connection, operator_id, sorted(touched.customers), postgresql)
    for kind, keys in touched.keys.items():
        if keys:
            _refresh_keys(connection, operator_id, kind, None if len(keys) > KEY_LIMIT else sorted(keys))


def build(connection: Connection, operator_id: str, now: datetime, postgresql: bool) -> None:
    """Every rollup of the operator from its facts, then marked built."""
    _refresh_days(connection, operator_id, None, postgresql)
    _refresh_places(connection, operator_id, None, postgresql)
    _refresh_customers(connection, operator_id, None, postgresql)
    for kind in KEYED:
        _refresh_keys(connection, operator_id, kind, None)
    forget(connection, operator_id)
    state = {"operator_id": operator_id, "built_at": now}
    if connection.dialect.name == "postgresql":
        connection.execute(pg_insert(report_rollup_state).values(**state).on_conflict_do_nothing())
    else:
        connection.execute(sqlite_insert(report_rollup_state).values(**state).on_conflict_do_nothing())
