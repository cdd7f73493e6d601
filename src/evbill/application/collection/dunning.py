"""Collection: charge the card on file when an invoice is issued, retry failed charges on the operator's
schedule, remind by e-mail, suspend an overdue customer's tokens and give them back once paid, write off.

* ``collect_issued_document`` is what billing calls when it issues an invoice: one charge of the open
  amount on the customer's card on file (attempt 1). Called again, for any reason, it charges nothing
  more: attempt 1 is unique per invoice, and the gateway calls carry ``collect:<invoice>:<n>`` keys, so
  a crash between the gateway and the commit is reconciled by the retry, not charged twice.
* ``run_collection`` (``evbill payments collect``) does what is due at ``now``: marks invoices past
  their due date overdue, retries failed charges (``policy.retry_day``; never after a hard decline),
  sends reminders (one per run and invoice, each number once), suspends the tokens of customers with
  an invoice overdue more than ``suspend_after_days`` (the authorisation path then answers Blocked),
  and lifts suspensions whose customer has nothing that overdue any more. Run twice, the second run
  finds everything done.
* ``write_off_document`` gives up an invoice's open amount: Dr write-offs, Cr the receivable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from evbill.application.ledger.posting import post
from evbill.application.payments.payments import authorise_payment, capture_payment
from evbill.application.ports import Mailer, OutgoingMail, PaymentGateway, UnitOfWork
from evbill.application.records import Services, require
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor, Permission, Role
from evbill.domain.collection.dunning import CardOnFile, ChargeAttempt, Reminder, Suspension
from evbill.domain.collection.policy import CollectionPolicy, is_hard_decline, retry_day
from evbill.domain.errors import Conflict, DomainError, InvalidInput, NotFound, Problem
from evbill.domain.invoicing import documents as lifecycle
from evbill.domain.invoicing.documents import Document
from evbill.domain.ledger import accounts
from evbill.domain.ledger.entries import EntryCause, credit, debit
from evbill.domain.money import SettledMoney
from evbill.domain.offers.customers import TokenStatus
from evbill.domain.payments.events import PaymentStatus
from evbill.domain.payments.model import PaymentPurpose, looks_like_card_number


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    invoice_id: str
    attempt: int | None  # None: nothing was charged (nothing open, no card, or done before)
    succeeded: bool
    decline_code: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class _FixedClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass
class CollectionRun:
    marked_overdue: int = 0
    charged: int = 0
    declined: int = 0
    reminders: int = 0
    suspended: int = 0
    reinstated: int = 0
    problems: list[str] = field(default_factory=list)  # what could not be done (tried again next run)


def _policy(uow: UnitOfWork, operator_id: str) -> CollectionPolicy:
    return uow.collection.policy(operator_id) or CollectionPolicy(operator_id=operator_id)


def save_policy(services: Services, actor: Actor, policy: CollectionPolicy) -> CollectionPolicy:
    require(actor, Permission.MANAGE_OPERATOR)
    checked = replace(policy, operator_id=actor.operator_id).checked()
    with services.uow() as uow:
        uow.collection.save_policy(checked, services.clock.now())
        uow.commit()
    return checked


def save_card(
    services: Services, actor: Actor, customer_id: str, *, gateway: str, payment_method: str
) -> CardOnFile:
    """Keep the customer's gateway token to charge their invoices with (replaces the card before)."""
    require(actor, Permission.BILL)
    if looks_like_card_number(payment_method) or not payment_method.strip() or len(payment_method) > 100:
        raise InvalidInput(
            "the card is refused", (Problem("$.payment_method", "a gateway token, never a card number"),)
        )
    with services.uow() as uow:
        if uow.customers.get(actor.operator_id, customer_id) is None:
            raise NotFound(f"customer {customer_id!r} not found")
        card = CardOnFile(actor.operator_id, customer_id, gateway, payment_method, services.clock.now())
        uow.collection.save_card(card)
        uow.commit()
    return card


# --- charging ---------------------------------------------------------------------------------------


def collect_issued_document(
    services: Services, gateway: PaymentGateway, actor: Actor, document_id: str
) -> ChargeOutcome:
    """Charge an issued invoice's open amount to the card on file, once per invoice."""
    require(actor, Permission.BILL)
    with services.uow(read_only=True) as uow:
        document = uow.invoices.get(actor.operator_id, document_id)
        if document is None:
            raise NotFound(f"invoice {document_id!r} not found")
        attempts = uow.collection.attempts(actor.operator_id, document_id)
    if attempts:
        first = attempts[0]
        return ChargeOutcome(document_id, first.number, first.succeeded, first.decline_code, "charged before")
    return _attempt(services, gateway, actor, document, number=1)


def _attempt(
    services: Services, gateway: PaymentGateway, actor: Actor, document: Document, *, number: int
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
        services, actor, document.id, number, view.payment.id, view.state.captured, decline
    )


def _record_attempt(
    services: Services,
    actor: Actor,
    document_id: str,
    number: int,
    payment_id: str,
    captured: int,
    decline: str | None,
) -> ChargeOutcome:
    with services.uow() as uow:
        done = [a for a in uow.collection.attempts(actor.operator_id, document_id) if a.number == number]
        if done:  # recorded by a run that got here first
            return ChargeOutcome(
                document_id, number, done[0].succeeded, done[0].decline_code, "charged before"
            )
        document = uow.invoices.get(actor.operator_id, document_id)
        assert document is not None
        succeeded = decline is None
        if succeeded and document.open_minor > 0:
            # the capture already credited the receivable; paid meanwhile by transfer, the rest is credit
            paid = lifecycle.pay(document, min(captured, document.open_minor))
            uow.invoices.update(paid, expected_version=document.version)
        uow.collection.add_attempt(
            ChargeAttempt(
                services.ids.new_id(), actor.operator_id, document_id, number, payment_id, succeeded, decline,
                services.clock.now(),
            )
        )  # fmt: skip
        if succeeded and document.customer_id is not None:
            reinstate_if_settled(services, uow, actor.operator_id, document.customer_id)
        uow.commit()
    return ChargeOutcome(document_id, number, succeeded, decline)


# --- the collection run -----------------------------------------------------------------------------


def _today(uow: UnitOfWork, operator_id: str, now: datetime) -> date:
    profile = uow.invoices.profile(operator_id)
    return now.astimezone(ZoneInfo(profile.time_zone if profile else "UTC")).date()


def run_collection(
    services: Services,
    gateway: PaymentGateway,
    mailer: Mailer,
    *,
    operator_ids: Sequence[str] | None = None,
    now: datetime | None = None,
) -> CollectionRun:
    """Everything due at ``now`` (default the clock's), for the given operators (default all)."""
    if now is not None:  # the whole run acts as of that moment: attempts, reminders, suspensions
        services = replace(services, clock=_FixedClock(now))
    moment = services.clock.now()
    run = CollectionRun()
    with services.uow(read_only=True) as uow:
        chosen = list(operator_ids or [operator.id for operator in uow.operators.list_all()])
    for operator_id in chosen:
        actor = Actor(operator_id, Role.BILLING, "collection", "collection run")
        with services.uow(read_only=True) as uow:
            today = _today(uow, operator_id, moment)
            policy = _policy(uow, operator_id)
            documents = uow.invoices.open_documents(operator_id)
        for document in documents:
            try:
                document = _mark_overdue(services, run, document, today)
                _retry(services, gateway, actor, run, policy, document, today)
                _remind(services, mailer, run, policy, document.id, operator_id, today)
            except DomainError as error:  # one invoice's trouble (a stale version, a refused card token)
                run.problems.append(f"invoice {document.number}: {error}")  # is not every invoice's
        _suspend(services, run, policy, operator_id, today)
        _lift(services, run, operator_id, today)
    return run


def _mark_overdue(services: Services, run: CollectionRun, document: Document, today: date) -> Document:
    late = lifecycle.overdue(document, today)
    if late is document:
        return document
    with services.uow() as uow:
        current = uow.invoices.get(document.operator_id, document.id)
        if current is None or current.version != document.version:
            return current or document  # changed meanwhile; the next run looks again
        uow.invoices.update(late, expected_version=document.version)
        uow.commit()
    run.marked_overdue += 1
    return late


def _retry(
    services: Services,
    gateway: PaymentGateway,
    actor: Actor,
    run: CollectionRun,
    policy: CollectionPolicy,
    document: Document,
    today: date,
) -> None:
    with services.uow(read_only=True) as uow:
        attempts = uow.collection.attempts(document.operator_id, document.id)
    if not attempts or any(a.succeeded for a in attempts) or is_hard_decline(attempts[-1].decline_code):
        return
    day = retry_day(policy, len(attempts))
    first_day = attempts[0].attempted_at.date()
    if day is None or (today - first_day).days < day or attempts[-1].attempted_at.date() >= today:
        return  # none left, not yet due, or one today already (at most one a day)
    outcome = _attempt(services, gateway, actor, document, number=len(attempts) + 1)
    if outcome.attempt is not None and outcome.succeeded:
        run.charged += 1
    elif outcome.attempt is not None:
        run.declined += 1


def _remind(
    services: Services,
    mailer: Mailer,
    run: CollectionRun,
    policy: CollectionPolicy,
    document_id: str,
    operator_id: str,
    today: date,
) -> None:
    with services.uow() as uow:
        document = uow.invoices.get(operator_id, document_id)
        if document is None or document.open_minor <= 0 or document.due_date is None:
            return
        if not document.buyer.email:
            return
        overdue_days = (today - document.due_date).days
        due = [day for day in policy.reminder_days if overdue_days >= day]
        sent = len(uow.collection.reminders(operator_id, document_id))
        if len(due) <= sent:
            return
        number = sent + 1
        try:
            message_id = mailer.send(_reminder_mail(document, number, overdue_days))
        except Exception as error:  # noqa: BLE001 - the mail server's refusal must not stop the run
            run.problems.append(f"reminder {number} of invoice {document.number}: {error}")
            return
        uow.collection.add_reminder(
            Reminder(services.ids.new_id(), operator_id, document_id, number, document.buyer.email,
                     message_id, services.clock.now())
        )  # fmt: skip
        uow.commit()
    run.reminders += 1


def _reminder_mail(document: Document, number: int, overdue_days: int) -> OutgoingMail:
    assert document.buyer.email is not None
    open_amount = _shown(document.open_minor, document.currency)
    lines = [
        f"Dear {document.buyer.name},",
        "",
        f"invoice {document.number} of {document.issue_date} was due on {document.due_date} and "
        f"{open_amount} {document.currency} of it is still open ({overdue_days} days overdue).",
    ]
    if document.seller.iban:
        lines.append(
            f"Please transfer it to {document.seller.iban} quoting the reference "
            f"{document.payment_reference or document.number}."
        )
    lines += ["", "If you have paid in the meantime, thank you, and please ignore this reminder.", "",
              document.seller.name]  # fmt: skip
    return OutgoingMail(
        to=(document.buyer.email,),
        subject=f"Reminder {number}: invoice {document.number}, {open_amount} {document.currency} open",
        text="\n".join(lines),
        reply_to=document.seller.email,
    )


def _shown(minor: int, currency: str) -> str:
    """Minor units as the decimal text a person reads (2001 EUR -> 20.01), without a float."""
    places = currencies.exponent(currency)
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


def _too_late(document: Document, policy: CollectionPolicy, today: date) -> bool:
    if policy.suspend_after_days is None or document.due_date is None or document.open_minor <= 0:
        return False
    return (today - document.due_date).days > policy.suspend_after_days


def _suspend(
    services: Services, run: CollectionRun, policy: CollectionPolicy, operator_id: str, today: date
) -> None:
    with services.uow() as uow:
        late = [d for d in uow.invoices.open_documents(operator_id) if _too_late(d, policy, today)]
        suspended = {s.customer_id for s in uow.collection.active_suspensions(operator_id)}
        for document in late:
            customer_id = document.customer_id
            if customer_id is None or customer_id in suspended:
                continue
            blocked = _set_tokens(services, uow, operator_id, customer_id, None, TokenStatus.BLOCKED)
            uow.collection.add_suspension(
                Suspension(services.ids.new_id(), operator_id, customer_id, document.id, blocked,
                           services.clock.now(), None)
            )  # fmt: skip
            suspended.add(customer_id)
            run.suspended += 1
        uow.commit()


def _set_tokens(
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
    policy = _policy(uow, operator_id)
    today = _today(uow, operator_id, services.clock.now())
    still_late = [
        d
        for d in uow.invoices.open_documents(operator_id)
        if d.customer_id == customer_id and _too_late(d, policy, today)
    ]
    if still_late:
        return 0
    for suspension in suspensions:
        _set_tokens(services, uow, operator_id, customer_id, suspension.token_ids, TokenStatus.ACTIVE)
        uow.collection.lift_suspension(operator_id, suspension.id, services.clock.now())
    return len(suspensions)


def _lift(services: Services, run: CollectionRun, operator_id: str, today: date) -> None:
    with services.uow() as uow:
        customers = {s.customer_id for s in uow.collection.active_suspensions(operator_id)}
        for customer_id in sorted(customers):
            run.reinstated += reinstate_if_settled(services, uow, operator_id, customer_id)
        uow.commit()


# --- write-off --------------------------------------------------------------------------------------


def write_off_document(services: Services, actor: Actor, document_id: str, reason: str) -> Document:
    """Give up what is open on an invoice: Dr write-offs, Cr the customer's receivable."""
    require(actor, Permission.BILL)
    with services.uow() as uow:
        document = uow.invoices.get(actor.operator_id, document_id)
        if document is None:
            raise NotFound(f"invoice {document_id!r} not found")
        if document.customer_id is None:
            raise Conflict("an invoice without a customer has no receivable to write off")
        amount = document.open_minor
        written_off = lifecycle.write_off(document, reason)
        uow.invoices.update(written_off, expected_version=document.version)
        post(
            uow, services.ids, operator_id=actor.operator_id, at=services.clock.now(),
            cause=EntryCause.WRITE_OFF, reference=f"write_off:{document.id}",
            description=f"write-off of invoice {document.number}: {reason}",
            postings=(debit(accounts.WRITE_OFFS, amount, document.currency),
                      credit(accounts.receivable(document.customer_id), amount, document.currency)),
        )  # fmt: skip
        reinstate_if_settled(services, uow, actor.operator_id, document.customer_id)
        uow.commit()
    return written_off
