"""The results of rating: lines, adjustments, totals (all precise, in the tariff's currency)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from evbill.domain.metering.usage import ZERO
from evbill.domain.tariffs.model import TariffDimension


class Phase(enum.StrEnum):
    """What part of the usage a line prices."""

    SESSION = "SESSION"
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRED = "RESERVATION_EXPIRED"


class AdjustmentKind(enum.StrEnum):
    MIN_PRICE = "MIN_PRICE"
    MAX_PRICE = "MAX_PRICE"


class Cost(NamedTuple):
    """A precise amount excluding and including VAT, in the session's currency."""

    excl_vat: Decimal
    incl_vat: Decimal


NO_COST = Cost(ZERO, ZERO)


class RatedLine(NamedTuple):
    """One priced dimension of one period (FLAT: of the period where it was charged).

    Volumes are in base units: Wh for ENERGY, seconds for TIME/PARKING_TIME/reservation TIME, 1 for
    FLAT. ``billed_volume`` differs from ``volume`` only on the last line of a step_size group.
    """

    period_index: int
    phase: Phase
    dimension: TariffDimension
    element_index: int
    price: Decimal
    vat: Decimal | None
    step_size: int
    volume: Decimal
    billed_volume: Decimal
    excl_vat: Decimal
    incl_vat: Decimal


class Adjustment(NamedTuple):
    """A change of the total made by ``min_price`` or ``max_price`` (deltas, precise)."""

    kind: AdjustmentKind
    excl_vat: Decimal
    incl_vat: Decimal


@dataclass(frozen=True, slots=True)
class RatedSession:
    """The result of rating: every line, every adjustment, and the OCPI totals, all precise."""

    tariff_id: str
    currency: str
    lines: tuple[RatedLine, ...]
    adjustments: tuple[Adjustment, ...]
    total_cost: Cost
    total_fixed_cost: Cost
    total_energy_cost: Cost
    total_time_cost: Cost
    total_parking_cost: Cost
    total_reservation_cost: Cost
    total_energy_wh: Decimal
    total_time_s: Decimal
    total_charging_s: Decimal
    total_parking_s: Decimal
    total_reservation_s: Decimal
    reservation_expired: bool
    notes: tuple[str, ...]
