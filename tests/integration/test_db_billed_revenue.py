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

from evbill.adapters.db.charging.tables import charging_sessions
from evbill.adapters.db.engine import create_database_engine
from evbill.application.access.keys import platform_actor
from evbill.application.analytics.backtests import run_backtest
from evbill.application.analytics.reports import shown_report, usage_report
from evbill.application.demo import seed_demo
from evbill.application.tariffs.catalog import get_tariff, list_tariffs
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.analytics.facts import GroupBy, SessionFilter


def cents(minor: int) -> str:
    return format(Decimal(minor).scaleb(-2), "f")


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
