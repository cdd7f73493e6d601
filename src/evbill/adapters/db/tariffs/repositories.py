"""Tariffs (versioned records, filtered by ocpi_id and currency), their versions and assignments.

Tariff versions are immutable OCPI documents; assignments say where a tariff applies, per operator.

A version is written once and never changed: there is no update, and the document comes back exactly
as it went in, decimals included (``JsonDocument``). Versions of a tariff are listed by number.
Assignments have no version counter: they are added and deleted whole.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from evbill.adapters.db.access import tables as access_tables
from evbill.adapters.db.records import ASSIGNMENTS, TARIFF_VERSIONS, TARIFFS
from evbill.adapters.db.repositories import ConnectionSource, VersionedRepository, equals, insert_row
from evbill.adapters.db.tariffs import tables as tariff_tables
from evbill.domain.errors import NotFound
from evbill.domain.tariffs.catalog import TariffAssignment, TariffRecord, TariffVersion


def tariff_repository(connection: ConnectionSource) -> VersionedRepository[TariffRecord]:
    columns = tariff_tables.tariffs.c
    filters = {"ocpi_id": equals(columns.ocpi_id), "currency": equals(columns.currency)}
    return VersionedRepository(connection, tariff_tables.tariffs, TARIFFS, filters)


class SqlTariffVersionRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def get(self, operator_id: str, version_id: str) -> TariffVersion | None:
        columns = tariff_tables.tariff_versions.c
        return self._first(columns.operator_id == operator_id, columns.id == version_id)

    def of_tariff(self, operator_id: str, tariff_id: str) -> Sequence[TariffVersion]:
        columns = tariff_tables.tariff_versions.c
        query = (
            select(tariff_tables.tariff_versions)
            .where(columns.operator_id == operator_id, columns.tariff_id == tariff_id)
            .order_by(columns.number)
        )
        return [TARIFF_VERSIONS.from_row(row) for row in self._connection().execute(query).mappings()]

    def find(self, operator_id: str, tariff_id: str, number: int) -> TariffVersion | None:
        columns = tariff_tables.tariff_versions.c
        return self._first(
            columns.operator_id == operator_id, columns.tariff_id == tariff_id, columns.number == number
        )

    def add(self, version: TariffVersion) -> None:
        insert_row(self._connection(), tariff_tables.tariff_versions, TARIFF_VERSIONS.to_row(version))

    def _first(self, *where: object) -> TariffVersion | None:
        query = select(tariff_tables.tariff_versions).where(*where)  # type: ignore[arg-type]
        row = self._connection().execute(query).mappings().first()
        return None if row is None else TARIFF_VERSIONS.from_row(row)


class SqlAssignmentRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def list(self, operator_id: str) -> Sequence[TariffAssignment]:
        columns = tariff_tables.tariff_assignments.c
        query = (
            select(tariff_tables.tariff_assignments)
            .where(columns.operator_id == operator_id)
            .order_by(columns.id)
        )
        return [ASSIGNMENTS.from_row(row) for row in self._connection().execute(query).mappings()]

    def add(self, assignment: TariffAssignment) -> None:
        insert_row(self._connection(), tariff_tables.tariff_assignments, ASSIGNMENTS.to_row(assignment))

    def lock(self, operator_id: str) -> None:
        """Hold the operator's row until the transaction ends: assignment changes of one operator run
        one after the other (PostgreSQL ``FOR UPDATE``; SQLite has one writer at a time anyway)."""
        operators = access_tables.operators
        query = select(operators.c.id).where(operators.c.id == operator_id).with_for_update()
        self._connection().execute(query)

    def delete(self, operator_id: str, assignment_id: str) -> None:
        table = tariff_tables.tariff_assignments
        statement = table.delete().where(table.c.operator_id == operator_id, table.c.id == assignment_id)
        if self._connection().execute(statement).rowcount == 0:
            raise NotFound(f"tariff assignment {assignment_id!r} not found")
