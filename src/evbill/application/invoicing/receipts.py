"""Use case: the receipt of one charging session, for drivers who pay per session (ad hoc, card on file).

``issue_session_receipt`` makes a receipt (kind ``receipt``) from a closed session's rated CDR: one
line per VAT rate of the session's price parts, rounded once as every document is, numbered in the
operator's receipt series and issued at once. It is idempotent per session: the receipt is linked
to the session under a unique key in the transaction that issues it, so asking again (or two callers
at once) gives the same receipt, and a lost race takes no number.

A session that belongs to a contract is billed on the contract's periodic invoice, so it gets no
receipt (it would be charged twice); a session still running, under review or voided has no final
price yet, and one recorded without a price breakdown cannot be written as lines.

    session 8.93 EUR excl. VAT at 21 %  ->  receipt RCP-000001: 8.93 + VAT 1.88 = 10.81 EUR
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from evbill.application.invoicing.documents import issue_in, operator_profile
from evbill.application.ports import UnitOfWork
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import Conflict, NotFound
from evbill.domain.invoicing.compose import DraftLine, compose
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus, Party
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.invoicing.tax import REVERSE_CHARGE_NOTE, TaxMode, is_reverse_charge

ATTEMPTS = 3
GERMAN_SPEAKING = ("DE", "AT", "CH", "LI")


def issue_session_receipt(services: Services, actor: Actor, session_id: str) -> Document:
    """The session's receipt, issued; the same receipt however often (and however concurrently) asked."""
    require(actor, Permission.BILL)
    for _ in range(ATTEMPTS):
        with services.uow() as uow:
            existing = uow.invoices.receipt_of_session(actor.operator_id, session_id)
            if existing is not None:
                return existing
            session = uow.sessions.get(actor.operator_id, session_id)
            if session is None:
                raise NotFound(f"session {session_id!r} not found")
            _check_receiptable(session)
            receipt = _draft(services, uow, session)
            uow.invoices.add(receipt)
            try:
                uow.invoices.add_session_receipt(
                    actor.operator_id, session_id, receipt.id, services.clock.now()
                )
            except Conflict:
                continue  # a concurrent caller issued it: leave (rolling back) and read theirs
            issued = issue_in(services, uow, receipt)
            uow.commit()
            return issued
    raise Conflict(f"the receipt of session {session_id!r} kept changing; try again")


def _check_receiptable(session: ChargingSession) -> None:
    if session.status is not SessionStatus.COMPLETED or session.ended_at is None:
        raise Conflict(f"only a completed session gets a receipt; this one is {session.status.value}")
    if session.contract_id is not None:
        raise Conflict("this session is billed on its contract's invoice, not by a receipt")
    if not session.parts:
        raise Conflict("this session has no price breakdown to write on a receipt")


def _buyer(uow: UnitOfWork, session: ChargingSession, country: str) -> tuple[Party, str]:
    """The customer (card on file) with their language, or an anonymous driver (ad hoc)."""
    customer = (
        None if session.customer_id is None else uow.customers.get(session.operator_id, session.customer_id)
    )
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
    for part in session.parts:
        by_rate[part.vat] = by_rate.get(part.vat, Decimal(0)) + part.excl_vat
    schedule = profile.schedule
    lines = []
    for rate, net in by_rate.items():
        taxed = rate if schedule is None or rate is None or rate == 0 else schedule.rate_on(day)
        suffix = "" if len(by_rate) == 1 else f" (VAT {rate} %)" if rate is not None else " (no VAT)"
        lines.append(DraftLine(text + suffix, net, taxed, day, session.id, "SESSION"))
    return lines


def _draft(services: Services, uow: UnitOfWork, session: ChargingSession) -> Document:
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
    buyer, language = _buyer(uow, session, location.country if location else profile.seller.country)
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
        customer_id=session.customer_id, bill_id=None, seller=profile.seller, buyer=buyer, language=language,
        composed=composed, rounding_mode=operator.rounding_mode, period_start=day,
        period_end=day + timedelta(days=1), payment_due_days=0,
        notes=(REVERSE_CHARGE_NOTE,) if reverse else (), created_at=services.clock.now(),
    )  # fmt: skip
