"""Ledger sums per calendar period, summed in the database: booked revenue's one read.

From the rollup (``ledger_period_sums``, migration 0033), when it can answer: every account asked for
is among those it sums (``QUARTER_SUMMED_PREFIXES``) and every period bound is a whole quarter hour
(any local midnight of today's zones). Each period is then a range of quarters [start // 900,
end // 900), a derived table of (index, first, end) integers joined to the rollup by its primary key's
range (operator, quarter): a year of months reads ~35,000 rows per account, not a million postings.

Otherwise (a historical zone's odd offset, an account the rollup does not hold), from the postings:
the periods (local days, weeks or months, computed by the caller in the operator's zone) are a small
derived table of (index, start, end) instants; each is joined to the entries posted in it by the
``ix_ledger_entries_posted`` range (operator, posted_at), and those entries to their postings by
``ix_ledger_postings_entry``. The sums are exact integers (``SUM`` of BIGINT minor units): a month's
report reads that month's entries, never the operator's whole journal, and no row comes into Python
but one per period, account and currency.

SQLite allows at most 500 terms in a compound SELECT (and, in old builds, 999 bound values), so the
periods go in chunks of ``CHUNK``: a year of days is two statements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)

from evbill.adapters.db.ledger.tables import ledger_entries, ledger_period_sums, ledger_postings
from evbill.adapters.db.repositories import ConnectionSource
from evbill.adapters.db.types import UtcDateTime
from evbill.domain.ledger.balances import QUARTER, QUARTER_SUMMED_PREFIXES, PeriodSum, quarter_of

CHUNK = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(moment: datetime) -> object:
    # typed and cast, so the moment is bound as stored (SQLite keeps it as text) and PostgreSQL
    # reads the derived table's columns as timestamps, not as the text of unknown literals
    return cast(literal(moment, UtcDateTime()), UtcDateTime())


def _bounds(
    periods: Sequence[tuple[datetime, datetime]], offset: int
) -> Select[tuple[int, datetime, datetime]]:
    rows = [
        select(
            literal_column(str(offset + number)).label("period"),  # our own int: no bound value
            _instant(starts).label("starts"),  # type: ignore[attr-defined]
            _instant(ends).label("ends"),  # type: ignore[attr-defined]
        )
        for number, (starts, ends) in enumerate(periods)
    ]
    return rows[0] if len(rows) == 1 else union_all(*rows)  # type: ignore[return-value]


def _quarter_bounds(periods: Sequence[tuple[int, int]], offset: int) -> Select[tuple[int, int, int]]:
    rows = [
        select(  # our own ints, as literals: no bound value (SQLite's limits), typed by PostgreSQL
            literal_column(str(offset + number)).label("period"),
            literal_column(str(first)).label("first"),
            literal_column(str(end)).label("ends"),
        )
        for number, (first, end) in enumerate(periods)
    ]
    return rows[0] if len(rows) == 1 else union_all(*rows)  # type: ignore[return-value]


def quarter_ranges(periods: Sequence[tuple[datetime, datetime]]) -> list[tuple[int, int]] | None:
    """Each period as the quarters [first, end) it covers, or None if a bound is not a whole quarter."""
    if any((moment - _EPOCH) % QUARTER for period in periods for moment in period):
        return None
    return [(quarter_of(starts), quarter_of(ends)) for starts, ends in periods]


def summed_by_quarter(account_prefixes: tuple[str, ...]) -> bool:
    """Whether ``ledger_period_sums`` holds every account with one of these prefixes."""
    return all(prefix.startswith(QUARTER_SUMMED_PREFIXES) for prefix in account_prefixes)


def _summed(
    connection: Connection, periods: Sequence[Any], statement_of: Callable[[Sequence[Any], int], Select[Any]]
) -> list[PeriodSum]:
    """Run ``statement_of(chunk, offset)`` (period index, account, currency, sum) for the periods a
    ``CHUNK`` at a time, and gather its rows."""
    found: list[PeriodSum] = []
    for offset in range(0, len(periods), CHUNK):
        rows = connection.execute(statement_of(periods[offset : offset + CHUNK], offset))
        found.extend(
            PeriodSum(int(period), account, currency, int(total)) for period, account, currency, total in rows
        )
    return found


def _accounts(column: Any, account_prefixes: tuple[str, ...]) -> ColumnElement[bool]:
    return or_(*(column.startswith(prefix, autoescape=True) for prefix in account_prefixes))


def rollup_period_sums(
    connection: Connection,
    operator_id: str,
    periods: Sequence[tuple[int, int]],
    account_prefixes: tuple[str, ...],
) -> list[PeriodSum]:
    r = ledger_period_sums.c

    def statement(chunk: Sequence[tuple[int, int]], offset: int) -> Select[Any]:
        bounds = _quarter_bounds(chunk, offset).subquery("periods")
        within = and_(
            r.operator_id == operator_id,
            r.quarter >= bounds.c.first,
            r.quarter < bounds.c.ends,
            # the chunk's whole span as plain bounds too: an index range whatever join is planned
            r.quarter >= min(first for first, _ in chunk),
            r.quarter < max(end for _, end in chunk),
        )
        return (
            select(bounds.c.period, r.account, r.currency, func.sum(r.amount))
            .select_from(bounds.join(ledger_period_sums, within))
            .where(_accounts(r.account, account_prefixes))
            .group_by(bounds.c.period, r.account, r.currency)
        )

    return _summed(connection, periods, statement)


def period_sums(
    connection: Connection,
    operator_id: str,
    periods: Sequence[tuple[datetime, datetime]],
    account_prefixes: tuple[str, ...],
) -> list[PeriodSum]:
    ranges = quarter_ranges(periods) if summed_by_quarter(account_prefixes) else None
    if ranges is not None:
        return rollup_period_sums(connection, operator_id, ranges, account_prefixes)
    return posting_period_sums(connection, operator_id, periods, account_prefixes)


def posting_period_sums(
    connection: Connection,
    operator_id: str,
    periods: Sequence[tuple[datetime, datetime]],
    account_prefixes: tuple[str, ...],
) -> list[PeriodSum]:
    e, p = ledger_entries.c, ledger_postings.c

    def statement(chunk: Sequence[tuple[datetime, datetime]], offset: int) -> Select[Any]:
        bounds = _bounds(chunk, offset).subquery("periods")
        posted_in = and_(
            e.operator_id == operator_id,
            e.posted_at >= bounds.c.starts,
            e.posted_at < bounds.c.ends,
            # the chunk's whole span as plain bounds too: an index range whatever join is planned
            e.posted_at >= chunk[0][0],
            e.posted_at < chunk[-1][1],
        )
        return (
            select(bounds.c.period, p.account, p.currency, func.sum(p.amount))
            .select_from(
                bounds.join(ledger_entries, posted_in).join(
                    ledger_postings, and_(p.operator_id == e.operator_id, p.entry_id == e.id)
                )
            )
            .where(_accounts(p.account, account_prefixes))
            .group_by(bounds.c.period, p.account, p.currency)
        )

    return _summed(connection, periods, statement)


def posted_span(
    connection: Connection, operator_id: str, since: datetime | None, until: datetime | None
) -> tuple[datetime, datetime] | None:
    """The first and last ``posted_at`` in the window: two index probes (ordered, LIMIT 1), which
    SQLite, unlike a query of both min() and max(), answers without a scan."""
    e = ledger_entries.c
    where = [e.operator_id == operator_id]
    if since is not None:
        where.append(e.posted_at >= since)
    if until is not None:
        where.append(e.posted_at < until)
    first = connection.execute(select(e.posted_at).where(*where).order_by(e.posted_at).limit(1)).scalar()
    if first is None:
        return None
    last = connection.execute(
        select(e.posted_at).where(*where).order_by(e.posted_at.desc()).limit(1)
    ).scalar()
    return first, last if last is not None else first


class SqlLedgerPeriods:
    _connection: ConnectionSource

    def posted_span(
        self, operator_id: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> tuple[datetime, datetime] | None:
        return posted_span(self._connection(), operator_id, since, until)

    def period_sums(
        self,
        operator_id: str,
        periods: Sequence[tuple[datetime, datetime]],
        *,
        account_prefixes: tuple[str, ...],
    ) -> Sequence[PeriodSum]:
        if not periods or not account_prefixes:
            return []
        return period_sums(self._connection(), operator_id, periods, account_prefixes)
