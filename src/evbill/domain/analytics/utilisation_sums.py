"""Utilisation's timelines summed on integers: the walk of ``utilisation.timelines`` without its segments.

``timelines`` builds a ``Segment`` (two datetimes) for every change of every EVSE and the reports then
group them; over a month of 200 EVSEs (144,000 reports) that walk and the reading of the reports as
datetimes took most of a second. The utilisation and fault reports need only sums: EVSE time per
(EVSE, state[, local day]), the fault notes and the cleaning counts. ``summed_timelines`` walks the same
reports by the same rules (placed time, out of order, duplicates, station hold, offline, several
connectors, charging from sessions, local days) with every moment as integer microseconds since the
epoch, and adds each stretch to its sum instead of keeping it.

``timelines`` stays the definition: ``tests/unit/test_utilisation_sums.py`` holds this walk to it on
generated histories (every grouping, faults, cleaning).

Example: an EVSE Available from 10:00 and Charging from 10:30 in a window 10:00-11:00 gives
``StateTime(evse, None, AVAILABLE, 1_800_000_000)`` and ``StateTime(evse, None, CHARGING, 1_800_000_000)``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from itertools import islice
from operator import le

from evbill.domain.analytics.reports import zone_of
from evbill.domain.analytics.utilisation import (
    _PRECEDENCE,
    _STATUSES,
    MAX_DELAY,
    EvsePlace,
    FaultNote,
    Occupancy,
    StateSums,
    StateTime,
)
from evbill.domain.charging.status_history import NO_ERROR, OFFLINE, STATION

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
_MAX_DELAY = MAX_DELAY // MICROSECOND
_HOLDS = (Occupancy.UNAVAILABLE, Occupancy.FAULTED)
_UNKNOWN = Occupancy.UNKNOWN
_FAULTED = Occupancy.FAULTED
_CHARGEABLE = (Occupancy.OCCUPIED, Occupancy.UNKNOWN)


# A status report as summing reads it, a plain tuple (the driver's own row: no object per report):
# (station id, evse number, connector number, status, received, reported, error code, stored order),
# the times in microseconds since the epoch (UTC); reported (the charger's clock) may be None
Reading = tuple[str, int, int | None, str, int, int | None, str | None, int]


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def moment(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


# A stretch of one EVSE in one state: (EVSE id, state, since, until), microseconds
Stretch = tuple[str, Occupancy, int, int]


def summed_timelines(
    readings: Mapping[str, Sequence[Reading]],
    places: Sequence[EvsePlace],
    *,
    start: datetime,
    end: datetime,
    tolerance: timedelta,
    charging: Mapping[str, Sequence[tuple[datetime, datetime]]],
    by_local_day: bool,
) -> StateSums:
    """``timelines`` + ``with_charging`` + ``state_sums_of``, in one pass over integer times.

    ``readings``: station id -> its reports in arrival order (received time, then storage order), as
    ``StatusHistoryRepository.readings`` gives them."""
    stretches, sums = walked_stretches(
        readings, places, start=start, end=end, tolerance=tolerance, charging=charging
    )
    return summed_stretches(stretches, sums, places, start=start, end=end, by_local_day=by_local_day)


def summed_stretches(
    stretches: Iterable[Stretch], sums: StateSums, places: Sequence[EvsePlace], *, start: datetime,
    end: datetime, by_local_day: bool,
) -> StateSums:  # fmt: skip
    """``sums`` (of ``walked_stretches``) with the stretches' times summed per (EVSE, state[, local day])."""
    zones = {place.evse_id: place.zone for place in places}
    sums.times = _summed(stretches, zones, start, end) if by_local_day else _summed_whole(stretches)
    return sums


def walked_stretches(
    readings: Mapping[str, Sequence[Reading]],
    places: Sequence[EvsePlace],
    *,
    start: datetime,
    end: datetime,
    tolerance: timedelta,
    charging: Mapping[str, Sequence[tuple[datetime, datetime]]],
) -> tuple[list[Stretch], StateSums]:
    """``timelines`` + ``with_charging`` on integer times: the stretches (what ``Segment``s would say),
    and the fault notes and cleaning counts (no times summed yet)."""
    stations: dict[str, dict[int, str]] = {}
    for place in places:
        stations.setdefault(place.station_id, {})[place.evse_number] = place.evse_id
    sums = StateSums()
    stretches: list[Stretch] = []
    walk = _Walk(micros(start), micros(end), tolerance // MICROSECOND, stretches, sums)
    for station_id, evses in stations.items():
        walk.run(station_id, evses, readings.get(station_id, ()))
    return _with_charging(stretches, charging), sums


class _Walk:
    """``utilisation._StationWalk`` on integers, one station at a time (see there for the rules)."""

    def __init__(self, start: int, end: int, tolerance: int, out: list[Stretch], sums: StateSums) -> None:
        self.start, self.end, self.tolerance, self.out, self.sums = start, end, tolerance, out, sums

    def run(self, station_id: str, evses: dict[int, str], readings: Sequence[Reading]) -> None:
        ats, order = self._placed(readings)
        if order is not None:
            ats, readings = [ats[i] for i in order], [readings[i] for i in order]
        placed = zip(ats, readings, strict=True)
        cleaning, start, end, out = self.sums.cleaning, self.start, self.end, self.out
        notes = self.sums.faults
        statuses = _STATUSES
        connectors: dict[int, dict[int | None, Occupancy]] = {number: {} for number in evses}
        shown: dict[int, tuple[Occupancy, int]] = {number: (_UNKNOWN, start) for number in evses}
        hold: Occupancy | None = None
        # a duplicate has the same placed time: the reports of the current placed time are compared,
        # only when there is more than one (the first of a time is never a duplicate)
        seen: set[tuple[int, int | None, str, str | None]] | None = None
        first: Reading = ("", 0, None, "", 0, None, None, 0)
        first_at: int | None = None
        for at, reading in placed:
            _, number, connector, status, _, _, error, _ = reading
            if at != first_at:
                first, first_at, seen = reading, at, None
            else:
                identity = (number, connector, status, error)
                if seen is None:
                    seen = {(first[1], first[2], first[3], first[6])}
                if identity in seen:
                    cleaning.duplicates += 1
                    continue
                seen.add(identity)
            if at >= end:
                break
            state = statuses.get(status, _UNKNOWN)
            if number == STATION or status == OFFLINE:
                shown_at = at if at > start else start
                if status == OFFLINE:
                    hold = None
                    for states in connectors.values():
                        states.clear()
                else:
                    entered = state is _FAULTED and hold is not _FAULTED
                    hold = state if state in _HOLDS else None
                    if (entered or (error is not None and error != NO_ERROR)) and at >= start:
                        notes.append(FaultNote(station_id, moment(at), entered, error))
                for evse_number, (old, since) in shown.items():
                    new = hold or _state_of(connectors[evse_number])
                    if new is not old:
                        if shown_at > since:
                            out.append((evses[evse_number], old, since, shown_at))
                        shown[evse_number] = (new, shown_at)
                continue
            evse_states = connectors.get(number)
            if evse_states is None:
                cleaning.unknown_evse += 1
                continue
            before = evse_states.get(connector)
            evse_states[connector] = state
            if (error is not None and error != NO_ERROR) or (state is _FAULTED and before is not _FAULTED):
                if at >= start:
                    entered = state is _FAULTED and before is not _FAULTED
                    notes.append(FaultNote(station_id, moment(at), entered, error))
            new = hold or (state if len(evse_states) == 1 else _state_of(evse_states))
            old, since = shown[number]
            if new is not old:
                shown_at = at if at > start else start
                if shown_at > since:
                    out.append((evses[number], old, since, shown_at))
                shown[number] = (new, shown_at)
        for number, (old, since) in shown.items():
            if end > since:
                out.append((evses[number], old, since, end))

    def _placed(self, readings: Sequence[Reading]) -> tuple[list[int], list[int] | None]:
        """Each reading's placed time, and the readings' indexes in (placed, arrival) order, None when
        that is their order already (mostly: no report late); corrected and late counted. The sort is
        stable on the placed times alone: equal times keep their arrival order."""
        tolerance, cleaning = self.tolerance, self.sums.cleaning
        ats: list[int] = []
        append = ats.append
        corrected = 0
        # a charger's clock mostly agrees with evbill's: nothing to check then (unless no lead is allowed)
        checked = tolerance < 0
        for reading in readings:
            received, at = reading[4], reading[5]
            if at is None or (at == received and not checked):
                append(received)
                continue
            ahead = at - received
            if ahead > tolerance or -ahead > _MAX_DELAY:
                append(received)
                corrected += 1
            else:
                append(at)
        cleaning.reports += len(ats)
        cleaning.clock_corrected += corrected
        if all(map(le, ats, islice(ats, 1, None))):  # in time order: none is late, none to sort
            return ats, None
        latest: dict[tuple[int, int | None], int] = {}
        late = 0
        for reading, at in zip(readings, ats, strict=True):
            key = (reading[1], reading[2])
            last = latest.get(key)
            if last is not None and at < last:
                late += 1
            else:
                latest[key] = at
        cleaning.out_of_order += late
        return ats, sorted(range(len(ats)), key=ats.__getitem__)


def _state_of(states: dict[int | None, Occupancy]) -> Occupancy:
    present = set(states.values())
    return next((state for state in _PRECEDENCE if state in present), _UNKNOWN)


def _with_charging(
    stretches: list[Stretch], charging: Mapping[str, Sequence[tuple[datetime, datetime]]]
) -> list[Stretch]:
    """``utilisation.with_charging`` on stretches."""
    if not charging:
        return stretches
    spans = {evse_id: [(micros(b), micros(f)) for b, f in found] for evse_id, found in charging.items()}
    result: list[Stretch] = []
    for stretch in stretches:
        evse_id, state, since, until = stretch
        intervals = spans.get(evse_id, ())
        if state not in _CHARGEABLE or not intervals:
            result.append(stretch)
            continue
        at = since
        for begin, finish in intervals:
            low, high = max(begin, since), min(finish, until)
            if low >= high:
                continue
            if low > at:
                result.append((evse_id, state, at, low))
            result.append((evse_id, Occupancy.CHARGING, low, high))
            at = high
        if at < until:
            result.append((evse_id, state, at, until))
    return result


def _summed_whole(stretches: Iterable[Stretch]) -> list[StateTime]:
    totals: defaultdict[tuple[str, Occupancy], int] = defaultdict(int)
    for evse_id, state, since, until in stretches:
        totals[evse_id, state] += until - since
    return [StateTime(evse_id, None, state, value) for (evse_id, state), value in totals.items()]


def _summed(
    stretches: Iterable[Stretch], zones: dict[str, str], start: datetime, end: datetime
) -> list[StateTime]:
    """Per local day: each stretch cut at its location's local midnights (``_local_days``)."""
    calendars = {zone: _Midnights(zone, start, end) for zone in set(zones.values())}
    totals: dict[tuple[str, str, Occupancy], int] = {}
    for evse_id, state, since, until in stretches:
        calendar = calendars[zones[evse_id]]
        at = since
        while at < until:
            day, midnight = calendar.day_of(at)
            following = min(midnight, until)
            key = (evse_id, day, state)
            totals[key] = totals.get(key, 0) + following - at
            at = following
    return [StateTime(evse_id, day, state, value) for (evse_id, day, state), value in totals.items()]


class _Midnights:
    """A zone's local midnights around a window, as microseconds: which local day a moment is in."""

    def __init__(self, zone: str, start: datetime, end: datetime) -> None:
        info = zone_of(zone)
        first = start.astimezone(info).date() - timedelta(days=1)
        last = end.astimezone(info).date() + timedelta(days=2)
        days = [first + timedelta(days=number) for number in range((last - first).days + 1)]
        self.days = [day.isoformat() for day in days]
        self.midnights = [micros(datetime.combine(day, time(0), info)) for day in days]

    def day_of(self, at: int) -> tuple[str, int]:
        """The local date of ``at`` and the next local midnight after it."""
        index = bisect_right(self.midnights, at) - 1
        return self.days[index], self.midnights[index + 1]
