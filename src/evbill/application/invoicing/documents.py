"""Use cases: make an invoice from a recorded bill, issue it under a gapless number, correct it.

``invoice_bill`` is what the billing run calls per contract and cycle: in one transaction it makes
the draft from the recorded bill, takes the series' next number under the counter's lock, issues the
document and marks the bill invoiced, then commits. Run again (or after a crash anywhere before the
commit) it finds the bill's document, or nothing of the attempt: each bill becomes one invoice, and a
number is only ever used by a committed invoice.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from evbill.application.billing.cycle import customer_in, session_starts, terms_in
from evbill.application.invoicing.postings import post_issued, post_voided
from evbill.application.invoicing.references import creditor_reference
from evbill.application.memo import once
from evbill.application.ports import UnitOfWork
from evbill.application.receivables import pay_invoice
from evbill.application.records import Page, Services, checked_limit, page_of, require
from evbill.domain.access.operators import Actor, Operator, Permission
from evbill.domain.billing.records import RecordedBill
from evbill.domain.errors import Conflict, InvalidInput, NotFound, Problem
from evbill.domain.invoicing import documents as lifecycle
from evbill.domain.invoicing.compose import compose
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus, Party
from evbill.domain.invoicing.from_bill import draft_lines
from evbill.domain.invoicing.numbering import check_format, check_series, format_number
from evbill.domain.invoicing.profiles import IncompleteSeller, InvoicingProfile, seller_problems
from evbill.domain.invoicing.statement import COLOUR
from evbill.domain.invoicing.tax import REVERSE_CHARGE_NOTE, TaxMode, is_reverse_charge

T = TypeVar("T")


def _found(record: T | None, what: str, record_id: str) -> T:
    if record is None:
        raise NotFound(f"{what} {record_id!r} not found")
    return record


class IbanChecker(Protocol):
    def check(self, iban: str) -> tuple[str, str | None]:
        """The IBAN in electronic form and the bank's BIC if known; ValueError saying what is wrong."""
        ...


def save_profile(
    services: Services,
    actor: Actor,
    profile: InvoicingProfile,
    *,
    ibans: IbanChecker,
    expected_version: int | None = None,
) -> InvoicingProfile:
    """Store the operator's seller data and numbering; the IBAN is checked (and the BIC filled in).
    ``expected_version``: the version the caller read (the API's If-Match; 0 before the first save),
    StaleVersion when another save came first. Series must differ; the number format needs
    ``{series}`` and ``{number}`` (see ``numbering.check_format``)."""
    require(actor, Permission.MANAGE_OPERATOR)
    check_format(profile.number_format)
    check_series(profile.series, profile.credit_series, profile.receipt_series)
    seller = profile.seller
    if seller.iban is not None:
        try:
            iban, bic = ibans.check(seller.iban)
        except ValueError as error:
            raise InvalidInput("invalid seller", (Problem("$.seller.iban", str(error)),)) from None
        seller = replace(seller, iban=iban, bic=seller.bic or bic)
    try:
        ZoneInfo(profile.time_zone)
    except (KeyError, ValueError):
        raise InvalidInput("invalid profile", (Problem("$.time_zone", "not an IANA time zone"),)) from None
    brand_problems = check_branding(profile.logo, profile.accent_colour)
    if brand_problems:
        raise InvalidInput("invalid profile", brand_problems)
    stored = replace(profile, operator_id=actor.operator_id, seller=seller)
    with services.uow() as uow:
        saved = uow.invoices.save_profile(stored, services.clock.now(), expected_version=expected_version)
        uow.commit()
    return saved


MAX_LOGO_BYTES = 512 * 1024


def check_branding(logo: str | None, accent_colour: str) -> tuple[Problem, ...]:
    """The logo must be a PNG or JPEG (base64, at most 512 KiB), the colour '#RRGGBB'."""
    problems = []
    if not COLOUR.fullmatch(accent_colour):
        problems.append(Problem("$.accent_colour", "must be a colour like #005C82"))
    if logo is not None:
        try:
            image = base64.b64decode(logo, validate=True)
        except (binascii.Error, ValueError):
            image = b""
        if not image.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
            problems.append(Problem("$.logo", "must be a PNG or JPEG image, base64-encoded"))
        elif len(image) > MAX_LOGO_BYTES:
            problems.append(Problem("$.logo", f"must be at most {MAX_LOGO_BYTES // 1024} KiB"))
    return tuple(problems)


def _profile(uow: UnitOfWork, operator_id: str) -> InvoicingProfile:
    return once(uow, ("invoicing profile", operator_id), lambda: _read_profile(uow, operator_id))


def missing_seller_data(uow: UnitOfWork, operator_id: str) -> tuple[Problem, ...]:
    """What the operator's seller data lacks to issue anything (``profiles.seller_problems``), once
    per transaction; () when complete."""
    return once(uow, ("seller problems", operator_id), lambda: seller_problems(_profile(uow, operator_id)))


def check_seller_in(uow: UnitOfWork, operator_id: str) -> None:
    """IncompleteSeller (422, naming each missing field) unless the operator may issue documents."""
    problems = missing_seller_data(uow, operator_id)
    if problems:
        raise IncompleteSeller(problems)


def _operator(uow: UnitOfWork, operator_id: str) -> Operator:
    return _found(once(uow, ("operator", operator_id), lambda: uow.operators.get(operator_id)), "operator",
                  operator_id)  # fmt: skip


def _read_profile(uow: UnitOfWork, operator_id: str) -> InvoicingProfile:
    profile = uow.invoices.profile(operator_id)
    if profile is not None:
        return profile
    operator = uow.operators.get(operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id!r} not found")
    return InvoicingProfile(
        operator_id, Party(operator.legal_name, operator.tax_country, vat_id=operator.vat_id)
    )


def _draft(services: Services, uow: UnitOfWork, actor: Actor, recorded: RecordedBill) -> Document:
    profile = _profile(uow, actor.operator_id)
    operator = _operator(uow, actor.operator_id)
    customer = customer_in(uow, actor.operator_id, recorded.customer_id)
    terms = terms_in(uow, actor.operator_id, recorded.contract_id)
    due_days = max(terms, key=lambda t: t.number).payment_due_days if terms else 14
    buyer = Party(
        customer.name, customer.country, customer.address, customer.city, customer.postal_code,
        customer.vat_id, email=customer.email,
    )  # fmt: skip
    reverse = profile.tax_mode is TaxMode.VAT and is_reverse_charge(
        seller_country=profile.seller.country, buyer_country=customer.country, buyer_vat_id=customer.vat_id
    )
    zone = ZoneInfo(profile.time_zone)
    session_ids = sorted({line.session_id for line in recorded.bill.lines if line.session_id is not None})
    known = session_starts(uow, actor.operator_id)  # billed in this transaction: no need to look
    starts = {session_id: known[session_id] for session_id in session_ids if session_id in known}
    missing = [session_id for session_id in session_ids if session_id not in known]
    if missing:  # one query for the cycle's sessions (a billing run makes thousands of invoices)
        starts.update(uow.sessions.started_at(actor.operator_id, missing))
    dates = {session_id: started.astimezone(zone).date() for session_id, started in starts.items()}
    lines = draft_lines(recorded.bill, session_dates=dates, schedule=profile.schedule)
    composed = compose(
        lines, currency=recorded.bill.currency, mode=operator.rounding_mode, reverse_charge=reverse,
        tax_mode=profile.tax_mode,
    )  # fmt: skip
    notes = recorded.bill.notes + ((REVERSE_CHARGE_NOTE,) if reverse else ())
    return Document(
        id=services.ids.new_id(), operator_id=actor.operator_id, kind=DocumentKind.INVOICE,
        status=DocumentStatus.DRAFT, series=profile.series, number=None, contract_id=recorded.contract_id,
        customer_id=recorded.customer_id, bill_id=recorded.id, seller=profile.seller, buyer=buyer,
        language=customer.language, composed=composed, rounding_mode=operator.rounding_mode,
        period_start=recorded.cycle_start, period_end=recorded.cycle_end, payment_due_days=due_days,
        notes=notes, created_at=services.clock.now(),
    )  # fmt: skip


def _issue(
    services: Services,
    uow: UnitOfWork,
    document: Document,
    *,
    stored: bool = True,
    sequence: int | None = None,
    receivable_key: str | None = None,
) -> Document:
    profile = _profile(uow, document.operator_id)
    check_seller_in(uow, document.operator_id)  # an issued document never changes: refused before a number
    zone = ZoneInfo(profile.time_zone)
    now = services.clock.now()
    if sequence is None:
        sequence = uow.invoices.next_number(document.operator_id, document.series)
    number = format_number(profile.number_format, series=document.series, year=now.astimezone(zone).year,
                           number=sequence)  # fmt: skip
    issued = lifecycle.issue(document, number=number, issued_at=now, zone=zone)
    if issued.kind is not DocumentKind.CREDIT_NOTE:  # what the customer pays by bank transfer quotes
        issued = replace(issued, payment_reference=creditor_reference(number))
    if stored:
        uow.invoices.update(issued, expected_version=document.version, sequence=sequence)
    else:  # a draft made in this transaction and never stored: stored once, issued (one row written)
        uow.invoices.add(issued, sequence=sequence)
    # the ledger entry commits with the number, or neither
    post_issued(uow, services.ids, issued, now, receivable_key=receivable_key)
    if issued.bill_id is not None:
        uow.bills.mark_invoiced(document.operator_id, issued.bill_id, issued.id)
    return issued


def invoice_bill(services: Services, actor: Actor, bill_id: str) -> Document:
    """The recorded bill's invoice, issued; the same invoice however often it is asked for."""
    return issue_bill(services, actor, bill_id)[0]


def issue_bill(services: Services, actor: Actor, bill_id: str) -> tuple[Document, bool]:
    """``invoice_bill``, and whether this call issued it (False: it was issued before). A document
    whose generation failed (FAILED) is made again as a new draft in its place, then issued."""
    require(actor, Permission.BILL)
    with services.uow() as uow:
        existing = uow.invoices.find_by_bill(actor.operator_id, bill_id)
        if existing is not None and existing.status not in (DocumentStatus.DRAFT, DocumentStatus.FAILED):
            return existing, False
        recorded = _found(uow.bills.get(actor.operator_id, bill_id), "bill", bill_id)
        draft = draft_in(services, uow, actor, recorded, existing)
        issued = _issue(services, uow, draft)
        uow.commit()
        return issued, True


def draft_in(
    services: Services,
    uow: UnitOfWork,
    actor: Actor,
    recorded: RecordedBill,
    existing: Document | None,
    *,
    store: bool = True,
) -> Document:
    """The recorded bill's draft, stored in the caller's transaction: made new (no document yet),
    made again in place of a FAILED one, or the DRAFT already there. Issue it with ``issue_in``.
    ``store=False``: a new draft is not stored (``issue_in(..., stored=False)`` stores it issued)."""
    if existing is None:
        draft = _draft(services, uow, actor, recorded)
        if store:
            uow.invoices.add(draft)
        return draft
    if existing.status is DocumentStatus.FAILED:
        draft = replace(_draft(services, uow, actor, recorded), id=existing.id, version=existing.version + 1)
        uow.invoices.update(draft, expected_version=existing.version)
        return draft
    return existing


def issue_in(
    services: Services,
    uow: UnitOfWork,
    document: Document,
    *,
    stored: bool = True,
    sequence: int | None = None,
    receivable_key: str | None = None,
) -> Document:
    """Issue a draft in the caller's transaction: its gapless number (under the counter's lock, held
    till the caller commits), the ledger entry and the bill marked invoiced. Nothing is committed.
    ``sequence``: a number the caller took for it (``next_numbers``, for many drafts at once).
    ``receivable_key``: the receivable the entry debits, if not the customer's (``post_issued``)."""
    return _issue(services, uow, document, stored=stored, sequence=sequence, receivable_key=receivable_key)


def draft_invoice(services: Services, actor: Actor, bill_id: str) -> Document:
    """A draft (no number) from a recorded bill, to preview; issued later by ``issue_document``."""
    require(actor, Permission.BILL)
    with services.uow() as uow:
        existing = uow.invoices.find_by_bill(actor.operator_id, bill_id)
        if existing is not None:
            return existing
        recorded = _found(uow.bills.get(actor.operator_id, bill_id), "bill", bill_id)
        draft = _draft(services, uow, actor, recorded)
        uow.invoices.add(draft)
        uow.commit()
        return draft


def issue_document(services: Services, actor: Actor, document_id: str) -> Document:
    require(actor, Permission.BILL)
    with services.uow() as uow:
        document = _found(uow.invoices.get(actor.operator_id, document_id), "invoice", document_id)
        issued = _issue(services, uow, document)
        uow.commit()
        return issued


def get_document(services: Services, actor: Actor, document_id: str) -> Document:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        return _found(uow.invoices.get(actor.operator_id, document_id), "invoice", document_id)


def list_documents(
    services: Services, actor: Actor, *, filters: Mapping[str, object], cursor: str | None, limit: int
) -> Page[Document]:
    require(actor, Permission.READ)
    limit = checked_limit(limit)
    with services.uow(read_only=True) as uow:
        items = uow.invoices.list(actor.operator_id, filters=filters, after=cursor, limit=limit + 1)
    return page_of(items, limit, lambda document: document.id)


def void_document(services: Services, actor: Actor, document_id: str, reason: str) -> Document:
    """Void an unpaid issued invoice or receipt: its status, and the ledger entry that reverses its
    issue (receivable, revenue and VAT back to what they were), in one transaction. Refused (409)
    for a credit note, and for a document that credit notes took from (credit the rest instead)."""
    require(actor, Permission.BILL)
    with services.uow() as uow:
        document = _found(uow.invoices.get(actor.operator_id, document_id, lock=True), "invoice", document_id)
        if document.kind is not DocumentKind.CREDIT_NOTE and uow.invoices.credit_notes(
            actor.operator_id, document.id
        ):
            raise Conflict(
                "credit notes were issued for this document; credit what is left instead of voiding it"
            )
        voided = lifecycle.void(document, reason)
        uow.invoices.update(voided, expected_version=document.version)
        post_voided(uow, services.ids, voided, services.clock.now())
        uow.commit()
        return voided


def record_payment(services: Services, actor: Actor, document_id: str, amount_minor: int) -> Document:
    """Record a payment received outside evbill's records (no ledger entry): the status follows, and
    the customer suspended for being overdue is reinstated if nothing else is that overdue."""
    require(actor, Permission.BILL)
    with services.uow() as uow:
        document = _found(uow.invoices.get(actor.operator_id, document_id, lock=True), "invoice", document_id)
        paid = pay_invoice(services, uow, document, amount_minor)
        uow.commit()
        return paid


def credit_document(
    services: Services,
    actor: Actor,
    document_id: str,
    *,
    reason: str,
    amounts: Mapping[int, Decimal] | None = None,
    positions: Mapping[int, int] | None = None,
) -> Document:
    """Issue a credit note for an issued invoice: in full, or ``amounts`` by line number (excl. VAT).

    The original's row is locked first (``FOR UPDATE``) and what earlier notes took is read under
    that lock, so concurrent credit notes wait for each other: together they never take more than
    the invoice shows. The original then records what was credited (its status follows)."""
    require(actor, Permission.BILL)
    with services.uow() as uow:
        original = _found(uow.invoices.get(actor.operator_id, document_id, lock=True), "invoice", document_id)
        if original.status in (DocumentStatus.DRAFT, DocumentStatus.FAILED):
            raise Conflict("a draft is not credited; change or drop it instead")
        profile = _profile(uow, actor.operator_id)
        note = lifecycle.credit_note(
            original, new_id=services.ids.new_id(), reason=reason,
            credited_before=lifecycle.credited_by(uow.invoices.credit_notes(actor.operator_id, original.id)),
            amounts=amounts, created_at=services.clock.now(), positions=positions,
        )  # fmt: skip
        note = replace(note, series=profile.credit_series)
        uow.invoices.add(note)
        issued = _issue(services, uow, note)
        uow.invoices.update(lifecycle.credited(original, issued), expected_version=original.version)
        uow.commit()
        return issued


# For the other invoicing use cases (receipts, previews, delivery): the same profile, draft and issue.
operator_profile = _profile
draft_of_bill = _draft
