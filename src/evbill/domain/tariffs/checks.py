"""Checks on a valid tariff that is probably not what its author meant: warnings to read before publishing.

OCPI prices each dimension with the *first* element that has a component for it and whose restrictions
hold; if none holds, the dimension is free. So a tariff can be perfectly valid and still:

* have an element that can never apply (``min_kwh`` 50 with ``max_kwh`` 20, an empty day set ...);
* have a component that is never chosen, because earlier elements pricing the same dimension already
  apply whenever its element does;
* have two restricted elements that overlap, where the earlier one silently wins;
* price a dimension only under restrictions, so sessions outside them get it free (OCPI advises a last
  element without restrictions as the default);
* use steps so coarse that drivers will not understand their bill.

To compare restrictions, each element's conditions become a *region*: a union of boxes over six axes
(minute of the week, date, energy, current, power, session duration; see ``_AXES``). Each box is a
product of half-open intervals: minimums inclusive, maximums exclusive, as OCPI says. Time of day is
decided by ``Restrictions.matches_minute_of_day``, the same function rating uses, so the checks and the
prices agree. Date and weekday are taken as independent, so a region may be a little larger than what
can really happen: an overlap warning may then be too cautious, but a "never chosen" warning never is.

    >>> def energy(price: str) -> PriceComponent:
    ...     return PriceComponent(TariffDimension.ENERGY, Decimal(price), None, 1)
    >>> tariff = Tariff(id="1", currency="EUR", elements=(
    ...     TariffElement((energy("0.20"),), Restrictions(max_power=Decimal(16))),
    ...     TariffElement((energy("0.35"),), Restrictions(max_power=Decimal(32))),
    ...     TariffElement((energy("0.50"),), Restrictions(min_power=Decimal(50), max_power=Decimal(22))),
    ... ))
    >>> for problem in check_tariff(tariff):
    ...     print(problem)  # doctest: +NORMALIZE_WHITESPACE
    warning: $.elements[2]: this element can never apply: min_power (50) is not below max_power (22)
    warning: $.elements[1].price_components[0]: elements[0] and elements[1] both price ENERGY when power
      is below 16 kW; there elements[0] wins, as OCPI uses the first matching element
    warning: $.elements: ENERGY is priced only under restrictions (elements[0], elements[1]) and no
      element covers the other cases: sessions outside those restrictions get ENERGY free; OCPI advises
      ending the list with an element without restrictions as the default
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any, NamedTuple

from evbill.domain.errors import Problem, Severity
from evbill.domain.tariffs.model import (
    MINUTES_PER_DAY,
    DayOfWeek,
    Price,
    PriceComponent,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TariffDimension,
    TariffElement,
)

Interval = tuple[Decimal, Decimal]  # [low, high)
Box = tuple[Interval, ...]  # one interval per axis of _AXES
Region = tuple[Box, ...]  # a union of boxes; () is empty

ZERO = Decimal(0)
INFINITY = Decimal("Infinity")
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
MAX_TIME_STEP_S = 3600
MAX_ENERGY_STEP_WH = 10_000
_TIME_DIMENSIONS = frozenset({TariffDimension.TIME, TariffDimension.PARKING_TIME})
_RESERVATION_DIMENSIONS = frozenset({TariffDimension.FLAT, TariffDimension.TIME})
FIRST_MATCH = "as OCPI uses the first matching element"


class _Axis(NamedTuple):
    label: str
    unit: str
    full: Interval


_AXES = (
    _Axis("time of week", "", (ZERO, Decimal(MINUTES_PER_WEEK))),
    _Axis("date", "", (-INFINITY, INFINITY)),
    _Axis("energy", " kWh", (ZERO, INFINITY)),
    _Axis("current", " A", (ZERO, INFINITY)),
    _Axis("power", " kW", (ZERO, INFINITY)),
    _Axis("session duration", " s", (ZERO, INFINITY)),
)
_FULL_BOX: Box = tuple(axis.full for axis in _AXES)
# (minimum field, maximum field, axis) of each numeric range restriction, in _AXES order.
_RANGES = (
    ("start_date", "end_date", 1),
    ("min_kwh", "max_kwh", 2),
    ("min_current", "max_current", 3),
    ("min_power", "max_power", 4),
    ("min_duration", "max_duration", 5),
)


def check_tariff(tariff: Tariff) -> tuple[Problem, ...]:
    """Warnings about a valid tariff that probably does not charge what its author meant."""
    regions = tuple(region_of(element.restrictions) for element in tariff.elements)
    problems: list[Problem] = []
    for index, element in enumerate(tariff.elements):
        problems += _element_warnings(index, element, regions[index])
    problems += _first_match_warnings(tariff, regions)
    problems += _dimension_warnings(tariff, regions)
    problems += _reservation_warnings(tariff)
    problems += _price_bound_warnings("min_price", tariff.min_price, "minimum-price raise")
    problems += _price_bound_warnings("max_price", tariff.max_price, "maximum-price cut")
    return tuple(problems)


def _warning(path: str, message: str) -> Problem:
    return Problem(path, message, Severity.WARNING)


def _names(indexes: Sequence[int]) -> str:
    return ", ".join(f"elements[{index}]" for index in indexes)


# --- regions -----------------------------------------------------------------------------------------


def region_of(restrictions: Restrictions | None) -> Region:
    """The conditions under which an element applies, as a union of boxes (empty: never)."""
    if restrictions is None:
        return (_FULL_BOX,)
    ranges = [_range_interval(restrictions, low, high, axis) for low, high, axis in _RANGES]
    if any(low >= high for low, high in ranges):
        return ()
    return tuple((week, *ranges) for week in _week_intervals(restrictions))


def _range_interval(restrictions: Restrictions, low_field: str, high_field: str, axis: int) -> Interval:
    low: Any = getattr(restrictions, low_field)
    high: Any = getattr(restrictions, high_field)
    full_low, full_high = _AXES[axis].full
    return (
        full_low if low is None else max(full_low, _number(low)),
        full_high if high is None else _number(high),
    )


def _number(value: Decimal | int | date) -> Decimal:
    return Decimal(value.toordinal()) if isinstance(value, date) else Decimal(value)


def daily_intervals(restrictions: Restrictions) -> tuple[tuple[int, int], ...]:
    """The minutes of a day at which the time-of-day restriction holds, as rating decides it."""
    cuts = {0, MINUTES_PER_DAY} | {
        m for m in (restrictions.start_minute, restrictions.end_minute) if m is not None
    }
    pieces = pairwise(sorted(cuts))
    return tuple((start, end) for start, end in pieces if restrictions.matches_minute_of_day(start))


def _week_intervals(restrictions: Restrictions) -> list[Interval]:
    days = restrictions.days_of_week
    weekdays = range(7) if days is None else sorted(day.weekday for day in days)
    merged: list[Interval] = []
    for weekday in weekdays:
        for start, end in daily_intervals(restrictions):
            low, high = Decimal(weekday * MINUTES_PER_DAY + start), Decimal(weekday * MINUTES_PER_DAY + end)
            if merged and merged[-1][1] == low:  # e.g. MONDAY 22:00-24:00 then TUESDAY 00:00-06:00
                low = merged.pop()[0]
            merged.append((low, high))
    return merged


def covers(boxes: Sequence[Box], target: Box, axis: int = 0) -> bool:
    """Whether the union of ``boxes`` contains every point of ``target`` (a sweep, axis by axis)."""
    if axis == len(target):
        return bool(boxes)
    low, high = target[axis]
    relevant = [box for box in boxes if box[axis][0] < high and box[axis][1] > low]
    cuts = sorted({low, high} | {edge for box in relevant for edge in box[axis] if low < edge < high})
    for start, end in pairwise(cuts):
        spanning = [box for box in relevant if box[axis][0] <= start and box[axis][1] >= end]
        if not spanning or not covers(spanning, target, axis + 1):
            return False
    return True


def _intersection(first: Box, second: Box) -> Box | None:
    box = tuple((max(a[0], b[0]), min(a[1], b[1])) for a, b in zip(first, second, strict=True))
    return None if any(low >= high for low, high in box) else box


def overlap(first: Region, second: Region) -> Region:
    """Where both regions hold (empty if nowhere)."""
    boxes = (_intersection(a, b) for a in first for b in second)
    return tuple(box for box in boxes if box is not None)


# --- describing a box in words -----------------------------------------------------------------------


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _day(weekday: int) -> str:
    return DayOfWeek.from_weekday(weekday % 7).value


def _describe_week(low: int, high: int) -> str:
    first_day, start = divmod(low, MINUTES_PER_DAY)
    last_day, end = divmod(high, MINUTES_PER_DAY)
    if start == end == 0:
        days = " to ".join(dict.fromkeys((_day(first_day), _day(last_day - 1))))
        return f"on {days}"
    if last_day == first_day or (end == 0 and last_day == first_day + 1):
        return f"on {_day(first_day)} {_clock(start)}-{_clock(end or MINUTES_PER_DAY)}"
    return f"from {_day(first_day)} {_clock(start)} to {_day(last_day)} {_clock(end)}"


def _describe_range(axis: _Axis, low: Decimal, high: Decimal) -> str:
    if axis.label == "date":
        first, end = (
            date.fromordinal(int(value)).isoformat() if value.is_finite() else "" for value in (low, high)
        )
        if not first:
            return f"the date is before {end}"
        return f"the date is {first} or later" if not end else f"the date is {first} to before {end}"
    if low == axis.full[0]:
        return f"{axis.label} is below {high}{axis.unit}"
    if high == axis.full[1]:
        return f"{axis.label} is {low}{axis.unit} or more"
    return f"{axis.label} is from {low}{axis.unit} to below {high}{axis.unit}"


def describe(box: Box) -> str:
    """The conditions of a box in plain words, e.g. 'on MONDAY 09:00-18:00, power is below 16 kW'."""
    parts = []
    for axis, (low, high) in zip(_AXES, box, strict=True):
        if (low, high) == axis.full:
            continue
        if axis is _AXES[0]:
            parts.append(_describe_week(int(low), int(high)))
        else:
            parts.append(_describe_range(axis, low, high))
    return ", ".join(parts) or "at any time"


# --- one element at a time ---------------------------------------------------------------------------


def _element_warnings(index: int, element: TariffElement, region: Region) -> list[Problem]:
    path = f"$.elements[{index}]"
    problems: list[Problem] = []
    restrictions = element.restrictions
    if restrictions is not None and not region:
        reasons = _never_reasons(restrictions) or ["its restrictions can never all hold"]
        problems += [_warning(path, f"this element can never apply: {reason}") for reason in reasons]
    if restrictions is not None and restrictions.start_minute is not None:
        if restrictions.start_minute == restrictions.end_minute:
            clock = _clock(restrictions.start_minute)
            problems.append(
                _warning(
                    path,
                    f"start_time and end_time are both {clock}: evbill reads this as the whole day, other "
                    "systems may read it as never; leave both out to mean the whole day",
                )
            )
    for position, component in enumerate(element.price_components):
        message = _step_warning(component)
        if message is not None:
            problems.append(_warning(f"{path}.price_components[{position}]", message))
    return problems


def _never_reasons(restrictions: Restrictions) -> list[str]:
    reasons = []
    for low_field, high_field, axis in _RANGES:
        low: Any = getattr(restrictions, low_field)
        high: Any = getattr(restrictions, high_field)
        if low is not None and high is not None and low >= high:
            reasons.append(f"{low_field} ({low}) is not below {high_field} ({high})")
        elif high is not None and _number(high) <= _AXES[axis].full[0]:
            reasons.append(f"{high_field} is {high}: nothing is below it")
    if restrictions.days_of_week == frozenset():
        reasons.append("day_of_week lists no day")
    if not daily_intervals(restrictions):
        reasons.append(
            f"end_time {_clock(restrictions.end_minute or 0)} without a start_time matches no time of day; "
            "give start_time 00:00 to mean the whole day"
        )
    return reasons


def _step_warning(component: PriceComponent) -> str | None:
    dimension, step = component.dimension, component.step_size
    if dimension in _TIME_DIMENSIONS and step > MAX_TIME_STEP_S:
        return (
            f"{dimension} is billed in steps of {_seconds_in_words(step)}: a driver "
            "who stays one minute pays for a whole step; steps over an hour are unusual and confuse drivers"
        )
    if dimension is TariffDimension.ENERGY and step > MAX_ENERGY_STEP_WH:
        return (
            f"ENERGY is billed in steps of {step} Wh ({_wh_as_kwh(step)} kWh): a driver who charges "
            "1 kWh pays for a whole step; steps over 10 kWh are unusual and confuse drivers"
        )
    return None


def _seconds_in_words(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{seconds} seconds" if rest else f"{seconds} seconds ({minutes} minutes)"


def _wh_as_kwh(wh: int) -> str:
    kwh, rest = divmod(wh, 1000)
    return f"{kwh}" if not rest else f"{kwh}.{rest:03d}".rstrip("0")


# --- first match wins --------------------------------------------------------------------------------


def _context(element: TariffElement) -> ReservationRestriction | None:
    """Charging (None) and each kind of reservation are priced by separate lists of elements."""
    return None if element.restrictions is None else element.restrictions.reservation


def _is_restricted(element: TariffElement) -> bool:
    return element.restrictions is not None and not element.restrictions.is_empty()


def _first_match_warnings(tariff: Tariff, regions: tuple[Region, ...]) -> list[Problem]:
    problems: list[Problem] = []
    for index, element in enumerate(tariff.elements):
        if not regions[index]:
            continue  # already reported as never applying
        priced: set[TariffDimension] = set()
        for position, component in enumerate(element.price_components):
            path = f"$.elements[{index}].price_components[{position}]"
            dimension = component.dimension
            if dimension in priced:
                message = (
                    f"this element already prices {dimension}; only its first {dimension} component is used"
                )
                problems.append(_warning(path, message))
                continue
            priced.add(dimension)
            problems += _rival_warnings(tariff, regions, index, dimension, path)
    return problems


def _rivals(tariff: Tariff, regions: tuple[Region, ...], index: int, dimension: TariffDimension) -> list[int]:
    """Earlier elements that compete with element ``index`` for ``dimension``."""
    context = _context(tariff.elements[index])
    return [
        earlier
        for earlier, element in enumerate(tariff.elements[:index])
        if regions[earlier] and _context(element) is context and element.component(dimension) is not None
    ]


def _rival_warnings(
    tariff: Tariff, regions: tuple[Region, ...], index: int, dimension: TariffDimension, path: str
) -> list[Problem]:
    region, rivals = regions[index], _rivals(tariff, regions, index, dimension)
    rival_boxes = [box for rival in rivals for box in regions[rival]]
    if rivals and all(covers(rival_boxes, box) for box in region):
        alone = [rival for rival in rivals if all(covers(regions[rival], box) for box in region)]
        winners = alone[:1] or [rival for rival in rivals if overlap(region, regions[rival])]
        if len(winners) == 1:
            reason = f"{_names(winners)} also prices {dimension} and applies whenever this element does"
        else:
            reason = f"{_names(winners)} also price {dimension} and together apply whenever this element does"
        return [_warning(path, f"can never be chosen: {reason}, {FIRST_MATCH}")]
    if not _is_restricted(tariff.elements[index]):
        return []  # a fallback after restricted elements is the pattern OCPI advises
    problems = []
    for rival in rivals:
        shared = overlap(region, regions[rival])
        if shared:
            both = f"elements[{rival}] and elements[{index}]"
            message = (
                f"{both} both price {dimension} {_where(shared)}; there elements[{rival}] wins, {FIRST_MATCH}"
            )
            problems.append(_warning(path, message))
    return problems


def _where(region: Region) -> str:
    """The first box of a region in words; "for example" when the region has more pieces."""
    words = describe(region[0])
    if not words.startswith(("on ", "from ", "at ")):
        words = f"when {words}"
    return words if len(region) == 1 else f"for example {words}"


# --- the tariff as a whole ---------------------------------------------------------------------------


def _dimension_warnings(tariff: Tariff, regions: tuple[Region, ...]) -> list[Problem]:
    problems: list[Problem] = []
    dimensions = dict.fromkeys(
        component.dimension for e in tariff.elements for component in e.price_components
    )
    for dimension in dimensions:
        pricing = [index for index, e in enumerate(tariff.elements) if e.component(dimension) is not None]
        if not any(regions[index] for index in pricing):
            never = f"every element that prices it ({_names(pricing)}) can never apply"
            message = f"{dimension} can never be priced: {never}"
            problems.append(_warning("$.elements", message))
            continue
        charging = [index for index in pricing if regions[index] and _context(tariff.elements[index]) is None]
        boxes = [box for index in charging for box in regions[index]]
        if charging and not covers(boxes, _FULL_BOX):
            problems.append(_warning("$.elements", _no_fallback_message(dimension, charging)))
    return problems


def _no_fallback_message(dimension: TariffDimension, indexes: list[int]) -> str:
    return (
        f"{dimension} is priced only under restrictions ({_names(indexes)}) and no element covers the other "
        f"cases: sessions outside those restrictions get {dimension} free; OCPI advises ending the list "
        "with an element without restrictions as the default"
    )


def _reservation_warnings(tariff: Tariff) -> list[Problem]:
    problems: list[Problem] = []
    reservation_elements = [
        (index, element) for index, element in enumerate(tariff.elements) if _context(element) is not None
    ]
    for index, element in reservation_elements:
        for position, component in enumerate(element.price_components):
            if component.dimension not in _RESERVATION_DIMENSIONS:
                path = f"$.elements[{index}].price_components[{position}]"
                unused = f"this {component.dimension} component is never used"
                message = f"a reservation is priced only by FLAT and TIME; {unused}"
                problems.append(_warning(path, message))
    priced = {c.dimension for _, element in reservation_elements for c in element.price_components}
    if reservation_elements and not priced & _RESERVATION_DIMENSIONS:
        message = "there are reservation elements, but none prices TIME or FLAT: reservations are free"
        problems.append(_warning("$.elements", message))
    return problems


def _price_bound_warnings(field: str, price: Price | None, adjustment: str) -> list[Problem]:
    if price is None or price.incl_vat is not None:
        return []
    message = (
        f"has no incl_vat: the VAT on a {adjustment} will be inferred from the session's price components"
    )
    return [_warning(f"$.{field}", message)]
