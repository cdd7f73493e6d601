"""Charging periods: a cleaned meter series cut wherever the price could change (OCPI 2.2.1 mod_cdrs).

Rating evaluates a tariff's restrictions once per period, at the period's start (DESIGN.md rule 6):
local time of day, weekday and date in the location's zone, energy and session time before the
period, and the period's power and current. So a period must begin at every moment one of these can
change which element applies, and nowhere else:

* every local time of day named by an element (``start_minute``/``end_minute``) on every local date
  the session touches, and local midnight when an element uses weekdays or dates, or a time window
  open on one side ("from 18:00" lasts until midnight). A local time the clock skips (02:30 on a
  spring-forward day) becomes the first instant after the jump; a local time that occurs twice
  (02:30 on a fall-back day) splits at both occurrences and at the moment the clock is turned back
  in between, where the local time of day jumps backwards over it;
* the instants at which the energy since session start reaches a ``min_kwh``/``max_kwh``,
  interpolated inside a meter interval (the cut carries exactly that energy);
* ``start`` + ``min_duration``/``max_duration``, and the tariff's own start and end if inside;
* changes between charging and parking, and changes of power or current class at meter points
  (the class is which of the tariff's power or current thresholds the value reaches).

Between two meter points energy flows linearly in time; state, power and current are held from the
earlier point (power falls back to the interval's average power). An interval is parking when no
energy flowed in it and its state is a parking state or unknown: energy flowing is never parking.
Energy at a cut inside an interval is interpolated and held to 0.001 Wh; a period's energy is the
difference of the energies at its two ends, so the periods of a session add up exactly to the
energy measured in it.

``end`` may be "now": points after it are ignored and the last interval ends there, so the same
function prices a running session. Before the first point the energy is 0 and the state is the first
point's; with no point at all the session is one period without energy (parking, by the rule above).

Example: charging 16:30-17:30 in Amsterdam under a tariff that changes at 17:00:

    >>> from datetime import UTC, datetime
    >>> from zoneinfo import ZoneInfo
    >>> from evbill.domain.metering.cleaning import ChargingState, MeterPoint
    >>> from evbill.domain.tariffs.model import PriceComponent, Restrictions, TariffDimension, TariffElement
    >>> energy = PriceComponent(TariffDimension.ENERGY, Decimal("0.30"), None)
    >>> before_five = TariffElement((energy,), Restrictions(end_minute=17 * 60))
    >>> tariff = Tariff("T1", "EUR", (before_five, TariffElement((energy,))))
    >>> start, end = datetime(2026, 1, 5, 15, 30, tzinfo=UTC), datetime(2026, 1, 5, 16, 30, tzinfo=UTC)
    >>> series = CleanSeries((
    ...     MeterPoint(start, Decimal(0), state=ChargingState.CHARGING), MeterPoint(end, Decimal(11000)),
    ... ))
    >>> zone = ZoneInfo("Europe/Amsterdam")
    >>> periods = build_periods(series, tariff, zone=zone, start=start, end=end)
    >>> [(f"{period.start.astimezone(zone):%H:%M}", period.energy_wh) for period in periods]
    [('16:30', Decimal('5500.000')), ('17:00', Decimal('5500.000'))]
"""

from __future__ import annotations

import bisect
import decimal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.metering.cleaning import METER_CONTEXT, CleanSeries, MeterPoint, interpolate_energy_wh
from evbill.domain.metering.usage import ChargingPeriod
from evbill.domain.quantities import SECONDS_PER_HOUR, WH_PER_KWH
from evbill.domain.tariffs.model import Restrictions, Tariff

ZERO = Decimal(0)
POWER_QUANTUM = Decimal("0.000001")  # average power in kW, held to a milliwatt
W_PER_KW = Decimal(1000)
_MICROSECOND = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)

ValueClass = tuple[bool, ...] | None


@dataclass(frozen=True, slots=True)
class _Interval:
    """The stretch between two consecutive meter points, with what is held from the first one."""

    start: datetime
    end: datetime
    energy_start_wh: Decimal
    energy_end_wh: Decimal
    parking: bool
    power_kw: Decimal | None
    current_a: Decimal | None

    def energy_at(self, moment: datetime) -> Decimal:
        return interpolate_energy_wh(
            moment, (self.start, self.energy_start_wh), (self.end, self.energy_end_wh)
        )


@dataclass(frozen=True, slots=True)
class _Piece:
    """Part of an interval between two consecutive cuts."""

    start: datetime
    end: datetime
    interval: _Interval


def build_periods(
    series: CleanSeries, tariff: Tariff, *, zone: ZoneInfo, start: datetime, end: datetime
) -> tuple[ChargingPeriod, ...]:
    """Charging periods covering ``start``..``end``, cut wherever ``tariff`` could change the price."""
    start, end = _window(start, end)
    if start == end:
        return ()
    with decimal.localcontext(METER_CONTEXT):
        intervals = _intervals(series.points, start, end)
        cuts: dict[datetime, Decimal | None] = dict.fromkeys(_time_boundaries(tariff, zone, start, end))
        for moment, energy in _energy_crossings(intervals, _energy_thresholds_wh(tariff)).items():
            cuts[moment] = energy if energy is not None else cuts.get(moment)
        return _assemble(intervals, cuts, tariff)


def _window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    problems = [
        Problem(f"$.{name}", "must be timezone-aware")
        for name, moment in (("start", start), ("end", end))
        if moment.tzinfo is None or moment.utcoffset() is None
    ]
    if not problems and end < start:
        problems.append(Problem("$.end", "must not be before start"))
    if problems:
        raise InvalidInput("session window is invalid", tuple(problems))
    return start.astimezone(UTC), end.astimezone(UTC)


def _restrictions(tariff: Tariff) -> tuple[Restrictions, ...]:
    """Restrictions that can apply to charging periods (reservation elements price reservations only)."""
    return tuple(
        element.restrictions
        for element in tariff.elements
        if element.restrictions is not None and element.restrictions.reservation is None
    )


# --- the energy curve --------------------------------------------------------------------------------


def _intervals(points: Sequence[MeterPoint], start: datetime, end: datetime) -> list[_Interval]:
    """Intervals covering exactly start..end; points after ``end`` are ignored."""
    before = [point for point in points if point.timestamp <= start]
    inside = [point for point in points if start < point.timestamp <= end]
    if before:
        anchor = before[-1]
        energy = anchor.energy_wh
        if inside:
            energy = interpolate_energy_wh(
                start, (anchor.timestamp, energy), (inside[0].timestamp, inside[0].energy_wh)
            )
        first = MeterPoint(start, energy, anchor.power_w, anchor.current_a, anchor.state)
    else:
        first = MeterPoint(start, ZERO, state=inside[0].state if inside else None)
    knots = [(first, bool(before)), *((point, True) for point in inside)]
    if knots[-1][0].timestamp < end:
        knots.append((MeterPoint(end, knots[-1][0].energy_wh), False))
    return [
        _interval(earlier, later, measured=earlier_measured and later_measured)
        for (earlier, earlier_measured), (later, later_measured) in pairwise(knots)
    ]


def _interval(earlier: MeterPoint, later: MeterPoint, *, measured: bool) -> _Interval:
    """The interval from ``earlier`` to ``later``; average power only between two measured points."""
    energy = later.energy_wh - earlier.energy_wh
    # Energy flowing is never parking, whatever state was last reported; no energy is parking
    # in a parking state, or when the state is unknown.
    parking = energy == 0 and (earlier.state is None or earlier.state.is_parking)
    power_kw = None if earlier.power_w is None else earlier.power_w / W_PER_KW
    if power_kw is None and measured:
        average = energy * SECONDS_PER_HOUR / _seconds(later.timestamp - earlier.timestamp) / W_PER_KW
        power_kw = average.quantize(POWER_QUANTUM, rounding=decimal.ROUND_HALF_EVEN)
    return _Interval(
        earlier.timestamp,
        later.timestamp,
        earlier.energy_wh,
        later.energy_wh,
        parking,
        power_kw,
        earlier.current_a,
    )


def _seconds(delta: timedelta) -> Decimal:
    """Exact seconds of a timedelta (to the microsecond)."""
    return Decimal(delta // _MICROSECOND).scaleb(-6)


def _energy_thresholds_wh(tariff: Tariff) -> set[Decimal]:
    return {
        kwh * WH_PER_KWH
        for restrictions in _restrictions(tariff)
        for kwh in (restrictions.min_kwh, restrictions.max_kwh)
        if kwh is not None
    }


def _energy_crossings(
    intervals: Sequence[_Interval], thresholds_wh: Iterable[Decimal]
) -> dict[datetime, Decimal | None]:
    """Where the energy since start first reaches each threshold, with the exact energy there.

    The instant is rounded up to the microsecond so that the energy before the new period is never
    below the threshold; the energy at a cut on a meter point is the point's own (None here).
    """
    origin, session_end = intervals[0].energy_start_wh, intervals[-1].end
    crossings: dict[datetime, Decimal | None] = {}
    for threshold in thresholds_wh:
        target = origin + threshold
        reaching = (
            interval for interval in intervals if interval.energy_start_wh < target <= interval.energy_end_wh
        )
        interval = next(reaching, None)
        if interval is None:
            continue
        moment = _crossing_moment(interval, target)
        if moment == interval.end:
            crossings[moment] = None  # reached on a meter point, which has its own exact energy
        else:
            crossings[moment] = max(target, crossings.get(moment) or ZERO)
    crossings.pop(session_end, None)  # reached as the session ends: nothing left to cut
    return crossings


def _crossing_moment(interval: _Interval, target_wh: Decimal) -> datetime:
    length = (interval.end - interval.start) // _MICROSECOND
    numerator = (target_wh - interval.energy_start_wh) * length
    quotient, remainder = divmod(numerator, interval.energy_end_wh - interval.energy_start_wh)
    return interval.start + _MICROSECOND * (int(quotient) + (1 if remainder else 0))


# --- boundaries in time ------------------------------------------------------------------------------


def _time_boundaries(tariff: Tariff, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Local times of day, durations and the tariff's validity that fall strictly inside the session."""
    instants = _local_time_boundaries(tariff, zone, start, end)
    length = _seconds(end - start)
    for restrictions in _restrictions(tariff):
        for seconds in (restrictions.min_duration, restrictions.max_duration):
            if seconds is not None and 0 < seconds < length:
                instants.add(start + timedelta(seconds=seconds))
    for validity in (tariff.start_date_time, tariff.end_date_time):
        if validity is not None:
            instants.add(validity.astimezone(UTC))
    return sorted(instant for instant in instants if start < instant < end)


def _boundary_minutes(tariff: Tariff) -> frozenset[int]:
    """Minutes after local midnight at which some element can start or stop applying."""
    minutes: set[int] = set()
    for r in _restrictions(tariff):
        minutes.update(minute for minute in (r.start_minute, r.end_minute) if minute is not None)
        if (r.start_minute is None) != (r.end_minute is None):
            minutes.add(0)  # a window open on one side ends (or starts) at midnight
        if r.days_of_week is not None or r.start_date is not None or r.end_date is not None:
            minutes.add(0)  # weekdays and dates change at local midnight
    return frozenset(minutes)


def _local_time_boundaries(tariff: Tariff, zone: ZoneInfo, start: datetime, end: datetime) -> set[datetime]:
    minutes = _boundary_minutes(tariff)
    if not minutes:
        return set()
    instants: set[datetime] = set()
    day, last_day = start.astimezone(zone).date() - _DAY, end.astimezone(zone).date() + _DAY
    while day <= last_day:
        for minute in minutes:
            instants.update(_instants_of_local_time(day, time(minute // 60, minute % 60), zone))
        day += _DAY
    return instants


def _instants_of_local_time(day: date, wall: time, zone: ZoneInfo) -> tuple[datetime, ...]:
    """The UTC instants at which the local clock shows ``wall`` on ``day`` (DST-aware).

    Usually one. When the clock is turned back over it: both occurrences and the moment in between
    at which the clock is turned back (the time of day jumps backwards over ``wall`` there). When the
    clock jumps over it: the first instant after the jump (the first moment whose local time is at or
    after ``wall``).
    """
    earlier = datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)
    later = datetime.combine(day, wall.replace(fold=1), tzinfo=zone).astimezone(UTC)
    if earlier == later:
        return (earlier,)
    shown = [instant for instant in sorted((earlier, later)) if _shows(instant, day, wall, zone)]
    if len(shown) == 2:
        return (shown[0], _offset_change(shown[0], shown[1], zone), shown[1])
    if shown:
        return (shown[0],)  # e.g. midnight when the clock goes back from 00:00 to 23:00 the day before
    return (_offset_change(min(earlier, later), max(earlier, later), zone),)


def _shows(instant: datetime, day: date, wall: time, zone: ZoneInfo) -> bool:
    local = instant.astimezone(zone)
    return local.date() == day and local.time() == wall


def _offset(moment: datetime, zone: ZoneInfo) -> timedelta | None:
    return moment.astimezone(zone).utcoffset()


def _offset_change(low: datetime, high: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (low, high] with another UTC offset than ``low`` (one change in between).

    Zones change offset on whole seconds, so a bisection over whole seconds finds it exactly.
    """
    offset = _offset(low, zone)
    base = low - low.microsecond * _MICROSECOND
    below, above = 0, -(-(high - base) // _SECOND)
    while above - below > 1:
        middle = (below + above) // 2
        if _offset(base + middle * _SECOND, zone) == offset:
            below = middle
        else:
            above = middle
    return base + above * _SECOND


# --- periods -----------------------------------------------------------------------------------------


def _thresholds(values: Iterable[Decimal | None]) -> tuple[Decimal, ...]:
    return tuple(sorted({value for value in values if value is not None}))


def _value_class(value: Decimal | None, thresholds: Sequence[Decimal]) -> ValueClass:
    """Which thresholds the value reaches; unknown values are their own class (they match nothing)."""
    if not thresholds:
        return ()
    return None if value is None else tuple(value >= threshold for threshold in thresholds)


def _pieces(intervals: Sequence[_Interval], cuts: Iterable[datetime]) -> list[_Piece]:
    starts = [interval.start for interval in intervals]
    moments = sorted({*starts, *cuts})
    ends = [*moments[1:], intervals[-1].end]
    return [
        _Piece(moment, piece_end, intervals[bisect.bisect_right(starts, moment) - 1])
        for moment, piece_end in zip(moments, ends, strict=True)
    ]


def _assemble(
    intervals: Sequence[_Interval], cuts: dict[datetime, Decimal | None], tariff: Tariff
) -> tuple[ChargingPeriod, ...]:
    restrictions = _restrictions(tariff)
    power_thresholds = _thresholds(value for r in restrictions for value in (r.min_power, r.max_power))
    current_thresholds = _thresholds(value for r in restrictions for value in (r.min_current, r.max_current))
    groups: list[list[_Piece]] = []
    previous_class: object = None
    for piece in _pieces(intervals, cuts):
        interval = piece.interval
        piece_class = (
            interval.parking,
            _value_class(interval.power_kw, power_thresholds),
            _value_class(interval.current_a, current_thresholds),
        )
        if not groups or piece.start in cuts or piece_class != previous_class:
            groups.append([])
        groups[-1].append(piece)
        previous_class = piece_class
    energies = _energies_at([group[0] for group in groups], cuts)
    energies.append(intervals[-1].energy_end_wh)
    return tuple(
        _period(group, energies[index], energies[index + 1], tariff.id) for index, group in enumerate(groups)
    )


def _energies_at(first_pieces: Sequence[_Piece], cuts: dict[datetime, Decimal | None]) -> list[Decimal]:
    """Energy at each period start: exact at crossings, interpolated elsewhere, never decreasing."""
    energies: list[Decimal] = []
    for piece in first_pieces:
        exact = cuts.get(piece.start)
        energy = exact if exact is not None else piece.interval.energy_at(piece.start)
        energies.append(max(energy, energies[-1]) if energies else energy)
    return energies


def _period(
    pieces: Sequence[_Piece], energy_start: Decimal, energy_end: Decimal, tariff_id: str
) -> ChargingPeriod:
    start, end = pieces[0].start, pieces[-1].end
    seconds = _seconds(end - start)
    parking = pieces[0].interval.parking
    powers = [piece.interval.power_kw for piece in pieces if piece.interval.power_kw is not None]
    currents = [piece.interval.current_a for piece in pieces if piece.interval.current_a is not None]
    return ChargingPeriod(
        start,
        end,
        energy_wh=energy_end - energy_start,
        charging_s=ZERO if parking else seconds,
        parking_s=seconds if parking else ZERO,
        min_current=min(currents, default=None),
        max_current=max(currents, default=None),
        min_power=min(powers, default=None),
        max_power=max(powers, default=None),
        tariff_id=tariff_id,
    )
