"""/api/v1 sessions under review: why a session awaits an operator, and the operator's decisions.

``GET /sessions/{id}/review`` shows the status, the reasons (implausible charger data, a price that
could not be made) and every decision taken. ``POST /sessions/{id}/close``, ``/void``, ``/rerate``
and ``/energy-correction`` act on a stuck or faulty session; each needs a ``reason`` and is
audited (``application.charging.review``).
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, Field

from evbill.application.charging import review as use_cases
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.charging.sessions import ChargingSession
from evbill.entrypoints.api.common import Strict
from evbill.entrypoints.api.security import actor, services
from evbill.entrypoints.api.sessions import SessionOut, session_out

router = APIRouter(tags=["sessions"])


class DecisionIn(Strict):
    reason: str = Field(min_length=1, max_length=2000, description="Why: kept with the decision.")


class RepriceIn(DecisionIn):
    ended_at: AwareDatetime | None = Field(
        default=None, description="Where the session ends (default: its last meter value)."
    )


class ReviewEventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    reason: str
    status_before: str
    status_after: str


class ReviewOut(BaseModel):
    session: SessionOut
    reasons: list[str] = Field(description="Why the session awaits review (empty when it does not).")
    events: list[ReviewEventOut]


@router.get("/sessions/{session_id}/review", response_model=ReviewOut, summary="Why a session is in review")
def read_review(session_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)) -> ReviewOut:
    review = use_cases.review_of(svc, who, session_id)
    events = [
        ReviewEventOut(
            at=event.at,
            actor=event.actor,
            action=event.action.value,
            reason=event.reason,
            status_before=event.status_before.value,
            status_after=event.status_after.value,
        )
        for event in review.events
    ]
    return ReviewOut(session=session_out(review.session), reasons=list(review.reasons), events=events)


@router.post("/sessions/{session_id}/close", response_model=SessionOut, summary="Close a stuck session")
def close(
    session_id: str, body: RepriceIn, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> SessionOut:
    return _out(use_cases.close_session(svc, who, session_id, reason=body.reason, ended_at=body.ended_at))


@router.post("/sessions/{session_id}/rerate", response_model=SessionOut, summary="Price a session again")
def rerate(
    session_id: str, body: RepriceIn, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> SessionOut:
    return _out(use_cases.rerate_session(svc, who, session_id, reason=body.reason, ended_at=body.ended_at))


class EnergyCorrectionIn(DecisionIn):
    energy_wh: str = Field(
        pattern=r"^[0-9]{1,27}(\.[0-9]{1,3})?$",
        description='The session\'s energy in Wh, as a decimal string (e.g. "11000").',
    )


@router.post(
    "/sessions/{session_id}/energy-correction",
    response_model=SessionOut,
    summary="Set a closed session's energy and price it again (audited; the readings are kept)",
)
def energy_correction(
    session_id: str, body: EnergyCorrectionIn, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> SessionOut:
    corrected = use_cases.correct_energy(
        svc, who, session_id, energy_wh=Decimal(body.energy_wh), reason=body.reason
    )
    return _out(corrected)


@router.post("/sessions/{session_id}/void", response_model=SessionOut, summary="Void a session (no charge)")
def void(
    session_id: str, body: DecisionIn, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> SessionOut:
    return _out(use_cases.void_session(svc, who, session_id, reason=body.reason))


def _out(session: ChargingSession) -> SessionOut:
    return session_out(session)
