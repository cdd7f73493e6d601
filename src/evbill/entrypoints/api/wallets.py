"""/api/v1/wallets: prepaid wallets; top-ups through the gateway, spending, refunds into them.

One wallet per customer and currency (a second: 409). A refund into a wallet names the spend it
gives back (``spend_id``) and is capped by what that spend took less earlier refunds of it (422
naming ``$.amount``); paying the balance back out to the customer is a refund of the top-up
(POST /refunds), capped by the balance.

A payment from a wallet names what it pays: ``session:<id>``, or ``invoice:<id or number>`` (an open
invoice of the wallet's customer, at most its open amount, which it pays at once as a card payment
does); anything else is 422 naming ``$.receivable``.

A wallet's balance is recomputed from its transactions. Spending, and authorising a session against
the wallet, are refused (409 ``insufficient_balance``) when they would leave less than its minimum.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from evbill.application.payments import wallets as use_cases
from evbill.application.payments.payments import minor_units
from evbill.application.ports import PaymentGateway
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.payments.model import WalletTransactionKind
from evbill.entrypoints.api.common import Exact, ExactIn, Strict
from evbill.entrypoints.api.ledger import money
from evbill.entrypoints.api.payments import IdempotencyKey, MoneyIn, PaymentOut, gateway, payment_out
from evbill.entrypoints.api.security import actor, services

router = APIRouter(prefix="/wallets", tags=["wallets"])


class WalletTransactionOut(BaseModel):
    id: str
    kind: WalletTransactionKind
    amount: Exact = Field(description="Into the wallet positive, out of it negative.")
    reference: str
    created_at: datetime


class WalletOut(BaseModel):
    id: str
    customer_id: str
    currency: str
    minimum_balance: Exact
    balance: Exact
    available: Exact = Field(description="What may still be spent or authorised: balance above the minimum.")
    transactions: list[WalletTransactionOut]


class TopUpOut(BaseModel):
    wallet: WalletOut
    payment: PaymentOut


class AvailableOut(BaseModel):
    authorised: bool
    available: Exact


class WalletIn(Strict):
    customer_id: str = Field(min_length=1, max_length=36)
    currency: str = Field(min_length=3, max_length=3)
    minimum_balance: Annotated[Decimal, ExactIn] = Field(
        default=Decimal(0), ge=0, max_digits=18, decimal_places=4
    )


class TopUpIn(Strict):
    amount: MoneyIn
    payment_method: str = Field(min_length=1, max_length=100, description="A gateway token, e.g. tok_visa.")


class SpendIn(Strict):
    amount: MoneyIn
    receivable: str = Field(
        min_length=1, max_length=100, description='What is paid: "session:<id>" or "invoice:<id or number>".'
    )


class WalletRefundIn(Strict):
    amount: MoneyIn
    spend_id: str = Field(
        min_length=1, max_length=36, description="The spend from this wallet given back (its transaction id)."
    )
    reason: str = Field(default="", max_length=100, description="Why, for the ledger entry.")


class AuthorisationIn(Strict):
    amount: MoneyIn


def wallet_out(view: use_cases.WalletView) -> WalletOut:
    wallet, currency = view.wallet, view.wallet.currency
    return WalletOut(
        id=wallet.id,
        customer_id=wallet.customer_id,
        currency=currency,
        minimum_balance=money(wallet.minimum_balance, currency),
        balance=money(view.balance, currency),
        available=money(use_cases.available(wallet, view.balance), currency),
        transactions=[
            WalletTransactionOut(
                id=t.id,
                kind=t.kind,
                amount=money(t.amount, currency),
                reference=t.reference,
                created_at=t.created_at,
            )
            for t in view.transactions
        ],
    )


def _amount(svc: Services, who: Actor, wallet_id: str, amount: Decimal) -> int:
    currency = use_cases.get_wallet(svc, who, wallet_id).wallet.currency
    return minor_units(str(amount), currency).minor_units


@router.post("", status_code=201, response_model=WalletOut, summary="Open a customer's wallet")
def create_wallet(
    body: WalletIn, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> WalletOut:
    minimum = minor_units(str(body.minimum_balance), body.currency, path="$.minimum_balance").minor_units
    view = use_cases.create_wallet(
        svc, who, customer_id=body.customer_id, currency=body.currency, minimum_balance=minimum
    )
    return wallet_out(view)


@router.get("/{wallet_id}", response_model=WalletOut, summary="A wallet, its balance and transactions")
def get_wallet(wallet_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)) -> WalletOut:
    return wallet_out(use_cases.get_wallet(svc, who, wallet_id))


@router.post("/{wallet_id}/top-ups", status_code=201, response_model=TopUpOut, summary="Top up by card")
def top_up(
    wallet_id: str,
    body: TopUpIn,
    idempotency_key: IdempotencyKey = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    gw: PaymentGateway = Depends(gateway),
) -> TopUpOut:
    view, payment = use_cases.top_up_wallet(
        svc,
        gw,
        who,
        wallet_id,
        amount=_amount(svc, who, wallet_id, body.amount),
        payment_method=body.payment_method,
        idempotency_key=idempotency_key or "",
    )
    return TopUpOut(wallet=wallet_out(view), payment=payment_out(payment))


@router.post("/{wallet_id}/payments", response_model=WalletOut, summary="Pay from the wallet")
def pay(
    wallet_id: str,
    body: SpendIn,
    idempotency_key: IdempotencyKey = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> WalletOut:
    view = use_cases.pay_from_wallet(
        svc,
        who,
        wallet_id,
        amount=_amount(svc, who, wallet_id, body.amount),
        receivable=body.receivable,
        idempotency_key=idempotency_key or "",
    )
    return wallet_out(view)


@router.post(
    "/{wallet_id}/refunds",
    response_model=WalletOut,
    summary="Give back into the wallet (part of) an earlier spend from it, never more than it took",
)
def refund(
    wallet_id: str,
    body: WalletRefundIn,
    idempotency_key: IdempotencyKey = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> WalletOut:
    view = use_cases.refund_to_wallet(
        svc,
        who,
        wallet_id,
        amount=_amount(svc, who, wallet_id, body.amount),
        spend_id=body.spend_id,
        reason=body.reason,
        idempotency_key=idempotency_key or "",
    )
    return wallet_out(view)


@router.post(
    "/{wallet_id}/authorisations",
    response_model=AvailableOut,
    summary="May a session of up to this amount start? (409 insufficient_balance if not)",
)
def authorise(
    wallet_id: str, body: AuthorisationIn, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> AvailableOut:
    wallet = use_cases.get_wallet(svc, who, wallet_id).wallet
    amount = minor_units(str(body.amount), wallet.currency).minor_units
    left = use_cases.authorise_from_wallet(svc, who, wallet_id, amount=amount)
    return AvailableOut(authorised=True, available=money(left, wallet.currency))
