"""The rating loop: one pass over the periods, pricing each dimension as it goes.

Per period: find the local minute of the week (only when the tariff depends on local time), select
the component per dimension (``restrictions.select``), and price the volume at once. step_size is
applied afterwards: only the last line of each group can change, so it alone is re-priced.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

from evbill.domain.errors import CurrencyMismatch
from evbill.domain.metering.usage import ZERO, SessionUsage
from evbill.domain.money import PRECISE_CONTEXT, PRECISE_QUANTUM
from evbill.domain.rating._models import Adjustment, AdjustmentKind, Cost, Phase, RatedLine, RatedSession
from evbill.domain.rating.compiled import PER_UNIT, Candidate, CompiledTariff, DimensionIndex
from evbill.domain.rating.restrictions import select
from evbill.domain.tariffs.model import MINUTES_PER_DAY, Tariff, TariffDimension

ONE = Decimal(1)
ENERGY = TariffDimension.ENERGY
FLAT = TariffDimension.FLAT
TIME = TariffDimension.TIME
PARKING_TIME = TariffDimension.PARKING_TIME
SESSION = Phase.SESSION
DERIVED_TIME_NOTE = "charging/parking time derived from period timestamps where not reported"


_new_line = tuple.__new__  # building the NamedTuple directly skips its keyword-handling constructor


def _line(
    period_index: int, phase: Phase, candidate: Candidate, volume: Decimal, billed: Decimal
) -> RatedLine:
    """Price ``billed`` base units of ``candidate`` (per kWh, per hour or once), held to 10 places."""
    price = candidate.price
    excl = (price * billed / candidate.per_unit).quantize(PRECISE_QUANTUM, ROUND_HALF_EVEN, PRECISE_CONTEXT)
    factor = candidate.vat_factor
    incl = (
        excl
        if factor is None
        else (excl * factor).quantize(PRECISE_QUANTUM, ROUND_HALF_EVEN, PRECISE_CONTEXT)
    )
    return _new_line(
        RatedLine,
        (
            period_index, phase, candidate.dimension, candidate.element_index, price, candidate.vat,
            candidate.step_size, volume, billed, excl, incl,
        ),
    )  # fmt: skip


def _apply_step(lines: list[RatedLine], position: int, total: Decimal) -> None:
    """Round a group's total up to its last component's step; that last line takes the extra."""
    if position < 0:
        return
    line = lines[position]
    step = Decimal(line.step_size)
    rounded = (total / step).to_integral_value(rounding=ROUND_CEILING) * step
    if rounded != total:
        lines[position] = _rebill(line, line.volume + (rounded - total))


def _rebill(line: RatedLine, billed: Decimal) -> RatedLine:
    vat_factor = None if line.vat is None else ONE + line.vat / Decimal(100)
    candidate = Candidate(
        line.element_index, line.dimension, line.price, line.vat, vat_factor, line.step_size, None, False,
        PER_UNIT[line.dimension],
    )  # fmt: skip
    return _line(line.period_index, line.phase, candidate, line.volume, billed)


def rate(usage: SessionUsage, compiled: CompiledTariff) -> RatedSession:
    """Price ``usage`` under the compiled tariff: lines, min/max adjustments and OCPI totals."""
    tariff = compiled.tariff
    if usage.currency != tariff.currency:
        raise CurrencyMismatch(
            f"the session is in {usage.currency} but tariff {tariff.id!r} is in {tariff.currency}"
        )
    periods = usage.periods
    session_start = next((p.start for p in periods if p.reservation_s is None), None)
    reservation_expired = session_start is None and bool(periods)
    if session_start is None:
        session_start = usage.start
    reservation_phase = Phase.RESERVATION_EXPIRED if reservation_expired else Phase.RESERVATION
    session = compiled.phase(SESSION)
    reservation = compiled.phase(reservation_phase)
    zone = compiled.zone if compiled.needs_local_time else None
    lines: list[RatedLine] = []
    flat_charged: set[Phase] = set()
    energy_wh = charging_s = parking_s = reservation_s = energy = ZERO
    # step_size groups: position of the last line, and the volume priced per dimension
    last_energy = last_time = last_reservation = -1
    priced = dict.fromkeys((ENERGY, TIME, PARKING_TIME), ZERO)
    priced_reservation = ZERO
    derived_time = False
    minute = 0
    local_date = None
    for index, period in enumerate(periods):
        if zone is not None:
            local = period.start.astimezone(zone)
            minute = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
            local_date = local.date()
        elapsed = period.start - session_start
        if period.reservation_s is not None:
            phase, indexes = reservation_phase, reservation
            reservation_s += period.reservation_s
            volumes: tuple[tuple[DimensionIndex | None, Decimal], ...] = (
                (reservation.time, period.reservation_s),
            )
        else:
            phase, indexes = SESSION, session
            charging, parking = period.charging_s, period.parking_s
            if charging is None and parking is None:
                charging, parking, _ = period.time_volumes()
                derived_time = True
            charging = charging or ZERO
            parking = parking or ZERO
            energy = period.energy_wh or ZERO
            charging_s += charging
            parking_s += parking
            volumes = ((session.energy, energy), (session.time, charging), (session.parking, parking))
        if indexes.flat is not None and phase not in flat_charged:
            flat = select(indexes.flat, minute, local_date, energy_wh, elapsed, period)
            if flat is not None:
                flat_charged.add(phase)
                lines.append(_line(index, phase, flat, ONE, ONE))
        for dimension_index, volume in volumes:
            if not volume or dimension_index is None:
                continue
            by_minute = dimension_index.by_minute
            candidates = dimension_index.candidates if by_minute is None else by_minute[minute]
            if candidates and not candidates[0].has_residual:
                candidate: Candidate | None = candidates[0]
            else:
                candidate = select(dimension_index, minute, local_date, energy_wh, elapsed, period)
            if candidate is None:
                continue
            dimension = candidate.dimension
            if phase is not SESSION:
                last_reservation = len(lines)
                priced_reservation += volume
            elif dimension is ENERGY:
                last_energy = len(lines)
                priced[ENERGY] += volume
            else:
                last_time = len(lines)
                priced[dimension] += volume
            lines.append(_line(index, phase, candidate, volume, volume))
        if phase is SESSION:
            energy_wh += energy
    _apply_step(lines, last_energy, priced[ENERGY])
    if last_time >= 0:
        _apply_step(lines, last_time, priced[lines[last_time].dimension])
    _apply_step(lines, last_reservation, priced_reservation)
    notes = []
    if derived_time:
        notes.append(DERIVED_TIME_NOTE)
    if not tariff.is_valid_at(session_start):
        notes.append(f"tariff {tariff.id!r} is not valid at the session start {session_start.isoformat()}")
    totals = (energy_wh, charging_s, parking_s, reservation_s)
    return _summarise(usage, tariff, tuple(lines), totals, session_start, reservation_expired, tuple(notes))


_TOTAL_KEY = {FLAT: 0, ENERGY: 1, TIME: 2, PARKING_TIME: 3}
_RESERVATION_KEY = 4


def _summarise(
    usage: SessionUsage,
    tariff: Tariff,
    lines: tuple[RatedLine, ...],
    volumes: tuple[Decimal, Decimal, Decimal, Decimal],
    session_start: datetime,
    reservation_expired: bool,
    notes: tuple[str, ...],
) -> RatedSession:
    excl = [ZERO] * 5  # fixed, energy, time, parking, reservation
    incl = [ZERO] * 5
    for line in lines:
        key = _TOTAL_KEY[line.dimension] if line.phase is SESSION else _RESERVATION_KEY
        excl[key] += line.excl_vat
        incl[key] += line.incl_vat
    total, adjustments = _bound(Cost(sum(excl, ZERO), sum(incl, ZERO)), tariff)
    energy_wh, charging_s, parking_s, reservation_s = volumes
    length = usage.end - session_start
    return RatedSession(
        tariff_id=tariff.id,
        currency=tariff.currency,
        lines=lines,
        adjustments=adjustments,
        total_cost=total,
        total_fixed_cost=Cost(excl[0], incl[0]),
        total_energy_cost=Cost(excl[1], incl[1]),
        total_time_cost=Cost(excl[2], incl[2]),
        total_parking_cost=Cost(excl[3], incl[3]),
        total_reservation_cost=Cost(excl[4], incl[4]),
        total_energy_wh=energy_wh,
        total_time_s=_seconds(length) if length > timedelta(0) else ZERO,
        total_charging_s=charging_s,
        total_parking_s=parking_s,
        total_reservation_s=reservation_s,
        reservation_expired=reservation_expired,
        notes=notes,
    )


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
