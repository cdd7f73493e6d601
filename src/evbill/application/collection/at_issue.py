"""Collecting a billing run's invoices as they are issued: card on file charged, direct debit marked.

The billing run issues a chunk of invoices in one transaction (``invoicing.runs``); only once that
transaction has committed does ``charge_issued`` see the chunk's invoices, so no gateway call is ever
made inside the run's transaction (a gateway call cannot be rolled back with it). Per invoice, the
payment method of the contract's terms decides:

* ``CARD_ON_FILE``: ``charges.collect_issued_document`` charges the open amount once (attempt 1;
  gateway keys ``collect:<invoice>:1:...``). Run again (a rerun of the billing run finds the invoice
  ALREADY_ISSUED and hands it here again, or a worker retries the job), it finds attempt 1 and
  charges nothing; a crash between the gateway's answer and the attempt's commit is reconciled by
  the same keys. A decline is attempt 1 of the operator's retry schedule (``evbill payments collect``).
* ``DIRECT_DEBIT``: nothing is charged here (a pain.008 is a file for the bank): the invoice is
  marked for the next SEPA collection file (``evbill payments sepa-file``), which takes every open
  EUR invoice of a customer with an active mandate.
* anything else (wallet, bank transfer): nothing to do at issue.

Each invoice so done marks its items in the billing runs that wait for it collected (``runs.
note_collected``): a card's in the transaction that records its attempt, the others together at the
end; a run is DONE only once all of its invoices are, so its summary is final when it says so.

``run_charges`` is the run's summary of it, read back from the stored attempts and payments, so a
queued run (charged by the workers) reports the same figures as one run in this process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from evbill.application.collection.charges import ChargeOutcome, collect_issued_document
from evbill.application.invoicing import runs
from evbill.application.ports import PaymentGateway, UnitOfWork
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.errors import DomainError, NotFound
from evbill.domain.invoicing.runs import ItemStatus, RunItem
from evbill.domain.offers.contracts import ContractTerms, PaymentMethodKind
from evbill.domain.payments.events import derive_state

CHARGE_JOB = runs.CHARGE_JOB  # the queued form: one job per chunk, enqueued by the run after its commit
# an item whose invoice exists: issued by this run, or by an earlier one (whose charge may not have run)
WITH_INVOICE = (ItemStatus.ISSUED, ItemStatus.ALREADY_ISSUED)


@dataclass(frozen=True, slots=True)
class IssueCollection:
    """What happened at issue to one invoice."""

    invoice_id: str
    method: PaymentMethodKind | None
    charge: ChargeOutcome | None = None  # CARD_ON_FILE only
    problem: str | None = None  # the charge could not be made (a refused token ...): tried again later


def issued_invoices(items: Iterable[RunItem]) -> list[str]:
    """The invoices of the run items that have one (what ``charge_issued`` takes)."""
    return [item.invoice_id for item in items if item.status in WITH_INVOICE and item.invoice_id]


def issued_contracts(items: Iterable[RunItem]) -> list[str]:
    """The contracts of ``issued_invoices``' invoices, in the same order."""
    return [item.contract_id for item in items if item.status in WITH_INVOICE and item.invoice_id]


def _terms_on(terms: Sequence[ContractTerms], moment: datetime) -> ContractTerms | None:
    started = [t for t in terms if t.effective_from <= moment]
    if started:
        return max(started, key=lambda t: t.effective_from)
    return min(terms, key=lambda t: t.effective_from) if terms else None


def charge_issued(
    services: Services,
    gateway: PaymentGateway,
    actor: Actor,
    invoice_ids: Sequence[str],
    contract_ids: Sequence[str] | None = None,
) -> list[IssueCollection]:
    """Charge (card on file) or mark (direct debit) the issued invoices; call after their commit.
    ``contract_ids`` (the invoices' contracts, in the same order, as a billing run knows them): only
    the invoices of card-on-file contracts are read (a run of 10,000 bank-transfer invoices read each
    one back for nothing)."""
    require(actor, Permission.BILL)
    now = services.clock.now()
    with services.uow(read_only=True) as uow:
        wanted, skipped = list(invoice_ids), []
        pairs_known = contract_ids is not None and len(contract_ids) == len(invoice_ids)
        if contract_ids is not None and pairs_known:
            known = uow.contract_terms.of_contracts(actor.operator_id, sorted(set(contract_ids)))
            methods = {}
            for contract_id in set(contract_ids):
                chosen = _terms_on(known.get(contract_id, []), now)
                methods[contract_id] = None if chosen is None else chosen.payment_method
            pairs = list(zip(invoice_ids, contract_ids, strict=True))
            wanted = [i for i, c in pairs if methods[c] is PaymentMethodKind.CARD_ON_FILE]
            skipped = [
                IssueCollection(i, methods[c])
                for i, c in pairs
                if methods[c] is not PaymentMethodKind.CARD_ON_FILE
            ]
        documents = [uow.invoices.get(actor.operator_id, invoice_id) for invoice_id in wanted]
        found = [document for document in documents if document is not None]
        ids = sorted({d.contract_id for d in found if d.contract_id is not None})
        terms = uow.contract_terms.of_contracts(actor.operator_id, ids) if ids else {}
    done = []
    for document in found:
        chosen = _terms_on(terms.get(document.contract_id or "", []), now)
        method = None if chosen is None else chosen.payment_method
        if method is PaymentMethodKind.CARD_ON_FILE:
            # the billing runs holding the invoice count it collected with the attempt's record
            mark = partial(_mark, actor.operator_id, document.id, document.contract_id, now)
            try:
                outcome = collect_issued_document(services, gateway, actor, document.id, recorded=mark)
            except DomainError as error:  # one customer's refused token is not the run's problem
                done.append(IssueCollection(document.id, method, problem=str(error)))
                continue
            done.append(IssueCollection(document.id, method, outcome))
        else:
            done.append(IssueCollection(document.id, method))
    # the rest (nothing charged: another method, nothing open, no card, refused) collected now; the
    # runs that waited for the last of their invoices are done
    runs.record_collected(services, actor, invoice_ids, contract_ids if pairs_known else None)
    return [*done, *skipped]


def _mark(operator_id: str, invoice_id: str, contract_id: str | None, at: datetime, uow: UnitOfWork) -> None:
    runs.note_collected(uow, operator_id, [invoice_id], None if contract_id is None else [contract_id], at)


@dataclass
class RunCharges:
    """A run's invoices charged at issue: how many and how much, per currency (minor units)."""

    charged: int = 0
    declined: int = 0
    direct_debit: int = 0  # marked for the next SEPA collection file
    charged_minor: dict[str, int] = field(default_factory=dict)
    declined_minor: dict[str, int] = field(default_factory=dict)


def run_charges(services: Services, actor: Actor, run_id: str) -> RunCharges:
    """The charges at issue of the run's invoices (attempt 1 of each), from the stored records. Only
    this run's charges count: an invoice it found ALREADY_ISSUED was charged by an earlier run, unless
    that run died before charging it and this one made the attempt (after this run was created)."""
    require(actor, Permission.READ)
    summary = RunCharges()
    with services.uow(read_only=True) as uow:
        run = uow.billing_runs.get(actor.operator_id, run_id)
        if run is None:
            raise NotFound(f"billing run {run_id!r} not found")
        # a few looks for the whole run (a run of 10,000 invoices read them one by one, twice each)
        items = list(uow.billing_runs.items(run_id))
        invoice_ids = issued_invoices(items)
        earlier = {
            item.invoice_id for item in items if item.status is ItemStatus.ALREADY_ISSUED and item.invoice_id
        }
        firsts = uow.collection.first_attempts(actor.operator_id, invoice_ids)
        paid_by: dict[str, str] = {}
        for invoice_id in invoice_ids:
            first = firsts.get(invoice_id)
            if first is not None and first.payment_id is not None:
                paid_by[invoice_id] = first.payment_id
        uncharged = [invoice_id for invoice_id in invoice_ids if invoice_id not in paid_by]
        if uncharged:
            debited = uow.collection.debited_invoices(actor.operator_id)
            mandated = {m.customer_id for m in uow.collection.mandates(actor.operator_id) if m.active}
            customers = uow.invoices.customers_of(actor.operator_id, uncharged)
            summary.direct_debit = sum(
                1
                for invoice_id in uncharged
                if invoice_id in customers and (invoice_id in debited or customers[invoice_id] in mandated)
            )
        found = uow.payments.with_events(actor.operator_id, list(paid_by.values()))
        for invoice_id, payment_id in paid_by.items():
            first = firsts[invoice_id]
            if payment_id not in found:
                continue
            if invoice_id in earlier and first.attempted_at < run.created_at:
                continue  # charged (or declined) by the run that issued it, not by this one
            payment, events = found[payment_id]
            state = derive_state(events)
            if first.succeeded:
                summary.charged += 1
                summary.charged_minor[payment.currency] = (
                    summary.charged_minor.get(payment.currency, 0) + state.captured
                )
            else:
                summary.declined += 1
                summary.declined_minor[payment.currency] = (
                    summary.declined_minor.get(payment.currency, 0) + payment.amount
                )
    return summary
