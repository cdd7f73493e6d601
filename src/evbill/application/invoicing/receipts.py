"""Use case: the receipt of one charging session, for drivers who pay per session (ad hoc, card on file).

``issue_session_receipt`` makes a receipt (kind ``receipt``) from a closed session's rated CDR: one
line per VAT rate of the session's price parts, rounded once as every document is, numbered in the
operator's receipt series and issued at once. It is idempotent per session: the receipt is linked
to the session under a unique key in the transaction that issues it, so asking again (or two callers
at once) gives the same receipt, and a lost race takes no number.

``receipt_for_paid_session`` is what the payment side calls once money was taken for the session
(the capture of an ad hoc hold, the charge of a card on file, a spend from a prepaid wallet): the
same receipt, issued if not yet, and marked paid by what the stored payment events say was taken
(recomputed from them each time, never counted up). Its ledger entry debits the receivable that
the payment credited, so the pair nets out: an ad hoc session's ``receivable:adhoc:<start>`` (no
customer account exists), the paying customer's receivable for a card on file or a wallet.

A session of a contract is billed on the contract's periodic invoice, so it gets no receipt unless
it was paid per session (then the periodic invoice leaves it out: one tax document per supply); a
session still running, under review or voided has no final price yet, and one recorded without a
price breakdown cannot be written as lines.

    session 8.93 EUR excl. VAT at 21 %  ->  receipt RCP-000001: 8.93 + VAT 1.88 = 10.81 EUR
    ad hoc, 10.81 captured               ->  receivable:adhoc:<start> +10.81 (receipt) -10.81 (capture) = 0
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from evbill.application.invoicing.documents import issue_in, operator_profile
from evbill.application.ports import UnitOfWork
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import Conflict, NotFound
from evbill.domain.invoicing import documents as lifecycle
from evbill.domain.invoicing.compose import DraftLine, compose
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus, Party
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.invoicing.tax import REVERSE_CHARGE_NOTE, TaxMode, is_reverse_charge
from evbill.domain.payments.events import derive_state
from evbill.domain.payments.model import SessionStep, session_key

ATTEMPTS = 3
GERMAN_SPEAKING = ("DE", "AT", "CH", "LI")


@dataclass(frozen=True, slots=True)
class SessionPaid:
    """How a session was paid per session: the receivable the payment credited, how much was taken
    (minor units, from the stored events), and who paid (None: an anonymous driver at the charger)."""

    receivable_key: str
    paid: int
    payer_id: str | None


def paid_per_session(uow: UnitOfWork, session: ChargingSession) -> SessionPaid | None:
    """What was taken for this session by itself, if anything was (the idempotency keys of
    ``payments.adhoc`` and ``payments.session_funding`` find it)."""
    operator_id = session.operator_id
    start = uow.session_payments.start_of_session(operator_id, session.id)
    if start is not None and start.payment_id is not None:
        # the start's receivable even before its capture: a receipt asked for early meets it there
        captured = derive_state(uow.payments.events(operator_id, start.payment_id)).captured
        return SessionPaid(f"adhoc:{start.id}", captured, None)
    payment_id = uow.payments.find_by_idempotency_key(
        operator_id, session_key(session.id, SessionStep.AUTHORISE)
    )
    payment = uow.payments.get(operator_id, payment_id) if payment_id else None
    if payment is not None and payment.customer_id is not None:
        captured = derive_state(uow.payments.events(operator_id, payment.id)).captured
        return SessionPaid(payment.customer_id, captured, payment.customer_id) if captured > 0 else None
    spent = uow.wallets.find_transaction(operator_id, session_key(session.id))
    wallet = uow.wallets.get(operator_id, spent.wallet_id) if spent is not None else None
    if spent is not None and wallet is not None and spent.amount < 0:
        return SessionPaid(wallet.customer_id, -spent.amount, wallet.customer_id)
    return None


def issue_session_receipt(services: Services, actor: Actor, session_id: str) -> Document:
    """The session's receipt, issued; the same receipt however often (and however concurrently) asked."""
    require(actor, Permission.BILL)
    receipt = _receipt(services, actor.operator_id, session_id, required=True)
    assert receipt is not None  # required: made, or refused with the reason
    return receipt


def receipt_for_paid_session(services: Services, operator_id: str, session_id: str) -> Document | None:
    """The receipt of a session paid per session, issued once and marked paid by what was taken;
    None when nothing was taken for it (a released hold, a declined card, an empty wallet)."""
    return _receipt(services, operator_id, session_id, required=False)


def _receipt(services: Services, operator_id: str, session_id: str, *, required: bool) -> Document | None:
    for _ in range(ATTEMPTS):
        with services.uow() as uow:
            session = uow.sessions.get(operator_id, session_id)
            if session is None:
                raise NotFound(f"session {session_id!r} not found")
            paid = paid_per_session(uow, session)
            existing = uow.invoices.receipt_of_session(operator_id, session_id)
            if existing is not None:
                try:
                    marked = _mark_paid(uow, existing, paid)
                except Conflict:
                    continue  # a concurrent settler marked it: read it again
                uow.commit()
                return marked
            if not required and not _due_by_itself(uow, session, paid):
                return None
            _check_receiptable(session, paid)
            if _billed(uow, session):
                raise Conflict("this session is on its contract's bill already; it gets no receipt")
            receipt = _draft(services, uow, session, paid)
            uow.invoices.add(receipt)
            try:
                uow.invoices.add_session_receipt(operator_id, session_id, receipt.id, services.clock.now())
            except Conflict:
                continue  # a concurrent caller issued it: leave (rolling back) and read theirs
            issued = issue_in(services, uow, receipt, receivable_key=paid.receivable_key if paid else None)
            issued = _mark_paid(uow, issued, paid)
            uow.commit()
            return issued
    raise Conflict(f"the receipt of session {session_id!r} kept changing; try again")


def _mark_paid(uow: UnitOfWork, receipt: Document, paid: SessionPaid | None) -> Document:
    """The receipt paid by what the events say was taken (a receipt asked for before the capture
    catches up here); the caller commits. Paid is never counted twice: only the difference is added."""
    owed = min(paid.paid, receipt.total_minor) if paid is not None else 0
    open_statuses = (*lifecycle.UNPAID, DocumentStatus.PARTIALLY_PAID)
    if owed <= receipt.paid_minor or receipt.status not in open_statuses:
        return receipt
    marked = lifecycle.pay(receipt, owed - receipt.paid_minor)
    uow.invoices.update(marked, expected_version=receipt.version)
    return marked


def _due_by_itself(uow: UnitOfWork, session: ChargingSession, paid: SessionPaid | None) -> bool:
    """Whether the payment side's call makes a receipt now: money was taken, the session is final
    with a breakdown, and no bill of its contract lists it already (no second tax document). A
    session under review is left for the operator (its receipt link, once it is completed): the
    settlement that took the money does not fail for it."""
    if paid is None or paid.paid == 0 or not session.parts:
        return False
    if session.status is not SessionStatus.COMPLETED or session.ended_at is None:
        return False
    return not _billed(uow, session)


def _billed(uow: UnitOfWork, session: ChargingSession) -> bool:
    """Whether a recorded bill of the session's contract lists it (billed before it was paid)."""
    if session.contract_id is None:
        return False
    recorded = uow.bills.of_contract(session.operator_id, session.contract_id)
    return any(line.session_id == session.id for bill in recorded for line in bill.bill.lines)


def _check_receiptable(session: ChargingSession, paid: SessionPaid | None) -> None:
    if session.status is not SessionStatus.COMPLETED or session.ended_at is None:
        raise Conflict(f"only a completed session gets a receipt; this one is {session.status.value}")
    if session.contract_id is not None and (paid is None or paid.paid == 0):
        raise Conflict("this session is billed on its contract's invoice, not by a receipt")
    if not session.parts:
        raise Conflict("this session has no price breakdown to write on a receipt")


def _buyer(uow: UnitOfWork, customer_id: str | None, operator_id: str, country: str) -> tuple[Party, str]:
    """The customer who paid (card on file, wallet) with their language, or an anonymous driver (ad hoc)."""
    customer = None if customer_id is None else uow.customers.get(operator_id, customer_id)
    if customer is None:
        return Party("Driver", country), "de" if country in GERMAN_SPEAKING else "en"
    party = Party(
        customer.name, customer.country, customer.address, customer.city, customer.postal_code,
        customer.vat_id, email=customer.email,
    )  # fmt: skip
    return party, customer.language


def _lines(
    session: ChargingSession, profile: InvoicingProfile, place: str, zone: ZoneInfo
) -> list[DraftLine]:
    start = session.started_at.astimezone(zone)
    end = session.ended_at.astimezone(zone) if session.ended_at else start
    day = start.date()
    kwh = (session.energy_wh / 1000).quantize(Decimal("0.001"))
    text = f"Charging at {place}, {start:%Y-%m-%d %H:%M}-{end:%H:%M}, {kwh} kWh"
    by_rate: dict[Decimal | None, Decimal] = {}
    split: dict[Decimal | None, dict[str, Decimal]] = {}
    for part in session.parts:
        by_rate[part.vat] = by_rate.get(part.vat, Decimal(0)) + part.excl_vat
        of_rate = split.setdefault(part.vat, {})
        of_rate[part.dimension.value] = of_rate.get(part.dimension.value, Decimal(0)) + part.excl_vat
    schedule = profile.schedule
    lines = []
    for rate, net in by_rate.items():
        taxed = rate if schedule is None or rate is None or rate == 0 else schedule.rate_on(day)
        suffix = "" if len(by_rate) == 1 else f" (VAT {rate} %)" if rate is not None else " (no VAT)"
        components = tuple(split[rate].items())
        lines.append(DraftLine(text + suffix, net, taxed, day, session.id, "SESSION", components=components))
    return lines


def _draft(
    services: Services, uow: UnitOfWork, session: ChargingSession, paid: SessionPaid | None
) -> Document:
    operator_id = session.operator_id
    profile = operator_profile(uow, operator_id)
    operator = uow.operators.get(operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id!r} not found")
    location = uow.locations.get(operator_id, session.location_id)
    evse = uow.evses.get(operator_id, session.evse_id)
    zone = ZoneInfo(location.time_zone if location else profile.time_zone)
    place = ", ".join(
        part for part in (location.name if location else None, evse.evse_id if evse else None) if part
    )
    # the payer of a contract's session (a company paying for its drivers), else the session's customer
    customer_id = paid.payer_id if paid is not None and paid.payer_id else session.customer_id
    country = location.country if location else profile.seller.country
    buyer, language = _buyer(uow, customer_id, operator_id, country)
    reverse = profile.tax_mode is TaxMode.VAT and is_reverse_charge(
        seller_country=profile.seller.country, buyer_country=buyer.country, buyer_vat_id=buyer.vat_id
    )
    composed = compose(
        _lines(session, profile, place or session.location_id, zone), currency=session.currency,
        mode=operator.rounding_mode, reverse_charge=reverse, tax_mode=profile.tax_mode,
    )  # fmt: skip
    day = session.started_at.astimezone(zone).date()
    return Document(
        id=services.ids.new_id(), operator_id=operator_id, kind=DocumentKind.RECEIPT,
        status=DocumentStatus.DRAFT, series=profile.receipt_series, number=None, contract_id=None,
        customer_id=customer_id, bill_id=None, seller=profile.seller, buyer=buyer, language=language,
        composed=composed, rounding_mode=operator.rounding_mode, period_start=day,
        period_end=day + timedelta(days=1), payment_due_days=0,
        notes=(REVERSE_CHARGE_NOTE,) if reverse else (), created_at=services.clock.now(),
    )  # fmt: skip
