"""Utilisation, faults and the occupancy heatmap (read-only use cases), from the status history.

    shown_utilisation(services, actor, query=UtilisationQuery(start, end, location_id=...), group_by=...)
    shown_faults(services, actor, query=...)
    shown_occupancy(services, actor, query=...)          hour x weekday, local time
    occupancy_chart(services, actor, query=..., renderer=..., output=ChartFormat.SVG)

The window is [start, end); an end in the future stops at now (what has not happened is not unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from evbill.application.analytics.ports import ChartRenderer
from evbill.application.ledger.bulk import collector_paused
from evbill.application.ports import UnitOfWork
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.analytics import charts
from evbill.domain.analytics.charts import ChartFormat
from evbill.domain.analytics.utilisation import (
    DEFAULT_TOLERANCE,
    MAX_DELAY,
    EvsePlace,
    StateSums,
    Timelines,
    timelines,
    with_charging,
)
from evbill.domain.analytics.utilisation_report import (
    UtilisationGroup,
    faults_of_sums,
    faults_text,
    heatmap_text,
    occupancy_heatmap_of,
    total_of,
    utilisation_of_sums,
    utilisation_text,
)
from evbill.domain.analytics.utilisation_sums import Stretch, summed_stretches, walked_stretches
from evbill.domain.errors import InvalidInput, Problem

MAX_WINDOW = timedelta(days=400)
OCCUPANCY_TITLE = "Hours occupied per EVSE time (local time, from status reports)"


@dataclass(frozen=True, slots=True)
class UtilisationQuery:
    start: datetime
    end: datetime
    location_id: str | None = None
    station_id: str | None = None
    evse_id: str | None = None
    connector_class: str | None = None
    tolerance: timedelta = DEFAULT_TOLERANCE  # how far a charger's clock may be off before it is set aside


def _checked(query: UtilisationQuery, now: datetime) -> tuple[datetime, datetime]:
    problems = []
    if query.end <= query.start:
        problems.append(Problem("end", "must be after the start (the window ends before it starts)"))
    elif query.end - query.start > MAX_WINDOW:
        problems.append(Problem("end", f"a window is at most {MAX_WINDOW.days} days"))
    if query.start >= now:
        problems.append(Problem("start", "the window starts in the future"))
    if problems:
        raise InvalidInput("the utilisation window is not usable", tuple(problems))
    return query.start, min(query.end, now)


def find_timelines(services: Services, actor: Actor, query: UtilisationQuery) -> Timelines:
    """What each EVSE matching the query did in the window, charging time from sessions included."""
    require(actor, Permission.READ)
    start, end = _checked(query, services.clock.now())
    with services.uow(read_only=True) as uow:
        places = _places(uow, actor, query)
        return _walked(uow, actor.operator_id, places, start, end, query.tolerance)


def _places(uow: UnitOfWork, actor: Actor, query: UtilisationQuery) -> list[EvsePlace]:
    return uow.status_history.places(
        actor.operator_id, location_id=query.location_id, station_id=query.station_id,
        evse_id=query.evse_id, connector_class_name=query.connector_class,
    )  # fmt: skip


def _walked(
    uow: UnitOfWork, operator_id: str, places: list[EvsePlace], start: datetime, end: datetime,
    tolerance: timedelta,
) -> Timelines:  # fmt: skip
    """The places' timelines walked here, from their stations' reports."""
    stations = sorted({place.station_id for place in places})
    # a report received up to a day after the window may have happened in it (a charger's queue)
    reports = uow.status_history.reports(operator_id, stations, start, end, MAX_DELAY)
    charging = uow.status_history.charging_intervals(
        operator_id, [place.evse_id for place in places], start, end
    )
    found = timelines(reports, places, start=start, end=end, tolerance=tolerance)
    found.segments = with_charging(found.segments, charging)
    return found


def _walked_stretches(
    services: Services, actor: Actor, query: UtilisationQuery
) -> tuple[list[EvsePlace], list[Stretch], StateSums, datetime, datetime]:
    """The places, their walked stretches, fault notes and cleaning counts (``walked_stretches``), and the
    window. The reports are walked as they arrive (``readings_ahead``): the database reads the next
    stations' while this walks the last ones'."""
    require(actor, Permission.READ)
    start, end = _checked(query, services.clock.now())
    with services.uow(read_only=True) as uow:
        places = _places(uow, actor, query)
        stations = sorted({place.station_id for place in places})
        charging = uow.status_history.charging_intervals(
            actor.operator_id, [place.evse_id for place in places], start, end
        )
        ahead = uow.status_history.readings_ahead(actor.operator_id, stations, start, end, MAX_DELAY)
        with ahead as readings:
            stretches, sums = walked_stretches(
                readings, places, start=start, end=end, tolerance=query.tolerance, charging=charging
            )
    return places, stretches, sums, start, end


def _summed(
    services: Services, actor: Actor, query: UtilisationQuery, *, by_local_day: bool
) -> tuple[list[EvsePlace], StateSums]:
    """The timelines' sums (``utilisation_sums``): the same walk as ``find_timelines``, on integer
    times, without a segment per change."""
    # the cyclic collector paused (``collector_paused``): the reports make a few hundred thousand tuples
    # (rows, stretches) that hold no cycles and live until the report is made; as they pile up, the
    # collector's full passes over every object of the process were more than half this report's CPU
    with collector_paused():
        places, stretches, sums, start, end = _walked_stretches(services, actor, query)
        summed = summed_stretches(stretches, sums, places, start=start, end=end, by_local_day=by_local_day)
    return places, summed


def shown_utilisation(
    services: Services, actor: Actor, *, query: UtilisationQuery, group_by: UtilisationGroup
) -> dict[str, object]:
    by_local_day = group_by in (UtilisationGroup.DAY, UtilisationGroup.MONTH)
    places, sums = _summed(services, actor, query, by_local_day=by_local_day)
    rows = utilisation_of_sums(sums.times, places, group_by)
    return utilisation_text(rows, total_of(rows), sums.cleaning)


def shown_faults(services: Services, actor: Actor, *, query: UtilisationQuery) -> dict[str, object]:
    places, sums = _summed(services, actor, query, by_local_day=False)
    return faults_text(faults_of_sums(sums, places))


def shown_occupancy(services: Services, actor: Actor, *, query: UtilisationQuery) -> dict[str, object]:
    with collector_paused():  # as in _summed
        places, stretches, _, _, _ = _walked_stretches(services, actor, query)
        return heatmap_text(occupancy_heatmap_of(stretches, {place.evse_id: place.zone for place in places}))


def occupancy_chart(
    services: Services,
    actor: Actor,
    *,
    query: UtilisationQuery,
    renderer: ChartRenderer,
    output: ChartFormat,
) -> bytes:
    """The occupancy heatmap drawn: busy hours per local weekday x hour."""
    spec = charts.heatmap_chart(shown_occupancy(services, actor, query=query), title=OCCUPANCY_TITLE)
    return renderer.render(spec, output)
