"""/api/v1 invoices: what a customer receives (invoices, receipts, credit notes), read, corrected, sent.

``GET /invoices`` lists the operator's documents (filters: kind, status, contract_id, customer_id,
period ``YYYY-MM`` of the billing period); ``GET /invoices/{id}`` reads one; ``/pdf`` is the Factur-X
PDF (a PDF/A-3 a person reads, with the EN 16931 CII XML inside), ``/ubl`` and ``/cii`` the XML.
``POST /invoices/{id}/credit-notes`` credits an issued document in full or by line (type 381,
referencing it), ``/void`` voids it while unpaid, ``/send`` e-mails it once (``resend`` to send again).
``POST /sessions/{id}/receipt`` makes (or returns) a session's receipt; ``GET
/contracts/{id}/invoice-preview`` is the current cycle's invoice as a draft (``?format=pdf`` for the
PDF), with no number and nothing stored.

Amounts are decimal strings: settled (``"24.91"``) and, per line, the exact amount too.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

import enum
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from evbill.application.invoicing import delivery, preview, queries, receipts
from evbill.application.invoicing import documents as use_cases
from evbill.application.invoicing.queries import DocumentRenderer
from evbill.application.ports import Mailer
from evbill.application.records import Services
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.invoicing.deliveries import Delivery
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus, Party, printed_notes
from evbill.domain.invoicing.profiles import InvoicingProfile, seller_problems
from evbill.domain.invoicing.tax import TaxMode, VatCategory
from evbill.entrypoints.api.common import (
    Cursor,
    Exact,
    ExactIn,
    IfMatch,
    Limit,
    PageOut,
    Strict,
    etag,
    expected_version,
)
from evbill.entrypoints.api.resources import with_etag
from evbill.entrypoints.api.security import actor, services

router = APIRouter(tags=["invoices"])
PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
FILES = {
    "pdf": ("facturx", "application/pdf", "pdf"),
    "ubl": ("ubl", "application/xml", "ubl.xml"),
    "cii": ("cii", "application/xml", "cii.xml"),
}


def renderer(request: Request) -> DocumentRenderer:
    return request.app.state.container.documents  # type: ignore[no-any-return]


def mailer(request: Request) -> Mailer:
    return request.app.state.container.mailer  # type: ignore[no-any-return]


def _money(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-currencies.exponent(currency))


class PartyOut(BaseModel):
    name: str
    country: str
    address: str | None
    city: str | None
    postal_code: str | None
    vat_id: str | None
    email: str | None


class LineOut(BaseModel):
    number: int
    description: str
    kind: str = Field(description="SESSION, PLAN_FEE, SERVICE_FEE, ALLOWANCE, FLAT_RATE or DISCOUNT.")
    net: Exact = Field(description="Excl. VAT as the document shows it (settled).")
    net_exact: Exact = Field(description="Excl. VAT before the document's one rounding step.")
    vat_category: VatCategory
    vat_rate: Exact
    session_id: str | None
    supply_date: date | None


class TaxOut(BaseModel):
    category: VatCategory
    rate: Exact
    base: Exact
    tax: Exact


class TotalsOut(BaseModel):
    excl_vat: Exact
    vat: Exact
    incl_vat: Exact
    prepaid: Exact
    payable: Exact


class InvoiceOut(BaseModel):
    id: str
    kind: DocumentKind
    status: DocumentStatus
    draft: bool = Field(description="A preview: no number, nothing stored.")
    number: str | None = Field(description="Assigned at issue; null for a draft.")
    series: str
    currency: str
    contract_id: str | None
    customer_id: str | None
    original_id: str | None = Field(description="A credit note's invoice.")
    original_number: str | None
    reason: str | None = Field(description="Why a credit note or a void.")
    language: str
    issue_date: date | None
    due_date: date | None
    period_start: date | None
    period_end: date | None = Field(description="Exclusive.")
    seller: PartyOut
    buyer: PartyOut
    lines: list[LineOut]
    tax: list[TaxOut]
    totals: TotalsOut
    paid: Exact
    credited: Exact = Field(description="What issued credit notes took from this document (incl. VAT).")
    open: Exact = Field(description="What is still to pay: the total less payments and credit notes.")
    rounding_difference: Exact = Field(description="The document incl. VAT minus the exact sum of its lines.")
    notes: list[str]


def _party(party: Party) -> PartyOut:
    return PartyOut(
        name=party.name, country=party.country, address=party.address, city=party.city,
        postal_code=party.postal_code, vat_id=party.vat_id, email=party.email,
    )  # fmt: skip


def invoice_out(document: Document, *, draft: bool = False) -> InvoiceOut:
    currency, composed = document.currency, document.composed
    totals = composed.totals
    return InvoiceOut(
        id=document.id, kind=document.kind, status=document.status, draft=draft, number=document.number,
        series=document.series, currency=currency, contract_id=document.contract_id,
        customer_id=document.customer_id, original_id=document.original_id,
        original_number=document.original_number, reason=document.reason, language=document.language,
        issue_date=document.issue_date, due_date=document.due_date, period_start=document.period_start,
        period_end=document.period_end, seller=_party(document.seller), buyer=_party(document.buyer),
        lines=[
            LineOut(
                number=line.number, description=line.description, kind=line.kind,
                net=_money(line.net_minor, currency), net_exact=line.net_precise, vat_category=line.category,
                vat_rate=line.rate, session_id=line.session_id, supply_date=line.supply_date,
            )
            for line in composed.lines
        ],
        tax=[
            TaxOut(category=part.category, rate=part.rate, base=_money(part.base_minor, currency),
                   tax=_money(part.tax_minor, currency))
            for part in composed.breakdown
        ],
        totals=TotalsOut(
            excl_vat=_money(totals.excl_vat_minor, currency), vat=_money(totals.vat_minor, currency),
            incl_vat=_money(totals.incl_vat_minor, currency), prepaid=_money(totals.prepaid_minor, currency),
            payable=_money(totals.payable_minor, currency),
        ),
        paid=_money(document.paid_minor, currency), credited=_money(document.credited_minor, currency),
        open=_money(document.open_minor, currency), rounding_difference=composed.rounding_difference,
        notes=printed_notes(document),
    )  # fmt: skip


def _period(period: str | None) -> dict[str, date]:
    if period is None:
        return {}
    if not PERIOD.fullmatch(period):
        raise InvalidInput("invalid filter", (Problem("query.period", "must be a month like 2026-10"),))
    year, month = int(period[:4]), int(period[5:])
    return {"period_from": date(year, month, 1), "period_to": date(year + month // 12, month % 12 + 1, 1)}


@router.get("/invoices", response_model=PageOut[InvoiceOut], summary="Invoices, receipts and credit notes")
def list_invoices(
    kind: Annotated[DocumentKind | None, Query()] = None,
    status: Annotated[DocumentStatus | None, Query()] = None,
    contract_id: Annotated[str | None, Query(max_length=36)] = None,
    customer_id: Annotated[str | None, Query(max_length=36)] = None,
    period: Annotated[
        str | None, Query(max_length=7, description="The billing period's month, 2026-10.")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> PageOut[InvoiceOut]:
    filters: dict[str, object] = {
        name: value
        for name, value in (
            ("kind", kind.value if kind else None), ("status", status.value if status else None),
            ("contract_id", contract_id), ("customer_id", customer_id),
        )
        if value is not None
    }  # fmt: skip
    filters.update(_period(period))
    page = use_cases.list_documents(svc, who, filters=filters, cursor=cursor, limit=limit)
    return PageOut[InvoiceOut](items=[invoice_out(item) for item in page.items], next_cursor=page.next_cursor)


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut, summary="One document")
def get_invoice(
    invoice_id: str, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> InvoiceOut:
    document = use_cases.get_document(svc, who, invoice_id)
    with_etag(response, document.version)
    return invoice_out(document)


def _file(svc: Services, who: Actor, drawer: DocumentRenderer, invoice_id: str, kind: str) -> Response:
    document_format, media_type, suffix = FILES[kind]
    document, content = queries.document_file(svc, drawer, who, invoice_id, document_format)
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", document.number or document.id)
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{suffix}"'},
    )


FILE_RESPONSES = {
    "pdf": {200: {"content": {"application/pdf": {}}, "description": "The Factur-X PDF (PDF/A-3)."}},
    "xml": {200: {"content": {"application/xml": {}}, "description": "The EN 16931 XML."}},
}


@router.get("/invoices/{invoice_id}/pdf", response_class=Response, responses=FILE_RESPONSES["pdf"],
            summary="The Factur-X PDF: PDF/A-3 with the EN 16931 CII XML inside")  # fmt: skip
def invoice_pdf(
    invoice_id: str,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    drawer: DocumentRenderer = Depends(renderer),
) -> Response:
    return _file(svc, who, drawer, invoice_id, "pdf")


@router.get("/invoices/{invoice_id}/ubl", response_class=Response, responses=FILE_RESPONSES["xml"],
            summary="UBL 2.1 (Peppol BIS Billing 3.0 shape)")  # fmt: skip
def invoice_ubl(
    invoice_id: str,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    drawer: DocumentRenderer = Depends(renderer),
) -> Response:
    return _file(svc, who, drawer, invoice_id, "ubl")


@router.get("/invoices/{invoice_id}/cii", response_class=Response, responses=FILE_RESPONSES["xml"],
            summary="UN/CEFACT CII (the XML inside Factur-X / ZUGFeRD)")  # fmt: skip
def invoice_cii(
    invoice_id: str,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    drawer: DocumentRenderer = Depends(renderer),
) -> Response:
    return _file(svc, who, drawer, invoice_id, "cii")


class CreditLineIn(Strict):
    line: int = Field(ge=1, le=100_000, description="The invoice's line number.")
    amount: Annotated[Decimal, ExactIn, Field(max_digits=28, decimal_places=10, description="Excl. VAT.")]


class CreditNoteIn(Strict):
    reason: str = Field(min_length=1, max_length=500)
    lines: list[CreditLineIn] | None = Field(
        default=None, max_length=1000, description="Omitted: the whole invoice (what is not credited yet)."
    )


@router.post("/invoices/{invoice_id}/credit-notes", status_code=201, response_model=InvoiceOut,
             summary="Credit an issued document, in full or by line (type 381, referencing it)")  # fmt: skip
def credit_invoice(
    invoice_id: str, body: CreditNoteIn, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> InvoiceOut:
    amounts, positions = None, None
    if body.lines is not None:
        numbers = [item.line for item in body.lines]
        if len(set(numbers)) != len(numbers):
            index = next(i for i, n in enumerate(numbers) if numbers.index(n) != i)
            raise InvalidInput(
                "invalid credit note",
                (
                    Problem(
                        f"$.lines[{index}].line",
                        f"line {numbers[index]} is named twice: each line at most once",
                    ),
                ),
            )
        amounts = {item.line: item.amount for item in body.lines}
        positions = {item.line: index for index, item in enumerate(body.lines)}
    return invoice_out(
        use_cases.credit_document(
            svc, who, invoice_id, reason=body.reason, amounts=amounts, positions=positions
        )
    )


class VoidIn(Strict):
    reason: str = Field(min_length=1, max_length=500)


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut,
             summary="Void an issued document while nothing is paid on it")  # fmt: skip
def void_invoice(
    invoice_id: str, body: VoidIn, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> InvoiceOut:
    return invoice_out(use_cases.void_document(svc, who, invoice_id, body.reason))


class SendIn(Strict):
    to: str | None = Field(default=None, max_length=320, description="Default: the customer's e-mail.")
    resend: bool = Field(default=False, description="Send again although it was sent before.")


class DeliveryOut(BaseModel):
    id: str
    invoice_id: str
    attempt: int
    recipient: str
    requested_by: str
    claimed_at: datetime
    sent_at: datetime | None
    message_id: str | None


def delivery_out(sent: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=sent.id, invoice_id=sent.document_id, attempt=sent.attempt, recipient=sent.recipient,
        requested_by=sent.requested_by, claimed_at=sent.claimed_at, sent_at=sent.sent_at,
        message_id=sent.message_id,
    )  # fmt: skip


@router.post("/invoices/{invoice_id}/send", response_model=DeliveryOut,
             summary="E-mail the document with its PDF, once (again only with resend)")  # fmt: skip
def send_invoice(
    invoice_id: str,
    body: SendIn,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    drawer: DocumentRenderer = Depends(renderer),
    post: Mailer = Depends(mailer),
) -> DeliveryOut:
    sent = delivery.deliver_document(svc, post, who, invoice_id, body.to, renderer=drawer, resend=body.resend)
    return delivery_out(sent)


@router.post("/sessions/{session_id}/receipt", response_model=InvoiceOut, tags=["sessions"],
             summary="The session's receipt (made once, then returned)")  # fmt: skip
def session_receipt(
    session_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> InvoiceOut:
    return invoice_out(receipts.issue_session_receipt(svc, who, session_id))


class PreviewFormat(enum.StrEnum):
    JSON = "json"
    PDF = "pdf"


@router.get("/contracts/{contract_id}/invoice-preview", response_model=InvoiceOut, tags=["bills"],
            responses=FILE_RESPONSES["pdf"],
            summary="The current cycle's invoice as a draft: no number, nothing stored")  # fmt: skip
def invoice_preview(
    contract_id: str,
    output: Annotated[PreviewFormat, Query(alias="format", description="json or pdf")] = PreviewFormat.JSON,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    drawer: DocumentRenderer = Depends(renderer),
) -> Response:
    view = preview.preview_invoice(svc, who, contract_id)
    if output is PreviewFormat.PDF:
        content = drawer.render(view.document, "pdf", view=view)
        return Response(content, media_type="application/pdf",
                        headers={"Content-Disposition": 'inline; filename="draft-invoice.pdf"'})  # fmt: skip
    return Response(invoice_out(view.document, draft=True).model_dump_json(), media_type="application/json")


class SellerIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2.")
    address: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    vat_id: str | None = Field(default=None, max_length=20)
    registration: str | None = Field(default=None, max_length=100, description="Company register number.")
    email: str | None = Field(default=None, max_length=320)
    iban: str | None = Field(default=None, max_length=42, description="Checked; the BIC is filled in.")
    bic: str | None = Field(default=None, max_length=11)


class ProfileIn(Strict):
    seller: SellerIn
    series: str = Field(default="INV", min_length=1, max_length=32)
    credit_series: str = Field(default="CN", min_length=1, max_length=32)
    receipt_series: str = Field(default="RCP", min_length=1, max_length=32)
    number_format: str = Field(default="{series}-{year}-{number:06d}", min_length=1, max_length=64)
    time_zone: str = Field(default="UTC", min_length=1, max_length=64)
    tax_mode: TaxMode = TaxMode.VAT
    use_rate_schedule: bool = False
    logo: str | None = Field(default=None, max_length=700_000, description="PNG or JPEG, base64, <= 512 KiB.")
    accent_colour: str = Field(default="#005C82", max_length=7, description="Headings and totals, #RRGGBB.")


class SellerOut(PartyOut):
    registration: str | None
    iban: str | None
    bic: str | None


class MissingOut(BaseModel):
    path: str = Field(description="The field, e.g. $.seller.vat_id.")
    message: str


class ProfileOut(BaseModel):
    seller: SellerOut
    complete: bool = Field(description="Whether documents can be issued (the seller's data is complete).")
    missing: list[MissingOut] = Field(description="What the seller's data lacks for EN 16931 documents.")
    series: str
    credit_series: str
    receipt_series: str
    number_format: str
    time_zone: str
    tax_mode: TaxMode
    use_rate_schedule: bool
    logo: str | None
    accent_colour: str


def profile_out(profile: InvoicingProfile) -> ProfileOut:
    seller = profile.seller
    missing = seller_problems(profile)
    return ProfileOut(
        complete=not missing, missing=[MissingOut(path=p.path, message=p.message) for p in missing],
        seller=SellerOut(
            name=seller.name, country=seller.country, address=seller.address, city=seller.city,
            postal_code=seller.postal_code, vat_id=seller.vat_id, email=seller.email,
            registration=seller.registration, iban=seller.iban, bic=seller.bic,
        ),
        series=profile.series, credit_series=profile.credit_series, receipt_series=profile.receipt_series,
        number_format=profile.number_format, time_zone=profile.time_zone, tax_mode=profile.tax_mode,
        use_rate_schedule=profile.use_rate_schedule, logo=profile.logo, accent_colour=profile.accent_colour,
    )  # fmt: skip


def ibans(request: Request) -> use_cases.IbanChecker:
    return request.app.state.container.ibans  # type: ignore[no-any-return]


@router.get("/invoicing-profile", response_model=ProfileOut,
            summary="The seller's data, numbering, logo and colour on the operator's documents")  # fmt: skip
def get_invoicing_profile(
    response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> ProfileOut:
    profile = queries.get_profile(svc, who)
    response.headers["ETag"] = etag(profile.version)  # "0" until first saved
    return profile_out(profile)


@router.put("/invoicing-profile", response_model=ProfileOut,
            summary="Set the seller's data (IBAN checked), numbering, logo and colour")  # fmt: skip
def put_invoicing_profile(
    body: ProfileIn,
    response: Response,
    if_match: IfMatch = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    checker: use_cases.IbanChecker = Depends(ibans),
) -> ProfileOut:
    version = expected_version(if_match)  # 428 without If-Match; the GET's ETag ("0" before any save)
    values = body.model_dump()
    profile = InvoicingProfile(operator_id=who.operator_id, **{**values, "seller": Party(**values["seller"])})
    saved = use_cases.save_profile(svc, who, profile, ibans=checker, expected_version=version)
    response.headers["ETag"] = etag(saved.version)
    return profile_out(saved)
