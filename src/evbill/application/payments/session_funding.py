"""How a finished session is paid, and how much a running one may cost.

At the end of a session (``settle_session``, called by the OCPP server after the stop):

* ad hoc (a hold on a card, ``adhoc.py``): capture the price, at most the hold, or release it;
* a contract paying by ``CARD_ON_FILE`` whose customer's card on file says ``charge_sessions``:
  charge the card the session's price (hold and capture, keys ``session:<id>:...``: once per session);
* a contract paying by ``PREPAID_WALLET``: pay the price from the customer's wallet (what is
  available above its minimum; the rest stays owed), then reload the wallet from the card on file
  when its balance fell below the wallet's reload threshold.

While a session runs, ``spending_limit`` is what it may cost at most: the hold of an ad hoc session,
or the wallet's available balance at the start of a wallet-paid one. The OCPP server stops the
session remotely before its running cost passes it (``domain.payments.adhoc.must_stop``).
"""

from __future__ import annotations

from collections.abc import Callable

from evbill.application.charging.review import billed_on
from evbill.application.payments.adhoc import PayAtCharger, driver, settle_adhoc
from evbill.application.payments.payments import authorise_payment, capture_payment
from evbill.application.payments.wallets import available, pay_from_wallet, top_up_wallet
from evbill.application.ports import CardOnFile, UnitOfWork, WalletReload
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import InvalidInput, NotFound, Problem
from evbill.domain.money import SettledMoney
from evbill.domain.offers.contracts import ContractTerms, PaymentMethodKind
from evbill.domain.payments.adhoc import AdhocStatus
from evbill.domain.payments.events import PaymentStatus
from evbill.domain.payments.model import PaymentPurpose, SessionStep, session_key


def _terms_at(uow: UnitOfWork, session: ChargingSession) -> ContractTerms | None:
    if session.contract_id is None:
        return None
    versions = uow.contract_terms.of_contract(session.operator_id, session.contract_id)
    started = [terms for terms in versions if terms.effective_from <= session.started_at]
    return max(started, key=lambda terms: terms.effective_from) if started else None


def _payer(uow: UnitOfWork, session: ChargingSession) -> str | None:
    if session.contract_id is None:
        return None
    contract = uow.contracts.get(session.operator_id, session.contract_id)
    return None if contract is None else contract.customer_id


def spending_limit(services: Services, session: ChargingSession) -> int | None:
    """The most the running session may cost (minor units), or None when nothing bounds it."""
    with services.uow(read_only=True) as uow:
        start = uow.session_payments.start_of_session(session.operator_id, session.id)
        if start is not None:
            return start.amount if start.status is AdhocStatus.CHARGING else None
        terms, payer = _terms_at(uow, session), _payer(uow, session)
        if terms is None or payer is None or terms.payment_method is not PaymentMethodKind.PREPAID_WALLET:
            return None
        wallet_id = uow.session_payments.wallet_of(session.operator_id, payer, session.currency)
        wallet = uow.wallets.get(session.operator_id, wallet_id) if wallet_id else None
        if wallet is None:
            return 0
        return available(wallet, uow.wallets.balance(session.operator_id, wallet.id))


def settle_session(pay: PayAtCharger, operator_id: str, session_id: str) -> str | None:
    """Pay the finished session the way it is paid; what was done, in words (None: nothing to do)."""
    svc = pay.services
    with svc.uow(read_only=True) as uow:
        session = uow.sessions.get(operator_id, session_id)
        if session is None or session.status is SessionStatus.ACTIVE:
            return None
        start = uow.session_payments.start_of_session(operator_id, session_id)
        terms, payer = _terms_at(uow, session), _payer(uow, session)
        card = uow.session_payments.card_on_file(operator_id, payer) if payer else None
        wallet_id = uow.session_payments.wallet_of(operator_id, payer, session.currency) if payer else None
    if start is not None:
        settled = settle_adhoc(pay, start, session).start
        return f"ad hoc: captured {settled.captured}" if settled.status is AdhocStatus.FINISHED else None
    price = session.total_incl_vat_minor or 0
    if terms is None or payer is None or price <= 0:
        return None
    method = terms.payment_method
    by_card = method is PaymentMethodKind.CARD_ON_FILE and card is not None and card.charge_sessions
    by_wallet = method is PaymentMethodKind.PREPAID_WALLET and wallet_id is not None
    if not (by_card or by_wallet):
        return None  # left to the contract's invoice
    # Only a session that would be paid by itself is looked up on its contract's bills (a read of
    # the contract's bills, kept off the stop of every other session)
    with svc.uow(read_only=True) as uow:
        billed = billed_on(uow, session)
    if billed is not None and not billed.receipt:
        return None  # on its contract's bill already: the invoice collects it (charged here, twice)
    if by_card:
        assert card is not None
        return _charge_card(pay, session, payer, card, price)
    assert wallet_id is not None
    return _pay_from_wallet(pay, session, wallet_id, card, price)


class SessionPayments:
    """The OCPP server's view of session money (``adapters.ocpp.station.SessionMoney``)."""

    def __init__(self, pay: Callable[[], PayAtCharger]) -> None:
        self._pay = pay  # built on first use: the payment side needs the OCPP endpoint for remote starts

    def spending_limit(self, session: ChargingSession) -> int | None:
        return spending_limit(self._pay().services, session)

    def settle(self, operator_id: str, session_id: str) -> None:
        settle_session(self._pay(), operator_id, session_id)


def _charge_card(
    pay: PayAtCharger, session: ChargingSession, payer: str, card: CardOnFile, price: int
) -> str:
    who = driver(session.operator_id)
    held = authorise_payment(
        pay.services,
        pay.gateway,
        who,
        customer_id=payer,
        purpose=PaymentPurpose.SESSION,
        subject=f"session:{session.id}",
        amount=SettledMoney(price, session.currency),
        payment_method=card.payment_method,
        idempotency_key=session_key(session.id, SessionStep.AUTHORISE),
    )
    if held.state.status is PaymentStatus.AUTHORISED:
        held = capture_payment(
            pay.services, pay.gateway, who, held.payment.id, amount=price,
            idempotency_key=session_key(session.id, SessionStep.CAPTURE),
        )  # fmt: skip
    if held.state.captured > 0:
        pay.paid(session.operator_id, session.id)
    return f"card on file: {held.state.status.value} {held.state.captured}"


def _pay_from_wallet(
    pay: PayAtCharger, session: ChargingSession, wallet_id: str, card: CardOnFile | None, price: int
) -> str:
    svc, who = pay.services, driver(session.operator_id)
    with svc.uow(read_only=True) as uow:
        wallet = uow.wallets.get(session.operator_id, wallet_id)
        balance = uow.wallets.balance(session.operator_id, wallet_id)
        reload = uow.session_payments.wallet_reload(session.operator_id, wallet_id)
    assert wallet is not None
    amount = min(price, available(wallet, balance))
    paid = 0
    if amount > 0:
        after = pay_from_wallet(
            svc, who, wallet_id, amount=amount, receivable=f"session:{session.id}",
            idempotency_key=session_key(session.id),
        )  # fmt: skip
        paid, balance = amount, after.balance
    pay.paid(session.operator_id, session.id)  # a retry that moves nothing finds the first spend
    text = f"wallet: paid {paid} of {price}"
    if reload is not None and card is not None and balance < reload.threshold:
        text += "; " + _reload(pay, who, reload, card, f"reload:{session.id}")
    return text


def _reload(pay: PayAtCharger, who: Actor, reload: WalletReload, card: CardOnFile, key: str) -> str:
    view, payment = top_up_wallet(
        pay.services, pay.gateway, who, reload.wallet_id, amount=reload.amount,
        payment_method=card.payment_method, idempotency_key=key,
    )  # fmt: skip
    return f"reloaded {reload.amount}: {payment.state.status.value}, balance {view.balance}"


def set_wallet_reload(
    svc: Services, who: Actor, wallet_id: str, *, threshold: int, amount: int
) -> WalletReload:
    """Reload the wallet by ``amount`` from its customer's card on file when it falls below ``threshold``."""
    require(who, Permission.BILL)
    problems = []
    if threshold < 0:
        problems.append(Problem("$.threshold", "must not be negative"))
    if amount <= 0:
        problems.append(Problem("$.amount", "must be positive"))
    if problems:
        raise InvalidInput("the reload rule is refused", tuple(problems))
    reload = WalletReload(wallet_id, threshold, amount)
    with svc.uow() as uow:
        if uow.wallets.get(who.operator_id, wallet_id) is None:
            raise NotFound(f"no wallet {wallet_id!r}")
        uow.session_payments.set_wallet_reload(who.operator_id, reload, svc.clock.now())
        uow.commit()
    return reload
