"""/api/v1/analytics: energy purchase prices per location, and margins.

    PUT /api/v1/analytics/energy-purchases/{location_id}   {"currency": "EUR", "kind": "fixed", ...}
    PUT /api/v1/analytics/energy-prices/{location_id}?unit=mwh&currency=EUR   (text/csv: start,price)
    GET /api/v1/analytics/margin?started_from=...&location_id=...

Prices are decimal strings (never JSON floats); margins are exact sums rounded once.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from evbill.application.analytics import costs as use_cases
from evbill.application.analytics.reports import rounding_of
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.analytics.costs import PriceKind
from evbill.domain.analytics.facts import SessionFilter
from evbill.domain.analytics.margin import margin_text
from evbill.domain.analytics.price_files import PriceUnit, purchase_from, read_price_csv
from evbill.domain.errors import InvalidInput, Problem
from evbill.entrypoints.api.analytics import session_filter
from evbill.entrypoints.api.problems import problem
from evbill.entrypoints.api.query_names import known_query_names
from evbill.entrypoints.api.responses import json_response
from evbill.entrypoints.api.security import actor, services

router = APIRouter(prefix="/analytics", tags=["analytics"], dependencies=[Depends(known_query_names)])
DECIMAL = r"^-?\d{1,13}(\.\d{1,10})?$"
LocationId = Annotated[str, Path(max_length=36)]
CSV_TYPES = ("text/csv", "text/plain", "application/csv")


class WindowIn(BaseModel):
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["23:00"])
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["07:00"])
    price: str = Field(pattern=DECIMAL, description="Per kWh, excl. VAT.", examples=["0.12"])
    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4, 5, 6], max_length=7, description="0 = Monday")


class PurchaseIn(BaseModel):
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])
    kind: PriceKind
    fixed_price: str | None = Field(default=None, pattern=DECIMAL, description="Per kWh (kind fixed).")
    windows: list[WindowIn] = Field(default=[], max_length=96, description="Local time (kind time_of_use).")


@router.put("/energy-purchases/{location_id}", summary="How a location buys energy: fixed or time of use")
def put_purchase(
    location_id: LocationId,
    body: PurchaseIn,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    purchase = purchase_from(location_id, body.model_dump())
    use_cases.set_energy_purchase(svc, who, purchase=purchase)
    return json_response(
        {"location_id": location_id, "kind": purchase.kind.value, "currency": purchase.currency}
    )


PRICES_CSV: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "UTF-8 CSV, one price per UTC quarter hour: start (RFC 3339),price.",
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "start,price\n2026-03-03T12:00:00Z,0.20\n2026-03-03T12:15:00Z,0.40\n",
            }
        },
    }
}


@router.put(
    "/energy-prices/{location_id}",
    summary="Import a 15-minute price series (e.g. day-ahead spot); it becomes the location's price",
    openapi_extra=PRICES_CSV,
)
async def put_prices(
    location_id: LocationId,
    request: Request,
    unit: PriceUnit = PriceUnit.KWH,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CSV_TYPES:
        return problem(
            415, "unsupported_media_type", f"send the file as text/csv, not {media_type or 'nothing'}"
        )
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput("the file is not UTF-8 text", (Problem("$", str(error)),)) from None
    points = read_price_csv(text, unit)
    count = await run_in_threadpool(
        lambda: use_cases.import_prices(svc, who, location_id=location_id, points=points, currency=currency)
    )
    return json_response({"imported": count})


@router.get("/margin", summary="Net revenue minus energy cost per session, location and month")
def margin(
    query: SessionFilter = Depends(session_filter),
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    report = use_cases.margin_report(svc, who, query=query)
    return json_response(margin_text(report, rounding_of(svc, who)))
