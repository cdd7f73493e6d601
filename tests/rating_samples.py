"""Seeded random tariffs and sessions over every tariff feature, for comparing rating paths.

Tariffs: FLAT / ENERGY / TIME / PARKING_TIME components, prices with 0-4 decimals, VAT absent, 0 %,
7.7 %, 19 % or 21 %, step sizes (1, 60, 300, 900 s; 1, 100, 500, 1000 Wh), time-of-day windows (also
wrapping past midnight, and 00:00 ends), days of week, start/end dates, min/max kWh, duration, power
and current, reservation elements, and min/max price with and without VAT. Sessions: 1-6 periods
starting anywhere in 2026 (DST changes included), energy with fractional Wh, time reported or derived
from timestamps, charging followed by parking, power and current sometimes unreported, and now and
then a reservation period (which the fast path leaves to the scalar engine).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from evbill.domain.metering.usage import ChargingPeriod, SessionUsage
from evbill.domain.tariffs.model import (
    DayOfWeek,
    Price,
    PriceComponent,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TariffDimension,
    TariffElement,
)

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC", "Asia/Kolkata")
DIMENSIONS = tuple(TariffDimension)
VATS = (None, Decimal(0), Decimal("7.7"), Decimal(19), Decimal(21))
STEPS = {
    TariffDimension.ENERGY: (1, 1, 100, 500, 1000),
    TariffDimension.TIME: (1, 1, 60, 300, 900),
    TariffDimension.PARKING_TIME: (1, 60, 300, 900),
    TariffDimension.FLAT: (1, 0),
}


def _price(rng: random.Random) -> Decimal:
    places = rng.choice((0, 1, 2, 2, 3, 4))
    return Decimal(rng.randint(0, 900 * 10**places) // 10 or 1).scaleb(-places)


def _component(rng: random.Random, dimension: TariffDimension) -> PriceComponent:
    return PriceComponent(dimension, _price(rng), rng.choice(VATS), rng.choice(STEPS[dimension]))


def _decimal(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 10, high * 10)).scaleb(-1)


def _restrictions(rng: random.Random) -> Restrictions | None:
    if rng.random() < 0.3:
        return None
    fields: dict[str, object] = {}
    if rng.random() < 0.5:
        fields["start_minute"] = rng.choice((None, 0, 6 * 60, 7 * 60 + 30, 17 * 60, 22 * 60))
        fields["end_minute"] = rng.choice((None, 0, 6 * 60, 9 * 60, 17 * 60, 21 * 60 + 15))
    if rng.random() < 0.3:
        fields["days_of_week"] = frozenset(rng.sample(list(DayOfWeek), rng.randint(1, 6)))
    if rng.random() < 0.15:
        fields["start_date"] = date(2026, rng.randint(1, 12), rng.randint(1, 28))
    if rng.random() < 0.15:
        fields["end_date"] = date(2026, rng.randint(1, 12), rng.randint(1, 28))
    if rng.random() < 0.2:
        fields["min_kwh"] = _decimal(rng, 0, 20)
    if rng.random() < 0.2:
        fields["max_kwh"] = _decimal(rng, 1, 40)
    if rng.random() < 0.2:
        fields["min_duration"] = rng.choice((0, 600, 1800, 3600, 7200))
    if rng.random() < 0.2:
        fields["max_duration"] = rng.choice((900, 3600, 5400, 10800))
    if rng.random() < 0.15:
        fields["min_power"] = _decimal(rng, 0, 50)
    if rng.random() < 0.15:
        fields["max_power"] = _decimal(rng, 5, 150)
    if rng.random() < 0.1:
        fields["min_current"] = _decimal(rng, 0, 32)
    if rng.random() < 0.1:
        fields["max_current"] = _decimal(rng, 6, 64)
    if rng.random() < 0.08:
        fields["reservation"] = rng.choice(tuple(ReservationRestriction))
    return Restrictions(**fields)  # type: ignore[arg-type]


def random_tariff(rng: random.Random, number: int) -> Tariff:
    elements = []
    for _ in range(rng.randint(1, 6)):
        dimensions = rng.sample(DIMENSIONS, rng.randint(1, 4))
        components = tuple(_component(rng, dimension) for dimension in dimensions)
        elements.append(TariffElement(components, _restrictions(rng)))
    if rng.random() < 0.5:  # a catch-all last element, as most real tariffs have
        dimensions = rng.sample(DIMENSIONS, rng.randint(1, 3))
        elements.append(TariffElement(tuple(_component(rng, d) for d in dimensions)))
    bounds: dict[str, Price | None] = {"min_price": None, "max_price": None}
    if rng.random() < 0.2:
        low = _price(rng)
        bounds["min_price"] = Price(low, rng.choice((None, low * Decimal("1.19"))))
    if rng.random() < 0.2:
        high = _price(rng) * 10
        bounds["max_price"] = Price(high, rng.choice((None, high * Decimal("1.2"))))
    return Tariff(id=f"T{number}", currency="EUR", elements=tuple(elements), **bounds)  # type: ignore[arg-type]


def _maybe(rng: random.Random, value: Decimal, share: float = 0.7) -> Decimal | None:
    return value if rng.random() < share else None


def random_session(rng: random.Random, number: int) -> SessionUsage:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        days=rng.randint(0, 364), seconds=rng.randint(0, 86399), microseconds=rng.choice((0, 0, 0, 250000))
    )
    if rng.random() < 0.15:  # around a DST change in Europe or the US
        start = rng.choice(
            (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 15, tzinfo=UTC),
             datetime(2026, 3, 8, 6, 45, tzinfo=UTC), datetime(2026, 11, 1, 5, 50, tzinfo=UTC))
        ) + timedelta(seconds=rng.randint(0, 5400))  # fmt: skip
    periods = []
    moment = start
    count = rng.randint(1, 6)
    reservation_first = rng.random() < 0.03
    for index in range(count):
        length = rng.choice((60, 600, 900, 1800, 3600, 5400, 7201)) + rng.randint(0, 59)
        end = moment + timedelta(seconds=length)
        if index == 0 and reservation_first:
            periods.append(ChargingPeriod(moment, end, reservation_s=Decimal(length)))
            moment = end
            continue
        parking_period = index == count - 1 and count > 1 and rng.random() < 0.5
        energy = (
            Decimal(0)
            if parking_period
            else Decimal(rng.randint(0, 40_000_000)).scaleb(-rng.choice((0, 1, 3)))
        )
        reported = rng.random()
        if reported < 0.4:  # times reported
            charging, parking = (
                (None, Decimal(length))
                if parking_period
                else (Decimal(length) - 30, _maybe(rng, Decimal(30)))
            )
        elif reported < 0.5:
            charging, parking = _maybe(rng, Decimal(length), 0.5), None
        else:  # derived from the timestamps
            charging = parking = None
        power = Decimal(rng.randint(0, 1500)).scaleb(-1)
        current = Decimal(rng.randint(0, 640)).scaleb(-1)
        low_power = _maybe(rng, power, 0.6)
        high_power = _maybe(rng, power + rng.randint(0, 50), 0.6)
        low_current = _maybe(rng, current, 0.5)
        high_current = _maybe(rng, current + rng.randint(0, 10), 0.5)
        periods.append(
            ChargingPeriod(
                moment, end, _maybe(rng, energy, 0.9), charging, parking, None,
                low_current, high_current, low_power, high_power,
            )
        )  # fmt: skip
        moment = end
    return SessionUsage(
        start, moment + timedelta(seconds=rng.choice((0, 0, 120))), "EUR", tuple(periods), f"S{number}"
    )


def random_unrestricted_tariff(rng: random.Random, number: int) -> Tariff:
    """A tariff whose session components apply to every period (what ``rating.fixed_point`` takes):
    1-3 elements without restrictions (only the first component of each dimension is used), now and
    then a reservation element, and prices with 0-4 decimals, any VAT and step sizes."""
    elements = []
    for _ in range(rng.randint(1, 3)):
        dimensions = rng.sample(DIMENSIONS, rng.randint(1, 4))
        elements.append(TariffElement(tuple(_component(rng, dimension) for dimension in dimensions)))
    if rng.random() < 0.1:
        reservation = Restrictions(reservation=ReservationRestriction.RESERVATION)
        component = _component(rng, TariffDimension.TIME)
        elements.insert(rng.randint(0, len(elements)), TariffElement((component,), reservation))
    return Tariff(id=f"U{number}", currency="EUR", elements=tuple(elements))
