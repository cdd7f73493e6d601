"""Collection: the card on file charged at issue (once), retries within card-network rules, reminders by
e-mail, the overdue -> suspended -> paid -> reinstated cycle, write-offs; SQLite and PostgreSQL.

Invoice A: 16.54 excl. VAT + 21 % (3.4734 -> 3.47) = 20.01. The sandbox's fee on a capture of 20.01
is 1.4 % (0.28014) + 0.25 = 0.53014 -> 0.53.
"""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest

from evbill.adapters.mail import SmtpMailer
from evbill.application.collection import charges
from evbill.application.collection.charges import collect_issued_document, save_card
from evbill.application.collection.dunning import run_collection, save_policy, write_off_document
from evbill.application.collection.reconciliation import check_all_books
from evbill.application.collection.setup import get_card, save_customer_card
from evbill.application.invoicing import documents as invoicing
from evbill.application.offers.customers import authorize, create_customer
from evbill.application.payments.payments import refund_payment
from evbill.domain.collection.policy import CollectionPolicy
from evbill.domain.errors import Conflict, InvalidInput
from evbill.domain.invoicing.documents import DocumentStatus
from evbill.domain.offers.customers import AuthorizationStatus, TokenStatus
from evbill.domain.payments.events import PaymentRefused
from tests.integration.collection_support import Books
from tests.integration.db_billing_records import a_contract, a_token
from tests.integration.test_mail_smtp import smtp_server  # noqa: F401 (the fixture)


def card(books: Books, token: str) -> None:
    save_card(books.services, books.who, books.customer_id, gateway="sandbox", payment_method=token)


def collect(books: Books, days: float = 0):
    return run_collection(
        books.services, books.gateway, books.mailer, operator_ids=[books.who.operator_id],
        now=books.clock.now() + timedelta(days=days),
    )  # fmt: skip


def test_the_card_on_file_is_charged_once_when_the_invoice_is_issued(books: Books) -> None:
    card(books, "tok_visa")
    invoice = books.invoice("16.54")

    first = collect_issued_document(books.services, books.gateway, books.who, invoice.id)
    again = collect_issued_document(books.services, books.gateway, books.who, invoice.id)

    assert (first.attempt, first.succeeded) == (1, True)
    assert (again.attempt, again.succeeded, again.reason) == (1, True, "charged before")
    assert [operation for operation, _ in books.gateway.calls] == ["authorise", "capture"]  # not twice
    assert (books.get(invoice).status, books.get(invoice).paid_minor) == (DocumentStatus.PAID, 2001)
    assert books.balances() == {
        "gateway_clearing:sandbox": 1948,  # 20.01 - 0.53
        "gateway_fees": 53,
        f"receivable:{books.customer_id}": -2001,
    }
    assert check_all_books(books.services).ok


def test_a_refund_of_the_collected_payment_is_never_above_what_was_captured(books: Books) -> None:
    card(books, "tok_visa")
    invoice = books.invoice("16.54")
    collect_issued_document(books.services, books.gateway, books.who, invoice.id)
    with books.services.uow() as uow:
        payment_id = uow.collection.attempts(books.who.operator_id, invoice.id)[0].payment_id

    with pytest.raises(PaymentRefused, match="exceeds"):
        refund_payment(
            books.services, books.gateway, books.who, payment_id, amount=2002, idempotency_key="r1"
        )
    refund_payment(books.services, books.gateway, books.who, payment_id, amount=2001, idempotency_key="r2")
    with pytest.raises(PaymentRefused):
        refund_payment(books.services, books.gateway, books.who, payment_id, amount=1, idempotency_key="r3")

    assert check_all_books(books.services).ok


def test_a_soft_decline_is_retried_on_schedule_at_most_once_a_day_until_it_succeeds(books: Books) -> None:
    # Given a card that is declined for lack of funds, and the default schedule (days 1, 3, 7, 14)
    card(books, "tok_insufficient_funds")
    invoice = books.invoice("16.54")
    first = collect_issued_document(books.services, books.gateway, books.who, invoice.id)
    assert (first.attempt, first.succeeded, first.decline_code) == (1, False, "insufficient_funds")

    # When the collection runs: the same day (nothing due), day 1 (declined again), day 1 again, day 2
    runs = [collect(books, 0), collect(books, 1), collect(books, 1.5), collect(books, 2)]
    # and the customer puts a new card on file before day 3
    card(books, "tok_visa")
    day3 = collect(books, 3)

    # Then one retry on day 1, none more that day nor on day 2, and day 3's succeeds
    assert [(r.charged, r.declined) for r in runs] == [(0, 0), (0, 1), (0, 0), (0, 0)]
    assert (day3.charged, day3.declined) == (1, 0)
    with books.services.uow() as uow:
        attempts = uow.collection.attempts(books.who.operator_id, invoice.id)
    assert [(a.number, a.succeeded) for a in attempts] == [(1, False), (2, False), (3, True)]
    assert books.get(invoice).status is DocumentStatus.PAID
    assert collect(books, 7).charged == 0  # paid: nothing more
    assert check_all_books(books.services).ok


def test_a_hard_decline_is_never_retried(books: Books) -> None:
    card(books, "tok_lost_card")
    invoice = books.invoice("16.54")
    first = collect_issued_document(books.services, books.gateway, books.who, invoice.id)
    calls = len(books.gateway.calls)

    runs = [collect(books, day) for day in (1, 3, 7, 14, 30)]

    assert first.decline_code == "lost_card"
    assert sum(r.charged + r.declined for r in runs) == 0
    assert len(books.gateway.calls) == calls


def test_no_card_on_file_charges_nothing(books: Books) -> None:
    invoice = books.invoice("16.54")

    outcome = collect_issued_document(books.services, books.gateway, books.who, invoice.id)

    assert (outcome.attempt, outcome.reason) == (None, "no card on file")
    assert books.gateway.calls == []


def test_overdue_reminded_suspended_paid_reinstated(books: Books) -> None:
    # Given Anna's token and active contract (the charger accepts her), and a policy: reminders 1 and
    # 7 days after the due date, suspension after 10 days overdue
    with books.services.uow() as uow:
        token = a_token(books.who.operator_id, books.customer_id, uid="04AABBCCDD")
        kept_blocked = a_token(books.who.operator_id, books.customer_id, uid="04EEFF0011",
                               status=TokenStatus.BLOCKED)  # fmt: skip
        uow.tokens.add(token)
        uow.tokens.add(kept_blocked)
        uow.contracts.add(a_contract(books.who.operator_id, books.customer_id))
        uow.commit()
    save_policy(books.services, books.who, CollectionPolicy(reminder_days=(1, 7), suspend_after_days=10))
    invoice = books.invoice("16.54")  # due in 14 days (2026-12-15)

    def status() -> AuthorizationStatus:
        return authorize(books.services, books.who, "04AABBCCDD").status

    assert status() is AuthorizationStatus.ACCEPTED

    # When 15 days pass: overdue by one day, first reminder; run twice, nothing twice
    books.clock.advance(days=15)
    first, repeat = collect(books), collect(books)
    assert (first.marked_overdue, first.reminders, first.suspended) == (1, 1, 0)
    assert (repeat.marked_overdue, repeat.reminders, repeat.suspended) == (0, 0, 0)
    assert books.get(invoice).status is DocumentStatus.OVERDUE
    mail = books.mailer.sent[0]
    assert (mail["To"], mail["Subject"]) == (
        "anna@example.nl",
        f"Reminder 1: invoice {invoice.number}, 20.01 EUR open",
    )
    assert invoice.payment_reference in mail.get_content()

    # When 26 days have passed: 11 days overdue, second reminder, the token is suspended
    books.clock.advance(days=11)
    late = collect(books)
    assert (late.reminders, late.suspended) == (1, 1)
    assert status() is AuthorizationStatus.BLOCKED
    assert len(books.mailer.sent) == 2

    # When Anna pays by bank transfer quoting the reference: paid, and the token is back at once
    books.clock.advance(days=1)
    books.import_csv(
        f"entry_id,booked_on,amount,currency,name,reference\nP1,2026-12-28,20.01,EUR,Anna,{invoice.payment_reference}\n"
    )
    assert books.get(invoice).status is DocumentStatus.PAID
    assert status() is AuthorizationStatus.ACCEPTED
    with books.services.uow() as uow:
        assert uow.tokens.get(books.who.operator_id, kept_blocked.id).status is TokenStatus.BLOCKED
        assert uow.collection.active_suspensions(books.who.operator_id) == []
    after = collect(books)
    assert (after.reminders, after.suspended, after.reinstated) == (0, 0, 0)
    assert check_all_books(books.services).ok


def test_a_write_off_gives_up_the_open_rest_and_lifts_a_suspension(books: Books) -> None:
    with books.services.uow() as uow:
        uow.tokens.add(a_token(books.who.operator_id, books.customer_id, uid="04AABBCCDD"))
        uow.contracts.add(a_contract(books.who.operator_id, books.customer_id))
        uow.commit()
    save_policy(books.services, books.who, CollectionPolicy(reminder_days=(), suspend_after_days=0))
    invoice = books.invoice("100.00")  # 121.00
    books.import_csv(
        f"entry_id,booked_on,amount,currency,reference\nP1,2026-12-02,5.00,EUR,{invoice.payment_reference}\n"
    )
    books.clock.advance(days=16)
    assert collect(books).suspended == 1

    written_off = write_off_document(books.services, books.who, invoice.id, "customer insolvent")

    assert (written_off.status, written_off.paid_minor) == (DocumentStatus.WRITTEN_OFF, 500)
    # 121.00 - 5.00 = 116.00 written off; the receivable credited 5.00 + 116.00 = 121.00 in all,
    # which settles the invoice's own debit of 121.00
    assert books.balances() == {
        "bank": 500, f"receivable:{books.customer_id}": -12100, "write_offs": 11600,
    }  # fmt: skip
    assert authorize(books.services, books.who, "04AABBCCDD").status is AuthorizationStatus.ACCEPTED
    with pytest.raises(Conflict):
        write_off_document(books.services, books.who, invoice.id, "again")
    with pytest.raises(InvalidInput):
        write_off_document(books.services, books.who, books.invoice("1.00").id, " ")
    assert check_all_books(books.services).ok


def test_a_policy_outside_card_network_rules_is_refused_naming_the_field(books: Books) -> None:
    with pytest.raises(InvalidInput) as refused:
        save_policy(books.services, books.who, CollectionPolicy(retry_days=(1, 1, 31)))

    assert {p.path for p in refused.value.problems} == {"$.retry_days"}


def test_a_card_number_is_never_saved(books: Books) -> None:
    with pytest.raises(InvalidInput) as refused:
        card(books, "4242 4242 4242 4242")

    assert "4242" not in str(refused.value.problems)


def test_a_business_accounts_suspension_blocks_its_fleet_drivers_tokens_too(books: Books) -> None:
    dutch = {"language": "nl", "currency": "EUR", "country": "NL"}
    fleet = create_customer(books.services, books.who, {"kind": "BUSINESS", "name": "Acme", **dutch})
    driver = create_customer(
        books.services, books.who, {"kind": "INDIVIDUAL", "name": "Jan", "parent_id": fleet.id, **dutch}
    )
    with books.services.uow() as uow:
        uow.tokens.add(a_token(books.who.operator_id, driver.id, uid="04DRIVER01"))
        uow.contracts.add(a_contract(books.who.operator_id, fleet.id))
        uow.commit()
    save_policy(books.services, books.who, CollectionPolicy(reminder_days=(), suspend_after_days=0))
    books.invoice("16.54", customer_id=fleet.id)

    books.clock.advance(days=15)
    assert collect(books).suspended == 1

    assert authorize(books.services, books.who, "04DRIVER01").status is AuthorizationStatus.BLOCKED


def test_a_crash_after_the_gateway_charged_is_reconciled_by_the_retry_not_charged_twice(books: Books) -> None:
    # Given the charge at issue reached the gateway and captured, and the process died before recording
    # the attempt
    card(books, "tok_visa")
    invoice = books.invoice("16.54")
    original = charges._record_attempt

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    charges._record_attempt = crash
    try:
        with pytest.raises(RuntimeError, match="killed"):
            collect_issued_document(books.services, books.gateway, books.who, invoice.id)
    finally:
        charges._record_attempt = original
    # the capture recorded the payment on the invoice in its own transaction: the crash loses nothing
    assert books.get(invoice).status is DocumentStatus.PAID

    # When it is asked again
    outcome = collect_issued_document(books.services, books.gateway, books.who, invoice.id)

    # Then nothing is charged again: one capture of 20.01, the invoice paid
    assert (outcome.succeeded, outcome.reason) == (False, "nothing open (paid)")
    assert books.get(invoice).status is DocumentStatus.PAID
    assert books.balances()["gateway_clearing:sandbox"] == 1948  # 20.01 - 0.53, once
    with books.services.uow() as uow:
        assert len(uow.payments.list(books.who.operator_id, after=None, limit=10)) == 1
    assert check_all_books(books.services).ok


def test_a_reminder_goes_out_through_a_real_smtp_server(books: Books, smtp_server) -> None:  # noqa: F811
    inbox, port = smtp_server
    invoice = books.invoice("16.54")
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", "Alpha Billing <billing@alpha.example>")

    run = run_collection(books.services, books.gateway, mailer, operator_ids=[books.who.operator_id],
                         now=books.clock.now() + timedelta(days=15))  # fmt: skip

    assert run.reminders == 1
    [(sender, recipients, raw)] = inbox.messages
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert (sender, recipients) == ("billing@alpha.example", ["anna@example.nl"])
    assert message["Subject"] == f"Reminder 1: invoice {invoice.number}, 20.01 EUR open"
    assert invoice.payment_reference in message.get_content()
    assert "NL91ABNA0417164300" in message.get_content()


def test_one_invoices_trouble_is_reported_and_the_run_goes_on(books: Books) -> None:
    # Given a token the gateway does not know on Anna's card (first attempt failed) and a second customer
    card(books, "tok_insufficient_funds")
    troubled = books.invoice("16.54")
    collect_issued_document(books.services, books.gateway, books.who, troubled.id)
    card(books, "tok_nonsense")
    other = books.invoice("10.00")

    run = collect(books, 16)  # the retry is due and both invoices are overdue

    assert [problem.split(":")[0] for problem in run.problems] == [f"invoice {troubled.number}"]
    assert books.get(other).status is DocumentStatus.OVERDUE
    assert run.reminders == 1  # the other invoice's; the troubled one's comes next run


def test_a_credit_note_is_never_charged_nor_written_off(books: Books) -> None:
    card(books, "tok_visa")
    invoice = books.invoice("16.54")
    note = invoicing.credit_document(books.services, books.who, invoice.id, reason="goodwill")

    outcome = collect_issued_document(books.services, books.gateway, books.who, note.id)

    assert (outcome.attempt, outcome.reason) == (None, "nothing open (issued)")
    assert books.gateway.calls == []
    with pytest.raises(Conflict):
        write_off_document(books.services, books.who, note.id, "no")


def test_a_card_saved_for_invoices_is_written_by_the_one_card_writer_and_keeps_the_session_switch(
    books: Books,
) -> None:
    # Given a card on file saved (by the SetupIntent's writer) to pay the customer's sessions too
    save_customer_card(books.services, books.who, books.customer_id, gateway="sandbox",
                       payment_method="tok_visa", charge_sessions=True)  # fmt: skip
    # When another card is saved for invoices (the CLI's `card-save`, the billing run's tests)
    card(books, "tok_insufficient_funds")
    # Then it replaced the first and still charges sessions; a first card charges none
    saved = get_card(books.services, books.who, books.customer_id)
    assert (saved.payment_method, saved.charge_sessions) == ("tok_insufficient_funds", True)
    other = create_customer(
        books.services, books.who,
        {"kind": "INDIVIDUAL", "name": "Bram", "language": "nl", "currency": "EUR", "country": "NL"},
    )  # fmt: skip
    save_card(books.services, books.who, other.id, gateway="sandbox", payment_method="tok_visa")
    assert get_card(books.services, books.who, other.id).charge_sessions is False
