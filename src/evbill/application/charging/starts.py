"""Starting a transaction: authorise the token, resolve the price, snapshot it, open the session.

The tariff version that applies at the start is snapshotted onto the session (later edits never
reprice it). A resent start (same transaction id, or for 1.6 the same content) returns the session it
opened the first time.

A start with the idTag of an ad hoc payment (``domain.payments.adhoc``: the station was asked to
start remotely after a hold on the driver's card) is accepted without a token, at ad hoc prices, and
the session is linked to the payment in the same transaction that opens it. The idTag of a payment
that is no longer waiting for its station (its start timed out and the hold was released, or it paid
for a session that ended) is answered Invalid, so the station stops, and opens nothing.

OCPP 2.0.1 events of one transaction may arrive in any order. An Updated or an Ended that comes
before its Started opens the session (``opened_by``), marked in its evidence as awaiting its Started
(``awaiting_started``). When the Started comes, it is adopted: its token is authorised, the price
that applies to it at the earliest start is resolved, and its samples join the session; a session
that already ended is priced again from all its samples, with a ``RERATED`` review event
(``Started.ended``: pay for it now, as its Ended did not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from evbill.application.charging.ends import AWAITING_STARTED, START_REFUSED, close_priced
from evbill.application.charging.pricing import Quote, price_now
from evbill.application.charging.stations import StationContext
from evbill.application.offers.customers import authorize
from evbill.application.ports import UnitOfWork
from evbill.application.records import Services
from evbill.domain.charging.frames import Frame
from evbill.domain.charging.review import ReviewAction, ReviewEvent
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import NotFound
from evbill.domain.metering.cleaning import MeterSample
from evbill.domain.metering.plausibility import recordable_samples
from evbill.domain.offers.customers import AuthorizationStatus
from evbill.domain.payments.adhoc import AdhocStart, AdhocStatus
from evbill.domain.sites.model import Evse
from evbill.domain.tariffs.text import describe_tariff

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Started:
    session: ChargingSession | None  # None: answered Invalid, nothing opened (a spent ad hoc payment)
    transaction_number: int | None  # the 1.6 transactionId
    authorization: AuthorizationStatus
    price_text: str | None
    duplicate: bool
    ended: bool = False  # a late Started priced a session that had ended: it is to be paid now


def _evse(context: StationContext, number: int | None) -> Evse:
    # A station that names no EVSE (a 2.0.1 TransactionEvent without ``evse``) means its first, or
    # its only one. Never the only EVSE for a number the station does not have (a 1.6 connectorId
    # 99): that start is refused (a CallError, its frame journaled), not billed at another EVSE.
    if number is None:
        evse = context.evses.get(1) or (
            next(iter(context.evses.values())) if len(context.evses) == 1 else None
        )
        number = 1
    else:
        evse = context.evses.get(number)
    if evse is None:
        raise NotFound(f"station {context.station.charge_point_id} has no EVSE {number}")
    return evse


def _quote(
    services: Services, context: StationContext, evse: Evse, token: str | None, at: datetime
) -> Quote | None:
    try:
        return price_now(services, context.actor, evse_id=evse.id, token_uid=token, at=at)
    except NotFound:
        return None  # no tariff applies: the session is kept, flagged, and priced at nothing


def start_transaction(
    services: Services,
    context: StationContext,
    *,
    evse_number: int | None,
    id_token: str | None,
    started_at: datetime,
    transaction_id: str | None,
    start_key: str | None,
    samples: Sequence[MeterSample],
    frames: Sequence[Frame],
    opened_by: str = "Started",
) -> Started:
    """``opened_by``: the 2.0.1 event that opens the session ("Updated", "Ended": its Started has not
    arrived yet), "Started" for a start."""
    station = context.station
    operator_id = station.operator_id
    # A value too large to record is kept in the start's frame alone; the session's close judges the
    # energy from the samples that could be recorded.
    samples, _ = recordable_samples(samples)
    with services.uow() as uow:
        existing = (
            uow.live_sessions.find_by_transaction(operator_id, station.id, transaction_id)
            if transaction_id is not None
            else uow.live_sessions.find_by_start_key(operator_id, station.id, start_key or "")
        )
        finished = None
        if existing is not None and transaction_id is None and existing.status is not SessionStatus.ACTIVE:
            # The same 1.6 start as a session already stopped: a resend comes before its stop, so
            # this is a new transaction (a charger that repeats connector, card, time and register).
            finished, existing = existing.id, None
        awaiting = None
        if existing is not None and transaction_id is not None and opened_by == "Started":
            awaiting = uow.live_sessions.details(operator_id, existing.id) or {}
        if awaiting and AWAITING_STARTED in awaiting and existing is not None:
            late = existing
        elif existing is not None:
            uow.frames.add_many(frames, session_id=existing.id)
            uow.commit()
            number = (
                int(existing.transaction_id)
                if existing.transaction_id and existing.transaction_id.isdigit()
                else None
            )
            return Started(existing, number, AuthorizationStatus.ACCEPTED, None, True)
        else:
            late = None
        concurrent = any(
            other.id != (late.id if late else None)
            and START_REFUSED not in (uow.live_sessions.details(operator_id, other.id) or {})
            for other in (uow.live_sessions.active_of_token(operator_id, id_token) if id_token else ())
        )  # a transaction whose own start was refused is not the card's: it blocks nobody
        adhoc = _adhoc_start(uow.session_payments.start_by_id_tag(operator_id, id_token or ""), station.id)
    ours = late is not None and adhoc is not None and adhoc.session_id == late.id
    if adhoc is not None and adhoc.status is not AdhocStatus.STARTING and not ours:
        return _refused(services, frames)  # the payment no longer waits for a start: nothing is opened
    if late is not None:
        started = _adopt(
            services, context, late, awaiting or {}, id_token=id_token, started_at=started_at,
            samples=samples, frames=frames, adhoc=adhoc,
        )  # fmt: skip
        if concurrent and started.authorization is AuthorizationStatus.ACCEPTED:
            started = replace(started, authorization=AuthorizationStatus.CONCURRENT_TX)
        return started
    authorization = authorize(services, context.actor, id_token) if id_token and adhoc is None else None
    status = AuthorizationStatus.ACCEPTED if authorization is None else authorization.status
    if concurrent and status is AuthorizationStatus.ACCEPTED:
        status = AuthorizationStatus.CONCURRENT_TX
    evse = _evse(context, evse_number)
    quote = _quote(services, context, evse, id_token, started_at)
    with services.uow() as uow:
        number = uow.live_sessions.next_transaction_number(station.id) if transaction_id is None else None
        session = ChargingSession(
            id=services.ids.new_id(),
            operator_id=operator_id,
            location_id=station.location_id,
            station_id=station.id,
            evse_id=evse.id,
            status=SessionStatus.ACTIVE,
            started_at=started_at,
            ended_at=None,
            energy_wh=ZERO,
            currency=quote.tariff.currency if quote else context.currency,
            tariff_version_id=quote.version.id if quote else None,
            total_excl_vat=None,
            total_incl_vat=None,
            total_excl_vat_minor=None,
            total_incl_vat_minor=None,
            created_at=services.clock.now(),
            customer_id=authorization.customer.id if authorization and authorization.customer else None,
            contract_id=authorization.contract_id if authorization else None,
            token_uid=id_token,
            connector_class=quote.connector_class if quote else None,
            tariff_id=quote.tariff.id if quote else None,
            price_rule=quote.choice.rule.value if quote else None,
            price_reason=quote.choice.reason if quote else None,
            transaction_id=transaction_id or str(number),
        )
        if finished is not None:
            uow.live_sessions.release_start_key(operator_id, finished)
        details: dict[str, Any] | None = None if opened_by == "Started" else {AWAITING_STARTED: opened_by}
        if status is not AuthorizationStatus.ACCEPTED:
            # The charger was told the card may not charge (concurrent, invalid, blocked, expired): the
            # transaction still gets its id (it may go on, offline or against the answer), but it is
            # never paid for without an operator's look (``ends``: REVIEW) and blocks nobody's card.
            details = {**(details or {}), START_REFUSED: status.value}
        uow.live_sessions.open(
            session, transaction_id=session.transaction_id or "", start_key=start_key, details=details
        )
        given_up = adhoc is not None and not _link(uow, services, adhoc, session)
        if not given_up:  # else it gave up waiting meanwhile: left uncommitted, the session is not opened
            carrier = uow.frames.add_many(frames, session_id=session.id)
            uow.meter_samples.add_many(
                operator_id, session.id, samples, frame_id=carrier[0] if carrier else None
            )
            uow.commit()
    if given_up:
        return _refused(services, frames)
    text = describe_tariff(services.ocpi.read_tariff(quote.version.document).tariff) if quote else None
    return Started(session, number, status, text, False)


def _refused(services: Services, frames: Sequence[Frame]) -> Started:
    """A start answered Invalid: its frames are on record, no session is opened."""
    with services.uow() as uow:
        uow.frames.add_many(frames, session_id=None)
        uow.commit()
    return Started(None, None, AuthorizationStatus.INVALID, None, False)


def _adopt(
    services: Services,
    context: StationContext,
    session: ChargingSession,
    details: Mapping[str, Any],
    *,
    id_token: str | None,
    started_at: datetime,
    samples: Sequence[MeterSample],
    frames: Sequence[Frame],
    adhoc: AdhocStart | None,
) -> Started:
    """The Started of a session its Updated or Ended opened: its token, price and start are taken on,
    its samples join the session's; one that ended is priced again from all its samples."""
    operator_id = session.operator_id
    token = id_token or session.token_uid
    authorization = authorize(services, context.actor, token) if token and adhoc is None else None
    status = AuthorizationStatus.ACCEPTED if authorization is None else authorization.status
    start = min(started_at, session.started_at)
    evse = next((evse for evse in context.evses.values() if evse.id == session.evse_id), None)
    quote = _quote(services, context, evse, token, start) if evse is not None else None
    adopted = replace(
        session,
        started_at=start,
        token_uid=token,
        customer_id=authorization.customer.id if authorization and authorization.customer else None,
        contract_id=authorization.contract_id if authorization else None,
        currency=quote.tariff.currency if quote else session.currency,
        tariff_version_id=quote.version.id if quote else None,
        connector_class=quote.connector_class if quote else None,
        tariff_id=quote.tariff.id if quote else None,
        price_rule=quote.choice.rule.value if quote else None,
        price_reason=quote.choice.reason if quote else None,
    )
    text = describe_tariff(services.ocpi.read_tariff(quote.version.document).tariff) if quote else None
    rest = {key: value for key, value in details.items() if key != AWAITING_STARTED}
    if session.status is SessionStatus.ACTIVE:
        with services.uow() as uow:
            uow.live_sessions.amend(adopted, details=rest or None)
            if adhoc is not None and adhoc.session_id is None and not _link(uow, services, adhoc, adopted):
                status = AuthorizationStatus.INVALID
            carrier = uow.frames.add_many(frames, session_id=session.id)
            uow.meter_samples.add_many(
                operator_id, session.id, samples, frame_id=carrier[0] if carrier else None
            )
            uow.commit()
        return Started(adopted, None, status, text, False)
    with services.uow(read_only=True) as uow:
        every_sample = [*uow.meter_samples.of_session(operator_id, session.id), *samples]
    now = services.clock.now()
    closed, evidence, usage = close_priced(
        services,
        context,
        replace(adopted, status=SessionStatus.ACTIVE),
        every_sample,
        reported_end=session.ended_at or start,
        closed_at=now,
        reason=details.get("stop_reason"),
    )
    with services.uow() as uow:
        carrier = uow.frames.add_many(frames, session_id=session.id)
        uow.meter_samples.add_many(operator_id, session.id, samples, frame_id=carrier[0] if carrier else None)
        uow.live_sessions.close(closed, details=evidence)
        if usage is not None:
            uow.analytics.add_usage(operator_id, closed.id, usage)
        why = (
            f"the transaction's Started event came after its {details[AWAITING_STARTED]}: priced again "
            "with its token, start reading and start time"
        )
        uow.session_reviews.add(
            ReviewEvent(
                id=services.ids.new_id(), operator_id=operator_id, session_id=session.id, at=now,
                actor="evbill (late Started)", action=ReviewAction.RERATED, reason=why,
                status_before=session.status, status_after=closed.status,
            )
        )  # fmt: skip
        uow.commit()
    return Started(closed, None, status, text, False, ended=True)


def _adhoc_start(start: AdhocStart | None, station_id: str) -> AdhocStart | None:
    return start if start is not None and start.station_id == station_id else None


def _link(uow: UnitOfWork, services: Services, start: AdhocStart, session: ChargingSession) -> bool:
    """Link the session to the ad hoc payment that asked for it; False if the payment gave up waiting."""
    linked = replace(
        start, status=AdhocStatus.CHARGING, session_id=session.id, updated_at=services.clock.now()
    )
    return uow.session_payments.update_start(linked, expected=frozenset({AdhocStatus.STARTING}))


def price_text(
    services: Services, context: StationContext, *, evse_number: int, id_token: str | None
) -> str | None:
    """The tariff in words for a driver about to charge at one of the station's EVSEs (None: no tariff)."""
    quote = _quote(services, context, _evse(context, evse_number), id_token, services.clock.now())
    if quote is None:
        return None
    return describe_tariff(services.ocpi.read_tariff(quote.version.document).tariff)


def find_session(services: Services, context: StationContext, transaction_id: str) -> ChargingSession | None:
    with services.uow(read_only=True) as uow:
        return uow.live_sessions.find_by_transaction(
            context.station.operator_id, context.station.id, transaction_id
        )


def live_sessions(services: Services, context: StationContext) -> Sequence[ChargingSession]:
    """The station's sessions still ACTIVE (a reconnect or a server restart picks them up again)."""
    station = context.station
    with services.uow(read_only=True) as uow:
        return uow.sessions.list(
            station.operator_id,
            filters={"station_id": station.id, "status": SessionStatus.ACTIVE},
            after=None,
            limit=200,
        )
