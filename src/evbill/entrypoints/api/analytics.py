"""/api/v1/analytics: usage and revenue reports and the peak-usage heatmap, as JSON (or CSV).

    GET /api/v1/analytics/report?group_by=month&started_from=2026-03-01T00:00:00Z&started_to=...
    GET /api/v1/analytics/report.csv?group_by=location        (report.parquet: exact decimal columns)
    GET /api/v1/analytics/heatmap?location_id=...
    GET /api/v1/analytics/heatmap.svg (.png, .html)           the heatmap drawn
    GET /api/v1/analytics/revenue.png?group_by=week (.svg, .html)   net revenue stacked by component
    GET /api/v1/analytics/booked-revenue?group_by=month&from=2026-11-01&to=2026-12-01   from the ledger
    GET /api/v1/analytics/booked-revenue.svg?group_by=month (.png, .html)   it drawn, stacked by kind

Amounts are decimal strings, each the group's exact sum rounded once with the operator's rounding mode.
``/report`` answers with the 1,000 groups of highest gross revenue (highest first) when there are
more (``rows_left_out`` says how many more; the totals are of every session): ``limit`` for another
number, ``all=true`` for every group in key order. ``report.csv`` and ``report.parquet`` (exports)
have every group.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

import csv
import enum
import io
import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime, BeforeValidator

from evbill.application.analytics import booked as booked_cases
from evbill.application.analytics import charts as chart_cases
from evbill.application.analytics import exports
from evbill.application.analytics import reports as use_cases
from evbill.application.analytics.ports import ChartRenderer
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.analytics.booked import Period as BookedPeriod
from evbill.domain.analytics.charts import ChartFormat
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.analytics.tables import COLUMNS
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.offers.plans import ConnectorClass
from evbill.entrypoints.api.query_names import known_query_names
from evbill.entrypoints.api.responses import json_response
from evbill.entrypoints.api.security import actor, services
from evbill.entrypoints.api.sessions import _check_window


def _day_only(value: object) -> object:
    """A local day is written YYYY-MM-DD: an instant (``2026-11-01T00:00:00+05:00``) would lose its time
    and offset without a word, so it is refused (tester)."""
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("a local day, YYYY-MM-DD (no time, no offset: the day is the operator's)")
    return value


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
LocalDay = Annotated[date, BeforeValidator(_day_only)]
# booked revenue's query, as its report and its chart take it
BookedBy = Annotated[BookedPeriod, Query(description="day, week (ISO) or month")]
BookedFrom = Annotated[
    LocalDay | None, Query(alias="from", description="From this local day (the operator's time zone).")
]
BookedTo = Annotated[LocalDay | None, Query(alias="to", description="Until this local day, excluded.")]


class Period(enum.StrEnum):
    """The periods revenue is charted by (a subset of ``GroupBy``, so the API refuses others as 422)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


router = APIRouter(prefix="/analytics", tags=["analytics"], dependencies=[Depends(known_query_names)])
Id = Annotated[str | None, Query(max_length=36)]


def session_filter(
    started_from: Annotated[AwareDatetime | None, Query(description="Started at or after.")] = None,
    started_to: Annotated[AwareDatetime | None, Query(description="Started before.")] = None,
    location_id: Id = None,
    station_id: Id = None,
    evse_id: Id = None,
    connector_class: Annotated[ConnectorClass | None, Query(description="AC, DC or HPC")] = None,
    tariff_id: Id = None,
    customer_id: Id = None,
) -> SessionFilter:
    _check_window(started_from=started_from, started_to=started_to)
    if started_from is not None and started_to is not None and started_to <= started_from:
        raise InvalidInput(
            "the request is invalid", (Problem("query.started_to", "must be after started_from"),)
        )
    return SessionFilter(
        started_from, started_to, location_id, station_id, evse_id,
        None if connector_class is None else connector_class.value, tariff_id, customer_id,
    )  # fmt: skip


@router.get("/report", summary="Sessions, time, energy and revenue per group")
def report(
    group_by: GroupBy = GroupBy.TOTAL,
    query: SessionFilter = Depends(session_filter),
    limit: Annotated[
        int, Query(ge=1, le=100_000, description="At most this many groups, highest gross revenue first.")
    ] = use_cases.DEFAULT_ROWS,
    every: Annotated[bool, Query(alias="all", description="Every group, in key order (no limit).")] = False,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    rows = None if every else limit
    return json_response(use_cases.shown_report(svc, who, query=query, group_by=group_by, limit=rows))


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


@router.get("/report.parquet", summary="The report as Parquet (exact decimal columns; rows, then totals)")
def report_parquet(
    request: Request,
    group_by: GroupBy = GroupBy.TOTAL,
    query: SessionFilter = Depends(session_filter),
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    writer = request.app.state.container.report_files
    content = exports.report_file(svc, who, query=query, group_by=group_by, writer=writer)
    return Response(content, media_type="application/vnd.apache.parquet")


@router.get("/heatmap", summary="Sessions started and hours occupied, local weekday x hour")
def heatmap(
    query: SessionFilter = Depends(session_filter),
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    return json_response(use_cases.shown_heatmap(svc, who, query=query))


def renderer(request: Request) -> ChartRenderer:
    return request.app.state.container.charts  # type: ignore[no-any-return]


@router.get("/heatmap.{output}", summary="The heatmap drawn: PNG, SVG or self-contained HTML")
def heatmap_chart(
    output: ChartFormat,
    query: SessionFilter = Depends(session_filter),
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    drawer: ChartRenderer = Depends(renderer),
) -> Response:
    content = chart_cases.heatmap_chart(svc, who, query=query, renderer=drawer, output=output)
    return Response(content, media_type=output.media_type)


@router.get("/revenue.{output}", summary="Net revenue per day, week or month, stacked by component")
def revenue_chart(
    output: ChartFormat,
    group_by: Annotated[Period, Query(description="day, week or month")] = Period.MONTH,
    query: SessionFilter = Depends(session_filter),
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    drawer: ChartRenderer = Depends(renderer),
) -> Response:
    content = chart_cases.revenue_chart(
        svc, who, query=query, period=GroupBy(group_by.value), renderer=drawer, output=output
    )
    return Response(content, media_type=output.media_type)


@router.get(
    "/booked-revenue",
    summary="Revenue as the ledger booked it: net by kind (subscriptions too), VAT, gross, per period",
)
def booked_revenue(
    group_by: BookedBy = BookedPeriod.MONTH,
    first: BookedFrom = None,
    end: BookedTo = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    """Per period and currency, what issued invoices, receipts, credit notes and voids posted to the
    ledger: net revenue per kind (energy, time, idle, fees, subscriptions), VAT and gross, exact, with a
    totals row per currency. Periods are local to the operator's invoicing time zone (``time_zone``)."""
    return json_response(booked_cases.shown_booked_revenue(svc, who, first=first, end=end, period=group_by))


@router.get(
    "/booked-revenue.{output}",
    summary="Booked revenue drawn: net per period stacked by revenue kind, as PNG, SVG or HTML",
)
def booked_revenue_chart(
    output: ChartFormat,
    group_by: BookedBy = BookedPeriod.MONTH,
    first: BookedFrom = None,
    end: BookedTo = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    drawer: ChartRenderer = Depends(renderer),
) -> Response:
    content = chart_cases.booked_chart(
        svc, who, first=first, end=end, period=group_by, renderer=drawer, output=output
    )
    return Response(content, media_type=output.media_type)
