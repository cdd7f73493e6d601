"""A plan fee of another cycle than the contract's: a monthly fee billed weekly is prorated by the calendar.

The Commuter plan costs 9.99 a month; its contract is billed weekly (Monday to Sunday). Each weekly
bill charges the fee for its days, per calendar month: days in the week within the month / days in
the month x 9.99, rounded cumulatively (``fee_to_date(end) - fee_to_date(start)``), so a month's
days add up to 9.99 exactly, never 4.3 x 9.99.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from evbill.domain.billing.cycle import LineKind, bill_cycle, fee_to_date
from evbill.domain.offers.contracts import ContractTerms
from evbill.domain.offers.plans import BillingCycle, PlanKind
from tests.unit.test_billing import AMSTERDAM, at, contract, plan, terms

D = Decimal
COMMUTER = plan("Commuter", PlanKind.SUBSCRIPTION, (at(1, 0, month=10), {"fee": "9.99"}))


def weekly(the_terms: ContractTerms) -> ContractTerms:
    return replace(the_terms, billing_cycle=BillingCycle.WEEKLY)


def weekly_fee(start: date, *, contract_start: int = 1) -> list[Decimal]:
    """The plan fee lines of the weekly bill from ``start`` (a contract from October 1st)."""
    result = bill_cycle(
        contract=contract(at(contract_start, 0, month=10)), cycle_start=start,
        cycle_end=start + timedelta(days=7), zone=AMSTERDAM, currency="EUR",
        terms=[weekly(terms(1, COMMUTER[0].id, at(1, 0, month=10)))],
        plans={COMMUTER[0].id: COMMUTER[0]}, plan_versions={COMMUTER[0].id: COMMUTER[1]}, sessions=(),
    )  # fmt: skip
    return [line.excl_vat for line in result.lines if line.kind is LineKind.PLAN_FEE]


def test_a_week_inside_november_pays_7_of_30_days_of_the_monthly_fee() -> None:
    # the tester's week, 2026-11-08 to 11-14: 9.99 x 14/30 - 9.99 x 7/30 = 4.66 - 2.33 (rounded to date)
    assert weekly_fee(date(2026, 11, 8)) == [D("2.33")]
    # the next: 9.99 x 21/30 = 6.993 -> 6.99, less 4.66: 2.33; then 11-16: 9.99 x 15/30 = 4.995 -> 5.00
    assert weekly_fee(date(2026, 11, 15)) == [D("2.33")]
    assert weekly_fee(date(2026, 11, 9)) == [D("2.34")]  # 5.00 - 2.66: the cent held back before


def test_the_weeks_of_november_add_up_to_the_monthly_fee_exactly() -> None:
    # Given the weekly cycles that cover November 2026 (Mondays Oct 26 .. Nov 30)
    mondays = [date(2026, 10, 26) + timedelta(weeks=n) for n in range(6)]
    fees = {monday: weekly_fee(monday)[0] for monday in mondays}

    # Then each week pays its November days at 9.99 / 30 and its October / December days at 9.99 / 31,
    # cumulatively rounded: the fee to date at each Monday, differenced
    assert fees == {
        date(2026, 10, 26): D("2.26"),  # 6 days of October (1.93) + 1 of November (0.33)
        date(2026, 11, 2): D("2.33"),
        date(2026, 11, 9): D("2.34"),  # 9.99 x 15/30 = 4.995 -> 5.00, less 9.99 x 8/30 = 2.66
        date(2026, 11, 16): D("2.33"),
        date(2026, 11, 23): D("2.33"),
        date(2026, 11, 30): D("2.26"),  # 1 day of November (9.99 - 9.66) + 6 of December (9.99 x 6/31: 1.93)
    }
    # the November days of those weeks: 0.33 + 2.33 + 2.34 + 2.33 + 2.33 + 0.33 = 9.99
    assert D("0.33") + fees[date(2026, 11, 2)] + fees[date(2026, 11, 9)] + fees[date(2026, 11, 16)] + fees[
        date(2026, 11, 23)
    ] + D("0.33") == D("9.99")
    # And November's days over those weeks come to 9.99 exactly
    to_date = [
        fee_to_date(D("9.99"), BillingCycle.MONTHLY, day, 2) for day in (date(2026, 11, 1), date(2026, 12, 1))
    ]
    assert to_date[1] - to_date[0] == D("9.99")
    # And a whole year of weeks charges 12 x 9.99 for 2026's months (Jan 1 2026 .. Jan 1 2027)
    year = fee_to_date(D("9.99"), BillingCycle.MONTHLY, date(2027, 1, 1), 2) - fee_to_date(
        D("9.99"), BillingCycle.MONTHLY, date(2026, 1, 1), 2
    )
    assert year == D("119.88")


def test_a_week_spanning_two_months_pays_each_months_days_at_that_months_rate() -> None:
    # Thursday 2026-10-29 .. Wednesday 2026-11-04: 3 days of October (31 days), 4 of November (30)
    october = fee_to_date(D("9.99"), BillingCycle.MONTHLY, date(2026, 11, 1), 2) - fee_to_date(
        D("9.99"), BillingCycle.MONTHLY, date(2026, 10, 29), 2
    )
    assert october == D("0.97")  # 9.99 - round(9.99 x 28/31 = 9.0232) = 9.99 - 9.02
    assert weekly_fee(date(2026, 10, 29)) == [D("0.97") + D("1.33")]  # + round(9.99 x 4/30 = 1.332)


def test_a_week_over_the_dst_change_is_seven_days_like_any_other() -> None:
    # Europe/Amsterdam leaves summer time on 2026-10-25: the week of Monday 2026-10-19 has a 25-hour
    # day, still 7 days of October at 9.99 / 31
    assert weekly_fee(date(2026, 10, 19)) == [D("2.26")]  # round(9.99 x 25/31) - round(9.99 x 18/31)
    assert D("8.06") - D("5.80") == D("2.26")


def test_a_contract_starting_mid_week_pays_its_days_only() -> None:
    # the contract starts on Wednesday 2026-10-07 (a Monday-to-Sunday cycle of 2026-10-05): 5 days
    assert weekly_fee(date(2026, 10, 5), contract_start=7) == [D("1.61")]  # 9.99 x 11/31 - 9.99 x 6/31


@pytest.mark.parametrize("cycle", [BillingCycle.MONTHLY])
def test_a_fee_of_the_contracts_own_cycle_is_prorated_as_before(cycle: BillingCycle) -> None:
    result = bill_cycle(
        contract=contract(at(17, 15)), cycle_start=date(2026, 11, 1), cycle_end=date(2026, 12, 1),
        zone=AMSTERDAM, currency="EUR",
        terms=[replace(terms(1, COMMUTER[0].id, at(17, 15)), billing_cycle=cycle)],
        plans={COMMUTER[0].id: COMMUTER[0]}, plan_versions={COMMUTER[0].id: COMMUTER[1]}, sessions=(),
    )  # fmt: skip
    assert [line.excl_vat for line in result.lines if line.kind is LineKind.PLAN_FEE] == [D("4.6620000000")]


def test_a_weekly_fee_billed_monthly_pays_its_days_of_7() -> None:
    # 2.00 a week over November (30 days = 4 weeks and 2 days): 8.00 + round-off of 2/7 of a week
    weekly = D("2.00")
    start, end = date(2026, 11, 1), date(2026, 12, 1)
    amount = fee_to_date(weekly, BillingCycle.WEEKLY, end, 2) - fee_to_date(
        weekly, BillingCycle.WEEKLY, start, 2
    )
    assert amount == D("8.57")  # 30 / 7 x 2.00 = 8.5714..., rounded cumulatively
