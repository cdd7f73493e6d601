"""Energy cost and margin against the hand-computed network of tests/unit/margin_data.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from evbill.domain.analytics.costs import EnergyPurchase, PriceBook, PriceKind, PricePoint, check_points
from evbill.domain.analytics.margin import margins
from evbill.domain.errors import InvalidInput
from evbill.domain.metering.usage import ChargingPeriod
from tests.unit.margin_data import PURCHASES, SESSIONS, SPOT, ZONE, at


def _books() -> dict[str, tuple[str, PriceBook]]:
    series = {point.starts_at: point.price for point in SPOT}
    return {key: ("EUR", PriceBook(p, ZONE, series)) for key, p in PURCHASES.items()}


def test_each_session_costs_its_energy_at_the_prices_in_force_when_it_was_delivered() -> None:
    report = margins(SESSIONS, _books())
    costs = {item.session_id: (item.cost, item.margin) for item in report.sessions}
    assert costs == {
        "S1": (Decimal("2.50"), Decimal("2.80")),
        "S2": (Decimal("2.52"), Decimal("-0.52")),
        "S9": (Decimal("2.52"), Decimal("0.48")),  # local 22:30-23:30 after DST, not CET's 21:30
        "S3": (Decimal("3.00"), Decimal("1.00")),
        "S4": (Decimal("0.5625"), Decimal("2.4375")),  # a negative spot price lowers the cost
    }
    assert report.left_out == {
        "no purchase price at a time energy was delivered": 1,
        "no stored periods": 1,
        "no purchase price for the location": 1,
    }


def test_margin_per_location_and_month_and_who_loses_money() -> None:
    report = margins(SESSIONS, _books())
    by_location = {r.key: (r.sessions, r.revenue_net, r.cost, r.margin) for r in report.by_location}
    assert by_location == {
        "L1": (1, Decimal("5.30"), Decimal("2.50"), Decimal("2.80")),
        "L2": (2, Decimal("5.00"), Decimal("5.04"), Decimal("-0.04")),
        "L3": (2, Decimal("7.00"), Decimal("3.5625"), Decimal("3.4375")),
    }
    by_month = {r.key: (r.sessions, r.revenue_net, r.cost, r.margin) for r in report.by_month}
    assert by_month == {
        "2026-03": (4, Decimal("14.30"), Decimal("10.54"), Decimal("3.76")),
        "2026-04": (1, Decimal("3.00"), Decimal("0.5625"), Decimal("2.4375")),
    }
    (total,) = report.totals
    assert (total.revenue_net, total.cost, total.margin, total.energy_wh) == (
        Decimal("17.30"), Decimal("11.1025"), Decimal("6.1975"), Decimal(53000),
    )  # fmt: skip
    assert [s.session_id for s in report.losing_sessions] == ["S2"]
    assert [r.key for r in report.losing_locations] == ["L2"]
    assert report.by_location[1].losing_sessions == 1


def test_a_period_cut_at_quarter_hours_keeps_the_exact_repeating_share() -> None:
    # 1 kWh over 12:10-12:31 UTC (21 min): 5 min at 0.30, 15 at 0.60, 1 at 0.90
    # -> (1.5 + 9 + 0.9) / 21 = 0.54285714285...
    series = {at(2026, 3, 3, 12): Decimal("0.30"), at(2026, 3, 3, 12, 15): Decimal("0.60"),
              at(2026, 3, 3, 12, 30): Decimal("0.90")}  # fmt: skip
    book = PriceBook(EnergyPurchase("L3", "EUR", PriceKind.SERIES), ZONE, series)
    cost = book.cost([ChargingPeriod(at(2026, 3, 3, 12, 10), at(2026, 3, 3, 12, 31), Decimal(1000))])
    assert cost == Decimal("0.5428571429")  # one division, held to 10 places


def test_bad_prices_are_refused_with_every_problem() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_points([
            PricePoint(at(2026, 3, 3, 12, 5), Decimal("0.1")),
            PricePoint(at(2026, 3, 3, 12, 15), Decimal("0.1")),
            PricePoint(at(2026, 3, 3, 12, 15), Decimal("0.2")),
        ])  # fmt: skip
    assert [p.message for p in refused.value.problems] == [
        "a price starts on a UTC quarter hour (:00, :15, :30, :45)",
        "two prices for the same quarter hour",
    ]
    with pytest.raises(InvalidInput):
        EnergyPurchase("L1", "EUR", PriceKind.FIXED)
    with pytest.raises(InvalidInput) as implausible:
        EnergyPurchase("L1", "EUR", PriceKind.FIXED, Decimal("1E+20"))  # a unit mistake, not a price
    assert [p.path for p in implausible.value.problems] == ["fixed_price"]
    with pytest.raises(InvalidInput, match="price series"):
        check_points([PricePoint(at(2026, 3, 3, 12), Decimal("0.12345678901"))])  # 11 places
