"""Setting up payment at the charger: the hold an ad hoc start places (per operator or location), and
the QR code of an EVSE's payment link, to print on the charger."""

from __future__ import annotations

from evbill.application.ports import QrRenderer
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.errors import InvalidInput, NotFound, Problem


def payment_qr(svc: Services, who: Actor, evse_id: str, *, link: str, output: str, qr: QrRenderer) -> bytes:
    """The QR code of the EVSE's payment link, to print on the charger (the operator's EVSEs only)."""
    require(who, Permission.READ)
    with svc.uow(read_only=True) as uow:
        if uow.evses.get(who.operator_id, evse_id) is None:
            raise NotFound(f"EVSE {evse_id!r} not found")
    return qr.render(link, output)


def set_hold_amount(
    svc: Services, who: Actor, *, location_id: str | None, amount: int, currency: str
) -> None:
    """What an ad hoc start holds on the card, for the operator (no location) or one location."""
    require(who, Permission.BILL)
    if amount <= 0:
        raise InvalidInput("bad hold", (Problem("$.amount", "must be positive"),))
    with svc.uow() as uow:
        if location_id is not None and uow.locations.get(who.operator_id, location_id) is None:
            raise InvalidInput("bad hold", (Problem("$.location_id", "no such location"),))
        uow.session_payments.set_hold_amount(who.operator_id, location_id, amount, currency, svc.clock.now())
        uow.commit()
