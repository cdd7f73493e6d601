"""Grid, demand, gateway and roaming fees in the margin, against hand-computed figures.

The network of tests/unit/margin_data.py (S1 at L1, S2 at L2, S3 at L3), with fees:

    L1 grid 0.05 per kWh, demand 0.50 per kW of monthly peak; operator: gateway 1.5 % + 0.25 per payment,
    roaming DE*ABC 10 % of net + 0.10.
    S1 10 kWh in 08:00-09:00 (2.5 kWh per quarter = 10 kW peak): grid 10 x 0.05 = 0.50,
       demand 10 kW x 0.50 = 5.00 (the only session of L1 in March with periods: all of it);
       paid on its own, the gateway recorded 0.20: gateway 0.20.   margin 2.80 - 5.70 = -2.90
    S2 paid on its own (2.00), no fee recorded: gateway 2.00 x 1.5 % + 0.25 = 0.28.   margin -0.52 - 0.28
    S3 paid through an invoice: gateway 4.00 x 1.5 % = 0.06 (no fixed fee: one payment, many sessions);
       token DE*ABC*C12345: roaming 4.00 x 10 % + 0.10 = 0.50.   margin 1.00 - 0.56 = 0.44
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from evbill.domain.analytics.costs import PriceBook
from evbill.domain.analytics.fees import (
    FeeBook,
    Fees,
    LocationFees,
    OperatorFees,
    RoamingRule,
    SessionPayment,
)
from evbill.domain.analytics.margin import margin_text, margins
from evbill.domain.errors import InvalidInput
from evbill.domain.money import RoundingMode
from tests.unit.margin_data import PURCHASES, S1, S2, S3, SPOT, ZONE

BOOK = FeeBook(
    locations={"L1": LocationFees("L1", "EUR", Decimal("0.05"), Decimal("0.50"))},
    operator=OperatorFees(
        "EUR", Decimal("1.5"), Decimal("0.25"), (RoamingRule("DE*ABC", Decimal(10), Decimal("0.10")),)
    ),
    payments={
        "S1": SessionPayment(Decimal("5.30"), Decimal("0.20")),
        "S2": SessionPayment(Decimal("2.00"), None),
    },
    contract_ids={"S3": "de*abc*c12345", "S2": "NL*XYZ*C1"},
)


def _books() -> dict[str, tuple[str, PriceBook]]:
    series = {point.starts_at: point.price for point in SPOT}
    return {key: ("EUR", PriceBook(p, ZONE, series)) for key, p in PURCHASES.items()}


def test_each_fee_of_each_session_and_the_margin_after_them() -> None:
    report = margins((S1, S2, S3), _books(), BOOK)
    fees = {item.session_id: item.fees for item in report.sessions}
    assert fees == {
        "S1": Fees(grid=Decimal("0.50"), demand=Decimal("5.00"), gateway=Decimal("0.20")),
        "S2": Fees(gateway=Decimal("0.28")),
        "S3": Fees(gateway=Decimal("0.06"), roaming=Decimal("0.50")),
    }
    margin = {item.session_id: item.margin for item in report.sessions}
    assert margin == {"S1": Decimal("-2.90"), "S2": Decimal("-0.80"), "S3": Decimal("0.44")}
    (total,) = report.totals
    # 11.30 net - 8.02 energy - (0.50 + 5.00 + 0.54 + 0.50 = 6.54) fees = -3.26
    assert (total.revenue_net, total.cost, total.fees.total, total.margin) == (
        Decimal("11.30"), Decimal("8.02"), Decimal("6.54"), Decimal("-3.26"),
    )  # fmt: skip


def test_the_demand_fee_is_shared_by_energy_and_shown_with_the_peak() -> None:
    # Given a second L1 session in March: 5 kWh over 09:00-10:00 of 2 March (1.25 kWh per quarter);
    # the peak stays S1's 10 kW, so the 5.00 is shared 10 : 5 -> 3.3333333333 and 1.6666666667
    from tests.unit.margin_data import at, period, session

    other = session("S8", "L1", at(2026, 3, 2, 9), at(2026, 3, 2, 10), "2.00",
                    period(at(2026, 3, 2, 9), at(2026, 3, 2, 10), "5"))  # fmt: skip
    report = margins((S1, other), _books(), BOOK)
    demand = {item.session_id: item.fees.demand for item in report.sessions}
    assert demand == {"S1": Decimal("3.3333333333"), "S8": Decimal("1.6666666667")}
    shown = margin_text(report, RoundingMode.HALF_UP)
    assert shown["demand_peaks"] == [
        {"location_id": "L1", "month": "2026-03", "peak_kw": "10.000", "demand_fee": "5.00"}
    ]
    # 2.00 net - 5 x 0.25 energy - 5 x 0.05 grid - 1.67 demand - 2.00 x 1.5 % gateway = -1.20 (rounded once)
    s8 = next(row for row in shown["sessions"] if row["session_id"] == "S8")
    assert (s8["grid_fee"], s8["demand_fee"], s8["gateway_fee"], s8["fees"], s8["margin"]) == (
        "0.25", "1.67", "0.03", "1.95", "-1.20",
    )  # fmt: skip


def test_fees_that_make_no_sense_are_refused_naming_each_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        OperatorFees("EUR", Decimal(150), Decimal(-1), (RoamingRule(" ", Decimal(-5)),))
    assert [p.path for p in refused.value.problems] == [
        "gateway_percent", "gateway_fixed", "roaming[0].prefix", "roaming[0].percent",
    ]  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        LocationFees("L1", "EUR", Decimal("-0.01"))
    assert [p.path for p in refused.value.problems] == ["grid_per_kwh"]
