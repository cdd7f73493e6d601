"""``evbill invoice list|export|send``: issued documents, for people and for other tools.

    evbill invoice list --operator 0190... --period 2026-10 --json
    evbill invoice export 0190... --operator 0190... --format ubl --out invoice.xml
    evbill invoice send 0190... --operator 0190... [--to someone@example.org] [--resend]

``list --json`` prints an array of objects with ``id``, ``number``, ``kind`` (invoice, receipt,
credit_note), ``status``, ``currency``, ``total_excl_vat``, ``total_vat``, ``total_incl_vat`` (decimal
strings) and ``contract_id``; other tools depend on these names.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from evbill.application.invoicing import delivery, queries
from evbill.application.invoicing import documents as invoicing
from evbill.bootstrap import Container
from evbill.domain import currency as currencies
from evbill.domain.invoicing.documents import Document
from evbill.entrypoints.cli.output import fail, write_json
from evbill.entrypoints.cli.records import Json, OperatorId, acting, call

FORMATS = ("pdf", "facturx", "cii", "ubl")


def summary(document: Document) -> dict[str, Any]:
    totals = document.composed.totals
    currency = document.currency
    return {
        "id": document.id,
        "number": document.number,
        "kind": document.kind.value,
        "status": document.status.value,
        "currency": currency,
        "total_excl_vat": _exact(totals.excl_vat_minor, currency),
        "total_vat": _exact(totals.vat_minor, currency),
        "total_incl_vat": _exact(totals.incl_vat_minor, currency),
        "contract_id": document.contract_id,
        "issue_date": None if document.issue_date is None else document.issue_date.isoformat(),
        "period_start": None if document.period_start is None else document.period_start.isoformat(),
    }


def _exact(minor: int, currency: str) -> str:
    places = currencies.exponent(currency)
    return format(Decimal(minor).scaleb(-places), "f")


def _period(text: str | None) -> dict[str, date]:
    if text is None:
        return {}
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        fail(f"--period {text!r} is not a month like 2026-10")
    year, month = int(text[:4]), int(text[5:])
    return {"period_from": date(year, month, 1), "period_to": date(year + month // 12, month % 12 + 1, 1)}


def register(app: typer.Typer, container: Container) -> None:
    invoice = typer.Typer(
        help="Invoices, receipts and credit notes: list, export and send.", no_args_is_help=True
    )

    @invoice.command("list")
    def list_invoices(
        operator_id: OperatorId,
        period: Annotated[str | None, typer.Option(help="Billing period, e.g. 2026-10.")] = None,
        json: Json = False,
    ) -> None:
        """Every document of the operator (of one billing period if given)."""
        who = acting(container, operator_id)
        filters = _period(period)
        found: list[Document] = []
        cursor = None
        while True:
            page = call(
                lambda after=cursor: invoicing.list_documents(  # type: ignore[misc]
                    container.services, who, filters=filters, cursor=after, limit=200
                )
            )
            found.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if json:
            write_json([summary(document) for document in found])
            return
        for document in found:
            item = summary(document)
            typer.echo(
                f"{item['number'] or '(draft)':<20} {item['kind']:<12} {item['status']:<15} "
                f"{item['total_incl_vat']:>12} {item['currency']}  {item['id']}"
            )

    @invoice.command("export")
    def export(
        document_id: Annotated[str, typer.Argument()],
        operator_id: OperatorId,
        out: Annotated[Path, typer.Option("--out", help="The file to write.")],
        document_format: Annotated[str, typer.Option("--format", help="pdf, facturx, cii or ubl.")] = "pdf",
    ) -> None:
        """Write one document as a PDF, a Factur-X PDF, CII XML or UBL XML."""
        if document_format not in FORMATS:
            fail(f"--format must be one of {', '.join(FORMATS)}")
        who = acting(container, operator_id)
        view = call(lambda: queries.document_view(container.services, who, document_id))
        try:
            content = container.documents.render(view.document, document_format, view=view)
        except ValueError as error:
            fail(f"cannot write {document_format}: {error}")
        out.write_bytes(content)
        typer.echo(f"wrote {out} ({len(content)} bytes)")

    @invoice.command("send")
    def send(
        document_id: Annotated[str, typer.Argument()],
        operator_id: OperatorId,
        to: Annotated[str | None, typer.Option(help="Default: the customer's e-mail address.")] = None,
        resend: Annotated[bool, typer.Option(help="Send again although it was sent before.")] = False,
        json: Json = False,
    ) -> None:
        """E-mail a document with its Factur-X PDF, once (again only with --resend)."""
        who = acting(container, operator_id)
        sent = call(
            lambda: delivery.deliver_document(
                container.services,
                container.mailer,
                who,
                document_id,
                to,
                renderer=container.documents,
                resend=resend,
            )  # fmt: skip
        )
        if json:
            sent_at = sent.sent_at.isoformat() if sent.sent_at else None
            write_json(
                {"id": sent.id, "invoice_id": sent.document_id, "attempt": sent.attempt,
                 "recipient": sent.recipient, "sent_at": sent_at, "message_id": sent.message_id}
            )  # fmt: skip
            return
        typer.echo(f"sent to {sent.recipient} (attempt {sent.attempt}, message id {sent.message_id})")

    app.add_typer(invoice, name="invoice")
