"""Peak usage: when sessions start and when chargers are occupied, by local weekday x hour.

Each session is spread over the local hours it covers, in its location's time zone, DST included:
time is walked in UTC slices that end at every UTC quarter hour (every zone's offset is a whole
number of quarter hours, so no slice crosses a local hour), and each slice counts for the local
weekday and hour at its start. On the night clocks go back in Europe/Amsterdam (last Sunday of
October), local 02:00-03:00 happens twice, so a session charging through it adds 120 minutes to
Sunday 02h; on the night they go forward, Sunday 02h does not exist and gets nothing.

    cells[weekday][hour]  weekday 0 = Monday ... 6 = Sunday, hour 0..23

Occupancy counts whole seconds: a session occupies [start, end) with both cut to the second below.
``rollup.heatmap_of`` builds the same map from per-quarter sums the database makes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from evbill.domain.analytics.facts import SessionFact, seconds
from evbill.domain.analytics.reports import zone_of

QUARTER = timedelta(minutes=15)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Heatmap:
    starts: tuple[tuple[int, ...], ...]  # sessions started, [weekday][hour]
    occupied_s: tuple[tuple[int, ...], ...]  # seconds an EVSE was occupied, [weekday][hour]

    def occupied_hours(self, weekday: int, hour: int) -> float:
        return self.occupied_s[weekday][hour] / 3600


def heatmap(facts: Iterable[SessionFact]) -> Heatmap:
    starts = [[0] * 24 for _ in range(7)]
    occupied = [[0] * 24 for _ in range(7)]
    for fact in facts:
        zone = zone_of(fact.zone)
        local = fact.started_at.astimezone(zone)
        starts[local.weekday()][local.hour] += 1
        for moment, length in _slices(fact.started_at, fact.ended_at):
            local = moment.astimezone(zone)
            occupied[local.weekday()][local.hour] += length
    return Heatmap(tuple(map(tuple, starts)), tuple(map(tuple, occupied)))


def _slices(start: datetime, end: datetime) -> Iterable[tuple[datetime, int]]:
    """[start, end) cut at every UTC quarter hour: (slice start, whole seconds in it)."""
    moment, end = start.replace(microsecond=0), end.replace(microsecond=0)
    while moment < end:
        floor = moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
        following = min(floor + QUARTER, end)
        yield moment, int(seconds(following - moment))
        moment = following
