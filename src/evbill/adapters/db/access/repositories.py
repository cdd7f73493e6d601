"""Operators (the tenants), API keys and the audit log.

An API key is found by its public prefix across every operator (that is how a request is
authenticated, before anyone knows the operator); everything else is scoped by the operator.
Revoking is idempotent: the first revocation time stays.

The audit log only grows: ``append`` inserts and the database assigns the id, in order; UPDATE and
DELETE on the table are refused by triggers (migration 0001). Each entry also gets a random
``entry_id`` (migration 0005), the only id shown; lists run in the order written, ``after`` the
entry_id of the last entry seen; filters: entity_type, entity_id, action.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select

from evbill.adapters.db.access import tables as access_tables
from evbill.adapters.db.records import API_KEYS, AUDIT_ENTRIES, OPERATORS
from evbill.adapters.db.repositories import (
    FIXED_ON_UPDATE,
    ConnectionSource,
    check_limit,
    check_next_version,
    equals,
    equals_enum,
    filter_clauses,
    insert_row,
    stale_or_missing,
)
from evbill.domain.access.keys import ApiKey, AuditAction, AuditEntry
from evbill.domain.access.operators import Operator
from evbill.domain.errors import InvalidInput, NotFound, Problem


class SqlApiKeyRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def find_by_prefix(self, prefix: str) -> ApiKey | None:
        query = select(access_tables.api_keys).where(access_tables.api_keys.c.prefix == prefix)
        row = self._connection().execute(query).mappings().first()
        return None if row is None else API_KEYS.from_row(row)

    def list(self, operator_id: str) -> Sequence[ApiKey]:
        columns = access_tables.api_keys.c
        query = select(access_tables.api_keys).where(columns.operator_id == operator_id).order_by(columns.id)
        return [API_KEYS.from_row(row) for row in self._connection().execute(query).mappings()]

    def add(self, key: ApiKey) -> None:
        insert_row(self._connection(), access_tables.api_keys, API_KEYS.to_row(key))

    def revoke(self, operator_id: str, key_id: str, at: datetime) -> bool:
        """Revoke the key; False if it was revoked already (one conditional UPDATE: of two concurrent
        revocations exactly one gets True)."""
        table, connection = access_tables.api_keys, self._connection()
        mine = (table.c.operator_id == operator_id, table.c.id == key_id)
        statement = table.update().where(*mine, table.c.revoked_at.is_(None)).values(revoked_at=at)
        if connection.execute(statement).rowcount == 1:
            return True
        if connection.scalar(select(table.c.id).where(*mine)) is None:
            raise NotFound(f"API key {key_id!r} not found")
        return False


class SqlAuditLog:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection
        columns = access_tables.audit_log.c
        self._filters = {
            "entity_type": equals(columns.entity_type),
            "entity_id": equals(columns.entity_id),
            "action": equals_enum(columns.action, AuditAction),
        }

    def append(self, entry: AuditEntry) -> None:
        if entry.id is not None:
            raise ValueError(f"audit entry ids are assigned by the log; got id {entry.id}")
        if entry.entry_id is not None:
            raise ValueError(f"audit entry ids are assigned by the log; got entry_id {entry.entry_id!r}")
        row = AUDIT_ENTRIES.to_row(entry)
        del row["id"]
        row["entry_id"] = str(uuid.uuid4())
        insert_row(self._connection(), access_tables.audit_log, row)

    def list(
        self, operator_id: str, *, filters: Mapping[str, object], after: str | None, limit: int
    ) -> Sequence[AuditEntry]:
        """Oldest first, in the order written; ``after`` is the cursor of the last entry of the page before.

        The cursor is the entry's random id, resolved here to its place in the log: the counter that
        orders the log never leaves the database (it would count other operators' changes).
        """
        check_limit(limit)
        columns = access_tables.audit_log.c
        query = select(access_tables.audit_log).where(
            columns.operator_id == operator_id, *filter_clauses("audit_log", self._filters, filters)
        )
        if after is not None:
            query = query.where(columns.id > self._place_of(operator_id, after))
        query = query.order_by(columns.id).limit(limit)
        return [AUDIT_ENTRIES.from_row(row) for row in self._connection().execute(query).mappings()]

    def cursor_of(self, entry: AuditEntry) -> str:
        if entry.entry_id is None:
            raise ValueError("only an entry read from the log has a cursor")
        return entry.entry_id

    def _place_of(self, operator_id: str, cursor: str) -> int:
        columns = access_tables.audit_log.c
        place = None
        if len(cursor) <= 48:
            place = self._connection().scalar(
                select(columns.id).where(columns.operator_id == operator_id, columns.entry_id == cursor)
            )
        if place is None:
            raise InvalidInput("invalid cursor", (Problem("$.cursor", "is not a cursor this list gave out"),))
        return int(place)


class SqlOperatorRepository:
    """Operators (the tenants themselves): not scoped by an operator, listed whole for the admin CLI."""

    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def get(self, operator_id: str) -> Operator | None:
        query = select(access_tables.operators).where(access_tables.operators.c.id == operator_id)
        row = self._connection().execute(query).mappings().first()
        return None if row is None else OPERATORS.from_row(row)

    def add(self, operator: Operator) -> None:
        insert_row(self._connection(), access_tables.operators, OPERATORS.to_row(operator))

    def update(self, operator: Operator, *, expected_version: int) -> None:
        check_next_version(operator.version, expected_version)
        table, connection = access_tables.operators, self._connection()
        row = OPERATORS.to_row(operator)
        statement = (
            table.update()
            .where(table.c.id == operator.id, table.c.version == expected_version)
            .values({name: value for name, value in row.items() if name not in FIXED_ON_UPDATE})
        )
        if connection.execute(statement).rowcount == 0:
            raise stale_or_missing(connection, table, operator.id)

    def list_all(self) -> Sequence[Operator]:
        query = select(access_tables.operators).order_by(access_tables.operators.c.id)
        return [OPERATORS.from_row(row) for row in self._connection().execute(query).mappings()]
