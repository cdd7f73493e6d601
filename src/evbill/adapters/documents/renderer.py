"""One object that writes a document in each format a customer or a receiver may want."""

from __future__ import annotations

import enum

from evbill.adapters.documents.cii import write_cii
from evbill.adapters.documents.pdf import render_facturx, render_pdf
from evbill.adapters.documents.ubl import write_ubl
from evbill.domain.invoicing.documents import Document
from evbill.domain.invoicing.statement import DocumentView


class DocumentFormat(enum.StrEnum):
    PDF = "pdf"
    FACTURX = "facturx"
    CII = "cii"
    UBL = "ubl"


class DocumentRenderer:
    def render(self, document: Document, document_format: str, *, view: DocumentView | None = None) -> bytes:
        """``document_format``: pdf, facturx, cii or ubl (ValueError for another). ``view`` adds the
        sessions in detail, the operator's brand and a draft mark to the PDF."""
        document_format = DocumentFormat(document_format)
        if document_format is DocumentFormat.PDF:
            return render_pdf(document, view)
        if document_format is DocumentFormat.FACTURX:
            return render_facturx(document, view)
        by_card = view is not None and view.paid_by_card
        if document_format is DocumentFormat.CII:
            return write_cii(document, paid_by_card=by_card)
        return write_ubl(document, paid_by_card=by_card)
