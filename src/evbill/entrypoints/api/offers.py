"""/api/v1 plans, contracts, promotions and bills: what an operator sells, and to whom.

Plans and contracts are versioned, never overwritten: ``POST /plans/{id}/versions`` adds plan terms
from a date and ``POST /contracts/{id}/terms`` contract terms from a date (both with If-Match); reads
return the whole history. A contract moves DRAFT -> ACTIVE <-> SUSPENDED -> ENDED through
``POST /contracts/{id}/status``. ``GET /contracts/{id}/bill?cycle_start=`` previews a cycle's bill
(nothing is recorded); ``POST /contracts/{id}/bill`` bills it and records the promotions it used,
once per cycle however often it is called.

Amounts are decimal strings, exact (``"0.3300000000"``) with the totals also rounded once to the
currency's minor unit in the operator's rounding mode; a document adds up: the rounded total incl.
VAT is the rounded total excl. VAT plus the rounded VAT.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import AwareDatetime, BaseModel, Field, PlainSerializer, model_validator

from evbill.application import records
from evbill.application.access.keys import get_operator
from evbill.application.billing import cycle as billing
from evbill.application.offers import plans as offers
from evbill.application.records import RecordKind, Services
from evbill.domain.access.operators import Actor
from evbill.domain.billing.cycle import Bill, LineKind
from evbill.domain.billing.records import BillState
from evbill.domain.errors import InvalidInput
from evbill.domain.money import PreciseMoney, RoundingMode, settle
from evbill.domain.offers.contracts import (
    Contract,
    ContractStatus,
    ContractTerms,
    FeeRecurrence,
    PaymentMethodKind,
    ServiceFee,
    ServiceKind,
)
from evbill.domain.offers.plans import BillingCycle, ConnectorClass, Plan, PlanKind, PlanVersion
from evbill.domain.offers.promotions import DiscountKind, Duration, Promotion, PromotionKind
from evbill.entrypoints.api.common import (
    Cursor,
    IfMatch,
    Limit,
    PageOut,
    Strict,
    etag,
    expected_version,
    refuse_nulls,
)
from evbill.entrypoints.api.security import actor, services

Id = Annotated[str, Field(min_length=1, max_length=36)]
Amount = Annotated[Decimal, Field(max_digits=28, decimal_places=10)]
Kwh = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=6)]
VatRate = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4, description="Percent.")]
Days = Annotated[int, Field(ge=0, le=365)]
Tariffs = Annotated[
    dict[ConnectorClass, Id],
    Field(max_length=3, description="A tariff id per connector class (AC, DC, HPC)."),
]
Exact = Annotated[
    Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json")
]


router = APIRouter()


def _page(
    svc: Services, who: Actor, kind: RecordKind, where: dict[str, object], cursor: str | None, limit: int
) -> records.Page[Any]:
    return records.list_records(svc, who, kind, filters=where, cursor=cursor, limit=limit)


def _present(values: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in values.items() if value is not None}


# Plans


class PlanVersionIn(Strict):
    effective_from: AwareDatetime | None = Field(default=None, description="Default: now.")
    fee: Amount = Field(default=Decimal(0), ge=0, description="Per fee cycle, excl. VAT.")
    fee_vat: VatRate | None = Field(default=None, description="Null: the fee is not subject to VAT.")
    fee_cycle: BillingCycle = BillingCycle.MONTHLY
    included_kwh: Kwh | None = None
    included_minutes: int | None = Field(default=None, ge=0, le=1_000_000)
    fair_use_kwh: Kwh | None = None
    tariffs: Tariffs = Field(default_factory=dict)


class PlanIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    kind: PlanKind
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    version: PlanVersionIn = Field(description="The plan's first version.")


class PlanVersionOut(BaseModel):
    id: str
    number: int
    effective_from: datetime
    fee: Exact
    fee_vat: Exact | None
    fee_cycle: BillingCycle
    included_kwh: Exact | None
    included_minutes: int | None
    fair_use_kwh: Exact | None
    tariffs: dict[ConnectorClass, str]
    created_at: datetime | None


class PlanSummaryOut(BaseModel):
    id: str
    name: str
    kind: PlanKind
    currency: str
    current_version: int
    version: int
    created_at: datetime
    updated_at: datetime


class PlanOut(PlanSummaryOut):
    versions: list[PlanVersionOut]


def _plan_out(plan: Plan, versions: list[PlanVersion] | Any) -> PlanOut:
    ordered = sorted(versions, key=lambda v: v.number)
    return PlanOut(
        **PlanSummaryOut.model_validate(plan, from_attributes=True).model_dump(),
        versions=[PlanVersionOut.model_validate(v, from_attributes=True) for v in ordered],
    )


@router.post("/plans", status_code=status.HTTP_201_CREATED, response_model=PlanOut, tags=["plans"])
def create_plan(
    body: PlanIn, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> PlanOut:
    """Create a plan with its first version."""
    plan, first = offers.create_plan(
        svc, who, name=body.name, kind=body.kind, currency=body.currency, version=body.version.model_dump()
    )
    response.headers["ETag"] = etag(plan.version)
    response.headers["Location"] = f"/api/v1/plans/{plan.id}"
    return _plan_out(plan, [first])


@router.get("/plans", response_model=PageOut[PlanSummaryOut], tags=["plans"], summary="List plans")
def list_plans(
    limit: Limit = 50,
    cursor: Cursor = None,
    kind: PlanKind | None = None,
    name: Annotated[str | None, Query(max_length=120, description="Part of the name, ignoring case.")] = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    page = _page(svc, who, offers.PLANS, _present({"kind": kind, "name": name}), cursor, limit)
    items = [PlanSummaryOut.model_validate(plan, from_attributes=True) for plan in page.items]
    return {"items": items, "next_cursor": page.next_cursor}


@router.get("/plans/{plan_id}", response_model=PlanOut, tags=["plans"], summary="A plan with every version")
def read_plan(
    plan_id: str, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> PlanOut:
    plan, versions = offers.plan_with_versions(svc, who, plan_id)
    response.headers["ETag"] = etag(plan.version)
    return _plan_out(plan, versions)


@router.post(
    "/plans/{plan_id}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanOut,
    tags=["plans"],
    summary="New plan terms from effective_from on (send If-Match); sessions before keep the old terms",
)
def add_plan_version(
    plan_id: str,
    body: PlanVersionIn,
    response: Response,
    if_match: IfMatch = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> PlanOut:
    version = expected_version(if_match)
    offers.add_plan_version(svc, who, plan_id, body.model_dump(), expected_version=version)
    plan, versions = offers.plan_with_versions(svc, who, plan_id)
    response.headers["ETag"] = etag(plan.version)
    return _plan_out(plan, versions)


# Contracts


class ServiceFeeIn(Strict):
    kind: ServiceKind
    description: str = Field(min_length=1, max_length=200)
    amount: Amount = Field(description="Excl. VAT; negative for a reimbursement.")
    vat: VatRate | None = None
    recurrence: FeeRecurrence


class ServiceFeeOut(BaseModel):
    kind: ServiceKind
    description: str
    amount: Exact
    vat: Exact | None
    recurrence: FeeRecurrence


class TermsIn(Strict):
    plan_id: Id
    billing_cycle: BillingCycle = BillingCycle.MONTHLY
    payment_method: PaymentMethodKind
    payment_due_days: Days = 14
    grace_days: Days = 0
    credit_limit_minor: int | None = Field(default=None, ge=0, description="In minor units (cents).")
    overrides: Tariffs = Field(default_factory=dict)
    services: list[ServiceFeeIn] = Field(default_factory=list, max_length=20)
    effective_from: AwareDatetime | None = Field(default=None, description="Default: the contract's start.")


class TermsChangeIn(Strict):
    """New terms from ``effective_from``; what is left out is kept from the current terms."""

    effective_from: AwareDatetime
    plan_id: Id | None = None
    billing_cycle: BillingCycle | None = None
    payment_method: PaymentMethodKind | None = None
    payment_due_days: Days | None = None
    grace_days: Days | None = None
    credit_limit_minor: int | None = Field(default=None, ge=0)
    overrides: Tariffs | None = None
    services: list[ServiceFeeIn] | None = Field(default=None, max_length=20)


class ContractIn(Strict):
    customer_id: Id
    start: AwareDatetime
    end: AwareDatetime | None = None
    activate: bool = Field(default=False, description="Start ACTIVE instead of DRAFT.")
    terms: TermsIn


class StatusIn(Strict):
    status: ContractStatus
    end: AwareDatetime | None = Field(default=None, description="When ending: the end (default now).")


class TermsOut(BaseModel):
    id: str
    number: int
    effective_from: datetime
    plan_id: str
    billing_cycle: BillingCycle
    payment_method: PaymentMethodKind
    payment_due_days: int
    grace_days: int
    credit_limit_minor: int | None
    overrides: dict[ConnectorClass, str]
    services: list[ServiceFeeOut]
    created_at: datetime | None


class ContractSummaryOut(BaseModel):
    id: str
    customer_id: str
    status: ContractStatus
    start: datetime
    end: datetime | None
    current_terms: int
    version: int
    created_at: datetime
    updated_at: datetime


class ContractOut(ContractSummaryOut):
    terms: list[TermsOut]


def _terms_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Request fields as the use case takes them: service fees as domain records."""
    if values.get("services") is not None:
        values["services"] = tuple(ServiceFee(**fee) for fee in values["services"])
    return values


def _contract_out(contract: Contract, terms: list[ContractTerms] | Any) -> ContractOut:
    return ContractOut(
        **ContractSummaryOut.model_validate(contract, from_attributes=True).model_dump(),
        terms=[
            TermsOut.model_validate(t, from_attributes=True) for t in sorted(terms, key=lambda t: t.number)
        ],
    )


def _contract_response(svc: Services, who: Actor, contract_id: str, response: Response) -> ContractOut:
    contract, terms = offers.contract_with_terms(svc, who, contract_id)
    response.headers["ETag"] = etag(contract.version)
    return _contract_out(contract, terms)


@router.post(
    "/contracts", status_code=status.HTTP_201_CREATED, response_model=ContractOut, tags=["contracts"]
)
def create_contract(
    body: ContractIn, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> ContractOut:
    """Create a contract with its first terms (DRAFT, or ACTIVE with ``activate``)."""
    contract, first = offers.create_contract(
        svc, who, customer_id=body.customer_id, start=body.start, end=body.end,
        terms=_terms_fields(body.terms.model_dump()), activate=body.activate,
    )  # fmt: skip
    response.headers["ETag"] = etag(contract.version)
    response.headers["Location"] = f"/api/v1/contracts/{contract.id}"
    return _contract_out(contract, [first])


@router.get("/contracts", response_model=PageOut[ContractSummaryOut], tags=["contracts"])
def list_contracts(
    limit: Limit = 50,
    cursor: Cursor = None,
    customer_id: Annotated[str | None, Query(max_length=36)] = None,
    status: ContractStatus | None = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """List contracts."""
    page = _page(
        svc, who, offers.CONTRACTS, _present({"customer_id": customer_id, "status": status}), cursor, limit
    )
    items = [ContractSummaryOut.model_validate(c, from_attributes=True) for c in page.items]
    return {"items": items, "next_cursor": page.next_cursor}


@router.get("/contracts/{contract_id}", response_model=ContractOut, tags=["contracts"])
def read_contract(
    contract_id: str, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> ContractOut:
    """A contract with its terms history."""
    return _contract_response(svc, who, contract_id, response)


@router.post(
    "/contracts/{contract_id}/terms",
    status_code=status.HTTP_201_CREATED,
    response_model=ContractOut,
    tags=["contracts"],
    summary="New terms from effective_from on (send If-Match); the history is kept",
)
def change_terms(
    contract_id: str,
    body: TermsChangeIn,
    response: Response,
    if_match: IfMatch = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> ContractOut:
    version = expected_version(if_match)
    refuse_nulls(body, frozenset({"credit_limit_minor"}))
    changes = _terms_fields(body.model_dump(exclude_unset=True))
    offers.change_terms(svc, who, contract_id, changes, expected_version=version)
    return _contract_response(svc, who, contract_id, response)


@router.post(
    "/contracts/{contract_id}/status",
    response_model=ContractOut,
    tags=["contracts"],
    summary="Move a contract: DRAFT -> ACTIVE <-> SUSPENDED -> ENDED (send If-Match)",
)
def move_contract(
    contract_id: str,
    body: StatusIn,
    response: Response,
    if_match: IfMatch = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> ContractOut:
    version = expected_version(if_match)
    offers.move_contract(svc, who, contract_id, body.status, expected_version=version, end=body.end)
    return _contract_response(svc, who, contract_id, response)


# Bills


class BillLineOut(BaseModel):
    kind: LineKind
    description: str
    excl_vat: Exact = Field(description="Exact; negative for credits and discounts.")
    vat: Exact | None = Field(description="Percent; null: not subject to VAT (not the same as 0 %).")
    session_id: str | None
    promotion_id: str | None


class TaxCategoryOut(BaseModel):
    vat: Exact | None
    base: Exact
    tax: Exact


class TotalsOut(BaseModel):
    excl_vat: Exact
    vat: Exact
    incl_vat: Exact


class AppliedPromotionOut(BaseModel):
    promotion_id: str
    discount_excl_vat: Exact
    free_kwh_used: Exact


class BillOut(BaseModel):
    id: str | None = Field(default=None, description="The recorded bill's id; null for a preview.")
    state: BillState | None = Field(default=None, description="RECORDED or INVOICED; null for a preview.")
    contract_id: str
    cycle_start: date
    cycle_end: date = Field(description="Exclusive.")
    currency: str
    lines: list[BillLineOut]
    categories: list[TaxCategoryOut] = Field(description="VAT on each category's net base (EN 16931).")
    totals: TotalsOut = Field(description="Exact.")
    rounded_totals: TotalsOut = Field(
        description="Excl. VAT and VAT each rounded once (operator's mode); incl. VAT is their sum."
    )
    rounding_mode: RoundingMode
    applied_promotions: list[AppliedPromotionOut]
    notes: list[str]


class BillIn(Strict):
    cycle_start: date = Field(description="The cycle's first day (local calendar), e.g. 2026-11-01.")


def _rounded_totals(bill: Bill, mode: RoundingMode) -> TotalsOut:
    excl_vat = settle(PreciseMoney(bill.total_excl_vat, bill.currency), mode).as_decimal()
    vat = settle(PreciseMoney(bill.total_vat, bill.currency), mode).as_decimal()
    return TotalsOut(excl_vat=excl_vat, vat=vat, incl_vat=excl_vat + vat)


def _bill_out(bill: Bill, svc: Services, who: Actor) -> BillOut:
    mode = get_operator(svc, who).rounding_mode
    exact = TotalsOut(
        excl_vat=bill.total_excl_vat, vat=bill.total_vat, incl_vat=bill.total_excl_vat + bill.total_vat
    )
    return BillOut(
        contract_id=bill.contract_id,
        cycle_start=bill.cycle_start,
        cycle_end=bill.cycle_end,
        currency=bill.currency,
        lines=[BillLineOut.model_validate(line, from_attributes=True) for line in bill.lines],
        categories=[TaxCategoryOut.model_validate(c, from_attributes=True) for c in bill.categories],
        totals=exact,
        rounded_totals=_rounded_totals(bill, mode),
        rounding_mode=mode,
        applied_promotions=[
            AppliedPromotionOut.model_validate(a, from_attributes=True) for a in bill.applied
        ],
        notes=list(bill.notes),
    )


@router.get(
    "/contracts/{contract_id}/bill",
    response_model=BillOut,
    tags=["bills"],
    summary="Preview a cycle's bill (nothing is recorded)",
)
def preview_bill(
    contract_id: str,
    cycle_start: Annotated[date, Query(description="The cycle's first day, e.g. 2026-11-01.")],
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> BillOut:
    try:
        bill = billing.bill_contract(svc, who, contract_id, cycle_start)
    except InvalidInput as error:
        raise _in_query(error) from None
    return _bill_out(bill, svc, who)


def _in_query(error: InvalidInput) -> InvalidInput:
    """The use case names the cycle's start as in a body ('$.cycle_start'); here it is a query parameter."""
    problems = tuple(
        dataclasses.replace(problem, path="query.cycle_start") if problem.path == "$.cycle_start" else problem
        for problem in error.problems
    )
    return InvalidInput(error.message, problems)


@router.post(
    "/contracts/{contract_id}/bill",
    response_model=BillOut,
    tags=["bills"],
    summary="Bill a cycle once: records the bill (id, state) and its promotions; again returns the same bill",
)
def bill_cycle(
    contract_id: str, body: BillIn, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> BillOut:
    recorded = billing.record_bill(svc, who, contract_id, body.cycle_start)
    return _bill_out(recorded.bill, svc, who).model_copy(update={"id": recorded.id, "state": recorded.state})


# Promotions


Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


class PromotionIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    kind: PromotionKind
    code: Code | None = Field(default=None, description="Coupons are redeemed by code (stored upper-case).")
    discount_kind: DiscountKind | None = None
    value: Amount | None = Field(default=None, description="Percent (0-100) or an amount excl. VAT.")
    duration: Duration = Duration.ONCE
    cycles: int | None = Field(default=None, ge=1, le=1000)
    nth: int | None = Field(default=None, ge=2, le=1000)
    cap: Amount | None = None
    threshold_kwh: Kwh | None = None
    price_per_kwh: Amount | None = None
    free_kwh: Kwh | None = None
    starts_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    max_redemptions: int | None = Field(default=None, ge=1)
    per_customer_limit: int | None = Field(default=None, ge=1)
    priority: int = Field(default=100, ge=0, le=10_000, description="Lower applies first.")
    exclusive: bool = Field(default=False, description="If it applies, it applies alone.")


class PromotionOut(BaseModel):
    id: str
    name: str
    kind: PromotionKind
    code: str | None
    discount_kind: DiscountKind | None
    value: Exact | None
    duration: Duration
    cycles: int | None
    nth: int | None
    cap: Exact | None
    threshold_kwh: Exact | None
    price_per_kwh: Exact | None
    free_kwh: Exact | None
    starts_at: datetime | None
    expires_at: datetime | None
    max_redemptions: int | None
    per_customer_limit: int | None
    priority: int
    exclusive: bool
    version: int
    created_at: datetime | None
    updated_at: datetime | None


def _promotion_out(promotion: Promotion) -> PromotionOut:
    return PromotionOut.model_validate(promotion, from_attributes=True)


@router.post(
    "/promotions", status_code=status.HTTP_201_CREATED, response_model=PromotionOut, tags=["promotions"]
)
def create_promotion(
    body: PromotionIn, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> PromotionOut:
    """Create a promotion (coupon codes are unique per operator)."""
    promotion = offers.create_promotion(svc, who, body.model_dump())
    response.headers["Location"] = f"/api/v1/promotions/{promotion.id}"
    return _promotion_out(promotion)


@router.get(
    "/promotions", response_model=PageOut[PromotionOut], tags=["promotions"], summary="List promotions"
)
def list_promotions(
    limit: Limit = 50,
    cursor: Cursor = None,
    kind: PromotionKind | None = None,
    code: Annotated[str | None, Query(max_length=40)] = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    where = _present({"kind": kind, "code": None if code is None else code.strip().upper()})
    page = _page(svc, who, offers.PROMOTIONS, where, cursor, limit)
    return {"items": [_promotion_out(p) for p in page.items], "next_cursor": page.next_cursor}


@router.get("/promotions/{promotion_id}", response_model=PromotionOut, tags=["promotions"])
def read_promotion(
    promotion_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> PromotionOut:
    """Read a promotion."""
    return _promotion_out(records.get(svc, who, offers.PROMOTIONS, promotion_id))


class GiveIn(Strict):
    promotion_id: Id | None = None
    code: Code | None = Field(default=None, description="A coupon code the customer entered.")

    @model_validator(mode="after")
    def _one_of(self) -> "GiveIn":
        if (self.promotion_id is None) == (self.code is None):
            raise ValueError("give exactly one of promotion_id and code")
        return self


class GivenOut(BaseModel):
    promotion: PromotionOut
    new: bool = Field(description="False when the customer already had it (nothing changed).")


@router.post(
    "/customers/{customer_id}/promotions",
    response_model=GivenOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "The customer already had it; nothing changed.", "model": GivenOut}},
    tags=["promotions"],
    summary="Give a customer a promotion, or redeem a coupon code for them",
)
def give_promotion(
    customer_id: str,
    body: GiveIn,
    response: Response,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> GivenOut:
    given = offers.give_promotion(
        svc, who, customer_id=customer_id, promotion_id=body.promotion_id, code=body.code
    )
    if not given.new:
        response.status_code = status.HTTP_200_OK
    return GivenOut(promotion=_promotion_out(given.promotion), new=given.new)
