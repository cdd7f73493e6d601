"""What a session used, period by period: the input of rating.

A ``ChargingPeriod`` is OCPI's ChargingPeriod with exact units: it starts at ``start`` and ends at
``end`` (the next period's start, or the session's end), and carries what was measured in it: energy in
Wh, charging time, parking (idle) time and reservation time in seconds, min/max current in A and
min/max power in kW. A period is a reservation period when it has ``reservation_s``.

``ChargingPeriod`` is a NamedTuple rather than a frozen dataclass: it is immutable all the same, and a
24-period session builds 24 of them on the rating hot path, where a NamedTuple is about three times
cheaper to create.

When a period carries neither charging nor parking time, rating derives it from the timestamps: the
period's length is charging time if energy flowed (or energy was not reported), parking time if the
period reports zero energy (see ``time_volumes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

ZERO = Decimal(0)


class ChargingPeriod(NamedTuple):
    start: datetime
    end: datetime
    energy_wh: Decimal | None = None
    charging_s: Decimal | None = None
    parking_s: Decimal | None = None
    reservation_s: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    tariff_id: str | None = None

    @property
    def is_reservation(self) -> bool:
        return self.reservation_s is not None

    def length_s(self) -> Decimal:
        delta = self.end - self.start
        return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)

    def time_volumes(self) -> tuple[Decimal, Decimal, bool]:
        """(charging seconds, parking seconds, derived?) of a non-reservation period."""
        charging, parking = self.charging_s, self.parking_s
        if charging is not None or parking is not None:
            return (charging or ZERO, parking or ZERO, False)
        length = self.length_s()
        if self.energy_wh is not None and not self.energy_wh:
            return (ZERO, length, True)
        return (length, ZERO, True)


@dataclass(frozen=True, slots=True)
class SessionUsage:
    """A whole session (or a reservation that never became one) as rating sees it.

    ``start`` is the session's start (for a reservation, the reservation's start) and ``end`` its end;
    ``periods`` are in time order and cover ``start``..``end``; amounts will be in ``currency``.
    """

    start: datetime
    end: datetime
    currency: str
    periods: tuple[ChargingPeriod, ...]
    id: str = ""
