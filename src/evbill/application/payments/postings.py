"""Which ledger entry each money event of a payment or wallet posts.

    captured        Dr gateway_clearing:<gw>   Cr receivable:<customer>   (a top-up: Cr wallet:<id>)
    fee             Dr gateway_fees            Cr gateway_clearing:<gw>
    refunded        Dr refunds                 Cr gateway_clearing:<gw>   (a top-up: Dr wallet:<id>;
                                                                           an invoice's: Dr receivable)
    dispute lost    Dr chargeback_losses       Cr gateway_clearing:<gw>   (an invoice's: Dr receivable,
                                                                           the invoice is owed again)
    won after lost  Dr gateway_clearing:<gw>   Cr chargeback_losses       (an invoice's: Cr receivable)
    wallet spend    Dr wallet:<id>             Cr receivable:<customer>
    wallet refund   Dr refunds                 Cr wallet:<id>

Authorisations, releases and declines move no money and post nothing. Every entry's reference is
``payment:<id>`` or ``wallet:<id>``, which is what the reconciliation sums by.
"""

from __future__ import annotations

from evbill.domain.ledger import accounts
from evbill.domain.ledger.accounts import Account
from evbill.domain.ledger.entries import EntryCause, Posting, credit, debit
from evbill.domain.payments.events import EventKind, PaymentEvent
from evbill.domain.payments.model import Payment, PaymentPurpose

CLEARING_PREFIX = "gateway_clearing:"


def payment_reference(payment_id: str) -> str:
    return f"payment:{payment_id}"


def counterpart(payment: Payment) -> Account:
    """Whose money a capture settles: the wallet topped up, or the customer's receivable."""
    if payment.purpose is PaymentPurpose.WALLET_TOP_UP:
        return accounts.wallet(payment.subject)
    return accounts.receivable(payment.customer_id or payment.subject)


def _charged_back_to(payment: Payment) -> Account:
    """Who bears a chargeback: an invoice's customer owes the invoice again (it reopens, as after a
    refund); anything else (a session paid at the charger, a top-up) is the operator's loss."""
    if payment.purpose is PaymentPurpose.INVOICE:
        return counterpart(payment)
    return accounts.CHARGEBACK_LOSSES


def payment_postings(
    payment: Payment, event: PaymentEvent, *, reinstated: int = 0
) -> tuple[EntryCause, tuple[Posting, ...]] | None:
    """The event's entry; ``reinstated``: what a DISPUTE_WON gives back of an earlier chargeback."""
    clearing = accounts.gateway_clearing(payment.gateway)
    amount, currency = event.amount, payment.currency
    if event.kind is EventKind.DISPUTE_WON and reinstated > 0:
        return EntryCause.CHARGEBACK_REVERSED, (
            debit(clearing, reinstated, currency),
            credit(_charged_back_to(payment), reinstated, currency),
        )
    if amount == 0:
        return None
    if event.kind is EventKind.CAPTURED:
        return EntryCause.PAYMENT_CAPTURED, (
            debit(clearing, amount, currency),
            credit(counterpart(payment), amount, currency),
        )
    if event.kind is EventKind.FEE:
        return EntryCause.GATEWAY_FEE, (
            debit(accounts.GATEWAY_FEES, amount, currency),
            credit(clearing, amount, currency),
        )
    if event.kind is EventKind.REFUNDED:
        # a refunded top-up leaves the wallet; a refunded invoice payment is owed again (its invoice
        # reopens); a session's is an expense
        refunded_to = accounts.REFUNDS if payment.purpose is PaymentPurpose.SESSION else counterpart(payment)
        return EntryCause.PAYMENT_REFUNDED, (
            debit(refunded_to, amount, currency),
            credit(clearing, amount, currency),
        )
    if event.kind is EventKind.DISPUTE_LOST:
        return EntryCause.CHARGEBACK, (
            debit(_charged_back_to(payment), amount, currency),
            credit(clearing, amount, currency),
        )
    return None
