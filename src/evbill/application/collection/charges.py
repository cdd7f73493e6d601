"""Charging the card on file: at issue (attempt 1), and the retries the collection run makes.

``collect_issued_document`` is what billing calls when it issues an invoice: one charge of the open
amount on the customer's card on file. Called again, for any reason, it charges nothing more: attempt
1 is unique per invoice, and the gateway calls carry ``collect:<invoice>:<n>`` idempotency keys, so a
crash between the gateway and the commit is reconciled by asking again, not charged twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evbill.application.collection.setup import save_customer_card
from evbill.application.payments.payments import authorise_payment, capture_payment
from evbill.application.ports import PaymentGateway, UnitOfWork
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.collection.dunning import CardOnFile, ChargeAttempt
from evbill.domain.errors import NotFound
from evbill.domain.invoicing.documents import Document
from evbill.domain.money import SettledMoney
from evbill.domain.payments.events import PaymentStatus
from evbill.domain.payments.model import PaymentPurpose

# what else the transaction recording a charge's attempt writes (a billing run's item marked collected)
Recorded = Callable[[UnitOfWork], object]


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    invoice_id: str
    attempt: int | None  # None: nothing was charged (nothing open, no card, or done before)
    succeeded: bool
    decline_code: str | None = None
    reason: str | None = None


def save_card(
    services: Services, actor: Actor, customer_id: str, *, gateway: str, payment_method: str
) -> CardOnFile:
    """Keep the customer's gateway token to charge their invoices with (replaces the card before; its
    per-session charging stays as it was). Written by ``setup.save_customer_card``, the one writer."""
    return save_customer_card(
        services, actor, customer_id, gateway=gateway, payment_method=payment_method, charge_sessions=None
    )


def collect_issued_document(
    services: Services,
    gateway: PaymentGateway,
    actor: Actor,
    document_id: str,
    *,
    recorded: Recorded | None = None,
) -> ChargeOutcome:
    """Charge an issued invoice's open amount to the card on file, once per invoice. ``recorded``
    is called in the transaction that records the charge's attempt (a billing run marks its item)."""
    require(actor, Permission.BILL)
    with services.uow(read_only=True) as uow:
        document = uow.invoices.get(actor.operator_id, document_id)
        if document is None:
            raise NotFound(f"invoice {document_id!r} not found")
        attempts = uow.collection.attempts(actor.operator_id, document_id)
    if attempts:
        first = attempts[0]
        return ChargeOutcome(document_id, first.number, first.succeeded, first.decline_code, "charged before")
    return charge(services, gateway, actor, document, number=1, recorded=recorded)


def charge(
    services: Services,
    gateway: PaymentGateway,
    actor: Actor,
    document: Document,
    *,
    number: int,
    recorded: Recorded | None = None,
) -> ChargeOutcome:
    if document.open_minor <= 0:
        return ChargeOutcome(document.id, None, False, reason=f"nothing open ({document.status.value})")
    if document.customer_id is None:
        return ChargeOutcome(document.id, None, False, reason="no customer")
    with services.uow(read_only=True) as uow:
        card = uow.collection.card_of(actor.operator_id, document.customer_id)
    if card is None:
        return ChargeOutcome(document.id, None, False, reason="no card on file")
    amount = SettledMoney(document.open_minor, document.currency)
    key = f"collect:{document.id}:{number}"
    view = authorise_payment(
        services, gateway, actor, customer_id=document.customer_id, purpose=PaymentPurpose.INVOICE,
        subject=f"invoice:{document.id}", amount=amount, payment_method=card.payment_method,
        idempotency_key=f"{key}:authorise",
    )  # fmt: skip
    if view.state.status is PaymentStatus.AUTHORISED:
        view = capture_payment(
            services, gateway, actor, view.payment.id, amount=amount.minor_units,
            idempotency_key=f"{key}:capture",
        )  # fmt: skip
    succeeded = view.state.status is PaymentStatus.CAPTURED
    decline = None if succeeded else (view.state.decline_code or "authentication_required")
    return _record_attempt(
        services, actor, document.id, number, view.payment.id, view.state.captured, decline, recorded
    )


def _record_attempt(
    services: Services,
    actor: Actor,
    document_id: str,
    number: int,
    payment_id: str,
    captured: int,
    decline: str | None,
    recorded: Recorded | None = None,
) -> ChargeOutcome:
    with services.uow() as uow:
        done = [a for a in uow.collection.attempts(actor.operator_id, document_id) if a.number == number]
        if done:  # recorded by a run that got here first
            if recorded is not None:
                recorded(uow)
                uow.commit()
            return ChargeOutcome(
                document_id, number, done[0].succeeded, done[0].decline_code, "charged before"
            )
        succeeded = decline is None
        # the capture credited the receivable, recorded the payment on the invoice (at most what was
        # open; paid meanwhile by transfer, the rest is credit) and reinstated the customer if
        # suspended: nothing more to record here
        uow.collection.add_attempt(
            ChargeAttempt(
                services.ids.new_id(), actor.operator_id, document_id, number, payment_id, succeeded, decline,
                services.clock.now(),
            )
        )  # fmt: skip
        if recorded is not None:
            recorded(uow)
        uow.commit()
    return ChargeOutcome(document_id, number, succeeded, decline)
