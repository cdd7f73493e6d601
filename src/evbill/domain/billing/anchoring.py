"""Billing cycles anchored to the contract: which days a cycle may start on, so no two cycles overlap.

A contract's cycles follow from its start (a local date) and its billing cycle; nobody picks a cycle
start freely, so the same day, fee or one-off service can never be billed by two cycles.

* MONTHLY: from the contract's start day of month to the same day next month. A contract starting
  on the 29th to 31st is anchored on the 28th (every month has one), and its first cycle counts
  only the days the contract covers.
* WEEKLY: every seven days from the contract's start date.
* PER_SESSION: one day each, from the start date.

    >>> anchor = date(2026, 1, 17)
    >>> cycle_of(anchor, BillingCycle.MONTHLY, date(2026, 11, 20))
    (datetime.date(2026, 11, 17), datetime.date(2026, 12, 17))
    >>> cycle_of(anchor, BillingCycle.WEEKLY, date(2026, 1, 30))
    (datetime.date(2026, 1, 24), datetime.date(2026, 1, 31))
    >>> cycles_starting_in(date(2026, 1, 1), BillingCycle.MONTHLY, date(2026, 10, 1), date(2026, 11, 1))
    [datetime.date(2026, 10, 1)]
"""

from __future__ import annotations

from datetime import date, timedelta

from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.offers.plans import BillingCycle

LAST_COMMON_DAY = 28  # the last day of month every month has


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, LAST_COMMON_DAY))


def _add_months(day: date, months: int, anchor_day: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return _month_day(index // 12, index % 12 + 1, anchor_day)


def cycle_of(anchor: date, cycle: BillingCycle, day: date) -> tuple[date, date]:
    """The cycle (start, exclusive end) of a contract anchored on ``anchor`` that contains ``day``."""
    if cycle is BillingCycle.MONTHLY:
        start = _month_day(day.year, day.month, anchor.day)
        if start > day:
            start = _add_months(start, -1, anchor.day)
        return start, _add_months(start, 1, anchor.day)
    length = 7 if cycle is BillingCycle.WEEKLY else 1
    offset = (day - anchor).days % length
    start = day - timedelta(days=offset)
    return start, start + timedelta(days=length)


def first_cycle_start(anchor: date, cycle: BillingCycle) -> date:
    return cycle_of(anchor, cycle, anchor)[0]


def check_cycle_start(anchor: date, cycle: BillingCycle, start: date) -> date:
    """The cycle's end if ``start`` is one of the contract's cycle starts; else InvalidInput naming the
    cycle that contains the day asked for."""
    first = first_cycle_start(anchor, cycle)
    expected, end = cycle_of(anchor, cycle, start)
    if start < first:
        raise InvalidInput(
            "cannot bill",
            (
                Problem(
                    "$.cycle_start", f"the contract's first cycle starts on {first}; {start} is before it"
                ),
            ),
        )
    if expected != start:
        raise InvalidInput(
            "cannot bill",
            (
                Problem(
                    "$.cycle_start",
                    f"{start} is not a cycle start of this contract ({cycle.value.lower()} cycles anchored "
                    f"on {anchor}); the cycle containing it runs {expected} to {end} (exclusive)",
                ),
            ),
        )
    return end


def cycles_starting_in(anchor: date, cycle: BillingCycle, period_start: date, period_end: date) -> list[date]:
    """Every cycle start of the contract in [period_start, period_end), none before its first cycle."""
    starts = []
    day = max(period_start, first_cycle_start(anchor, cycle))
    start, end = cycle_of(anchor, cycle, day)
    if start < day:
        start = end
    while start < period_end:
        starts.append(start)
        start = cycle_of(anchor, cycle, start)[1]
    return starts
