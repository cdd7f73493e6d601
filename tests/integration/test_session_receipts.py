"""A receipt per session paid by itself (ad hoc, card on file, wallet), on SQLite and PostgreSQL.

The world is ``test_session_funding``'s: EUR 0.35 start + 0.39/kWh, 21 % VAT. A 10 kWh session costs
4.25 excl. VAT, VAT 0.8925 -> 0.89, 5.14 incl. VAT. Paid by itself it gets one receipt, issued when the
money is taken, marked paid, whose ledger entry debits the receivable the payment credited, so the
receivable nets to 0; the contract's periodic bill leaves it out (one tax document per supply).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from evbill.application.billing.cycle import bill_contract, record_bill
from evbill.application.charging import central_system
from evbill.application.collection.reconciliation import check_all_books
from evbill.application.collection.setup import save_customer_card
from evbill.application.invoicing.documents import credit_document, invoice_bill
from evbill.application.invoicing.receipts import issue_session_receipt
from evbill.application.ledger.posting import post
from evbill.application.offers.customers import update_customer
from evbill.application.payments.adhoc import AdhocView, get_adhoc, settle_due, start_adhoc
from evbill.application.payments.session_funding import settle_session
from evbill.application.payments.wallets import create_wallet, top_up_wallet
from evbill.domain.errors import Conflict
from evbill.domain.invoicing.documents import Document, DocumentStatus
from evbill.domain.ledger import accounts
from evbill.domain.ledger.entries import EntryCause, credit, debit
from evbill.domain.metering.cleaning import MeterSample
from evbill.domain.payments.adhoc import AdhocStatus
from evbill.entrypoints.cli.main import build_app
from tests.e2e.ocpp.conftest import TOKEN
from tests.integration.payments_support import paid_at
from tests.integration.test_session_funding import WALLET_TOKEN, AcceptingStations, World, make_world
from tests.support import CliRunner


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    yield from make_world(database_url)


def receipts(world: World) -> list[Document]:
    with world.pay.services.uow(read_only=True) as uow:
        return list(
            uow.invoices.list(world.admin.operator_id, filters={"kind": "receipt"}, after=None, limit=100)
        )


def balances(world: World) -> dict[str, int]:
    with world.pay.services.uow(read_only=True) as uow:
        return {b.account: b.balance for b in uow.ledger.balances(world.admin.operator_id)}


def ended_adhoc_session(world: World, key: str) -> tuple[AdhocView, str]:
    """An ad hoc start (a hold of 50.00), its session begun and stopped after 10 kWh, not settled."""
    services = world.pay.services
    pay = replace(world.pay, commands=AcceptingStations())
    with services.uow(read_only=True) as uow:
        station_id = uow.evses.get(world.admin.operator_id, world.evse_id).station_id  # type: ignore[union-attr]
    context = central_system.station_context(services, world.admin.operator_id, station_id)
    started = start_adhoc(pay, world.evse_id, payment_method="tok_visa", idempotency_key=key)
    begin = services.clock.now() - timedelta(hours=1)
    paid_at(services, started.start, begin)
    central_system.start_transaction(
        services, context, evse_number=1, id_token=started.start.id_tag, started_at=begin,
        transaction_id=f"TX-{key}", start_key=None, samples=[MeterSample(begin, energy=Decimal(0))],
        frames=[],
    )  # fmt: skip
    central_system.end_transaction(
        services, context, transaction_id=f"TX-{key}", ended_at=begin + timedelta(hours=1), reason="Local",
        samples=[MeterSample(begin + timedelta(hours=1), energy=Decimal(10_000))], frames=[],
    )  # fmt: skip
    view = get_adhoc(services, world.evse_id, started.start.id)
    assert view.start.status is AdhocStatus.CHARGING
    assert view.start.session_id is not None
    return view, view.start.session_id


class Crash(Exception):
    pass


class CrashingReceipts:
    """The process dies after the capture, before the receipt."""

    def after_payment(self, operator_id: str, session_id: str) -> None:
        raise Crash


def test_an_ad_hoc_session_gets_one_paid_receipt_and_its_receivable_nets_to_zero(world: World) -> None:
    # Given an ad hoc session of 10 kWh that stopped, and a settlement that died after the capture
    view, session_id = ended_adhoc_session(world, "rcpt-1")
    crashing = replace(world.pay, receipts=CrashingReceipts())
    with pytest.raises(Crash):
        settle_due(crashing)

    # When settle_due runs again (and again), and the start's receipt link is followed
    settled = settle_due(world.pay)
    again = settle_due(world.pay)
    linked = issue_session_receipt(world.pay.services, world.admin, session_id)

    # Then 5.14 was captured once and the session has one receipt, paid by it
    assert [(v.start.status, v.start.captured) for v in settled] == [(AdhocStatus.FINISHED, 514)]
    assert again == []
    assert [operation for operation, _ in world.gateway.calls] == ["authorise", "capture"]
    [receipt] = receipts(world)
    assert linked.id == receipt.id
    assert receipt.number is not None
    assert receipt.number.startswith("RCP-")
    assert receipt.number.endswith("-000001")
    assert (receipt.composed.totals.excl_vat_minor, receipt.composed.totals.vat_minor) == (425, 89)
    assert (receipt.total_minor, receipt.paid_minor, receipt.status) == (514, 514, DocumentStatus.PAID)
    assert receipt.open_minor == 0
    assert receipt.buyer.name == "Driver"  # anonymous: no e-mail, nothing sent
    assert world.mailer.sent == []
    assert settled[0].receipt_url == f"/pay/{world.evse_id}/starts/{view.start.id}/receipt"
    # And the books: the capture and the receipt meet on the start's receivable
    assert view.start.payment_id is not None
    posted = balances(world)
    assert posted[f"receivable:adhoc:{view.start.id}"] == 0
    # the sandbox's fee (1.4 % + 0.25 = 0.32) is taken out of clearing: 4.82 + 0.32 = the capture
    assert (posted["gateway_clearing:sandbox"], posted["gateway_fees"]) == (482, 32)
    # revenue by kind: 10 kWh x 0.39 = 3.90 energy, the 0.35 start fee to fees (issue 14)
    assert (posted["revenue:energy"], posted["revenue:fees"]) == (-390, -35)
    assert posted["vat_payable:21"] == -89
    with world.pay.services.uow(read_only=True) as uow:
        entries = uow.ledger.entries(world.admin.operator_id, after=None, limit=100)
    assert [e.cause for e in entries if e.reference == f"receipt:{receipt.id}"] == [EntryCause.RECEIPT_ISSUED]
    assert check_all_books(world.pay.services, operator_ids=[world.admin.operator_id]).findings == ()


def test_ledger_check_passes_and_finds_a_tampered_receipt(world: World) -> None:
    # Given a settled, receipted ad hoc session: `evbill ledger check` says the books are sound
    view, _ = ended_adhoc_session(world, "rcpt-2")
    settle_due(world.pay)
    [receipt] = receipts(world)
    operator_id = world.admin.operator_id
    cli, runner = build_app(world.container.settings), CliRunner()
    sound = runner.invoke(cli, ["ledger", "check", "--operator", operator_id, "--json"])
    assert (sound.exit_code, json.loads(sound.stdout)["findings"]) == (0, [])

    # When someone books 1.00 of the receipt's receivable to revenue under its reference (a balanced
    # entry: the ledger is append-only, so a tamper is an entry added, not one changed)
    services = world.pay.services
    with services.uow() as uow:
        post(uow, services.ids, operator_id=operator_id, at=services.clock.now(),
             cause=EntryCause.INVOICE_ISSUED, reference=f"receipt:{receipt.id}", description="moved",
             postings=(debit(accounts.revenue(accounts.RevenueKind.ENERGY), 100, "EUR"),
                       credit(accounts.receivable(f"adhoc:{view.start.id}"), 100, "EUR")))  # fmt: skip
        uow.commit()

    # Then ledger check names the receipt, and the command fails
    findings = check_all_books(services, operator_ids=[operator_id]).findings
    assert [(f.subject, f.message) for f in findings] == [
        (f"receipt {receipt.number}", "totals 514 EUR, its entry debits 414")
    ]
    tampered = runner.invoke(cli, ["ledger", "check", "--operator", operator_id])
    assert tampered.exit_code != 0
    assert f"receipt {receipt.number}: totals 514 EUR, its entry debits 414" in tampered.stdout


def test_two_settlers_at_once_make_one_receipt(world: World) -> None:
    # Given a stopped ad hoc session
    _, session_id = ended_adhoc_session(world, "rcpt-3")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def settle() -> None:
        barrier.wait()
        try:
            settle_session(world.pay, world.admin.operator_id, session_id)
        except BaseException as error:  # a lost race may raise a conflict; the other settles
            errors.append(error)

    # When two settlers run at once, then the sweep
    threads = [threading.Thread(target=settle) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    settle_due(world.pay)

    # Then one capture, one receipt, numbered 000001 (no number lost); the second settler may have
    # asked the gateway too while the first one's capture was in flight, with the same key: the
    # gateway answered it from its record of the first
    assert len({key for operation, key in world.gateway.calls if operation == "capture"}) == 1
    [receipt] = receipts(world)
    assert receipt.number is not None
    assert receipt.number.endswith("-000001")
    assert (receipt.paid_minor, receipt.status) == (514, DocumentStatus.PAID)
    assert all("conflict" in type(error).__name__.lower() for error in errors), errors
    assert check_all_books(world.pay.services, operator_ids=[world.admin.operator_id]).findings == ()


def test_a_card_on_file_session_is_receipted_mailed_once_and_left_off_the_periodic_invoice(
    world: World,
) -> None:
    services, admin = world.pay.services, world.admin
    # Given the card customer with an e-mail address, charged per session
    with services.uow(read_only=True) as uow:
        version = uow.customers.get(admin.operator_id, world.card_customer).version  # type: ignore[union-attr]
    update_customer(services, admin, world.card_customer, {"email": "driver@example.com"},
                    expected_version=version)  # fmt: skip
    save_customer_card(
        services,
        admin,
        world.card_customer,
        gateway="sandbox",
        payment_method="tok_visa",
        charge_sessions=True,
    )
    paid = world.session(TOKEN)
    # And a second session after the customer stopped per-session charging: left to the invoice
    settle_session(world.pay, admin.operator_id, paid.id)
    settle_session(world.pay, admin.operator_id, paid.id)  # a retry
    save_customer_card(
        services,
        admin,
        world.card_customer,
        gateway="sandbox",
        payment_method="tok_visa",
        charge_sessions=False,
    )
    unpaid = world.session(TOKEN, kwh=20)  # 0.35 + 7.80 = 8.15, x 1.21 = 9.8615 -> 9.86
    assert settle_session(world.pay, admin.operator_id, unpaid.id) is None

    # When the contract's cycle is billed and invoiced
    assert paid.contract_id is not None
    with services.uow(read_only=True) as uow:
        contract = uow.contracts.get(admin.operator_id, paid.contract_id)
        location = uow.locations.get(admin.operator_id, paid.location_id)
    assert contract is not None
    assert location is not None
    cycle_start = contract.start.astimezone(ZoneInfo(location.time_zone)).date()
    preview = bill_contract(services, admin, contract.id, cycle_start)
    invoice = invoice_bill(services, admin, record_bill(services, admin, contract.id, cycle_start).id)

    # Then the paid session has its receipt (5.14, paid, to the customer), e-mailed once
    [receipt] = receipts(world)
    assert (receipt.total_minor, receipt.paid_minor, receipt.status) == (514, 514, DocumentStatus.PAID)
    assert (receipt.customer_id, receipt.buyer.email) == (world.card_customer, "driver@example.com")
    assert [mail["To"] for mail in world.mailer.sent] == ["driver@example.com"]
    assert world.mailer.sent[0]["Subject"].startswith(f"Receipt {receipt.number}")
    # And the periodic invoice bills only the other session: 9.86, not 5.14 + 9.86
    assert {line.session_id for line in preview.lines if line.session_id} == {unpaid.id}
    assert invoice.total_minor == 986
    # And the customer's receivable: +5.14 receipt -5.14 capture +9.86 invoice = 9.86 open
    assert balances(world)[f"receivable:{world.card_customer}"] == 986
    assert check_all_books(services, operator_ids=[admin.operator_id]).findings == ()


def test_a_wallet_paid_session_is_receipted_and_left_off_the_periodic_invoice(world: World) -> None:
    services, admin = world.pay.services, world.admin
    # Given a wallet holding 10.00
    wallet = create_wallet(services, admin, customer_id=world.wallet_customer, currency="EUR").wallet
    top_up_wallet(services, world.gateway, admin, wallet.id, amount=1000, payment_method="tok_visa",
                  idempotency_key="rcpt-top-up")  # fmt: skip
    session = world.session(WALLET_TOKEN)

    # When the 5.14 session is paid from it (twice: a retry), and the cycle is billed
    settle_session(world.pay, admin.operator_id, session.id)
    settle_session(world.pay, admin.operator_id, session.id)
    assert session.contract_id is not None
    with services.uow(read_only=True) as uow:
        contract = uow.contracts.get(admin.operator_id, session.contract_id)
        location = uow.locations.get(admin.operator_id, session.location_id)
    assert contract is not None
    assert location is not None
    cycle_start = contract.start.astimezone(ZoneInfo(location.time_zone)).date()
    preview = bill_contract(services, admin, contract.id, cycle_start)

    # Then one receipt, paid by the wallet; the bill has no session line; the receivable nets to 0
    [receipt] = receipts(world)
    assert (receipt.total_minor, receipt.paid_minor, receipt.status) == (514, 514, DocumentStatus.PAID)
    assert receipt.customer_id == world.wallet_customer
    assert world.mailer.sent == []  # no e-mail address
    assert [line.session_id for line in preview.lines if line.session_id] == []
    posted = balances(world)
    assert posted[f"receivable:{world.wallet_customer}"] == 0
    assert posted[f"wallet:{wallet.id}"] == -486
    assert check_all_books(services, operator_ids=[admin.operator_id]).findings == ()


def test_a_receipt_asked_for_before_the_capture_is_marked_paid_by_it(world: World) -> None:
    # Given a stopped ad hoc session whose receipt link is followed before the payment is settled
    view, session_id = ended_adhoc_session(world, "rcpt-4")
    early = issue_session_receipt(world.pay.services, world.admin, session_id)

    # When the sweep captures the session's price
    settle_due(world.pay)

    # Then it is the same receipt, now paid; it and the capture meet on the start's receivable
    [receipt] = receipts(world)
    assert (early.id, early.status, early.paid_minor) == (receipt.id, DocumentStatus.ISSUED, 0)
    assert (receipt.status, receipt.paid_minor) == (DocumentStatus.PAID, 514)
    assert balances(world)[f"receivable:adhoc:{view.start.id}"] == 0
    assert check_all_books(world.pay.services, operator_ids=[world.admin.operator_id]).findings == ()


def test_a_session_already_on_its_contracts_bill_gets_no_receipt(world: World) -> None:
    services, admin = world.pay.services, world.admin
    # Given a card-on-file session left to the invoice and billed on the contract's cycle
    save_customer_card(
        services,
        admin,
        world.card_customer,
        gateway="sandbox",
        payment_method="tok_visa",
        charge_sessions=False,
    )
    session = world.session(TOKEN)
    assert session.contract_id is not None
    with services.uow(read_only=True) as uow:
        contract = uow.contracts.get(admin.operator_id, session.contract_id)
        location = uow.locations.get(admin.operator_id, session.location_id)
    assert contract is not None
    assert location is not None
    cycle_start = contract.start.astimezone(ZoneInfo(location.time_zone)).date()
    billed = record_bill(services, admin, contract.id, cycle_start)

    # When the customer then asks for per-session charging and the session is settled again
    save_customer_card(
        services,
        admin,
        world.card_customer,
        gateway="sandbox",
        payment_method="tok_visa",
        charge_sessions=True,
    )
    settled = settle_session(world.pay, admin.operator_id, session.id)

    # Then the bill keeps the session, the card is not charged for it (the invoice collects it: it
    # would be paid twice) and no receipt is made for it (one tax document per supply)
    assert settled is None
    assert [line.session_id for line in billed.bill.lines if line.session_id] == [session.id]
    with services.uow(read_only=True) as uow:
        assert uow.payments.list(admin.operator_id, after=None, limit=10) == []
    assert receipts(world) == []
    with pytest.raises(Conflict, match="billed on its contract's invoice, not by a receipt"):
        issue_session_receipt(services, admin, session.id)


def test_without_the_sellers_legal_data_the_session_settles_and_its_receipt_waits_for_the_profile(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an operator whose invoicing profile lost its VAT id, and an ad hoc session that stopped
    services, operator_id = world.pay.services, world.admin.operator_id
    with services.uow() as uow:
        profile = uow.invoices.profile(operator_id)
        assert profile is not None
        uow.invoices.save_profile(
            replace(profile, seller=replace(profile.seller, vat_id=None)), services.clock.now()
        )
        uow.commit()
    _, session_id = ended_adhoc_session(world, "rcpt-noseller")

    # When it is settled
    with caplog.at_level("WARNING", logger="evbill.collection.receipts"):
        settled = settle_due(world.pay)

    # Then the money is taken and the start finished (not retried for ever), and no receipt is made
    assert [(v.start.status, v.start.captured) for v in settled] == [(AdhocStatus.FINISHED, 514)]
    assert settle_due(world.pay) == []
    assert receipts(world) == []
    assert "$.seller.vat_id" in caplog.text
    # And once the profile is complete again, the receipt asked for is issued, paid by the capture
    with services.uow() as uow:
        uow.invoices.save_profile(profile, services.clock.now())
        uow.commit()
    receipt = issue_session_receipt(services, world.admin, session_id)
    assert (receipt.total_minor, receipt.paid_minor, receipt.status) == (514, 514, DocumentStatus.PAID)
    assert balances(world)[f"receivable:adhoc:{settled[0].start.id}"] == 0


def test_a_credit_note_of_an_ad_hoc_receipt_moves_the_starts_receivable_not_a_name(world: World) -> None:
    # Given a settled ad hoc session with its paid receipt (5.14)
    view, session_id = ended_adhoc_session(world, "rcpt-credit")
    settle_due(world.pay)
    receipt = issue_session_receipt(world.pay.services, world.admin, session_id)

    # When it is credited in full
    note = credit_document(world.pay.services, world.admin, receipt.id, reason="charger fault")

    # Then the note's 5.14 is owed back to that driver on the start's receivable (to be refunded),
    # never on an account named after the buyer's display name shared by every anonymous driver
    posted = balances(world)
    assert note.total_minor == 514
    assert posted[f"receivable:adhoc:{view.start.id}"] == -514
    assert not any(account.startswith("receivable:Driver") for account in posted)
    assert (posted["revenue:energy"], posted["vat_payable:21"]) == (0, 0)
