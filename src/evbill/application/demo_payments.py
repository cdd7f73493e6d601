"""The demo's invoices getting paid, each a different way, through the sandbox gateway.

After the demo's billing run has issued last month's invoices (and charged the cards on file at
issue: ``collection.at_issue``), ``pay_demo_invoices`` does what customers and the bank would do,
through the same use cases an operator's would:

* Amsterdam: the wallet customer's invoice is paid from their prepaid wallet (topped up by card);
  the office's by bank transfer: a camt.053 statement, imported by ``evbill payments
  import-statement``'s own code, matched by the invoice's RF creditor reference; the late payer's
  invoice of the month before is left open past its due date, and the collection run
  (``evbill payments collect``) marks it overdue and records a reminder.
* Bay Area: the fleet's invoice, charged to its card at issue, is partly refunded (5.00): the
  invoice is open again by that much (partially paid), its receivable debited again.

``DemoInvoice`` says which invoice is which (``evbill serve --demo`` prints them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evbill.application.collection.dunning import run_collection
from evbill.application.collection.ports import StatementReader
from evbill.application.collection.statements import import_statement
from evbill.application.collection.wallet_invoices import pay_invoice_from_wallet
from evbill.application.payments.payments import refund_payment
from evbill.application.payments.wallets import create_wallet, top_up_wallet
from evbill.application.ports import Mailer, PaymentGateway
from evbill.application.records import Services
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor
from evbill.domain.collection.statements import StatementFormat
from evbill.domain.invoicing.documents import Document

DEMO_CARD = "tok_visa"  # the sandbox's test token that is authorised (a token, never a card number)
WALLET_TOP_UP = 5000  # 50.00 by card into the wallet customer's wallet
GOODWILL_REFUND = 500  # 5.00 of the Bay Area fleet's card payment refunded (reopens the invoice)
CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


@dataclass(frozen=True, slots=True)
class DemoPayments:
    """What paying needs from outside: the (sandbox) gateway, a mailer for reminders, a statement reader."""

    gateway: PaymentGateway
    mailer: Mailer
    statements: StatementReader


@dataclass(frozen=True, slots=True)
class DemoInvoice:
    """One demo invoice and how it was (or was not) paid, in words."""

    invoice_id: str
    number: str
    customer: str
    how: str  # card, wallet, bank transfer, overdue, refunded, open


@dataclass(frozen=True, slots=True)
class Payers:
    """The demo customers' documents, by the role they play (None: that operator has no such one)."""

    card: Sequence[Document] = ()  # charged to the card on file at issue
    wallet: Document | None = None
    transfer: Document | None = None
    overdue: Document | None = None
    refunded: Document | None = None


def shown(minor: int, currency: str) -> str:
    places = currencies.exponent(currency)
    digits = str(abs(minor)).rjust(places + 1, "0")
    return ("-" if minor < 0 else "") + (f"{digits[:-places]}.{digits[-places:]}" if places else digits)


def pay_demo_invoices(
    services: Services, pay: DemoPayments, admin: Actor, payers: Payers
) -> list[DemoInvoice]:
    """Pay the demo's invoices their ways; which is which."""
    said = [_card(services, admin, document) for document in payers.card]
    if payers.wallet is not None:
        said.append(_wallet(services, pay, admin, payers.wallet))
    if payers.transfer is not None:
        said.append(_transfer(services, pay, admin, payers.transfer))
    if payers.refunded is not None:
        said.append(_refund(services, pay, admin, payers.refunded))
    if payers.overdue is not None:
        run_collection(services, pay.gateway, pay.mailer, operator_ids=[admin.operator_id])
        said.append(_overdue(services, admin, payers.overdue))
    return said


def _current(services: Services, admin: Actor, document: Document) -> Document:
    with services.uow(read_only=True) as uow:
        found = uow.invoices.get(admin.operator_id, document.id)
    assert found is not None
    return found


def _card(services: Services, admin: Actor, document: Document) -> DemoInvoice:
    now = _current(services, admin, document)
    total = shown(now.composed.totals.incl_vat_minor, now.currency)
    state = "paid" if now.open_minor == 0 else f"{now.status.value}: the card was declined"
    return DemoInvoice(now.id, now.number or "", now.buyer.name,
                       f"card on file, charged at issue: {total} {now.currency} {state}")  # fmt: skip


def _wallet(services: Services, pay: DemoPayments, admin: Actor, document: Document) -> DemoInvoice:
    assert document.customer_id is not None
    wallet = create_wallet(services, admin, customer_id=document.customer_id, currency=document.currency)
    top_up_wallet(
        services, pay.gateway, admin, wallet.wallet.id, amount=WALLET_TOP_UP, payment_method=DEMO_CARD,
        idempotency_key=f"demo:top-up:{wallet.wallet.id}",
    )  # fmt: skip
    paid = pay_invoice_from_wallet(
        services, admin, document.id, wallet_id=wallet.wallet.id, idempotency_key=f"demo:pay:{document.id}"
    )
    total = shown(paid.paid_minor, paid.currency)
    return DemoInvoice(paid.id, paid.number or "", paid.buyer.name,
                       f"prepaid wallet: {total} {paid.currency} paid from wallet {wallet.wallet.id} "
                       f"(topped up {shown(WALLET_TOP_UP, paid.currency)} by card)")  # fmt: skip


def _transfer(services: Services, pay: DemoPayments, admin: Actor, document: Document) -> DemoInvoice:
    amount = shown(document.open_minor, document.currency)
    statement = camt053(
        iban=document.seller.iban or "", day=services.clock.now().date().isoformat(),
        entry_key=f"DEMO-{document.number}", amount=amount, currency=document.currency,
        payer=document.buyer.name, reference=document.payment_reference or "",
    )  # fmt: skip
    report = import_statement(services, pay.statements, admin, statement, StatementFormat.CAMT053)
    outcome = report.lines[0].outcome.value
    return DemoInvoice(document.id, document.number or "", document.buyer.name,
                       f"bank transfer: {amount} {document.currency} by a camt.053 statement, {outcome} by "
                       f"its reference {document.payment_reference}")  # fmt: skip


def _refund(services: Services, pay: DemoPayments, admin: Actor, document: Document) -> DemoInvoice:
    with services.uow(read_only=True) as uow:
        attempts = uow.collection.attempts(admin.operator_id, document.id)
    charged = next((a for a in attempts if a.succeeded and a.payment_id), None)
    if charged is None or charged.payment_id is None:
        return DemoInvoice(document.id, document.number or "", document.buyer.name, "open: not charged")
    view = refund_payment(
        services, pay.gateway, admin, charged.payment_id, amount=GOODWILL_REFUND,
        idempotency_key=f"demo:refund:{document.id}",
    )  # fmt: skip
    currency = view.payment.currency
    return DemoInvoice(document.id, document.number or "", document.buyer.name,
                       f"refunded: {shown(view.state.refunded, currency)} of the "
                       f"{shown(view.state.captured, currency)} {currency} charged to the card, "
                       f"open again on the invoice (payment {view.payment.id})")  # fmt: skip


def _overdue(services: Services, admin: Actor, document: Document) -> DemoInvoice:
    now = _current(services, admin, document)
    with services.uow(read_only=True) as uow:
        reminders = len(uow.collection.reminders(admin.operator_id, now.id))
    return DemoInvoice(now.id, now.number or "", now.buyer.name,
                       f"{now.status.value}: {shown(now.open_minor, now.currency)} {now.currency} open since "
                       f"{now.due_date}, {reminders} reminder(s) sent")  # fmt: skip


def camt053(
    *, iban: str, day: str, entry_key: str, amount: str, currency: str, payer: str, reference: str
) -> bytes:
    """A one-entry bank statement (camt.053.001.08) as the operator's bank sends it: a credit of
    ``amount`` from ``payer`` quoting the structured creditor ``reference``."""
    entry = (
        f"<Ntry><Amt Ccy='{currency}'>{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>{entry_key}</AcctSvcrRef>"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        f"<RltdPties><Dbtr><Pty><Nm>{payer}</Nm></Pty></Dbtr></RltdPties>"
        f"<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp>"
        f"<Ref>{reference}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>"
    )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><Document xmlns='{CAMT053}'><BkToCstmrStmt>"
        f"<GrpHdr><MsgId>DEMO-{day}</MsgId><CreDtTm>{day}T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>DEMO-{day}</Id><Acct><Id><IBAN>{iban}</IBAN></Id></Acct>{entry}</Stmt>"
        f"</BkToCstmrStmt></Document>"
    ).encode()
