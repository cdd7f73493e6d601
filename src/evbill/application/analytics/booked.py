"""Booked revenue: the ledger's revenue and VAT by calendar period (``domain.analytics.booked``).

    shown_booked_revenue(services, actor, first=date(2026, 11, 1), end=date(2026, 12, 1),
                         period=Period.MONTH)

The window [first, end) and the periods are local days in the operator's time zone: its invoicing
profile's, the zone its documents are dated and numbered in (UTC without a profile), so an invoice
issued on 1 December local time is December's even when it is still 30 November in UTC. The report
reads only the entries between the first and the last posted in the window; without a window, the
whole ledger (as the trial balance does), and then its totals are the trial balance's revenue and VAT
accounts exactly.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from evbill.application.ports import UnitOfWork
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.analytics.booked import (
    ACCOUNT_PREFIXES,
    BookedReport,
    Period,
    booked_report,
    booked_text,
    calendar_periods,
    local_midnight,
)
from evbill.domain.errors import InvalidInput, Problem

EARLIEST = date(1970, 1, 1)
LATEST = date(9000, 1, 1)


def _checked(first: date | None, end: date | None) -> None:
    problems = [
        Problem(f"query.{name}", f"must be between {EARLIEST} and {LATEST}")
        for name, day in (("from", first), ("to", end))
        if day is not None and not EARLIEST <= day <= LATEST
    ]
    if not problems and first is not None and end is not None and end <= first:
        problems.append(Problem("query.to", "must be after from"))
    if problems:
        raise InvalidInput("the request is invalid", tuple(problems))


def operator_zone(uow: UnitOfWork, operator_id: str) -> ZoneInfo:
    """The zone the operator's documents are dated in: its invoicing profile's (UTC without one)."""
    profile = uow.invoices.profile(operator_id)
    return ZoneInfo(profile.time_zone if profile is not None else "UTC")


def booked_revenue(
    services: Services, actor: Actor, *, first: date | None, end: date | None, period: Period
) -> tuple[BookedReport, ZoneInfo]:
    """Net revenue by kind, VAT and gross per period and currency, from the ledger's postings, and
    the zone its periods are in."""
    require(actor, Permission.READ)
    _checked(first, end)
    with services.uow(read_only=True) as uow:
        zone = operator_zone(uow, actor.operator_id)
        span = uow.ledger.posted_span(
            actor.operator_id,
            since=None if first is None else local_midnight(first, zone),
            until=None if end is None else local_midnight(end, zone),
        )
        if span is None:
            return booked_report([], []), zone
        # the window cut to the days that have entries: a window of a century costs what its data does
        earliest, latest = (moment.astimezone(zone).date() for moment in span)
        days_from = earliest if first is None else max(first, earliest)
        days_to = latest + timedelta(days=1) if end is None else min(end, latest + timedelta(days=1))
        periods = calendar_periods(days_from, days_to, period, zone)
        sums = uow.ledger.period_sums(
            actor.operator_id,
            [(found.starts, found.ends) for found in periods],
            account_prefixes=ACCOUNT_PREFIXES,
        )
    return booked_report(periods, sums), zone


def shown_booked_revenue(
    services: Services, actor: Actor, *, first: date | None, end: date | None, period: Period
) -> dict[str, object]:
    """The report as the API and CLI show it: amounts as decimal strings in the currency's decimals."""
    report, zone = booked_revenue(services, actor, first=first, end=end, period=period)
    return {
        "group_by": period.value,
        "from": None if first is None else first.isoformat(),
        "to": None if end is None else end.isoformat(),
        "time_zone": zone.key,
        **booked_text(report),
    }
