"""What the customer owes on an invoice changing: the one place where a payment is recorded on an
invoice or taken back from it, and where that lifts (or not) the customer's overdue suspension.

Every way an invoice gets paid goes through ``pay_invoice`` in the paying transaction: a card
capture (the API's ``POST /payments``, a card on file charged at issue or by the collection run, a
webhook), a wallet, a recorded payment. Each one then reinstates the customer suspended by the
overdue policy ("suspend the contract's tokens after N days, reinstated on payment") when nothing of
theirs is that overdue any more. A bank statement pays many invoices at once and reinstates through
``reinstate_if_settled`` itself. ``reopen_invoice`` is a refund of a card payment of the invoice:
what was paid goes down and the status follows the due date again:

    invoice 20.01 due 2026-12-15, paid 20.01 (PAID); 5.00 refunded on 2026-12-10 -> paid 15.01,
    PARTIALLY_PAID; the same refund on 2026-12-20 -> OVERDUE

The capability sits below payments and collection so both use it (payments may not import
collection, which charges cards through payments).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from evbill.application.ports import UnitOfWork
from evbill.application.records import Services
from evbill.domain.collection.policy import CollectionPolicy
from evbill.domain.invoicing import documents as lifecycle
from evbill.domain.invoicing.documents import Document
from evbill.domain.offers.customers import TokenStatus


def policy_of(uow: UnitOfWork, operator_id: str) -> CollectionPolicy:
    return uow.collection.policy(operator_id) or CollectionPolicy(operator_id=operator_id)


def today_of(uow: UnitOfWork, operator_id: str, now: datetime) -> date:
    """The operator's calendar day at ``now`` (due dates are days in the operator's time zone)."""
    profile = uow.invoices.profile(operator_id)
    return now.astimezone(ZoneInfo(profile.time_zone if profile else "UTC")).date()


def too_late(document: Document, policy: CollectionPolicy, today: date) -> bool:
    if policy.suspend_after_days is None or document.due_date is None or document.open_minor <= 0:
        return False
    return (today - document.due_date).days > policy.suspend_after_days


def pay_invoice(services: Services, uow: UnitOfWork, document: Document, amount_minor: int) -> Document:
    """Record ``amount_minor`` paid on the invoice (at most its open amount: the caller says how much
    it applies) and reinstate its customer if nothing of theirs is too long overdue any more."""
    paid = lifecycle.pay(document, amount_minor)
    uow.invoices.update(paid, expected_version=document.version)
    if paid.customer_id is not None:
        reinstate_if_settled(services, uow, paid.operator_id, paid.customer_id)
    return paid


def reopen_invoice(services: Services, uow: UnitOfWork, document: Document, amount_minor: int) -> Document:
    """Take ``amount_minor`` of a refunded payment back from what the invoice shows paid (at most what
    it shows; nothing on an invoice void or written off meanwhile: its customer's receivable still
    takes the refund). The status follows the due date on the operator's today."""
    amount = min(amount_minor, document.paid_minor)
    if amount <= 0 or document.status not in lifecycle.SETTLING:
        return document
    today = today_of(uow, document.operator_id, services.clock.now())
    reopened = lifecycle.take_back(document, amount, today)
    uow.invoices.update(reopened, expected_version=document.version)
    return reopened


def set_tokens(
    services: Services,
    uow: UnitOfWork,
    operator_id: str,
    customer_id: str,
    only: tuple[str, ...] | None,
    status: TokenStatus,
) -> tuple[str, ...]:
    """Move the tokens of the customer and of their fleet's drivers (or ``only`` these) to ``status``;
    the ids of those that moved."""
    changed = []
    now = services.clock.now()
    drivers = uow.customers.list(operator_id, filters={"parent_id": customer_id}, after=None, limit=10_000)
    tokens = [
        token
        for holder in (customer_id, *(driver.id for driver in drivers))
        for token in uow.tokens.list(operator_id, filters={"customer_id": holder}, after=None, limit=10_000)
    ]
    for token in tokens:
        if token.status is status or (only is not None and token.id not in only):
            continue
        uow.tokens.update(
            replace(token, status=status, updated_at=now, version=token.version + 1),
            expected_version=token.version,
        )
        changed.append(token.id)
    return tuple(changed)


def reinstate_if_settled(services: Services, uow: UnitOfWork, operator_id: str, customer_id: str) -> int:
    """Lift the customer's suspensions if nothing of theirs is overdue beyond the policy any more."""
    suspensions = uow.collection.active_suspensions(operator_id, customer_id)
    if not suspensions:
        return 0
    policy = policy_of(uow, operator_id)
    today = today_of(uow, operator_id, services.clock.now())
    still_late = [
        d
        for d in uow.invoices.open_documents(operator_id)
        if d.customer_id == customer_id and too_late(d, policy, today)
    ]
    if still_late:
        return 0
    for suspension in suspensions:
        set_tokens(services, uow, operator_id, customer_id, suspension.token_ids, TokenStatus.ACTIVE)
        uow.collection.lift_suspension(operator_id, suspension.id, services.clock.now())
    return len(suspensions)
