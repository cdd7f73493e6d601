"""Paying an invoice from the customer's prepaid wallet.

One transaction: the wallet's spend (``wallet:<id>`` debited, the customer's receivable credited) and
the invoice's payment are stored together, so the ledger and the invoice never disagree. At most the
invoice's open amount is taken, and at most what the wallet holds above its minimum balance (the
rest stays open). The idempotency key names the request: the same key again moves nothing.

    pay_invoice_from_wallet(services, actor, invoice_id, wallet_id=wallet, idempotency_key="k1")
    # invoice 12.09 open, wallet 50.00  ->  wallet 37.91, invoice PAID
"""

from __future__ import annotations

from evbill.application.payments.wallets import available, move_in
from evbill.application.receivables import pay_invoice
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.errors import Conflict, NotFound
from evbill.domain.invoicing.documents import Document
from evbill.domain.money import SettledMoney
from evbill.domain.payments.model import InsufficientBalance, WalletTransactionKind


def pay_invoice_from_wallet(
    services: Services, actor: Actor, invoice_id: str, *, wallet_id: str, idempotency_key: str
) -> Document:
    """Pay what is open on the invoice (or as much as the wallet has available) from the wallet."""
    require(actor, Permission.BILL)
    with services.uow() as uow:
        document = uow.invoices.get(actor.operator_id, invoice_id)
        if document is None:
            raise NotFound(f"invoice {invoice_id!r} not found")
        wallet = uow.wallets.get(actor.operator_id, wallet_id, lock=True)
        if wallet is None:
            raise NotFound(f"no wallet {wallet_id!r}")
        if wallet.customer_id != document.customer_id or wallet.currency != document.currency:
            raise Conflict("the wallet is not the invoice's customer's in the invoice's currency")
        if uow.wallets.find_transaction(actor.operator_id, idempotency_key) is not None:
            return document  # paid by this request before
        balance = uow.wallets.balance(actor.operator_id, wallet_id)
        amount = min(document.open_minor, available(wallet, balance))
        if document.open_minor <= 0:
            raise Conflict(f"nothing is open on invoice {document.number} ({document.status.value})")
        if amount <= 0:
            raise InsufficientBalance(
                "the wallet has nothing available above its minimum "
                f"(it holds {SettledMoney(balance, wallet.currency)})"
            )
        move_in(
            services, uow, actor, wallet_id, amount=amount, reference=f"invoice:{document.id}",
            key=idempotency_key, kind=WalletTransactionKind.SPEND,
        )  # fmt: skip
        paid = pay_invoice(services, uow, document, amount)
        uow.commit()
    return paid
