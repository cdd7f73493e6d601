"""The ledger's core: the chart of accounts, balanced entries, the trial balance."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evbill.domain.errors import InvalidInput
from evbill.domain.ledger import accounts
from evbill.domain.ledger.accounts import AccountKind, RevenueKind, parse_account
from evbill.domain.ledger.balances import trial_balance, trial_balance_totals
from evbill.domain.ledger.entries import EntryCause, Posting, UnbalancedEntry, credit, debit, make_entry

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def entry(*postings: Posting):
    return make_entry(
        entry_id="e-1",
        operator_id="op-1",
        posted_at=AT,
        cause=EntryCause.ADJUSTMENT,
        reference="r-1",
        description="test",
        postings=postings,
    )


def test_the_chart_names_every_account_the_issue_asks_for():
    assert accounts.receivable("cus-1").code == "receivable:cus-1"
    assert [accounts.revenue(kind).code for kind in RevenueKind] == [
        "revenue:energy",
        "revenue:time",
        "revenue:idle",
        "revenue:fees",
        "revenue:subscriptions",
    ]
    assert accounts.vat_payable(Decimal("21.00")).code == "vat_payable:21"
    assert accounts.vat_payable(Decimal("5.5")).code == "vat_payable:5.5"
    assert accounts.gateway_clearing("sandbox").code == "gateway_clearing:sandbox"
    assert accounts.wallet("w-1").kind is AccountKind.LIABILITY
    assert [a.code for a in (accounts.BANK, accounts.DEFERRED_REVENUE, accounts.REFUNDS)] == [
        "bank",
        "deferred_revenue",
        "refunds",
    ]
    assert [a.code for a in (accounts.CHARGEBACK_LOSSES, accounts.GATEWAY_FEES, accounts.WRITE_OFFS)] == [
        "chargeback_losses",
        "gateway_fees",
        "write_offs",
    ]


@pytest.mark.parametrize("code", ["cash", "receivable", "bank:extra", "revenue:beer", "wallet:"])
def test_an_account_outside_the_chart_is_refused(code):
    with pytest.raises(InvalidInput):
        parse_account(code)


def test_a_balanced_entry_is_accepted_with_exact_minor_units():
    # given a capture of 12.34 EUR with a 0.29 EUR gateway fee
    made = entry(
        debit(accounts.gateway_clearing("sandbox"), 1234, "EUR"),
        credit(accounts.receivable("cus-1"), 1234, "EUR"),
        debit(accounts.GATEWAY_FEES, 29, "EUR"),
        credit(accounts.gateway_clearing("sandbox"), 29, "EUR"),
    )

    assert [(p.account, p.amount) for p in made.postings] == [
        ("gateway_clearing:sandbox", 1234),
        ("receivable:cus-1", -1234),
        ("gateway_fees", 29),
        ("gateway_clearing:sandbox", -29),
    ]
    assert trial_balance(made.postings) == {
        ("gateway_clearing:sandbox", "EUR"): 1205,
        ("gateway_fees", "EUR"): 29,
        ("receivable:cus-1", "EUR"): -1234,
    }


def test_an_entry_off_by_one_cent_is_refused_naming_the_currency_and_the_difference():
    with pytest.raises(UnbalancedEntry) as refused:
        entry(debit(accounts.BANK, 1000, "EUR"), credit(accounts.receivable("c"), 999, "EUR"))

    assert [str(problem) for problem in refused.value.problems] == [
        "error: $.postings: EUR postings sum to 1, not 0"
    ]


def test_an_entry_must_balance_in_each_currency_separately():
    # 10.00 EUR against 10.00 USD sums to zero as numbers but balances in neither currency
    with pytest.raises(UnbalancedEntry) as refused:
        entry(debit(accounts.BANK, 1000, "EUR"), credit(accounts.receivable("c"), 1000, "USD"))

    assert [problem.message for problem in refused.value.problems] == [
        "EUR postings sum to 1000, not 0",
        "USD postings sum to -1000, not 0",
    ]


def test_every_problem_of_an_entry_is_listed():
    with pytest.raises(UnbalancedEntry) as refused:
        entry(Posting("cash", 0, "EURO"))

    assert [(p.path, p.message) for p in refused.value.problems] == [
        ("$.postings", "an entry needs at least two postings"),
        ("$.postings[0].account", "'cash' is not in the chart"),
        ("$.postings[0].amount", "must not be zero"),
        ("$.postings[0].currency", "'EURO' is not an ISO 4217 code"),
    ]


ACCOUNTS = st.sampled_from(
    [
        accounts.BANK,
        accounts.receivable("c1"),
        accounts.receivable("c2"),
        accounts.revenue(RevenueKind.ENERGY),
        accounts.vat_payable(Decimal("21")),
        accounts.wallet("w1"),
        accounts.gateway_clearing("sandbox"),
        accounts.REFUNDS,
    ]
)
CURRENCIES = st.sampled_from(["EUR", "USD", "JPY"])


@st.composite
def balanced_postings(draw: st.DrawFn) -> tuple[Posting, ...]:
    """Any number of debits, and credits that split their total in any way (per currency)."""
    postings: list[Posting] = []
    for currency in draw(st.lists(CURRENCIES, min_size=1, max_size=3, unique=True)):
        debits = draw(st.lists(st.integers(1, 10**12), min_size=1, max_size=4))
        postings += [debit(draw(ACCOUNTS), amount, currency) for amount in debits]
        remaining = sum(debits)
        for _ in range(draw(st.integers(0, 3))):
            if remaining < 2:
                break
            part = draw(st.integers(1, remaining - 1))
            postings.append(credit(draw(ACCOUNTS), part, currency))
            remaining -= part
        postings.append(credit(draw(ACCOUNTS), remaining, currency))
    return tuple(draw(st.permutations(postings)))


@given(st.lists(balanced_postings(), max_size=20))
def test_any_sequence_of_balanced_entries_keeps_the_trial_balance_at_zero_per_currency(entries):
    made = [entry(*postings) for postings in entries]

    totals = trial_balance_totals(trial_balance(p for e in made for p in e.postings))

    assert all(total == 0 for total in totals.values())


@given(balanced_postings(), st.integers(-(10**6), 10**6).filter(bool), CURRENCIES)
def test_any_entry_knocked_off_balance_is_refused(postings, error, currency):
    with pytest.raises(UnbalancedEntry):
        entry(*postings, Posting(accounts.BANK.code, error, currency))
