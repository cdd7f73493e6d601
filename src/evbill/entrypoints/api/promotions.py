"""/api/v1 promotions: coupons, loyalty rules, free-kWh credits and first-session discounts.

Promotions are created and read like every resource (ETag on each record, cursor pages); they are not
changed in place. ``POST /customers/{id}/promotions`` gives a customer a promotion, or redeems a coupon
code for them: 201 when new, 200 when the customer already had it (nothing changes).
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from evbill.application.offers import plans as offers
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.offers.promotions import DiscountKind, Duration, Promotion, PromotionKind
from evbill.entrypoints.api.common import Amount, Count, Exact, Id, Kwh, Strict
from evbill.entrypoints.api.resources import present, record_resource, resource_router
from evbill.entrypoints.api.security import actor, services

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
    max_redemptions: Count | None = None
    per_customer_limit: Count | None = None
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


def _promotion_filters(
    kind: PromotionKind | None = None, code: Annotated[str | None, Query(max_length=40)] = None
) -> dict[str, object]:
    return present({"kind": kind, "code": None if code is None else code.strip().upper()})


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


def build_router() -> APIRouter:
    router = APIRouter()
    router.include_router(_given_routes())
    router.include_router(resource_router(
        record_resource(
            offers.PROMOTIONS, path="/promotions", tag="promotions", model_in=PromotionIn,
            model_out=PromotionOut, filters=_promotion_filters, create=offers.create_promotion,
            to_out=_promotion_out, deletable=False, id_name="promotion_id",
        )
    ))  # fmt: skip
    return router


def _given_routes() -> APIRouter:
    router = APIRouter()

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

    return router
