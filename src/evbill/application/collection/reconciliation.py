"""The ledger against the bank transactions: each imported credit posted exactly its amount to the bank.

``check_all_books`` is ``evbill ledger check``: the ledger's own check, the payment and wallet
reconciliations, the documents' (every issued invoice, credit note and receipt on its receivable
exactly once with its total, a void one reversed: ``invoicing.reconciliation``), and this one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from evbill.application.collection.statements import bank_reference
from evbill.application.invoicing.reconciliation import reconcile_documents
from evbill.application.ledger.check import Finding, LedgerReport, check_ledger
from evbill.application.payments.reconciliation import reconcile_payments, reconcile_wallets
from evbill.application.ports import UnitOfWork
from evbill.application.records import Services
from evbill.domain.ledger import accounts


def reconcile_bank(uow: UnitOfWork, operator_id: str) -> Iterator[Finding]:
    posted = uow.ledger.sums_by_reference(operator_id, accounts.BANK.code)
    for transaction in uow.collection.bank_transactions(operator_id):
        key = (bank_reference(transaction.id), transaction.currency)
        if posted.get(key, 0) != transaction.amount_minor:
            yield Finding(
                operator_id,
                f"bank transaction {transaction.entry_key}",
                f"credited {transaction.amount_minor} {transaction.currency}, "
                f"the ledger's bank account {posted.get(key, 0)}",
            )


def check_all_books(svc: Services, *, operator_ids: Sequence[str] | None = None) -> LedgerReport:
    return check_ledger(
        svc,
        operator_ids=operator_ids,
        reconciliations=(
            reconcile_payments,
            reconcile_wallets,
            reconcile_bank,
            reconcile_documents,
        ),
    )
