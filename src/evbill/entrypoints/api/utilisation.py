"""/api/v1/reports: utilisation and faults from the stations' status history, and occupancy drawn.

    GET /api/v1/reports/utilisation?group_by=location&start=2026-03-01T00:00:00Z&end=2026-04-01T00:00:00Z
    GET /api/v1/reports/utilisation.csv?group_by=evse            one row per group, then the totals
    GET /api/v1/reports/faults?station_id=...                    stations with faults, most faulted first
    GET /api/v1/reports/occupancy                                busy hours per local weekday x hour
    GET /api/v1/reports/occupancy.svg (.png, .html)               the same, drawn

The window is [start, end): by default the 30 days before now. Shares are decimal strings (4 places)
of the group's EVSE time; ``unknown`` is time no status was known (before a first report, while a
station was offline).
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

import csv
import io
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime

from evbill.application.analytics import utilisation as use_cases
from evbill.application.analytics.ports import ChartRenderer
from evbill.application.analytics.utilisation import MAX_WINDOW, UtilisationQuery
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.analytics.charts import ChartFormat
from evbill.domain.analytics.utilisation_report import COLUMNS, UtilisationGroup
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.offers.plans import ConnectorClass
from evbill.entrypoints.api.query_names import known_query_names
from evbill.entrypoints.api.responses import json_response
from evbill.entrypoints.api.security import actor, services
from evbill.entrypoints.api.sessions import _check_window

DEFAULT_DAYS = 30
router = APIRouter(prefix="/reports", tags=["analytics"], dependencies=[Depends(known_query_names)])
Id = Annotated[str | None, Query(max_length=36)]


def utilisation_query(
    request: Request,
    start: Annotated[AwareDatetime | None, Query(description="From (default: end - 30 days).")] = None,
    end: Annotated[AwareDatetime | None, Query(description="Until, excluded (default: now).")] = None,
    location_id: Id = None,
    station_id: Id = None,
    evse_id: Id = None,
    connector_class: Annotated[ConnectorClass | None, Query(description="AC, DC or HPC")] = None,
) -> UtilisationQuery:
    _check_window(start=start, end=end)
    now: datetime = request.app.state.container.services.clock.now()
    until = end or now
    since = start or until - timedelta(days=DEFAULT_DAYS)
    problems = []
    if until <= since:
        problems.append(Problem("query.end", "must be after start"))
    elif until - since > MAX_WINDOW:
        problems.append(Problem("query.end", f"the window is at most {MAX_WINDOW.days} days"))
    if since >= now:
        problems.append(Problem("query.start", "must be in the past"))
    if problems:
        raise InvalidInput("the request is invalid", tuple(problems))
    chosen = None if connector_class is None else connector_class.value
    return UtilisationQuery(since, until, location_id, station_id, evse_id, chosen)


Window = Annotated[UtilisationQuery, Depends(utilisation_query)]


def renderer(request: Request) -> ChartRenderer:
    return request.app.state.container.charts  # type: ignore[no-any-return]


@router.get("/utilisation", summary="Share of EVSE time occupied, charging, available, faulted, unknown")
def utilisation(
    query: Window,
    group_by: UtilisationGroup = UtilisationGroup.TOTAL,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    return json_response(use_cases.shown_utilisation(svc, who, query=query, group_by=group_by))


@router.get("/utilisation.csv", summary="Utilisation as CSV (one row per group, then the totals)")
def utilisation_csv(
    query: Window,
    group_by: UtilisationGroup = UtilisationGroup.TOTAL,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    shown = use_cases.shown_utilisation(svc, who, query=query, group_by=group_by)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows([*shown["rows"], *shown["totals"]])  # type: ignore[misc]
    return Response(buffer.getvalue(), media_type="text/csv")


@router.get("/faults", summary="Stations with faults: how often, how long, the last error code")
def faults(query: Window, who: Actor = Depends(actor), svc: Services = Depends(services)) -> Response:
    return json_response(use_cases.shown_faults(svc, who, query=query))


@router.get("/occupancy", summary="Busy EVSE hours and shares per local weekday x hour (DST-correct)")
def occupancy(query: Window, who: Actor = Depends(actor), svc: Services = Depends(services)) -> Response:
    return json_response(use_cases.shown_occupancy(svc, who, query=query))


@router.get("/occupancy.{output}", summary="The occupancy heatmap drawn: PNG, SVG or self-contained HTML")
def occupancy_chart(
    output: ChartFormat,
    query: Window,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    drawer: ChartRenderer = Depends(renderer),
) -> Response:
    content = use_cases.occupancy_chart(svc, who, query=query, renderer=drawer, output=output)
    return Response(content, media_type=output.media_type)
