"""Use cases of stored charging sessions: read and list them (recording them comes with OCPP)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evbill.application.charging.costs import Cost, running_cost
from evbill.application.charging.stations import station_context
from evbill.application.records import Page, Services, checked_limit, page_of, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.charging.frames import StoredFrame, StoredSample
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import NotFound


def get_session(services: Services, actor: Actor, session_id: str) -> ChargingSession:
    require(actor, Permission.READ)
    with services.uow() as uow:
        session = uow.sessions.get(actor.operator_id, session_id)
    if session is None:
        raise NotFound(f"session {session_id!r} not found")
    return session


def list_sessions(
    services: Services, actor: Actor, *, filters: Mapping[str, object], cursor: str | None, limit: int
) -> Page[ChargingSession]:
    """Newest first; filters: location_id, station_id, evse_id, status, started_from, started_to."""
    require(actor, Permission.READ)
    limit = checked_limit(limit)
    with services.uow(read_only=True) as uow:
        items = uow.sessions.list(actor.operator_id, filters=filters, after=cursor, limit=limit + 1)
        return page_of(items, limit, uow.sessions.cursor_of)


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session with what was measured and decided about it: the running cost while it is live,
    and its evidence (anomalies, signed meter values, price explanation, OCPI CDR) once it ended."""

    session: ChargingSession
    running: Cost | None
    evidence: Mapping[str, Any] | None


def view_session(services: Services, actor: Actor, session_id: str) -> SessionView:
    session = get_session(services, actor, session_id)
    with services.uow() as uow:
        evidence = uow.live_sessions.details(actor.operator_id, session_id)
    running = None
    if session.status is SessionStatus.ACTIVE:
        context = station_context(services, actor.operator_id, session.station_id)
        running = running_cost(services, context, session, services.clock.now())
    return SessionView(session, running, evidence)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a session's price rests on: the stored evidence document (anomalies, signed meter values,
    explanation, stop reason, CDR), every meter sample as stored with the frame that carried it, and
    those frames verbatim. The samples and the tariff version snapshotted on the session are enough
    to price the session again; the frames show the samples are what the charger sent."""

    session: ChargingSession
    details: Mapping[str, Any] | None
    samples: Sequence[StoredSample]
    frames: Sequence[StoredFrame]


def session_evidence(services: Services, actor: Actor, session_id: str) -> Evidence:
    session = get_session(services, actor, session_id)
    with services.uow(read_only=True) as uow:
        details = uow.live_sessions.details(actor.operator_id, session_id)
        samples = uow.meter_samples.stored_of_session(actor.operator_id, session_id)
        carriers = sorted({sample.frame_id for sample in samples if sample.frame_id is not None})
        frames = uow.frames.by_ids(actor.operator_id, carriers)
    return Evidence(session, details, samples, frames)
