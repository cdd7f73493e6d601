"""/api/v1 customers, tokens, CSV imports, token authorisation and the price at an EVSE.

Customers and tokens are records like sites: POST creates (201 + ETag), GET reads and lists with
filters and a cursor, PATCH changes only the fields sent (If-Match; null clears an optional field),
DELETE removes (If-Match). A VAT id is checked for the customer's country and stored normalised, on
create and on every change of the VAT id or the country. A token's uid is unique per operator (409).

``POST /tokens/authorize`` answers what a charger would be told about a token (Accepted, Blocked,
Expired, Invalid); ``GET /price`` which tariff applies at an EVSE for a token (or ad hoc, the public
price) and why. ``POST /imports/customers`` and ``/imports/tokens`` take a CSV file as the body: all
rows are stored, or none and every problem is reported by line and column (``line 7.email``).
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures built in
# `build_router` at runtime, and those name models held in local variables.

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from evbill.application.charging import pricing as charging
from evbill.application.offers import imports as imports
from evbill.application.offers.customers import (
    CUSTOMERS,
    TOKENS,
    authorize,
    create_customer,
    update_customer,
)
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.offers.customers import (
    AuthorizationStatus,
    Customer,
    CustomerKind,
    TokenStatus,
    TokenType,
)
from evbill.entrypoints.api.common import (
    Id,
    Strict,
)
from evbill.entrypoints.api.problems import problem
from evbill.entrypoints.api.resources import record_resource, resource_router
from evbill.entrypoints.api.responses import json_response
from evbill.entrypoints.api.security import actor, services

Name = Annotated[str, Field(min_length=1, max_length=imports.MAX_LENGTHS["name"])]
Email = Annotated[str, Field(min_length=3, max_length=imports.MAX_LENGTHS["email"])]
Language = Annotated[str, Field(min_length=2, max_length=2, description="ISO 639-1, e.g. nl")]
Currency = Annotated[str, Field(min_length=3, max_length=3, description="ISO 4217, e.g. EUR")]
Country = Annotated[str, Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2, e.g. NL")]
Address = Annotated[str, Field(max_length=imports.MAX_LENGTHS["address"])]
City = Annotated[str, Field(max_length=imports.MAX_LENGTHS["city"])]
PostalCode = Annotated[str, Field(max_length=imports.MAX_LENGTHS["postal_code"])]
VatId = Annotated[
    str,
    Field(
        min_length=2,
        max_length=imports.MAX_LENGTHS["vat_id"],
        description="Checked for the country and stored normalised, e.g. NL004495445B01.",
    ),
]
TokenUid = Annotated[str, Field(min_length=1, max_length=36, description="What the reader sees.")]
EmaId = Annotated[str, Field(min_length=1, max_length=36, description="eMA id, e.g. NL-EVB-C12345678-X")]


class Record(BaseModel):
    id: str
    version: int
    created_at: datetime
    updated_at: datetime


# Customers


class CustomerIn(Strict):
    kind: CustomerKind
    name: Name
    email: Email | None = None
    language: Language
    currency: Currency
    country: Country
    address: Address | None = None
    city: City | None = None
    postal_code: PostalCode | None = None
    vat_id: VatId | None = None
    parent_id: Id | None = Field(default=None, description="A fleet driver's business account.")


class CustomerPatch(Strict):
    name: Name | None = None
    email: Email | None = None
    language: Language | None = None
    currency: Currency | None = None
    country: Country | None = None
    address: Address | None = None
    city: City | None = None
    postal_code: PostalCode | None = None
    vat_id: VatId | None = None
    parent_id: Id | None = None


class CustomerOut(Record):
    kind: CustomerKind
    name: str
    email: str | None
    language: str
    currency: str
    country: str
    address: str | None
    city: str | None
    postal_code: str | None
    vat_id: str | None
    parent_id: str | None


def _customer_filters(
    kind: CustomerKind | None = None,
    parent_id: Annotated[str | None, Query(max_length=36)] = None,
    email: Annotated[str | None, Query(max_length=254, description="Exact, ignoring case.")] = None,
    name: Annotated[str | None, Query(max_length=255, description="Part of the name, ignoring case.")] = None,
) -> dict[str, object]:
    values = {"kind": kind, "parent_id": parent_id, "email": email, "name": name}
    return {key: value for key, value in values.items() if value is not None}


def _update_customer(
    svc: Services, who: Actor, customer_id: str, changes: dict[str, Any], version: int
) -> Customer:
    return update_customer(svc, who, customer_id, changes, expected_version=version)


# Tokens


class TokenIn(Strict):
    customer_id: Id
    uid: TokenUid
    type: TokenType
    contract_id: EmaId
    status: TokenStatus = TokenStatus.ACTIVE
    valid_until: AwareDatetime | None = Field(default=None, description="No end when null.")


class TokenPatch(Strict):
    customer_id: Id | None = None
    type: TokenType | None = None
    contract_id: EmaId | None = None
    status: TokenStatus | None = None
    valid_until: AwareDatetime | None = None


class TokenOut(Record):
    customer_id: str
    uid: str
    type: TokenType
    contract_id: str
    status: TokenStatus
    valid_until: datetime | None


def _token_filters(
    customer_id: Annotated[str | None, Query(max_length=36)] = None,
    status: TokenStatus | None = None,
    uid: Annotated[str | None, Query(max_length=36)] = None,
) -> dict[str, object]:
    values = {"customer_id": customer_id, "status": status, "uid": uid}
    return {key: value for key, value in values.items() if value is not None}


# Authorisation and price


class AuthorizeIn(Strict):
    uid: TokenUid


class AuthorizationOut(BaseModel):
    status: AuthorizationStatus
    customer_id: str | None
    contract_id: str | None = Field(description="The billing contract that would pay (its id), if any.")


def _authorization_out(result: Any) -> dict[str, Any]:
    customer = result.customer
    return {
        "status": result.status.value,
        "customer_id": None if customer is None else customer.id,
        "contract_id": result.contract_id,
    }


class QuotedTariffOut(BaseModel):
    id: str
    ocpi_id: str
    name: str
    currency: str
    version: int = Field(description="The tariff version in force now.")
    document: dict[str, Any] = Field(description="That version's OCPI 2.2.1 Tariff (exact numbers).")


class PriceOut(BaseModel):
    connector_class: str
    rule: str
    reason: str
    tariff: QuotedTariffOut
    authorization: AuthorizationOut | None = Field(description="Null when asked without a token (ad hoc).")


def _price_body(quote: charging.Quote) -> dict[str, Any]:
    tariff = quote.tariff
    return {
        "connector_class": quote.connector_class.value,
        "rule": quote.choice.rule.value,
        "reason": quote.choice.reason,
        "tariff": {
            "id": tariff.id,
            "ocpi_id": tariff.ocpi_id,
            "name": tariff.name,
            "currency": tariff.currency,
            "version": quote.version.number,
            "document": quote.version.document,
        },
        "authorization": None if quote.authorization is None else _authorization_out(quote.authorization),
    }


# CSV imports


CSV_TYPES = ("text/csv", "text/plain", "application/csv")


def _csv_body(example: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": "A UTF-8 CSV file whose first line names the columns.",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": example}},
        }
    }


CUSTOMERS_CSV = _csv_body(
    "kind,name,email,language,currency,country,address,city,postal_code,vat_id,parent_email\n"
    "BUSINESS,Fleet B.V.,fleet@example.nl,nl,EUR,NL,Damrak 1,Amsterdam,1012 LG,NL004495445B01,\n"
    "INDIVIDUAL,Jan Jansen,jan@example.nl,nl,EUR,NL,,,,,fleet@example.nl\n"
)
TOKENS_CSV = _csv_body(
    "uid,type,contract_id,customer_email,status,valid_until\n"
    "04A2B3C4D5E6F7,RFID,NL-EVB-C00000001-X,jan@example.nl,ACTIVE,2027-12-31T23:00:00Z\n"
)
IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    415: {"description": "The body is not CSV."},
    422: {
        "description": "Nothing was imported; `errors` lists every problem, with paths like `line 7.email`."
    },
}


class ImportOut(BaseModel):
    imported: int = Field(description="How many records were stored (every row of the file).")


async def _run_import(
    request: Request, who: Actor, svc: Services, use_case: Callable[[Services, Actor, str], Any]
) -> Response:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CSV_TYPES:
        return problem(
            415, "unsupported_media_type", f"send the file as text/csv, not {media_type or 'nothing'}"
        )
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput("the file is not UTF-8 text", (Problem("$", str(error)),)) from None
    report = await run_in_threadpool(use_case, svc, who, text)
    if report.ok:
        return json_response({"imported": report.imported})
    errors = [{"path": p.path, "message": p.message, "severity": "error"} for p in report.problems]
    detail = f"{len(errors)} problem(s) in the file; nothing was imported"
    return problem(422, "invalid_input", detail, errors=errors)


def build_router() -> APIRouter:
    router = APIRouter()
    router.include_router(
        resource_router(
            record_resource(
                CUSTOMERS, path="/customers", tag="customers", model_in=CustomerIn, model_patch=CustomerPatch,
                model_out=CustomerOut, filters=_customer_filters, create=create_customer,
                update=_update_customer,
                nullable=frozenset({"email", "address", "city", "postal_code", "vat_id", "parent_id"}),
            )
        )
    )  # fmt: skip
    router.include_router(_extra_routes())
    router.include_router(
        resource_router(
            record_resource(
                TOKENS, path="/tokens", tag="tokens", model_in=TokenIn, model_patch=TokenPatch,
                model_out=TokenOut, filters=_token_filters, nullable=frozenset({"valid_until"}),
            )
        )
    )  # fmt: skip
    return router


def _extra_routes() -> APIRouter:
    router = APIRouter()

    @router.post(
        "/tokens/authorize",
        response_model=AuthorizationOut,
        tags=["tokens"],
        summary="What a charger would be told about a token now: Accepted, Blocked, Expired or Invalid",
    )
    def authorize_token(
        body: AuthorizeIn, who: Actor = Depends(actor), svc: Services = Depends(services)
    ) -> dict[str, Any]:
        return _authorization_out(authorize(svc, who, body.uid))

    @router.get(
        "/price",
        response_model=PriceOut,
        tags=["price"],
        summary="The tariff that applies at an EVSE now for a token (or ad hoc, without one), and why",
    )
    def price(
        evse_id: Annotated[
            str,
            Query(
                min_length=1,
                max_length=48,
                description="evbill's EVSE id, or the OCPI EVSE id (NL*EVB*E1*1).",
            ),
        ],
        token_uid: Annotated[str | None, Query(min_length=1, max_length=36)] = None,
        who: Actor = Depends(actor),
        svc: Services = Depends(services),
    ) -> Response:
        return json_response(_price_body(charging.price_now(svc, who, evse_id=evse_id, token_uid=token_uid)))

    @router.post(
        "/imports/customers", response_model=ImportOut, tags=["imports"], openapi_extra=CUSTOMERS_CSV,
        responses=IMPORT_RESPONSES, summary="Import customers from CSV: every row, or none",
    )  # fmt: skip
    async def import_customers(
        request: Request, who: Actor = Depends(actor), svc: Services = Depends(services)
    ) -> Response:
        return await _run_import(request, who, svc, imports.import_customers_csv)

    @router.post(
        "/imports/tokens", response_model=ImportOut, tags=["imports"], openapi_extra=TOKENS_CSV,
        responses=IMPORT_RESPONSES, summary="Import tokens from CSV: every row, or none",
    )  # fmt: skip
    async def import_tokens(
        request: Request, who: Actor = Depends(actor), svc: Services = Depends(services)
    ) -> Response:
        return await _run_import(request, who, svc, imports.import_tokens_csv)

    return router
