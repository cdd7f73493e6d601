"""Collection: charge the card on file when an invoice is issued, retry failed charges on the operator's
schedule, remind by e-mail, suspend an overdue customer's tokens and give them back once paid, write off.

* ``charges.collect_issued_document`` is what billing calls when it issues an invoice (the card on
  file, once per invoice).
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

from evbill.application.collection.charges import charge
from evbill.application.collection.suspensions import lift_settled, suspend_overdue
from evbill.application.ledger.posting import post
from evbill.application.ports import Mailer, OutgoingMail, PaymentGateway
from evbill.application.receivables import policy_of, reinstate_if_settled, today_of
from evbill.application.records import Services, require
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor, Permission, Role
from evbill.domain.collection.dunning import Reminder
from evbill.domain.collection.policy import CollectionPolicy, is_hard_decline, retry_day
from evbill.domain.errors import Conflict, DomainError, NotFound
from evbill.domain.invoicing import documents as lifecycle
from evbill.domain.invoicing.documents import Document
from evbill.domain.ledger import accounts
from evbill.domain.ledger.entries import EntryCause, credit, debit


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


def save_policy(services: Services, actor: Actor, policy: CollectionPolicy) -> CollectionPolicy:
    require(actor, Permission.MANAGE_OPERATOR)
    checked = replace(policy, operator_id=actor.operator_id).checked()
    with services.uow() as uow:
        uow.collection.save_policy(checked, services.clock.now())
        uow.commit()
    return checked


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
            today = today_of(uow, operator_id, moment)
            policy = policy_of(uow, operator_id)
            documents = uow.invoices.open_documents(operator_id)
        for document in documents:
            try:
                document = _mark_overdue(services, run, document, today)
                _retry(services, gateway, actor, run, policy, document, today)
                _remind(services, mailer, run, policy, document.id, operator_id, today)
            except DomainError as error:  # one invoice's trouble (a stale version, a refused card token)
                run.problems.append(f"invoice {document.number}: {error}")  # is not every invoice's
        run.suspended += suspend_overdue(services, policy, operator_id, today)
        run.reinstated += lift_settled(services, operator_id)
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
        if attempts and document.id in uow.collection.debited_invoices(document.operator_id):
            return  # it is being collected by direct debit: a card retry could take the money twice
    if not attempts or any(a.succeeded for a in attempts) or is_hard_decline(attempts[-1].decline_code):
        return
    day = retry_day(policy, len(attempts))
    first_day = attempts[0].attempted_at.date()
    if day is None or (today - first_day).days < day or attempts[-1].attempted_at.date() >= today:
        return  # none left, not yet due, or one today already (at most one a day)
    outcome = charge(services, gateway, actor, document, number=len(attempts) + 1)
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
