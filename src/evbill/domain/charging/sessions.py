"""Charging sessions as stored: where, when, how much, under which tariff version, and the price.

Amounts are kept twice (DESIGN.md rule 2): the precise total from rating and the settled total in
minor units after the one rounding step. A session in progress has no end and no settled total.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from evbill.domain.offers.plans import ConnectorClass
from evbill.domain.tariffs.model import TariffDimension


@dataclass(frozen=True, slots=True)
class ChargePart:
    """The part of a session's price in one dimension at one VAT rate (precise, excl. VAT)."""

    dimension: TariffDimension
    vat: Decimal | None
    excl_vat: Decimal


class SessionStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    REVIEW = "REVIEW"  # closed, but with implausible data: an operator decides before it is billed
    VOIDED = "VOIDED"  # closed by an operator at no charge

    @property
    def billable(self) -> bool:
        return self is SessionStatus.COMPLETED


@dataclass(frozen=True, slots=True)
class ChargingSession:
    id: str
    operator_id: str
    location_id: str
    station_id: str
    evse_id: str
    status: SessionStatus
    started_at: datetime
    ended_at: datetime | None
    energy_wh: Decimal
    currency: str
    tariff_version_id: str | None
    total_excl_vat: Decimal | None  # precise
    total_incl_vat: Decimal | None  # precise
    total_excl_vat_minor: int | None  # settled
    total_incl_vat_minor: int | None  # settled
    created_at: datetime
    # Who charged and why this price (empty for sessions recorded before contracts existed):
    customer_id: str | None = None
    contract_id: str | None = None
    token_uid: str | None = None
    connector_class: ConnectorClass | None = None
    tariff_id: str | None = None
    price_rule: str | None = None  # pricing.PriceRule value
    price_reason: str | None = None  # the rule in words, for the driver
    parts: tuple[ChargePart, ...] = ()  # the price by dimension and VAT rate, for billing
    # The charger's view (OCPP):
    transaction_id: str | None = None  # 2.0.1 transactionId, or the 1.6 integer as text
    charging_s: Decimal | None = None  # time spent charging (not idle), for included minutes
