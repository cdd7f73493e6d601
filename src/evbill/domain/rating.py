"""Rating: price a session's charging periods under an OCPI 2.2.1 tariff, exactly.

``rate(usage, compiled_tariff)`` is the one pure function behind every number evbill shows: the running
cost during a session, the final total, the OCPI CDR, the receipt and the invoice line. It follows
OCPI 2.2.1 (mod_tariffs, mod_cdrs) to the letter:

1. Periods are walked in time order. A period is a *reservation* period when it carries reservation
   time; it is then priced only by elements with a ``reservation`` restriction (``RESERVATION``, or,
   for a reservation that expired without a session, ``RESERVATION_EXPIRES`` first). Every other
   period is priced only by elements without one.
2. For each dimension of a period (ENERGY, TIME = charging, PARKING_TIME = not requesting power,
   reservation TIME) the *first* element in the tariff with a component of that dimension whose
   restrictions all hold at the period's start wins. Restrictions are evaluated in the location's time
   zone: time of day (``end <= start`` wraps past midnight; 00:00 as end means end of day), day of
   week and dates of the local start; energy consumed and session duration before the period;
   current and power of the period (minimums compared with the period's minimum, maximums with its
   maximum; an unreported value never satisfies a restriction). Minimums are inclusive, maximums
   exclusive. No match: that dimension is free in that period.
3. FLAT is charged once per session (and once per reservation): from the first period in which some
   element's FLAT component applies.
4. ``step_size`` applies once per session per group, to the group's total, with the step of the
   *last* component used: ENERGY once; TIME and PARKING_TIME together once, to the total of whichever
   of the two was priced last (charging followed by parking: the step goes to parking); reservation
   time once. The extra billed volume is added to the last priced period at that period's price.
5. Amounts are exact: price x volume (per kWh, per hour) held to 10 decimal places, VAT per component
   (``vat`` omitted = no VAT), summed without rounding. ``min_price`` and ``max_price`` bound the total
   excl. VAT and incl. VAT independently; each bound that moves the total is a visible adjustment.

Rounding to the currency's minor unit happens later, once, when a document is made (money.settle).

Example: €0.25/kWh + €0.50 start fee, 20 kWh:

    >>> from datetime import datetime, timezone
    >>> from zoneinfo import ZoneInfo
    >>> from evbill.domain.tariff import PriceComponent, Tariff, TariffDimension, TariffElement
    >>> from evbill.domain.usage import ChargingPeriod, SessionUsage
    >>> tariff = Tariff(id="9", currency="EUR", elements=(TariffElement((
    ...     PriceComponent(TariffDimension.FLAT, Decimal("0.50"), Decimal("20"), 1),
    ...     PriceComponent(TariffDimension.ENERGY, Decimal("0.25"), Decimal("10"), 1),
    ... )),))
    >>> start = datetime(2026, 5, 4, 9, tzinfo=timezone.utc)
    >>> end = datetime(2026, 5, 4, 11, tzinfo=timezone.utc)
    >>> usage = SessionUsage(start, end, "EUR", (ChargingPeriod(start, end, energy_wh=Decimal(20000)),))
    >>> rated = rate(usage, compile_tariff(tariff, ZoneInfo("UTC")))
    >>> rated.total_cost
    Cost(excl_vat=Decimal('5.5000000000'), incl_vat=Decimal('6.1000000000'))
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from evbill.domain.errors import CurrencyMismatch
from evbill.domain.money import PRECISE_CONTEXT, PRECISE_QUANTUM
from evbill.domain.tariff import (
    MINUTES_PER_DAY,
    DayOfWeek,
    PriceComponent,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TariffDimension,
)
from evbill.domain.usage import ZERO, ChargingPeriod, SessionUsage

ONE = Decimal(1)
HUNDRED = Decimal(100)
WH_PER_KWH = Decimal(1000)
SECONDS_PER_HOUR = Decimal(3600)
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


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


class _Candidate(NamedTuple):
    """A price component prepared for fast matching."""

    element_index: int
    dimension: TariffDimension
    price: Decimal
    vat: Decimal | None
    vat_factor: Decimal | None
    step_size: int
    restrictions: Restrictions | None
    has_residual: bool  # restrictions beyond time of day / day of week


class _DimensionIndex(NamedTuple):
    """Candidates of one dimension in tariff order; by_minute[minute of week] when time-dependent."""

    candidates: tuple[_Candidate, ...]
    by_minute: tuple[tuple[_Candidate, ...], ...] | None


@dataclass(frozen=True, slots=True)
class CompiledTariff:
    """A tariff prepared for rating in one time zone (compile once, rate many sessions)."""

    tariff: Tariff
    zone: ZoneInfo
    indexes: dict[tuple[Phase, TariffDimension], _DimensionIndex]
    needs_local_time: bool


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
            indexes[(phase, dimension)] = _DimensionIndex(candidates, by_minute)
    if any(
        element.restrictions is not None
        and (element.restrictions.start_date is not None or element.restrictions.end_date is not None)
        for element in tariff.elements
    ):
        needs_local_time = True
    return CompiledTariff(tariff, zone, indexes, needs_local_time)


def _candidates(tariff: Tariff, phase: Phase, dimension: TariffDimension) -> tuple[_Candidate, ...]:
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


def _candidate(index: int, component: PriceComponent, restrictions: Restrictions | None) -> _Candidate:
    vat = component.vat
    vat_factor = None if vat is None else ONE + vat / HUNDRED
    residual = restrictions is not None and _has_residual(restrictions)
    return _Candidate(
        index, component.dimension, component.price, vat, vat_factor, component.step_size,
        restrictions, residual,
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
    candidates: tuple[_Candidate, ...],
) -> tuple[tuple[_Candidate, ...], ...] | None:
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
    shared: dict[tuple[_Candidate, ...], tuple[_Candidate, ...]] = {}
    minutes: list[tuple[_Candidate, ...]] = []
    for weekday in range(7):
        day = DayOfWeek.from_weekday(weekday)
        for begin, finish in zip(edges, edges[1:], strict=False):
            matching = tuple(c for c in candidates if _matches_time_of_week(c, day, begin))
            minutes.extend([shared.setdefault(matching, matching)] * (finish - begin))
    return tuple(minutes)


def _matches_time_of_week(candidate: _Candidate, day: DayOfWeek, minute: int) -> bool:
    restrictions = candidate.restrictions
    if restrictions is None:
        return True
    if restrictions.days_of_week is not None and day not in restrictions.days_of_week:
        return False
    return restrictions.matches_minute_of_day(minute)


class PeriodState(NamedTuple):
    """What restrictions are evaluated against, at the start of one period."""

    local_date: date | None
    energy_before_wh: Decimal
    duration_before: timedelta
    period: ChargingPeriod


def _residual_matches(restrictions: Restrictions, state: PeriodState) -> bool:
    """Date, energy, duration, current and power restrictions (time of week is indexed)."""
    r = restrictions
    if r.start_date is not None and (state.local_date is None or state.local_date < r.start_date):
        return False
    if r.end_date is not None and (state.local_date is None or state.local_date >= r.end_date):
        return False
    if r.min_kwh is not None and state.energy_before_wh < r.min_kwh * WH_PER_KWH:
        return False
    if r.max_kwh is not None and state.energy_before_wh >= r.max_kwh * WH_PER_KWH:
        return False
    if r.min_duration is not None and state.duration_before < timedelta(seconds=r.min_duration):
        return False
    if r.max_duration is not None and state.duration_before >= timedelta(seconds=r.max_duration):
        return False
    period = state.period
    return _in_range(period.min_current, period.max_current, r.min_current, r.max_current) and _in_range(
        period.min_power, period.max_power, r.min_power, r.max_power
    )


def _in_range(
    low: Decimal | None, high: Decimal | None, minimum: Decimal | None, maximum: Decimal | None
) -> bool:
    """min restriction against the period's lowest value, max restriction against its highest."""
    if minimum is not None:
        value = low if low is not None else high
        if value is None or value < minimum:
            return False
    if maximum is not None:
        value = high if high is not None else low
        if value is None or value >= maximum:
            return False
    return True


def _select(index: _DimensionIndex | None, minute_of_week: int, state: PeriodState) -> _Candidate | None:
    if index is None:
        return None
    candidates = index.candidates if index.by_minute is None else index.by_minute[minute_of_week]
    for candidate in candidates:
        if not candidate.has_residual or _residual_matches(candidate.restrictions, state):  # type: ignore[arg-type]
            return candidate
    return None


def period_states(usage: SessionUsage, compiled: CompiledTariff) -> list[tuple[PeriodState, int]]:
    """The state (and local minute of the week) at each period's start, as rating evaluates it."""
    session_periods = [p for p in usage.periods if p.reservation_s is None]
    session_start = session_periods[0].start if session_periods else usage.start
    energy_wh = ZERO
    result = []
    for period in usage.periods:
        local = period.start.astimezone(compiled.zone)
        minute_of_week = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
        result.append(
            (PeriodState(local.date(), energy_wh, period.start - session_start, period), minute_of_week)
        )
        if period.reservation_s is None:
            energy_wh += period.energy_wh or ZERO
    return result


def restriction_checks(
    restrictions: Restrictions | None, state: PeriodState, minute_of_week: int
) -> list[tuple[str, bool]]:
    """Each restriction of an element as (plain description with the measured value, holds?)."""
    if restrictions is None:
        return []
    r = restrictions
    period = state.period
    day = DayOfWeek.from_weekday(minute_of_week // MINUTES_PER_DAY)
    minute = minute_of_week % MINUTES_PER_DAY
    checks: list[tuple[str, bool]] = []
    if r.start_minute is not None or r.end_minute is not None:
        window = f"{_clock(r.start_minute, '00:00')}-{_clock(r.end_minute, '24:00')}"
        checks.append((f"local time {_clock(minute, '')} within {window}", r.matches_minute_of_day(minute)))
    if r.days_of_week is not None:
        days = ", ".join(d.value for d in DayOfWeek if d in r.days_of_week)
        checks.append((f"{day.value} is one of {days}", day in r.days_of_week))
    local_date = state.local_date
    if r.start_date is not None:
        checks.append(
            (
                f"date {local_date} on or after {r.start_date}",
                local_date is not None and local_date >= r.start_date,
            )
        )
    if r.end_date is not None:
        checks.append(
            (f"date {local_date} before {r.end_date}", local_date is not None and local_date < r.end_date)
        )
    energy_kwh = state.energy_before_wh / WH_PER_KWH
    if r.min_kwh is not None:
        checks.append((f"{energy_kwh} kWh charged before >= {r.min_kwh} kWh", energy_kwh >= r.min_kwh))
    if r.max_kwh is not None:
        checks.append((f"{energy_kwh} kWh charged before < {r.max_kwh} kWh", energy_kwh < r.max_kwh))
    elapsed = int(state.duration_before.total_seconds())
    if r.min_duration is not None:
        checks.append((f"{elapsed} s into the session >= {r.min_duration} s", elapsed >= r.min_duration))
    if r.max_duration is not None:
        checks.append((f"{elapsed} s into the session < {r.max_duration} s", elapsed < r.max_duration))
    for name, unit, low, high, minimum, maximum in (
        ("current", "A", period.min_current, period.max_current, r.min_current, r.max_current),
        ("power", "kW", period.min_power, period.max_power, r.min_power, r.max_power),
    ):
        if minimum is not None:
            value = low if low is not None else high
            checks.append(
                (f"{name} {_value(value, unit)} >= {minimum} {unit}", _in_range(low, high, minimum, None))
            )
        if maximum is not None:
            value = high if high is not None else low
            checks.append(
                (f"{name} {_value(value, unit)} < {maximum} {unit}", _in_range(low, high, None, maximum))
            )
    if r.reservation is not None:
        checks.append((f"reservation ({r.reservation.value})", period.reservation_s is not None))
    return checks


def _clock(minute: int | None, default: str) -> str:
    if minute is None:
        return default
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _value(value: Decimal | None, unit: str) -> str:
    return "not reported" if value is None else f"{value} {unit}"


class _Draft(NamedTuple):
    """A line before step_size and amounts: which candidate prices which volume."""

    period_index: int
    phase: Phase
    candidate: _Candidate
    volume: Decimal


def rate(usage: SessionUsage, compiled: CompiledTariff) -> RatedSession:
    """Price ``usage`` under the compiled tariff: lines, min/max adjustments and OCPI totals."""
    tariff = compiled.tariff
    if usage.currency != tariff.currency:
        raise CurrencyMismatch(
            f"the session is in {usage.currency} but tariff {tariff.id!r} is in {tariff.currency}"
        )
    session_periods = [p for p in usage.periods if p.reservation_s is None]
    reservation_expired = not session_periods and len(usage.periods) > 0
    reservation_phase = Phase.RESERVATION_EXPIRED if reservation_expired else Phase.RESERVATION
    session_start = session_periods[0].start if session_periods else usage.start
    drafts, totals = _draft_lines(usage, compiled, session_start, reservation_phase)
    billed = _apply_step_sizes(drafts)
    lines = tuple(_price(draft, billed_volume) for draft, billed_volume in zip(drafts, billed, strict=True))
    return _summarise(usage, tariff, lines, totals, session_start, reservation_expired)


class _Volumes(NamedTuple):
    energy_wh: Decimal
    charging_s: Decimal
    parking_s: Decimal
    reservation_s: Decimal
    derived_time: bool


def _draft_lines(
    usage: SessionUsage, compiled: CompiledTariff, session_start: datetime, reservation_phase: Phase
) -> tuple[list[_Draft], _Volumes]:
    indexes = compiled.indexes
    zone = compiled.zone
    needs_local_time = compiled.needs_local_time
    drafts: list[_Draft] = []
    flat_charged: set[Phase] = set()
    energy_wh = charging_s = parking_s = reservation_s = ZERO
    derived_time = False
    for period_index, period in enumerate(usage.periods):
        minute_of_week = 0
        local_date = None
        if needs_local_time:
            local = period.start.astimezone(zone)
            minute_of_week = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
            local_date = local.date()
        state = PeriodState(local_date, energy_wh, period.start - session_start, period)
        if period.reservation_s is not None:
            phase = reservation_phase
            volumes: tuple[tuple[TariffDimension, Decimal], ...] = (
                (TariffDimension.TIME, period.reservation_s),
            )
            reservation_s += period.reservation_s
        else:
            phase = Phase.SESSION
            charging, parking, derived = period.time_volumes()
            derived_time = derived_time or derived
            period_energy = period.energy_wh or ZERO
            volumes = (
                (TariffDimension.ENERGY, period_energy),
                (TariffDimension.TIME, charging),
                (TariffDimension.PARKING_TIME, parking),
            )
            energy_wh += period_energy
            charging_s += charging
            parking_s += parking
        if phase not in flat_charged:
            flat = _select(indexes.get((phase, TariffDimension.FLAT)), minute_of_week, state)
            if flat is not None:
                flat_charged.add(phase)
                drafts.append(_Draft(period_index, phase, flat, ONE))
        for dimension, volume in volumes:
            if volume:
                candidate = _select(indexes.get((phase, dimension)), minute_of_week, state)
                if candidate is not None:
                    drafts.append(_Draft(period_index, phase, candidate, volume))
    return drafts, _Volumes(energy_wh, charging_s, parking_s, reservation_s, derived_time)


def _step_group(draft: _Draft) -> tuple[Phase, str] | None:
    dimension = draft.candidate.dimension
    if dimension is TariffDimension.FLAT:
        return None
    if dimension is TariffDimension.ENERGY:
        return (draft.phase, "energy")
    return (draft.phase, "time")  # TIME and PARKING_TIME share one step, as does reservation time


def _apply_step_sizes(drafts: list[_Draft]) -> list[Decimal]:
    """Billed volume per draft: the last line of each group absorbs the rounding of the group total.

    The group's last line decides the dimension (TIME vs PARKING_TIME) and the step; the total is the
    sum of that dimension's volumes in the phase, rounded up to a multiple of the step.
    """
    billed = [draft.volume for draft in drafts]
    last_of_group: dict[tuple[Phase, str], int] = {}
    for position, draft in enumerate(drafts):
        group = _step_group(draft)
        if group is not None:
            last_of_group[group] = position
    for position in last_of_group.values():
        last = drafts[position]
        phase, dimension = last.phase, last.candidate.dimension
        total = sum(
            (d.volume for d in drafts if d.phase is phase and d.candidate.dimension is dimension), ZERO
        )
        step = Decimal(last.candidate.step_size)
        rounded = (total / step).to_integral_value(rounding=ROUND_CEILING) * step
        if rounded != total:
            billed[position] = last.volume + (rounded - total)
    return billed


def _price(draft: _Draft, billed_volume: Decimal) -> RatedLine:
    candidate = draft.candidate
    dimension = candidate.dimension
    price = candidate.price
    if dimension is TariffDimension.FLAT:
        excl = price
    elif dimension is TariffDimension.ENERGY:
        excl = (price * billed_volume / WH_PER_KWH).quantize(
            PRECISE_QUANTUM, ROUND_HALF_EVEN, PRECISE_CONTEXT
        )
    else:
        excl = (price * billed_volume / SECONDS_PER_HOUR).quantize(
            PRECISE_QUANTUM, ROUND_HALF_EVEN, PRECISE_CONTEXT
        )
    factor = candidate.vat_factor
    incl = (
        excl
        if factor is None
        else (excl * factor).quantize(PRECISE_QUANTUM, ROUND_HALF_EVEN, PRECISE_CONTEXT)
    )
    return RatedLine(
        draft.period_index, draft.phase, dimension, candidate.element_index, price, candidate.vat,
        candidate.step_size, draft.volume, billed_volume, excl, incl,
    )  # fmt: skip


def _summarise(
    usage: SessionUsage,
    tariff: Tariff,
    lines: tuple[RatedLine, ...],
    volumes: _Volumes,
    session_start: datetime,
    reservation_expired: bool,
) -> RatedSession:
    sums = {key: [ZERO, ZERO] for key in _TOTAL_KEYS}
    for line in lines:
        bucket = sums[_total_key(line)]
        bucket[0] += line.excl_vat
        bucket[1] += line.incl_vat
    costs = {key: Cost(excl, incl) for key, (excl, incl) in sums.items()}
    before = Cost(
        sum((cost.excl_vat for cost in costs.values()), ZERO),
        sum((cost.incl_vat for cost in costs.values()), ZERO),
    )
    total, adjustments = _bound(before, tariff)
    notes = []
    if volumes.derived_time:
        notes.append("charging/parking time derived from period timestamps where not reported")
    if not tariff.is_valid_at(session_start):
        notes.append(f"tariff {tariff.id!r} is not valid at the session start {session_start.isoformat()}")
    session_length = usage.end - session_start
    return RatedSession(
        tariff_id=tariff.id,
        currency=tariff.currency,
        lines=lines,
        adjustments=adjustments,
        total_cost=total,
        total_fixed_cost=costs["fixed"],
        total_energy_cost=costs["energy"],
        total_time_cost=costs["time"],
        total_parking_cost=costs["parking"],
        total_reservation_cost=costs["reservation"],
        total_energy_wh=volumes.energy_wh,
        total_time_s=_seconds(session_length) if session_length > timedelta(0) else ZERO,
        total_charging_s=volumes.charging_s,
        total_parking_s=volumes.parking_s,
        total_reservation_s=volumes.reservation_s,
        reservation_expired=reservation_expired,
        notes=tuple(notes),
    )


_TOTAL_KEYS = ("fixed", "energy", "time", "parking", "reservation")
_KEY_BY_DIMENSION = {
    TariffDimension.FLAT: "fixed",
    TariffDimension.ENERGY: "energy",
    TariffDimension.TIME: "time",
    TariffDimension.PARKING_TIME: "parking",
}


def _total_key(line: RatedLine) -> str:
    if line.phase is not Phase.SESSION:
        return "reservation"
    return _KEY_BY_DIMENSION[line.dimension]


def _seconds(delta: timedelta) -> Decimal:
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)


def _bound(before: Cost, tariff: Tariff) -> tuple[Cost, tuple[Adjustment, ...]]:
    """Apply min_price then max_price to excl. and incl. VAT independently (OCPI's two rules each)."""
    excl, incl = before
    adjustments = []
    bounds = (
        (AdjustmentKind.MIN_PRICE, tariff.min_price, max),
        (AdjustmentKind.MAX_PRICE, tariff.max_price, min),
    )
    for kind, bound, pick in bounds:
        if bound is None:
            continue
        bound_incl = bound.incl_vat if bound.incl_vat is not None else _infer_incl(bound.excl_vat, excl, incl)
        new_excl, new_incl = pick(excl, bound.excl_vat), pick(incl, bound_incl)
        if new_excl != excl or new_incl != incl:
            adjustments.append(Adjustment(kind, new_excl - excl, new_incl - incl))
            excl, incl = new_excl, new_incl
    return Cost(excl, incl), tuple(adjustments)


def _infer_incl(bound_excl: Decimal, excl: Decimal, incl: Decimal) -> Decimal:
    """A bound given without VAT takes the session's own VAT ratio (none if nothing was priced)."""
    if not excl:
        return bound_excl
    return (bound_excl * incl / excl).quantize(PRECISE_QUANTUM, ROUND_HALF_EVEN, PRECISE_CONTEXT)
