"""Use cases of the tariff catalogue: versioned OCPI tariffs, where they apply, and a price preview.

Changing a tariff never changes the price of a session that already started: every change is a new
immutable version, and sessions keep the version they started under (DESIGN.md rule 4). Assignments
put a tariff on the operator, a location, a station or an EVSE; the most specific one applies.

``preview_tariff`` prices a sample session (start, charging time and energy, parking time) the way a
real one is priced: it builds a meter series, cuts periods at every price boundary and rates them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from evbill.application.ports import Repository, UnitOfWork
from evbill.application.records import (
    Page,
    Services,
    audit,
    check_version,
    checked_limit,
    get_or_404,
    page_of,
    require,
)
from evbill.domain.access.keys import AuditAction
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.errors import Conflict, InvalidInput, NotFound, Problem
from evbill.domain.metering.cleaning import ChargingState, CleanSeries, MeterPoint
from evbill.domain.metering.periods import build_periods
from evbill.domain.metering.usage import SessionUsage
from evbill.domain.rating import RatedSession, compile_tariff, rate
from evbill.domain.rating.explanation import Explanation, explain
from evbill.domain.tariffs.catalog import (
    AssignmentScope,
    TariffAssignment,
    TariffRecord,
    TariffVersion,
    resolve_tariff_id,
)
from evbill.domain.tariffs.checks import check_tariff
from evbill.domain.tariffs.model import Tariff


@dataclass(frozen=True, slots=True)
class TariffView:
    record: TariffRecord
    current: TariffVersion
    warnings: tuple[Problem, ...]


def _read(services: Services, document: object) -> tuple[Tariff, tuple[Problem, ...]]:
    reading = services.ocpi.read_tariff(document)  # InvalidInput lists every problem
    return reading.tariff, reading.warnings + check_tariff(reading.tariff)


def _name(tariff: Tariff, name: str | None) -> str:
    if name:
        return name
    english = [text.text for text in tariff.alt_text if text.language == "en"]
    return (english or [text.text for text in tariff.alt_text] or [tariff.id])[0][:120]


def create_tariff(
    services: Services, actor: Actor, document: object, *, name: str | None = None
) -> TariffView:
    require(actor, Permission.MANAGE_TARIFFS)
    tariff, warnings = _read(services, document)
    now = services.clock.now()
    record = TariffRecord(
        id=services.ids.new_id(),
        operator_id=actor.operator_id,
        ocpi_id=tariff.id,
        name=_name(tariff, name),
        current_version=1,
        currency=tariff.currency,
        created_at=now,
        updated_at=now,
    )
    version = _version(services, actor, record, 1, tariff, now)
    with services.uow() as uow:
        ensure_unique_ocpi_id(uow, actor, tariff.id)
        uow.tariffs.add(record)
        uow.tariff_versions.add(version)
        audit(uow, actor, now, AuditAction.CREATE, "tariff", record.id, None, version)
        uow.commit()
    return TariffView(record, version, warnings)


def _version(
    services: Services, actor: Actor, record: TariffRecord, number: int, tariff: Tariff, now: datetime
) -> TariffVersion:
    return TariffVersion(
        id=services.ids.new_id(),
        operator_id=actor.operator_id,
        tariff_id=record.id,
        number=number,
        document=services.ocpi.write_tariff(tariff),
        created_at=now,
        created_by=f"{actor.name} (key {actor.key_id})",
    )


def replace_tariff(
    services: Services, actor: Actor, tariff_id: str, document: object, *, expected_version: int
) -> TariffView:
    """Publish a new version; sessions already started keep theirs."""
    require(actor, Permission.MANAGE_TARIFFS)
    tariff, warnings = _read(services, document)
    now = services.clock.now()
    with services.uow() as uow:
        before = get_or_404(uow.tariffs, actor.operator_id, tariff_id, "tariff")
        check_version(before, expected_version, f"tariff {tariff_id!r}")
        if tariff.id != before.ocpi_id:
            raise InvalidInput(
                "tariff is invalid",
                (Problem("$.id", f"must stay {before.ocpi_id!r}; create a new tariff instead"),),
            )
        if tariff.currency != before.currency:
            raise InvalidInput(
                "tariff is invalid",
                (Problem("$.currency", f"must stay {before.currency}; create a new tariff instead"),),
            )
        number = before.current_version + 1
        after = TariffRecord(
            before.id, before.operator_id, before.ocpi_id, before.name, number, before.currency,
            before.created_at, now, before.version + 1,
        )  # fmt: skip
        version = _version(services, actor, after, number, tariff, now)
        uow.tariff_versions.add(version)
        uow.tariffs.update(after, expected_version=expected_version)
        audit(uow, actor, now, AuditAction.UPDATE, "tariff", tariff_id, _current(uow, before), version)
        uow.commit()
    return TariffView(after, version, warnings)


def _current(uow: UnitOfWork, record: TariffRecord) -> TariffVersion:
    version = uow.tariff_versions.find(record.operator_id, record.id, record.current_version)
    if version is None:
        raise NotFound(f"tariff {record.id!r} has no version {record.current_version}")
    return version


def get_tariff(services: Services, actor: Actor, tariff_id: str) -> TariffView:
    require(actor, Permission.READ)
    with services.uow() as uow:
        record = get_or_404(uow.tariffs, actor.operator_id, tariff_id, "tariff")
        return TariffView(record, _current(uow, record), ())


def list_tariffs(
    services: Services, actor: Actor, *, filters: Mapping[str, object], cursor: str | None, limit: int
) -> Page[TariffRecord]:
    require(actor, Permission.READ)
    limit = checked_limit(limit)
    with services.uow(read_only=True) as uow:
        items = uow.tariffs.list(actor.operator_id, filters=filters, after=cursor, limit=limit + 1)
    return page_of(items, limit, lambda record: record.id)


def list_versions(services: Services, actor: Actor, tariff_id: str) -> Sequence[TariffVersion]:
    require(actor, Permission.READ)
    with services.uow() as uow:
        get_or_404(uow.tariffs, actor.operator_id, tariff_id, "tariff")
        return uow.tariff_versions.of_tariff(actor.operator_id, tariff_id)


def get_version(services: Services, actor: Actor, tariff_id: str, number: int) -> TariffVersion:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        version = uow.tariff_versions.find(actor.operator_id, tariff_id, number)
    if version is None:
        raise NotFound(f"tariff {tariff_id!r} has no version {number}")
    return version


def _scope_target(uow: UnitOfWork, scope: AssignmentScope) -> tuple[str, Repository[Any]]:
    if scope is AssignmentScope.LOCATION:
        return "location", uow.locations
    if scope is AssignmentScope.STATION:
        return "station", uow.stations
    return "EVSE", uow.evses


def assign_tariff(
    services: Services, actor: Actor, *, tariff_id: str, scope: AssignmentScope, scope_id: str | None
) -> TariffAssignment:
    """Put a tariff on a scope, replacing the tariff that scope had."""
    require(actor, Permission.MANAGE_TARIFFS)
    now = services.clock.now()
    with services.uow() as uow:
        if uow.tariffs.get(actor.operator_id, tariff_id) is None:  # a reference in a body: invalid, not 404
            missing = Problem("$.tariff_id", f"no tariff {tariff_id!r}")
            raise InvalidInput("assignment is invalid", (missing,))
        _check_scope(uow, actor, scope, scope_id)
        uow.assignments.lock(actor.operator_id)  # concurrent assignments replace one another in turn
        for existing in uow.assignments.list(actor.operator_id):
            if existing.scope == scope and existing.scope_id == scope_id:
                uow.assignments.delete(actor.operator_id, existing.id)
                audit(uow, actor, now, AuditAction.DELETE, "tariff_assignment", existing.id, existing, None)
        assignment = TariffAssignment(services.ids.new_id(), actor.operator_id, scope, scope_id, tariff_id)
        uow.assignments.add(assignment)
        audit(uow, actor, now, AuditAction.CREATE, "tariff_assignment", assignment.id, None, assignment)
        uow.commit()
    return assignment


def _check_scope(uow: UnitOfWork, actor: Actor, scope: AssignmentScope, scope_id: str | None) -> None:
    if scope is AssignmentScope.OPERATOR:
        if scope_id is not None:
            raise InvalidInput(
                "assignment is invalid", (Problem("$.scope_id", "must be empty for scope operator"),)
            )
        return
    what, repository = _scope_target(uow, scope)
    if scope_id is None or repository.get(actor.operator_id, scope_id) is None:
        raise InvalidInput("assignment is invalid", (Problem("$.scope_id", f"no {what} {scope_id!r}"),))


def list_assignments(services: Services, actor: Actor) -> Sequence[TariffAssignment]:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        return uow.assignments.list(actor.operator_id)


def remove_assignment(services: Services, actor: Actor, assignment_id: str) -> None:
    require(actor, Permission.MANAGE_TARIFFS)
    now = services.clock.now()
    with services.uow() as uow:
        uow.assignments.lock(actor.operator_id)
        existing = {a.id: a for a in uow.assignments.list(actor.operator_id)}.get(assignment_id)
        if existing is None:
            raise NotFound(f"tariff assignment {assignment_id!r} not found")
        uow.assignments.delete(actor.operator_id, assignment_id)
        audit(uow, actor, now, AuditAction.DELETE, "tariff_assignment", assignment_id, existing, None)
        uow.commit()


def tariff_for_evse(services: Services, actor: Actor, evse_id: str) -> TariffView:
    """The tariff version that applies at an EVSE now (what a session starting now is priced by)."""
    require(actor, Permission.READ)
    with services.uow() as uow:
        evse = get_or_404(uow.evses, actor.operator_id, evse_id, "EVSE")
        station = get_or_404(uow.stations, actor.operator_id, evse.station_id, "station")
        tariff_id = resolve_tariff_id(
            uow.assignments.list(actor.operator_id),
            location_id=station.location_id,
            station_id=station.id,
            evse_id=evse.id,
        )
        if tariff_id is None:
            raise NotFound(
                f"no tariff applies at EVSE {evse_id!r}: assign one to it, its station, location or operator"
            )
        record = get_or_404(uow.tariffs, actor.operator_id, tariff_id, "tariff")
        return TariffView(record, _current(uow, record), ())


@dataclass(frozen=True, slots=True)
class SampleSession:
    """A session to preview: when it starts, how long and how much it charges, how long it idles."""

    start: datetime
    time_zone: str
    charging: timedelta
    energy_wh: Decimal
    parking: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class Preview:
    usage: SessionUsage
    rated: RatedSession
    explanation: Explanation
    warnings: tuple[Problem, ...]


def preview_tariff(
    services: Services, actor: Actor, *, sample: SampleSession, document: object | None, tariff_id: str | None
) -> Preview:
    """Price a sample session under a tariff document (not stored) or a stored tariff's current version."""
    require(actor, Permission.READ)
    if (document is None) == (tariff_id is None):
        raise InvalidInput("preview is invalid", (Problem("$", "give exactly one of tariff or tariff_id"),))
    if document is None:
        try:
            document = get_tariff(services, actor, tariff_id).current.document  # type: ignore[arg-type]
        except NotFound:
            missing = Problem("$.tariff_id", f"no tariff {tariff_id!r}")
            raise InvalidInput("preview is invalid", (missing,)) from None
    tariff, warnings = _read(services, document)
    compiled = compile_tariff(tariff, ZoneInfo(sample.time_zone))
    start = sample.start
    charged = start + sample.charging
    end = charged + sample.parking
    points = [MeterPoint(start, Decimal(0), state=ChargingState.CHARGING)]
    if sample.parking:
        points.append(MeterPoint(charged, sample.energy_wh, state=ChargingState.SUSPENDED_EV))
    points.append(MeterPoint(end, sample.energy_wh, state=ChargingState.SUSPENDED_EV))
    if end <= start:
        raise InvalidInput("preview is invalid", (Problem("$.session", "must last longer than zero"),))
    periods = build_periods(CleanSeries(tuple(points)), tariff, zone=compiled.zone, start=start, end=end)
    usage = SessionUsage(start, end, tariff.currency, periods)
    rated = rate(usage, compiled)
    return Preview(usage, rated, explain(usage, compiled, rated), warnings)


def ensure_unique_ocpi_id(uow: UnitOfWork, actor: Actor, ocpi_id: str) -> None:
    if uow.tariffs.list(actor.operator_id, filters={"ocpi_id": ocpi_id}, after=None, limit=1):
        raise Conflict(
            f"a tariff with OCPI id {ocpi_id!r} already exists; publish a new version of it instead"
        )
