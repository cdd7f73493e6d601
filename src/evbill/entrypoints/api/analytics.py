"""/api/v1/analytics: usage and revenue reports and the peak-usage heatmap, as JSON (or CSV).

    GET /api/v1/analytics/report?group_by=month&started_from=2026-03-01T00:00:00Z&started_to=...
    GET /api/v1/analytics/report.csv?group_by=location
    GET /api/v1/analytics/heatmap?location_id=...

Amounts are decimal strings, each the group's exact sum rounded once with the operator's rounding mode.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime

from evbill.application.analytics import reports as use_cases
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.analytics.tables import COLUMNS
from evbill.entrypoints.api.responses import json_response
from evbill.entrypoints.api.security import actor, services
from evbill.entrypoints.api.sessions import _check_window

router = APIRouter(prefix="/analytics", tags=["analytics"])
Id = Annotated[str | None, Query(max_length=36)]


def session_filter(
    started_from: Annotated[AwareDatetime | None, Query(description="Started at or after.")] = None,
    started_to: Annotated[AwareDatetime | None, Query(description="Started before.")] = None,
    location_id: Id = None,
    station_id: Id = None,
    evse_id: Id = None,
    connector_class: Annotated[str | None, Query(max_length=8)] = None,
    tariff_id: Id = None,
    customer_id: Id = None,
) -> SessionFilter:
    _check_window(started_from=started_from, started_to=started_to)
    return SessionFilter(
        started_from, started_to, location_id, station_id, evse_id, connector_class, tariff_id, customer_id
    )


@router.get("/report", summary="Sessions, time, energy and revenue per group")
def report(
    group_by: GroupBy = GroupBy.TOTAL,
    query: SessionFilter = Depends(session_filter),
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    return json_response(use_cases.shown_report(svc, who, query=query, group_by=group_by))


@router.get("/report.csv", summary="The report as CSV (one row per group, then the totals)")
def report_csv(
    group_by: GroupBy = GroupBy.TOTAL,
    query: SessionFilter = Depends(session_filter),
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    shown = use_cases.shown_report(svc, who, query=query, group_by=group_by)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows([*shown["rows"], *shown["totals"]])  # type: ignore[misc]
    return Response(buffer.getvalue(), media_type="text/csv")


@router.get("/heatmap", summary="Sessions started and hours occupied, local weekday x hour")
def heatmap(
    query: SessionFilter = Depends(session_filter),
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    return json_response(use_cases.shown_heatmap(svc, who, query=query))
