"""SEPA direct debit: customers' mandates, and the pain.008 file that collects their open invoices.

``sepa_collection`` takes every open EUR invoice of a customer with an active mandate that is not in
a collection file yet (nor being charged to a card on file: one invoice, one way of collecting it),
builds the file (``DirectDebitFileWriter``, XSD-checked), hands it to
``deliver`` (the CLI writes it to disk) and only then records the invoices as collected and each
mandate's first use, in one transaction: a file that could not be delivered leaves nothing recorded,
and no invoice is ever in two files. The invoice is paid when the bank's statement shows the money
(the debit's remittance carries the invoice's RF reference, which the statement import matches).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from evbill.application.collection.ports import Creditor, DebitLine, DirectDebitFileWriter
from evbill.application.invoicing.documents import IbanChecker
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.collection.dunning import DirectDebit
from evbill.domain.collection.mandates import Mandate, check_reference
from evbill.domain.errors import Conflict, InvalidInput, Problem
from evbill.domain.invoicing.documents import Document

CREDITOR_ID = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}")
_NOT_SEPA = re.compile(r"[^A-Za-z0-9+?/\-:().,' ]")


@dataclass(frozen=True, slots=True)
class CollectionFile:
    message_id: str | None
    invoices: int
    total_minor: int
    currency: str = "EUR"


def add_mandate(
    services: Services,
    actor: Actor,
    ibans: IbanChecker,
    *,
    customer_id: str,
    reference: str,
    iban: str,
    signed_on: date,
    debtor_name: str | None = None,
) -> Mandate:
    require(actor, Permission.BILL)
    check_reference(reference, signed_on, services.clock.now().date())
    try:
        compact, bic = ibans.check(iban)
    except ValueError as error:
        raise InvalidInput("invalid mandate", (Problem("$.iban", str(error)),)) from None
    with services.uow() as uow:
        customer = uow.customers.get(actor.operator_id, customer_id)
        if customer is None:  # named in the request's body: invalid there, as every such reference is
            raise InvalidInput("invalid mandate", (Problem("$.customer_id", "no such customer"),))
        mandate = Mandate(
            id=services.ids.new_id(), operator_id=actor.operator_id, customer_id=customer_id,
            reference=reference, iban=compact, bic=bic, debtor_name=debtor_name or customer.name,
            signed_on=signed_on, first_collected_on=None, revoked_at=None, created_at=services.clock.now(),
        )  # fmt: skip
        uow.collection.add_mandate(mandate)
        uow.commit()
    return mandate


def sepa_collection(
    services: Services,
    writer: DirectDebitFileWriter,
    actor: Actor,
    *,
    collection_date: date,
    creditor_id: str,
    deliver: Callable[[bytes], None],
) -> CollectionFile:
    require(actor, Permission.BILL)
    problems = []
    if collection_date <= services.clock.now().date():
        problems.append(Problem("--collection-date", "must be after today (banks need the file in advance)"))
    if not CREDITOR_ID.fullmatch(creditor_id):
        problems.append(Problem("--creditor-id", "a SEPA creditor identifier, e.g. NL98ZZZ999999999999"))
    if problems:
        raise InvalidInput("cannot build the collection file", tuple(problems))
    with services.uow() as uow:
        profile = uow.invoices.profile(actor.operator_id)
        if profile is None or not profile.seller.iban:
            raise Conflict("the operator's invoicing profile has no IBAN to collect into")
        creditor = Creditor(profile.seller.name, profile.seller.iban, profile.seller.bic, creditor_id, "EUR")
        mandates = {m.customer_id: m for m in uow.collection.mandates(actor.operator_id) if m.active}
        debited = uow.collection.debited_invoices(actor.operator_id)
        chosen = [
            (document, mandates[document.customer_id])
            for document in uow.invoices.open_documents(actor.operator_id, currency="EUR")
            if document.customer_id in mandates
            and document.id not in debited
            # one invoice, one way to collect it: one the card on file is being charged for stays there
            and not uow.collection.attempts(actor.operator_id, document.id)
        ]
        if not chosen:
            return CollectionFile(None, 0, 0)
        lines = [
            DebitLine(
                end_to_end_id=_sepa_text(document.number or document.id)[:35],
                amount_minor=document.open_minor, debtor_name=mandate.debtor_name, iban=mandate.iban,
                bic=mandate.bic, mandate_reference=mandate.reference, mandate_signed_on=mandate.signed_on,
                sequence_type=mandate.sequence_type, collection_date=collection_date,
                description=_description(document),
            )
            for document, mandate in chosen
        ]  # fmt: skip
        message_id, data = writer.write(creditor, lines)
        now = services.clock.now()
        for (document, mandate), line in zip(chosen, lines, strict=True):
            uow.collection.add_direct_debit(
                DirectDebit(
                    services.ids.new_id(), actor.operator_id, document.id, mandate.id, message_id[:35],
                    collection_date, line.amount_minor, "EUR", line.sequence_type, line.end_to_end_id, now,
                )
            )  # fmt: skip
            uow.collection.mark_first_collected(actor.operator_id, mandate.id, collection_date)
        deliver(data)
        uow.commit()
    return CollectionFile(message_id, len(lines), sum(line.amount_minor for line in lines))


def _description(document: Document) -> str:
    """The remittance the customer's bank shows: the invoice and its RF reference (which we match)."""
    return _sepa_text(f"Invoice {document.number} {document.payment_reference or ''}".strip())


def _sepa_text(text: str) -> str:
    return _NOT_SEPA.sub(" ", text)
