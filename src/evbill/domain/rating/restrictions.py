"""Restrictions evaluated against the state at a period's start, for rating and for explanations.

The time of day and day of week are handled by the compiled index; ``residual_matches`` checks the
rest. ``restriction_checks`` describes every restriction of an element in plain words with the value
measured, for the price explanation; it uses the same predicates, so the explanation cannot disagree
with the rating.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from evbill.domain.metering.usage import ZERO, ChargingPeriod, SessionUsage
from evbill.domain.rating.compiled import Candidate, CompiledTariff, DimensionIndex
from evbill.domain.tariffs.model import MINUTES_PER_DAY, DayOfWeek, Restrictions

WH_PER_KWH = Decimal(1000)


class PeriodState(NamedTuple):
    """What restrictions are evaluated against, at the start of one period."""

    local_date: date | None
    energy_before_wh: Decimal
    duration_before: timedelta
    period: ChargingPeriod


def residual_matches(restrictions: Restrictions, state: PeriodState) -> bool:
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


def select(
    index: DimensionIndex | None,
    minute_of_week: int,
    local_date: date | None,
    energy_before_wh: Decimal,
    elapsed: timedelta,
    period: ChargingPeriod,
) -> Candidate | None:
    """The first candidate of ``index`` whose restrictions all hold at the period's start."""
    if index is None:
        return None
    by_minute = index.by_minute
    for candidate in index.candidates if by_minute is None else by_minute[minute_of_week]:
        if not candidate.has_residual:
            return candidate
        state = PeriodState(local_date, energy_before_wh, elapsed, period)
        if residual_matches(candidate.restrictions, state):  # type: ignore[arg-type]
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
    """Each restriction of an element as (plain sentence with the measured value, holds?).

    The sentence reads true either way: "local time 16:20 is not within 17:00-21:00".
    """
    if restrictions is None:
        return []
    r = restrictions
    period = state.period
    checks: list[tuple[str, bool]] = []

    def say(subject: str, holds: bool, predicate: str) -> None:
        checks.append((f"{subject} {'is' if holds else 'is not'} {predicate}", holds))

    day = DayOfWeek.from_weekday(minute_of_week // MINUTES_PER_DAY)
    minute = minute_of_week % MINUTES_PER_DAY
    if r.start_minute is not None or r.end_minute is not None:
        window = f"{_clock(r.start_minute, '00:00')}-{_clock(r.end_minute, '24:00')}"
        say(f"local time {_clock(minute, '')}", r.matches_minute_of_day(minute), f"within {window}")
    if r.days_of_week is not None:
        days = ", ".join(d.value for d in DayOfWeek if d in r.days_of_week)
        say(day.value, day in r.days_of_week, f"one of {days}")
    local_date = state.local_date
    if r.start_date is not None:
        say(
            f"date {local_date}",
            local_date is not None and local_date >= r.start_date,
            f"on or after {r.start_date}",
        )
    if r.end_date is not None:
        say(f"date {local_date}", local_date is not None and local_date < r.end_date, f"before {r.end_date}")
    energy_kwh = state.energy_before_wh / WH_PER_KWH
    if r.min_kwh is not None:
        say(f"energy charged before ({energy_kwh} kWh)", energy_kwh >= r.min_kwh, f"at least {r.min_kwh} kWh")
    if r.max_kwh is not None:
        say(f"energy charged before ({energy_kwh} kWh)", energy_kwh < r.max_kwh, f"below {r.max_kwh} kWh")
    elapsed = state.duration_before
    if r.min_duration is not None:
        holds = elapsed >= timedelta(seconds=r.min_duration)
        say(f"time into the session ({elapsed})", holds, f"at least {timedelta(seconds=r.min_duration)}")
    if r.max_duration is not None:
        holds = elapsed < timedelta(seconds=r.max_duration)
        say(f"time into the session ({elapsed})", holds, f"below {timedelta(seconds=r.max_duration)}")
    for name, unit, low, high, minimum, maximum in (
        ("current", "A", period.min_current, period.max_current, r.min_current, r.max_current),
        ("power", "kW", period.min_power, period.max_power, r.min_power, r.max_power),
    ):
        if minimum is not None:
            value = low if low is not None else high
            say(
                f"{name} ({_value(value, unit)})",
                _in_range(low, high, minimum, None),
                f"at least {minimum} {unit}",
            )
        if maximum is not None:
            value = high if high is not None else low
            say(
                f"{name} ({_value(value, unit)})",
                _in_range(low, high, None, maximum),
                f"below {maximum} {unit}",
            )
    if r.reservation is not None:
        say("the period", period.reservation_s is not None, f"a reservation ({r.reservation.value})")
    return checks


def _clock(minute: int | None, default: str) -> str:
    if minute is None:
        return default
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _value(value: Decimal | None, unit: str) -> str:
    return "not reported" if value is None else f"{value} {unit}"
