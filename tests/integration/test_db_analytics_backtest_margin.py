"""The margin difference of a backtest, next to its revenue difference (SQLite and PostgreSQL).

The network and sessions of test_db_analytics_backtests.py (S1-S3 billed 9.92 net / 11.69 gross;
the candidate 12.90 net / 15.28 gross). Energy, grid and demand costs are the same under the candidate.

    no fees:                 revenue +2.98 excl. VAT, fees 0, margin +2.98
    gateway 1.5 % (gross):   fees 3.59 x 1.5 % = 0.05385, margin 2.98 - 0.05385 = 2.92615 -> 2.93
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from evbill.application.analytics.backtests import backtest_report
from evbill.application.analytics.costs import set_operator_fees
from evbill.domain.analytics.backtest import Rerated
from evbill.domain.analytics.backtest_margin import backtest_margin
from evbill.domain.analytics.fees import FeeBook, OperatorFees, RoamingRule
from tests.integration.test_db_analytics_backtests import CANDIDATE, MAY, USED, billed  # noqa: F401


def test_without_fees_the_margin_moves_with_the_net_revenue(billed: Any) -> None:  # noqa: F811
    services, network, _ = billed
    shown = backtest_report(services, network.actor, candidate=CANDIDATE, query=MAY)
    assert shown["difference"] == {"excl_vat": "2.98", "incl_vat": "3.59"}
    margin = shown["margin"]
    assert (margin["revenue_difference_excl_vat"], margin["fee_difference"], margin["margin_difference"]) == (
        "2.98", "0.00", "2.98",
    )  # fmt: skip
    assert [(network.name_of(row["key"]), row["margin_difference"]) for row in margin["by_location"]] == [
        ("L1", "2.98")
    ]


def test_a_gateway_percent_takes_its_share_of_the_gross_difference(billed: Any) -> None:  # noqa: F811
    services, network, _ = billed
    set_operator_fees(services, network.actor, fees=OperatorFees("EUR", Decimal("1.5"), Decimal("0.25")))
    shown = backtest_report(services, network.actor, candidate=CANDIDATE, query=MAY)
    margin = shown["margin"]
    assert (margin["fee_difference"], margin["margin_difference"]) == ("0.05", "2.93")
    # And the tariff actually used moves nothing, margin included
    same = backtest_report(services, network.actor, candidate=USED, query=MAY)["margin"]
    assert (same["revenue_difference_excl_vat"], same["margin_difference"]) == ("0.00", "0.00")


def test_a_roaming_percent_takes_its_share_of_the_net_difference() -> None:
    # A session billed 10.00 net / 12.10 gross, 12.00 / 14.52 under the candidate; gateway 1.5 %,
    # roaming 10 % for DE*ABC: fees 2.42 x 1.5 % + 2.00 x 10 % = 0.0363 + 0.20, margin 2.00 - 0.2363
    item = Rerated("X", "L", "C", 1000, 1210, 1200, 1452)
    book = FeeBook(
        operator=OperatorFees("EUR", Decimal("1.5"), Decimal(0), (RoamingRule("DE*ABC", Decimal(10)),)),
        contract_ids={"X": "DE*ABC*C1"},
    )
    result = backtest_margin("EUR", [item], book)
    assert (result.total.fee_difference, result.total.margin_difference) == (
        Decimal("0.2363"),
        Decimal("1.7637"),
    )
