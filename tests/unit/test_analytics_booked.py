"""Booked revenue's calendar periods and rows, pure: local days, ISO weeks and months across DST and
the window's edges; net, VAT and gross from the ledger's credit-negative sums."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from evbill.domain.analytics.booked import (
    Period,
    booked_report,
    booked_text,
    calendar_periods,
    columns,
)
from evbill.domain.ledger.balances import PeriodSum

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_days_follow_the_local_clock_over_the_dst_change() -> None:
    # 29 March 2026: Amsterdam goes from UTC+1 to UTC+2 at 02:00 local; that day has 23 hours
    days = calendar_periods(date(2026, 3, 28), date(2026, 3, 31), Period.DAY, AMSTERDAM)
    assert [(d.key, d.starts, d.ends) for d in days] == [
        ("2026-03-28", datetime(2026, 3, 27, 23, tzinfo=UTC), datetime(2026, 3, 28, 23, tzinfo=UTC)),
        ("2026-03-29", datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC)),
        ("2026-03-30", datetime(2026, 3, 29, 22, tzinfo=UTC), datetime(2026, 3, 30, 22, tzinfo=UTC)),
    ]


def test_weeks_are_iso_weeks_and_the_window_cuts_the_first_and_last() -> None:
    # Thursday 31 December 2026 is in ISO week 53 of 2026; Monday 4 January 2027 starts 2027-W01
    weeks = calendar_periods(date(2026, 12, 31), date(2027, 1, 6), Period.WEEK, ZoneInfo("UTC"))
    assert [(w.key, w.starts.date(), w.ends.date()) for w in weeks] == [
        ("2026-W53", date(2026, 12, 31), date(2027, 1, 4)),
        ("2027-W01", date(2027, 1, 4), date(2027, 1, 6)),
    ]


def test_months_meet_without_gap_over_the_year_end() -> None:
    months = calendar_periods(date(2026, 11, 15), date(2027, 2, 1), Period.MONTH, AMSTERDAM)
    assert [m.key for m in months] == ["2026-11", "2026-12", "2027-01"]
    assert all(earlier.ends == later.starts for earlier, later in zip(months, months[1:], strict=False))
    assert (months[0].starts, months[-1].ends) == (
        datetime(2026, 11, 14, 23, tzinfo=UTC), datetime(2027, 1, 31, 23, tzinfo=UTC),
    )  # fmt: skip
    assert calendar_periods(date(2026, 11, 1), date(2026, 11, 1), Period.MONTH, AMSTERDAM) == []


def test_rows_turn_the_ledgers_credits_into_revenue_and_keep_kinds_it_did_not_know() -> None:
    months = calendar_periods(date(2026, 11, 1), date(2027, 1, 1), Period.MONTH, AMSTERDAM)
    sums = [
        PeriodSum(0, "revenue:subscriptions", "EUR", -999),
        PeriodSum(0, "revenue:energy", "EUR", -390),
        PeriodSum(0, "vat_payable:21", "EUR", -273),
        PeriodSum(0, "vat_payable:9", "EUR", -10),
        PeriodSum(1, "revenue:subscriptions", "EUR", 400),  # a credit note: a debit of revenue
        PeriodSum(1, "vat_payable:21", "EUR", 84),
        PeriodSum(1, "revenue:roaming", "JPY", -1500),  # a kind the chart does not name yet
    ]
    report = booked_report(months, sums)
    assert report.kinds == ("energy", "time", "idle", "fees", "subscriptions", "roaming")
    assert [(r.key, r.currency, r.net_minor, r.vat_minor, r.gross_minor) for r in report.rows] == [
        ("2026-11", "EUR", 1389, 283, 1672),
        ("2026-12", "EUR", -400, -84, -484),
        ("2026-12", "JPY", 1500, 0, 1500),
    ]  # fmt: skip
    shown = booked_text(report)
    (eur, jpy) = shown["totals"]  # type: ignore[misc]
    assert (eur["subscriptions_net"], eur["energy_net"], eur["net"], eur["vat"], eur["gross"]) == (
        "5.99", "3.90", "9.89", "1.99", "11.88",
    )  # fmt: skip
    assert eur["vat_by_rate"] == {"9": "0.10", "21": "1.89"}
    assert (jpy["roaming_net"], jpy["energy_net"], jpy["gross"]) == ("1500", "0", "1500")
    assert columns(report.kinds)[2:] == (
        "energy_net", "time_net", "idle_net", "fees_net", "subscriptions_net", "roaming_net",
        "net", "vat", "gross",
    )  # fmt: skip


def test_no_postings_no_rows_no_totals() -> None:
    report = booked_report([], [])
    assert (report.rows, report.totals) == ((), ())
    assert booked_text(report) == {
        "kinds": ["energy", "time", "idle", "fees", "subscriptions"], "rows": [], "totals": [],
    }  # fmt: skip
