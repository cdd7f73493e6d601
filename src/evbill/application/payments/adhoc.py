"""Paying at the charger without an account (EU AFIR): the payment link, the hold, the remote start.

    GET  /pay/{evse}            where, which EVSE, the full price incl. VAT, and the hold
    POST /pay/{evse}/start      a card token -> hold -> remote start -> a session linked to the hold
    (3-D Secure)                ... -> confirm -> remote start
    the session stops           capture the final price (never above the hold; the rest released),
                                or release the hold of a session that cost nothing

The start is one ``AdhocStart`` record (``domain.payments.adhoc``) whose status moves forwards under
a lock on the EVSE: two requests at one EVSE give one hold (the second with the same idempotency
key gets the first's answer; with another key it is told the EVSE is busy). Money moves only
through the payment use cases (``payments.py``), each with its own idempotency key derived from the
start, so a retry after a crash captures or releases once. What fails after the hold releases it:
the station offline, the start rejected or unanswered, the station never starting the session by
the deadline (``settle_due``, run by the OCPP server every few seconds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal

from evbill.application.charging.pricing import Quote, price_now
from evbill.application.payments.payments import (
    PaymentView,
    authorise_payment,
    capture_payment,
    confirm_payment,
    get_payment,
    minor_units,
    release_payment,
)
from evbill.application.ports import PaymentGateway, SessionReceipts, StationCommands, UnitOfWork
from evbill.application.records import Services
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor, Role
from evbill.domain.charging.review import ReviewAction, ReviewEvent
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import Conflict, InvalidInput, NotFound, Problem
from evbill.domain.money import SettledMoney
from evbill.domain.payments.adhoc import (
    AdhocStart,
    AdhocStatus,
    CommandAnswer,
    capture_amount,
    id_tag_for,
)
from evbill.domain.payments.events import PaymentStatus
from evbill.domain.payments.model import PaymentPurpose, looks_like_card_number
from evbill.domain.sites.model import ChargingStation, Evse, Location
from evbill.domain.tariffs.model import Tariff, TariffDimension
from evbill.domain.tariffs.text import price_in_words

MAX_KEY = 150
# The driver's receipt, public: the start's unguessable id is the key (an anonymous driver has no API key)
RECEIPT = "/pay/{evse}/starts/{start_id}/receipt"
# README: the same Idempotency-Key with another path or body is a 422
_REUSED_FOR_EVSE = Problem("header.Idempotency-Key", "was used for a start at another EVSE")
_REUSED_FOR_BODY = Problem("header.Idempotency-Key", "was used for a start with another payment method")
_FAILURES = {
    CommandAnswer.REJECTED: "the station rejected the start",
    CommandAnswer.TIMEOUT: "the station did not answer the start in time",
    CommandAnswer.NOT_CONNECTED: "the station is offline",
}


@dataclass(frozen=True, slots=True)
class AdhocConfig:
    default_hold: Decimal = Decimal("50.00")  # in the EVSE's tariff currency, unless one is stored
    start_timeout: timedelta = timedelta(minutes=2)  # from the accepted remote start to StartTransaction
    action_timeout: timedelta = timedelta(minutes=10)  # to place the hold (3-D Secure included)
    # a request placing its hold reserves the EVSE; one that died doing so frees it after this
    authorising_timeout: timedelta = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class PayAtCharger:
    """What the ad hoc use cases need beyond ``Services``: the gateway, the stations, the settings."""

    services: Services
    gateway: PaymentGateway
    commands: StationCommands
    config: AdhocConfig = AdhocConfig()
    receipts: SessionReceipts | None = None  # None: no receipt is issued by itself (some unit tests)

    def paid(self, operator_id: str, session_id: str) -> None:
        """Money was taken for the session: its receipt (issued once, however often told)."""
        if self.receipts is not None:
            self.receipts.after_payment(operator_id, session_id)


@dataclass(frozen=True, slots=True)
class PayLink:
    location: Location
    station: ChargingStation
    evse: Evse
    tariff: Tariff
    price_text: str
    hold: int
    currency: str


@dataclass(frozen=True, slots=True)
class AdhocView:
    start: AdhocStart
    payment: PaymentView | None

    @property
    def receipt_url(self) -> str | None:
        finished = self.start.status is AdhocStatus.FINISHED and self.start.session_id
        return RECEIPT.format(evse=self.start.evse_id, start_id=self.start.id) if finished else None


def driver(operator_id: str) -> Actor:
    """Who acts for a driver paying through an operator's payment link (no API key: the link is public)."""
    return Actor(operator_id=operator_id, role=Role.BILLING, key_id="pay-link", name="driver at the charger")


def _place(uow: UnitOfWork, code: str) -> tuple[Location, ChargingStation, Evse]:
    operator_id = uow.session_payments.operator_of_evse(code)
    evse = uow.evses.get(operator_id, code) if operator_id else None
    station = uow.stations.get(evse.operator_id, evse.station_id) if evse else None
    location = uow.locations.get(station.operator_id, station.location_id) if station else None
    if evse is None or station is None or location is None:
        raise NotFound(f"no EVSE {code!r}")
    return location, station, evse


def _quote(svc: Services, evse: Evse) -> tuple[Quote, Tariff]:
    quote = price_now(svc, driver(evse.operator_id), evse_id=evse.id, token_uid=None)
    return quote, svc.ocpi.read_tariff(quote.version.document).tariff


def start_cost(tariff: Tariff) -> int:
    """What a session costs as soon as it starts, incl. VAT, in minor units rounded up: the largest
    start fee (FLAT, outside reservations) or the tariff's minimum price, whichever is more. A hold
    below it could never cover the session, so it is refused when set and raised to it at a start."""
    fees = [
        component.price * (1 + (component.vat or Decimal(0)) / 100)
        for element in tariff.elements
        if not (element.restrictions and element.restrictions.reservation)
        for component in element.price_components
        if component.dimension is TariffDimension.FLAT
    ]
    minimum = tariff.min_price
    floor = max(
        [*fees, Decimal(0)]
        + (
            []
            if minimum is None
            else [minimum.incl_vat if minimum.incl_vat is not None else minimum.excl_vat]
        )
    )
    scaled = floor.scaleb(currencies.exponent(tariff.currency))
    return int(scaled.to_integral_value(rounding=ROUND_CEILING))


def _hold(uow: UnitOfWork, config: AdhocConfig, location: Location, currency: str, floor: int = 0) -> int:
    stored = uow.session_payments.hold_amount(location.operator_id, location.id)
    if stored is None:
        return max(minor_units(str(config.default_hold), currency).minor_units, floor)
    amount, stored_currency = stored
    if stored_currency != currency:
        raise Conflict(f"the hold is set in {stored_currency}, but this EVSE charges in {currency}")
    return max(amount, floor)


def pay_link(pay: PayAtCharger, code: str) -> PayLink:
    """The public page of an EVSE's payment link: where, what it costs now (incl. VAT), the hold."""
    svc = pay.services
    with svc.uow(read_only=True) as uow:
        location, station, evse = _place(uow, code)
    quote, tariff = _quote(svc, evse)
    with svc.uow(read_only=True) as uow:
        hold = _hold(uow, pay.config, location, tariff.currency, start_cost(tariff))
    return PayLink(location, station, evse, tariff, price_in_words(tariff), hold, tariff.currency)


def _check(payment_method: str, idempotency_key: str) -> None:
    problems = []
    if not idempotency_key or len(idempotency_key) > MAX_KEY:
        problems.append(Problem("header.Idempotency-Key", f"1 to {MAX_KEY} characters, unique per request"))
    if looks_like_card_number(payment_method):
        problems.append(Problem("$.payment_method", "a card number is never accepted; send a gateway token"))
    if problems:
        raise InvalidInput("the start is refused", tuple(problems))


def start_adhoc(pay: PayAtCharger, code: str, *, payment_method: str, idempotency_key: str) -> AdhocView:
    """Hold the configured amount on the card, then ask the station to start (see the module's text)."""
    _check(payment_method, idempotency_key)
    svc = pay.services
    with svc.uow(read_only=True) as uow:
        location, _, evse = _place(uow, code)
    _, tariff = _quote(svc, evse)
    request_hash = hashlib.sha256(payment_method.encode()).hexdigest()
    claimed, new = _claim(
        pay, location, evse, tariff.currency, idempotency_key, start_cost(tariff), request_hash
    )
    if not new:
        return view_of(svc, claimed)  # the same request again: its answer as it stands now
    try:
        held = authorise_payment(
            svc,
            pay.gateway,
            driver(evse.operator_id),
            customer_id=None,
            purpose=PaymentPurpose.SESSION,
            subject=f"adhoc:{claimed.id}",
            amount=SettledMoney(claimed.amount, claimed.currency),
            payment_method=payment_method,
            idempotency_key=f"adhoc:{claimed.id}:authorise",
        )
    except Exception as error:
        _move(svc, claimed, AdhocStatus.FAILED, failure=f"not held: {error}"[:300])
        raise
    return _after_hold(pay, claimed, held)


def _claim(
    pay: PayAtCharger,
    location: Location,
    evse: Evse,
    currency: str,
    key: str,
    floor: int,
    request_hash: str,
) -> tuple[AdhocStart, bool]:
    """The start for this request: the one stored for the key (False), or a new one if the EVSE is
    free (True): only the request that made it goes on to hold and start."""
    svc = pay.services
    with svc.uow() as uow:
        uow.evses.lock(evse.operator_id, evse.id)  # one start at a time per EVSE
        earlier = uow.session_payments.start_by_key(evse.operator_id, key)
        if earlier is not None:
            if earlier.evse_id != evse.id:
                raise InvalidInput("the Idempotency-Key was used for another request", (_REUSED_FOR_EVSE,))
            if earlier.request_hash is not None and earlier.request_hash != request_hash:
                raise InvalidInput("the Idempotency-Key was used for another request", (_REUSED_FOR_BODY,))
            return earlier, False
        busy = uow.session_payments.open_start_at(evse.operator_id, evse.id)
        if busy is not None:
            raise Conflict("the EVSE is busy with another ad hoc start; try again when it is free")
        now = svc.clock.now()
        start_id = svc.ids.new_id()
        start = AdhocStart(
            id=start_id,
            operator_id=evse.operator_id,
            evse_id=evse.id,
            station_id=evse.station_id,
            idempotency_key=key,
            id_tag=id_tag_for(start_id),
            status=AdhocStatus.AUTHORISING,
            amount=_hold(uow, pay.config, location, currency, floor),
            currency=currency,
            created_at=now,
            updated_at=now,
            deadline=now + min(pay.config.authorising_timeout, pay.config.action_timeout),
            request_hash=request_hash,
        )
        uow.session_payments.add_start(start)
        uow.commit()
    return start, True


def _move(
    svc: Services,
    start: AdhocStart,
    status: AdhocStatus,
    *,
    expected: frozenset[AdhocStatus] | None = None,
    **changes: object,
) -> AdhocStart | None:
    """Store the start's next status if it still is in ``expected`` (default: where it is now)."""
    moved = replace(start, status=status, updated_at=svc.clock.now(), **changes)  # type: ignore[arg-type]
    with svc.uow() as uow:
        done = uow.session_payments.update_start(moved, expected=expected or frozenset({start.status}))
        uow.commit()
    return moved if done else None


def _after_hold(pay: PayAtCharger, start: AdhocStart, held: PaymentView) -> AdhocView:
    svc = pay.services
    status = held.state.status
    if status is PaymentStatus.DECLINED:
        failed = _move(svc, start, AdhocStatus.FAILED, payment_id=held.payment.id,
                       failure=f"declined: {held.state.decline_code}")  # fmt: skip
        return AdhocView(failed or start, held)
    if status is PaymentStatus.REQUIRES_ACTION:
        # waiting for the driver's 3-D Secure reserves nothing (see ``RESERVING``): its deadline
        # only releases the hold of an abandoned one
        waiting = _move(svc, start, AdhocStatus.REQUIRES_ACTION, payment_id=held.payment.id,
                        deadline=start.created_at + pay.config.action_timeout)  # fmt: skip
        return AdhocView(waiting or start, held)
    if status is not PaymentStatus.AUTHORISED:
        raise Conflict(f"the hold is {status.value}")
    starting, taken = _reserve(pay, start, held)
    if taken:
        with_payment = replace(start, payment_id=held.payment.id)
        return fail_and_release(pay, with_payment, "another driver started at this EVSE first")
    if starting is None:
        return view_of(svc, _reload(svc, start))
    return _remote_start(pay, starting, held)


def _reserve(pay: PayAtCharger, start: AdhocStart, held: PaymentView) -> tuple[AdhocStart | None, bool]:
    """The start moved to STARTING with its hold, if the EVSE is still free (under its lock): a start
    confirmed after 3-D Secure may find another driver's start there. (start, False) when moved,
    (None, True) when the EVSE was taken, (None, False) when the start moved on meanwhile."""
    svc = pay.services
    now = svc.clock.now()
    moved = replace(start, status=AdhocStatus.STARTING, updated_at=now, payment_id=held.payment.id,
                    deadline=now + pay.config.start_timeout)  # fmt: skip
    with svc.uow() as uow:
        uow.evses.lock(start.operator_id, start.evse_id)
        if uow.session_payments.open_start_at(start.operator_id, start.evse_id, other_than=start.id):
            return None, True
        done = uow.session_payments.update_start(moved, expected=frozenset({start.status}))
        uow.commit()
    return (moved if done else None), False


def _remote_start(pay: PayAtCharger, start: AdhocStart, held: PaymentView) -> AdhocView:
    svc = pay.services
    with svc.uow(read_only=True) as uow:
        station = uow.stations.get(start.operator_id, start.station_id)
        evse = uow.evses.get(start.operator_id, start.evse_id)
    assert station is not None
    assert evse is not None
    answer = pay.commands.remote_start(
        charge_point_id=station.charge_point_id, evse_number=evse.ocpp_evse_id or 1, id_tag=start.id_tag
    )
    if answer is CommandAnswer.ACCEPTED:
        return view_of(svc, _reload(svc, start))
    return fail_and_release(pay, start, _FAILURES[answer])


def fail_and_release(pay: PayAtCharger, start: AdhocStart, why: str) -> AdhocView:
    """Nothing will charge on this hold (the station did not start, the driver left 3-D Secure
    undone): record why and release the hold, once. ``start`` as last read: if it moved on since
    (its session started meanwhile), nothing changes."""
    svc = pay.services
    failed = _move(svc, start, AdhocStatus.FAILED, expected=frozenset({start.status}), failure=why)
    if failed is None:  # the session started meanwhile (its StartTransaction came first): keep the hold
        return view_of(svc, _reload(svc, start))
    held = get_payment(svc, driver(start.operator_id), start.payment_id) if start.payment_id else None
    if held is not None and held.state.status in (PaymentStatus.AUTHORISED, PaymentStatus.REQUIRES_ACTION):
        assert start.payment_id is not None
        release_payment(
            svc, pay.gateway, driver(start.operator_id), start.payment_id,
            idempotency_key=f"adhoc:{start.id}:release",
        )  # fmt: skip
    return view_of(svc, failed)


def confirm_adhoc(pay: PayAtCharger, code: str, start_id: str) -> AdhocView:
    """After the driver passed 3-D Secure: the hold is confirmed (or declined), then the remote start."""
    svc = pay.services
    start = _start_at(svc, code, start_id)
    if start.status is not AdhocStatus.REQUIRES_ACTION or start.payment_id is None:
        return view_of(svc, start)  # confirmed already (or never needed): as it stands
    held = confirm_payment(
        svc, pay.gateway, driver(start.operator_id), start.payment_id,
        idempotency_key=f"adhoc:{start.id}:confirm",
    )  # fmt: skip
    return _after_hold(pay, start, held)


def _start_at(svc: Services, code: str, start_id: str) -> AdhocStart:
    with svc.uow(read_only=True) as uow:
        _, _, evse = _place(uow, code)
        start = uow.session_payments.get_start(evse.operator_id, start_id)
    if start is None or start.evse_id != evse.id:
        raise NotFound(f"no start {start_id!r} at EVSE {code!r}")
    return start


def get_adhoc(svc: Services, code: str, start_id: str) -> AdhocView:
    return view_of(svc, _start_at(svc, code, start_id))


def _reload(svc: Services, start: AdhocStart) -> AdhocStart:
    with svc.uow(read_only=True) as uow:
        found = uow.session_payments.get_start(start.operator_id, start.id)
    assert found is not None
    return found


def view_of(svc: Services, start: AdhocStart) -> AdhocView:
    payment = None
    if start.payment_id is not None:
        payment = get_payment(svc, driver(start.operator_id), start.payment_id)
    return AdhocView(start, payment)


def settle_adhoc(pay: PayAtCharger, start: AdhocStart, session: ChargingSession) -> AdhocView:
    """The session ended: capture its price (at most the hold; the rest is released) or, for a
    session that cost nothing, release the hold. Retried after a crash, it moves the money once."""
    svc = pay.services
    assert start.payment_id is not None
    if awaits_operator(session):
        return view_of(svc, start)  # the hold stays; settled once the operator has priced the session
    who = driver(start.operator_id)
    held = get_payment(svc, who, start.payment_id)
    # a session that delivered no energy is not charged (a start fee included): the hold is released
    final = session.total_incl_vat_minor or 0 if session.energy_wh > 0 else 0
    amount = capture_amount(final, held.state.authorised)
    if held.state.status is PaymentStatus.AUTHORISED:
        if amount > 0:
            capture_payment(svc, pay.gateway, who, start.payment_id, amount=amount,
                            idempotency_key=f"adhoc:{start.id}:capture")  # fmt: skip
        else:
            release_payment(
                svc, pay.gateway, who, start.payment_id, idempotency_key=f"adhoc:{start.id}:release"
            )
    short = None
    if final > amount:
        # Never more than the hold from an anonymous driver, and no receipt left open for the rest:
        # the session waits for the operator (re-rate, correct or void it) before any receipt.
        short = (
            f"the session cost {_units(final, start.currency)}, {_units(final - amount, start.currency)}"
            f" more than the hold of {_units(held.state.authorised, start.currency)}: at most the hold is"
            " taken; the session awaits review"
        )
        _flag_for_review(svc, session, short)
    if amount > 0:  # before FINISHED: a crash here leaves the start due, and settle_due issues it then
        pay.paid(start.operator_id, session.id)
    finished = _move(svc, start, AdhocStatus.FINISHED, expected=frozenset({AdhocStatus.CHARGING}),
                     captured=amount, failure=short)  # fmt: skip
    return view_of(svc, finished or _reload(svc, start))


def awaits_operator(session: ChargingSession) -> bool:
    """Whether no money may move for the session until an operator prices it: it is in review with
    no plausible time at all (its stop was after the server's clock, or before its start, so every
    reading lies outside it: a charger whose clock runs ahead). Its 0.00 says nothing about what it
    delivered; releasing the hold would give that energy away. A session in review that was priced
    from plausible data (a backdated start, readings left out) is settled as priced.
    ``due_starts`` leaves these out in SQL (the same rule), so they do not come back at every sweep."""
    return (
        session.status is SessionStatus.REVIEW
        and session.ended_at is not None
        and session.ended_at <= session.started_at
    )


def _units(minor: int, currency: str) -> str:
    """An amount in minor units written in the currency's units: 45215 EUR -> "452.15 EUR"."""
    return f"{Decimal(minor).scaleb(-currencies.exponent(currency))} {currency}"


def _flag_for_review(svc: Services, session: ChargingSession, why: str) -> None:
    """Send a completed session to review with ``why`` (its evidence kept), once."""
    with svc.uow() as uow:
        current = uow.sessions.get(session.operator_id, session.id)
        if current is None or current.status is not SessionStatus.COMPLETED:
            return  # in review already, or voided: the operator has it
        details = dict(uow.live_sessions.details(session.operator_id, session.id) or {})
        details["review"] = [*details.get("review", []), why]
        flagged = replace(current, status=SessionStatus.REVIEW)
        uow.live_sessions.close(flagged, details=details)
        uow.session_reviews.add(
            ReviewEvent(
                id=svc.ids.new_id(),
                operator_id=session.operator_id,
                session_id=session.id,
                at=svc.clock.now(),
                actor="evbill (payment at the charger)",
                action=ReviewAction.FLAGGED,
                reason=why[:2000],
                status_before=SessionStatus.COMPLETED,
                status_after=SessionStatus.REVIEW,
            )
        )
        uow.commit()


_LATE = {
    AdhocStatus.STARTING: "the station did not start the session in time",
    AdhocStatus.REQUIRES_ACTION: "3-D Secure was not completed in time",
    AdhocStatus.AUTHORISING: "the hold was not placed in time",
}


def settle_due(pay: PayAtCharger, *, limit: int = 100) -> Sequence[AdhocView]:
    """Finish what is due: starts past their deadline (the station never began, 3-D Secure left
    undone, a request that died before its hold: failed, any hold released, the EVSE free again) and
    sessions that ended (captured). The OCPP server runs this every few seconds; it is safe to run
    anywhere, any time."""
    svc = pay.services
    with svc.uow(read_only=True) as uow:
        due = uow.session_payments.due_starts(svc.clock.now(), limit=limit)
    done = []
    for start in due:
        if start.status in _LATE:
            done.append(fail_and_release(pay, start, _LATE[start.status]))
            continue
        with svc.uow(read_only=True) as uow:
            session = uow.sessions.get(start.operator_id, start.session_id or "")
        if session is not None and session.status is not SessionStatus.ACTIVE:
            done.append(settle_adhoc(pay, start, session))
    return done
