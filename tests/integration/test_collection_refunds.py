"""An invoice's card payments, refunded and made: a refund reopens the invoice (its status by the due
date) and debits the customer's receivable again, in the refund's transaction; every way an invoice
gets paid reinstates a customer the overdue policy suspended. SQLite and PostgreSQL.

Invoice A: 16.54 excl. VAT + 21 % VAT 3.47 = 20.01 EUR, issued 2026-12-01, due 2026-12-15 (Europe/
Amsterdam). The sandbox's fee is 1.4 % + 0.25: 0.53 on 20.01, 0.60 on 25.00.
"""

from __future__ import annotations

import pytest

from evbill.application.collection.charges import collect_issued_document
from evbill.application.collection.dunning import run_collection, save_policy
from evbill.application.collection.reconciliation import check_all_books
from evbill.application.collection.setup import save_customer_card
from evbill.application.invoicing import documents as invoicing
from evbill.application.offers.customers import authorize
from evbill.application.payments.payments import (
    authorise_payment,
    capture_payment,
    record_gateway_events,
    refund_payment,
)
from evbill.domain.collection.policy import CollectionPolicy
from evbill.domain.invoicing.documents import Document, DocumentStatus
from evbill.domain.money import SettledMoney
from evbill.domain.offers.customers import AuthorizationStatus
from evbill.domain.payments.events import PaymentRefused
from evbill.domain.payments.model import PaymentPurpose
from tests.integration.collection_support import Books
from tests.integration.db_billing_records import a_contract, a_token

TOKEN_UID = "04AABBCCDD"


def charged_at_issue(books: Books) -> tuple[Document, str]:
    """Invoice A, charged in full to Anna's card on file when issued: (the invoice, the payment id)."""
    save_customer_card(books.services, books.who, books.customer_id, gateway="sandbox",
                       payment_method="tok_visa", charge_sessions=False)  # fmt: skip
    invoice = books.invoice("16.54")
    outcome = collect_issued_document(books.services, books.gateway, books.who, invoice.id)
    assert outcome.succeeded
    with books.services.uow() as uow:
        payment_id = uow.collection.attempts(books.who.operator_id, invoice.id)[0].payment_id
    return invoice, payment_id


def refund(books: Books, payment_id: str, amount: int, key: str) -> None:
    refund_payment(books.services, books.gateway, books.who, payment_id, amount=amount, idempotency_key=key)


def card_payment(books: Books, invoice: Document, amount: int, key: str) -> str:
    """A card payment of the invoice through the payments API's use cases, held and captured."""
    held = authorise_payment(
        books.services, books.gateway, books.who, customer_id=None, purpose=PaymentPurpose.INVOICE,
        subject=f"invoice:{invoice.number}", amount=SettledMoney(amount, "EUR"), payment_method="tok_visa",
        idempotency_key=f"{key}-a",
    )  # fmt: skip
    capture_payment(books.services, books.gateway, books.who, held.payment.id, amount=amount,
                    idempotency_key=f"{key}-c")  # fmt: skip
    return held.payment.id


def test_a_refund_reopens_the_paid_invoice_by_its_due_date_and_debits_the_receivable(books: Books) -> None:
    # Given invoice A charged in full at issue: paid
    invoice, payment_id = charged_at_issue(books)
    assert (books.get(invoice).status, books.get(invoice).paid_minor) == (DocumentStatus.PAID, 2001)

    # When 5.00 is refunded before the due date
    books.clock.advance(days=2)
    refund(books, payment_id, 500, "r1")

    # Then the invoice shows 15.01 paid and 5.00 open: partially paid; the receivable owes 5.00 again
    partly = books.get(invoice)
    assert (partly.status, partly.paid_minor, partly.open_minor) == (DocumentStatus.PARTIALLY_PAID, 1501, 500)
    assert books.balances() == {
        "gateway_clearing:sandbox": 1448,  # 20.01 - 0.53 - 5.00
        "gateway_fees": 53,
        f"receivable:{books.customer_id}": -1501,  # -20.01 captured + 5.00 refunded
    }

    # When the rest, 15.01, is refunded after the due date (2026-12-15)
    books.clock.advance(days=18)
    refund(books, payment_id, 1501, "r2")

    # Then nothing is paid and the invoice is overdue; a refund beyond the capture is refused
    late = books.get(invoice)
    assert (late.status, late.paid_minor, late.open_minor) == (DocumentStatus.OVERDUE, 0, 2001)
    with pytest.raises(PaymentRefused, match="exceeds"):
        refund(books, payment_id, 1, "r3")
    assert books.balances() == {
        "gateway_clearing:sandbox": -53,
        "gateway_fees": 53,
    }  # the receivable is back to the invoice's 20.01 (its issue entry, not summed here)
    assert check_all_books(books.services).ok


def test_a_full_refund_before_the_due_date_leaves_the_invoice_issued(books: Books) -> None:
    invoice, payment_id = charged_at_issue(books)

    refund(books, payment_id, 2001, "r1")
    refund(books, payment_id, 2001, "r1")  # the same request again moves nothing

    issued = books.get(invoice)
    assert (issued.status, issued.paid_minor, issued.open_minor) == (DocumentStatus.ISSUED, 0, 2001)
    # the receivable nets to 0 again beside the invoice's own 20.01 (not summed here)
    assert books.balances() == {"gateway_clearing:sandbox": -53, "gateway_fees": 53}
    assert check_all_books(books.services).ok


def test_a_refund_takes_the_excess_credit_first_then_reopens_the_invoice(books: Books) -> None:
    # Given invoice A paid by a card payment of 25.00: 20.01 on the invoice, 4.99 credit
    invoice = books.invoice("16.54")
    payment_id = card_payment(books, invoice, 2500, "p1")
    assert (books.get(invoice).status, books.get(invoice).paid_minor) == (DocumentStatus.PAID, 2001)

    # When the 4.99 excess is refunded
    refund(books, payment_id, 499, "r1")
    # Then the invoice stays paid; the customer's credit is gone
    assert (books.get(invoice).status, books.get(invoice).paid_minor) == (DocumentStatus.PAID, 2001)
    assert books.balances()[f"receivable:{books.customer_id}"] == -2001

    # When 1.00 more is refunded: it comes off the invoice
    refund(books, payment_id, 100, "r2")
    reopened = books.get(invoice)
    assert (reopened.status, reopened.paid_minor) == (DocumentStatus.PARTIALLY_PAID, 1901)
    assert books.balances() == {
        "gateway_clearing:sandbox": 1841,  # 25.00 - 0.60 - 4.99 - 1.00
        "gateway_fees": 60,
        f"receivable:{books.customer_id}": -1901,
    }
    assert check_all_books(books.services).ok


def test_a_refund_reported_by_webhook_reopens_the_invoice_once(books: Books) -> None:
    invoice, payment_id = charged_at_issue(books)
    with books.services.uow() as uow:
        payment = uow.payments.get(books.who.operator_id, payment_id)
    assert payment is not None
    refund(books, payment_id, 700, "r1")
    # the gateway's webhook for the same refund event (and its resend) changes nothing more
    events = [e for e in books.gateway.events(payment.gateway_reference) if e.kind.value == "refunded"]

    stored = record_gateway_events(books.services, "sandbox", events + events)

    assert stored == 0
    assert (books.get(invoice).paid_minor, books.get(invoice).status) == (1301, DocumentStatus.PARTIALLY_PAID)


# --- reinstatement on payment -----------------------------------------------------------------------


def suspended(books: Books) -> Document:
    """Anna with a token and a contract, invoice A unpaid 16 days after issue: suspended (policy:
    suspend as soon as overdue)."""
    with books.services.uow() as uow:
        uow.tokens.add(a_token(books.who.operator_id, books.customer_id, uid=TOKEN_UID))
        uow.contracts.add(a_contract(books.who.operator_id, books.customer_id))
        uow.commit()
    save_policy(books.services, books.who, CollectionPolicy(reminder_days=(), suspend_after_days=0))
    invoice = books.invoice("16.54")
    books.clock.advance(days=16)
    run = run_collection(books.services, books.gateway, books.mailer, operator_ids=[books.who.operator_id],
                         now=books.clock.now())  # fmt: skip
    assert run.suspended == 1
    assert status(books) is AuthorizationStatus.BLOCKED
    return invoice


def status(books: Books) -> AuthorizationStatus:
    return authorize(books.services, books.who, TOKEN_UID).status


def active_suspensions(books: Books) -> int:
    with books.services.uow(read_only=True) as uow:
        return len(uow.collection.active_suspensions(books.who.operator_id))


def test_a_card_payment_of_the_overdue_invoice_reinstates_the_customer_at_once(books: Books) -> None:
    invoice = suspended(books)

    # When Anna pays part of it by card (POST /payments, purpose invoice): still overdue, still blocked
    card_payment(books, invoice, 1000, "p1")
    assert (books.get(invoice).status, status(books)) == (DocumentStatus.OVERDUE, AuthorizationStatus.BLOCKED)

    # When she pays the rest: paid, and her token is accepted in that same capture's transaction
    card_payment(books, invoice, 1001, "p2")

    assert books.get(invoice).status is DocumentStatus.PAID
    assert status(books) is AuthorizationStatus.ACCEPTED
    assert active_suspensions(books) == 0
    assert check_all_books(books.services).ok


def test_a_captured_payment_reported_by_webhook_reinstates_the_customer(books: Books) -> None:
    invoice = suspended(books)
    held = authorise_payment(
        books.services, books.gateway, books.who, customer_id=None, purpose=PaymentPurpose.INVOICE,
        subject=f"invoice:{invoice.id}", amount=SettledMoney(2001, "EUR"), payment_method="tok_visa",
        idempotency_key="w1",
    )  # fmt: skip
    # the capture happened at the gateway (e.g. from its dashboard): evbill hears of it by webhook only
    books.gateway.capture(reference=held.payment.gateway_reference, amount=SettledMoney(2001, "EUR"),
                          idempotency_key="dashboard")  # fmt: skip
    events = books.gateway.events(held.payment.gateway_reference)

    record_gateway_events(books.services, "sandbox", events)

    assert books.get(invoice).status is DocumentStatus.PAID
    assert status(books) is AuthorizationStatus.ACCEPTED


def test_a_recorded_payment_of_the_overdue_invoice_reinstates_the_customer(books: Books) -> None:
    invoice = suspended(books)

    invoicing.record_payment(books.services, books.who, invoice.id, 2001)

    assert books.get(invoice).status is DocumentStatus.PAID
    assert (status(books), active_suspensions(books)) == (AuthorizationStatus.ACCEPTED, 0)
