"""Booked revenue from the ledger, by hand (``tests.integration.booked_data``): a plan fee billed by the
billing run, session invoices, a partial credit note and a void in the next month; exact per local
month and kind, and equal to the trial balance's revenue and VAT accounts (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from evbill.application.analytics.booked import booked_revenue, shown_booked_revenue
from evbill.application.ledger import queries
from evbill.domain.analytics.booked import Period
from evbill.domain.errors import InvalidInput
from tests.integration.booked_data import Booked, given_booked_ledger

FIGURES = (
    "key",
    "energy_net",
    "time_net",
    "idle_net",
    "fees_net",
    "subscriptions_net",
    "net",
    "vat",
    "gross",
)


@pytest.fixture
def booked(database_url: str) -> Iterator[Booked]:
    made = given_booked_ledger(database_url)
    yield made
    made.container.dispose()


def _rows(
    booked: Booked, period: Period, first: date | None = None, end: date | None = None
) -> list[tuple[str, ...]]:
    shown = shown_booked_revenue(booked.services, booked.who, first=first, end=end, period=period)
    rows = [*shown["rows"], *shown["totals"]]  # type: ignore[misc]
    assert {row["currency"] for row in rows} <= {"EUR"}
    return [tuple(row[name] for name in FIGURES) for row in rows]


def test_booked_revenue_by_local_month_counts_the_plan_fee_and_each_correction_where_it_was_posted(
    booked: Booked,
) -> None:
    # When the whole ledger is reported by month
    shown = shown_booked_revenue(booked.services, booked.who, first=None, end=None, period=Period.MONTH)
    # Then November has the billing run's plan fee and the two invoices of November (local); December
    # the invoice of 1 December 00:30 local, the credit note on the plan fee and the void of S1
    assert (shown["time_zone"], shown["kinds"]) == (
        "Europe/Amsterdam", ["energy", "time", "idle", "fees", "subscriptions"],
    )  # fmt: skip
    assert _rows(booked, Period.MONTH) == [
        ("2026-11", "9.90", "2.50", "1.50", "0.35", "9.99", "24.24", "5.09", "29.33"),
        ("2026-12", "-1.00", "-2.50", "-1.50", "0.00", "-4.00", "-9.00", "-1.89", "-10.89"),
        ("total", "8.90", "0.00", "0.00", "0.35", "5.99", "15.24", "3.20", "18.44"),
    ]
    assert shown["totals"][0]["vat_by_rate"] == {"21": "3.20"}  # type: ignore[index]


def test_the_totals_are_the_trial_balances_revenue_and_vat_accounts_to_the_cent(booked: Booked) -> None:
    # Given the trial balance over the same entries (credit balances, turned positive)
    accounts = queries.trial_balance(booked.services, booked.who).accounts
    ledger = {b.account: -b.balance for b in accounts if b.account.startswith(("revenue:", "vat_payable:"))}
    assert ledger == {
        "revenue:energy": 890, "revenue:fees": 35, "revenue:idle": 0, "revenue:subscriptions": 599,
        "revenue:time": 0, "vat_payable:21": 320,
    }  # fmt: skip
    for period in Period:
        # When the whole ledger is reported by day, week and month
        report, _ = booked_revenue(booked.services, booked.who, first=None, end=None, period=period)
        (total,) = report.totals
        # Then the totals are those accounts, and the rows add up to them
        assert {f"revenue:{kind}": amount for kind, amount in total.revenue_minor.items()} == {
            account: amount for account, amount in ledger.items() if account.startswith("revenue:")
        }
        assert {f"vat_payable:{rate}": amount for rate, amount in total.vat_by_rate_minor.items()} == {
            "vat_payable:21": 320
        }
        assert (sum(row.net_minor for row in report.rows), sum(row.gross_minor for row in report.rows)) == (
            1524, 1844,
        )  # fmt: skip


def test_periods_are_local_days_and_iso_weeks_and_a_window_cuts_them(booked: Booked) -> None:
    # by day: the invoice of 30 November 23:30 UTC is 1 December's in Amsterdam
    assert [row[0] for row in _rows(booked, Period.DAY)] == [
        "2026-11-02", "2026-11-20", "2026-12-01", "2026-12-05", "2026-12-10", "total",
    ]  # fmt: skip
    # by ISO week: 1 December and 5 December are week 49 (5.00 invoiced, 4.00 credited)
    assert _rows(booked, Period.WEEK)[2] == (
        "2026-W49", "5.00", "0.00", "0.00", "0.00", "-4.00", "1.00", "0.21", "1.21",
    )  # fmt: skip
    # a window of December (local days, [from, to)): December alone, its totals December's
    december = _rows(booked, Period.MONTH, date(2026, 12, 1), date(2027, 1, 1))
    assert december == [
        ("2026-12", "-1.00", "-2.50", "-1.50", "0.00", "-4.00", "-9.00", "-1.89", "-10.89"),
        ("total", "-1.00", "-2.50", "-1.50", "0.00", "-4.00", "-9.00", "-1.89", "-10.89"),
    ]
    # a window from 21 November to 6 December by week: the week of 16 November is cut to its last days
    weeks = _rows(booked, Period.WEEK, date(2026, 11, 21), date(2026, 12, 6))
    assert [(row[0], row[-1]) for row in weeks] == [("2026-W49", "1.21"), ("total", "1.21")]
    # a window with no entry: no row and no total
    assert _rows(booked, Period.DAY, date(2027, 1, 1), date(2027, 2, 1)) == []


def test_a_window_that_ends_before_it_begins_is_refused_naming_the_parameter(booked: Booked) -> None:
    with pytest.raises(InvalidInput) as refused:
        booked_revenue(booked.services, booked.who, first=date(2026, 12, 1), end=date(2026, 11, 1),
                       period=Period.MONTH)  # fmt: skip
    assert [problem.path for problem in refused.value.problems] == ["query.to"]
    with pytest.raises(InvalidInput) as far:
        booked_revenue(booked.services, booked.who, first=date(1, 1, 1), end=None, period=Period.DAY)
    assert [problem.path for problem in far.value.problems] == ["query.from"]
