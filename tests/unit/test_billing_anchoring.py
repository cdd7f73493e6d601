"""Billing cycles are anchored to the contract: each day belongs to exactly one cycle.

Issue 12: 2026-11-01 and 2026-11-15 could both be billed as cycle starts, billing the same days and
the same one-off fee twice. A cycle start is now one of the contract's own.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evbill.domain.billing.anchoring import check_cycle_start, cycle_of, cycles_starting_in
from evbill.domain.errors import InvalidInput
from evbill.domain.offers.plans import BillingCycle


def test_a_monthly_contract_from_the_17th_bills_the_17th_to_the_17th():
    anchor = date(2026, 3, 17)

    assert check_cycle_start(anchor, BillingCycle.MONTHLY, date(2026, 11, 17)) == date(2026, 12, 17)
    assert cycles_starting_in(anchor, BillingCycle.MONTHLY, date(2026, 10, 1), date(2026, 11, 1)) == [
        date(2026, 10, 17)
    ]


def test_a_cycle_start_that_is_not_the_contracts_is_refused_naming_the_cycle_that_contains_it():
    with pytest.raises(InvalidInput) as refused:
        check_cycle_start(date(2026, 1, 1), BillingCycle.MONTHLY, date(2026, 11, 15))

    [problem] = refused.value.problems
    assert problem.path == "$.cycle_start"
    assert problem.message == (
        "2026-11-15 is not a cycle start of this contract (monthly cycles anchored on 2026-01-01); "
        "the cycle containing it runs 2026-11-01 to 2026-12-01 (exclusive)"
    )


def test_a_cycle_before_the_contracts_first_is_refused():
    with pytest.raises(InvalidInput, match="first cycle starts on 2026-05-01"):
        check_cycle_start(date(2026, 5, 1), BillingCycle.MONTHLY, date(2026, 4, 1))


def test_a_contract_from_the_31st_is_anchored_on_the_28th_and_its_first_cycle_holds_its_start():
    anchor = date(2026, 1, 31)

    assert cycle_of(anchor, BillingCycle.MONTHLY, anchor) == (date(2026, 1, 28), date(2026, 2, 28))
    assert cycle_of(anchor, BillingCycle.MONTHLY, date(2026, 12, 30)) == (
        date(2026, 12, 28),
        date(2027, 1, 28),
    )


@given(
    anchor=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
    cycle=st.sampled_from(list(BillingCycle)),
    offset=st.integers(min_value=0, max_value=800),
)
def test_consecutive_cycles_tile_the_calendar_without_gap_or_overlap(anchor, cycle, offset):
    day = anchor + timedelta(days=offset)
    start, end = cycle_of(anchor, cycle, day)

    assert start <= day < end
    assert cycle_of(anchor, cycle, end)[0] == end  # the next cycle starts where this one ends
    assert cycle_of(anchor, cycle, end - timedelta(days=1)) == (start, end)
