"""A tariff compiled for fast rating: components indexed per phase, dimension and minute of the week.

Selecting the element for a period is the hot path of rating. Time-of-day and day-of-week
restrictions are whole minutes, so for each (phase, dimension) the candidates whose time-of-week
restrictions hold are precomputed for all 10,080 minutes of the week (as shared tuples: a 48-element
hourly tariff yields a few dozen distinct tuples). At rating time only the remaining restrictions
(dates, energy, duration, current, power) are checked, and only for candidates that have them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from evbill.domain.rating._models import Phase
from evbill.domain.tariffs.model import (
    MINUTES_PER_DAY,
    DayOfWeek,
    PriceComponent,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TariffDimension,
)

ONE = Decimal(1)
HUNDRED = Decimal(100)
PER_UNIT = {
    TariffDimension.ENERGY: Decimal(1000),
    TariffDimension.TIME: Decimal(3600),
    TariffDimension.PARKING_TIME: Decimal(3600),
    TariffDimension.FLAT: ONE,
}


class Candidate(NamedTuple):
    """A price component prepared for fast matching."""

    element_index: int
    dimension: TariffDimension
    price: Decimal
    vat: Decimal | None
    vat_factor: Decimal | None
    step_size: int
    restrictions: Restrictions | None
    has_residual: bool  # restrictions beyond time of day / day of week
    per_unit: Decimal  # base units per priced unit: 1000 Wh per kWh, 3600 s per hour, 1 for FLAT


class DimensionIndex(NamedTuple):
    """Candidates of one dimension in tariff order; by_minute[minute of week] when time-dependent."""

    candidates: tuple[Candidate, ...]
    by_minute: tuple[tuple[Candidate, ...], ...] | None


class PhaseIndexes(NamedTuple):
    """The indexes of one phase, by dimension (None: no component of that dimension)."""

    flat: DimensionIndex | None
    energy: DimensionIndex | None
    time: DimensionIndex | None
    parking: DimensionIndex | None


@dataclass(frozen=True, slots=True)
class CompiledTariff:
    """A tariff prepared for rating in one time zone (compile once, rate many sessions)."""

    tariff: Tariff
    zone: ZoneInfo
    indexes: dict[tuple[Phase, TariffDimension], DimensionIndex]
    needs_local_time: bool

    def phase(self, phase: Phase) -> PhaseIndexes:
        get = self.indexes.get
        return PhaseIndexes(
            get((phase, TariffDimension.FLAT)),
            get((phase, TariffDimension.ENERGY)),
            get((phase, TariffDimension.TIME)),
            get((phase, TariffDimension.PARKING_TIME)),
        )


_PRICED_DIMENSIONS = {
    Phase.SESSION: (
        TariffDimension.FLAT,
        TariffDimension.ENERGY,
        TariffDimension.TIME,
        TariffDimension.PARKING_TIME,
    ),
    Phase.RESERVATION: (TariffDimension.FLAT, TariffDimension.TIME),
    Phase.RESERVATION_EXPIRED: (TariffDimension.FLAT, TariffDimension.TIME),
}


def compile_tariff(tariff: Tariff, zone: ZoneInfo) -> CompiledTariff:
    """Index the tariff's components per phase and dimension, and per minute of the week if needed."""
    indexes = {}
    needs_local_time = False
    for phase, dimensions in _PRICED_DIMENSIONS.items():
        for dimension in dimensions:
            candidates = _candidates(tariff, phase, dimension)
            if not candidates:
                continue
            by_minute = _index_by_minute(candidates)
            needs_local_time = needs_local_time or by_minute is not None
            indexes[(phase, dimension)] = DimensionIndex(candidates, by_minute)
    if any(
        element.restrictions is not None
        and (element.restrictions.start_date is not None or element.restrictions.end_date is not None)
        for element in tariff.elements
    ):
        needs_local_time = True
    return CompiledTariff(tariff, zone, indexes, needs_local_time)


def _candidates(tariff: Tariff, phase: Phase, dimension: TariffDimension) -> tuple[Candidate, ...]:
    wanted: tuple[ReservationRestriction | None, ...]
    if phase is Phase.SESSION:
        wanted = (None,)
    elif phase is Phase.RESERVATION:
        wanted = (ReservationRestriction.RESERVATION,)
    else:  # an expired reservation: its own elements first, then the reservation's
        wanted = (ReservationRestriction.RESERVATION_EXPIRES, ReservationRestriction.RESERVATION)
    result = []
    for reservation in wanted:
        for index, element in enumerate(tariff.elements):
            restrictions = element.restrictions
            if (restrictions.reservation if restrictions else None) is not reservation:
                continue
            component = element.component(dimension)
            if component is not None:
                result.append(_candidate(index, component, restrictions))
    return tuple(result)


def _candidate(index: int, component: PriceComponent, restrictions: Restrictions | None) -> Candidate:
    vat = component.vat
    vat_factor = None if vat is None else ONE + vat / HUNDRED
    residual = restrictions is not None and _has_residual(restrictions)
    return Candidate(
        index, component.dimension, component.price, vat, vat_factor, component.step_size,
        restrictions, residual, PER_UNIT[component.dimension],
    )  # fmt: skip


def _has_residual(restrictions: Restrictions) -> bool:
    return any(
        value is not None
        for value in (
            restrictions.start_date, restrictions.end_date, restrictions.min_kwh, restrictions.max_kwh,
            restrictions.min_current, restrictions.max_current, restrictions.min_power,
            restrictions.max_power, restrictions.min_duration, restrictions.max_duration,
        )
    )  # fmt: skip


def _index_by_minute(
    candidates: tuple[Candidate, ...],
) -> tuple[tuple[Candidate, ...], ...] | None:
    """For each minute of the week, the candidates whose time-of-day and weekday restrictions hold.

    Restrictions are whole minutes, so the local minute of a period's start decides them. The week
    is cut at every restriction's start and end minute; each piece is evaluated once.
    """
    timed = [c for c in candidates if c.restrictions is not None and c.restrictions.has_time_of_week]
    if not timed:
        return None
    cuts = {0, MINUTES_PER_DAY}
    for candidate in timed:
        restrictions = candidate.restrictions
        assert restrictions is not None
        cuts.update(m for m in (restrictions.start_minute, restrictions.end_minute) if m is not None)
    edges = sorted(cuts)
    shared: dict[tuple[Candidate, ...], tuple[Candidate, ...]] = {}
    minutes: list[tuple[Candidate, ...]] = []
    for weekday in range(7):
        day = DayOfWeek.from_weekday(weekday)
        for begin, finish in zip(edges, edges[1:], strict=False):
            matching = tuple(c for c in candidates if _matches_time_of_week(c, day, begin))
            minutes.extend([shared.setdefault(matching, matching)] * (finish - begin))
    return tuple(minutes)


def _matches_time_of_week(candidate: Candidate, day: DayOfWeek, minute: int) -> bool:
    restrictions = candidate.restrictions
    if restrictions is None:
        return True
    if restrictions.days_of_week is not None and day not in restrictions.days_of_week:
        return False
    return restrictions.matches_minute_of_day(minute)
