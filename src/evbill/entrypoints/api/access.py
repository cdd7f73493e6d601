"""/api/v1 operators, api-keys, audit-log.

A key sees exactly one operator, its own: ``GET /operators`` lists only that one, and any other
operator id is "not found". New keys are shown once, in the response that creates them.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, Field

from evbill.application.access import keys as use_cases
from evbill.application.records import Page, Services
from evbill.domain.access.keys import ApiKey, AuditAction, AuditEntry
from evbill.domain.access.operators import Actor, Operator, Role
from evbill.domain.errors import NotFound
from evbill.domain.money import RoundingMode
from evbill.entrypoints.api.common import Cursor, IfMatch, Limit, PageOut, Strict, etag, expected_version
from evbill.entrypoints.api.resources import page_body
from evbill.entrypoints.api.security import actor, services

router = APIRouter()


class OperatorOut(BaseModel):
    id: str
    name: str
    legal_name: str
    country: str
    default_currency: str
    rounding_mode: RoundingMode
    tax_country: str
    vat_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class OperatorPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    legal_name: str | None = Field(default=None, min_length=1, max_length=255)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    default_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    rounding_mode: RoundingMode | None = None
    tax_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    vat_id: str | None = Field(default=None, max_length=32)


def _operator_out(operator: Operator) -> OperatorOut:
    return OperatorOut.model_validate(operator, from_attributes=True)


def _own(who: Actor, operator_id: str) -> None:
    if operator_id != who.operator_id:
        raise NotFound(f"operator {operator_id!r} not found")


@router.get("/operators", response_model=PageOut[OperatorOut], tags=["operators"], summary="Your operator")
def list_operators(who: Actor = Depends(actor), svc: Services = Depends(services)) -> dict[str, Any]:
    return {"items": [_operator_out(use_cases.get_operator(svc, who))], "next_cursor": None}


@router.get("/operators/{operator_id}", response_model=OperatorOut, tags=["operators"])
def read_operator(
    operator_id: str, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> OperatorOut:
    _own(who, operator_id)
    operator = use_cases.get_operator(svc, who)
    response.headers["ETag"] = etag(operator.version)
    return _operator_out(operator)


@router.patch("/operators/{operator_id}", response_model=OperatorOut, tags=["operators"])
def change_operator(
    operator_id: str,
    body: OperatorPatch,
    response: Response,
    if_match: IfMatch = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> OperatorOut:
    _own(who, operator_id)
    version = expected_version(if_match)
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k == "vat_id"}
    operator = use_cases.update_operator(svc, who, changes, expected_version=version)
    response.headers["ETag"] = etag(operator.version)
    return _operator_out(operator)


class ApiKeyIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    role: Role


class ApiKeyOut(BaseModel):
    id: str
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="The key itself. It is shown only now: store it safely.")


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


@router.get("/api-keys", response_model=PageOut[ApiKeyOut], tags=["api keys"], summary="Every key (one page)")
def list_keys(who: Actor = Depends(actor), svc: Services = Depends(services)) -> dict[str, Any]:
    return page_body(Page(use_cases.list_api_keys(svc, who), None), _key_out)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=NewApiKeyOut, tags=["api keys"])
def create_key(
    body: ApiKeyIn, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> NewApiKeyOut:
    key, presented = use_cases.create_api_key_as(svc, who, role=body.role, name=body.name)
    return NewApiKeyOut(**_key_out(key).model_dump(), key=presented)


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["api keys"])
def revoke_key(
    key_id: str, request: Request, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> Response:
    use_cases.revoke_api_key(svc, who, key_id)  # idempotent: a second revocation records nothing
    request.app.state.key_cache.forget(key_id)  # this worker refuses it from the next request on
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class AuditEntryOut(BaseModel):
    id: str = Field(description="The entry's id (random: it says nothing of other operators' changes).")
    at: datetime
    actor: str
    action: AuditAction
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _entry_out(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        id=entry.entry_id or "",
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        before=entry.before,
        after=entry.after,
    )


@router.get(
    "/audit-log", response_model=PageOut[AuditEntryOut], tags=["audit"], summary="Every change, oldest first"
)
def audit_log(
    limit: Limit = 50,
    cursor: Cursor = None,
    entity_type: Annotated[str | None, Query(max_length=40)] = None,
    entity_id: Annotated[str | None, Query(max_length=36)] = None,
    action: AuditAction | None = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    values = {"entity_type": entity_type, "entity_id": entity_id, "action": action}
    filters = {key: value for key, value in values.items() if value is not None}
    page = use_cases.list_audit(svc, who, filters=filters, cursor=cursor, limit=limit)
    return {"items": [_entry_out(e) for e in page.items], "next_cursor": page.next_cursor}
