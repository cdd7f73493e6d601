"""Ending a transaction: clean the meter series, build periods, rate, store the priced session.

The session is stored with its anomalies, signed meter values, explanation and OCPI CDR. Ending twice
changes nothing; a stop for an unknown transaction is recorded and answered.

A 2.0.1 session whose Started has not arrived (its Updated or Ended came first and opened it) is
priced from what is known, and waits in REVIEW (``STARTED_MISSING``): its token, start reading and
start time may be missing, so it is not paid for until its Started comes (``starts``), which prices
it again. Its Updated events that come after its end join it and price it again the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from evbill.application.charging.checks import Checked, checked, rated_power_w
from evbill.application.charging.costs import Cost, Priced, price_samples, stored_cost
from evbill.application.charging.stations import StationContext
from evbill.application.records import Services, snapshot
from evbill.domain.billing.cycle import parts_of
from evbill.domain.charging.frames import Frame
from evbill.domain.charging.review import ReviewAction, ReviewEvent
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.country import alpha_3
from evbill.domain.metering.cleaning import Anomaly, MeterFlag, MeterSample
from evbill.domain.metering.plausibility import IMPLAUSIBLE_FLAGS, recordable_samples
from evbill.domain.metering.usage import SessionUsage
from evbill.domain.money import PreciseMoney, settle
from evbill.domain.quantities import held_seconds
from evbill.domain.rating.explanation import explain

ZERO = Decimal(0)


AWAITING_STARTED = "awaiting_started"  # evidence of a 2.0.1 session opened before its Started
START_REFUSED = "start_refused"  # evidence of a session whose start the charger was told to refuse


@dataclass(frozen=True, slots=True)
class Ended:
    cost: Cost | None  # None for a stop of a transaction evbill never saw
    duplicate: bool
    awaiting_started: bool = False  # its Started has not arrived: not to be paid for yet


def end_transaction(
    services: Services,
    context: StationContext,
    *,
    transaction_id: str,
    ended_at: datetime,
    reason: str | None,
    samples: Sequence[MeterSample],
    frames: Sequence[Frame],
) -> Ended:
    """Close a session priced, once. A stop for an unknown transaction is recorded and answered."""
    station = context.station
    samples, unrecordable = recordable_samples(samples)
    with services.uow() as uow:
        session = uow.live_sessions.find_by_transaction(station.operator_id, station.id, transaction_id)
        if session is None or session.status is not SessionStatus.ACTIVE:
            uow.frames.add_many(frames, session_id=None if session is None else session.id)
            uow.commit()
            if session is None:
                return Ended(None, False)
            return Ended(stored_cost(session, context), True)
        # The stop's own samples come last, as they will be stored (in the closing transaction below).
        every_sample = [*uow.meter_samples.of_session(station.operator_id, session.id), *samples]
        opened = uow.live_sessions.details(station.operator_id, session.id) or {}
        awaiting = opened.get(AWAITING_STARTED)
        refused = opened.get(START_REFUSED)
    closed, details, usage = close_priced(
        services,
        context,
        session,
        every_sample,
        reported_end=ended_at,
        closed_at=services.clock.now(),
        reason=reason,
    )
    if unrecordable:  # a stop always closes; what could not be recorded sends the session to review
        details["anomalies"] = [*details.get("anomalies", []), *(snapshot(a) for a in unrecordable)]
        closed = replace(closed, status=SessionStatus.REVIEW)
        details["review"] = review_reasons(details)
    if awaiting:
        closed = replace(closed, status=SessionStatus.REVIEW)
        details = awaiting_its_start(details, awaiting)
        usage = None  # stored once priced with its Started
    if refused:
        closed = replace(closed, status=SessionStatus.REVIEW)
        details = its_start_refused(details, refused)
    with services.uow() as uow:
        carrier = uow.frames.add_many(frames, session_id=session.id)
        uow.meter_samples.add_many(
            station.operator_id, session.id, samples, frame_id=carrier[0] if carrier else None
        )
        uow.live_sessions.close(closed, details=details)
        if usage is not None:  # the periods it was rated on, for tariff backtests
            uow.analytics.add_usage(station.operator_id, closed.id, usage)
        if closed.status is SessionStatus.REVIEW:
            uow.session_reviews.add(flagged(services, closed, details))
        uow.commit()
    return Ended(stored_cost(closed, context), False, awaiting_started=bool(awaiting))


def awaiting_its_start(details: dict[str, Any], opened_by: str) -> dict[str, Any]:
    """The evidence of a session priced without its Started: marked, and why it waits in review."""
    why = (
        f"STARTED_MISSING: the Started event has not arrived (the transaction was opened by its {opened_by} "
        "event): its token, start reading and start time may be missing; it is priced again when it comes"
    )
    return {**details, AWAITING_STARTED: opened_by, "review": [*review_reasons(details), why]}


def its_start_refused(details: dict[str, Any], answer: str) -> dict[str, Any]:
    """The evidence of a session the charger ran although its start was answered ``answer``: kept,
    and why it waits in review (an operator accepts it, or voids it)."""
    why = (
        f"START_REFUSED: the start was answered {answer} (the card could not charge then), yet the "
        "charger went on: not charged to anyone until an operator accepts it"
    )
    return {**details, START_REFUSED: answer, "review": [*review_reasons(details), why]}


def late_update(
    services: Services,
    context: StationContext,
    *,
    session: ChargingSession,
    samples: Sequence[MeterSample],
    frames: Sequence[Frame],
) -> None:
    """A 2.0.1 Updated for a session that ended. Its samples join the session; one still awaiting its
    Started is priced again with them (it stays in review until the Started comes)."""
    operator_id = context.station.operator_id
    samples, _ = recordable_samples(samples)
    with services.uow(read_only=True) as uow:
        before = uow.live_sessions.details(operator_id, session.id) or {}
        every_sample = [*uow.meter_samples.of_session(operator_id, session.id), *samples]
    awaiting = before.get(AWAITING_STARTED)
    if awaiting:
        closed, details, _ = close_priced(
            services,
            context,
            replace(session, status=SessionStatus.ACTIVE),
            every_sample,
            reported_end=session.ended_at or session.started_at,
            closed_at=services.clock.now(),
            reason=before.get("stop_reason"),
        )
        closed = replace(closed, status=SessionStatus.REVIEW)
        details = awaiting_its_start(details, awaiting)
    with services.uow() as uow:
        carrier = uow.frames.add_many(frames, session_id=session.id)
        uow.meter_samples.add_many(operator_id, session.id, samples, frame_id=carrier[0] if carrier else None)
        if awaiting:
            uow.live_sessions.close(closed, details=details)
        uow.commit()


def close_priced(
    services: Services,
    context: StationContext,
    session: ChargingSession,
    samples: Sequence[MeterSample],
    *,
    reported_end: datetime,
    closed_at: datetime,
    reason: str | None,
) -> tuple[ChargingSession, dict[str, Any], SessionUsage | None]:
    """The session closed and priced from its plausible data, with its evidence and the periods it was
    rated on (None when it could not be priced). It always closes: implausible data sends it to
    review, and so does a price that cannot be made at all."""
    usage = None
    try:
        fit = checked(
            services,
            session,
            samples,
            reported_end=reported_end,
            closed_at=closed_at,
            max_power_w=rated_power_w(services, session),
        )
        priced = price_samples(services, context, session, fit)
        closed, details = _closed(session, priced, context, fit, reason, samples)
        if priced is not None:
            details["cdr"] = _cdr(services, context, closed, priced)
            usage = priced.metered.usage
    except Exception as error:  # noqa: BLE001  # a stop must close the session whatever went wrong
        failure = Anomaly(MeterFlag.PRICING_FAILED, reported_end, f"{type(error).__name__}: {error}"[:300])
        end = max(session.started_at, min(reported_end, closed_at))
        closed = _unpriced(session, end, SessionStatus.REVIEW)
        details = {"stop_reason": reason, "anomalies": [snapshot(failure)]}
    if closed.status is SessionStatus.REVIEW:
        details["review"] = review_reasons(details)
    return closed, details, usage


def review_reasons(details: dict[str, Any]) -> list[str]:
    """Why a session awaits review: its implausible anomalies, in words."""
    implausible = {flag.value for flag in IMPLAUSIBLE_FLAGS}
    return [
        f"{anomaly['flag']}: {anomaly['detail']}"
        for anomaly in details.get("anomalies", [])
        if anomaly.get("flag") in implausible
    ]


def flagged(services: Services, session: ChargingSession, details: dict[str, Any]) -> ReviewEvent:
    return ReviewEvent(
        id=services.ids.new_id(),
        operator_id=session.operator_id,
        session_id=session.id,
        at=services.clock.now(),
        actor="evbill (plausibility checks)",
        action=ReviewAction.FLAGGED,
        reason="; ".join(details.get("review", []))[:2000],
        status_before=SessionStatus.ACTIVE,
        status_after=session.status,
    )


def _unpriced(session: ChargingSession, end: datetime, status: SessionStatus) -> ChargingSession:
    return replace(
        session,
        status=status,
        ended_at=end,
        total_excl_vat=ZERO,
        total_incl_vat=ZERO,
        total_excl_vat_minor=0,
        total_incl_vat_minor=0,
    )


def _closed(
    session: ChargingSession,
    priced: Priced | None,
    context: StationContext,
    fit: Checked,
    reason: str | None,
    samples: Sequence[MeterSample],
) -> tuple[ChargingSession, dict[str, Any]]:
    """The finished session and its evidence: anomalies, signed meter values, explanation, CDR."""
    signed = [sample.signed_data for sample in samples if sample.signed_data]
    details: dict[str, Any] = {"stop_reason": reason, "signed_meter_values": signed}
    status = SessionStatus.REVIEW if fit.needs_review else SessionStatus.COMPLETED
    checks = [snapshot(anomaly) for anomaly in fit.anomalies]
    if priced is None:
        no_tariff = {"flag": "NO_TARIFF", "detail": "no tariff applied at the session's start"}
        details["anomalies"] = [no_tariff, *checks]
        return replace(_unpriced(session, fit.end, status), started_at=fit.start), details
    rated = priced.metered.rated
    total = rated.total_cost
    if any(anomaly.flag in IMPLAUSIBLE_FLAGS for anomaly in priced.metered.anomalies):
        status = SessionStatus.REVIEW  # the meter series itself was implausible (a register below zero)
    details["anomalies"] = [*checks, *(snapshot(anomaly) for anomaly in priced.metered.anomalies)]
    details["explanation"] = explain(priced.metered.usage, priced.compiled, rated).as_dict()
    closed = replace(
        session,
        status=status,
        started_at=fit.start,
        ended_at=fit.end,
        energy_wh=rated.total_energy_wh,
        total_excl_vat=total.excl_vat,
        total_incl_vat=total.incl_vat,
        total_excl_vat_minor=settle(
            PreciseMoney(total.excl_vat, rated.currency), context.rounding
        ).minor_units,
        total_incl_vat_minor=settle(
            PreciseMoney(total.incl_vat, rated.currency), context.rounding
        ).minor_units,
        parts=parts_of(rated),
        charging_s=held_seconds(rated.total_charging_s),
    )
    return closed, details


def _cdr(
    services: Services, context: StationContext, session: ChargingSession, priced: Priced
) -> dict[str, Any]:
    """The session's OCPI CDR: where (location, EVSE, connector), who (token), what it cost."""
    location, station = context.location, context.station
    evse = next(e for e in context.evses.values() if e.id == session.evse_id)
    with services.uow() as uow:
        connectors = uow.connectors.list(
            session.operator_id, filters={"evse_id": evse.id}, after=None, limit=10
        )
        operator = uow.operators.get(session.operator_id)
        token = uow.tokens.find_by_uid(session.operator_id, session.token_uid) if session.token_uid else None
    connector = connectors[0] if connectors else None
    tariff = priced.compiled.tariff
    place = {
        "location_id": location.id,
        "name": location.name,
        "address": location.address,
        "city": location.city,
        "postal_code": location.postal_code,
        "country_alpha_3": alpha_3(location.country),
        "latitude": location.latitude,
        "longitude": location.longitude,
        "evse_uid": evse.id,
        "evse_id": evse.evse_id,
        "connector_id": str(connector.connector_number if connector else 1),
        "connector_standard": connector.standard.value if connector else "IEC_62196_T2",
        "connector_format": connector.format.value if connector else "SOCKET",
        "connector_power_type": connector.power_type.value if connector else "AC_3_PHASE",
    }
    return services.ocpi.write_session_cdr(
        cdr_id=session.id,
        country_code=tariff.country_code or (operator.country if operator else "ZZ"),
        party_id=tariff.party_id or station.charge_point_id[:3].upper(),
        token_uid=session.token_uid,
        contract_id=token.contract_id if token else None,  # the token's eMA id, as OCPI means it
        place=place,
        usage=priced.metered.usage,
        rated=priced.metered.rated,
        tariff_document=services.ocpi.write_tariff(tariff),
        rounding=context.rounding,
        last_updated=services.clock.now(),
    )
