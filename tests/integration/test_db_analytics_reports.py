"""Reports read from a real database (SQLite and PostgreSQL) equal the hand-computed figures."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from evbill.application.analytics.reports import peak_heatmap, usage_report
from evbill.application.ports import UnitOfWorkFactory
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.analytics.reports import summarise
from tests.integration.analytics_network import given_network
from tests.unit.analytics_data import FACTS, WINDOW_START

MARCH_APRIL = SessionFilter(start=WINDOW_START, end=datetime(2026, 5, 1, tzinfo=UTC))


def test_monthly_report_from_the_database_equals_the_hand_computed_one(
    database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    # Given the network stored, with C1's first session in January (outside the window)
    network = given_network(uow_factory)
    services = bootstrap(Settings(database_url=database_url)).services
    # When the March-April report is read by month
    report = usage_report(services, network.actor, query=MARCH_APRIL, group_by=GroupBy.MONTH)
    # Then every row equals the report of the facts: C1 returning (first seen in January), C2 new
    assert report == summarise(FACTS, GroupBy.MONTH, window_start=WINDOW_START)
    assert report.totals[0].revenue.gross == Decimal("26.12175")


def test_reports_group_by_plan_segment_and_filter_by_location(
    database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    network = given_network(uow_factory)
    services = bootstrap(Settings(database_url=database_url)).services
    by_plan = usage_report(services, network.actor, query=MARCH_APRIL, group_by=GroupBy.PLAN)
    assert {row.key: row.sessions for row in by_plan.rows} == {network.ids["P1"]: 2, "(none)": 2}
    by_segment = usage_report(services, network.actor, query=MARCH_APRIL, group_by=GroupBy.SEGMENT)
    assert {row.key: row.sessions for row in by_segment.rows} == {"INDIVIDUAL": 2, "BUSINESS": 1, "(none)": 1}
    l2 = SessionFilter(start=WINDOW_START, end=MARCH_APRIL.end, location_id=network.ids["L2"])
    (row,) = usage_report(services, network.actor, query=l2, group_by=GroupBy.TOTAL).rows
    assert (row.sessions, row.revenue.net, row.idle_s) == (2, Decimal("3.975"), 900)
    heat = peak_heatmap(services, network.actor, query=MARCH_APRIL)
    assert (heat.starts[0][9], heat.occupied_s[0][9]) == (1, 3600)
