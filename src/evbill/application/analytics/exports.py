"""A report as a file for other tools (Parquet), with the same figures as the API, CLI and CSV."""

from __future__ import annotations

from collections.abc import Mapping

from evbill.application.analytics.ports import ReportFileWriter
from evbill.application.analytics.reports import shown_report
from evbill.application.records import Services
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.analytics.tables import COLUMNS

DEFAULT_PLACES = 2


def report_file(
    services: Services, actor: Actor, *, query: SessionFilter, group_by: GroupBy, writer: ReportFileWriter
) -> bytes:
    shown = shown_report(services, actor, query=query, group_by=group_by)
    return writer.report(shown, COLUMNS, money_places(shown))


def money_places(shown: Mapping[str, object]) -> int:
    """Enough decimal places for every currency in the report (2 when it is empty)."""
    rows: list[Mapping[str, str]] = [*shown["rows"], *shown["totals"]]  # type: ignore[misc]
    return max((currencies.exponent(row["currency"]) for row in rows), default=DEFAULT_PLACES)
