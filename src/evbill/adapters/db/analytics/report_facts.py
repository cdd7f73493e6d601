"""Fast reports: keep the fact rows current, then let the database group and sum them.

``refresh_report_facts`` folds the refresh queue (filled by triggers, see ``tables``) into
``session_report_facts``: it reads the queued sessions as facts (``facts.read_facts``, the very reader
of the reference reports), turns each into its fact row (``rollup.fact_row``) and replaces their rows;
a session no longer finished loses its row. Then:

    SELECT <key>, currency, count(*), sum(duration_us), ..., count(DISTINCT customer_id),
           count(DISTINCT CASE WHEN customer_first_at >= :window THEN customer_id END)
    FROM session_report_facts WHERE operator_id = :operator [AND filters] GROUP BY <key>, currency

The key is a column (a month is ``substr(local_day, 1, 7)``), so neither dialect converts time zones
or parses JSON per row. Sums are of integers: PostgreSQL's ``sum(bigint)`` is an exact numeric;
SQLite's own ``sum`` fails past 2**63, so there the sum is ``evbill_sum``, Python integers,
registered on the connection. The heatmap reads start counts per local hour of the week and four
sums per (zone, UTC quarter hour) (``rollup.heatmap_of``).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime
from decimal import Context, localcontext
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    tuple_,
    update,
)

from evbill.adapters.db.analytics import rollups
from evbill.adapters.db.analytics.facts import read_facts
from evbill.adapters.db.analytics.tables import (
    report_customer_sums,
    report_customer_totals,
    report_day_sums,
    report_heat_sums,
    report_key_customers,
    report_place_sums,
    report_place_totals,
    report_refresh_queue,
    session_report_facts,
)
from evbill.adapters.db.charging.tables import charging_sessions
from evbill.adapters.db.repositories import ConnectionSource
from evbill.adapters.db.types import UtcDateTime
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.analytics.rollup import (
    MEASURES,
    PRESENCE,
    QUARTER_S,
    GroupSums,
    QuarterSums,
    fact_row,
    top_order,
)

BATCH = 2000
_FILTERED = ("location_id", "station_id", "evse_id", "connector_class", "tariff_id", "customer_id")
_KEYS = {
    GroupBy.LOCATION: "location_id", GroupBy.STATION: "station_id", GroupBy.EVSE: "evse_id",
    GroupBy.CONNECTOR_CLASS: "connector_class", GroupBy.PLAN: "plan_id", GroupBy.TARIFF: "tariff_id",
    GroupBy.SEGMENT: "segment", GroupBy.CUSTOMER: "customer_id", GroupBy.PAYMENT_METHOD: "payment_method",
    GroupBy.DAY: "local_day", GroupBy.WEEK: "local_week",
}  # fmt: skip


class _ExactSum:
    """SQLite aggregate: the sum of integers as a Python int (no overflow), 0 over no rows."""

    def __init__(self) -> None:
        self.total = 0

    def step(self, value: int | None) -> None:
        if value is not None:
            self.total += value

    def finalize(self) -> int | str:
        # beyond SQLite's 64 bits the exact digits travel as text
        return self.total if -(2**63) <= self.total < 2**63 else str(self.total)


def _prepared(connection: Connection) -> bool:
    """True on PostgreSQL; on SQLite, register ``evbill_sum`` on this connection first.

    On PostgreSQL the transaction goes without JIT (compiling a plan over a million rows costs more
    than it saves on this machine) and sorts distinct customers in memory (work_mem 64 MB)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL jit = off")
        connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        return True
    driver = connection.connection.driver_connection
    driver.create_aggregate("evbill_sum", 1, _ExactSum)  # type: ignore[union-attr]
    return False


def _conditions(operator_id: str, query: SessionFilter) -> list[ColumnElement[bool]]:
    f = session_report_facts.c
    where: list[ColumnElement[bool]] = [f.operator_id == operator_id]
    if query.start is not None:
        where.append(f.started_at >= query.start)
    if query.end is not None:
        where.append(f.started_at < query.end)
    for name in _FILTERED:
        value = getattr(query, name)
        if value is not None:
            where.append(f[name] == value)
    return where


def _key(group_by: GroupBy) -> Any:
    f = session_report_facts.c
    if group_by is GroupBy.TOTAL:
        return literal("total")
    if group_by is GroupBy.MONTH:
        return func.substr(f.local_day, 1, 7)
    return f[_KEYS[group_by]]


def _customers(
    connection: Connection, where: list[ColumnElement[bool]], query: SessionFilter, key: Any
) -> dict[tuple[Any, str], tuple[int, int]]:
    """(distinct customers, new ones) per (key, currency); the key is None for the totals.

    Two hash aggregates (per key and customer, then per key) rather than count(DISTINCT), which
    sorts: over 800,000 sessions with a customer, 1.1 s against 3.8 s on the busy bench machine."""
    f = session_report_facts.c
    first = f.customer_first_at
    new = case((first.is_not(None) if query.start is None else first >= query.start, 1))
    grouping = [f.currency, f.customer_id] if key is None else [key, f.currency, f.customer_id]
    per_customer = (
        select((literal(None) if key is None else key).label("k"), f.currency.label("c"))
        .add_columns(func.max(new).label("n"))
        .where(*where, f.customer_id.is_not(None))
        .group_by(*grouping)
        .subquery()
    )
    statement = select(
        per_customer.c.k, per_customer.c.c, func.count(), func.count(per_customer.c.n)
    ).group_by(per_customer.c.k, per_customer.c.c)
    return {(row[0], row[1]): (int(row[2]), int(row[3])) for row in connection.execute(statement)}


_WIDTH = len(MEASURES)
_GROSS_AT = MEASURES.index("gross_u")
_PRESENT_END = 3 + _WIDTH + len(PRESENCE)


def _group_sums(row: Any, customers: tuple[int, int]) -> GroupSums:
    """A fact GROUP BY row (key, currency, count, sums..., max of presence...) as group sums."""
    return _group_of(row[0], row[1], row[2:_PRESENT_END], customers)


def _group_of(key: Any, currency: str, values: Sequence[Any], customers: tuple[int, int]) -> GroupSums:
    """Group sums from (sessions, sums..., presence counts...) as the rollups give them, each an int
    (a SQLite sum may come as text: ``int`` reads it)."""
    return GroupSums(
        key, currency, int(values[0]),
        tuple(int(value or 0) for value in values[1 : 1 + _WIDTH]),
        tuple(bool(value and int(value) > 0) for value in values[1 + _WIDTH :]),
        *customers,
    )  # fmt: skip


def _customer_groups(rows: Sequence[Any], exact: bool) -> list[GroupSums]:
    """One group per row (customer, currency, sessions, sums..., presence counts..., first session or
    NULL): a customer alone in its group, new of all time if its first session is known. ``exact``
    (PostgreSQL): the values are ints or integral numerics already, kept as they are (40,000
    customers: no value read twice)."""
    end = 3 + _WIDTH
    if not exact:
        return [
            _group_of(row[0], row[1], row[2:-1], (1, 0 if row[-1] is None else 1))
            for row in rows
            if row[2] and int(row[2]) > 0
        ]
    return [
        GroupSums(
            row[0],
            row[1],
            int(row[2]),
            tuple(row[3:end]),
            tuple(map(bool, row[end:-1])),
            1,
            0 if row[-1] is None else 1,
        )  # fmt: skip
        for row in rows
        if row[2] > 0
    ]


def _totals(groups: list[GroupSums], customers: dict[str, tuple[int, int]]) -> list[GroupSums]:
    """Per currency: the groups' sums added up column by column, the distinct customers counted apart."""
    by_currency: dict[str, list[GroupSums]] = {}
    for group in groups:
        by_currency.setdefault(group.currency, []).append(group)
    return [
        GroupSums(
            None,
            currency,
            sum(group.sessions for group in members),
            tuple(map(sum, zip(*(group.sums for group in members), strict=True))),
            tuple(map(any, zip(*(group.present for group in members), strict=True))),
            *customers.get(currency, (0, 0)),
        )  # fmt: skip
        for currency, members in by_currency.items()
    ]


def _align_first_sessions(connection: Connection, operator_id: str, session_ids: Sequence[str]) -> set[str]:
    """A session earlier than its customer's first one (finished or not) moves the customer's first
    session: the customer's other fact rows (not queued) take the new one, as the reference reads it.
    The customers whose rows changed."""
    s, f = charging_sessions.c, session_report_facts.c
    changed: set[str] = set()
    for first in range(0, len(session_ids), 500):
        of_batch = select(s.customer_id).where(
            s.operator_id == operator_id,
            s.id.in_(session_ids[first : first + 500]),
            s.customer_id.is_not(None),
        )
        customers = sorted({row[0] for row in connection.execute(of_batch)})
        if not customers:
            continue
        firsts = dict(
            connection.execute(
                select(s.customer_id, func.min(s.started_at, type_=UtcDateTime()))
                .where(s.operator_id == operator_id, s.customer_id.in_(customers))
                .group_by(s.customer_id)
            ).all()
        )
        statement = (
            select(f.customer_id, func.min(f.customer_first_at), func.max(f.customer_first_at))
            .where(f.operator_id == operator_id, f.customer_id.in_(customers))
            .group_by(f.customer_id)
        )
        for customer, low, high in connection.execute(statement).all():
            known = firsts.get(customer)
            if low != known or high != known:
                changed.add(customer)
                connection.execute(
                    update(session_report_facts)
                    .where(f.operator_id == operator_id, f.customer_id == customer)
                    .values(customer_first_at=known)
                )
    return changed


class SqlReportFacts:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def refresh_report_facts(self, operator_id: str, after: int = 0, *, limit: int = BATCH) -> int | None:
        """Fold up to ``limit`` of the operator's queued entries past ``after`` into fact rows; the last
        entry's id (None: none left). Reading past the last batch skips the entries it deleted, which
        stay in the index until a vacuum: from the start, a long catch-up would go over them again and
        again."""
        connection = self._connection()
        q = report_refresh_queue.c
        statement = (
            select(q.id, q.session_id).where(q.operator_id == operator_id, q.id > after).order_by(q.id)
        )
        if connection.dialect.name == "postgresql":
            statement = statement.with_for_update()  # a concurrent report waits, then finds them gone
        queued = connection.execute(statement.limit(limit)).all()
        if not queued:
            return None
        session_ids = sorted({row.session_id for row in queued})
        rows = [fact_row(fact) for fact in read_facts(connection, operator_id, SessionFilter(), session_ids)]
        f = session_report_facts.c
        kept = rollups.is_built(connection, operator_id, lock=True)
        touched = rollups.touched_before(connection, operator_id, session_ids) if kept else None
        connection.execute(
            delete(session_report_facts).where(f.operator_id == operator_id, f.session_id.in_(session_ids))
        )
        if rows:
            connection.execute(
                insert(session_report_facts), [{"operator_id": operator_id, **row} for row in rows]
            )
        moved = _align_first_sessions(connection, operator_id, session_ids)
        if touched is not None:
            for row in rows:
                touched.add(row)
            touched.customers |= moved
            rollups.refresh(connection, operator_id, touched, _prepared(connection))
        connection.execute(delete(report_refresh_queue).where(q.id.in_([row.id for row in queued])))
        return int(queued[-1].id)

    def queued_for_reports(self, operator_id: str) -> int:
        q = report_refresh_queue.c
        found = self._connection().execute(select(func.count()).where(q.operator_id == operator_id))
        return int(found.scalar_one())

    def forget_report_rollups(self, operator_id: str) -> None:
        """The rollups no longer kept (a long catch-up goes faster without): reports read the facts."""
        rollups.forget(self._connection(), operator_id)

    def build_report_rollups(self, operator_id: str, now: datetime) -> bool:
        """Build the operator's rollups from its facts unless they are built; True if it did."""
        connection = self._connection()
        if rollups.is_built(connection, operator_id, lock=True):
            return False
        rollups.build(connection, operator_id, now, _prepared(connection))
        return True

    def report_sums(
        self, operator_id: str, query: SessionFilter, group_by: GroupBy, *, limit: int | None = None
    ) -> tuple[list[GroupSums], list[GroupSums], int]:
        connection = self._connection()
        postgresql = _prepared(connection)
        if _by_rollups(query) and rollups.is_built(connection, operator_id):
            return _rolled_report(connection, operator_id, query, group_by, postgresql, limit)
        groups, totals = self._fact_report_sums(operator_id, query, group_by)
        return groups, totals, len(groups)

    def _fact_report_sums(
        self, operator_id: str, query: SessionFilter, group_by: GroupBy
    ) -> tuple[list[GroupSums], list[GroupSums]]:
        """Group sums by the report's key and currency, and the totals per currency.

        The sums are one hash aggregate; the distinct customers, which need their values sorted,
        are counted apart over three narrow columns (a count(DISTINCT) beside the sums would sort the
        whole wide rows). The totals add the groups' sums up, their customers counted once more."""
        connection = self._connection()
        postgresql = _prepared(connection)
        f = session_report_facts.c
        where = _conditions(operator_id, query)
        total = func.sum if postgresql else func.evbill_sum
        key = _key(group_by)
        columns = [
            key.label("key"), f.currency, func.count(),
            *(total(f[name]) for name in MEASURES), *(func.max(f[name]) for name in PRESENCE),
        ]  # fmt: skip
        statement = select(*columns).where(*where).group_by(key, f.currency)
        sums = connection.execute(statement).all()
        customers = _customers(connection, where, query, key)
        groups = [_group_sums(row, customers.get((row[0], row[1]), (0, 0))) for row in sums]
        if group_by is GroupBy.TOTAL:
            return groups, groups
        counted = _customers(connection, where, query, None)
        return groups, _totals(groups, {currency: count for (_, currency), count in counted.items()})

    def heatmap_sums(
        self, operator_id: str, query: SessionFilter
    ) -> tuple[dict[int, int], dict[str, QuarterSums], dict[int, int]]:
        connection = self._connection()
        postgresql = _prepared(connection)
        if _by_rollups(query) and rollups.is_built(connection, operator_id):
            return _rolled_heatmap(connection, operator_id, query, postgresql)
        return (*_fact_heatmap(connection, _conditions(operator_id, query), postgresql), {})


# ---------------------------------------------------------------- from the rollups (see ``rollups``)

_ROLLED_FILTERS = ("connector_class", "tariff_id")  # the filters a rollup row can answer


def _by_rollups(query: SessionFilter) -> bool:
    """A filter on a place or a customer reads the facts by its index (a few thousand rows at most)."""
    return all(getattr(query, name) is None for name in _FILTERED if name not in _ROLLED_FILTERS)


def _filters(table: Any, query: SessionFilter) -> list[ColumnElement[bool]]:
    return [
        table.c[name] == getattr(query, name) for name in _ROLLED_FILTERS if getattr(query, name) is not None
    ]


def _fact_filters(
    operator_id: str, query: SessionFilter, edges: ColumnElement[bool]
) -> list[ColumnElement[bool]]:
    return [session_report_facts.c.operator_id == operator_id, edges, *_filters(session_report_facts, query)]


class _Adder:
    """Group sums added up from several sources (rollup buckets, fact edges), per (key, currency).

    A row is (key, currency, sessions, sums..., presence...) as the SQL returns it; a group seen once
    keeps the row's own tuple (the common case: one source), a group seen again is added up.

    ``exact``: every value is an int or PostgreSQL's integral numeric (a Decimal), never NULL (a group
    has rows) nor text, so the groups keep them as they are (``row_of`` makes the same Decimals of
    either); otherwise (SQLite's ``evbill_sum`` gives its big sums as text) each becomes an int."""

    def __init__(self, exact: bool = False) -> None:
        self.groups: dict[tuple[Any, str], Sequence[Any]] = {}
        self.exact = exact

    def add(self, rows: Any) -> None:
        groups = self.groups
        for row in rows:
            values = tuple(row)[2:]
            known = groups.get((row[0], row[1]))
            groups[(row[0], row[1])] = (
                values
                if known is None
                else tuple(int(a or 0) + int(b or 0) for a, b in zip(known, values, strict=True))
            )

    def result(
        self, customers: dict[tuple[Any, str], tuple[int, int]], limit: int | None, *, summed: bool = True
    ) -> tuple[list[GroupSums], int, dict[str, tuple[int, ...]]]:
        """The groups (with ``limit``, only the ``limit`` of highest gross revenue), how many there
        are, and per currency every group's (sessions, measures..., presence...) added up (unless
        ``summed`` is False: the totals are read apart)."""
        live = [(pair, values) for pair, values in self.groups.items() if values[0] and values[0] > 0]
        by_currency: dict[str, list[Sequence[Any]]] = {}
        if summed:
            for (_, currency), values in live:
                by_currency.setdefault(currency, []).append(values)
        with localcontext(_EXACT):  # numeric sums from PostgreSQL: added without rounding
            sums = {
                currency: tuple(int(sum(filter(None, column))) for column in zip(*rows, strict=True))
                for currency, rows in by_currency.items()
            }
        found = len(live)
        if limit is not None and found > limit:
            gross = 1 + MEASURES.index("gross_u")
            live = heapq.nsmallest(
                limit, live, key=lambda item: top_order(item[1][gross] or 0, item[0][0], item[0][1])
            )
        none = (0, 0)
        if self.exact:
            groups = [
                GroupSums(
                    key,
                    currency,
                    int(values[0]),
                    tuple(values[1 : 1 + _WIDTH]),
                    tuple(map(bool, values[1 + _WIDTH :])),  # counts of sessions: > 0 is != 0
                    *customers.get((key, currency), none),
                )  # fmt: skip
                for (key, currency), values in live
            ]
            return groups, found, sums
        groups = [
            _group_of(key, currency, values, customers.get((key, currency), none))
            for (key, currency), values in live
        ]
        return groups, found, sums


_EXACT = Context(prec=200)


def _currency_totals(
    summed: dict[str, tuple[int, ...]], customers: dict[str, tuple[int, int]]
) -> list[GroupSums]:
    return [
        GroupSums(
            None,
            currency,
            values[0],
            values[1 : 1 + _WIDTH],
            tuple(value > 0 for value in values[1 + _WIDTH :]),
            *customers.get(currency, (0, 0)),
        )  # fmt: skip
        for currency, values in summed.items()
    ]


def _rollup_rows(
    connection: Connection, table: Any, bucket: Any, key: Any, cut: rollups.Cut, query: SessionFilter,
    operator_id: str, postgresql: bool, more: Sequence[Any] = (), top: int | None = None,
) -> Any:  # fmt: skip
    """(key, currency, sessions, sums..., presence counts..., *more) per key and currency of a rollup.

    ``top`` (PostgreSQL): only the groups of the ``top`` highest gross revenues (ties kept: the exact
    order of ties is ``rollup.top_order``'s, in Python), each row ending with how many groups there are."""
    total = func.sum if postgresql else func.evbill_sum
    columns = [
        key.label("key"), table.c.currency, total(table.c.sessions),
        *(total(table.c[name]) for name in MEASURES), *(total(table.c[name]) for name in PRESENCE), *more,
    ]  # fmt: skip
    where = [table.c.operator_id == operator_id, *cut.bucket_conditions(bucket), *_filters(table, query)]
    statement = select(*columns).where(*where).group_by(key, table.c.currency)
    if top is not None:
        statement = (
            statement.add_columns(func.count().over())
            .order_by(total(table.c.gross_u).desc())
            .fetch(top, with_ties=True)
        )
    return connection.execute(statement).all()


def _fact_rows(connection: Connection, where: list[ColumnElement[bool]], key: Any, postgresql: bool) -> Any:
    f = session_report_facts.c
    total = func.sum if postgresql else func.evbill_sum
    columns = [
        key.label("key"), f.currency, func.count(),
        *(total(f[name]) for name in MEASURES), *(func.max(f[name]) for name in PRESENCE),
    ]  # fmt: skip
    return connection.execute(select(*columns).where(*where).group_by(key, f.currency)).all()


def _rolled_customers(
    connection: Connection, operator_id: str, query: SessionFilter, group_by: GroupBy
) -> dict[tuple[Any, str], tuple[int, int]]:
    """Distinct customers and new ones per (key, currency) of a grouping in the query's window."""
    f = session_report_facts.c
    unbounded = query.start is None and query.end is None
    if group_by in rollups.LOW and (query.start is None or query.end is None):
        c = report_customer_sums.c
        where = [c.operator_id == operator_id, *_filters(report_customer_sums, query)]
        if query.start is not None:
            where.append(c.last_started_at >= query.start)
        if query.end is not None:
            where.append(c.first_started_at < query.end)
        first = c.customer_first_at
        new = case((first.is_not(None) if query.start is None else first >= query.start, 1))
        key = rollups_key(report_customer_sums, group_by)
        per_customer = (
            select(key.label("k"), c.currency.label("c"), func.max(new).label("n"))
            .where(*where)
            .group_by(key, c.currency, c.customer_id)
            .subquery()
        )
        statement = select(
            per_customer.c.k, per_customer.c.c, func.count(), func.count(per_customer.c.n)
        ).group_by(per_customer.c.k, per_customer.c.c)
        return {(row[0], row[1]): (int(row[2]), int(row[3])) for row in connection.execute(statement)}
    if group_by in rollups.KEYED and unbounded and query.connector_class is None and query.tariff_id is None:
        k = report_key_customers.c
        statement = select(k.key, k.currency, k.customers, k.new_customers).where(
            k.operator_id == operator_id, k.kind == group_by.value
        )
        return {(row[0], row[1]): (int(row[2]), int(row[3])) for row in connection.execute(statement)}
    where = _conditions(operator_id, query)
    first = f.customer_first_at
    new = case((first.is_not(None) if query.start is None else first >= query.start, 1))
    key = rollups.key_of_facts(group_by)
    return {
        (row[0], row[1]): (int(row[2]), int(row[3]))
        for row in connection.execute(rollups.distinct_customers(where, key, new))
    }


def rollups_key(table: Any, group_by: GroupBy) -> Any:
    if group_by is GroupBy.TOTAL:
        return literal("total")
    return table.c[_KEYS[group_by]]


def _top_customers(
    connection: Connection, operator_id: str, query: SessionFilter, top: int | None
) -> tuple[list[Any], int, dict[str, Sequence[Any]], dict[str, tuple[int, int]]]:
    """The customers of the ``top`` highest gross revenues of all time (None: every customer, in no
    order) (PostgreSQL, one hash aggregate of the per-customer rollup with GROUPING SETS per customer
    and per currency): their rows (key, currency, sums..., first session), how many customers there
    are, per currency every customer's sums added up and (distinct customers, new ones)."""
    c = report_customer_sums.c
    sums = [func.sum(c.sessions), *(func.sum(c[name]) for name in MEASURES),
            *(func.sum(c[name]) for name in PRESENCE)]  # fmt: skip
    width = len(sums)
    grouped = (
        select(
            c.customer_id.label("customer"),
            c.currency.label("currency"),
            func.grouping(c.customer_id).label("whole"),
            *(column.label(f"s{number}") for number, column in enumerate(sums)),
            func.max(c.customer_first_at).label("first"),
        )  # fmt: skip
        .where(c.operator_id == operator_id, *_filters(report_customer_sums, query))
        .group_by(func.grouping_sets(tuple_(c.customer_id, c.currency), tuple_(c.currency)))
        .cte("grouped")
    )
    g = grouped.c
    measured = [g[f"s{number}"] for number in range(width)]
    none = null()
    # (the first session's column carries a timestamp in every part: a NULL alone would be typed text)
    per_currency = select(literal_column("0"), none, g.currency, *measured, g.first, none, none).where(
        g.whole == 1
    )
    counts = (
        select(literal_column("1"), none, g.currency, *(none for _ in measured), func.max(g.first),
               func.count(), func.count(g.first))
        .where(g.whole == 0)
        .group_by(g.currency)
    )  # fmt: skip
    best = select(
        literal_column("2").label("part"),
        g.customer,
        g.currency,
        *measured,
        g.first,
        cast(null(), BigInteger).label("customers"),
        cast(null(), BigInteger).label("new"),
    ).where(g.whole == 0)  # fmt: skip
    if top is not None:
        best = best.order_by(g[f"s{1 + MEASURES.index('gross_u')}"].desc()).fetch(top, with_ties=True)
    chosen = best.subquery()
    statement = per_currency.union_all(counts, select(*chosen.c))
    rows: list[Any] = []
    of_customers: dict[str, Sequence[Any]] = {}
    counted: dict[str, tuple[int, int]] = {}
    for row in connection.execute(statement).all():
        if row[0] == 0:
            of_customers[row[2]] = row[3 : 3 + width]
        elif row[0] == 1:
            counted[row[2]] = (int(row[4 + width]), int(row[5 + width]))
        else:
            rows.append(row[1 : 4 + width])
    return rows, sum(customers for customers, _ in counted.values()), of_customers, counted


def _customer_totals(
    connection: Connection, operator_id: str, top: int | None, postgresql: bool
) -> tuple[list[Any], int, dict[str, Sequence[Any]], dict[str, tuple[int, int]]]:
    """As ``_top_customers`` from ``report_customer_totals`` (one row per customer and currency, no
    filter): the rows of the ``top`` highest gross revenues (PostgreSQL: by the gross index, ties kept;
    None: every customer), how many customers there are, and per currency their sums added up and
    (distinct customers, new ones)."""
    t = report_customer_totals.c
    total = func.sum if postgresql else func.evbill_sum
    measured = [t.sessions, *(t[name] for name in MEASURES), *(t[name] for name in PRESENCE)]
    summed = [total(column) for column in measured]
    per_currency = (
        select(t.currency, *summed, func.count(), func.count(t.customer_first_at))
        .where(t.operator_id == operator_id)
        .group_by(t.currency)
    )
    of_customers: dict[str, Sequence[Any]] = {}
    counted: dict[str, tuple[int, int]] = {}
    width = len(measured)
    for row in connection.execute(per_currency).all():
        of_customers[row[0]] = row[1 : 1 + width]
        counted[row[0]] = (int(row[1 + width]), int(row[2 + width]))
    # whether the customer's first session is known (new of all time): 1 or NULL, no timestamp decoded
    known_first = case((t.customer_first_at.is_not(None), 1))
    statement = select(t.customer_id, t.currency, *measured, known_first).where(t.operator_id == operator_id)
    if top is not None:
        statement = statement.order_by(t.gross_u.desc()).fetch(top, with_ties=True)
    rows = list(connection.execute(statement).all())
    return rows, sum(customers for customers, _ in counted.values()), of_customers, counted


def _every_customer(
    connection: Connection, operator_id: str, query: SessionFilter, postgresql: bool, limit: int | None
) -> tuple[list[GroupSums], list[GroupSums], int]:
    """By customer over all time: a group per customer and currency, each read as one row of the
    customer rollups (nothing to add up), and one for the sessions without a customer."""
    top = limit if postgresql else None
    c = report_customer_sums.c
    every = rollups.Cut(None, None, ())
    d = report_day_sums
    everything = _rollup_rows(connection, d, None, literal(None), every, query, operator_id, postgresql)
    # Unfiltered: the per-customer totals (the top ones by their gross index, or all); by class
    # or tariff on PostgreSQL: the customers and their sums per currency in one read of the
    # per-(customer, key) rollup; SQLite (no GROUPING SETS): three reads below
    top_customers = (
        _customer_totals(connection, operator_id, top, postgresql)
        if not _filters(report_customer_sums, query)
        else _top_customers(connection, operator_id, query, top)
        if postgresql
        else None
    )
    if top_customers is not None and {row[1] for row in everything} <= set(top_customers[2]):
        rows, found, of_customers, counted_customers = top_customers
    else:
        # per customer: its sums and whether its first session is known (new of all time)
        rows = _rollup_rows(connection, report_customer_sums, None, c.customer_id, every, query,
                            operator_id, postgresql, (func.max(c.customer_first_at),))  # fmt: skip
        found, counted_customers = None, None
        of_customers = {
            row[1]: row[2:] for row in _rollup_rows(connection, report_customer_sums, None,
                                                    literal(None), every, query, operator_id,
                                                    postgresql)
        }  # fmt: skip
    # one row per customer and currency: each is a group of its own, nothing to add up
    groups = _customer_groups(rows, postgresql)
    # the sessions without a customer: all of them (per currency) less those of customers
    for _, currency, *values in everything:
        known = of_customers.get(currency)
        less = [0] * len(values) if known is None else known
        rest = tuple(int(a or 0) - int(b or 0) for a, b in zip(values, less, strict=True))
        if rest[0] > 0:
            groups.append(_group_of(None, currency, rest, (0, 0)))
            if found is not None:
                found += 1
    found = len(groups) if found is None else found
    if limit is not None and found > limit:
        groups = heapq.nsmallest(
            limit, groups, key=lambda group: top_order(group.sums[_GROSS_AT], group.key, group.currency)
        )
    # every group (the customers' and the rest) adds up to every session's sums
    summed = {row[1]: tuple(int(value or 0) for value in row[2:]) for row in everything if row[2]}
    if counted_customers is None:
        counted = _rolled_customers(connection, operator_id, query, GroupBy.TOTAL)
        counted_customers = {currency: count for (_, currency), count in counted.items()}
    return groups, _currency_totals(summed, counted_customers), found


def _rolled_report(
    connection: Connection, operator_id: str, query: SessionFilter, group_by: GroupBy, postgresql: bool,
    limit: int | None,
) -> tuple[list[GroupSums], list[GroupSums], int]:  # fmt: skip
    adder = _Adder(exact=postgresql)
    # With a limit, PostgreSQL returns only the top groups of a single rollup source (no window edge to
    # add to them): ``found`` and the totals per currency then come from the database too.
    top = limit if postgresql and group_by is not GroupBy.TOTAL else None
    found: int | None = None
    totals_rows: Any = None
    counted_customers: dict[str, tuple[int, int]] | None = None  # distinct customers per currency
    if group_by is GroupBy.CUSTOMER:
        if query.start is not None or query.end is not None:
            # a customer's sums in a window: the facts of the window (no rollup per customer and day)
            key = rollups.key_of_facts(group_by)
            adder.add(_fact_rows(connection, _conditions(operator_id, query), key, postgresql))
            customers = _rolled_customers(connection, operator_id, query, group_by)
        else:
            return _every_customer(connection, operator_id, query, postgresql, limit)
    else:
        table, size, bucket_name = (
            (report_place_sums, rollups.PERIOD_S, "period")
            if group_by in rollups.PLACES
            else (report_day_sums, rollups.DAY_S, "day")
        )
        cut = rollups.cut(query.start, query.end, size)
        source: tuple[Any, Any, Any] | None = None  # (table, bucket, key) of the rollup read
        if group_by in rollups.PLACES and query.start is None and query.end is None:
            t = report_place_totals
            source = (t, None, rollups_key(t, group_by))
        elif cut.whole:
            key = (
                rollups_key(table, group_by)
                if group_by is not GroupBy.MONTH
                else func.substr(table.c.local_day, 1, 7)
            )
            source = (table, table.c[bucket_name], key)
        if source is not None:
            single = None if cut.edges else top
            rows = _rollup_rows(connection, source[0], source[1], source[2], cut, query, operator_id,
                                postgresql, (), single)  # fmt: skip
            if single is not None:
                found = int(rows[0][-1]) if rows else 0
                rows = [row[:-1] for row in rows]
                totals_rows = _rollup_rows(connection, source[0], source[1], literal(None), cut, query,
                                           operator_id, postgresql)  # fmt: skip
            adder.add(rows)
        if cut.edges:
            where = _fact_filters(operator_id, query, rollups.edge_condition(cut.edges))
            adder.add(_fact_rows(connection, where, rollups.key_of_facts(group_by), postgresql))
        customers = _rolled_customers(connection, operator_id, query, group_by)
    groups, counted_groups, summed = adder.result(
        customers, None if group_by is GroupBy.TOTAL else limit, summed=totals_rows is None
    )
    if group_by is GroupBy.TOTAL:
        return groups, groups, counted_groups
    if totals_rows is not None:
        summed = {row[1]: tuple(int(value or 0) for value in row[2:]) for row in totals_rows if row[2]}
    if counted_customers is None:
        counted = _rolled_customers(connection, operator_id, query, GroupBy.TOTAL)
        counted_customers = {currency: count for (_, currency), count in counted.items()}
    totals = _currency_totals(summed, counted_customers)
    return groups, totals, counted_groups if found is None else found


def _rolled_heatmap(
    connection: Connection, operator_id: str, query: SessionFilter, postgresql: bool
) -> tuple[dict[int, int], dict[str, QuarterSums], dict[int, int]]:
    """Whole UTC days from ``report_heat_sums`` (starts and seconds per local hour of the week), the
    window's edges from the facts (quarter sums)."""
    h = report_heat_sums.c
    cut = rollups.cut(query.start, query.end, rollups.DAY_S)
    starts: dict[int, int] = {}
    occupied: dict[int, int] = {}
    quarters: dict[str, QuarterSums] = {}
    if cut.whole:
        total = func.sum if postgresql else func.evbill_sum
        statement = (
            select(h.hour, total(h.starts), total(h.seconds))
            .where(
                h.operator_id == operator_id,
                *cut.bucket_conditions(h.day),
                *_filters(report_heat_sums, query),
            )
            .group_by(h.hour)
        )
        for hour, count, seconds in connection.execute(statement):
            if int(count):
                starts[int(hour)] = int(count)
            occupied[int(hour)] = int(seconds)
    if cut.edges:
        edge_starts, quarters = _fact_heatmap(
            connection, _fact_filters(operator_id, query, rollups.edge_condition(cut.edges)), postgresql
        )
        for hour, count in edge_starts.items():
            starts[hour] = starts.get(hour, 0) + count
    return starts, quarters, occupied


def _fact_heatmap(
    connection: Connection, where: list[ColumnElement[bool]], postgresql: bool
) -> tuple[dict[int, int], dict[str, QuarterSums]]:
    """Starts per local hour of the week; per zone and UTC quarter, starts and ends (count, sum).

    PostgreSQL reads the table once for the three (GROUPING SETS); SQLite, which has none, three times."""
    f = session_report_facts.c
    # integer division on both dialects (bigint / integer): the seconds are whole and positive
    start_q = f.start_s.op("/")(literal(QUARTER_S))
    end_q = f.end_s.op("/")(literal(QUARTER_S))
    starts: dict[int, int] = {}
    quarters: dict[str, QuarterSums] = {}
    if postgresql:
        statement = (
            select(
                f.local_hour,
                f.zone,
                start_q.label("start_q"),
                end_q.label("end_q"),
                func.count(),
                func.sum(f.start_s),
                func.sum(f.end_s),
            )  # fmt: skip
            .where(*where)
            .group_by(
                func.grouping_sets(tuple_(f.local_hour), tuple_(f.zone, start_q), tuple_(f.zone, end_q))
            )
        )
        for hour, zone, start, end, count, start_sum, end_sum in connection.execute(statement):
            if hour is not None:
                starts[int(hour)] = int(count)
            elif start is not None:
                quarters.setdefault(zone, QuarterSums()).starts[int(start)] = (int(count), int(start_sum))
            else:
                quarters.setdefault(zone, QuarterSums()).ends[int(end)] = (int(count), int(end_sum))
        return starts, quarters
    hours = select(f.local_hour, func.count()).where(*where).group_by(f.local_hour)
    starts = {int(hour): int(count) for hour, count in connection.execute(hours)}
    for column, quarter, attribute in ((f.start_s, start_q, "starts"), (f.end_s, end_q, "ends")):
        statement = (
            select(f.zone, quarter, func.count(), func.evbill_sum(column))
            .where(*where)
            .group_by(f.zone, quarter)
        )
        for zone, index, count, summed in connection.execute(statement):
            getattr(quarters.setdefault(zone, QuarterSums()), attribute)[int(index)] = (
                int(count),
                int(summed),
            )
    return starts, quarters
