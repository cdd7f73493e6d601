"""The ledger against the receipts: each issued receipt debited its receivable with exactly its total.

A receipt's entry (reference ``receipt:<id>``) debits a receivable with the receipt's total incl. VAT
(``postings.post_issued``); the payment that paid the session credits the same receivable
(``receipts.paid_per_session``), so that an ad hoc session's ``receivable:adhoc:<start>`` is 0 once
it is captured and receipted. A receipt whose entry is missing or posts another amount (an edited
document, a changed posting, an entry lost) is a finding of ``evbill ledger check``.

    receipt RCP-000001 10.81 EUR, entry receipt:<id> debits receivable:adhoc:<start> 10.81  -> fine
    the same entry edited to 10.00                                                         -> finding
"""

from __future__ import annotations

from collections.abc import Iterator

from evbill.application.ledger.check import Finding
from evbill.application.ports import UnitOfWork
from evbill.domain.invoicing.documents import DocumentKind, DocumentStatus
from evbill.domain.ledger.accounts import AccountFamily

PAGE = 1000
NOT_ISSUED = (DocumentStatus.DRAFT, DocumentStatus.FAILED)


def reconcile_receipts(uow: UnitOfWork, operator_id: str) -> Iterator[Finding]:
    posted = uow.ledger.sums_by_reference(operator_id, f"{AccountFamily.RECEIVABLE.value}:")
    after: str | None = None
    while True:
        page = uow.invoices.list(
            operator_id, filters={"kind": DocumentKind.RECEIPT.value}, after=after, limit=PAGE
        )
        for receipt in page:
            if receipt.status in NOT_ISSUED:
                continue
            debited = posted.get((f"{DocumentKind.RECEIPT.value}:{receipt.id}", receipt.currency), 0)
            total = receipt.composed.totals.incl_vat_minor
            if debited != total:
                yield Finding(
                    operator_id,
                    f"receipt {receipt.number or receipt.id}",
                    f"totals {total} {receipt.currency}, its entry debits {debited}",
                )
        if len(page) < PAGE:
            return
        after = page[-1].id
