"""Margin: what a session earned (net of VAT, as billed) minus what its energy cost to buy and its fees.

``margins(sessions, books)`` gives each session's margin, then the sums per location and per local
month, and names the sessions and locations that lose money (margin below zero). Revenue is the net
amount the driver was billed (settled, excl. VAT); the cost is precise (``costs.PriceBook``); sums
are exact and a figure is rounded once, when shown.

With a ``fees.FeeBook`` the margin also takes off grid and demand fees, gateway and roaming fees
(``fees``), each shown on its own.

Nothing is guessed: a session without stored periods, at a location with no purchase price, priced
in another currency than its location buys in, or delivered when no price is known is left out, and
counted by reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal

from evbill.domain import currency as currencies
from evbill.domain.analytics.backtest import StoredSession
from evbill.domain.analytics.costs import NoPrice, PriceBook
from evbill.domain.analytics.facts import ZERO
from evbill.domain.analytics.fees import NO_FEES, FeeBook, Fees, Peak, demand_shares, session_fees
from evbill.domain.analytics.reports import zone_of
from evbill.domain.money import PRECISE_CONTEXT, RoundingMode, round_to_minor_units

NO_PERIODS = "no stored periods"
NO_PURCHASE_PRICE = "no purchase price for the location"
OTHER_CURRENCY = "purchase price in another currency"
PRICE_GAP = "no purchase price at a time energy was delivered"
KWH = Decimal("0.001")
BASIS = (
    "Margin = net revenue as billed (excl. VAT) - energy purchase cost (each session's energy priced at "
    "the times it was delivered) - fees: grid (per kWh), demand (the location's monthly 15-minute peak "
    "kW x its price, shared by energy), gateway (recorded, else the configured percent + fixed per "
    "payment) and roaming (per session of a roaming token)."
)


@dataclass(frozen=True, slots=True)
class SessionMargin:
    session_id: str
    location_id: str
    customer_id: str | None
    month: str  # the location's local month at the session's start, e.g. 2026-03
    currency: str
    energy_wh: Decimal
    revenue_net: Decimal  # as billed, excl. VAT
    cost: Decimal  # precise: the energy's purchase cost
    fees: Fees = NO_FEES

    @property
    def margin(self) -> Decimal:
        return self.revenue_net - self.cost - self.fees.total


@dataclass(slots=True)
class MarginSum:
    key: str
    currency: str
    sessions: int = 0
    energy_wh: Decimal = ZERO
    revenue_net: Decimal = ZERO
    cost: Decimal = ZERO
    losing_sessions: int = 0
    fees: Fees = NO_FEES

    @property
    def margin(self) -> Decimal:
        return self.revenue_net - self.cost - self.fees.total

    def add(self, item: SessionMargin) -> None:
        self.sessions += 1
        self.energy_wh += item.energy_wh
        self.revenue_net += item.revenue_net
        self.cost += item.cost
        self.fees += item.fees
        self.losing_sessions += item.margin < 0


@dataclass(frozen=True, slots=True)
class MarginReport:
    sessions: tuple[SessionMargin, ...]
    by_location: tuple[MarginSum, ...]
    by_month: tuple[MarginSum, ...]
    totals: tuple[MarginSum, ...]  # one per currency
    left_out: dict[str, int] = field(default_factory=dict)
    peaks: tuple[Peak, ...] = ()  # each location's monthly demand peak (with a demand fee)

    @property
    def losing_sessions(self) -> tuple[SessionMargin, ...]:
        """The sessions that lost money, the worst first."""
        return tuple(
            sorted((s for s in self.sessions if s.margin < 0), key=lambda s: (s.margin, s.session_id))
        )

    @property
    def losing_locations(self) -> tuple[MarginSum, ...]:
        return tuple(sorted((row for row in self.by_location if row.margin < 0), key=lambda r: r.margin))


def session_margin(session: StoredSession, book: PriceBook) -> SessionMargin:
    """One session's margin (raises ``NoPrice`` when a price is missing)."""
    assert session.usage is not None
    periods = session.usage.periods
    revenue = Decimal(session.billed_excl_minor).scaleb(-currencies.exponent(session.currency))
    month = session.usage.start.astimezone(zone_of(session.zone)).strftime("%Y-%m")
    energy = sum((period.energy_wh or ZERO for period in periods), ZERO)
    return SessionMargin(
        session.id, session.location_id, session.customer_id, month, session.currency, energy, revenue,
        book.cost(periods),
    )  # fmt: skip


def margins(
    sessions: Iterable[StoredSession],
    books: Mapping[str, tuple[str, PriceBook]],
    fee_book: FeeBook | None = None,
) -> MarginReport:
    """``books``: location id -> (the currency it buys in, its price book); ``fee_book``: the fees."""
    kept: list[SessionMargin] = []
    stored: dict[str, StoredSession] = {}
    left_out: dict[str, int] = {}
    for session in sessions:
        reason = None
        bought = books.get(session.location_id)
        if session.usage is None:
            reason = NO_PERIODS
        elif bought is None:
            reason = NO_PURCHASE_PRICE
        elif bought[0] != session.currency:
            reason = OTHER_CURRENCY
        else:
            try:
                kept.append(session_margin(session, bought[1]))
                stored[session.id] = session
            except NoPrice:
                reason = PRICE_GAP
        if reason is not None:
            left_out[reason] = left_out.get(reason, 0) + 1
    peaks: tuple[Peak, ...] = ()
    if fee_book is not None:
        shares, peaks = demand_shares(((stored[i.session_id], i.month, i.energy_wh) for i in kept), fee_book)
        kept = [
            replace(item, fees=session_fees(
                stored[item.session_id], item.energy_wh, fee_book, demand=shares.get(item.session_id, ZERO)
            ))
            for item in kept
        ]  # fmt: skip
    return MarginReport(
        tuple(kept),
        _grouped(kept, lambda item: item.location_id),
        _grouped(kept, lambda item: item.month),
        _grouped(kept, lambda item: "total"),
        left_out,
        peaks,
    )


def _grouped(items: Iterable[SessionMargin], key_of: Callable[[SessionMargin], str]) -> tuple[MarginSum, ...]:
    groups: dict[tuple[str, str], MarginSum] = {}
    for item in items:
        key = (key_of(item), item.currency)
        group = groups.get(key)
        if group is None:
            group = groups[key] = MarginSum(*key)
        group.add(item)
    return tuple(groups[key] for key in sorted(groups))


def margin_text(report: MarginReport, rounding: RoundingMode) -> dict[str, object]:
    """The report as text: each amount an exact sum rounded once (operator's mode), energy in kWh."""

    def money(amount: Decimal, currency: str) -> str:
        places = currencies.exponent(currency)
        return format(Decimal(round_to_minor_units(amount, currency, rounding)).scaleb(-places), "f")

    def kwh(energy_wh: Decimal) -> str:
        return format(energy_wh.scaleb(-3).quantize(KWH, ROUND_HALF_EVEN, PRECISE_CONTEXT), "f")

    def kw(power: Decimal) -> str:
        return format(power.quantize(KWH, ROUND_HALF_EVEN, PRECISE_CONTEXT), "f")

    def fees(amounts: Fees, currency: str) -> dict[str, str]:
        return {
            "grid_fee": money(amounts.grid, currency), "demand_fee": money(amounts.demand, currency),
            "gateway_fee": money(amounts.gateway, currency), "roaming_fee": money(amounts.roaming, currency),
            "fees": money(amounts.total, currency),
        }  # fmt: skip

    def group(row: MarginSum) -> dict[str, object]:
        return {
            "key": row.key, "currency": row.currency, "sessions": row.sessions,
            "energy_kwh": kwh(row.energy_wh),
            "revenue_net": money(row.revenue_net, row.currency), "energy_cost": money(row.cost, row.currency),
            **fees(row.fees, row.currency),
            "margin": money(row.margin, row.currency), "losing_sessions": row.losing_sessions,
        }  # fmt: skip

    def one(item: SessionMargin) -> dict[str, object]:
        return {
            "session_id": item.session_id, "location_id": item.location_id, "customer_id": item.customer_id,
            "month": item.month, "currency": item.currency, "energy_kwh": kwh(item.energy_wh),
            "revenue_net": money(item.revenue_net, item.currency),
            "energy_cost": money(item.cost, item.currency), **fees(item.fees, item.currency),
            "margin": money(item.margin, item.currency),
        }  # fmt: skip

    return {
        "sessions": [one(item) for item in report.sessions],
        "by_location": [group(row) for row in report.by_location],
        "by_month": [group(row) for row in report.by_month],
        "totals": [group(row) for row in report.totals],
        "losing_sessions": [one(item) for item in report.losing_sessions],
        "losing_locations": [group(row) for row in report.losing_locations],
        "left_out": report.left_out,
        "demand_peaks": [
            {
                "location_id": peak.location_id,
                "month": peak.month,
                "peak_kw": kw(peak.peak_kw),
                "demand_fee": money(peak.charge, currency),
            }
            for peak in report.peaks
            for currency in {row.currency for row in report.by_location if row.key == peak.location_id}
        ],  # fmt: skip
        "basis": BASIS,
    }
