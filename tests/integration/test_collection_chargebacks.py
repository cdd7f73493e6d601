"""A disputed card payment of an invoice: lost, the money went back to the cardholder, so the invoice
is open again (overdue past its due date, the overdue policy applies again) and the customer's
receivable owes it again; won after that, the money is back and pays the invoice again. Each in the
dispute event's transaction, once per gateway event. SQLite and PostgreSQL.

Invoice A: 16.54 excl. VAT + 21 % VAT 3.47 = 20.01 EUR, issued 2026-12-01, due 2026-12-15 (Europe/
Amsterdam), charged at issue to Anna's card ``tok_dispute``. The sandbox's fee on 20.01: 0.53.
"""

from __future__ import annotations

from evbill.application.collection.charges import collect_issued_document
from evbill.application.collection.dunning import run_collection, save_policy
from evbill.application.collection.reconciliation import check_all_books
from evbill.application.collection.setup import save_customer_card
from evbill.application.ledger import queries
from evbill.application.offers.customers import authorize
from evbill.application.payments.payments import record_gateway_events
from evbill.domain.collection.policy import CollectionPolicy
from evbill.domain.invoicing.documents import Document, DocumentStatus
from evbill.domain.ledger.entries import EntryCause
from evbill.domain.offers.customers import AuthorizationStatus
from evbill.domain.payments.events import EventKind, derive_state
from tests.integration.collection_support import Books
from tests.integration.db_billing_records import a_contract, a_token

TOKEN_UID = "04AABBCCEE"


def charged_at_issue(books: Books) -> tuple[Document, str]:
    """Invoice A charged in full at issue to the card that will be disputed: (invoice, gateway ref)."""
    save_customer_card(books.services, books.who, books.customer_id, gateway="sandbox",
                       payment_method="tok_dispute", charge_sessions=False)  # fmt: skip
    invoice = books.invoice("16.54")
    assert collect_issued_document(books.services, books.gateway, books.who, invoice.id).succeeded
    with books.services.uow(read_only=True) as uow:
        payment_id = uow.collection.attempts(books.who.operator_id, invoice.id)[0].payment_id
        payment = uow.payments.get(books.who.operator_id, str(payment_id))
    assert payment is not None
    return invoice, payment.gateway_reference


def dispute(books: Books, reference: str, *, won: bool) -> int:
    """The gateway's dispute opened and closed, delivered as its webhooks would (each twice)."""
    books.gateway.raise_dispute(reference)
    books.gateway.close_dispute(reference, won=won)
    events = books.gateway.events(reference)
    return record_gateway_events(books.services, "sandbox", events + events)


def test_a_lost_dispute_reopens_the_paid_invoice_and_the_receivable_owes_it_again(books: Books) -> None:
    # Given invoice A paid at issue by card
    invoice, reference = charged_at_issue(books)
    assert (books.get(invoice).status, books.get(invoice).paid_minor) == (DocumentStatus.PAID, 2001)

    # When the cardholder disputes the payment before the due date and the dispute is lost
    books.clock.advance(days=3)
    assert dispute(books, reference, won=False) == 2  # opened, lost: each once

    # Then the invoice is unpaid again (before its due date: issued), all of 20.01 open
    reopened = books.get(invoice)
    assert (reopened.status, reopened.paid_minor, reopened.open_minor) == (DocumentStatus.ISSUED, 0, 2001)
    # And the chargeback debits the customer's receivable (owed again), not the operator's losses
    assert books.balances() == {
        "gateway_clearing:sandbox": -53,  # 20.01 - 0.53 - 20.01 charged back
        "gateway_fees": 53,
    }  # the receivable nets to 0 beside the invoice's own 20.01 (its issue entry, not summed here)
    journal = queries.journal(books.services, books.who, after=None, limit=100)
    chargebacks = [entry for entry in journal if entry.cause is EntryCause.CHARGEBACK]
    assert [sorted((p.account, p.amount) for p in entry.postings) for entry in chargebacks] == [
        [("gateway_clearing:sandbox", -2001), (f"receivable:{books.customer_id}", 2001)]
    ]
    assert check_all_books(books.services).ok


def test_a_dispute_lost_after_the_due_date_leaves_the_invoice_overdue_and_the_policy_suspends(
    books: Books,
) -> None:
    # Given Anna with a token and a contract, the policy suspending as soon as overdue, invoice A paid
    with books.services.uow() as uow:
        uow.tokens.add(a_token(books.who.operator_id, books.customer_id, uid=TOKEN_UID))
        uow.contracts.add(a_contract(books.who.operator_id, books.customer_id))
        uow.commit()
    save_policy(books.services, books.who, CollectionPolicy(reminder_days=(), suspend_after_days=0))
    invoice, reference = charged_at_issue(books)

    # When the dispute is lost on 2026-12-21, after the due date
    books.clock.advance(days=20)
    dispute(books, reference, won=False)

    # Then the invoice is overdue with 20.01 open, and the collection run suspends Anna's token
    late = books.get(invoice)
    assert (late.status, late.paid_minor, late.open_minor) == (DocumentStatus.OVERDUE, 0, 2001)
    run = run_collection(books.services, books.gateway, books.mailer, operator_ids=[books.who.operator_id],
                         now=books.clock.now())  # fmt: skip
    assert run.suspended == 1
    assert authorize(books.services, books.who, TOKEN_UID).status is AuthorizationStatus.BLOCKED

    # When the lost dispute is won after all (the chargeback reversed on appeal)
    books.gateway.close_dispute(reference, won=True)
    stored = record_gateway_events(books.services, "sandbox", books.gateway.events(reference))

    # Then the money is back: the invoice is paid again, Anna reinstated, the receivable settled
    assert stored == 1
    paid = books.get(invoice)
    assert (paid.status, paid.paid_minor, paid.open_minor) == (DocumentStatus.PAID, 2001, 0)
    assert authorize(books.services, books.who, TOKEN_UID).status is AuthorizationStatus.ACCEPTED
    assert books.balances() == {
        "gateway_clearing:sandbox": 1948,  # 20.01 - 0.53 - 20.01 + 20.01
        "gateway_fees": 53,
        f"receivable:{books.customer_id}": -2001,
    }
    with books.services.uow(read_only=True) as uow:
        (found,) = [e for p, e in uow.payments.of_operator(books.who.operator_id)]
    state = derive_state(found)
    assert (state.captured, state.charged_back, state.refundable) == (2001, 0, 2001)
    assert [e.kind for e in found][-2:] == [EventKind.DISPUTE_LOST, EventKind.DISPUTE_WON]
    assert check_all_books(books.services).ok


def test_a_dispute_won_outright_leaves_the_invoice_paid_and_posts_nothing(books: Books) -> None:
    invoice, reference = charged_at_issue(books)
    before = books.balances()

    dispute(books, reference, won=True)

    assert (books.get(invoice).status, books.get(invoice).paid_minor) == (DocumentStatus.PAID, 2001)
    assert books.balances() == before
    assert check_all_books(books.services).ok
