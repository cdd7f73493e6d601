"""Every row of a report is built as before, to the digit: the lean construction (PostgreSQL's exact
numeric sums kept as the driver gives them, the totals of a report by customer read from the
all-sessions rollup) against the former one (every sum made an ``int`` first, the totals added up from
the groups), on the generated network of ``test_db_report_facts``, on SQLite and PostgreSQL.

Equality of Decimals ignores their exponent (``Decimal("1.0") == Decimal("1.00")``): here each Decimal
must have the same sign, digits and exponent, and every other value the same type and value."""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from evbill.adapters.db.analytics.tables import report_customer_totals, session_report_facts
from evbill.application.analytics.reports import reference_report, usage_report
from evbill.application.ports import UnitOfWorkFactory
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.analytics.reports import Report
from evbill.domain.analytics.rollup import MEASURES, PRESENCE, GroupSums, report_of
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from tests.integration.db_records import new_id
from tests.integration.test_db_report_facts import given_generated


def identical(new: object, old: object, where: str = "report") -> None:
    """``new`` and ``old`` alike to the digit: same types, Decimals with the same sign, digits and
    exponent, dataclasses field by field, dicts key by key in the same order."""
    assert type(new) is type(old), f"{where}: {type(new).__name__} != {type(old).__name__}"
    if isinstance(new, Decimal):
        assert isinstance(old, Decimal)
        assert new.as_tuple() == old.as_tuple(), f"{where}: {new!r} != {old!r}"
    elif is_dataclass(new):
        for item in fields(new):
            identical(getattr(new, item.name), getattr(old, item.name), f"{where}.{item.name}")
    elif isinstance(new, dict):
        assert isinstance(old, dict)
        assert list(new) == list(old), where
        for key, value in new.items():
            identical(value, old[key], f"{where}[{key}]")
    elif isinstance(new, tuple):
        assert isinstance(old, tuple)
        assert len(new) == len(old), where
        for number, (a, b) in enumerate(zip(new, old, strict=True)):
            identical(a, b, f"{where}[{number}]")
    else:
        assert new == old, f"{where}: {new!r} != {old!r}"


def as_before(group: GroupSums) -> GroupSums:
    """The group as the former construction made it: every sum an int, presence as bools."""
    return GroupSums(
        group.key, group.currency, int(group.sessions), tuple(int(value) for value in group.sums),
        tuple(bool(value) for value in group.present), group.customers, group.new_customers,
    )  # fmt: skip


def former_report(
    uow_factory: UnitOfWorkFactory,
    operator_id: str,
    query: SessionFilter,
    group_by: GroupBy,
    limit: int | None,
) -> Report:
    """The report the former way: int sums, and the totals per currency added up from every group."""
    with uow_factory() as uow:
        groups, totals, found = uow.analytics.report_sums(operator_id, query, group_by, limit=None)
    groups = [as_before(group) for group in groups]
    added: dict[str, list[GroupSums]] = {}
    for group in groups:
        added.setdefault(group.currency, []).append(group)
    summed = [
        GroupSums(
            None,
            currency,
            sum(group.sessions for group in members),
            tuple(map(sum, zip(*(group.sums for group in members), strict=True))),
            tuple(map(any, zip(*(group.present for group in members), strict=True))),
            total.customers,
            total.new_customers,
        )  # fmt: skip
        for total in totals
        for currency, members in added.items()
        if total.currency == currency
    ]
    if group_by is GroupBy.TOTAL:
        summed = groups
    assert found == len(groups)
    return report_of(group_by, groups, summed, limit=limit)


QUERIES = (
    SessionFilter(),
    SessionFilter(start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 11, 15, 7, tzinfo=UTC)),
    SessionFilter(start=datetime(2026, 6, 17, 13, 5, 7, tzinfo=UTC)),
)


@pytest.mark.parametrize("group_by", list(GroupBy))
def test_every_row_is_built_to_the_digit_as_before(
    database_url: str, uow_factory: UnitOfWorkFactory, group_by: GroupBy
) -> None:
    network = given_generated(uow_factory)
    services = bootstrap(Settings(database_url=database_url)).services
    usage_report(services, network.actor, query=SessionFilter(), group_by=group_by)  # the rollups built
    for query in QUERIES:
        for limit in (None, 7):
            new = usage_report(services, network.actor, query=query, group_by=group_by, limit=limit)
            old = former_report(uow_factory, network.operator_id, query, group_by, limit)
            assert new.rows, (query, limit)
            identical(new, old, f"{group_by.value} {query} limit {limit}")


def customer_totals_of_facts(engine: Engine, operator_id: str) -> tuple[list[tuple], list[tuple]]:
    """``report_customer_totals`` as stored, and as a GROUP BY of the facts would make it (sorted)."""
    t, f = report_customer_totals.c, session_report_facts.c
    names = ("sessions", *MEASURES)
    with engine.connect() as connection:
        stored = connection.execute(
            select(t.customer_id, t.currency, t.customer_first_at, *(t[name] for name in names),
                   *(t[name] for name in PRESENCE)).where(t.operator_id == operator_id)
        ).all()  # fmt: skip
        summed = connection.execute(
            select(f.customer_id, f.currency, func.max(f.customer_first_at), func.count(),
                   *(func.sum(f[name]) for name in MEASURES), *(func.sum(f[name]) for name in PRESENCE))
            .where(f.operator_id == operator_id, f.customer_id.is_not(None))
            .group_by(f.customer_id, f.currency)
        ).all()  # fmt: skip
    as_ints = sorted((row[0], row[1], row[2], *(int(value) for value in row[3:])) for row in stored)
    return as_ints, sorted((row[0], row[1], row[2], *(int(value) for value in row[3:])) for row in summed)


def test_the_per_customer_totals_follow_late_re_rated_and_dropped_sessions(
    database_url: str, database_engine: Engine, uow_factory: UnitOfWorkFactory
) -> None:
    # Given a report by customer made (the rollups built, the per-customer totals with them)
    network = given_generated(uow_factory, sessions=60)
    services = bootstrap(Settings(database_url=database_url)).services
    first_report = usage_report(services, network.actor, query=SessionFilter(), group_by=GroupBy.CUSTOMER)
    first_gross = {row.key: row.revenue.gross for row in first_report.rows}
    stored, summed = customer_totals_of_facts(database_engine, network.operator_id)
    assert stored == summed
    assert len(stored) > 5
    finished = [s for s in network.sessions if s.status is SessionStatus.COMPLETED and s.customer_id]
    by_customer: dict[str, list[ChargingSession]] = {}
    for session in finished:
        by_customer.setdefault(session.customer_id or "", []).append(session)
    late_for, dropped = sorted(by_customer)[:2]
    old = next(s for s in finished if s.parts and s.customer_id not in (late_for, dropped))
    rerated_for = old.customer_id or ""
    # When a session of one customer arrives late (before its first one), one of another is re-rated
    # (its amounts and price parts change) and every finished session of a third is marked invalid
    with uow_factory() as uow:
        first = min(s.started_at for s in network.sessions if s.customer_id == late_for)
        late = replace(by_customer[late_for][0], id=new_id(), started_at=first - timedelta(days=3),
                       ended_at=first - timedelta(days=3) + timedelta(hours=2))  # fmt: skip
        uow.sessions.add(late)
        parts = tuple(replace(part, excl_vat=part.excl_vat + Decimal("1.2345678901")) for part in old.parts)
        net = sum((part.excl_vat for part in parts), Decimal(0))
        gross = sum((part.excl_vat * (100 + (part.vat or 0)) / 100 for part in parts), Decimal(0))
        rerated = replace(
            old, parts=parts, total_excl_vat=net.quantize(Decimal("1e-10")),
            total_incl_vat=gross.quantize(Decimal("1e-10")), total_excl_vat_minor=int(net * 100),
            total_incl_vat_minor=int(gross * 100),
        )  # fmt: skip
        assert rerated.total_incl_vat != old.total_incl_vat
        uow.live_sessions.close(rerated, details={})
        for session in by_customer[dropped]:
            uow.live_sessions.close(replace(session, status=SessionStatus.INVALID), details={})
        uow.commit()
    # Then the next reports by customer (every row, the top rows) are the reference's, and the totals
    # are again the facts' sums: the dropped customer has none, the late one's first session moved
    reference = reference_report(services, network.actor, query=SessionFilter(), group_by=GroupBy.CUSTOMER)
    every = usage_report(services, network.actor, query=SessionFilter(), group_by=GroupBy.CUSTOMER)
    assert every == reference
    top = usage_report(services, network.actor, query=SessionFilter(), group_by=GroupBy.CUSTOMER, limit=3)
    assert top.rows == tuple(sorted(reference.rows, key=lambda row: (-row.revenue.gross, row.key))[:3])
    assert top.totals == reference.totals
    stored, summed = customer_totals_of_facts(database_engine, network.operator_id)
    assert stored == summed
    assert dropped not in {row[0] for row in stored}
    assert next(row[2] for row in stored if row[0] == late_for) == late.started_at
    gross = {row.key: row.revenue.gross for row in every.rows}
    assert gross[rerated_for] != first_gross[rerated_for]
    assert dropped not in gross
