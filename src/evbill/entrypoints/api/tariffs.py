"""/api/v1 tariffs: OCPI 2.2.1 tariff documents, versioned; where they apply; a price preview.

Tariff documents go in and out as OCPI JSON with exact numbers (a request body is read with its
numbers as decimals; a response writes them back digit for digit). Validation problems come back as
field-level errors with their JSON paths. ``PUT /tariffs/{id}`` publishes a new version (If-Match);
sessions that already started keep the version they started under.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from evbill.application.access.keys import get_operator
from evbill.application.rating.cdrs import check_tariff_document
from evbill.application.records import Page, Services
from evbill.application.tariffs import catalog as catalog
from evbill.domain.access.operators import Actor
from evbill.domain.errors import InvalidInput, NotFound, Problem, StaleVersion
from evbill.domain.money import PreciseMoney, RoundingMode, settle
from evbill.domain.tariffs.catalog import AssignmentScope, TariffAssignment, TariffVersion
from evbill.entrypoints.api.common import Cursor, IfMatch, Limit, PageOut, Strict, etag, expected_version
from evbill.entrypoints.api.resources import page_body, with_etag
from evbill.entrypoints.api.responses import json_response, loads_exact
from evbill.entrypoints.api.security import actor, services

router = APIRouter(tags=["tariffs"])

OCPI_TARIFF_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "description": "An OCPI 2.2.1 Tariff object."},
                "example": {
                    "country_code": "NL",
                    "party_id": "EVB",
                    "id": "AC-STANDARD",
                    "currency": "EUR",
                    "elements": [
                        {"price_components": [{"type": "ENERGY", "price": 0.39, "vat": 21.0, "step_size": 1}]}
                    ],
                    "last_updated": "2026-01-01T00:00:00Z",
                },
            }
        },
    }
}


class ProblemOut(BaseModel):
    path: str
    message: str
    severity: str


class TariffOut(BaseModel):
    id: str
    ocpi_id: str
    name: str
    currency: str
    current_version: int
    version: int
    created_at: datetime
    updated_at: datetime
    document: dict[str, Any] = Field(description="The current version's OCPI 2.2.1 Tariff object.")
    warnings: list[ProblemOut]


class TariffSummaryOut(BaseModel):
    id: str
    ocpi_id: str
    name: str
    currency: str
    current_version: int
    version: int
    created_at: datetime
    updated_at: datetime


class VersionOut(BaseModel):
    id: str
    number: int
    created_at: datetime
    created_by: str
    document: dict[str, Any]


async def _document(request: Request) -> Any:
    data = await request.body()
    try:
        return loads_exact(data)
    except ValueError as error:
        raise InvalidInput("the body is not valid JSON", (Problem("$", str(error)),)) from None


def _problems(problems: tuple[Problem, ...]) -> list[dict[str, str]]:
    return [{"path": p.path, "message": p.message, "severity": p.severity.value} for p in problems]


def _tariff_body(view: catalog.TariffView) -> dict[str, Any]:
    record = view.record
    return {
        "id": record.id,
        "ocpi_id": record.ocpi_id,
        "name": record.name,
        "currency": record.currency,
        "current_version": record.current_version,
        "version": record.version,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "document": view.current.document,
        "warnings": _problems(view.warnings),
    }


def _version_body(version: TariffVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "number": version.number,
        "created_at": version.created_at.isoformat(),
        "created_by": version.created_by,
        "document": version.document,
    }


@router.post(
    "/tariffs",
    status_code=status.HTTP_201_CREATED,
    response_model=TariffOut,
    openapi_extra=OCPI_TARIFF_BODY,
    summary="Create a tariff from an OCPI 2.2.1 Tariff object",
)
async def create_tariff(
    request: Request,
    name: Annotated[str | None, Query(max_length=120)] = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    view = catalog.create_tariff(svc, who, await _document(request), name=name)
    headers = {"ETag": etag(view.record.version), "Location": f"/api/v1/tariffs/{view.record.id}"}
    return json_response(_tariff_body(view), status_code=201, headers=headers)


@router.get("/tariffs", response_model=PageOut[TariffSummaryOut], summary="List tariffs")
def list_tariffs(
    limit: Limit = 50,
    cursor: Cursor = None,
    ocpi_id: Annotated[str | None, Query(max_length=36)] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    filters = {k: v for k, v in {"ocpi_id": ocpi_id, "currency": currency}.items() if v is not None}
    page = catalog.list_tariffs(svc, who, filters=filters, cursor=cursor, limit=limit)
    items = [TariffSummaryOut.model_validate(record, from_attributes=True) for record in page.items]
    return {"items": items, "next_cursor": page.next_cursor}


@router.get("/tariffs/{tariff_id}", response_model=TariffOut, summary="Read a tariff (current version)")
def read_tariff(tariff_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)) -> Response:
    view = catalog.get_tariff(svc, who, tariff_id)
    return json_response(_tariff_body(view), headers={"ETag": etag(view.record.version)})


@router.put(
    "/tariffs/{tariff_id}",
    response_model=TariffOut,
    openapi_extra=OCPI_TARIFF_BODY,
    summary="Publish a new version of a tariff (send If-Match)",
)
async def replace_tariff(
    tariff_id: str,
    request: Request,
    if_match: IfMatch = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    version = expected_version(if_match)
    view = catalog.replace_tariff(svc, who, tariff_id, await _document(request), expected_version=version)
    return json_response(_tariff_body(view), headers={"ETag": etag(view.record.version)})


@router.get(
    "/tariffs/{tariff_id}/versions",
    response_model=PageOut[VersionOut],
    summary="Every version of a tariff (one page: next_cursor is null)",
)
def list_versions(tariff_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)) -> Response:
    items = [_version_body(v) for v in catalog.list_versions(svc, who, tariff_id)]
    return json_response(page_body(Page(items, None), lambda item: item))


@router.get(
    "/tariffs/{tariff_id}/versions/{number}", response_model=VersionOut, summary="One version of a tariff"
)
def read_version(
    tariff_id: str,
    number: Annotated[int, Path(ge=1, le=2**31 - 1, description="Versions count from 1.")],
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    return json_response(_version_body(catalog.get_version(svc, who, tariff_id, number)))


class ValidationOut(BaseModel):
    ok: bool
    problems: list[ProblemOut]


@router.post(
    "/tariffs/validate",
    response_model=ValidationOut,
    openapi_extra=OCPI_TARIFF_BODY,
    summary="Check an OCPI tariff: every error and warning with its JSON path (nothing is stored)",
)
async def validate_tariff(
    request: Request, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> Any:
    del who  # any key may check a tariff
    report = check_tariff_document(codec=svc.ocpi, document=await _document(request))
    return {"ok": report.ok, "problems": _problems(report.problems)}


class SampleSessionIn(Strict):
    start: AwareDatetime = Field(description="When the session starts (with a UTC offset).")
    time_zone: str = Field(min_length=1, max_length=64, description="The location's IANA time zone.")
    charging_minutes: int = Field(ge=1, le=7 * 24 * 60)
    energy_kwh: Decimal = Field(ge=0, le=10_000, max_digits=12, decimal_places=6)
    parking_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)


class PreviewIn(Strict):
    tariff: dict[str, Any] | None = Field(default=None, description="An OCPI Tariff to try (not stored).")
    tariff_id: str | None = Field(default=None, max_length=36, description="Or a stored tariff.")
    session: SampleSessionIn


class PriceOut(BaseModel):
    excl_vat: str
    incl_vat: str


class PreviewOut(BaseModel):
    currency: str
    total_cost: PriceOut = Field(description="Rounded once to the currency's minor unit (operator's mode).")
    exact_total_cost: PriceOut
    explanation: dict[str, Any]
    text: list[str]
    warnings: list[ProblemOut]


@router.post("/tariffs/preview", response_model=PreviewOut, summary="Price a sample session under a tariff")
def preview(body: PreviewIn, who: Actor = Depends(actor), svc: Services = Depends(services)) -> Response:
    if body.session.time_zone not in available_timezones():
        raise InvalidInput(
            "preview is invalid",
            (Problem("$.session.time_zone", f"{body.session.time_zone!r} is not an IANA time zone"),),
        )
    sample = catalog.SampleSession(
        start=body.session.start,
        time_zone=body.session.time_zone,
        charging=timedelta(minutes=body.session.charging_minutes),
        energy_wh=body.session.energy_kwh * 1000,
        parking=timedelta(minutes=body.session.parking_minutes),
    )
    result = catalog.preview_tariff(svc, who, sample=sample, document=body.tariff, tariff_id=body.tariff_id)
    rated = result.rated
    operator_mode = _rounding(svc, who)
    total = {
        "excl_vat": str(
            settle(PreciseMoney(rated.total_cost.excl_vat, rated.currency), operator_mode).as_decimal()
        ),
        "incl_vat": str(
            settle(PreciseMoney(rated.total_cost.incl_vat, rated.currency), operator_mode).as_decimal()
        ),
    }
    exact = {
        "excl_vat": format(rated.total_cost.excl_vat, "f"),
        "incl_vat": format(rated.total_cost.incl_vat, "f"),
    }
    body_out = {
        "currency": rated.currency,
        "total_cost": total,
        "exact_total_cost": exact,
        "explanation": result.explanation.as_dict(),
        "text": result.explanation.as_text().splitlines(),
        "warnings": _problems(result.warnings),
    }
    return json_response(body_out)


def _rounding(svc: Services, who: Actor) -> RoundingMode:
    return get_operator(svc, who).rounding_mode


class AssignmentIn(Strict):
    tariff_id: str = Field(min_length=1, max_length=36)
    scope: AssignmentScope
    scope_id: str | None = Field(
        default=None, max_length=36, description="Empty for the operator-wide default."
    )


class AssignmentOut(BaseModel):
    id: str
    tariff_id: str
    scope: AssignmentScope
    scope_id: str | None


def _assignment_out(assignment: TariffAssignment) -> AssignmentOut:
    return AssignmentOut.model_validate(assignment, from_attributes=True)


ASSIGNMENT_VERSION = 1  # an assignment is never changed, only replaced or removed: its ETag is "1"


@router.get(
    "/tariff-assignments",
    response_model=PageOut[AssignmentOut],
    tags=["tariff assignments"],
    summary="Every tariff assignment (one page: next_cursor is null)",
)
def list_assignments(who: Actor = Depends(actor), svc: Services = Depends(services)) -> dict[str, Any]:
    return page_body(Page(catalog.list_assignments(svc, who), None), _assignment_out)


@router.get(
    "/tariff-assignments/{assignment_id}",
    response_model=AssignmentOut,
    tags=["tariff assignments"],
    summary="One tariff assignment, with its ETag",
)
def read_assignment(
    assignment_id: str, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> AssignmentOut:
    found = [a for a in catalog.list_assignments(svc, who) if a.id == assignment_id]
    if not found:
        raise NotFound(f"tariff assignment {assignment_id!r} not found")
    with_etag(response, ASSIGNMENT_VERSION)
    return _assignment_out(found[0])


@router.post(
    "/tariff-assignments",
    status_code=status.HTTP_201_CREATED,
    response_model=AssignmentOut,
    tags=["tariff assignments"],
    summary="Put a tariff on the operator, a location, a station or an EVSE (replaces that scope's tariff)",
)
def assign(
    body: AssignmentIn, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> AssignmentOut:
    assignment = catalog.assign_tariff(
        svc, who, tariff_id=body.tariff_id, scope=body.scope, scope_id=body.scope_id
    )
    with_etag(response, ASSIGNMENT_VERSION)
    return _assignment_out(assignment)


@router.delete(
    "/tariff-assignments/{assignment_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["tariff assignments"]
)
def unassign(
    assignment_id: str,
    if_match: IfMatch = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    if expected_version(if_match) != ASSIGNMENT_VERSION:
        raise StaleVersion(f"tariff assignment {assignment_id!r} is at version {ASSIGNMENT_VERSION}")
    catalog.remove_assignment(svc, who, assignment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/evses/{evse_id}/tariff",
    response_model=TariffOut,
    tags=["tariff assignments"],
    summary="The tariff that applies at an EVSE right now (most specific assignment)",
)
def tariff_at_evse(evse_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)) -> Response:
    view = catalog.tariff_for_evse(svc, who, evse_id)
    return json_response(_tariff_body(view), headers={"ETag": etag(view.record.version)})
