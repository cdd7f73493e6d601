"""Prepaid wallets: create, top up through the gateway, pay from, refund into, authorise against.

A wallet's balance is the sum of its append-only transactions, recomputed under a lock on the wallet
whenever money moves, so two spends at once can never take it below its minimum balance, and two
refunds of one spend at once never give back more than was spent. A customer has one wallet per
currency (which wallet pays is never ambiguous).

    top up 20.00 (card)       -> +2000  Dr gateway_clearing  Cr wallet   (through a captured payment)
    pay 7.50 for a session    -> -750   Dr wallet            Cr receivable:<customer>
    refund 2.00 of that spend -> +200   Dr refunds           Cr wallet   (at most the 7.50 spent)
    pay 12.09 of an invoice   -> -1209  Dr wallet            Cr receivable:<customer>  (invoice paid)
    refund 5.00 of that spend -> +500   Dr receivable:<cust> Cr wallet   (invoice open 5.00 again)

A refund into the wallet names the spend it gives back (capped by what that spend took and earlier
refunds of it did not give back). Money paid back OUT of the wallet to the customer is a refund of
its top-up payment (POST /refunds of the top-up): Dr wallet, Cr gateway_clearing, capped by the
balance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evbill.application.ledger.posting import post
from evbill.application.payments.payments import (
    INVOICE_PREFIX,
    SESSION_PREFIX,
    SESSION_SUBJECT,
    SPEND_PREFIX,
    PaymentView,
    authorise_payment,
    capture_payment,
    payable_invoice,
    session_payer,
)
from evbill.application.ports import PaymentGateway, UnitOfWork
from evbill.application.receivables import pay_invoice, reopen_invoice
from evbill.application.records import Services, require
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.errors import Conflict, InvalidInput, NotFound, Problem
from evbill.domain.ledger import accounts
from evbill.domain.ledger.entries import EntryCause, credit, debit
from evbill.domain.money import SettledMoney
from evbill.domain.payments.events import PaymentStatus
from evbill.domain.payments.model import (
    InsufficientBalance,
    PaymentPurpose,
    Wallet,
    WalletTransaction,
    WalletTransactionKind,
)


@dataclass(frozen=True, slots=True)
class WalletView:
    wallet: Wallet
    balance: int
    transactions: Sequence[WalletTransaction]


def wallet_reference(wallet_id: str) -> str:
    return f"wallet:{wallet_id}"


def create_wallet(
    svc: Services, who: Actor, *, customer_id: str, currency: str, minimum_balance: int = 0
) -> WalletView:
    require(who, Permission.MANAGE_CUSTOMERS)
    problems = []
    if not currencies.is_known(currency):
        problems.append(Problem("$.currency", f"{currency!r} is not an ISO 4217 code"))
    if minimum_balance < 0:
        problems.append(Problem("$.minimum_balance", "must not be negative"))
    if problems:
        raise InvalidInput("the wallet is invalid", tuple(problems))
    with svc.uow() as uow:
        if uow.customers.get(who.operator_id, customer_id) is None:
            raise InvalidInput("the wallet is invalid", (Problem("$.customer_id", "no such customer"),))
        if uow.wallets.find(who.operator_id, customer_id, currency) is not None:
            # the database's unique index decides between two creations at once (409 as well)
            raise Conflict(f"customer {customer_id!r} has a {currency} wallet already")
        wallet = Wallet(
            svc.ids.new_id(), who.operator_id, customer_id, currency, minimum_balance, svc.clock.now()
        )
        uow.wallets.add(wallet)
        uow.commit()
    return WalletView(wallet, 0, ())


def get_wallet(svc: Services, who: Actor, wallet_id: str) -> WalletView:
    require(who, Permission.READ)
    with svc.uow(read_only=True) as uow:
        return _view(uow, _wallet(uow, who, wallet_id))


def _wallet(uow: UnitOfWork, who: Actor, wallet_id: str, *, lock: bool = False) -> Wallet:
    wallet = uow.wallets.get(who.operator_id, wallet_id, lock=lock)
    if wallet is None:
        raise NotFound(f"no wallet {wallet_id!r}")
    return wallet


def _view(uow: UnitOfWork, wallet: Wallet) -> WalletView:
    transactions = uow.wallets.transactions(wallet.operator_id, wallet.id)
    return WalletView(wallet, sum(t.amount for t in transactions), transactions)


def top_up_wallet(
    svc: Services,
    gateway: PaymentGateway,
    who: Actor,
    wallet_id: str,
    *,
    amount: int,
    payment_method: str,
    idempotency_key: str,
) -> tuple[WalletView, PaymentView]:
    """Charge the payment method ``amount`` (authorise, then capture all of it) into the wallet."""
    with svc.uow(read_only=True) as uow:
        wallet = _wallet(uow, who, wallet_id)
    held = authorise_payment(
        svc,
        gateway,
        who,
        customer_id=wallet.customer_id,
        purpose=PaymentPurpose.WALLET_TOP_UP,
        subject=wallet.id,
        amount=SettledMoney(amount, wallet.currency),
        payment_method=payment_method,
        idempotency_key=f"{idempotency_key}:authorise",
    )
    payment = held
    if held.state.status is PaymentStatus.AUTHORISED:
        payment = capture_payment(
            svc, gateway, who, held.payment.id, amount=amount, idempotency_key=f"{idempotency_key}:capture"
        )
    return get_wallet(svc, who, wallet_id), payment


def available(wallet: Wallet, balance: int) -> int:
    """What may still be authorised or spent: the balance above the minimum."""
    return max(balance - wallet.minimum_balance, 0)


def authorise_from_wallet(svc: Services, who: Actor, wallet_id: str, *, amount: int) -> int:
    """Whether a session of up to ``amount`` may start on the wallet; the amount available, or refused."""
    require(who, Permission.READ)
    with svc.uow(read_only=True) as uow:
        wallet = _wallet(uow, who, wallet_id)
        balance = uow.wallets.balance(who.operator_id, wallet_id)
    _check_available(wallet, balance, amount)
    return available(wallet, balance)


def _check_available(wallet: Wallet, balance: int, amount: int) -> None:
    if amount <= 0:
        raise InvalidInput("bad amount", (Problem("$.amount", "must be positive"),))
    if balance - amount < wallet.minimum_balance:

        def shown(minor: int) -> SettledMoney:
            return SettledMoney(minor, wallet.currency)

        raise InsufficientBalance(
            f"the wallet holds {shown(balance)}; {shown(amount)} would leave less than its minimum "
            f"balance of {shown(wallet.minimum_balance)}"
        )


def pay_from_wallet(
    svc: Services, who: Actor, wallet_id: str, *, amount: int, receivable: str, idempotency_key: str
) -> WalletView:
    """Pay ``amount`` of what the wallet's customer owes (``receivable``: ``session:<id>`` or
    ``invoice:<id or number>``). A session is checked as a card payment of it is (this operator's, in
    the wallet's currency, and the wallet's customer's to pay: theirs or a driver's they pay for). An
    invoice is checked as a card payment of it is (this operator's,
    issued and still open, in the wallet's currency) and must be the wallet's customer's; at most its
    open amount is taken, and it is paid (``pay_invoice``) in the spend's transaction. Anything else
    named is refused (422 ``$.receivable``)."""
    require(who, Permission.BILL)
    if not receivable.startswith(INVOICE_PREFIX):
        if not receivable.startswith(SESSION_PREFIX) or not SESSION_SUBJECT.fullmatch(receivable):
            raise InvalidInput(
                "the payment is refused",
                (Problem(RECEIVABLE, 'a wallet pays "invoice:<id or number>" or "session:<session id>"'),),
            )
        with svc.uow() as uow:
            wallet = _wallet(uow, who, wallet_id, lock=True)
            if idempotency_key and uow.wallets.find_transaction(who.operator_id, idempotency_key) is not None:
                return _view(uow, wallet)  # the same request again: nothing moves twice
            # a session of this operator, in the wallet's currency, that the wallet's customer pays
            # for (theirs, or a driver's of their business or contract), as a card payment of it is;
            # checked with what its other payments and spends take, under the session's lock (two
            # spends at once, from one wallet or two, are checked one after the other)
            session_payer(
                uow, who.operator_id, receivable, wallet.customer_id, wallet.currency,
                amount=amount, key=idempotency_key, path=RECEIVABLE, currency_path=RECEIVABLE, lock=True,
            )  # fmt: skip
            move_in(
                svc, uow, who, wallet_id, amount=amount, reference=receivable, key=idempotency_key,
                kind=WalletTransactionKind.SPEND,
            )  # fmt: skip
            view = _view(uow, wallet)
            uow.commit()
        return view
    with svc.uow() as uow:
        wallet = _wallet(uow, who, wallet_id, lock=True)
        if idempotency_key and uow.wallets.find_transaction(who.operator_id, idempotency_key) is not None:
            return _view(uow, wallet)  # the same request again: nothing moves twice
        document = payable_invoice(
            uow,
            who.operator_id,
            receivable,
            wallet.currency,
            path=RECEIVABLE,
            currency_path=RECEIVABLE,
            lock=True,
        )
        if document.customer_id != wallet.customer_id:
            raise InvalidInput(
                "the payment is refused",
                (Problem(RECEIVABLE, f"invoice {document.number} is not this wallet's customer's"),),
            )
        if amount > document.open_minor:
            raise InvalidInput(
                "the payment is refused",
                (
                    Problem(
                        "$.amount",
                        f"{SettledMoney(amount, wallet.currency)} is more than the "
                        f"{SettledMoney(document.open_minor, wallet.currency)} open on invoice "
                        f"{document.number}",
                    ),
                ),
            )
        move_in(
            svc, uow, who, wallet_id, amount=amount, reference=f"{INVOICE_PREFIX}{document.id}",
            key=idempotency_key, kind=WalletTransactionKind.SPEND,
        )  # fmt: skip
        pay_invoice(svc, uow, document, amount)
        view = _view(uow, wallet)
        uow.commit()
    return view


RECEIVABLE = "$.receivable"


def refund_to_wallet(
    svc: Services,
    who: Actor,
    wallet_id: str,
    *,
    amount: int,
    spend_id: str,
    reason: str,
    idempotency_key: str,
) -> WalletView:
    """Give back into the wallet ``amount`` of an earlier spend from it (``spend_id``: the spend's
    transaction id): never more than the spend took less what refunds of it gave back already."""
    require(who, Permission.BILL)
    return _move(
        svc, who, wallet_id, amount, f"{SPEND_PREFIX}{spend_id}", idempotency_key,
        WalletTransactionKind.REFUND, reason=reason,
    )  # fmt: skip


def refundable(transactions: Sequence[WalletTransaction], spend_id: str) -> int | None:
    """What of the spend may still be refunded into the wallet; None when it is not a spend of it."""
    spend = next(
        (t for t in transactions if t.id == spend_id and t.kind is WalletTransactionKind.SPEND), None
    )
    if spend is None:
        return None
    given_back = sum(
        t.amount
        for t in transactions
        if t.kind is WalletTransactionKind.REFUND and t.reference == f"{SPEND_PREFIX}{spend_id}"
    )
    return -spend.amount - given_back


def _check_refund(
    wallet: Wallet, transactions: Sequence[WalletTransaction], reference: str, amount: int
) -> WalletTransaction:
    """The spend ``reference`` names, when ``amount`` of it may still be given back; refused if not."""
    if amount <= 0:
        raise InvalidInput("bad amount", (Problem("$.amount", "must be positive"),))
    spend_id = reference.removeprefix(SPEND_PREFIX)
    left = refundable(transactions, spend_id)
    if left is None:
        raise InvalidInput(
            "the refund is invalid", (Problem("$.spend_id", f"no spend {spend_id!r} from this wallet"),)
        )
    if amount > left:
        raise InvalidInput(
            "the refund is invalid",
            (
                Problem(
                    "$.amount",
                    f"{SettledMoney(amount, wallet.currency)} is more than the "
                    f"{SettledMoney(left, wallet.currency)} of that spend not refunded yet",
                ),
            ),
        )
    return next(t for t in transactions if t.id == spend_id)


def _move(
    svc: Services,
    who: Actor,
    wallet_id: str,
    amount: int,
    reference: str,
    key: str,
    kind: WalletTransactionKind,
    *,
    reason: str = "",
) -> WalletView:
    with svc.uow() as uow:
        move_in(
            svc, uow, who, wallet_id, amount=amount, reference=reference, key=key, kind=kind, reason=reason
        )
        view = _view(uow, _wallet(uow, who, wallet_id))
        uow.commit()
    return view


def move_in(
    svc: Services,
    uow: UnitOfWork,
    who: Actor,
    wallet_id: str,
    *,
    amount: int,
    reference: str,
    key: str,
    kind: WalletTransactionKind,
    reason: str = "",
) -> bool:
    """Spend from or refund into the wallet inside the caller's unit of work (which commits), with its
    ledger entry; False if ``key`` moved money before (nothing moves twice). A refund gives back an
    earlier spend (``reference``: ``spend:<id>``), at most what it took less its earlier refunds,
    checked under the wallet's lock (two refunds of one spend at once are checked one after the other)."""
    if not key:
        raise InvalidInput("an idempotency key is required", (Problem("header.Idempotency-Key", "required"),))
    wallet = _wallet(uow, who, wallet_id, lock=True)
    if uow.wallets.find_transaction(who.operator_id, key) is not None:
        return False  # the same request again: nothing moves twice
    spend = None
    if kind is WalletTransactionKind.SPEND:
        _check_available(wallet, uow.wallets.balance(who.operator_id, wallet_id), amount)
    else:
        spend = _check_refund(wallet, uow.wallets.transactions(who.operator_id, wallet_id), reference, amount)
    now = svc.clock.now()
    signed = -amount if kind is WalletTransactionKind.SPEND else amount
    uow.wallets.add_transaction(
        WalletTransaction(svc.ids.new_id(), who.operator_id, wallet.id, kind, signed, reference, key, now)
    )
    account = accounts.wallet(wallet.id)
    if kind is WalletTransactionKind.SPEND:
        cause = EntryCause.WALLET_SPENT
        postings = (
            debit(account, amount, wallet.currency),
            credit(accounts.receivable(wallet.customer_id), amount, wallet.currency),
        )
    else:
        # a refund of an invoice's payment: the customer owes it again (as a card refund of one)
        paid_invoice = spend is not None and spend.reference.startswith(INVOICE_PREFIX)
        cause = EntryCause.WALLET_REFUNDED
        postings = (
            debit(accounts.receivable(wallet.customer_id) if paid_invoice else accounts.REFUNDS, amount,
                  wallet.currency),
            credit(account, amount, wallet.currency),
        )  # fmt: skip
    post(
        uow,
        svc.ids,
        operator_id=who.operator_id,
        at=now,
        cause=cause,
        reference=wallet_reference(wallet.id),
        description=f"{kind.value} {reference} {reason}".strip()[:200],
        postings=postings,
    )
    if spend is not None and spend.reference.startswith(INVOICE_PREFIX):
        _reopen_paid_invoice(svc, uow, who, spend.reference.removeprefix(INVOICE_PREFIX), amount)
    return True


def _reopen_paid_invoice(svc: Services, uow: UnitOfWork, who: Actor, invoice_id: str, amount: int) -> None:
    """What a refund of a wallet spend on an invoice gives back is open on the invoice again (its
    status by its due date: ``reopen_invoice``, as for a card refund), in the refund's transaction."""
    document = uow.invoices.get(who.operator_id, invoice_id, lock=True)
    if document is not None:
        reopen_invoice(svc, uow, document, amount)
