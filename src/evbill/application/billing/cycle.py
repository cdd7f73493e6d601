"""Use case: bill one cycle of a contract, record it once, and count the promotions it used once.

``bill_contract`` loads the contract, its terms and plans, the sessions of the customer (and of a
fleet's drivers) in the cycle, and the customer's promotions with their history, then runs the pure
``domain.billing.bill_cycle``. With ``record=True`` it records each promotion's redemption once per
(promotion, contract, cycle): billing the same cycle again changes no count, and when concurrent runs
compete for a promotion's last redemptions, those that lose are billed again without it.

Cycles follow the local calendar of the operator's locations (the time zone most of them are in)
and are anchored to the contract (``domain.billing.anchoring``): monthly from the contract's start
day to the same day next month, weekly for seven days, per session one day. Any other cycle start is
refused, so no two cycles share a day. ``record_bill`` keeps the bill with an id and a state, once
per (contract, cycle start): recording the same cycle again returns the bill recorded first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

from evbill.application.charging.pricing import most_common_zone
from evbill.application.memo import forget, once, recall, remember
from evbill.application.ports import UnitOfWork
from evbill.application.records import Services, get_or_404, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.billing.anchoring import check_cycle_start
from evbill.domain.billing.cycle import Bill, SessionCharge, bill_cycle
from evbill.domain.billing.records import BillState, RecordedBill
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import Conflict, DomainError, InvalidInput, Problem
from evbill.domain.offers.contracts import Contract, ContractTerms
from evbill.domain.offers.customers import Customer
from evbill.domain.offers.plans import ConnectorClass, Plan, PlanVersion
from evbill.domain.offers.promotions import PromotionState, Redemption

MAX_ATTEMPTS = 3
# The days a cycle may start on: wide of any real contract, yet far enough from years 1 and 9999 that
# a cycle's end and its instants in UTC never leave the calendar.
EARLIEST_CYCLE_START = date(1970, 1, 1)
LATEST_CYCLE_START = date(9000, 1, 1)


def _check_cycle_start(start: date) -> None:
    if not EARLIEST_CYCLE_START <= start <= LATEST_CYCLE_START:
        raise InvalidInput(
            "cannot bill",
            (Problem("$.cycle_start", f"must be between {EARLIEST_CYCLE_START} and {LATEST_CYCLE_START}"),),
        )


def bill_contract(
    services: Services, actor: Actor, contract_id: str, cycle_start: date, *, record: bool = False
) -> Bill:
    """The cycle's bill: a preview (nothing stored), or with ``record`` the bill as recorded."""
    if record:
        return record_bill(services, actor, contract_id, cycle_start).bill
    require(actor, Permission.READ)
    _check_cycle_start(cycle_start)
    with services.uow() as uow:
        return _bill(uow, actor, contract_id, cycle_start, set())


def record_bill(services: Services, actor: Actor, contract_id: str, cycle_start: date) -> RecordedBill:
    """Bill the cycle once: the first call records it (with its promotions), later calls return it."""
    require(actor, Permission.BILL)
    _check_cycle_start(cycle_start)
    exhausted: set[str] = set()
    for _ in range(MAX_ATTEMPTS):
        with services.uow() as uow:
            existing = _recorded(uow, actor.operator_id, contract_id, cycle_start)
            if existing is not None:
                return existing
            bill = _bill(uow, actor, contract_id, cycle_start, exhausted)
            try:
                _record(services, uow, actor, bill, contract_id)
                recorded = _store(services, uow, actor, bill)
            except _LostRace as lost:
                exhausted.add(lost.promotion_id)
                continue
            except Conflict:  # recorded by a concurrent run since we looked: theirs stands
                continue
            uow.commit()
            return recorded
    raise Conflict("the promotions of this cycle kept changing under concurrent billing; try again")


def record_bill_in(
    services: Services, uow: UnitOfWork, actor: Actor, contract_id: str, cycle_start: date
) -> tuple[RecordedBill, bool]:
    """``record_bill`` inside the caller's transaction (the billing run's chunk), without committing:
    the recorded bill and whether it was recorded now. A lost race for a promotion or a concurrent
    recording raises (Conflict): the caller rolls back and bills the cycle again on its own."""
    require(actor, Permission.BILL)
    _check_cycle_start(cycle_start)
    others = once(uow, ("bills", contract_id), partial(uow.bills.of_contract, actor.operator_id, contract_id))
    for existing in others:
        if existing.cycle_start == cycle_start:
            return existing, False
    bill = _bill(uow, actor, contract_id, cycle_start, set())
    try:
        _record(services, uow, actor, bill, contract_id)
    except _LostRace as lost:
        raise Conflict(f"promotion {lost.promotion_id!r} was redeemed concurrently") from None
    # the bills just read, in this transaction (one recorded since by a concurrent run: unique key)
    recorded = _store(services, uow, actor, bill, others)
    forget(uow, ("bills", contract_id))  # another cycle of the contract in the chunk reads them again
    return recorded, True


def _recorded(uow: UnitOfWork, operator_id: str, contract_id: str, cycle_start: date) -> RecordedBill | None:
    """The bill recorded for this cycle; Conflict if a recorded cycle overlaps it without being it."""
    for recorded in uow.bills.of_contract(operator_id, contract_id):
        if recorded.cycle_start == cycle_start:
            return recorded
    return None


def _store(
    services: Services,
    uow: UnitOfWork,
    actor: Actor,
    bill: Bill,
    others: Sequence[RecordedBill] | None = None,
) -> RecordedBill:
    if others is None:
        others = uow.bills.of_contract(actor.operator_id, bill.contract_id)
    for other in others:
        if other.cycle_start == bill.cycle_start:  # recorded by a concurrent run since we looked
            raise Conflict(f"the cycle from {bill.cycle_start} was recorded concurrently")
        if other.overlaps(bill.cycle_start, bill.cycle_end):
            raise InvalidInput(
                "cannot bill",
                (Problem("$.cycle_start", f"the days overlap the cycle billed from {other.cycle_start}"),),
            )
    contract = contract_in(uow, actor.operator_id, bill.contract_id)
    recorded = RecordedBill(
        id=services.ids.new_id(),
        operator_id=actor.operator_id,
        contract_id=bill.contract_id,
        customer_id=contract.customer_id,
        cycle_start=bill.cycle_start,
        cycle_end=bill.cycle_end,
        state=BillState.RECORDED,
        bill=bill,
        recorded_at=services.clock.now(),
    )
    uow.bills.add(recorded)
    return recorded


class _LostRace(Exception):
    def __init__(self, promotion_id: str) -> None:
        super().__init__(promotion_id)
        self.promotion_id = promotion_id


def _zone(uow: UnitOfWork, operator_id: str) -> ZoneInfo:
    def look() -> ZoneInfo:
        locations = uow.locations.list(operator_id, filters={}, after=None, limit=200)
        return ZoneInfo(most_common_zone([location.time_zone for location in locations]))

    return once(uow, ("zone", operator_id), look)  # a billing run's chunk asks per contract


def _bill(uow: UnitOfWork, actor: Actor, contract_id: str, cycle_start: date, exhausted: set[str]) -> Bill:
    operator_id = actor.operator_id
    contract = contract_in(uow, operator_id, contract_id)
    zone = _zone(uow, operator_id)
    terms = terms_in(uow, operator_id, contract_id)
    in_force = _terms_at(terms, cycle_start, zone) or min(terms, key=lambda t: t.effective_from)
    end = check_cycle_start(contract.start.astimezone(zone).date(), in_force.billing_cycle, cycle_start)
    plans, versions = _plans(uow, operator_id, terms)
    customer = customer_in(uow, operator_id, contract.customer_id)
    payers = [customer.id] + [driver.id for driver in drivers_in(uow, operator_id, customer.id)]
    start_utc = datetime.combine(cycle_start, datetime.min.time(), zone)
    end_utc = datetime.combine(end, datetime.min.time(), zone)
    # A session paid by itself (card on file, wallet) has its receipt: one tax document per supply, so
    # the periodic invoice leaves it out (``application.invoicing.receipts``).
    stored = _sessions(uow, operator_id, payers, start_utc, end_utc)
    # Sessions under review (implausible charger data) wait for an operator; voided ones cost nothing.
    stored = [s for s in stored if s.status not in (SessionStatus.REVIEW, SessionStatus.VOIDED)]
    # A session closed without a price breakdown (an operator closed a stuck one before sessions
    # ending where they start were rated) never blocks its contract: it is left out, and the bill
    # says so. Re-rating it gives it its breakdown, and the next bill charges it.
    unpriced = [s for s in stored if not s.parts]
    stored = [s for s in stored if s.parts]
    session_starts(uow, operator_id).update((session.id, session.started_at) for session in stored)
    before = _count_before(uow, operator_id, payers, start_utc)
    charges = [_charge(session, before + n) for n, session in enumerate(stored, start=1)]
    states = _promotion_states(uow, operator_id, customer.id, contract, start_utc, exhausted)
    bill = bill_cycle(
        contract=contract,
        cycle_start=cycle_start,
        cycle_end=end,
        zone=zone,
        currency=customer.currency,
        terms=terms,
        plans=plans,
        plan_versions=versions,
        sessions=charges,
        promotions=states,
        customer_sessions_before=before,
    )
    if unpriced:
        left_out = tuple(
            f"session {s.id} of {s.started_at:%Y-%m-%d %H:%M} UTC is not billed: it has no price breakdown"
            " (closed without one); re-rate it to bill it"
            for s in unpriced
        )
        bill = replace(bill, notes=(*bill.notes, *left_out))
    return bill


# What the invoice of a bill reads again in the same transaction (a billing run's chunk): once.


def contract_in(uow: UnitOfWork, operator_id: str, contract_id: str) -> Contract:
    return once(uow, ("contract", contract_id), partial(get_or_404, uow.contracts, operator_id, contract_id,
                                                        "contract"))  # fmt: skip


def customer_in(uow: UnitOfWork, operator_id: str, customer_id: str) -> Customer:
    return once(uow, ("customer", customer_id), partial(get_or_404, uow.customers, operator_id, customer_id,
                                                        "customer"))  # fmt: skip


def terms_in(uow: UnitOfWork, operator_id: str, contract_id: str) -> Sequence[ContractTerms]:
    return once(
        uow, ("terms", contract_id), partial(uow.contract_terms.of_contract, operator_id, contract_id)
    )


def _sessions(
    uow: UnitOfWork, operator_id: str, payers: Sequence[str], start: datetime, end: datetime
) -> Sequence[ChargingSession]:
    """The payers' sessions started in [start, end), oldest first: as ``prefetch_sessions`` read them
    for the chunk, else one look."""
    known = [recall(uow, ("sessions", payer, start, end)) for payer in payers]
    if not all(isinstance(found, list) for found in known):
        return uow.sessions.of_customers(
            operator_id, payers, started_from=start, started_to=end, without_receipt=True
        )
    merged: list[ChargingSession] = [s for found in known if isinstance(found, list) for s in found]
    return sorted(merged, key=lambda session: (session.started_at, session.id))


def _count_before(uow: UnitOfWork, operator_id: str, payers: Sequence[str], start: datetime) -> int:
    known = [recall(uow, ("sessions before", payer, start)) for payer in payers]
    if not all(isinstance(found, int) for found in known):
        return uow.sessions.count_before(operator_id, payers, start)
    return sum(found for found in known if isinstance(found, int))


def prefetch_sessions(uow: UnitOfWork, actor: Actor, cycles: Sequence[tuple[str, date]]) -> None:
    """Read the sessions the cycles will bill (and the counts before them), one look per cycle window
    for every payer in it instead of two per contract, for ``_bill`` to find. A cycle whose window
    cannot be told here (not billable) is left to ``_bill``, which reads it itself and says why."""
    operator_id = actor.operator_id
    windows: dict[tuple[datetime, datetime], list[str]] = {}
    for contract_id, cycle_start in cycles:
        billed = recall(uow, ("bills", contract_id))
        if isinstance(billed, list) and any(bill.cycle_start == cycle_start for bill in billed):
            continue  # recorded before: not billed again
        try:
            contract = contract_in(uow, operator_id, contract_id)
            zone = _zone(uow, operator_id)
            terms = terms_in(uow, operator_id, contract_id)
            in_force = _terms_at(terms, cycle_start, zone) or min(terms, key=lambda t: t.effective_from)
            anchor = contract.start.astimezone(zone).date()
            end = check_cycle_start(anchor, in_force.billing_cycle, cycle_start)
            customer = customer_in(uow, operator_id, contract.customer_id)
        except (DomainError, ValueError):
            continue
        window = (
            datetime.combine(cycle_start, datetime.min.time(), zone),
            datetime.combine(end, datetime.min.time(), zone),
        )
        payers = windows.setdefault(window, [])
        payers += [customer.id] + [driver.id for driver in drivers_in(uow, operator_id, customer.id)]
    for (start, end), payers in windows.items():
        wanted = list(dict.fromkeys(payers))
        found: dict[str, list[ChargingSession]] = {payer: [] for payer in wanted}
        for offset in range(0, len(wanted), 500):  # bound the IN list
            some = wanted[offset : offset + 500]
            for session in uow.sessions.of_customers(
                operator_id, some, started_from=start, started_to=end, without_receipt=True
            ):
                if session.customer_id in found:
                    found[session.customer_id].append(session)
        for payer, sessions in found.items():
            remember(uow, ("sessions", payer, start, end), sessions)
        for payer, count in uow.sessions.counts_before(operator_id, wanted, start).items():
            remember(uow, ("sessions before", payer, start), count)


def drivers_in(uow: UnitOfWork, operator_id: str, customer_id: str) -> Sequence[Customer]:
    """The customer's drivers (customers whose parent it is): their sessions are billed to it."""
    return once(uow, ("drivers", customer_id), partial(uow.customers.list, operator_id,
                                                       filters={"parent_id": customer_id}, after=None,
                                                       limit=200))  # fmt: skip


def prefetch(uow: UnitOfWork, operator_id: str, contract_ids: Sequence[str]) -> None:
    """Read what billing many contracts reads (a billing run's chunk) at once, one look per kind
    instead of one per contract: their terms, recorded bills, the contracts, their customers, the
    customers' drivers and promotions, for ``terms_in``, ``record_bill_in``, ``contract_in``,
    ``customer_in``, ``drivers_in`` and the promotions to find. None of it changes while billing."""
    wanted = list(dict.fromkeys(contract_ids))
    for contract_id, terms in uow.contract_terms.of_contracts(operator_id, wanted).items():
        remember(uow, ("terms", contract_id), terms)
    for contract_id, recorded in uow.bills.of_contracts(operator_id, wanted).items():
        remember(uow, ("bills", contract_id), recorded)
    contracts = uow.contracts.where_in(operator_id, "id", wanted)
    for contract in contracts:
        remember(uow, ("contract", contract.id), contract)
    customer_ids = list(dict.fromkeys(contract.customer_id for contract in contracts))
    for customer in uow.customers.where_in(operator_id, "id", customer_ids):
        remember(uow, ("customer", customer.id), customer)
    drivers: dict[str, list[Customer]] = {customer_id: [] for customer_id in customer_ids}
    for driver in uow.customers.where_in(operator_id, "parent_id", customer_ids):
        if driver.parent_id in drivers:
            drivers[driver.parent_id].append(driver)
    for customer_id, found in drivers.items():
        if len(found) < 200:  # as ``drivers_in`` reads them (a first page of 200): else it reads them itself
            remember(uow, ("drivers", customer_id), found)
    for customer_id, promotion_ids in uow.customer_promotions.of_customers(operator_id, customer_ids).items():
        remember(uow, ("promotions of", customer_id), list(promotion_ids))


def session_starts(uow: UnitOfWork, operator_id: str) -> dict[str, datetime]:
    """When the sessions this transaction billed started, by id (filled by ``_bill``)."""
    starts: dict[str, datetime] = once(uow, ("session starts", operator_id), dict)
    return starts


def _terms_at(terms: Sequence[ContractTerms], day: date, zone: ZoneInfo) -> ContractTerms | None:
    started = [t for t in terms if t.effective_from.astimezone(zone).date() <= day]
    return max(started, key=lambda t: t.effective_from) if started else None


def _plans(
    uow: UnitOfWork, operator_id: str, terms: Sequence[ContractTerms]
) -> tuple[dict[str, Plan], dict[str, Sequence[PlanVersion]]]:
    plans: dict[str, Plan] = {}
    versions: dict[str, Sequence[PlanVersion]] = {}
    for plan_id in {t.plan_id for t in terms}:  # the few plans of a run's contracts: read once a chunk
        plans[plan_id] = once(
            uow, ("plan", plan_id), partial(get_or_404, uow.plans, operator_id, plan_id, "plan")
        )
        versions[plan_id] = once(
            uow, ("plan versions", plan_id), partial(uow.plan_versions.of_plan, operator_id, plan_id)
        )
    return plans, versions


def _charge(session: ChargingSession, ordinal: int) -> SessionCharge:
    return SessionCharge(
        session_id=session.id,
        started_at=session.started_at,
        connector_class=session.connector_class or ConnectorClass.AC,
        energy_wh=session.energy_wh,
        charging_s=_charging_seconds(session),
        tariff_id=session.tariff_id or "",
        rule=session.price_reason or "the tariff in force",
        parts=session.parts,
        ordinal=ordinal,
    )


def _charging_seconds(session: ChargingSession) -> Decimal:
    """Charging time for included minutes: the charging share of the session (its TIME part's volume
    is not stored, so the session's length stands in when no parking was priced)."""
    if session.ended_at is None:
        return Decimal(0)
    delta = session.ended_at - session.started_at
    return Decimal(delta.days * 86400 + delta.seconds)


def _promotion_states(
    uow: UnitOfWork,
    operator_id: str,
    customer_id: str,
    contract: Contract,
    cycle_start: datetime,
    exhausted: set[str],
) -> list[PromotionState]:
    look = partial(uow.customer_promotions.of_customer, operator_id, customer_id)
    given = once(uow, ("promotions of", customer_id), look)
    if not given:  # no promotion: no redemption of this cycle to look for
        return []
    mine = {
        r.promotion_id: r for r in uow.redemptions.of_contract_cycle(operator_id, contract.id, cycle_start)
    }
    states = []
    for promotion_id in given:
        promotion = uow.promotions.get(operator_id, promotion_id)
        if promotion is None or promotion_id in exhausted:
            continue
        counts = uow.redemptions.counts(operator_id, promotion_id, customer_id, contract.id)
        own = mine.get(promotion_id)  # this cycle's own redemption does not count against it
        less = 1 if own is not None else 0
        states.append(
            PromotionState(
                promotion,
                cycles_used=counts.contract_cycles - less,
                customer_redemptions=counts.customer - less,
                total_redemptions=counts.total - less,
                free_kwh_used=counts.free_kwh_used - (own.free_kwh_used if own else 0),
            )
        )
    return states


def _record(services: Services, uow: UnitOfWork, actor: Actor, bill: Bill, contract_id: str) -> None:
    if not bill.applied:  # no promotion used: nothing to count (and no look for the contract and zone)
        return
    contract = get_or_404(uow.contracts, actor.operator_id, contract_id, "contract")
    zone = _zone(uow, actor.operator_id)
    cycle_start = datetime.combine(bill.cycle_start, datetime.min.time(), zone)
    for applied in bill.applied:
        promotion = get_or_404(uow.promotions, actor.operator_id, applied.promotion_id, "promotion")
        redemption = Redemption(
            id=services.ids.new_id(),
            operator_id=actor.operator_id,
            promotion_id=promotion.id,
            customer_id=contract.customer_id,
            contract_id=contract.id,
            cycle_start=cycle_start,
            discount_excl_vat=applied.discount_excl_vat,
            free_kwh_used=applied.free_kwh_used,
            created_at=services.clock.now(),
        )
        try:
            uow.redemptions.record(
                redemption,
                max_redemptions=promotion.max_redemptions,
                per_customer_limit=promotion.per_customer_limit,
            )
        except Conflict:
            raise _LostRace(promotion.id) from None
