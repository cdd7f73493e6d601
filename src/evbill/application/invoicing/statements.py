"""A document as a person reads it: its sessions in detail and the operator's brand (``DocumentView``).

The details of a session come from what was stored when it closed (``live_sessions.details``): the
price explanation (each priced period, the restrictions that made its price apply, min/max
adjustments, free volumes) and the signed meter values exactly as the charger sent them. A session
recorded without that evidence (imported, or priced elsewhere) still shows its place, times, energy
and price.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from evbill.application.ports import UnitOfWork
from evbill.domain.charging.sessions import ChargingSession
from evbill.domain.invoicing.documents import Document, DocumentKind
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.invoicing.statement import (
    Branding,
    DocumentView,
    PricedPeriod,
    SessionStatement,
    SignedReading,
    read_ocmf,
)

ZERO = Decimal(0)


def _decimal(value: object) -> Decimal:
    return Decimal(str(value)) if value is not None else ZERO


def _seconds(delta_start: datetime, delta_end: datetime | None) -> int:
    if delta_end is None:
        return 0
    delta = delta_end - delta_start
    return max(0, delta.days * 86400 + delta.seconds)


def _periods(explanation: Mapping[str, Any], zone: ZoneInfo) -> tuple[PricedPeriod, ...]:
    periods = []
    for line in explanation.get("lines", []):
        periods.append(
            PricedPeriod(
                start=datetime.fromisoformat(line["period_start"]).astimezone(zone),
                end=datetime.fromisoformat(line["period_end"]).astimezone(zone),
                dimension=str(line["dimension"]),
                volume=_decimal(line.get("billed_volume", line.get("volume"))),
                price=_decimal(line.get("price")),
                excl_vat=_decimal(line.get("excl_vat")),
                vat=None if line.get("vat") is None else _decimal(line["vat"]),
                why=tuple(str(reason) for reason in line.get("why", ())),
            )
        )
    return tuple(periods)


def _free(explanation: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(
        f"{item.get('dimension')} {item.get('volume')} {item.get('unit')}: {item.get('why')}"
        for item in explanation.get("free", [])
    )


def _signed(details: Mapping[str, Any]) -> tuple[SignedReading, ...]:
    values = details.get("signed_meter_values") or []
    return tuple(read_ocmf(str(value)) for value in values if value)


def statement_of(uow: UnitOfWork, session: ChargingSession) -> SessionStatement:
    """One session as its document shows it (see the module's doc)."""
    operator_id = session.operator_id
    location = uow.locations.get(operator_id, session.location_id)
    evse = uow.evses.get(operator_id, session.evse_id)
    details = uow.live_sessions.details(operator_id, session.id) or {}
    explanation = details.get("explanation") or {}
    zone_name = explanation.get("time_zone") or (location.time_zone if location else "UTC")
    zone = ZoneInfo(zone_name)
    place = (
        ", ".join(
            part for part in (location.name, location.address, location.postal_code, location.city) if part
        )
        if location
        else session.location_id
    )
    duration = _seconds(session.started_at, session.ended_at)
    charging = min(duration, int(session.charging_s)) if session.charging_s is not None else duration
    adjustments = tuple(
        (str(item["kind"]), _decimal(item["excl_vat"])) for item in explanation.get("adjustments", [])
    )
    return SessionStatement(
        session_id=session.id,
        location=place,
        evse=evse.evse_id if evse else session.evse_id,
        time_zone=zone_name,
        started=session.started_at.astimezone(zone),
        ended=None if session.ended_at is None else session.ended_at.astimezone(zone),
        energy_wh=session.energy_wh,
        charging_s=charging,
        idle_s=duration - charging,
        excl_vat=session.total_excl_vat or ZERO,
        incl_vat=session.total_incl_vat or ZERO,
        periods=_periods(explanation, zone),
        free=_free(explanation),
        adjustments=adjustments,
        price_reason=session.price_reason,
        signed=_signed(details),
    )


def branding_of(profile: InvoicingProfile) -> Branding:
    logo = None
    if profile.logo:
        try:
            logo = base64.b64decode(profile.logo, validate=True)
        except (binascii.Error, ValueError):
            logo = None  # checked when saved; an unreadable logo is left out rather than failing a document
    return Branding(profile.seller.name, logo, profile.accent_colour)


def view_of(
    uow: UnitOfWork, document: Document, profile: InvoicingProfile, *, draft: bool = False
) -> DocumentView:
    """The document with every session it bills, in the order its lines name them."""
    seen: list[str] = []
    for line in document.composed.lines:
        if line.session_id is not None and line.session_id not in seen:
            seen.append(line.session_id)
    statements = []
    for session_id in seen:
        session = uow.sessions.get(document.operator_id, session_id)
        if session is not None:
            statements.append(statement_of(uow, session))
    by_card = document.kind is DocumentKind.INVOICE and any(
        attempt.succeeded for attempt in uow.collection.attempts(document.operator_id, document.id)
    )
    return DocumentView(document, tuple(statements), branding_of(profile), draft, by_card)
