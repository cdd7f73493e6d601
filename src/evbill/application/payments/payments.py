"""Gateway payments: authorise, confirm (3-D Secure), capture, release, refund, and gateway events.

Each use case locks the payment, derives its state from its stored events, checks the rule (capture
never above the authorisation, refunds never above the capture), calls the gateway with an
idempotency key, stores the events the gateway reports (once per gateway event id) and posts each
money event's ledger entry. A capture does so in steps, holding no transaction over the network
call: the move is noted in flight and committed, the gateway called, then its answer stored and the
move cleared (``_move_in_steps``); the others in one transaction (``_move``). So:

* two captures of one authorisation run one after the other: the second finds the payment captured
  (or its capture in flight) and is refused, without calling the gateway;
* a request repeated with its idempotency key returns the payment as it is, moving nothing again;
* a crash between the gateway call and the commit loses nothing: the retry (same key) gets the same
  reply from the gateway and stores it then;
* a webhook for an event already stored (the reply's twin) changes nothing.

The gateway is called with ``<operator id>:<key>``, so two operators' keys never meet at the gateway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from evbill.application.charging.review import billed_on
from evbill.application.ledger.posting import post
from evbill.application.payments.postings import payment_postings, payment_reference
from evbill.application.ports import GatewayEvent, GatewayResult, PaymentGateway, UnitOfWork
from evbill.application.receivables import pay_invoice, reopen_invoice
from evbill.application.records import Services, require
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import Conflict, DomainError, InvalidInput, NotFound, Problem
from evbill.domain.invoicing import documents as invoice_lifecycle
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus
from evbill.domain.money import SettledMoney
from evbill.domain.payments.events import (
    EventKind,
    PaymentEvent,
    PaymentRefused,
    PaymentState,
    check_capture,
    check_refund,
    check_release,
    derive_state,
    still_taken,
)
from evbill.domain.payments.model import (
    InFlight,
    Payment,
    PaymentPurpose,
    SessionStep,
    WalletTransaction,
    WalletTransactionKind,
    looks_like_card_number,
    session_key,
)

MAX_KEY = 150


@dataclass(frozen=True, slots=True)
class PaymentView:
    payment: Payment
    state: PaymentState
    events: Sequence[PaymentEvent]
    next_action_url: str | None = None


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY:
        raise InvalidInput(
            "an idempotency key is required",
            (Problem("header.Idempotency-Key", f"1 to {MAX_KEY} characters, unique per request"),),
        )


def _view(uow: UnitOfWork, payment: Payment, next_action_url: str | None = None) -> PaymentView:
    events = uow.payments.events(payment.operator_id, payment.id)
    return PaymentView(payment, derive_state(events), events, next_action_url)


def _replayed(uow: UnitOfWork, who: Actor, key: str, payment_id: str | None) -> PaymentView | None:
    """The payment an earlier request with this key acted on (a key names one request, one payment)."""
    earlier = uow.payments.find_by_idempotency_key(who.operator_id, key)
    if earlier is None:
        return None
    if payment_id is not None and earlier != payment_id:
        raise Conflict(f"idempotency key {key!r} was used for another payment")
    payment = uow.payments.get(who.operator_id, earlier)
    assert payment is not None
    return _view(uow, payment)


def apply_gateway_events(
    svc: Services, uow: UnitOfWork, payment: Payment, events: Iterable[GatewayEvent], key: str | None
) -> int:
    """Store the events not stored yet and post each one's ledger entry; returns how many were new."""
    now = svc.clock.now()
    stored = 0
    for gateway_event in events:
        event = PaymentEvent(
            gateway_event.event_id,
            gateway_event.kind,
            gateway_event.amount,
            gateway_event.occurred_at,
            gateway_event.detail,
        )
        disputed = event.kind in (EventKind.DISPUTE_LOST, EventKind.DISPUTE_WON)
        before = derive_state(uow.payments.events(payment.operator_id, payment.id)) if disputed else None
        if not uow.payments.record_event(payment, event, idempotency_key=key, recorded_at=now):
            continue
        stored += 1
        key = None  # the key marks the request's first stored event
        reinstated = 0
        if before is not None:
            after = derive_state(uow.payments.events(payment.operator_id, payment.id))
            reinstated = max(before.charged_back - after.charged_back, 0)
        _post_money_event(svc, uow, payment, event, reinstated=reinstated)
        if payment.purpose is PaymentPurpose.INVOICE and event.kind is EventKind.CAPTURED:
            _pay_invoice(svc, uow, payment, event.amount)
        elif payment.purpose is PaymentPurpose.INVOICE and event.kind is EventKind.REFUNDED:
            _reopen_invoice(svc, uow, payment, event.amount)
        elif payment.purpose is PaymentPurpose.INVOICE and before is not None:
            _follow_chargeback(svc, uow, payment, before)
    return stored


def _invoice_of(uow: UnitOfWork, payment: Payment) -> Document | None:
    invoice_id = payment.subject.removeprefix(INVOICE_PREFIX)
    return uow.invoices.get(payment.operator_id, invoice_id, lock=True)


def _pay_invoice(svc: Services, uow: UnitOfWork, payment: Payment, captured: int) -> None:
    """Record a capture on the invoice it pays, in the capture's transaction: at most what is still
    open (the capture credited the customer's receivable in full; any excess stays there as credit,
    as a bank transfer's excess does). An invoice voided or paid meanwhile takes nothing. A customer
    suspended for being overdue is reinstated when nothing else of theirs is that overdue."""
    document = _invoice_of(uow, payment)
    applied = 0 if document is None else max(min(captured, document.open_minor), 0)
    uow.payments.set_invoice_applied(payment.operator_id, payment.id, applied)
    if document is not None and applied > 0:
        pay_invoice(svc, uow, document, applied)


def _reopen_invoice(svc: Services, uow: UnitOfWork, payment: Payment, refunded: int) -> None:
    """A refund of an invoice payment, in its transaction: it takes from the capture's excess (credit
    left on the receivable) first, then from what the capture paid of the invoice, which is open
    again by that much (its status by its due date). The ledger entry debits the receivable."""
    state = derive_state(uow.payments.events(payment.operator_id, payment.id))
    returned = state.refunded + state.charged_back
    _follow_returned(svc, uow, payment, returned - refunded, returned)


def _follow_chargeback(svc: Services, uow: UnitOfWork, payment: Payment, before: PaymentState) -> None:
    """A dispute of an invoice payment closed, in its transaction: lost, the money went back to the
    cardholder and the invoice is open again by it, as after a refund (overdue past its due date,
    the overdue policy applies again; the entry debits the receivable); won after it was lost, the
    money is back and pays the invoice again."""
    after = derive_state(uow.payments.events(payment.operator_id, payment.id))
    _follow_returned(
        svc, uow, payment, before.refunded + before.charged_back, after.refunded + after.charged_back
    )


def _follow_returned(svc: Services, uow: UnitOfWork, payment: Payment, before: int, after: int) -> None:
    """What went back to the cardholder (refunds and chargebacks) moved from ``before`` to ``after``:
    it takes from the capture's excess (credit left on the receivable) first, then from what the
    capture paid of the invoice, which is open again by that much; less of it pays the invoice again
    (at most what is open: the rest is credit on the receivable, as a capture's excess is)."""
    document = _invoice_of(uow, payment)
    if document is None or before == after:
        return
    state = derive_state(uow.payments.events(payment.operator_id, payment.id))
    # read again: its capture may have been applied in this very batch of events
    current = uow.payments.get(payment.operator_id, payment.id) or payment
    applied = state.captured if current.invoice_applied is None else current.invoice_applied
    excess = state.captured - applied

    def reopened(returned: int) -> int:
        return min(applied, max(returned - excess, 0))

    taken_back = reopened(after) - reopened(before)
    if taken_back > 0:
        reopen_invoice(svc, uow, document, taken_back)
    elif taken_back < 0 and document.status in (*invoice_lifecycle.UNPAID, DocumentStatus.PARTIALLY_PAID):
        again = min(-taken_back, document.open_minor)
        if again > 0:
            pay_invoice(svc, uow, document, again)


def _post_money_event(
    svc: Services, uow: UnitOfWork, payment: Payment, event: PaymentEvent, *, reinstated: int = 0
) -> None:
    found = payment_postings(payment, event, reinstated=reinstated)
    if found is None:
        return
    cause, postings = found
    post(
        uow,
        svc.ids,
        operator_id=payment.operator_id,
        at=event.occurred_at,
        cause=cause,
        reference=payment_reference(payment.id),
        description=f"{event.kind.value} {payment.gateway} {payment.gateway_reference}",
        postings=postings,
    )
    if payment.purpose is PaymentPurpose.WALLET_TOP_UP and event.kind in (
        EventKind.CAPTURED,
        EventKind.REFUNDED,
    ):
        captured = event.kind is EventKind.CAPTURED
        uow.wallets.add_transaction(
            WalletTransaction(
                id=svc.ids.new_id(),
                operator_id=payment.operator_id,
                wallet_id=payment.subject,
                kind=WalletTransactionKind.TOP_UP if captured else WalletTransactionKind.TOP_UP_REFUNDED,
                amount=event.amount if captured else -event.amount,
                reference=payment_reference(payment.id),
                idempotency_key=f"{payment.gateway}:{event.event_id}",
                created_at=event.occurred_at,
            )
        )


def authorise_payment(
    svc: Services,
    gateway: PaymentGateway,
    who: Actor,
    *,
    customer_id: str | None,
    purpose: PaymentPurpose,
    subject: str,
    amount: SettledMoney,
    payment_method: str,
    idempotency_key: str,
) -> PaymentView:
    """Place a hold of ``amount`` (declined and 3-D Secure outcomes are recorded and returned too)."""
    require(who, Permission.BILL)
    _check_key(idempotency_key)
    _check_request(amount, payment_method)
    with svc.uow() as uow:
        replay = _replayed(uow, who, idempotency_key, None)
        if replay is not None:
            return replay
        if customer_id is not None and uow.customers.get(who.operator_id, customer_id) is None:
            raise InvalidInput("the payment is refused", (Problem("$.customer_id", "no such customer"),))
        if purpose is PaymentPurpose.INVOICE:
            invoice = payable_invoice(uow, who.operator_id, subject, amount.currency)
            if customer_id is not None and customer_id != invoice.customer_id:
                raise InvalidInput(
                    "the payment is refused", (Problem("$.customer_id", "not the invoice's customer"),)
                )
            customer_id, subject = invoice.customer_id, f"{INVOICE_PREFIX}{invoice.id}"
        elif purpose is PaymentPurpose.SESSION:
            customer_id = session_payer(
                uow, who.operator_id, subject, customer_id, amount.currency,
                amount=amount.minor_units, key=idempotency_key, lock=True,
            )  # fmt: skip
        else:
            check_wallet_subject(uow, who.operator_id, subject, customer_id, amount.currency)
        result = gateway.authorise(
            amount=amount,
            payment_method=payment_method,
            idempotency_key=f"{who.operator_id}:{idempotency_key}",
            description=f"{purpose.value} {subject}",
        )
        payment = uow.payments.find_by_reference(gateway.name, result.reference)
        if payment is None:
            payment = Payment(
                id=svc.ids.new_id(),
                operator_id=who.operator_id,
                customer_id=customer_id,
                purpose=purpose,
                subject=subject,
                gateway=gateway.name,
                gateway_reference=result.reference,
                currency=amount.currency,
                amount=amount.minor_units,
                created_at=svc.clock.now(),
            )
            uow.payments.add(payment)
        apply_gateway_events(svc, uow, payment, result.events, idempotency_key)
        view = _view(uow, payment, result.next_action_url)
        uow.commit()
    return view


INVOICE_PREFIX = "invoice:"
SESSION_SUBJECT = re.compile(r"(session|adhoc):[A-Za-z0-9][A-Za-z0-9._-]{0,35}")
PAYABLE = (*invoice_lifecycle.UNPAID, DocumentStatus.PARTIALLY_PAID)


def payable_invoice(
    uow: UnitOfWork,
    operator_id: str,
    subject: str,
    currency: str,
    *,
    path: str = "$.subject",
    currency_path: str = "$.currency",
    lock: bool = False,
) -> Document:
    """The issued invoice ``invoice:<id or number>`` names, still open, in ``currency``: a payment of
    it credits its customer's receivable (the account the invoice debited). Another operator's
    invoice is not found, like one that does not exist. ``path`` names the request's field in the
    refusal (a wallet payment names its ``$.receivable``); ``lock`` reads it under a row lock."""
    if not subject.startswith(INVOICE_PREFIX) or len(subject) == len(INVOICE_PREFIX):
        raise InvalidInput(
            "the payment is refused", (Problem(path, 'name the invoice: "invoice:<id or number>"'),)
        )
    named = subject.removeprefix(INVOICE_PREFIX)
    document = uow.invoices.get(operator_id, named, lock=lock)
    if document is None:
        found = uow.invoices.list(operator_id, filters={"number": named}, after=None, limit=2)
        document = found[0] if len(found) == 1 else None
        if document is not None and lock:
            document = uow.invoices.get(operator_id, document.id, lock=True)
    if document is None or document.kind is not DocumentKind.INVOICE:
        raise InvalidInput("the payment is refused", (Problem(path, f"no invoice {named!r}"),))
    if document.status not in PAYABLE or document.customer_id is None:
        raise InvalidInput(
            "the payment is refused",
            (Problem(path, f"invoice {document.number or named} is {document.status.value}"),),
        )
    if document.open_minor <= 0:
        raise InvalidInput("the payment is refused", (Problem(path, f"invoice {document.number} is paid"),))
    if document.currency != currency:
        raise InvalidInput(
            "the payment is refused",
            (Problem(currency_path, f"invoice {document.number} is in {document.currency}"),),
        )
    return document


def check_session_subject(subject: str, *, path: str = "$.subject") -> None:
    """A session payment's subject is ``session:<id>`` (or ``adhoc:<start id>`` at the charger): it
    may name the receivable account when no customer is given, so it is never free text."""
    if not SESSION_SUBJECT.fullmatch(subject):
        raise InvalidInput(
            "the payment is refused",
            (Problem(path, 'a session payment names "session:<session id>" (letters, digits, ._-)'),),
        )


SESSION_PREFIX, ADHOC_PREFIX = "session:", "adhoc:"


def session_payer(
    uow: UnitOfWork,
    operator_id: str,
    subject: str,
    customer_id: str | None,
    currency: str,
    *,
    amount: int,
    key: str,
    path: str = "$.subject",
    currency_path: str = "$.currency",
    amount_path: str = "$.amount",
    lock: bool = False,
) -> str | None:
    """The customer a session payment credits, once its subject is checked: ``session:<id>`` names a
    session of this operator, in the payment's currency, and (where the session has a customer) the
    payment is that customer's or their payer's (a fleet driver's business, the contract's customer);
    no customer given means the session's payer. ``adhoc:<id>`` names an ad hoc start of this operator
    still waiting for its hold (only the pay-at-the-charger flow places it). A session of another
    operator is refused with the very words of one that does not exist. ``path`` and
    ``currency_path`` name the request's fields in a refusal (a wallet payment names its
    ``$.receivable`` for both).

    What is paid for a session by itself is at most its price, and only once it is no longer
    charging; with what its other payments still take (``session_taken``) too, at most its price.
    ``lock`` holds the session's row until commit (a payment about to be placed), so two payments of
    one session at once are checked one after the other and the second sees the first.

    A session of a contract is billed on the contract's invoice unless it is paid by itself under
    its own key (``session_key``: the card-on-file and wallet flows, which the invoice
    and the receipt recognise and leave out of the invoice); paid under any other key, or once a bill
    lists it, it would be on the invoice as well and paid twice, so that is refused: pay the invoice."""
    check_session_subject(subject, path=path)
    if subject.startswith(ADHOC_PREFIX):
        start_id = subject.removeprefix(ADHOC_PREFIX)
        start = uow.session_payments.get_start(operator_id, start_id)
        if start is None or start.payment_id is not None or customer_id is not None:
            raise InvalidInput(
                "the payment is refused", (Problem(path, f"no ad hoc start {start_id!r} to hold for"),)
            )
        return None
    session_id = subject.removeprefix(SESSION_PREFIX)
    session = uow.sessions.get(operator_id, session_id, lock=lock)
    if session is None:
        raise InvalidInput("the payment is refused", (Problem(path, f"no session {session_id!r}"),))
    if session.currency != currency:
        raise InvalidInput(
            "the payment is refused",
            (Problem(currency_path, f"session {session_id!r} is in {session.currency}"),),
        )
    if session.status is SessionStatus.ACTIVE:
        raise InvalidInput(
            "the payment is refused", (Problem(path, f"session {session_id!r} is still charging"),)
        )
    price = session.total_incl_vat_minor or 0
    if amount > price:
        raise InvalidInput(
            "the payment is refused",
            (
                Problem(
                    amount_path,
                    f"{SettledMoney(amount, currency)} is more than the price of session {session_id!r}, "
                    f"{SettledMoney(price, currency)}",
                ),
            ),
        )
    own_key = key in (session_key(session_id), session_key(session_id, SessionStep.AUTHORISE))
    if session.contract_id is not None and not own_key:
        raise InvalidInput(
            "the payment is refused",
            (Problem(path, f"session {session_id!r} is billed on its contract's invoice: pay the invoice"),),
        )
    # on a bill, or on a receipt another payment made: paid by itself again, it would be paid twice
    # (its own flow, retried under its own key after its receipt was issued, replays what it took)
    billed = billed_on(uow, session)
    if billed is not None and not (own_key and billed.receipt):
        raise InvalidInput(
            "the payment is refused",
            (Problem(path, f"session {session_id!r} is billed on {billed.document}: pay that instead"),),
        )
    taken = session_taken(uow, operator_id, session_id)
    if taken + amount > price:

        def shown(minor: int) -> SettledMoney:
            return SettledMoney(minor, currency)

        raise InvalidInput(
            "the payment is refused",
            (
                Problem(
                    amount_path,
                    f"{shown(amount)} is more than is left to pay of session {session_id!r}: "
                    f"{shown(taken)} of its price of {shown(price)} is paid or held already, "
                    f"{shown(max(price - taken, 0))} is left",
                ),
            ),
        )
    if session.customer_id is None:
        return customer_id
    payers = _payers_of(uow, operator_id, session)
    if customer_id is None:
        return payers[-1]
    if customer_id not in payers:
        raise InvalidInput(
            "the payment is refused",
            (Problem(path, f"session {session_id!r} is not customer {customer_id!r}'s"),),
        )
    return customer_id


SPEND_PREFIX = "spend:"  # a wallet refund's reference: the spend it gives back


def session_taken(uow: UnitOfWork, operator_id: str, session_id: str) -> int:
    """What the session's payments still take of its price (minor units): each card payment of
    ``session:<id>`` and the hold of its ad hoc start, captured or still authorised (or still to be
    decided), less what went back of it (``still_taken``: a declined or released payment takes
    nothing, a refund frees what it gave back); and each wallet spend of ``session:<id>``, less the
    refunds into the wallet of that spend (``spend:<id>``)."""
    subject = f"{SESSION_PREFIX}{session_id}"
    payments = list(uow.payments.of_subject(operator_id, PaymentPurpose.SESSION, subject))
    start = uow.session_payments.start_of_session(operator_id, session_id)
    if start is not None and start.payment_id is not None:
        payments.extend(uow.payments.with_events(operator_id, [start.payment_id]).values())
    by_card = sum(still_taken(derive_state(events), payment.amount) for payment, events in payments)
    spends = [
        spend
        for spend in uow.wallets.transactions_of(operator_id, [subject])
        if spend.kind is WalletTransactionKind.SPEND
    ]
    given_back = [
        refund
        for refund in uow.wallets.transactions_of(
            operator_id, [f"{SPEND_PREFIX}{spend.id}" for spend in spends]
        )
        if refund.kind is WalletTransactionKind.REFUND
    ]
    # a spend is negative (out of the wallet), its refunds positive (back in)
    from_wallets = -sum(spend.amount for spend in spends) - sum(refund.amount for refund in given_back)
    return by_card + from_wallets


def _payers_of(uow: UnitOfWork, operator_id: str, session: ChargingSession) -> list[str]:
    """Who may pay for a session: its customer, their business account, its contract's customer
    (the last one named is who pays when the payment names nobody)."""
    assert session.customer_id is not None
    payers = [session.customer_id]
    customer = uow.customers.get(operator_id, session.customer_id)
    if customer is not None and customer.parent_id is not None:
        payers.append(customer.parent_id)
    contract = uow.contracts.get(operator_id, session.contract_id) if session.contract_id else None
    if contract is not None:
        payers.append(contract.customer_id)
    return payers


def check_wallet_subject(
    uow: UnitOfWork, operator_id: str, subject: str, customer_id: str | None, currency: str
) -> None:
    """A top-up's subject is a wallet of this operator, of the payment's customer, in its currency."""
    wallet = uow.wallets.get(operator_id, subject)
    if wallet is None or wallet.customer_id != customer_id:
        raise InvalidInput("the payment is refused", (Problem("$.subject", f"no wallet {subject!r}"),))
    if wallet.currency != currency:
        raise InvalidInput(
            "the payment is refused", (Problem("$.currency", f"wallet {subject!r} is in {wallet.currency}"),)
        )


def _check_request(amount: SettledMoney, payment_method: str) -> None:
    problems = []
    if looks_like_card_number(payment_method):
        # never echo it: the message names the field, not the value
        problems.append(Problem("$.payment_method", "a card number is never accepted; send a gateway token"))
    if amount.minor_units <= 0:
        problems.append(Problem("$.amount", "must be positive"))
    if problems:
        raise InvalidInput("the payment is refused", tuple(problems))


def _locked(uow: UnitOfWork, who: Actor, payment_id: str) -> Payment:
    payment = uow.payments.get(who.operator_id, payment_id, lock=True)
    if payment is None:
        raise NotFound(f"no payment {payment_id!r}")
    return payment


STALE_IN_FLIGHT = timedelta(minutes=15)  # by then the gateway's webhooks have told what happened


Decide = Callable[[UnitOfWork, Payment, PaymentState], Callable[[str], GatewayResult]]


def _move(svc: Services, who: Actor, payment_id: str, key: str, decide: Decide) -> PaymentView:
    """Lock, replay or check, call the gateway, store and post, commit: one transaction, held over
    the gateway call (a confirm, a release, a refund: a refund of a top-up keeps the wallet locked
    until it is posted, so the money refunded cannot be spent meanwhile)."""
    require(who, Permission.BILL)
    _check_key(key)
    with svc.uow() as uow:
        payment = _locked(uow, who, payment_id)
        replay = _replayed(uow, who, key, payment.id)
        if replay is not None:
            return replay
        _check_nothing_else_in_flight(svc, uow, payment, key)
        call = decide(uow, payment, derive_state(uow.payments.events(who.operator_id, payment.id)))
        result = call(f"{who.operator_id}:{key}")
        apply_gateway_events(svc, uow, payment, result.events, key)
        view = _view(uow, payment, result.next_action_url)
        uow.commit()
    return view


def _move_in_steps(
    svc: Services, who: Actor, payment_id: str, key: str, operation: str, decide: Decide
) -> PaymentView:
    """A capture (the invoice charge's and the session's), in three steps so no transaction is held
    open over the network: lock, replay or check, and note the move in flight (commit); call the
    gateway with the key; lock again, store and post what it said, clear the move (commit). A crash
    in between leaves the move in flight: the retry with the same key calls the gateway again, which
    answers as before; another request on the payment is refused meanwhile."""
    require(who, Permission.BILL)
    _check_key(key)
    with svc.uow() as uow:
        payment = _locked(uow, who, payment_id)
        replay = _replayed(uow, who, key, payment.id)
        if replay is not None:
            return replay
        _check_nothing_else_in_flight(svc, uow, payment, key)
        try:
            call = decide(uow, payment, derive_state(uow.payments.events(who.operator_id, payment.id)))
        except DomainError:
            # refused on what is stored: a move of this key left in flight (its outcome recorded since
            # by webhook) is over
            uow.payments.clear_in_flight(who.operator_id, payment.id)
            uow.commit()
            raise
        uow.payments.set_in_flight(InFlight(who.operator_id, payment.id, key, operation, svc.clock.now()))
        uow.commit()
    try:
        result = call(f"{who.operator_id}:{key}")
    except DomainError:
        # the gateway refused or could not be reached: nothing moved, the payment is free again
        with svc.uow() as uow:
            _locked(uow, who, payment_id)
            uow.payments.clear_in_flight(who.operator_id, payment_id)
            uow.commit()
        raise
    with svc.uow() as uow:
        payment = _locked(uow, who, payment_id)
        apply_gateway_events(svc, uow, payment, result.events, key)
        uow.payments.clear_in_flight(who.operator_id, payment.id)
        view = _view(uow, payment, result.next_action_url)
        uow.commit()
    return view


def _check_nothing_else_in_flight(svc: Services, uow: UnitOfWork, payment: Payment, key: str) -> None:
    """Another request's move of this payment is with the gateway (or was, when its process died):
    refused until it is recorded, as both could move the money. Its own retry (same key) goes on; a
    move left in flight longer than ``STALE_IN_FLIGHT`` no longer blocks (its webhooks came by then)."""
    moving = uow.payments.in_flight(payment.operator_id, payment.id)
    if moving is None or moving.idempotency_key == key:
        return
    if svc.clock.now() - moving.started_at > STALE_IN_FLIGHT:
        return
    raise PaymentRefused(
        f"a {moving.operation} of this payment is with the gateway; retry that request with its "
        "Idempotency-Key, or this one once it is recorded"
    )


def capture_payment(
    svc: Services, gateway: PaymentGateway, who: Actor, payment_id: str, *, amount: int, idempotency_key: str
) -> PaymentView:
    """Capture ``amount`` (<= the authorisation); the rest of the hold is released."""

    def decide(uow: UnitOfWork, payment: Payment, state: PaymentState) -> Callable[[str], GatewayResult]:
        check_capture(state, amount, payment.currency)
        money = SettledMoney(amount, payment.currency)
        return lambda key: gateway.capture(
            reference=payment.gateway_reference, amount=money, idempotency_key=key
        )

    return _move_in_steps(svc, who, payment_id, idempotency_key, "capture", decide)


def confirm_payment(
    svc: Services, gateway: PaymentGateway, who: Actor, payment_id: str, *, idempotency_key: str
) -> PaymentView:
    """After the customer authenticated (3-D Secure): the gateway authorises or declines."""

    def decide(uow: UnitOfWork, payment: Payment, state: PaymentState) -> Callable[[str], GatewayResult]:
        if state.status.value != "requires_action":
            raise Conflict(f"the payment is {state.status.value}, not waiting for authentication")
        return lambda key: gateway.confirm(reference=payment.gateway_reference, idempotency_key=key)

    return _move(svc, who, payment_id, idempotency_key, decide)


def release_payment(
    svc: Services, gateway: PaymentGateway, who: Actor, payment_id: str, *, idempotency_key: str
) -> PaymentView:
    """Cancel the hold without capturing (e.g. a zero-energy session)."""

    def decide(uow: UnitOfWork, payment: Payment, state: PaymentState) -> Callable[[str], GatewayResult]:
        check_release(state)
        return lambda key: gateway.release(reference=payment.gateway_reference, idempotency_key=key)

    return _move(svc, who, payment_id, idempotency_key, decide)


def refund_payment(
    svc: Services, gateway: PaymentGateway, who: Actor, payment_id: str, *, amount: int, idempotency_key: str
) -> PaymentView:
    """Refund ``amount`` of what was captured (several refunds may add up to the capture, no more)."""

    def decide(uow: UnitOfWork, payment: Payment, state: PaymentState) -> Callable[[str], GatewayResult]:
        check_refund(state, amount, payment.currency)
        if payment.purpose is PaymentPurpose.WALLET_TOP_UP:
            _check_wallet_covers(uow, payment, amount)
        money = SettledMoney(amount, payment.currency)
        return lambda key: gateway.refund(
            reference=payment.gateway_reference, amount=money, idempotency_key=key
        )

    return _move(svc, who, payment_id, idempotency_key, decide)


def _check_wallet_covers(uow: UnitOfWork, payment: Payment, amount: int) -> None:
    # the wallet's money may already be spent: a top-up is refunded only from what is left in it
    uow.wallets.get(payment.operator_id, payment.subject, lock=True)
    balance = uow.wallets.balance(payment.operator_id, payment.subject)
    if amount > balance:
        raise Conflict(
            f"the wallet holds {SettledMoney(balance, payment.currency)}; a refund of "
            f"{SettledMoney(amount, payment.currency)} of its top-up would overdraw it"
        )


def record_gateway_events(svc: Services, gateway_name: str, events: Iterable[GatewayEvent]) -> int:
    """The webhook path: store each event once and post its entry; returns how many were new.

    An event for a payment evbill does not know is skipped (another system's payment at the gateway).
    """
    stored = 0
    for event in events:
        with svc.uow() as uow:
            payment = uow.payments.find_by_reference(gateway_name, event.reference, lock=True)
            if payment is None or names_another_operator(payment, [event]):
                continue
            stored += apply_gateway_events(svc, uow, payment, [event], request_key(payment, [event]))
            uow.commit()
    return stored


def request_key(payment: Payment, events: Iterable[GatewayEvent]) -> str | None:
    """The client's idempotency key of the request that caused these events, where the gateway names
    it: stored with them, a retry of that request (same key) then replays instead of being refused
    because the webhook got there first. The gateway was called with ``<operator id>:<key>``; a key
    of another operator's (or none) is not taken."""
    prefix = f"{payment.operator_id}:"
    for event in events:
        if event.request_key is not None and event.request_key.startswith(prefix):
            return event.request_key.removeprefix(prefix)[:MAX_KEY] or None
    return None


def names_another_operator(payment: Payment, events: Iterable[GatewayEvent]) -> bool:
    """The gateway's record of the payment names another operator than evbill's: act on nothing."""
    return any(event.operator_id not in (None, payment.operator_id) for event in events)


def get_payment(svc: Services, who: Actor, payment_id: str) -> PaymentView:
    require(who, Permission.READ)
    with svc.uow(read_only=True) as uow:
        payment = uow.payments.get(who.operator_id, payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id!r}")
        return _view(uow, payment)


def list_payments(svc: Services, who: Actor, *, after: str | None, limit: int) -> Sequence[PaymentView]:
    require(who, Permission.READ)
    with svc.uow(read_only=True) as uow:
        return [
            _view(uow, payment) for payment in uow.payments.list(who.operator_id, after=after, limit=limit)
        ]


def minor_units(amount_text: str, currency: str, *, path: str = "$.amount") -> SettledMoney:
    """A decimal string in the currency's minor unit ("12.34" EUR) as settled money; more digits refused."""
    try:
        value = Decimal(amount_text)
    except InvalidOperation:
        raise InvalidInput("bad amount", (Problem(path, f"{amount_text!r} is not a number"),)) from None
    places = currencies.exponent(currency)
    scaled = value.scaleb(places)
    if not value.is_finite() or scaled != scaled.to_integral_value():
        raise InvalidInput("bad amount", (Problem(path, f"{currency} has {places} decimal places"),))
    return SettledMoney(int(scaled), currency)
