"""A finished session as analytics sees it, and the ways reports can group sessions.

A ``SessionFact`` is read from the stored session (never re-rated): where (location, station, EVSE,
connector class), who (customer, segment, plan), under which tariff, when (UTC, with the location's
zone for local figures), what was used (energy, charging seconds) and what it cost (the precise
totals and the price split by dimension and VAT rate). Idle time is the session's length minus its
charging time.

How the session was paid (``payment_method``, see ``payment_method_of``) and what went back
through its session payments (refunded, disputed, charged back; settled minor units) come from the
payments records; a new kind of contract payment joins as its own lower-case label.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from evbill.domain.charging.sessions import ChargePart

ZERO = Decimal(0)


class GroupBy(enum.StrEnum):
    """What one row of a report is: a period, a place, a kind of charger, price or customer."""

    TOTAL = "total"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    LOCATION = "location"
    STATION = "station"
    EVSE = "evse"
    CONNECTOR_CLASS = "connector_class"
    PLAN = "plan"
    TARIFF = "tariff"
    SEGMENT = "segment"
    CUSTOMER = "customer"
    PAYMENT_METHOD = "payment_method"


class PaymentMethod(enum.StrEnum):
    """How a session was paid: the contract's method in force at its start, else ad hoc or none."""

    CARD = "card"
    WALLET = "wallet"
    BANK_TRANSFER = "bank_transfer"
    DIRECT_DEBIT = "direct_debit"
    AD_HOC = "ad_hoc"  # no contract, paid at the charger (a session payment exists)
    NONE = "none"  # no contract and no payment: unpaid


_CONTRACT_METHODS = {
    "CARD_ON_FILE": PaymentMethod.CARD,
    "PREPAID_WALLET": PaymentMethod.WALLET,
    "INVOICE_BANK_TRANSFER": PaymentMethod.BANK_TRANSFER,
    "DIRECT_DEBIT": PaymentMethod.DIRECT_DEBIT,
}


def payment_method_of(contract_method: str | None, *, paid_ad_hoc: bool) -> str:
    """The report label: a contract's method (a kind not listed joins as its lower-case name)."""
    if contract_method is not None:
        known = _CONTRACT_METHODS.get(contract_method)
        return known.value if known is not None else contract_method.lower()
    return (PaymentMethod.AD_HOC if paid_ad_hoc else PaymentMethod.NONE).value


@dataclass(frozen=True, slots=True)
class SessionFact:
    id: str
    location_id: str
    station_id: str
    evse_id: str
    zone: str  # the location's IANA time zone
    started_at: datetime  # aware, UTC
    ended_at: datetime
    currency: str
    energy_wh: Decimal
    charging_s: Decimal | None  # None: not recorded; the whole session counts as charging
    total_excl_vat: Decimal  # precise
    total_incl_vat: Decimal  # precise
    parts: tuple[ChargePart, ...] = ()
    connector_class: str | None = None
    tariff_id: str | None = None
    plan_id: str | None = None
    customer_id: str | None = None
    segment: str | None = None  # the customer's kind: INDIVIDUAL or BUSINESS
    customer_first_started_at: datetime | None = None  # the customer's first session ever
    payment_method: str = PaymentMethod.NONE.value
    refunded_minor: int = 0  # refunds of the session's payments, settled minor units
    disputed_minor: int = 0  # amounts put in dispute
    charged_back_minor: int = 0  # disputes lost
    # what the session's receipt or invoice line charged: its totals settled once, per session
    billed_excl_minor: int = 0
    billed_incl_minor: int = 0

    @property
    def duration_s(self) -> Decimal:
        return seconds(self.ended_at - self.started_at)

    @property
    def charged_s(self) -> Decimal:
        return self.duration_s if self.charging_s is None else min(self.charging_s, self.duration_s)

    @property
    def idle_s(self) -> Decimal:
        return self.duration_s - self.charged_s


def seconds(delta: timedelta) -> Decimal:
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """Which finished sessions a report or backtest reads: started in [start, end), and equal fields."""

    start: datetime | None = None
    end: datetime | None = None
    location_id: str | None = None
    station_id: str | None = None
    evse_id: str | None = None
    connector_class: str | None = None
    tariff_id: str | None = None
    customer_id: str | None = None
