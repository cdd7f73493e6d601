"""/api/v1 plans: the ways an operator sells charging, versioned and never overwritten.

``POST /plans`` creates a plan with its first version; ``GET /plans/{id}`` reads it with every version;
``POST /plans/{id}/versions`` adds terms from a date on (If-Match): sessions before keep the old terms.
Lists show plans without their versions.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from evbill.application.offers import plans as offers
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.offers.plans import BillingCycle, ConnectorClass, PlanKind
from evbill.entrypoints.api.common import Exact, Id, Kwh, Price, Strict, VatRate
from evbill.entrypoints.api.history import add_history_route, history_resource
from evbill.entrypoints.api.resources import present, resource_router

Tariffs = Annotated[
    dict[ConnectorClass, Id],
    Field(max_length=3, description="A tariff id per connector class (AC, DC, HPC)."),
]


class PlanVersionIn(Strict):
    effective_from: AwareDatetime | None = Field(default=None, description="Default: now.")
    fee: Price = Field(default=Decimal(0), description="Per fee cycle, excl. VAT.")
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


def _plan_filters(
    kind: PlanKind | None = None,
    name: Annotated[str | None, Query(max_length=120, description="Part of the name, ignoring case.")] = None,
) -> dict[str, object]:
    return present({"kind": kind, "name": name})


def _create(svc: Services, who: Actor, body: PlanIn) -> tuple[Any, Any]:
    """Create a plan with its first version."""
    return offers.create_plan(
        svc, who, name=body.name, kind=body.kind, currency=body.currency, version=body.version.model_dump()
    )


def _add_version(svc: Services, who: Actor, plan_id: str, body: PlanVersionIn, version: int) -> None:
    offers.add_plan_version(svc, who, plan_id, body.model_dump(), expected_version=version)


PLANS = history_resource(
    offers.PLANS, path="/plans", tag="plans", model_in=PlanIn, model_out=PlanOut, summary_out=PlanSummaryOut,
    history_field="versions", history_out=PlanVersionOut, filters=_plan_filters, create=_create,
    read=offers.plan_with_versions, id_name="plan_id",
)  # fmt: skip


def build_router() -> APIRouter:
    router = resource_router(PLANS)
    add_history_route(
        router, PLANS, path="/versions", model_in=PlanVersionIn, add=_add_version,
        summary="New plan terms from effective_from on (send If-Match); sessions before keep the old terms",
    )  # fmt: skip
    return router
