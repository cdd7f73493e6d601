"""How customers pay, set up ahead: cards on file, SEPA mandates, and the collection policy.

    PUT    /customers/{id}/card-on-file     save the customer's card (a gateway token; never a card number)
    GET    /customers/{id}/card-on-file     the card on file
    PATCH  /customers/{id}/card-on-file     per-session charging on or off ({"charge_sessions": true}),
                                            If-Match: the ETag the GET (or PUT) gave
    DELETE /customers/{id}/card-on-file     forget it
    POST   /customers/{id}/card-setup       start a card setup (SetupIntent): its client secret
    POST   /customers/{id}/card-setup/{setup_id}/confirm   its card, once succeeded, is the card on file
    GET    /payments/cards-on-file          every customer's card on file, by customer id
    POST   /payments/mandates               record a signed SEPA direct debit mandate (the IBAN is checked)
    GET    /payments/mandates[?customer_id=]   GET /payments/mandates/{id}
    POST   /payments/mandates/{id}/revoke   no later collection file uses it
    GET    /payments/collection-policy      retries, reminders, suspension (the default until set)
    PUT    /payments/collection-policy      set them

A card is a token the gateway gave out: ``tok_visa`` on the sandbox, a ``pm_...`` PaymentMethod on
Stripe (saved by the customer's SetupIntent in Stripe.js). Anything that looks like a card number is
refused naming the field, never echoing the value.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from evbill.application.collection import card_setup, direct_debit, dunning, setup
from evbill.application.invoicing.documents import IbanChecker
from evbill.application.ports import PaymentGateway
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.collection.dunning import CardOnFile
from evbill.domain.collection.mandates import Mandate
from evbill.domain.collection.policy import MAX_RETRIES, CollectionPolicy
from evbill.domain.errors import StaleVersion
from evbill.entrypoints.api.common import Cursor, IfMatch, Limit, PageOut, PreconditionRequired, Strict
from evbill.entrypoints.api.payments import IdempotencyKey, gateway
from evbill.entrypoints.api.security import actor, services

router = APIRouter(tags=["payments"])


async def ibans(request: Request) -> IbanChecker:
    return request.app.state.container.ibans  # type: ignore[no-any-return]


# --- cards on file -------------------------------------------------------------------------------


class CardIn(Strict):
    payment_method: str = Field(min_length=1, max_length=100, description="A gateway token, e.g. tok_visa")
    charge_sessions: bool = Field(default=False, description="Charge each session at its end")


class SessionChargingIn(Strict):
    charge_sessions: bool = Field(description="Charge each session to the card at its end (on), or not")


class CardOut(BaseModel):
    customer_id: str
    payment_method: str = Field(description="The gateway's token (never a card number)")
    charge_sessions: bool
    gateway: str
    saved_at: datetime


def card_out(card: CardOnFile) -> CardOut:
    return CardOut(
        customer_id=card.customer_id,
        payment_method=card.payment_method,
        charge_sessions=card.charge_sessions,
        gateway=card.gateway,
        saved_at=card.saved_at,
    )


CARD = "/customers/{customer_id}/card-on-file"


@router.put(CARD, response_model=CardOut, summary="Save the customer's card on file (a gateway token)")
def save_card(
    customer_id: str,
    body: CardIn,
    response: Response,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    gw: PaymentGateway = Depends(gateway),
) -> CardOut:
    card = setup.save_customer_card(
        svc, who, customer_id[:36], gateway=gw.name, payment_method=body.payment_method,
        charge_sessions=body.charge_sessions,
    )  # fmt: skip
    response.headers["ETag"] = card_etag(setup.get_card(svc, who, card.customer_id))  # as stored
    return card_out(card)


def card_etag(card: CardOnFile) -> str:
    return f'"{setup.card_tag(card)}"'


def expected_card_tag(if_match: str | None) -> str:
    """The card tag a strong If-Match names; 428 without one, 412 for a weak one (compared strongly)."""
    if if_match is None:
        raise PreconditionRequired(
            "send If-Match with the ETag of the card on file you read (GET it), so a change made "
            "since is not overwritten"
        )
    text = if_match.strip()
    if text.startswith("W/"):
        raise StaleVersion(f"If-Match {if_match!r} is a weak ETag; If-Match needs the strong one")
    return text.strip('"')


@router.get(CARD, response_model=CardOut, summary="The customer's card on file (with its ETag)")
def get_card(
    customer_id: str, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> CardOut:
    card = setup.get_card(svc, who, customer_id[:36])
    response.headers["ETag"] = card_etag(card)
    return card_out(card)


@router.patch(CARD, response_model=CardOut,
              summary="Per-session charging to the card on file, on or off (send If-Match)")  # fmt: skip
def set_session_charging(
    customer_id: str,
    body: SessionChargingIn,
    response: Response,
    if_match: IfMatch = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> CardOut:
    if if_match is None:
        setup.get_card(svc, who, customer_id[:36])  # a customer without a card (or another's) is 404 first
    tag = expected_card_tag(if_match)
    card = setup.set_session_charging(svc, who, customer_id[:36], body.charge_sessions, expected_tag=tag)
    response.headers["ETag"] = card_etag(card)
    return card_out(card)


@router.delete(CARD, status_code=204, summary="Forget the customer's card on file")
def remove_card(customer_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)) -> Response:
    setup.remove_card(svc, who, customer_id[:36])
    return Response(status_code=204)


class CardSetupIn(Strict):
    charge_sessions: bool = Field(default=False, description="What the card on file will say once saved")


class CardSetupOut(BaseModel):
    id: str = Field(description="The gateway's id of the setup (a SetupIntent: seti_...)")
    customer_id: str
    gateway: str
    status: str = Field(description="requires_payment_method until the customer gave a card; succeeded")
    client_secret: str | None = Field(description="For the customer's browser (Stripe.js); not stored")


SETUP = "/customers/{customer_id}/card-setup"


@router.post(SETUP, status_code=201, response_model=CardSetupOut, summary="Start a card setup (SetupIntent)")
def start_card_setup(
    customer_id: str,
    body: CardSetupIn | None = None,
    idempotency_key: IdempotencyKey = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    gw: PaymentGateway = Depends(gateway),
) -> CardSetupOut:
    started = card_setup.start_card_setup(
        svc, gw, who, customer_id[:36], charge_sessions=body.charge_sessions if body else False,
        idempotency_key=idempotency_key,
    )  # fmt: skip
    return CardSetupOut(id=started.reference, customer_id=customer_id[:36], gateway=gw.name,
                        status=started.status, client_secret=started.client_secret)  # fmt: skip


@router.post(
    SETUP + "/{setup_id}/confirm", response_model=CardOut, summary="Save the card a succeeded setup gave"
)
def confirm_card_setup(
    customer_id: str,
    setup_id: str,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    gw: PaymentGateway = Depends(gateway),
) -> CardOut:
    return card_out(card_setup.confirm_card_setup(svc, gw, who, customer_id[:36], setup_id[:100]))


@router.get("/payments/cards-on-file", response_model=PageOut[CardOut], summary="Cards on file, by customer")
def list_cards(
    limit: Limit = 50, cursor: Cursor = None, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> PageOut[CardOut]:
    page = setup.list_cards(svc, who, cursor=cursor, limit=limit)
    return PageOut[CardOut](items=[card_out(card) for card in page.items], next_cursor=page.next_cursor)


# --- SEPA mandates ------------------------------------------------------------------------------


class MandateIn(Strict):
    customer_id: str = Field(min_length=1, max_length=36)
    reference: str = Field(min_length=1, max_length=35, description="Unique per creditor, SEPA characters")
    iban: str = Field(min_length=1, max_length=42, description="The debtor's IBAN (checked)")
    signed_on: date
    debtor_name: str | None = Field(default=None, max_length=70, description="Default: the customer's name")


class MandateOut(BaseModel):
    id: str
    customer_id: str
    reference: str
    iban: str
    bic: str | None
    debtor_name: str
    signed_on: date
    sequence_type: str = Field(description="FRST until a collection file used it, then RCUR")
    first_collected_on: date | None
    active: bool
    revoked_at: datetime | None
    created_at: datetime


def mandate_out(mandate: Mandate) -> MandateOut:
    return MandateOut(
        id=mandate.id, customer_id=mandate.customer_id, reference=mandate.reference, iban=mandate.iban,
        bic=mandate.bic, debtor_name=mandate.debtor_name, signed_on=mandate.signed_on,
        sequence_type=mandate.sequence_type.value, first_collected_on=mandate.first_collected_on,
        active=mandate.active, revoked_at=mandate.revoked_at, created_at=mandate.created_at,
    )  # fmt: skip


@router.post("/payments/mandates", status_code=201, response_model=MandateOut, summary="Record a mandate")
def add_mandate(
    body: MandateIn,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    checker: IbanChecker = Depends(ibans),
) -> MandateOut:
    mandate = direct_debit.add_mandate(
        svc, who, checker, customer_id=body.customer_id, reference=body.reference, iban=body.iban,
        signed_on=body.signed_on, debtor_name=body.debtor_name,
    )  # fmt: skip
    return mandate_out(mandate)


@router.get("/payments/mandates", response_model=list[MandateOut], summary="SEPA mandates, oldest first")
def list_mandates(
    customer_id: Annotated[str | None, Query(max_length=36, description="Only this customer's")] = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> list[MandateOut]:
    return [mandate_out(m) for m in setup.list_mandates(svc, who, customer_id=customer_id)]


@router.get("/payments/mandates/{mandate_id}", response_model=MandateOut, summary="A SEPA mandate")
def get_mandate(
    mandate_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> MandateOut:
    return mandate_out(setup.get_mandate(svc, who, mandate_id[:36]))


@router.post("/payments/mandates/{mandate_id}/revoke", response_model=MandateOut, summary="Revoke a mandate")
def revoke_mandate(
    mandate_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> MandateOut:
    return mandate_out(setup.revoke_mandate(svc, who, mandate_id[:36]))


# --- the collection policy ----------------------------------------------------------------------

Days = Annotated[list[Annotated[int, Field(ge=0, le=365)]], Field(max_length=MAX_RETRIES + 5)]


class PolicyIn(Strict):
    retry_days: Days = Field(description="Days after the first charge to retry a declined card: [1,3,7,14]")
    reminder_days: Days = Field(description="Days after the due date to send a reminder, e.g. [1,7,14]")
    suspend_after_days: int | None = Field(
        ge=0, le=3650, description="Days overdue before the customer's tokens are suspended; null: never"
    )


class PolicyOut(BaseModel):
    retry_days: list[int]
    reminder_days: list[int]
    suspend_after_days: int | None


def policy_out(policy: CollectionPolicy) -> PolicyOut:
    return PolicyOut(retry_days=list(policy.retry_days), reminder_days=list(policy.reminder_days),
                     suspend_after_days=policy.suspend_after_days)  # fmt: skip


@router.get("/payments/collection-policy", response_model=PolicyOut, summary="Retries, reminders, suspension")
def get_policy(who: Actor = Depends(actor), svc: Services = Depends(services)) -> PolicyOut:
    return policy_out(setup.get_policy(svc, who))


@router.put("/payments/collection-policy", response_model=PolicyOut, summary="Set the collection policy")
def set_policy(body: PolicyIn, who: Actor = Depends(actor), svc: Services = Depends(services)) -> PolicyOut:
    policy = CollectionPolicy(
        retry_days=tuple(body.retry_days), reminder_days=tuple(body.reminder_days),
        suspend_after_days=body.suspend_after_days,
    )  # fmt: skip
    return policy_out(dunning.save_policy(svc, who, policy))
