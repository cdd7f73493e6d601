"""The tariff: OCPI 2.2.1's Tariff, TariffElement, PriceComponent and TariffRestrictions as values.

A tariff is a list of elements; each element groups price components (one per dimension: ENERGY per
kWh, TIME per hour charging, PARKING_TIME per hour not charging, FLAT once) that apply while all of
the element's restrictions hold. For each dimension, the first element (in list order) that has a
component of that dimension and whose restrictions match wins; no match means the dimension is free.

Values here are already validated and normalised (see ``evbill.adapters.ocpi.tariffs`` for parsing):
times of day are minutes after local midnight, durations seconds, energy kWh, power kW, current A,
prices ``Decimal`` per unit excluding VAT, ``vat`` a percentage or ``None`` (no VAT applies, which is
not the same as 0 %).

    >>> component = PriceComponent(TariffDimension.ENERGY, Decimal("0.25"), Decimal("10"), 1)
    >>> Tariff(id="12", currency="EUR", elements=(TariffElement((component,)),)).dimensions()
    frozenset({<TariffDimension.ENERGY: 'ENERGY'>})
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


class TariffDimension(enum.StrEnum):
    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class DayOfWeek(enum.StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"

    @property
    def weekday(self) -> int:
        """0 for Monday ... 6 for Sunday, as ``datetime.weekday()``."""
        return _WEEKDAYS.index(self)

    @classmethod
    def from_weekday(cls, weekday: int) -> DayOfWeek:
        return _WEEKDAYS[weekday]


_WEEKDAYS: tuple[DayOfWeek, ...] = tuple(DayOfWeek)


class ReservationRestriction(enum.StrEnum):
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


class TariffType(enum.StrEnum):
    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class Price:
    """A price with and (optionally) without VAT, as OCPI's Price class."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """How one dimension is priced: ``price`` per unit (kWh, hour, or once for FLAT), excl. VAT.

    ``step_size`` is in Wh for ENERGY and seconds for TIME and PARKING_TIME (ignored for FLAT).
    """

    dimension: TariffDimension
    price: Decimal
    vat: Decimal | None
    step_size: int = 1


@dataclass(frozen=True, slots=True)
class Restrictions:
    """When an element applies. All present restrictions must hold (logical AND).

    Minimums are inclusive, maximums exclusive. ``end_minute <= start_minute`` wraps past midnight
    (``end_time`` 00:00 means "until the end of the day").
    """

    start_minute: int | None = None
    end_minute: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    days_of_week: frozenset[DayOfWeek] | None = None
    reservation: ReservationRestriction | None = None

    @property
    def has_time_of_week(self) -> bool:
        """Whether the element depends on the local time of day or the day of the week."""
        return self.start_minute is not None or self.end_minute is not None or self.days_of_week is not None

    def matches_minute_of_day(self, minute: int) -> bool:
        start, end = self.start_minute, self.end_minute
        if start is None and end is None:
            return True
        if start is None:
            # "To stop at end of the day use: 00:00" (OCPI): an end of 00:00 alone is the whole day.
            return end == 0 or minute < end  # type: ignore[operator]
        if end is None:
            return minute >= start
        if start < end:
            return start <= minute < end
        return minute >= start or minute < end  # wraps past midnight (or the whole day if equal)

    def is_empty(self) -> bool:
        return self == _NO_RESTRICTIONS


_NO_RESTRICTIONS = Restrictions()


@dataclass(frozen=True, slots=True)
class TariffElement:
    price_components: tuple[PriceComponent, ...]
    restrictions: Restrictions | None = None

    def component(self, dimension: TariffDimension) -> PriceComponent | None:
        for candidate in self.price_components:
            if candidate.dimension is dimension:
                return candidate
        return None


@dataclass(frozen=True, slots=True)
class DisplayText:
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class Tariff:
    """An OCPI 2.2.1 tariff in one currency. ``extra`` keeps the fields evbill only passes on."""

    id: str
    currency: str
    elements: tuple[TariffElement, ...]
    country_code: str = ""
    party_id: str = ""
    type: TariffType | None = None
    alt_text: tuple[DisplayText, ...] = ()
    alt_url: str | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    last_updated: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def dimensions(self) -> frozenset[TariffDimension]:
        """Every dimension that some element prices."""
        return frozenset(
            component.dimension for element in self.elements for component in element.price_components
        )

    def is_valid_at(self, moment: datetime) -> bool:
        if self.start_date_time is not None and moment < self.start_date_time:
            return False
        return self.end_date_time is None or moment < self.end_date_time
