"""Test helpers: write sessions the way the OCPI examples describe them.

    session("2026-05-04 09:30", charge(minutes=165, amps=16), park(minutes=42), zone="Europe/Berlin")

builds a ``SessionUsage`` of consecutive periods starting at a local time, with exact volumes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from evbill.adapters.ocpi.tariffs import parse_tariff
from evbill.domain.metering.usage import ChargingPeriod, SessionUsage
from evbill.domain.rating import RatedSession, compile_tariff, rate
from evbill.domain.tariffs.model import Tariff

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "fixtures" / "ocpi-2.2.1"


def example_document(name: str) -> dict[str, object]:
    return json.loads((EXAMPLES / name).read_text())  # type: ignore[no-any-return]


def example_tariff(name: str) -> Tariff:
    return parse_tariff(example_document(name)).tariff


@dataclass(frozen=True)
class Segment:
    seconds: Decimal
    energy_wh: Decimal | None = None
    parking: bool = False
    reservation: bool = False
    amps: Decimal | None = None
    kw: Decimal | None = None


def _d(value: float | int | str | Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def charge(
    *,
    minutes: float | str = 0,
    seconds: int = 0,
    kwh: str | int | None = None,
    amps: str | int | None = None,
    kw: str | int | None = None,
) -> Segment:
    energy = None if kwh is None else Decimal(str(kwh)) * 1000
    return Segment(Decimal(str(minutes)) * 60 + seconds, energy, amps=_d(amps), kw=_d(kw))


def park(*, minutes: float | str = 0, seconds: int = 0) -> Segment:
    return Segment(Decimal(str(minutes)) * 60 + seconds, Decimal(0), parking=True)


def reserve(*, minutes: float | str) -> Segment:
    return Segment(Decimal(str(minutes)) * 60, reservation=True)


def session(
    local_start: str, *segments: Segment, zone: str = "Europe/Amsterdam", currency: str = "EUR"
) -> SessionUsage:
    start = datetime.fromisoformat(local_start).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    moment = start
    periods = []
    for segment in segments:
        end = moment + timedelta(seconds=float(segment.seconds))  # test fixture times are whole seconds
        periods.append(
            ChargingPeriod(
                moment,
                end,
                energy_wh=None if segment.reservation else segment.energy_wh,
                charging_s=None if segment.parking or segment.reservation else segment.seconds,
                parking_s=segment.seconds if segment.parking else None,
                reservation_s=segment.seconds if segment.reservation else None,
                min_current=segment.amps,
                max_current=segment.amps,
                min_power=segment.kw,
                max_power=segment.kw,
            )
        )
        moment = end
    return SessionUsage(start, moment, currency, tuple(periods))


def price(tariff: Tariff, usage: SessionUsage, zone: str = "Europe/Amsterdam") -> RatedSession:
    return rate(usage, compile_tariff(tariff, ZoneInfo(zone)))


class CliRunner:
    """Typer's test runner for ``evbill``'s top-level group (``cli.main.build_app``), which is a click
    group that loads its commands lazily rather than a ``typer.Typer``: it runs the group as it is."""

    def invoke(self, app: object, *args: object, **kwargs: object) -> object:
        from typer import testing

        original = testing._get_command
        testing._get_command = lambda given: given  # type: ignore[assignment]
        try:
            return testing.CliRunner().invoke(app, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            testing._get_command = original


def store_session(
    services: object,
    operator_id: str,
    session_id: str,
    *,
    customer_id: str | None = None,
    currency: str = "EUR",
    total_incl_vat_minor: int = 1_000_000,
    status: str = "COMPLETED",
) -> str:
    """A completed session row as OCPP would have recorded it (payments name it ``session:<id>``),
    at a location, station and EVSE of its own. Its price (10,000.00 unless given) bounds what a
    payment of it may take: high by default, so that tests about gateways pay any amount they need."""
    from evbill.domain.charging.sessions import ChargingSession, SessionStatus
    from tests.integration.db_records import a_location, a_station, an_evse, new_id

    at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    location = a_location(operator_id)
    station = a_station(operator_id, location.id, charge_point_id=f"CP-{new_id()[-12:]}")
    evse = an_evse(operator_id, station.id, evse_id=f"NL*EVB*E{new_id()[-12:]}", ocpp_evse_id=1)
    stored = ChargingSession(
        id=session_id, operator_id=operator_id, location_id=location.id, station_id=station.id,
        evse_id=evse.id,
        status=SessionStatus(status), started_at=at,
        ended_at=None if status == "ACTIVE" else at + timedelta(hours=1),
        energy_wh=Decimal("10000"), currency=currency, tariff_version_id=None,
        total_excl_vat=None, total_incl_vat=None, total_excl_vat_minor=None,
        total_incl_vat_minor=total_incl_vat_minor, created_at=at + timedelta(hours=1),
        customer_id=customer_id,
    )  # fmt: skip
    with services.uow() as uow:  # type: ignore[attr-defined]
        if uow.sessions.get(operator_id, session_id) is None:  # stored once, however often asked
            uow.locations.add(location)
            uow.stations.add(station)
            uow.evses.add(evse)
            uow.sessions.add(stored)
            uow.commit()
    return session_id
