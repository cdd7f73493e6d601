"""Energy purchase prices and margins (use cases).

``set_energy_purchase`` keeps how a location buys energy; ``import_prices`` stores a 15-minute price
series (and makes the series the location's purchase price); ``set_location_fees`` and
``set_operator_fees`` keep the fees beyond energy (grid/demand, gateway, roaming); ``margin_report``
prices the energy of each finished session at the times it was delivered, takes off its fees and gives
the margins.
"""

from __future__ import annotations

from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.analytics.costs import EnergyPurchase, PriceBook, PriceKind, PricePoint, check_points
from evbill.domain.analytics.facts import SessionFilter
from evbill.domain.analytics.fees import LocationFees, OperatorFees
from evbill.domain.analytics.margin import MarginReport, margins
from evbill.domain.errors import InvalidInput, NotFound


def set_energy_purchase(services: Services, actor: Actor, *, purchase: EnergyPurchase) -> None:
    require(actor, Permission.MANAGE_SITES)
    with services.uow() as uow:
        if uow.locations.get(actor.operator_id, purchase.location_id) is None:
            raise NotFound(f"location {purchase.location_id!r} not found")
        uow.analytics.set_purchase(actor.operator_id, purchase, services.clock.now())
        uow.commit()


def import_prices(
    services: Services,
    actor: Actor,
    *,
    location_id: str,
    points: tuple[PricePoint, ...],
    currency: str | None = None,
) -> int:
    """Store the series; the location buys at it from now on (in ``currency``, or the one it had)."""
    require(actor, Permission.MANAGE_SITES)
    ordered = check_points(points)
    with services.uow() as uow:
        if uow.locations.get(actor.operator_id, location_id) is None:
            raise NotFound(f"location {location_id!r} not found")
        current = uow.analytics.purchases(actor.operator_id).get(location_id)
        chosen = currency or (current.currency if current is not None else None)
        if chosen is None:
            raise InvalidInput("name the currency of the prices (the location has no purchase price yet)")
        if current is None or current.kind is not PriceKind.SERIES or current.currency != chosen.upper():
            purchase = EnergyPurchase(location_id, chosen.upper(), PriceKind.SERIES)
            uow.analytics.set_purchase(actor.operator_id, purchase, services.clock.now())
        uow.analytics.replace_prices(actor.operator_id, location_id, ordered)
        uow.commit()
    return len(ordered)


def set_location_fees(services: Services, actor: Actor, *, fees: LocationFees) -> None:
    require(actor, Permission.MANAGE_SITES)
    with services.uow() as uow:
        if uow.locations.get(actor.operator_id, fees.location_id) is None:
            raise NotFound(f"location {fees.location_id!r} not found")
        uow.analytics.set_location_fees(actor.operator_id, fees, services.clock.now())
        uow.commit()


def set_operator_fees(services: Services, actor: Actor, *, fees: OperatorFees) -> None:
    require(actor, Permission.MANAGE_SITES)
    with services.uow() as uow:
        uow.analytics.set_operator_fees(actor.operator_id, fees, services.clock.now())
        uow.commit()


def margin_report(services: Services, actor: Actor, *, query: SessionFilter) -> MarginReport:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        sessions = list(uow.analytics.stored_sessions(actor.operator_id, query))
        purchases = uow.analytics.purchases(actor.operator_id)
        timed = [s.usage for s in sessions if s.usage is not None]
        series_at = {
            location for location, purchase in purchases.items() if purchase.kind is PriceKind.SERIES
        }
        series = (
            uow.analytics.price_series(
                actor.operator_id, series_at, min(u.start for u in timed), max(u.end for u in timed)
            )
            if timed and series_at
            else {}
        )
        fee_book = uow.analytics.fee_book(actor.operator_id, [session.id for session in sessions])
    zones = {session.location_id: session.zone for session in sessions}
    books = {
        location: (purchase.currency, PriceBook(purchase, zones[location], series.get(location, {})))
        for location, purchase in purchases.items()
        if location in zones
    }
    return margins(sessions, books, fee_book)
