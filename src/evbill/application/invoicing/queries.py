"""Use cases that read documents as a customer receives them: a document's view and its files.

``document_file`` writes one stored document in a format (``pdf`` is the Factur-X PDF: a PDF/A-3 a
person reads, with the EN 16931 CII XML inside; ``ubl``, ``cii`` the XML alone). The PDF shows each
session the document bills in detail (``statements.view_of``) and the operator's brand.
"""

from __future__ import annotations

from typing import Protocol

from evbill.application.invoicing.documents import operator_profile
from evbill.application.invoicing.statements import view_of
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.errors import Conflict, NotFound
from evbill.domain.invoicing.documents import Document, DocumentStatus
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.invoicing.statement import DocumentView


class DocumentRenderer(Protocol):
    def render(self, document: Document, document_format: str, *, view: DocumentView | None = None) -> bytes:
        """``document_format``: pdf, facturx, cii or ubl; ValueError when the document cannot be written."""
        ...


def document_view(services: Services, actor: Actor, document_id: str) -> DocumentView:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        document = uow.invoices.get(actor.operator_id, document_id)
        if document is None:
            raise NotFound(f"invoice {document_id!r} not found")
        return view_of(uow, document, operator_profile(uow, actor.operator_id))


def document_file(
    services: Services, renderer: DocumentRenderer, actor: Actor, document_id: str, document_format: str
) -> tuple[Document, bytes]:
    """The document and its file; Conflict for a draft or failed document (no number: nothing to send)."""
    view = document_view(services, actor, document_id)
    document = view.document
    if document.status in (DocumentStatus.DRAFT, DocumentStatus.FAILED) or document.number is None:
        raise Conflict(f"a {document.status.value} document has no file; issue it first")
    try:
        return document, renderer.render(document, document_format, view=view)
    except ValueError as error:
        raise Conflict(f"cannot write this document as {document_format}: {error}") from None


def get_profile(services: Services, actor: Actor) -> InvoicingProfile:
    """The operator's invoicing profile (the seller's data from the operator until one is saved)."""
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        return operator_profile(uow, actor.operator_id)
