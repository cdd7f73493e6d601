"""/api/v1 bills: a contract's cycle, previewed or billed.

``GET /contracts/{id}/bill?cycle_start=`` previews a cycle's bill (nothing is recorded);
``POST /contracts/{id}/bill`` bills it once: the bill is recorded (an id and a state) with the promotions
it used; calling it again returns the same bill.

Amounts are decimal strings, exact (``"0.3300000000"``) with the totals also rounded once to the
currency's minor unit in the operator's rounding mode; a document adds up: the rounded total incl.
VAT is the rounded total excl. VAT plus the rounded VAT.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

import dataclasses
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from evbill.application.access.keys import get_operator
from evbill.application.billing import cycle as billing
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.billing.cycle import Bill, LineKind
from evbill.domain.billing.records import BillState
from evbill.domain.errors import InvalidInput
from evbill.domain.money import PreciseMoney, RoundingMode, settle
from evbill.entrypoints.api.common import Exact, Strict
from evbill.entrypoints.api.security import actor, services

router = APIRouter()


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
