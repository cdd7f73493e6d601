"""/api/v1 contracts: the agreement under which a customer is billed, with versioned terms.

``POST /contracts`` creates a contract with its first terms (DRAFT, or ACTIVE with ``activate``);
``GET /contracts/{id}`` reads it with its terms history; ``POST /contracts/{id}/terms`` adds terms from
a date on, keeping what is left out (If-Match); ``POST /contracts/{id}/status`` moves it
DRAFT -> ACTIVE <-> SUSPENDED -> ENDED (If-Match). Lists show contracts without their terms.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from evbill.application.offers import plans as offers
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.offers.contracts import (
    ContractStatus,
    FeeRecurrence,
    PaymentMethodKind,
    ServiceFee,
    ServiceKind,
)
from evbill.domain.offers.plans import BillingCycle, ConnectorClass
from evbill.entrypoints.api.common import Amount, CreditLimit, Days, Exact, Id, Strict, VatRate, refuse_nulls
from evbill.entrypoints.api.history import add_history_route, history_resource
from evbill.entrypoints.api.plans import Tariffs
from evbill.entrypoints.api.resources import present, resource_router


class ServiceFeeIn(Strict):
    kind: ServiceKind
    description: str = Field(min_length=1, max_length=200)
    amount: Amount = Field(description="Excl. VAT; negative for a HOME_CHARGER_REIMBURSEMENT only.")
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
    credit_limit_minor: CreditLimit | None = None
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
    credit_limit_minor: CreditLimit | None = None
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


def _contract_filters(
    customer_id: Annotated[str | None, Query(max_length=36)] = None, status: ContractStatus | None = None
) -> dict[str, object]:
    return present({"customer_id": customer_id, "status": status})


def _create(svc: Services, who: Actor, body: ContractIn) -> tuple[Any, Any]:
    return offers.create_contract(
        svc, who, customer_id=body.customer_id, start=body.start, end=body.end,
        terms=_terms_fields(body.terms.model_dump()), activate=body.activate,
    )  # fmt: skip


def _change_terms(svc: Services, who: Actor, contract_id: str, body: TermsChangeIn, version: int) -> None:
    refuse_nulls(body, frozenset({"credit_limit_minor"}))
    changes = _terms_fields(body.model_dump(exclude_unset=True))
    offers.change_terms(svc, who, contract_id, changes, expected_version=version)


def _move(svc: Services, who: Actor, contract_id: str, body: StatusIn, version: int) -> None:
    offers.move_contract(svc, who, contract_id, body.status, expected_version=version, end=body.end)


CONTRACTS = history_resource(
    offers.CONTRACTS, path="/contracts", tag="contracts", model_in=ContractIn, model_out=ContractOut,
    summary_out=ContractSummaryOut, history_field="terms", history_out=TermsOut, filters=_contract_filters,
    create=_create, read=offers.contract_with_terms, id_name="contract_id",
)  # fmt: skip


def build_router() -> APIRouter:
    router = resource_router(CONTRACTS)
    add_history_route(
        router, CONTRACTS, path="/terms", model_in=TermsChangeIn, add=_change_terms,
        summary="New terms from effective_from on (send If-Match); the history is kept",
    )  # fmt: skip
    add_history_route(
        router, CONTRACTS, path="/status", model_in=StatusIn, add=_move, status_code=status.HTTP_200_OK,
        summary="Move a contract: DRAFT -> ACTIVE <-> SUSPENDED -> ENDED (send If-Match)",
    )  # fmt: skip
    return router
