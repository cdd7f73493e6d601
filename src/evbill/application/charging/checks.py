"""What pricing may use of what a charger reported: the plausibility checks applied to a session.

``checked`` runs the domain's plausibility rules (``domain.metering.plausibility``, thresholds from
the services' ``PlausibilityRules``) on a session's samples, against its EVSE's rated power (the
fastest connector's ``max_electric_power``) and the server's clock: the session's stored
``created_at`` is the server's clock at the start, so a session re-rated later is judged the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from evbill.application.records import Services
from evbill.domain.charging.sessions import ChargingSession
from evbill.domain.metering.cleaning import Anomaly, MeterSample
from evbill.domain.metering.plausibility import (
    IMPLAUSIBLE_FLAGS,
    plausible_samples,
    plausible_start,
    plausible_window,
)
from evbill.domain.payments.adhoc import ADHOC_TAG_PREFIX


@dataclass(frozen=True, slots=True)
class Checked:
    """The samples fit to price, the window to price them in, and what was left out and why."""

    samples: Sequence[MeterSample]
    start: datetime
    end: datetime
    anomalies: tuple[Anomaly, ...]

    @property
    def needs_review(self) -> bool:
        return any(anomaly.flag in IMPLAUSIBLE_FLAGS for anomaly in self.anomalies)


def rated_power_w(services: Services, session: ChargingSession) -> Decimal | None:
    """The most the session's EVSE can deliver (W), None when no connector says."""
    with services.uow(read_only=True) as uow:
        connectors = uow.connectors.list(
            session.operator_id, filters={"evse_id": session.evse_id}, after=None, limit=50
        )
    powers = [c.max_electric_power for c in connectors if c.max_electric_power]
    return Decimal(max(powers)) if powers else None


def requested_at(services: Services, session: ChargingSession) -> datetime | None:
    """When a session paid at the charger was asked for (its ad hoc start); None for any other."""
    if not (session.token_uid or "").startswith(ADHOC_TAG_PREFIX):
        return None
    with services.uow(read_only=True) as uow:
        start = uow.session_payments.start_of_session(session.operator_id, session.id)
    return None if start is None else start.created_at


def checked(
    services: Services,
    session: ChargingSession,
    samples: Sequence[MeterSample],
    *,
    reported_end: datetime,
    closed_at: datetime,
    max_power_w: Decimal | None,
) -> Checked:
    """Plausibility of a session ending (or, for a running cost, priced up to) ``reported_end``."""
    rules = services.plausibility
    start, start_anomalies = plausible_start(
        session.started_at,
        opened_at=session.created_at,
        samples=samples,
        rules=rules,
        requested_at=requested_at(services, session),
    )
    window = plausible_window(
        start=start, reported_end=reported_end, closed_at=closed_at, samples=samples, rules=rules
    )
    kept, anomalies = plausible_samples(
        samples, start=window.start, end=window.end, max_power_w=max_power_w, rules=rules
    )
    return Checked(kept, window.start, window.end, (*start_anomalies, *window.anomalies, *anomalies))
