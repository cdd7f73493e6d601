"""Booked revenue: what the ledger's revenue and VAT accounts were credited, per calendar period.

The session report (``reports``) sums what finished sessions were priced at. Booked revenue is what
the issued documents posted: every invoice, receipt, credit note and void credits (or debits back)
``revenue:<kind>`` in settled minor units and ``vat_payable:<rate>`` with its VAT. So it holds what
no session carries: plan fees (``subscriptions``), discounts and allowances, the document's own
rounding, and corrections, each in the period the ledger posted it (a credit note issued in
December takes from December, not from the month it corrects).

A period is a local calendar day, ISO week or month in the operator's time zone; the first and last
are cut to the window. Net revenue of a kind is the credit balance of its account over the period's
postings, VAT the credit balance of every ``vat_payable`` account, gross their sum:

    >>> from datetime import UTC, date
    >>> from zoneinfo import ZoneInfo
    >>> amsterdam = ZoneInfo("Europe/Amsterdam")
    >>> periods = calendar_periods(date(2026, 11, 30), date(2026, 12, 2), Period.MONTH, amsterdam)
    >>> [(p.key, f"{p.starts:%m-%d %H:%M}", f"{p.ends:%m-%d %H:%M}") for p in periods]
    [('2026-11', '11-29 23:00', '11-30 23:00'), ('2026-12', '11-30 23:00', '12-01 23:00')]
    >>> report = booked_report(periods, [
    ...     PeriodSum(0, "revenue:energy", "EUR", -1000), PeriodSum(0, "vat_payable:21", "EUR", -210),
    ...     PeriodSum(1, "revenue:energy", "EUR", 400), PeriodSum(1, "vat_payable:21", "EUR", 84)])
    >>> [(row.key, row.net_minor, row.vat_minor, row.gross_minor) for row in (*report.rows, *report.totals)]
    [('2026-11', 1000, 210, 1210), ('2026-12', -400, -84, -484), ('total', 600, 126, 726)]
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from evbill.domain import currency as currencies
from evbill.domain.ledger.accounts import RevenueKind
from evbill.domain.ledger.balances import QUARTER_SUMMED_PREFIXES, REVENUE_PREFIX, VAT_PREFIX, PeriodSum

TOTAL_KEY = "total"
# the accounts booked revenue reads (``LedgerRepository.period_sums``' prefixes): those the ledger
# keeps summed per quarter hour (``domain.ledger.balances``)
ACCOUNT_PREFIXES = QUARTER_SUMMED_PREFIXES
KINDS = tuple(kind.value for kind in RevenueKind)


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO 8601: Monday to Sunday, keyed by the ISO year and week (2026-W49)
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class CalendarPeriod:
    key: str  # 2026-12-01, 2026-W49, 2026-12
    starts: datetime  # aware UTC: the local midnight it begins at (included)
    ends: datetime  # aware UTC: the local midnight of the next period (excluded)


def _first_day(day: date, period: Period) -> date:
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day


def _next_first_day(day: date, period: Period) -> date:
    first = _first_day(day, period)
    if period is Period.DAY:
        return first + timedelta(days=1)
    if period is Period.WEEK:
        return first + timedelta(days=7)
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def period_key(day: date, period: Period) -> str:
    if period is Period.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if period is Period.MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The instant (aware UTC) the local day begins in ``zone``."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


def calendar_periods(first: date, end: date, period: Period, zone: tzinfo) -> list[CalendarPeriod]:
    """The periods that cover the local days [first, end) in ``zone``, in order; the first and the
    last cut to those days. Each boundary is computed once, so the periods meet without gap."""
    found: list[CalendarPeriod] = []
    day = first
    starts = local_midnight(day, zone)
    while day < end:
        following = min(_next_first_day(day, period), end)
        ends = local_midnight(following, zone)
        found.append(CalendarPeriod(period_key(day, period), starts, ends))
        day, starts = following, ends
    return found


@dataclass(frozen=True, slots=True)
class BookedRow:
    """A period's (or the totals') booked revenue in one currency, in minor units, credit positive."""

    key: str
    currency: str
    revenue_minor: Mapping[str, int] = field(default_factory=dict)  # net by revenue kind
    vat_by_rate_minor: Mapping[str, int] = field(default_factory=dict)  # VAT by rate in percent

    @property
    def net_minor(self) -> int:
        return sum(self.revenue_minor.values())

    @property
    def vat_minor(self) -> int:
        return sum(self.vat_by_rate_minor.values())

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.vat_minor


@dataclass(frozen=True, slots=True)
class BookedReport:
    rows: tuple[BookedRow, ...]  # by period, then currency
    totals: tuple[BookedRow, ...]  # one per currency
    kinds: tuple[str, ...]  # every revenue kind, the chart's first, then any other the ledger holds


def booked_report(periods: Sequence[CalendarPeriod], sums: Iterable[PeriodSum]) -> BookedReport:
    """The rows of the periods that have postings, and the totals per currency, from the ledger's
    sums of ``revenue:`` and ``vat_payable:`` postings per period (``PeriodSum.period`` indexes
    ``periods``). Credits are negative in the ledger: they are turned positive here."""
    revenue: dict[tuple[int, str], dict[str, int]] = {}
    vat: dict[tuple[int, str], dict[str, int]] = {}
    kinds = dict.fromkeys(KINDS)
    for found in sums:
        place = (found.period, found.currency)
        revenue.setdefault(place, {})
        vat.setdefault(place, {})
        if found.account.startswith(REVENUE_PREFIX):
            kind = found.account.removeprefix(REVENUE_PREFIX)
            kinds.setdefault(kind)
            revenue[place][kind] = revenue[place].get(kind, 0) - found.amount
        elif found.account.startswith(VAT_PREFIX):
            rate = found.account.removeprefix(VAT_PREFIX)
            vat[place][rate] = vat[place].get(rate, 0) - found.amount
    rows = tuple(
        BookedRow(periods[index].key, currency, revenue[index, currency], vat[index, currency])
        for index, currency in sorted(revenue)
    )
    return BookedReport(rows, _totals(rows), tuple(kinds))


def _totals(rows: Sequence[BookedRow]) -> tuple[BookedRow, ...]:
    revenue: dict[str, dict[str, int]] = {}
    vat: dict[str, dict[str, int]] = {}
    for row in rows:
        for into, parts in ((revenue, row.revenue_minor), (vat, row.vat_by_rate_minor)):
            summed = into.setdefault(row.currency, {})
            for name, amount in parts.items():
                summed[name] = summed.get(name, 0) + amount
    return tuple(
        BookedRow(TOTAL_KEY, currency, revenue[currency], vat[currency]) for currency in sorted(revenue)
    )


def columns(kinds: Sequence[str]) -> tuple[str, ...]:
    """The flat columns of a shown row (the CLI's table and CSV): ``vat_by_rate`` is JSON's only."""
    return ("key", "currency", *(f"{kind}_net" for kind in kinds), "net", "vat", "gross")


def _money(minor: int, currency: str) -> str:
    return format(Decimal(minor).scaleb(-currencies.exponent(currency)), "f")


def row_text(row: BookedRow, kinds: Sequence[str]) -> dict[str, object]:
    """A row's amounts as decimal strings in its currency's decimals (exact: nothing is rounded)."""
    shown: dict[str, object] = {"key": row.key, "currency": row.currency}
    for kind in kinds:
        shown[f"{kind}_net"] = _money(row.revenue_minor.get(kind, 0), row.currency)
    shown["net"] = _money(row.net_minor, row.currency)
    shown["vat"] = _money(row.vat_minor, row.currency)
    shown["gross"] = _money(row.gross_minor, row.currency)
    shown["vat_by_rate"] = {
        rate: _money(amount, row.currency)
        for rate, amount in sorted(row.vat_by_rate_minor.items(), key=lambda item: _rate_order(item[0]))
    }
    return shown


def _rate_order(rate: str) -> tuple[Decimal, str]:
    """Rates in numeric order (5.5 before 21); a qualifier that is not a number after them."""
    try:
        number = Decimal(rate)
    except ArithmeticError:
        number = Decimal("Infinity")
    return (number if number.is_finite() else Decimal("Infinity")), rate


def booked_text(report: BookedReport) -> dict[str, object]:
    return {
        "kinds": list(report.kinds),
        "rows": [row_text(row, report.kinds) for row in report.rows],
        "totals": [row_text(row, report.kinds) for row in report.totals],
    }
