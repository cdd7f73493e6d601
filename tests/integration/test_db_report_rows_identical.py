"""Every row of a report is built as before, to the digit: the lean construction (PostgreSQL's exact
numeric sums kept as the driver gives them, the totals of a report by customer read from the
all-sessions rollup) against the former one (every sum made an ``int`` first, the totals added up from
the groups), on the generated network of ``test_db_report_facts``, on SQLite and PostgreSQL.

Equality of Decimals ignores their exponent (``Decimal("1.0") == Decimal("1.00")``): here each Decimal
must have the same sign, digits and exponent, and every other value the same type and value."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from evbill.application.analytics.reports import usage_report
from evbill.application.ports import UnitOfWorkFactory
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.analytics.reports import Report
from evbill.domain.analytics.rollup import GroupSums, report_of
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
    uow_factory: UnitOfWorkFactory, operator_id: str, query: SessionFilter, group_by: GroupBy, limit: int | None
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
            None, currency, sum(group.sessions for group in members),
            tuple(map(sum, zip(*(group.sums for group in members), strict=True))),
            tuple(map(any, zip(*(group.present for group in members), strict=True))),
            total.customers, total.new_customers,
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
