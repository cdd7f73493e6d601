"""What the energy a location sold cost to buy: a fixed price, a time-of-use schedule or a price series.

An ``EnergyPurchase`` says how one location buys energy, per kWh, in one currency:

- FIXED: one price for every kWh;
- TIME_OF_USE: windows of local time (the location's zone, DST included), each with its days of the
  week and a price; the first window that holds wins, ``end`` before ``start`` wraps past midnight,
  and 00:00 as ``end`` means "until the end of the day". Window edges are whole quarter hours;
- SERIES: imported prices, one per 15 minutes (e.g. day-ahead spot), starting at UTC quarter hours.

A session's energy cost comes from the periods it was billed on, at the times the energy was delivered:
each period's energy is spread evenly over the period and cut at every UTC quarter hour (every zone's
offset is a whole number of quarter hours, so a slice never crosses a local quarter hour either); a
slice costs its share of the energy at the price in force at its start. One exact division per period,
held to 10 places like every precise amount. Example: 10 kWh over 12:00-12:30 UTC with spot prices
0.20 then 0.40 per kWh costs 5 x 0.20 + 5 x 0.40 = 3.00.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from evbill.domain.analytics.facts import ZERO, seconds
from evbill.domain.analytics.reports import zone_of
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.metering.usage import ChargingPeriod
from evbill.domain.money import PRECISE_CONTEXT, quantize_precise

QUARTER = timedelta(minutes=15)
ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)
THOUSAND = Decimal(1000)
PRICE_PLACES = 10  # decimal places a stored price keeps exactly
PRICE_LIMIT = Decimal(10) ** 14  # per kWh; anything near it is a unit mistake, not a price


class PriceKind(enum.StrEnum):
    FIXED = "fixed"
    TIME_OF_USE = "time_of_use"
    SERIES = "series"


class NoPrice(Exception):
    """No purchase price is known for a moment (a gap in the series, a schedule that does not cover it)."""

    def __init__(self, moment: datetime) -> None:
        super().__init__(f"no energy price for {moment.isoformat()}")
        self.moment = moment


@dataclass(frozen=True, slots=True)
class TimeOfUseWindow:
    start: time
    end: time
    price: Decimal  # per kWh
    weekdays: tuple[int, ...] = ALL_DAYS  # 0 = Monday

    def holds(self, local: datetime) -> bool:
        if local.weekday() not in self.weekdays:
            return False
        moment = local.time().replace(tzinfo=None)
        if self.end == time(0) or self.end <= self.start:  # until midnight, or past it
            return moment >= self.start or (self.end != time(0) and moment < self.end)
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class EnergyPurchase:
    """How one location buys energy (per kWh, excl. VAT, in ``currency``)."""

    location_id: str
    currency: str
    kind: PriceKind
    fixed_price: Decimal | None = None
    windows: tuple[TimeOfUseWindow, ...] = ()

    def __post_init__(self) -> None:
        problems = list(self.problems())
        if problems:
            raise InvalidInput("the energy purchase price is not usable", tuple(problems))

    def problems(self) -> Iterator[Problem]:
        if self.kind is PriceKind.FIXED and self.fixed_price is None:
            yield Problem("fixed_price", "a fixed price needs its price per kWh")
        if self.fixed_price is not None:
            yield from price_problems("fixed_price", self.fixed_price)
        if self.kind is PriceKind.TIME_OF_USE and not self.windows:
            yield Problem("windows", "a time-of-use schedule needs at least one window")
        for index, window in enumerate(self.windows):
            for name, edge in (("start", window.start), ("end", window.end)):
                if edge.minute % 15 or edge.second or edge.microsecond:
                    yield Problem(f"windows[{index}].{name}", f"{edge} is not a whole quarter hour")
            yield from price_problems(f"windows[{index}].price", window.price)
            if not window.weekdays or any(day not in ALL_DAYS for day in window.weekdays):
                yield Problem(f"windows[{index}].weekdays", "days are 0 (Monday) to 6 (Sunday)")


def price_problems(path: str, price: Decimal) -> Iterator[Problem]:
    if not price.is_finite() or abs(price) >= PRICE_LIMIT:
        yield Problem(path, f"{price} is not a plausible price per kWh")
    elif int(price.as_tuple().exponent) < -PRICE_PLACES and price != price.quantize(
        Decimal(1).scaleb(-PRICE_PLACES), context=PRECISE_CONTEXT
    ):
        yield Problem(path, f"{price:f} has more than {PRICE_PLACES} decimal places")


@dataclass(frozen=True, slots=True)
class PricePoint:
    starts_at: datetime  # aware UTC, on a quarter hour; the price holds for 15 minutes
    price: Decimal  # per kWh; may be negative (spot prices are, at times)


def check_points(points: Iterable[PricePoint]) -> tuple[PricePoint, ...]:
    """Points in time order; every problem (off the quarter hour, twice the same start) collected."""
    ordered = tuple(sorted(points, key=lambda point: point.starts_at))
    problems = [
        Problem(point.starts_at.isoformat(), "a price starts on a UTC quarter hour (:00, :15, :30, :45)")
        for point in ordered
        if point.starts_at.minute % 15 or point.starts_at.second or point.starts_at.microsecond
    ]
    problems += [
        Problem(later.starts_at.isoformat(), "two prices for the same quarter hour")
        for earlier, later in zip(ordered, ordered[1:], strict=False)
        if earlier.starts_at == later.starts_at
    ]
    for point in ordered:
        problems += price_problems(point.starts_at.isoformat(), point.price)
    if problems:
        raise InvalidInput("the price series is not usable", tuple(problems))
    return ordered


class PriceBook:
    """The purchase price per kWh at any moment, for one location."""

    def __init__(self, purchase: EnergyPurchase, zone: str, series: Mapping[datetime, Decimal]) -> None:
        self._purchase = purchase
        self._zone = zone_of(zone)
        self._series = series

    def price_at(self, moment: datetime) -> Decimal:
        purchase = self._purchase
        if purchase.kind is PriceKind.FIXED:
            assert purchase.fixed_price is not None  # checked when built
            return purchase.fixed_price
        if purchase.kind is PriceKind.TIME_OF_USE:
            local = moment.astimezone(self._zone)
            for window in purchase.windows:
                if window.holds(local):
                    return window.price
            raise NoPrice(moment)
        price = self._series.get(_quarter_floor(moment))
        if price is None:
            raise NoPrice(moment)
        return price

    def cost(self, periods: Iterable[ChargingPeriod]) -> Decimal:
        """The precise cost of the energy delivered in these periods (raises ``NoPrice``)."""
        total = ZERO
        for period in periods:
            energy = period.energy_wh or ZERO
            if not energy:
                continue
            length = period.length_s()
            if not length:
                total += energy * self.price_at(period.start) / THOUSAND
                continue
            weighted = sum(
                (self.price_at(start) * share for start, share in _quarters(period.start, period.end)), ZERO
            )
            total += PRECISE_CONTEXT.divide(energy * weighted, length * THOUSAND)
        return quantize_precise(total)


def _quarter_floor(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def _quarters(start: datetime, end: datetime) -> Iterator[tuple[datetime, Decimal]]:
    """[start, end) cut at every UTC quarter hour: (slice start, seconds in it)."""
    moment = start
    while moment < end:
        following = min(_quarter_floor(moment) + QUARTER, end)
        yield moment, seconds(following - moment)
        moment = following
