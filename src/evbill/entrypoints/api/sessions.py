"""/api/v1 sessions: stored charging sessions, newest first, filtered, with exact and settled totals."""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, Field

from evbill.application.charging import sessions as use_cases
from evbill.application.records import Services
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor
from evbill.domain.charging.frames import StoredFrame, StoredSample
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import InvalidInput, NotFound, Problem
from evbill.entrypoints.api.common import Cursor, Limit, PageOut, page_response
from evbill.entrypoints.api.responses import json_response
from evbill.entrypoints.api.security import actor, services

router = APIRouter(tags=["sessions"])

# The instants a filter may name: wide of any real session, yet far enough from years 1 and 9999 that
# turning one into UTC (or any other zone) never leaves the calendar.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class SessionOut(BaseModel):
    id: str
    location_id: str
    station_id: str
    evse_id: str
    status: SessionStatus
    started_at: datetime
    ended_at: datetime | None
    energy_kwh: Decimal
    currency: str
    tariff_version_id: str | None
    total_cost: dict[str, str] | None
    exact_total_cost: dict[str, str] | None
    transaction_id: str | None = None
    token_uid: str | None = None
    tariff_id: str | None = None
    price_rule: str | None = None
    price_reason: str | None = None
    running_cost: dict[str, str] | None = Field(
        default=None, description="For a live session: what it costs if it ended now (exact, and as shown)."
    )


def _settled(minor: int | None, currency: str) -> str | None:
    if minor is None:
        return None
    return format(Decimal(minor).scaleb(-currencies.exponent(currency)), "f")


def session_fields(session: ChargingSession) -> dict[str, Any]:
    """A session as ``SessionOut`` holds it (in the model's field order), before it is written."""
    total = exact = None
    if session.total_excl_vat_minor is not None:
        total = {
            "excl_vat": _settled(session.total_excl_vat_minor, session.currency) or "",
            "incl_vat": _settled(session.total_incl_vat_minor, session.currency) or "",
        }
    if session.total_excl_vat is not None and session.total_incl_vat is not None:
        exact = {
            "excl_vat": format(session.total_excl_vat, "f"),
            "incl_vat": format(session.total_incl_vat, "f"),
        }
    return {
        "id": session.id,
        "location_id": session.location_id,
        "station_id": session.station_id,
        "evse_id": session.evse_id,
        "status": session.status,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "energy_kwh": session.energy_wh / 1000,
        "currency": session.currency,
        "tariff_version_id": session.tariff_version_id,
        "total_cost": total,
        "exact_total_cost": exact,
        "transaction_id": session.transaction_id,
        "token_uid": session.token_uid,
        "tariff_id": session.tariff_id,
        "price_rule": session.price_rule,
        "price_reason": session.price_reason,
        "running_cost": None,
    }


def session_out(session: ChargingSession) -> SessionOut:
    return SessionOut(**session_fields(session))


@router.get("/sessions", response_model=PageOut[SessionOut], summary="List sessions, newest first")
async def list_sessions(
    limit: Limit = 50,
    cursor: Cursor = None,
    location_id: Annotated[str | None, Query(max_length=36)] = None,
    station_id: Annotated[str | None, Query(max_length=36)] = None,
    evse_id: Annotated[str | None, Query(max_length=36)] = None,
    status: SessionStatus | None = None,
    started_from: Annotated[
        AwareDatetime | None, Query(description="Started at or after (inclusive).")
    ] = None,
    started_to: Annotated[AwareDatetime | None, Query(description="Started before (exclusive).")] = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> Response:
    _check_window(started_from=started_from, started_to=started_to)
    values = {
        "location_id": location_id,
        "station_id": station_id,
        "evse_id": evse_id,
        "status": status,
        "started_from": started_from,
        "started_to": started_to,
    }
    filters = {key: value for key, value in values.items() if value is not None}
    # One hand-off to the threadpool for the query and the writing of the page (async route).
    return await run_in_threadpool(_sessions_page, svc, who, filters, cursor, limit)


def _sessions_page(
    svc: Services, who: Actor, filters: dict[str, object], cursor: str | None, limit: int
) -> Response:
    page = use_cases.list_sessions(svc, who, filters=filters, cursor=cursor, limit=limit)
    return page_response([session_fields(session) for session in page.items], page.next_cursor)


def _check_window(**instants: datetime | None) -> None:
    problems = tuple(
        Problem(f"query.{name}", "must be between 1970-01-01T00:00:00Z and 9000-01-01T00:00:00Z")
        for name, instant in instants.items()
        if instant is not None and not EARLIEST <= instant <= LATEST
    )
    if problems:
        raise InvalidInput("the request is invalid", problems)


@router.get(
    "/sessions/{session_id}",
    response_model=SessionOut,
    summary="Read a session (live: with its running cost)",
)
def read_session(
    session_id: str, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> SessionOut:
    view = use_cases.view_session(svc, who, session_id)
    out = session_out(view.session)
    if view.running is not None:
        cost = view.running
        out.running_cost = {
            "excl_vat": format(cost.excl_vat, "f"),
            "incl_vat": format(cost.incl_vat, "f"),
            "shown": format(cost.shown.as_decimal(), "f"),
            "energy_kwh": format(cost.energy_wh / 1000, "f"),
        }
    # A session has no version number: its ETag is a strong one of what is shown (a live one changes).
    digest = hashlib.sha256(out.model_dump_json().encode()).hexdigest()[:32]
    response.headers["ETag"] = f'"{digest}"'
    return out


@router.get("/sessions/{session_id}/cdr", summary="The session's OCPI 2.2.1 CDR (once it has ended)")
def read_cdr(session_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)) -> Response:
    view = use_cases.view_session(svc, who, session_id)
    cdr = (view.evidence or {}).get("cdr")
    if cdr is None:
        raise NotFound(
            f"session {session_id!r} has no CDR (it is live, or was not priced by evbill's OCPP system)"
        )
    return json_response(cdr)


@router.get("/sessions/{session_id}/evidence", summary="What the session's price rests on")
def read_evidence(
    session_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> Response:
    """Anomalies of the meter data, signed meter values as sent, the price explanation, the stop reason,
    the tariff version it was priced under, every meter sample as stored (``frame_id``: the frame that
    carried it) and those frames verbatim: enough to price the session again and to check each sample
    against what the charger sent."""
    found = use_cases.session_evidence(svc, who, session_id)
    evidence = {key: value for key, value in (found.details or {}).items() if key != "cdr"}
    return json_response(
        {
            "session_id": session_id,
            "tariff_version_id": found.session.tariff_version_id,
            **evidence,
            "meter_samples": [_sample_out(stored) for stored in found.samples],
            "frames": [_frame_out(stored) for stored in found.frames],
        }
    )


def _sample_out(stored: StoredSample) -> dict[str, Any]:
    sample = stored.sample
    return {
        "id": stored.id,
        "frame_id": stored.frame_id,
        "timestamp": sample.timestamp,
        "energy": sample.energy,
        "energy_unit": str(sample.energy_unit),
        "multiplier": sample.multiplier,
        "power": sample.power,
        "power_unit": str(sample.power_unit),
        "current": sample.current,
        "state": sample.state,
        "seq_no": sample.seq_no,
        "context": sample.context,
        "offline": sample.offline,
        "signed_data": sample.signed_data,
    }


def _frame_out(stored: StoredFrame) -> dict[str, Any]:
    frame = stored.frame
    return {
        "id": stored.id,
        "at": frame.at,
        "direction": frame.direction,
        "action": frame.action,
        "unique_id": frame.unique_id,
        "raw": frame.raw,
    }
