"""Utilisation timelines: what each EVSE was doing at every moment, from the statuses its station reported.

A station reports a status when it changes (``domain.charging.status_history``); between two reports
the state holds. ``timelines`` turns a station's reports into ``Segment``s, one per EVSE and stretch
of one ``Occupancy``, inside a window [start, end):

- **Which clock.** A report is placed at the charger's time unless that cannot be right: more than
  ``tolerance`` after evbill received it (a clock running ahead), or more than ``max_delay`` before
  (a clock never set, a year 1970): then at the received time. Such reports are counted
  (``clock_corrected``). A report minutes or hours old is taken at its own time: chargers queue
  messages while their connection is down and send them late.
- **Out of order, duplicates.** Reports are applied in the order of their placed time (then of
  arrival), so a late one lands where it happened; the same status for the same connector at the same
  time again is a duplicate and is skipped (both counted).
- **Gaps.** Before a connector's first report, and from the moment the station's connection ended
  (evbill's own ``Offline`` report) until the connector's next report, the state is ``UNKNOWN``: an
  offline station is not an available one.
- **One EVSE, several connectors (2.0.1).** The EVSE is charging or occupied when one of its
  connectors is; else available when one is; else faulted, unavailable or reserved; unknown when
  nothing is known of any. A 1.6 report about connector 0 (the whole station) that says Unavailable
  or Faulted holds every EVSE of the station so until connector 0 says otherwise.
- **Charging from sessions.** 2.0.1 says only ``Occupied``: the time a session on the EVSE was
  charging (its rated periods with charging time and no idle time) turns occupied or unknown time into
  ``CHARGING`` (``with_charging``).

Example: Available at 10:00, Charging at 10:15, Finishing at 10:45, Available at 11:00 in a window
10:00-12:00 gives 15 min available, 30 min charging, 15 min occupied, 60 min available.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from evbill.domain.charging.status_history import NO_ERROR, OFFLINE, STATION, StatusReport

DEFAULT_TOLERANCE = timedelta(minutes=10)
MAX_DELAY = timedelta(days=1)


class Occupancy(enum.StrEnum):
    AVAILABLE = "available"
    OCCUPIED = "occupied"  # a vehicle is there, not charging (or not known to be)
    CHARGING = "charging"
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    FAULTED = "faulted"
    UNKNOWN = "unknown"


BUSY = (Occupancy.OCCUPIED, Occupancy.CHARGING)

_STATUSES = {
    "Available": Occupancy.AVAILABLE,
    "Preparing": Occupancy.OCCUPIED,
    "Charging": Occupancy.CHARGING,
    "SuspendedEV": Occupancy.OCCUPIED,
    "SuspendedEVSE": Occupancy.OCCUPIED,
    "Finishing": Occupancy.OCCUPIED,
    "Occupied": Occupancy.OCCUPIED,
    "Reserved": Occupancy.RESERVED,
    "Unavailable": Occupancy.UNAVAILABLE,
    "Faulted": Occupancy.FAULTED,
}
# An EVSE's state from its connectors': the first of this order that one of them is in.
_PRECEDENCE = (
    Occupancy.CHARGING,
    Occupancy.OCCUPIED,
    Occupancy.AVAILABLE,
    Occupancy.RESERVED,
    Occupancy.FAULTED,
    Occupancy.UNAVAILABLE,
)


def occupancy_of(status: str) -> Occupancy:
    """The occupancy a reported status means (1.6 and 2.0.1 names); anything else is unknown."""
    return _STATUSES.get(status, Occupancy.UNKNOWN)


@dataclass(frozen=True, slots=True)
class EvsePlace:
    """An EVSE and where it is: what utilisation groups by."""

    evse_id: str
    station_id: str
    evse_number: int  # 1.6 connector id / 2.0.1 evse id
    location_id: str
    zone: str
    connector_class: str  # AC, DC, HPC


class Segment(NamedTuple):  # a NamedTuple: built hundreds of thousands of times per report
    place: EvsePlace
    state: Occupancy
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class FaultNote:
    """A report that moved a connector or the station into Faulted, or named an error."""

    station_id: str
    at: datetime
    entered_fault: bool
    error_code: str | None


@dataclass(slots=True)
class Cleaning:
    """What was done to the reports: counted, never hidden."""

    reports: int = 0
    clock_corrected: int = 0
    out_of_order: int = 0
    duplicates: int = 0
    unknown_evse: int = 0

    def add(self, other: Cleaning) -> None:
        self.reports += other.reports
        self.clock_corrected += other.clock_corrected
        self.out_of_order += other.out_of_order
        self.duplicates += other.duplicates
        self.unknown_evse += other.unknown_evse


@dataclass(slots=True)
class Timelines:
    segments: list[Segment] = field(default_factory=list)
    faults: list[FaultNote] = field(default_factory=list)
    cleaning: Cleaning = field(default_factory=Cleaning)


class StateTime(NamedTuple):
    """EVSE time in one state, summed (by a database that walks the history itself)."""

    evse_id: str
    day: str | None  # the location's local date (YYYY-MM-DD) when summed per local day
    state: Occupancy
    micros: int  # EVSE-microseconds


@dataclass(slots=True)
class StateSums:
    """The timelines' sums instead of their segments: what utilisation and faults need of them."""

    times: list[StateTime] = field(default_factory=list)
    faults: list[FaultNote] = field(default_factory=list)  # in the walk's order per station
    cleaning: Cleaning = field(default_factory=Cleaning)


def placed_at(report: StatusReport, tolerance: timedelta) -> tuple[datetime, bool]:
    """Where the report goes in time, and whether the charger's clock was set aside."""
    if report.reported_at is None:
        return report.received_at, False
    ahead = report.reported_at - report.received_at
    if ahead > tolerance or -ahead > MAX_DELAY:
        return report.received_at, True
    return report.reported_at, False


def timelines(
    reports: Iterable[StatusReport],
    places: Sequence[EvsePlace],
    *,
    start: datetime,
    end: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> Timelines:
    """Every EVSE of ``places`` in [start, end), from its station's reports (any order; those before
    ``start`` give the state at ``start``)."""
    by_station: dict[str, list[StatusReport]] = {}
    for report in reports:
        by_station.setdefault(report.station_id, []).append(report)
    stations: dict[str, list[EvsePlace]] = {}
    for place in places:
        stations.setdefault(place.station_id, []).append(place)
    result = Timelines()
    for station_id, evses in stations.items():
        _StationWalk(evses, start, end, tolerance, result).run(by_station.get(station_id, []))
    return result


_ZERO = timedelta(0)


def _received(report: StatusReport) -> datetime:
    return report.received_at


def _placed_order(item: tuple[datetime, int, StatusReport]) -> tuple[datetime, int]:
    return item[0], item[1]


class _StationWalk:
    """One station's reports applied in time order, closing a segment whenever an EVSE's state changes."""

    def __init__(
        self, evses: list[EvsePlace], start: datetime, end: datetime, tolerance: timedelta, out: Timelines
    ) -> None:
        self.evses = {place.evse_number: place for place in evses}
        self.start, self.end, self.tolerance, self.out = start, end, tolerance, out
        self.connectors: dict[int, dict[int | None, Occupancy]] = {number: {} for number in self.evses}
        self.station_hold: Occupancy | None = None
        self.shown: dict[int, tuple[Occupancy, datetime]] = {
            number: (Occupancy.UNKNOWN, start) for number in self.evses
        }

    def run(self, reports: list[StatusReport]) -> None:
        placed: list[tuple[datetime, int, StatusReport]] = []
        latest_seen: dict[tuple[int, int | None], datetime] = {}
        tolerance = self.tolerance
        agreed_ok = tolerance >= _ZERO  # a charger's time equal to the received time is then its own
        corrected = out_of_order = 0
        # placed_at inlined: this loop runs once per report (144,000 in a month of 200 EVSEs)
        for arrival, report in enumerate(sorted(reports, key=_received)):
            received, at = report.received_at, report.reported_at
            if at is None or (at is received and agreed_ok):
                at = received
            else:
                ahead = at - received
                if ahead > tolerance or -ahead > MAX_DELAY:
                    at = received
                    corrected += 1
            key = (report.evse_number, report.connector_number)
            last = latest_seen.get(key)
            if last is not None and at < last:
                out_of_order += 1
            else:
                latest_seen[key] = at
            placed.append((at, arrival, report))
        cleaning = self.out.cleaning
        cleaning.reports += len(placed)
        cleaning.clock_corrected += corrected
        cleaning.out_of_order += out_of_order
        placed.sort(key=_placed_order)
        seen: set[tuple[int, int | None, str, datetime, str | None]] = set()
        end = self.end
        for at, _, report in placed:
            identity = (report.evse_number, report.connector_number, report.status, at, report.error_code)
            if identity in seen:
                cleaning.duplicates += 1
                continue
            seen.add(identity)
            if at >= end:
                break
            self.apply(report, at)
        for number in self.evses:
            self.close(number, end)

    def apply(self, report: StatusReport, at: datetime) -> None:
        """Apply one report placed at ``at`` (one before the window counts from its start)."""
        status = report.status
        state = _STATUSES.get(status, Occupancy.UNKNOWN)
        shown_at = at if at > self.start else self.start
        if status == OFFLINE:
            self.station_hold = None
            for states in self.connectors.values():
                states.clear()
            self.refresh(self.evses, shown_at)
            return
        number = report.evse_number
        if number == STATION:
            before = self.station_hold
            self.station_hold = state if state in (Occupancy.UNAVAILABLE, Occupancy.FAULTED) else None
            self.note_fault(report, at, entered=state is Occupancy.FAULTED and before is not state)
            self.refresh(self.evses, shown_at)
            return
        connectors = self.connectors.get(number)
        if connectors is None:
            self.out.cleaning.unknown_evse += 1
            return
        before_connector = connectors.get(report.connector_number)
        connectors[report.connector_number] = state
        entered = state is Occupancy.FAULTED and before_connector is not Occupancy.FAULTED
        if entered or report.error_code not in (None, NO_ERROR):
            self.note_fault(report, at, entered=entered)
        new = self.station_hold or (state if len(connectors) == 1 else self.state_of(number))
        shown, since = self.shown[number]
        if new is not shown:
            if shown_at > since:  # close(number, shown_at) inlined
                self.out.segments.append(Segment(self.evses[number], shown, since, shown_at))
            self.shown[number] = (new, shown_at)

    def note_fault(self, report: StatusReport, at: datetime, *, entered: bool) -> None:
        named = report.error_code not in (None, NO_ERROR)
        if (entered or named) and at >= self.start:
            self.out.faults.append(FaultNote(report.station_id, at, entered, report.error_code))

    def refresh(self, numbers: Iterable[int], at: datetime) -> None:
        for number in numbers:
            state = self.state_of(number)
            if state is not self.shown[number][0]:
                self.close(number, at)
                self.shown[number] = (state, at)

    def state_of(self, number: int) -> Occupancy:
        if self.station_hold is not None:
            return self.station_hold
        states = set(self.connectors[number].values())
        return next((state for state in _PRECEDENCE if state in states), Occupancy.UNKNOWN)

    def close(self, number: int, at: datetime) -> None:
        state, since = self.shown[number]
        if at > since:
            self.out.segments.append(Segment(self.evses[number], state, since, at))
        self.shown[number] = (state, at)


def with_charging(
    segments: Iterable[Segment], charging: Mapping[str, Sequence[tuple[datetime, datetime]]]
) -> list[Segment]:
    """Occupied and unknown time during which a session on the EVSE was charging becomes charging.

    ``charging``: EVSE id -> the intervals its sessions were charging, in time order, not overlapping.
    """
    if not charging:  # no session charged in the window (or 1.6 only): nothing turns into charging
        return list(segments)
    result: list[Segment] = []
    for segment in segments:
        intervals = charging.get(segment.place.evse_id, ())
        if segment.state not in (Occupancy.OCCUPIED, Occupancy.UNKNOWN) or not intervals:
            result.append(segment)
            continue
        moment = segment.start
        for begin, finish in intervals:
            low, high = max(begin, segment.start), min(finish, segment.end)
            if low >= high:
                continue
            if low > moment:
                result.append(Segment(segment.place, segment.state, moment, low))
            result.append(Segment(segment.place, Occupancy.CHARGING, low, high))
            moment = high
        if moment < segment.end:
            result.append(Segment(segment.place, segment.state, moment, segment.end))
    return result
