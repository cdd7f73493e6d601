"""The margin difference of a backtest: what the candidate tariff changes of revenue minus costs.

Under the backtest's assumption (same behaviour), every session delivers the same energy at the same
times, so its energy purchase cost, grid fee and share of the demand fee do not change. What changes
with the price is the revenue (excl. VAT) and the fees charged as a percent of it: the gateway's
percent of what the driver pays (incl. VAT) and a roaming rule's percent of the net. So

    margin difference = revenue difference (excl. VAT)
                        - gateway percent x gross difference - roaming percent x net difference

Example: a session billed 10.00 net / 12.10 gross that the candidate prices at 12.00 / 14.52, with a
1.5 % gateway fee and a roaming rule of 10 %: revenue +2.00, fees +0.0363 + 0.20, margin +1.7637.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from evbill.domain import currency as currencies
from evbill.domain.analytics.backtest import Rerated
from evbill.domain.analytics.facts import ZERO
from evbill.domain.analytics.fees import FeeBook
from evbill.domain.money import PRECISE_CONTEXT, RoundingMode, round_to_minor_units

HUNDRED = Decimal(100)
BASIS = (
    "Margin difference = revenue difference excl. VAT - the difference of the fees that are a percent "
    "of revenue (gateway on the gross, roaming on the net). Energy, grid and demand costs are the same "
    "under the candidate: same sessions, same energy at the same times."
)


@dataclass(slots=True)
class MarginShift:
    key: str
    sessions: int = 0
    revenue_difference: Decimal = ZERO  # excl. VAT
    fee_difference: Decimal = ZERO  # precise

    @property
    def margin_difference(self) -> Decimal:
        return self.revenue_difference - self.fee_difference


@dataclass(frozen=True, slots=True)
class BacktestMargin:
    currency: str
    total: MarginShift
    by_location: tuple[MarginShift, ...] = field(default_factory=tuple)


def backtest_margin(currency: str, rerated: Iterable[Rerated], book: FeeBook) -> BacktestMargin:
    places = currencies.exponent(currency)
    operator = book.operator if book.operator is not None and book.operator.currency == currency else None
    total = MarginShift("total")
    locations: dict[str, MarginShift] = {}
    for item in rerated:
        net = Decimal(item.candidate_excl_minor - item.billed_excl_minor).scaleb(-places)
        gross = Decimal(item.difference_minor).scaleb(-places)
        fees = ZERO
        if operator is not None:
            fees += PRECISE_CONTEXT.divide(gross * operator.gateway_percent, HUNDRED)
            rule = operator.roaming_rule(book.contract_ids.get(item.session_id))
            if rule is not None:
                fees += PRECISE_CONTEXT.divide(net * rule.percent, HUNDRED)
        for shift in (total, locations.get(item.location_id) or locations.setdefault(
                item.location_id, MarginShift(item.location_id))):  # fmt: skip
            shift.sessions += 1
            shift.revenue_difference += net
            shift.fee_difference += fees
    ordered = sorted(locations.values(), key=lambda s: (s.margin_difference, s.key))
    return BacktestMargin(currency, total, tuple(ordered))


def backtest_margin_text(result: BacktestMargin, rounding: RoundingMode) -> dict[str, object]:
    def money(amount: Decimal) -> str:
        places = currencies.exponent(result.currency)
        return format(Decimal(round_to_minor_units(amount, result.currency, rounding)).scaleb(-places), "f")

    def one(shift: MarginShift) -> dict[str, object]:
        return {
            "key": shift.key, "sessions": shift.sessions,
            "revenue_difference_excl_vat": money(shift.revenue_difference),
            "fee_difference": money(shift.fee_difference),
            "margin_difference": money(shift.margin_difference),
        }  # fmt: skip

    return {**one(result.total), "by_location": [one(shift) for shift in result.by_location], "basis": BASIS}
