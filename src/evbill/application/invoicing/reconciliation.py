"""The ledger against the documents: each issued invoice, credit note and receipt is on its receivable
exactly once, with exactly its total.

A document's issue entry (reference ``<kind>:<id>``) debits a receivable with its total incl. VAT (a
credit note credits it); a void document's reversal, under the same reference, takes it back to 0
(``postings.post_issued`` / ``post_voided``). Payments credit the receivable under their own
references, so what the ledger holds under a document's reference is what the document put there:

    invoice INV-000007 20.01 EUR, entry invoice:<id> debits receivable:<customer> 20.01      -> fine
    credit note CN-000002 5.00 EUR, entry credit_note:<id> credits it 5.00                    -> fine
    receipt RCP-000001 10.81 EUR, entry receipt:<id> debits receivable:adhoc:<start> 10.81    -> fine
    a void invoice whose reversal is missing, an entry edited to 10.00, an entry lost or
    posted twice                                                                               -> finding

Drafts and failed documents were never posted and are not looked at. One read of the receivable
postings' sums of the documents' references (``<kind>:``) serves every document (``sums_by_reference``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from evbill.application.ledger.check import Finding
from evbill.application.ports import UnitOfWork
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus
from evbill.domain.ledger.accounts import AccountFamily

PAGE = 1000
NOT_ISSUED = (DocumentStatus.DRAFT, DocumentStatus.FAILED)


def on_receivable(document: Document) -> int:
    """What an issued document leaves on its receivable under its reference, in minor units: an
    invoice or receipt its total incl. VAT, a credit note minus that, a void document nothing."""
    if document.status is DocumentStatus.VOID:
        return 0
    total = document.composed.totals.incl_vat_minor
    return -total if document.kind is DocumentKind.CREDIT_NOTE else total


def reconcile_documents(uow: UnitOfWork, operator_id: str) -> Iterator[Finding]:
    """``evbill ledger check``: every issued document's receivable under its reference holds exactly
    ``on_receivable`` of it; each one that does not is named with both amounts."""
    posted = uow.ledger.sums_by_reference(
        operator_id,
        f"{AccountFamily.RECEIVABLE.value}:",
        reference_prefix=tuple(f"{kind.value}:" for kind in DocumentKind),
    )
    # void as the documents' status column says (what listings and payments go by), whatever the
    # stored document's own copy says
    void = {document.id for document in _documents(uow, operator_id, {"status": DocumentStatus.VOID.value})}
    for document in _documents(uow, operator_id, {}):
        if document.id in void:
            document = replace(document, status=DocumentStatus.VOID)
        elif document.status in NOT_ISSUED:
            continue
        held = posted.get((f"{document.kind.value}:{document.id}", document.currency), 0)
        expected = on_receivable(document)
        if held != expected:
            yield Finding(
                operator_id,
                f"{document.kind.value} {document.number or document.id}",
                _says(document, expected, held),
            )


def _says(document: Document, expected: int, held: int) -> str:
    if document.status is DocumentStatus.VOID:
        return (
            f"is void but its receivable still holds {held} {document.currency} minor units "
            "(the reversing entry is missing)"
        )
    if document.kind is DocumentKind.CREDIT_NOTE:
        return f"totals {-expected} {document.currency}, its entry credits {-held}"
    return f"totals {expected} {document.currency}, its entry debits {held}"


def _documents(uow: UnitOfWork, operator_id: str, filters: dict[str, object]) -> Iterator[Document]:
    after: str | None = None
    while True:
        page = uow.invoices.list(operator_id, filters=filters, after=after, limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].id
