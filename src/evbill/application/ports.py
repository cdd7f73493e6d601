"""The interfaces use cases need from outside, as Protocols; adapters implement them.

Persistence is a unit of work holding one repository per kind of record. Every repository method
takes the operator id: tenant isolation is part of the signature, not a filter to remember. Lists
use keyset (cursor) pagination: ``after`` is the last id of the previous page; ids sort by creation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from evbill.domain.access import ApiKey, AuditEntry
from evbill.domain.catalog import TariffAssignment, TariffRecord, TariffVersion
from evbill.domain.errors import Problem
from evbill.domain.money import RoundingMode
from evbill.domain.operators import Operator
from evbill.domain.rating import RatedSession
from evbill.domain.sessions import ChargingSession
from evbill.domain.sites import ChargingStation, Connector, Evse, Location
from evbill.domain.tariff import Tariff
from evbill.domain.usage import SessionUsage

T = TypeVar("T")
Filters = Mapping[str, object]


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class Repository(Protocol[T]):
    """Records of one kind, each belonging to one operator, with optimistic versioning."""

    def get(self, operator_id: str, record_id: str) -> T | None: ...

    def list(self, operator_id: str, *, filters: Filters, after: str | None, limit: int) -> Sequence[T]: ...

    def add(self, record: T) -> None: ...

    def update(self, record: T, *, expected_version: int) -> None:
        """Store ``record`` (whose version is expected_version + 1); Conflict if the stored one moved on."""
        ...

    def delete(self, operator_id: str, record_id: str, *, expected_version: int | None) -> None: ...


class OperatorRepository(Protocol):
    def get(self, operator_id: str) -> Operator | None: ...

    def add(self, operator: Operator) -> None: ...

    def update(self, operator: Operator, *, expected_version: int) -> None: ...

    def list_all(self) -> Sequence[Operator]: ...


class TariffVersionRepository(Protocol):
    def get(self, operator_id: str, version_id: str) -> TariffVersion | None: ...

    def of_tariff(self, operator_id: str, tariff_id: str) -> Sequence[TariffVersion]: ...

    def find(self, operator_id: str, tariff_id: str, number: int) -> TariffVersion | None: ...

    def add(self, version: TariffVersion) -> None: ...


class AssignmentRepository(Protocol):
    def list(self, operator_id: str) -> Sequence[TariffAssignment]: ...

    def add(self, assignment: TariffAssignment) -> None: ...

    def delete(self, operator_id: str, assignment_id: str) -> None: ...


class SessionRepository(Protocol):
    def get(self, operator_id: str, session_id: str) -> ChargingSession | None: ...

    def list(
        self, operator_id: str, *, filters: Filters, after: str | None, limit: int
    ) -> Sequence[ChargingSession]:
        """Newest first; filters: location_id, evse_id, status, started_from, started_to."""
        ...

    def add(self, session: ChargingSession) -> None: ...

    def cursor_of(self, session: ChargingSession) -> str:
        """The cursor that continues a listing after ``session`` (the repository owns its format)."""
        ...


class ApiKeyRepository(Protocol):
    def find_by_prefix(self, prefix: str) -> ApiKey | None: ...

    def list(self, operator_id: str) -> Sequence[ApiKey]: ...

    def add(self, key: ApiKey) -> None: ...

    def revoke(self, operator_id: str, key_id: str, at: datetime) -> None: ...


class AuditLog(Protocol):
    def append(self, entry: AuditEntry) -> None: ...

    def list(
        self, operator_id: str, *, filters: Filters, after: int | None, limit: int
    ) -> Sequence[AuditEntry]: ...


class UnitOfWork(Protocol):
    """One transaction: use cases enter it, work through the repositories, and commit once."""

    operators: OperatorRepository
    locations: Repository[Location]
    stations: Repository[ChargingStation]
    evses: Repository[Evse]
    connectors: Repository[Connector]
    tariffs: Repository[TariffRecord]
    tariff_versions: TariffVersionRepository
    assignments: AssignmentRepository
    sessions: SessionRepository
    api_keys: ApiKeyRepository
    audit: AuditLog

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class TariffReading(Protocol):
    @property
    def tariff(self) -> Tariff: ...

    @property
    def warnings(self) -> tuple[Problem, ...]: ...


class CdrReading(Protocol):
    @property
    def usage(self) -> SessionUsage: ...

    @property
    def warnings(self) -> tuple[Problem, ...]: ...


class OcpiCodec(Protocol):
    """OCPI 2.2.1 documents (decoded JSON) in and out; readers raise InvalidInput with every problem."""

    def read_tariff(self, document: object) -> TariffReading: ...

    def read_cdr(self, document: object) -> CdrReading: ...

    def write_tariff(self, tariff: Tariff) -> dict[str, Any]: ...

    def write_priced_cdr(
        self,
        document: Mapping[str, Any],
        rated: RatedSession,
        *,
        tariff_document: Mapping[str, Any] | None,
        rounding: RoundingMode,
    ) -> dict[str, Any]: ...
