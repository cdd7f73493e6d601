"""/api/v1/payments and /api/v1/refunds: holds, 3-D Secure, captures, releases and refunds.

Every POST that moves money needs an ``Idempotency-Key`` header: the same key again answers with
the payment as it is and moves nothing twice. Amounts are decimal strings in the currency's minor
unit ("32.10"); a payment method is a gateway token (``tok_visa`` on the sandbox), never card data.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from evbill.application.payments import payments as use_cases
from evbill.application.ports import PaymentGateway
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.errors import InvalidInput, NotFound, Problem
from evbill.domain.payments.events import EventKind, PaymentStatus
from evbill.domain.payments.model import PaymentPurpose
from evbill.entrypoints.api.common import Cursor, Exact, ExactIn, Limit, PageOut, Strict
from evbill.entrypoints.api.ledger import money
from evbill.entrypoints.api.security import actor, services

router = APIRouter(tags=["payments"])
IdempotencyKey = Annotated[
    str | None, Header(max_length=150, description="Unique per request; a retry sends the same key.")
]
MoneyIn = Annotated[
    Decimal, ExactIn, Field(gt=0, max_digits=18, decimal_places=4, description='E.g. "32.10".')
]


async def gateway(request: Request) -> PaymentGateway:
    return request.app.state.container.payment_gateway  # type: ignore[no-any-return]


class PaymentEventOut(BaseModel):
    event_id: str
    kind: EventKind
    amount: Exact
    occurred_at: datetime
    detail: str | None


class PaymentOut(BaseModel):
    id: str
    customer_id: str | None
    purpose: PaymentPurpose
    subject: str
    gateway: str
    gateway_reference: str
    currency: str
    amount: Exact = Field(description="The amount asked to authorise.")
    status: PaymentStatus
    authorised: Exact
    captured: Exact
    released: Exact
    refunded: Exact
    charged_back: Exact
    fees: Exact
    decline_code: str | None
    next_action_url: str | None = Field(description="3-D Secure: where the customer authenticates.")
    events: list[PaymentEventOut]


def payment_out(view: use_cases.PaymentView) -> PaymentOut:
    payment, state, currency = view.payment, view.state, view.payment.currency
    return PaymentOut(
        id=payment.id,
        customer_id=payment.customer_id,
        purpose=payment.purpose,
        subject=payment.subject,
        gateway=payment.gateway,
        gateway_reference=payment.gateway_reference,
        currency=currency,
        amount=money(payment.amount, currency),
        status=state.status,
        authorised=money(state.authorised, currency),
        captured=money(state.captured, currency),
        released=money(state.released, currency),
        refunded=money(state.refunded, currency),
        charged_back=money(state.charged_back, currency),
        fees=money(state.fees, currency),
        decline_code=state.decline_code,
        next_action_url=view.next_action_url,
        events=[
            PaymentEventOut(
                event_id=e.event_id,
                kind=e.kind,
                amount=money(e.amount, currency),
                occurred_at=e.occurred_at,
                detail=e.detail,
            )
            for e in view.events
        ],
    )


class PaymentIn(Strict):
    customer_id: str | None = Field(default=None, max_length=36)
    purpose: PaymentPurpose = PaymentPurpose.SESSION
    subject: str = Field(min_length=1, max_length=64, description='What is paid, e.g. "invoice:INV-1".')
    amount: MoneyIn
    currency: str = Field(min_length=3, max_length=3)
    payment_method: str = Field(min_length=1, max_length=100, description="A gateway token, e.g. tok_visa.")


class AmountIn(Strict):
    amount: MoneyIn


class RefundIn(Strict):
    payment_id: str = Field(min_length=1, max_length=36)
    amount: MoneyIn


def _key(key: str | None) -> str:
    return key or ""


@router.post("/payments", status_code=201, response_model=PaymentOut, summary="Authorise (place a hold)")
def authorise(
    body: PaymentIn,
    idempotency_key: IdempotencyKey = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    gw: PaymentGateway = Depends(gateway),
) -> PaymentOut:
    if body.purpose is PaymentPurpose.WALLET_TOP_UP:
        raise InvalidInput("top up through /wallets/{id}/top-ups", (Problem("$.purpose", "not here"),))
    view = use_cases.authorise_payment(
        svc,
        gw,
        who,
        customer_id=body.customer_id,
        purpose=body.purpose,
        subject=body.subject,
        amount=use_cases.minor_units(str(body.amount), body.currency),
        payment_method=body.payment_method,
        idempotency_key=_key(idempotency_key),
    )
    return payment_out(view)


@router.get("/payments", response_model=PageOut[PaymentOut], summary="Payments, oldest first")
def list_payments(
    limit: Limit = 50, cursor: Cursor = None, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> PageOut[PaymentOut]:
    views = use_cases.list_payments(svc, who, after=cursor, limit=limit)
    next_cursor = views[-1].payment.id if len(views) == limit else None
    return PageOut[PaymentOut](items=[payment_out(v) for v in views], next_cursor=next_cursor)


@router.get("/payments/{payment_id}", response_model=PaymentOut, summary="A payment and its gateway events")
def get_payment(
    payment_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> PaymentOut:
    return payment_out(use_cases.get_payment(svc, who, payment_id))


@router.post("/payments/{payment_id}/capture", response_model=PaymentOut, summary="Capture (<= the hold)")
def capture(
    payment_id: str,
    body: AmountIn,
    idempotency_key: IdempotencyKey = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    gw: PaymentGateway = Depends(gateway),
) -> PaymentOut:
    stored = use_cases.get_payment(svc, who, payment_id)
    amount = use_cases.minor_units(str(body.amount), stored.payment.currency).minor_units
    view = use_cases.capture_payment(
        svc, gw, who, payment_id, amount=amount, idempotency_key=_key(idempotency_key)
    )
    return payment_out(view)


@router.post("/payments/{payment_id}/confirm", response_model=PaymentOut, summary="After 3-D Secure")
def confirm(
    payment_id: str,
    idempotency_key: IdempotencyKey = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    gw: PaymentGateway = Depends(gateway),
) -> PaymentOut:
    return payment_out(
        use_cases.confirm_payment(svc, gw, who, payment_id, idempotency_key=_key(idempotency_key))
    )


@router.post("/payments/{payment_id}/release", response_model=PaymentOut, summary="Cancel the hold")
def release(
    payment_id: str,
    idempotency_key: IdempotencyKey = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    gw: PaymentGateway = Depends(gateway),
) -> PaymentOut:
    return payment_out(
        use_cases.release_payment(svc, gw, who, payment_id, idempotency_key=_key(idempotency_key))
    )


@router.post("/refunds", status_code=201, response_model=PaymentOut, summary="Refund (<= what was captured)")
def refund(
    body: RefundIn,
    idempotency_key: IdempotencyKey = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    gw: PaymentGateway = Depends(gateway),
) -> PaymentOut:
    try:
        stored = use_cases.get_payment(svc, who, body.payment_id)
    except NotFound:
        raise InvalidInput("the refund is invalid", (Problem("$.payment_id", "no such payment"),)) from None
    amount = use_cases.minor_units(str(body.amount), stored.payment.currency).minor_units
    view = use_cases.refund_payment(
        svc, gw, who, body.payment_id, amount=amount, idempotency_key=_key(idempotency_key)
    )
    return payment_out(view)
