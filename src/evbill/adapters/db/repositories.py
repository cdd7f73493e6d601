"""What every repository shares: ``VersionedRepository`` for an operator's editable records, and filters.

Each capability builds its repositories here (``sites/repositories.py``, ``tariffs/repositories.py``):
one ``VersionedRepository`` over one table: every statement carries the operator id (another
operator's record is simply not found), lists page by id, and writes are optimistic:

    UPDATE locations SET ..., version = 4 WHERE id = :id AND operator_id = :operator AND version = 3

No row updated means the record is gone (NotFound) or someone else moved it on (StaleVersion, a
Conflict naming the version now stored). The database's refusals (a duplicate key, a record still
referenced) come back as a Conflict that names the field or the referencing records (``conflicts``).

List filters (None means "no filter"; an unknown name is a ValueError, a bad value InvalidInput):

    locations   country, city (both exact; city ignoring case), name (substring, ignoring case)
    stations    location_id, charge_point_id, ocpp_version
    evses       station_id
    connectors  evse_id, power_type
    tariffs     ocpi_id, currency
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, func, select
from sqlalchemy.exc import IntegrityError

from evbill.adapters.db.conflicts import conflict_on_delete, conflict_on_write, noun
from evbill.adapters.db.records import RecordMapping
from evbill.domain.errors import InvalidInput, NotFound, Problem, StaleVersion

ConnectionSource = Callable[[], Connection]
FilterBuilder = Callable[[object], ColumnElement[bool]]

# Columns an update never changes: the key, the owner, the moment of creation.
FIXED_ON_UPDATE = frozenset({"id", "operator_id", "created_at"})


class _Versioned(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def operator_id(self) -> str: ...

    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=_Versioned)


def bad_filter(name: str, message: str) -> InvalidInput:
    """A filter value the caller got wrong (the filter name itself is the code's business)."""
    return InvalidInput("invalid filter", (Problem(f"$.{name}", message),))


def text_value(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise bad_filter(name, f"must be text, not {type(value).__name__}")
    return value


def equals(column: Any) -> FilterBuilder:
    return lambda value: column == text_value(value, column.name)


def enum_value(value: object, enum_type: type[enum.Enum], name: str) -> object:
    try:
        return enum_type(value).value
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in enum_type)
        raise bad_filter(name, f"{value!r} is not one of {allowed}") from None


def equals_enum(column: Any, enum_type: type[enum.Enum]) -> FilterBuilder:
    return lambda value: column == enum_value(value, enum_type, column.name)


def equals_ignoring_case(column: Any) -> FilterBuilder:
    return lambda value: func.lower(column) == text_value(value, column.name).lower()


def contains_ignoring_case(column: Any) -> FilterBuilder:
    # Case folding is ASCII-only on SQLite, Unicode-aware on PostgreSQL.
    return lambda value: column.icontains(text_value(value, column.name), autoescape=True)


def filter_clauses(
    kind: str, builders: Mapping[str, FilterBuilder], filters: Mapping[str, object]
) -> list[ColumnElement[bool]]:
    """The WHERE clauses for ``filters``; an unknown filter name is a ValueError naming the known ones."""
    unknown = sorted(set(filters) - set(builders))
    if unknown:
        known = ", ".join(sorted(builders)) or "none"
        raise ValueError(f"unknown filter {', '.join(unknown)} for {kind}; known: {known}")
    return [builders[name](value) for name, value in filters.items() if value is not None]


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")


def insert_row(connection: Connection, table: Table, row: dict[str, Any]) -> None:
    try:
        connection.execute(table.insert(), row)
    except IntegrityError as error:
        raise conflict_on_write(error, connection, table, row) from error


def stale_or_missing(connection: Connection, table: Table, record_id: str, *where: Any) -> Exception:
    """Why a versioned write matched no row: the record is gone, or it moved to another version."""
    current = connection.scalar(select(table.c.version).where(table.c.id == record_id, *where))
    if current is None:
        return NotFound(f"{noun(table)} {record_id!r} not found")
    return StaleVersion(
        f"{noun(table)} {record_id!r} was changed by someone else (version {current}); reload and retry"
    )


def check_next_version(version: int, expected_version: int) -> None:
    """An update stores the version after the one it read: expected_version + 1."""
    if version != expected_version + 1:
        raise ValueError(f"record version {version} must be expected_version + 1 = {expected_version + 1}")


class VersionedRepository(Generic[V]):
    """Records of one kind in one table, each owned by an operator, with optimistic versioning."""

    def __init__(
        self,
        connection: ConnectionSource,
        table: Table,
        mapping: RecordMapping[V],
        filters: Mapping[str, FilterBuilder],
    ) -> None:
        self._connection = connection
        self._table = table
        self._mapping = mapping
        self._filters = filters

    def lock(self, operator_id: str, record_id: str) -> None:
        """``SELECT ... FOR UPDATE`` of the record on PostgreSQL (SQLite runs one writer at a time)."""
        table = self._table
        query = select(table.c.id).where(table.c.operator_id == operator_id, table.c.id == record_id)
        self._connection().execute(query.with_for_update())

    def get(self, operator_id: str, record_id: str) -> V | None:
        table = self._table
        query = select(table).where(table.c.operator_id == operator_id, table.c.id == record_id)
        row = self._connection().execute(query).mappings().first()
        return None if row is None else self._mapping.from_row(row)

    def list(
        self, operator_id: str, *, filters: Mapping[str, object], after: str | None, limit: int
    ) -> Sequence[V]:
        check_limit(limit)
        table = self._table
        query = select(table).where(
            table.c.operator_id == operator_id, *filter_clauses(table.name, self._filters, filters)
        )
        if after is not None:
            query = query.where(table.c.id > after)
        query = query.order_by(table.c.id).limit(limit)
        return [self._mapping.from_row(row) for row in self._connection().execute(query).mappings()]

    def where_in(self, operator_id: str, column: str, values: Sequence[str]) -> Sequence[V]:
        table, found = self._table, []
        wanted = list(dict.fromkeys(values))
        for offset in range(0, len(wanted), 500):  # bound the IN list
            query = (
                select(table)
                .where(table.c.operator_id == operator_id, table.c[column].in_(wanted[offset : offset + 500]))
                .order_by(table.c.id)
            )
            found += [self._mapping.from_row(row) for row in self._connection().execute(query).mappings()]
        return found

    def add(self, record: V) -> None:
        insert_row(self._connection(), self._table, self._mapping.to_row(record))

    def update(self, record: V, *, expected_version: int) -> None:
        check_next_version(record.version, expected_version)
        table, connection = self._table, self._connection()
        row = self._mapping.to_row(record)
        owned = (table.c.operator_id == record.operator_id,)
        statement = (
            table.update()
            .where(table.c.id == record.id, *owned, table.c.version == expected_version)
            .values({name: value for name, value in row.items() if name not in FIXED_ON_UPDATE})
        )
        try:
            updated = connection.execute(statement).rowcount
        except IntegrityError as error:
            raise conflict_on_write(error, connection, table, row) from error
        if updated == 0:
            raise stale_or_missing(connection, table, record.id, *owned)

    def delete(self, operator_id: str, record_id: str, *, expected_version: int | None) -> None:
        table, connection = self._table, self._connection()
        owned = (table.c.operator_id == operator_id,)
        statement = table.delete().where(table.c.id == record_id, *owned)
        if expected_version is not None:
            statement = statement.where(table.c.version == expected_version)
        try:
            deleted = connection.execute(statement).rowcount
        except IntegrityError as error:
            raise conflict_on_delete(error, connection, table, operator_id, record_id) from error
        if deleted == 0:
            raise stale_or_missing(connection, table, record_id, *owned)
