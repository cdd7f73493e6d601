"""Setting up payment at the charger: the hold an ad hoc start places (per operator or location), and
the QR code of an EVSE's payment link, to print on the charger."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from evbill.application.charging.pricing import price_now
from evbill.application.payments.adhoc import driver, start_cost
from evbill.application.ports import QrRenderer, UnitOfWork
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.errors import DomainError, InvalidInput, NotFound, Problem
from evbill.domain.money import SettledMoney
from evbill.domain.sites.model import ChargingStation, Evse


def payment_qr(svc: Services, who: Actor, evse_id: str, *, link: str, output: str, qr: QrRenderer) -> bytes:
    """The QR code of the EVSE's payment link, to print on the charger (the operator's EVSEs only)."""
    require(who, Permission.READ)
    with svc.uow(read_only=True) as uow:
        if uow.evses.get(who.operator_id, evse_id) is None:
            raise NotFound(f"EVSE {evse_id!r} not found")
    return qr.render(link, output)


def _evses(uow: UnitOfWork, operator_id: str, location_id: str | None) -> list[Evse]:
    """The EVSEs a hold applies to: the location's, or (operator-wide) every location's."""
    filters = {} if location_id is None else {"location_id": location_id}
    stations = _all(lambda after: uow.stations.list(operator_id, filters=filters, after=after, limit=PAGE))
    return [
        evse
        for station in stations
        for evse in _all(
            lambda after, s=station.id: uow.evses.list(  # type: ignore[misc]
                operator_id, filters={"station_id": s}, after=after, limit=PAGE
            )
        )
    ]


PAGE = 500
R = TypeVar("R", ChargingStation, Evse)


def _all(page: Callable[[str | None], Sequence[R]]) -> list[R]:
    found: list[R] = []
    while True:
        items = page(found[-1].id if found else None)
        found += items
        if len(items) < PAGE:
            return found


def _check_covers_start(svc: Services, evses: Sequence[Evse], amount: int, currency: str) -> None:
    """Refuse a hold below what a session at one of these EVSEs costs as soon as it starts (the
    start fee or minimum price incl. VAT of the tariff that applies there now, in the hold's currency)."""
    most, where = 0, ""
    charged_in: set[str] = set()
    for evse in evses:
        try:
            quote = price_now(svc, driver(evse.operator_id), evse_id=evse.id, token_uid=None)
        except DomainError:
            continue  # no tariff applies there (yet): no start is possible to compare with
        tariff = svc.ocpi.read_tariff(quote.version.document).tariff
        charged_in.add(tariff.currency)
        if tariff.currency == currency and start_cost(tariff) > most:
            most, where = start_cost(tariff), evse.id
    if charged_in and currency not in charged_in:
        # a hold no EVSE it applies to can use: every ad hoc start there would be refused (409)
        raise InvalidInput(
            "bad hold",
            (Problem("$.currency", f"the EVSEs it applies to charge in {', '.join(sorted(charged_in))}"),),
        )
    if amount < most:
        raise InvalidInput(
            "bad hold",
            (
                Problem(
                    "$.amount",
                    f"{SettledMoney(amount, currency)} is below the {SettledMoney(most, currency)} a session "
                    f"at EVSE {where} costs as soon as it starts (start fee or minimum price incl. VAT)",
                ),
            ),
        )


def set_hold_amount(
    svc: Services, who: Actor, *, location_id: str | None, amount: int, currency: str
) -> None:
    """What an ad hoc start holds on the card, for the operator (no location) or one location; never
    below what a session at one of the EVSEs it applies to costs as soon as it starts (422 ``$.amount``).
    Operator-wide, every location's EVSEs count (also those with a hold of their own)."""
    require(who, Permission.BILL)
    if amount <= 0:
        raise InvalidInput("bad hold", (Problem("$.amount", "must be positive"),))
    with svc.uow(read_only=True) as uow:
        if location_id is not None and uow.locations.get(who.operator_id, location_id) is None:
            raise InvalidInput("bad hold", (Problem("$.location_id", "no such location"),))
        evses = _evses(uow, who.operator_id, location_id)
    _check_covers_start(svc, evses, amount, currency)
    with svc.uow() as uow:
        uow.session_payments.set_hold_amount(who.operator_id, location_id, amount, currency, svc.clock.now())
        uow.commit()
