"""Operators' decisions on a stuck or faulty session: close it, void it, or re-rate it.

Each takes a reason, is allowed to roles that manage sessions, and leaves two records in the same
transaction: an audit entry with the session before and after, and a ``ReviewEvent`` with the
reason and the status before and after (``domain.charging.review``).

* ``close_session``: a session still ``ACTIVE`` (the stop never came) is closed and priced from the
  data received, up to ``ended_at`` (default: the last sample's time). The plausibility checks apply
  as at a stop: implausible data sends it to ``REVIEW``.
* ``rerate_session``: a closed session is priced again from its stored samples (plausible ones only),
  optionally up to a corrected ``ended_at``; the operator accepts the result, so it is ``COMPLETED``
  and billable.
* ``correct_energy``: a closed session is priced again with the energy an operator sets (the
  charger's readings stay as evidence, the correction beside them) and accepted for billing.
* ``void_session``: any session is closed at no charge (``VOIDED``), kept with its evidence.

None of the three changes a session a tax document charged already (on a bill of its contract, or
with a receipt): ``check_not_billed`` refuses with 409, naming the document; a credit note corrects it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from evbill.application.charging.ends import START_REFUSED, close_priced, its_start_refused
from evbill.application.charging.stations import station_context
from evbill.application.ports import UnitOfWork
from evbill.application.records import Services, audit, require
from evbill.domain.access.keys import AuditAction
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.charging.review import ReviewAction, ReviewEvent
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import Conflict, InvalidInput, NotFound, Problem
from evbill.domain.invoicing.documents import DocumentStatus
from evbill.domain.metering.cleaning import ChargingState, MeterSample
from evbill.domain.metering.plausibility import RECORDABLE_LIMIT

ZERO = Decimal(0)
MAX_REASON = 2000
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class SessionReview:
    """Where a session stands: its status, why it awaits review, and every decision taken on it."""

    session: ChargingSession
    reasons: Sequence[str]
    events: Sequence[ReviewEvent]


def review_of(services: Services, actor: Actor, session_id: str) -> SessionReview:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        session = _session(uow.sessions.get(actor.operator_id, session_id), session_id)
        details = uow.live_sessions.details(actor.operator_id, session_id) or {}
        events = uow.session_reviews.of_session(actor.operator_id, session_id)
    return SessionReview(session, list(details.get("review", [])), events)


def close_session(
    services: Services, actor: Actor, session_id: str, *, reason: str, ended_at: datetime | None = None
) -> ChargingSession:
    """Close a session whose stop never came, priced from the data received."""
    return _reprice(services, actor, session_id, reason, ended_at, ReviewAction.CLOSED)


def rerate_session(
    services: Services, actor: Actor, session_id: str, *, reason: str, ended_at: datetime | None = None
) -> ChargingSession:
    """Price a closed session again from its stored samples and accept the result for billing."""
    return _reprice(services, actor, session_id, reason, ended_at, ReviewAction.RERATED)


def correct_energy(
    services: Services, actor: Actor, session_id: str, *, energy_wh: Decimal, reason: str
) -> ChargingSession:
    """Set a closed session's energy (a meter photo, the charger's own log) and price it again with
    it, linearly over the session's time, accepted for billing. The charger's readings and their
    anomalies stay as evidence; the correction is kept beside them (``energy_correction``): what
    was billed before, what is now, who and why. An energy the EVSE cannot deliver in the session's
    time is refused, like a reading would be."""
    require(actor, Permission.BILL)
    reason = _reason(reason)
    if not energy_wh.is_finite() or energy_wh < 0 or energy_wh >= RECORDABLE_LIMIT:
        problem = Problem("$.energy_wh", "a number of Wh, 0 or more")
        raise InvalidInput("the energy is not valid", (problem,))
    with services.uow(read_only=True) as uow:
        before = _session(uow.sessions.get(actor.operator_id, session_id), session_id)
        details_before = dict(uow.live_sessions.details(actor.operator_id, session_id) or {})
        check_not_billed(uow, before)
    if before.status in (SessionStatus.ACTIVE, SessionStatus.VOIDED) or before.ended_at is None:
        raise Conflict(
            f"session {session_id!r} is {before.status.value}: only a closed, priced one is corrected"
        )
    start, end = before.started_at, before.ended_at
    corrected = [
        MeterSample(start, ZERO, state=ChargingState.CHARGING),
        MeterSample(max(end, start + _MICROSECOND), energy_wh, state=ChargingState.CHARGING),
    ]
    context = station_context(services, actor.operator_id, before.station_id)
    after, priced, _ = close_priced(
        services,
        context,
        replace(before, status=SessionStatus.ACTIVE),
        corrected,
        reported_end=end,
        closed_at=max(services.clock.now(), end),
        reason=details_before.get("stop_reason"),
    )
    if after.status is SessionStatus.REVIEW:
        why = "; ".join(priced.get("review", []))[:500]
        problem = Problem("$.energy_wh", f"not plausible for this session: {why}")
        raise InvalidInput("the corrected energy cannot be priced", (problem,))
    details = {key: value for key, value in details_before.items() if key != "review"}
    details.update({key: priced[key] for key in ("explanation", "cdr") if key in priced})
    details["energy_correction"] = {
        "energy_wh": str(energy_wh),
        "billed_energy_wh_before": str(before.energy_wh),
        "total_incl_vat_before": None
        if before.total_incl_vat is None
        else f"{before.total_incl_vat.normalize():f}",
        "reason": reason,
        "by": actor.name,
    }
    details["accepted"] = {"reason": reason, "by": actor.name}
    with services.uow() as uow:
        current = _session(uow.sessions.get(actor.operator_id, session_id), session_id)
        if current.status is not before.status:
            raise Conflict(f"session {session_id!r} changed meanwhile ({current.status.value}); try again")
        check_not_billed(uow, current)
        _record(services, uow, actor, before, after, details, ReviewAction.CORRECTED, reason)
        uow.commit()
    return after


def void_session(services: Services, actor: Actor, session_id: str, *, reason: str) -> ChargingSession:
    """Close a session at no charge; its evidence stays. Giving a charge away is a billing decision:
    it needs the billing permission, not only the sessions one."""
    require(actor, Permission.BILL)
    reason = _reason(reason)
    with services.uow() as uow:
        before = _session(uow.sessions.get(actor.operator_id, session_id), session_id)
        if before.status is SessionStatus.VOIDED:
            raise Conflict(f"session {session_id!r} is already voided")
        check_not_billed(uow, before)
        details = dict(uow.live_sessions.details(actor.operator_id, session_id) or {})
        after = replace(
            before,
            status=SessionStatus.VOIDED,
            ended_at=before.ended_at or services.clock.now(),
            total_excl_vat=ZERO,
            total_incl_vat=ZERO,
            total_excl_vat_minor=0,
            total_incl_vat_minor=0,
            parts=(),
        )
        details["voided"] = {"reason": reason, "by": actor.name}
        _record(services, uow, actor, before, after, details, ReviewAction.VOIDED, reason)
        uow.commit()
    return after


def _reprice(
    services: Services,
    actor: Actor,
    session_id: str,
    reason: str,
    ended_at: datetime | None,
    action: ReviewAction,
) -> ChargingSession:
    # Closing a stuck session from the data received looks after sessions; pricing one again, or to
    # an end the operator chooses, decides what the driver pays: that is billing's (issue: support
    # may not hand out money).
    money_decision = action is ReviewAction.RERATED or ended_at is not None
    require(actor, Permission.BILL if money_decision else Permission.MANAGE_SESSIONS)
    reason = _reason(reason)
    with services.uow(read_only=True) as uow:
        before = _session(uow.sessions.get(actor.operator_id, session_id), session_id)
        samples = uow.meter_samples.of_session(actor.operator_id, session_id)
        details_before = uow.live_sessions.details(actor.operator_id, session_id) or {}
        check_not_billed(uow, before)
    if action is ReviewAction.CLOSED and before.status is not SessionStatus.ACTIVE:
        raise Conflict(f"session {session_id!r} is {before.status.value}: only an ACTIVE one can be closed")
    if action is ReviewAction.RERATED and before.status is SessionStatus.ACTIVE:
        raise Conflict(f"session {session_id!r} is still ACTIVE: close it first")
    if action is ReviewAction.RERATED and not samples:
        raise Conflict(f"session {session_id!r} has no meter values to price again (it was not metered here)")
    now = services.clock.now()
    end = ended_at or _last_reported(before, samples)
    context = station_context(services, actor.operator_id, before.station_id)
    opened = replace(before, status=SessionStatus.ACTIVE)
    after, details, _ = close_priced(
        services,
        context,
        opened,
        samples,
        reported_end=end,
        closed_at=now,
        reason=details_before.get("stop_reason"),
    )
    if action is ReviewAction.RERATED and after.status is SessionStatus.REVIEW:
        after = replace(after, status=SessionStatus.COMPLETED)  # the operator accepts the result
        details["accepted"] = {"reason": reason, "by": actor.name}
    elif action is ReviewAction.CLOSED and START_REFUSED in details_before:
        # closed by an operator, a transaction whose start was refused still waits to be accepted
        after = replace(after, status=SessionStatus.REVIEW)
        details = its_start_refused(details, details_before[START_REFUSED])
    with services.uow() as uow:
        current = _session(uow.sessions.get(actor.operator_id, session_id), session_id)
        if current.status is not before.status:
            raise Conflict(f"session {session_id!r} changed meanwhile ({current.status.value}); try again")
        check_not_billed(uow, current)
        _record(services, uow, actor, before, after, details, action, reason)
        uow.commit()
    return after


def check_not_billed(uow: UnitOfWork, session: ChargingSession) -> None:
    """Refuse to change the price of a session a tax document already charged (``billed_on``). What
    was billed stands as billed; a correction goes through the document (a credit note, or voiding
    it), so the invoice, the payments, the ledger and the reports keep agreeing (tester: a paid
    session re-priced to 0.90 left its 19.36 invoice paid and the reports changed behind it)."""
    billed = billed_on(uow, session)
    if billed is not None:
        raise Conflict(
            f"session {session.id!r} is billed on {billed.document}: its price stands as billed; "
            "correct it with a credit note on it"
        )


@dataclass(frozen=True, slots=True)
class Billed:
    """The tax document that charged a session: ``document`` in words ("invoice AMS-2026-000001",
    "receipt RCP-000004", "the bill of 2026-11-01, invoiced next"); ``receipt``: it is the session's
    own receipt (paid by itself), not its contract's bill."""

    document: str
    receipt: bool = False


def billed_on(uow: UnitOfWork, session: ChargingSession) -> Billed | None:
    """The tax document that charged ``session``, or None: a bill of its contract lists it
    (recorded, or issued as an invoice), or it has a receipt that is not void."""
    if session.contract_id is not None:
        for recorded in uow.bills.of_contract(session.operator_id, session.contract_id):
            if any(line.session_id == session.id for line in recorded.bill.lines):
                invoice = (
                    None
                    if recorded.invoice_id is None
                    else uow.invoices.get(session.operator_id, recorded.invoice_id)
                )
                if invoice is None:
                    return Billed(f"the bill of {recorded.cycle_start:%Y-%m-%d}, invoiced next")
                return Billed(f"invoice {invoice.number or invoice.id}")
    receipt = uow.invoices.receipt_of_session(session.operator_id, session.id)
    if receipt is not None and receipt.status is not DocumentStatus.VOID:
        return Billed(f"receipt {receipt.number or receipt.id}", receipt=True)
    return None


def _record(
    services: Services,
    uow: UnitOfWork,
    actor: Actor,
    before: ChargingSession,
    after: ChargingSession,
    details: Mapping[str, Any],
    action: ReviewAction,
    reason: str,
) -> None:
    now = services.clock.now()
    uow.live_sessions.close(after, details=details)
    audit(uow, actor, now, AuditAction.UPDATE, "charging_session", after.id, before, after)
    uow.session_reviews.add(
        ReviewEvent(
            id=services.ids.new_id(),
            operator_id=after.operator_id,
            session_id=after.id,
            at=now,
            actor=f"{actor.name} ({actor.role.value})"[:200],
            action=action,
            reason=reason,
            status_before=before.status,
            status_after=after.status,
        )
    )


def _last_reported(session: ChargingSession, samples: Sequence[MeterSample]) -> datetime:
    """Where a session without a (trusted) stop ends by default: its last sample, else its end or start."""
    times = [sample.timestamp for sample in samples]
    return max(times) if times else session.ended_at or session.started_at


def _session(session: ChargingSession | None, session_id: str) -> ChargingSession:
    if session is None:
        raise NotFound(f"session {session_id!r} not found")
    return session


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text or len(text) > MAX_REASON:
        problem = Problem("$.reason", f"say why, in 1 to {MAX_REASON} characters")
        raise InvalidInput("a reason is required", (problem,))
    return text
