"""Billed revenue: a backtest with the tariff actually used and the revenue report state the same
billed amount for the same sessions, to the cent, on the demo's data (SQLite and PostgreSQL).

"Billed" is what the sessions' receipts and invoice lines charged: each session's totals settled once,
as its document shows them (``charging_sessions.total_*_minor``). The report's revenue (the exact sum
of the sessions, rounded once for the row) can differ from it by a cent per few sessions; the report
states both (``billed_net`` / ``billed_gross`` beside ``net`` / ``gross``). The demo's sessions are drawn
at random (seeded by the operator's id), so the figures differ per run; the equalities do not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from evbill.adapters.db import migrate
from evbill.adapters.db.analytics.tables import report_rollup_state, session_report_facts
from evbill.adapters.db.charging.tables import charging_sessions
from evbill.adapters.db.engine import create_database_engine
from evbill.application.access.keys import platform_actor
from evbill.application.analytics.backtests import run_backtest
from evbill.application.analytics.reports import shown_report, usage_report
from evbill.application.demo import seed_demo
from evbill.application.ports import UnitOfWorkFactory
from evbill.application.tariffs.catalog import get_tariff, list_tariffs
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from tests.integration.analytics_network import given_network


def cents(minor: int) -> str:
    return format(Decimal(minor).scaleb(-2), "f")


MARCH_APRIL = SessionFilter(start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 5, 1, tzinfo=UTC))
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_a_backtest_with_the_tariff_used_and_the_report_state_the_same_billed_revenue(
    database_url: str,
) -> None:
    container = bootstrap(Settings(database_url=database_url))
    engine = create_database_engine(database_url)
    services = container.services
    amsterdam = seed_demo(services, now=NOW, sessions_per_evse=8)[0]
    actor = platform_actor(amsterdam.operator_id)
    tariffs = list_tariffs(services, actor, filters={}, cursor=None, limit=50).items
    assert len(tariffs) == 2  # time of use on AC, flat on DC
    for record in tariffs:
        query = SessionFilter(tariff_id=record.id)
        document = get_tariff(services, actor, record.id).current.document
        # When the tariff actually used is backtested over its sessions, and their report is read
        backtest = run_backtest(services, actor, candidate=document, query=query)
        (total,) = usage_report(services, actor, query=query, group_by=GroupBy.TOTAL).totals
        # Then the backtest gives back what was billed, the report states the same, and both are
        # the sum of what each session's document charged
        s = charging_sessions.c
        with engine.connect() as connection:
            stored = connection.execute(
                select(
                    func.count(), func.sum(s.total_excl_vat_minor), func.sum(s.total_incl_vat_minor)
                ).where(
                    s.operator_id == amsterdam.operator_id,
                    s.tariff_id == record.id,
                    s.total_incl_vat_minor.is_not(None),
                )  # fmt: skip
            ).one()
        assert backtest.left_out == {}
        assert (backtest.candidate_excl_minor, backtest.candidate_incl_minor) == (
            backtest.billed_excl_minor, backtest.billed_incl_minor,
        )  # fmt: skip
        assert (total.sessions, total.billed_net_minor, total.billed_gross_minor) == (
            backtest.sessions, backtest.billed_excl_minor, backtest.billed_incl_minor,
        )  # fmt: skip
        assert (total.sessions, total.billed_net_minor, total.billed_gross_minor) == tuple(map(int, stored))
        # and the text the API and CLI show says it in the same cents
        (shown,) = shown_report(services, actor, query=query, group_by=GroupBy.TOTAL)["totals"]  # type: ignore[misc]
        assert (shown["billed_net"], shown["billed_gross"]) == (cents(stored[1]), cents(stored[2]))
    engine.dispose()
    container.dispose()


def test_fact_rows_made_before_0026_get_their_sessions_billed_amounts_and_the_rollups_are_rebuilt(
    database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    # Given the hand-computed network's facts and rollups built by a report, then the database taken
    # back to 0025 (no billed columns) as it was before this change
    network = given_network(uow_factory)
    services = bootstrap(Settings(database_url=database_url)).services
    before = usage_report(services, network.actor, query=MARCH_APRIL, group_by=GroupBy.LOCATION)
    migrate.downgrade(database_url, "0025")
    # When it is migrated to the newest revision
    migrate.upgrade(database_url)
    # Then each fact row holds its session's billed amounts again, the rollups are built again by the
    # next report, and the report is the one before (A+B at L1, C+D at L2)
    engine = create_database_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(report_rollup_state)).scalar() == 0
        f = session_report_facts.c
        billed = connection.execute(
            select(func.sum(f.billed_net_minor), func.sum(f.billed_gross_minor)).where(
                f.operator_id == network.operator_id
            )
        ).one()
    engine.dispose()
    assert tuple(billed) == (2168 + 530, 2612 + 631)  # A B C D and C1's first session, like A, in January
    after = usage_report(services, network.actor, query=MARCH_APRIL, group_by=GroupBy.LOCATION)
    assert [(r.billed_net_minor, r.billed_gross_minor) for r in after.rows] == [(1770, 2131), (398, 481)]
    assert after == before  # the migration filled in what the refresh writes
