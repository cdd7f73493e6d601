"""Utilisation and fault reports from timelines (``utilisation.timelines``).

``utilisation(segments, group_by)`` sums, per group, the EVSE-seconds spent in each ``Occupancy``;
a share is those seconds over all the group's EVSE-seconds in the window (unknown time included, and
shown, so a station that was offline half the month cannot look half empty). ``occupied`` counts
every busy second (occupied and charging), ``charging`` the charging ones alone.

Groups by day or month are the location's local days and months (DST included): a segment is cut at
local midnight. The heatmap cuts time at every UTC quarter hour (every zone's offset is a whole number
of quarter hours, so no slice crosses a local hour) and counts each slice for the local weekday and
hour at its start; each cell gives the busy hours and the share of the cell's known time that was busy.

``faults(timelines)`` gives, per station with a fault or an error code in the window: how many times a
connector (or the station) went into Faulted, the EVSE-seconds faulted, and the last error code named.

Example (``tests/unit/test_utilisation.py``): one EVSE, a window of 2 h, Charging for 30 min and
Finishing for 15 min gives occupied 45 min of 120, an occupied share of 0.3750, charging 0.2500.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from evbill.domain.analytics.facts import ZERO
from evbill.domain.analytics.reports import zone_of
from evbill.domain.analytics.utilisation import (
    BUSY,
    Cleaning,
    EvsePlace,
    FaultNote,
    Occupancy,
    Segment,
    StateSums,
    StateTime,
    Timelines,
)
from evbill.domain.money import PRECISE_CONTEXT

QUARTER = timedelta(minutes=15)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
QUARTER_US = 900_000_000
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHARE = Decimal("0.0001")
HOURS = Decimal("0.01")
BASIS = (
    "Shares of EVSE time in the window. occupied = a vehicle at the EVSE (Preparing, Charging, "
    "SuspendedEV/EVSE, Finishing, Occupied), charging = part of it, from the status reports and the "
    "sessions' charging periods. unknown = no report yet, or the station was offline; it is not available."
)


class UtilisationGroup(enum.StrEnum):
    TOTAL = "total"
    LOCATION = "location"
    STATION = "station"
    EVSE = "evse"
    CONNECTOR_CLASS = "connector_class"
    DAY = "day"
    MONTH = "month"


@dataclass(slots=True)
class UtilisationRow:
    key: str
    evses: set[str] = field(default_factory=set)
    micros: dict[Occupancy, int] = field(default_factory=lambda: dict.fromkeys(Occupancy, 0))

    @property
    def seconds(self) -> dict[Occupancy, Decimal]:
        return {state: _seconds(value) for state, value in self.micros.items()}

    @property
    def total(self) -> Decimal:
        return _seconds(sum(self.micros.values()))

    @property
    def busy(self) -> Decimal:
        return _seconds(self.micros[Occupancy.OCCUPIED] + self.micros[Occupancy.CHARGING])


def _key_of(group_by: UtilisationGroup) -> Callable[[Segment], str]:
    keys: dict[UtilisationGroup, Callable[[Segment], str]] = {
        UtilisationGroup.TOTAL: lambda s: "total",
        UtilisationGroup.LOCATION: lambda s: s.place.location_id,
        UtilisationGroup.STATION: lambda s: s.place.station_id,
        UtilisationGroup.EVSE: lambda s: s.place.evse_id,
        UtilisationGroup.CONNECTOR_CLASS: lambda s: s.place.connector_class,
        UtilisationGroup.DAY: lambda s: s.start.astimezone(zone_of(s.place.zone)).strftime("%Y-%m-%d"),
        UtilisationGroup.MONTH: lambda s: s.start.astimezone(zone_of(s.place.zone)).strftime("%Y-%m"),
    }
    return keys[group_by]


def utilisation(segments: Iterable[Segment], group_by: UtilisationGroup) -> tuple[UtilisationRow, ...]:
    key_of = _key_of(group_by)
    cut = group_by in (UtilisationGroup.DAY, UtilisationGroup.MONTH)
    rows: dict[str, UtilisationRow] = {}
    for whole in segments:
        for segment in _local_days(whole) if cut else (whole,):
            key = key_of(segment)
            row = rows.get(key) or rows.setdefault(key, UtilisationRow(key))
            row.evses.add(segment.place.evse_id)
            row.micros[segment.state] += (segment.end - segment.start) // MICROSECOND
    return tuple(rows[key] for key in sorted(rows))


def utilisation_of_sums(
    times: Iterable[StateTime], places: Sequence[EvsePlace], group_by: UtilisationGroup
) -> tuple[UtilisationRow, ...]:
    """``utilisation`` from EVSE time already summed per (EVSE, state[, local day]): the same rows."""
    place_of = {place.evse_id: place for place in places}
    keys: dict[UtilisationGroup, Callable[[StateTime], str]] = {
        UtilisationGroup.TOTAL: lambda t: "total",
        UtilisationGroup.LOCATION: lambda t: place_of[t.evse_id].location_id,
        UtilisationGroup.STATION: lambda t: place_of[t.evse_id].station_id,
        UtilisationGroup.EVSE: lambda t: t.evse_id,
        UtilisationGroup.CONNECTOR_CLASS: lambda t: place_of[t.evse_id].connector_class,
        UtilisationGroup.DAY: lambda t: str(t.day),
        UtilisationGroup.MONTH: lambda t: str(t.day)[:7],
    }
    key_of = keys[group_by]
    rows: dict[str, UtilisationRow] = {}
    for time_in_state in times:
        key = key_of(time_in_state)
        row = rows.get(key) or rows.setdefault(key, UtilisationRow(key))
        row.evses.add(time_in_state.evse_id)
        row.micros[time_in_state.state] += time_in_state.micros
    return tuple(rows[key] for key in sorted(rows))


def state_sums_of(found: Timelines, *, by_local_day: bool) -> StateSums:
    """The walked timelines summed per (EVSE, state[, local day]): what ``utilisation_of_sums`` reads."""
    micros: dict[tuple[str, str | None, Occupancy], int] = {}
    for whole in found.segments:
        for segment in _local_days(whole) if by_local_day else (whole,):
            day = (
                segment.start.astimezone(zone_of(segment.place.zone)).strftime("%Y-%m-%d")
                if by_local_day
                else None
            )
            key = (segment.place.evse_id, day, segment.state)
            micros[key] = micros.get(key, 0) + (segment.end - segment.start) // MICROSECOND
    times = [StateTime(evse_id, day, state, value) for (evse_id, day, state), value in micros.items()]
    return StateSums(times, list(found.faults), found.cleaning)


def total_of(rows: Iterable[UtilisationRow]) -> tuple[UtilisationRow, ...]:
    """The rows' sums as one row (none when there are no rows), without walking the segments again."""
    total = UtilisationRow("total")
    for row in rows:
        total.evses |= row.evses
        for state, value in row.micros.items():
            total.micros[state] += value
    return (total,) if total.evses else ()


def _local_days(segment: Segment) -> Iterator[Segment]:
    """The segment cut at each local midnight of its location."""
    zone = zone_of(segment.place.zone)
    moment = segment.start
    while moment < segment.end:
        local_day = moment.astimezone(zone).date()
        midnight = datetime.combine(local_day + timedelta(days=1), time(0), zone)
        midnight = midnight.astimezone(segment.end.tzinfo)
        following = min(midnight, segment.end)
        yield Segment(segment.place, segment.state, moment, following)
        moment = following


@dataclass(frozen=True, slots=True)
class OccupancyHeatmap:
    busy_s: tuple[tuple[Decimal, ...], ...]  # [weekday][hour], EVSE-seconds occupied or charging
    known_s: tuple[tuple[Decimal, ...], ...]  # [weekday][hour], EVSE-seconds with a known state
    arrivals: tuple[tuple[int, ...], ...]  # [weekday][hour], busy stretches that began then


def occupancy_heatmap(segments: Iterable[Segment]) -> OccupancyHeatmap:
    """The heatmap of segments, cut at every local hour by asking the zone's offset at every UTC quarter
    hour (``_local_hours``): the definition ``occupancy_heatmap_of`` is held to."""
    zones: dict[str, str] = {}
    stretches = []
    for segment in segments:
        zones[segment.place.evse_id] = segment.place.zone
        stretches.append((segment.place.evse_id, segment.state, _micros(segment.start), _micros(segment.end)))
    busy = [[0] * 24 for _ in range(7)]  # microseconds
    known = [[0] * 24 for _ in range(7)]
    arrivals = [[0] * 24 for _ in range(7)]
    busy_until: dict[str, int] = {}
    offsets = _Offsets()
    for evse_id, state, start, end in sorted(stretches, key=_evse_and_start):
        if state is Occupancy.UNKNOWN:
            continue
        zone = zones[evse_id]
        is_busy = state in BUSY
        if is_busy:
            if busy_until.get(evse_id) != start:
                weekday, hour = _weekday_hour(start + offsets.at(zone, start))
                arrivals[weekday][hour] += 1
            busy_until[evse_id] = end
        for weekday, hour, length in _local_hours(start, end, zone, offsets):
            known[weekday][hour] += length
            if is_busy:
                busy[weekday][hour] += length
    return _heatmap(busy, known, arrivals)


def _heatmap(busy: list[list[int]], known: list[list[int]], arrivals: list[list[int]]) -> OccupancyHeatmap:
    return OccupancyHeatmap(
        tuple(tuple(_seconds(value) for value in day) for day in busy),
        tuple(tuple(_seconds(value) for value in day) for day in known),
        tuple(map(tuple, arrivals)),
    )


def occupancy_heatmap_of(
    stretches: Iterable[tuple[str, Occupancy, int, int]], zones: Mapping[str, str]
) -> OccupancyHeatmap:
    """The heatmap of (EVSE id, state, since, until) stretches, UTC microseconds, each EVSE's in time
    order (as the walk gives them); ``zones``: EVSE id -> its location's zone. ``occupancy_heatmap``'s
    numbers, with the local hours found by arithmetic: a zone's offset is constant between its changes
    (``_OffsetSpans``, found once per report), and within such a span local hour h (counted from the
    epoch) is the cell ``(h + 72) % 168`` of the week (1 January 1970 was a Thursday)."""
    cells = {state: [0] * 168 for state in Occupancy}  # [weekday * 24 + hour], microseconds per state
    arrivals = [0] * 168
    busy_until: dict[str, int] = {}
    spans: dict[str, _OffsetSpans] = {}
    unknown, busy_states, hour_us = Occupancy.UNKNOWN, BUSY, HOUR_US
    current: str | None = None  # the zone whose spans are at hand, known over [low, high)
    bounds: list[int] = []
    offsets: list[int] = []
    low = high = 0
    for evse_id, state, start, end in stretches:
        if state is unknown:
            continue
        zone = zones[evse_id]
        if zone != current or start < low or end > high:
            found = spans.get(zone)
            if found is None:
                found = spans[zone] = _OffsetSpans(zone)
            bounds, offsets, low, high = found.around(start, end)
            current = zone
        if bounds:
            index = bisect_right(bounds, start)
            offset = offsets[index]
        else:  # no change of offset around the window (a zone without DST, or none in it)
            index, offset = 0, offsets[0]
        into = cells[state]
        if state in busy_states:
            if busy_until.get(evse_id) != start:
                arrivals[((start + offset) // hour_us + 72) % 168] += 1
            busy_until[evse_id] = end
        if index == len(bounds) or end <= bounds[index]:  # one offset throughout (all but a DST night's)
            local, local_end = start + offset, end + offset
            hour, last = local // hour_us, (local_end - 1) // hour_us
            if hour == last:
                into[(hour + 72) % 168] += local_end - local
            else:
                into[(hour + 72) % 168] += (hour + 1) * hour_us - local
                for whole in range(hour + 1, last):
                    into[(whole + 72) % 168] += hour_us
                into[(last + 72) % 168] += local_end - last * hour_us
            continue
        moment = start
        while True:
            until = bounds[index] if index < len(bounds) and bounds[index] < end else end
            local, local_end = moment + offset, until + offset
            hour, last = local // hour_us, (local_end - 1) // hour_us
            if hour == last:  # within one local hour
                cell = (hour + 72) % 168
                into[cell] += local_end - local
            else:  # the rest of the first hour, whole hours, the start of the last
                into[(hour + 72) % 168] += (hour + 1) * hour_us - local
                for whole in range(hour + 1, last):
                    into[(whole + 72) % 168] += hour_us
                into[(last + 72) % 168] += local_end - last * hour_us
            if until == end:
                break
            moment = until
            index += 1
            offset = offsets[index]
    busy = [sum(by_state) for by_state in zip(*(cells[state] for state in BUSY), strict=True)]
    seen = [cells[state] for state in Occupancy if state is not unknown]
    known = [sum(by_state) for by_state in zip(*seen, strict=True)]
    return _heatmap(
        [busy[day * 24 : day * 24 + 24] for day in range(7)],
        [known[day * 24 : day * 24 + 24] for day in range(7)],
        [arrivals[day * 24 : day * 24 + 24] for day in range(7)],
    )


class _OffsetSpans:
    """A zone's UTC offset as spans of UTC microseconds: ``bounds`` are the UTC quarter hours at which
    the offset changes (ascending), ``offsets[i]`` holds before ``bounds[i]`` (and the last after the
    last bound). Zones change offset only on UTC quarter hours, so each quarter of the stretches' range
    is asked once (a month is 2,880 quarters), and only the first time a range is needed."""

    def __init__(self, zone: str) -> None:
        self._zone = zone_of(zone)
        self._low = self._high = 0  # the quarters [low, high) are known (none yet)
        self.bounds: list[int] = []
        self.offsets: list[int] = []

    def around(self, start: int, end: int) -> tuple[list[int], list[int], int, int]:
        """The bounds and offsets, known at least over [start, end), and the range known (microseconds)."""
        low, high = start // QUARTER_US, -(-end // QUARTER_US) + 1
        if self._low == self._high:
            self._find(low, high + 4 * 96)
        elif low < self._low or high > self._high:
            # grown by at least what is known already (a report's stretches come in no order of time
            # across EVSEs): each quarter is asked a few times at most, not once per stretch
            size = self._high - self._low
            self._find(min(low, self._low - size) if low < self._low else self._low,
                       max(high, self._high + size) if high > self._high else self._high)  # fmt: skip
        return self.bounds, self.offsets, self._low * QUARTER_US, self._high * QUARTER_US

    def _offset(self, quarter: int) -> int:
        utc_offset = (EPOCH + timedelta(microseconds=quarter * QUARTER_US)).astimezone(self._zone).utcoffset()
        return 0 if utc_offset is None else utc_offset // MICROSECOND

    def _find(self, low: int, high: int) -> None:
        self._low, self._high = low, high
        bounds: list[int] = []
        offsets = [self._offset(low)]
        for quarter in range(low + 1, high):
            offset = self._offset(quarter)
            if offset != offsets[-1]:
                bounds.append(quarter * QUARTER_US)
                offsets.append(offset)
        self.bounds, self.offsets = bounds, offsets


def _evse_and_start(stretch: tuple[str, Occupancy, int, int]) -> tuple[str, int]:
    return stretch[0], stretch[2]


def _seconds(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-6)


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def _weekday_hour(local_micros: int) -> tuple[int, int]:
    day, within = divmod(local_micros, DAY_US)
    return (day + 3) % 7, within // HOUR_US  # 1 January 1970 was a Thursday (3)


class _Offsets:
    """A zone's UTC offset (microseconds) per UTC quarter hour, remembered: zones change offset only
    on quarter hours, and a report asks for the same few thousand again and again."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int], int] = {}

    def at(self, zone: str, micros: int) -> int:
        key = (zone, micros // QUARTER_US)
        offset = self._known.get(key)
        if offset is None:
            moment = EPOCH + timedelta(microseconds=key[1] * QUARTER_US)
            utc_offset = moment.astimezone(zone_of(zone)).utcoffset()
            offset = self._known[key] = 0 if utc_offset is None else utc_offset // MICROSECOND
        return offset


def _local_hours(start: int, end: int, zone: str, offsets: _Offsets) -> Iterator[tuple[int, int, int]]:
    """[start, end) (UTC microseconds) cut at every local hour: (weekday, hour, microseconds).

    Local time is UTC plus the zone's offset; a local hour starts at every multiple of 3,600 s of it.
    The offset is taken again at every UTC quarter hour where it could change (a DST night), so each
    slice is counted in the local hour it really was: on the night clocks go back, 02:00-03:00 twice.
    """
    moment = start
    while moment < end:
        quarter_end = (moment // QUARTER_US + 1) * QUARTER_US
        offset = offsets.at(zone, moment)
        # the offset holds at least until the next quarter hour; jump further while it still holds
        following = min((((moment + offset) // HOUR_US + 1) * HOUR_US) - offset, end)
        if following > quarter_end and offsets.at(zone, following - 1) != offset:
            following = quarter_end
        weekday, hour = _weekday_hour(moment + offset)
        yield weekday, hour, following - moment
        moment = following


@dataclass(slots=True)
class StationFaults:
    station_id: str
    faults: int = 0
    faulted_s: Decimal = ZERO
    last_error_code: str | None = None
    last_error_at: datetime | None = None


def faults(found: Timelines) -> tuple[StationFaults, ...]:
    """Stations with a fault or an error code in the window, the most faulted time first."""
    faulted: dict[str, int] = {}
    for segment in found.segments:
        if segment.state is Occupancy.FAULTED:
            station_id = segment.place.station_id
            faulted[station_id] = faulted.get(station_id, 0) + (segment.end - segment.start) // MICROSECOND
    return faults_of(found.faults, faulted)


def faults_of_sums(sums: StateSums, places: Sequence[EvsePlace]) -> tuple[StationFaults, ...]:
    station_of = {place.evse_id: place.station_id for place in places}
    faulted: dict[str, int] = {}
    for time_in_state in sums.times:
        if time_in_state.state is Occupancy.FAULTED:
            station_id = station_of[time_in_state.evse_id]
            faulted[station_id] = faulted.get(station_id, 0) + time_in_state.micros
    return faults_of(sums.faults, faulted)


def faults_of(notes: Iterable[FaultNote], faulted_micros: dict[str, int]) -> tuple[StationFaults, ...]:
    """``faults`` from the fault notes (in the walk's order) and each station's faulted EVSE-microseconds."""
    stations: dict[str, StationFaults] = {}

    def of(station_id: str) -> StationFaults:
        return stations.get(station_id) or stations.setdefault(station_id, StationFaults(station_id))

    for note in notes:
        entry = of(note.station_id)
        entry.faults += note.entered_fault
        if note.error_code is not None and note.error_code != "NoError":
            if entry.last_error_at is None or note.at >= entry.last_error_at:
                entry.last_error_code, entry.last_error_at = note.error_code, note.at
    for station_id, micros in faulted_micros.items():
        if micros > 0:
            of(station_id).faulted_s = _seconds(micros)
    return tuple(sorted(stations.values(), key=lambda e: (-e.faulted_s, -e.faults, e.station_id)))


# Text, as the API, the CLI and the CSV show it


def share(part: Decimal, whole: Decimal) -> str:
    if not whole:
        return "0.0000"
    return format(PRECISE_CONTEXT.divide(part, whole).quantize(SHARE, ROUND_HALF_EVEN, PRECISE_CONTEXT), "f")


def hours(value: Decimal) -> str:
    return format((value / 3600).quantize(HOURS, ROUND_HALF_EVEN, PRECISE_CONTEXT), "f")


def row_text(row: UtilisationRow) -> dict[str, object]:
    total = row.total
    text: dict[str, object] = {"key": row.key, "evses": len(row.evses), "hours": hours(total)}
    text["occupied_share"] = share(row.busy, total)
    for state in Occupancy:
        if state is not Occupancy.OCCUPIED:  # "occupied" is every busy second, charging included
            text[f"{state.value}_share"] = share(row.seconds[state], total)
    text["occupied_hours"] = hours(row.busy)
    text["charging_hours"] = hours(row.seconds[Occupancy.CHARGING])
    return text


COLUMNS = (
    "key", "evses", "hours", "occupied_share", "charging_share", "available_share", "reserved_share",
    "unavailable_share", "faulted_share", "unknown_share", "occupied_hours", "charging_hours",
)  # fmt: skip
FAULT_COLUMNS = ("station_id", "faults", "faulted_hours", "last_error_code", "last_error_at")


def utilisation_text(
    rows: Iterable[UtilisationRow], totals: Iterable[UtilisationRow], cleaning: Cleaning
) -> dict[str, object]:
    return {
        "rows": [_in_columns(row_text(row)) for row in rows],
        "totals": [_in_columns(row_text(row)) for row in totals],
        "reports": {
            "used": cleaning.reports,
            "clock_corrected": cleaning.clock_corrected,
            "out_of_order": cleaning.out_of_order,
            "duplicates": cleaning.duplicates,
            "unknown_evse": cleaning.unknown_evse,
        },  # fmt: skip
        "basis": BASIS,
    }


def _in_columns(text: dict[str, object]) -> dict[str, object]:
    return {column: text[column] for column in COLUMNS}


def faults_text(entries: Iterable[StationFaults]) -> dict[str, object]:
    return {
        "rows": [
            {
                "station_id": entry.station_id,
                "faults": entry.faults,
                "faulted_hours": hours(entry.faulted_s),
                "last_error_code": entry.last_error_code,
                "last_error_at": None if entry.last_error_at is None else entry.last_error_at.isoformat(),
            }
            for entry in entries
        ]
    }


def heatmap_text(heatmap: OccupancyHeatmap) -> dict[str, object]:
    """The shape of ``tables.heatmap_text`` (so ``charts.heatmap_chart`` draws it), plus the shares."""
    return {
        "weekdays": list(WEEKDAYS),
        "hours": list(range(24)),
        "occupied_hours": [[hours(value) for value in day] for day in heatmap.busy_s],
        "occupied_share": [
            [share(busy, known) for busy, known in zip(day, known_day, strict=True)]
            for day, known_day in zip(heatmap.busy_s, heatmap.known_s, strict=True)
        ],
        "starts": [list(day) for day in heatmap.arrivals],  # busy stretches begun: vehicles arriving
    }
