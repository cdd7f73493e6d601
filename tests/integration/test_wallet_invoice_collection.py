"""A wallet payment of an overdue invoice is a payment of it for collection too (issue 14): the
invoice is paid, its suspended customer reinstated, and the next collection run leaves it alone; a
wallet refund of that spend opens it again, overdue by its due date, and the customer owes it again.
SQLite and PostgreSQL.

Invoice A: 16.54 excl. VAT + 21 % VAT 3.47 = 20.01 EUR, issued 2026-12-01, due 2026-12-15.
"""

from __future__ import annotations

from evbill.application.collection.dunning import run_collection
from evbill.application.collection.reconciliation import check_all_books
from evbill.application.payments.wallets import (
    create_wallet,
    pay_from_wallet,
    refund_to_wallet,
    top_up_wallet,
)
from evbill.domain.invoicing.documents import DocumentStatus
from evbill.domain.offers.customers import AuthorizationStatus
from tests.integration.collection_support import Books
from tests.integration.test_collection_refunds import active_suspensions, status, suspended


def test_a_wallet_pays_the_overdue_invoice_for_collection_too_and_its_refund_opens_it_again(
    books: Books,
) -> None:
    invoice = suspended(books)  # overdue, Anna's token blocked
    wallet = create_wallet(books.services, books.who, customer_id=books.customer_id, currency="EUR").wallet
    top_up_wallet(books.services, books.gateway, books.who, wallet.id, amount=3000, payment_method="tok_visa",
                  idempotency_key="top-up")  # fmt: skip

    paid = pay_from_wallet(books.services, books.who, wallet.id, amount=2001,
                           receivable=f"invoice:{invoice.id}", idempotency_key="pay")  # fmt: skip
    after_pay = books.get(invoice)
    run = run_collection(books.services, books.gateway, books.mailer, operator_ids=[books.who.operator_id],
                         now=books.clock.now())  # fmt: skip

    assert paid.balance == 999
    assert (after_pay.status, after_pay.paid_minor, after_pay.open_minor) == (DocumentStatus.PAID, 2001, 0)
    assert (status(books), active_suspensions(books)) == (AuthorizationStatus.ACCEPTED, 0)
    assert (run.suspended, books.get(invoice).status) == (0, DocumentStatus.PAID)
    assert books.balances().get(f"receivable:{books.customer_id}", 0) == -2001  # 20.01 invoiced, paid
    assert check_all_books(books.services).ok

    spend = next(t for t in paid.transactions if t.kind.value == "spend")
    back = refund_to_wallet(books.services, books.who, wallet.id, amount=500, spend_id=spend.id,
                            reason="goodwill", idempotency_key="refund")  # fmt: skip
    reopened = books.get(invoice)

    assert back.balance == 1499
    assert (reopened.status, reopened.paid_minor, reopened.open_minor) == (DocumentStatus.OVERDUE, 1501, 500)
    balances = books.balances()
    assert balances.get(f"receivable:{books.customer_id}", 0) == -1501  # owes 5.00 of the 20.01 again
    assert "refunds" not in balances
    assert check_all_books(books.services).ok
