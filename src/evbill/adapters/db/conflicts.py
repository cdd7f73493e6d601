"""Turning a refused write into a plain Conflict that says which field or which records are in the way.

The database is the last word on uniqueness and references; when it refuses a statement this module
names the reason in the operator's terms:

    a token with uid '04A1B2C3D4' already exists
    charge_point_id 'CP-1' is not available: it must be unique across the platform; choose another
    location_id '0190...' does not refer to a location of this operator
    location '0190...' is still referenced by charging stations; remove those first

PostgreSQL names the violated constraint (psycopg's ``diag.constraint_name``), which the metadata
maps to its columns. SQLite names the columns of a UNIQUE failure but not the foreign key behind
"FOREIGN KEY constraint failed"; SQLite keeps the transaction usable after a failed statement, so the
reason is found by asking: which parent is missing, or which table still references the record.
(PostgreSQL aborts the transaction on any error, so after a Conflict a unit of work is finished.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import (
    ColumnElement,
    Connection,
    Constraint,
    ForeignKeyConstraint,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    and_,
    exists,
    select,
    tuple_,
)
from sqlalchemy.exc import IntegrityError

from evbill.adapters.db.tables import NOUNS, metadata
from evbill.domain.errors import Conflict

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>[\w.]+(?:, [\w.]+)*)")


def noun(table: Table) -> str:
    """'charging station' for charging_stations."""
    return NOUNS[table.name][0]


def conflict_on_write(
    error: IntegrityError, connection: Connection, table: Table, values: Mapping[str, object]
) -> Conflict:
    """The Conflict for an INSERT or UPDATE of ``values`` into ``table`` that the database refused."""
    constraint = _named_constraint(error) or _sqlite_unique_constraint(error, table)
    if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint):
        return _duplicate(table, constraint, values)
    if isinstance(constraint, ForeignKeyConstraint) and constraint.table is table:
        return _missing_parent(constraint, values)
    if constraint is None and _is_sqlite_foreign_key_failure(error):
        for foreign_key in table.foreign_key_constraints:
            if not _parent_exists(connection, foreign_key, values):
                return _missing_parent(foreign_key, values)
    return Conflict(f"the {noun(table)} could not be stored: {_first_line(error)}")


def conflict_on_delete(
    error: IntegrityError, connection: Connection, table: Table, operator_id: str, record_id: str
) -> Conflict:
    """The Conflict for a DELETE the database refused because other records still reference it."""
    constraint = _named_constraint(error)
    reference: ForeignKeyConstraint | None = None
    if isinstance(constraint, ForeignKeyConstraint):
        reference = constraint  # its table holds the dependants, even when that is this very table
    elif constraint is None and _is_sqlite_foreign_key_failure(error):
        # Only SQLite may be asked: PostgreSQL has aborted the transaction.
        key = and_(table.c.operator_id == operator_id, table.c.id == record_id)
        reference = _first_dependant(connection, table, key)
    if reference is None:
        return Conflict(f"{noun(table)} {record_id!r} could not be deleted: {_first_line(error)}")
    return Conflict(
        f"{noun(table)} {record_id!r} is still referenced by {_dependants(table, reference)}; "
        "remove those first"
    )


def _dependants(table: Table, reference: ForeignKeyConstraint) -> str:
    """'tokens'; for a table referencing itself 'other customers (their parent_id)'."""
    plural = NOUNS[reference.table.name][1]
    if reference.table is not table:
        return plural
    column = [name for name in reference.column_keys if name != "operator_id"][0]
    return f"other {plural} (their {column})"


def _named_constraint(error: IntegrityError) -> Constraint | None:
    name = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    if not name:
        return None
    for table in metadata.tables.values():
        for constraint in table.constraints:
            if constraint.name == name:
                return constraint
    return None


def _sqlite_unique_constraint(error: IntegrityError, table: Table) -> Constraint | None:
    match = _SQLITE_UNIQUE.search(str(error.orig))
    if match is None:
        return None
    columns = {qualified.split(".")[-1] for qualified in match["columns"].split(", ")}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint):
            if {column.name for column in constraint.columns} == columns:
                return constraint
    return None


def _is_sqlite_foreign_key_failure(error: IntegrityError) -> bool:
    return "FOREIGN KEY constraint failed" in str(error.orig)


def _duplicate(
    table: Table, constraint: UniqueConstraint | PrimaryKeyConstraint, values: Mapping[str, object]
) -> Conflict:
    # operator_id only scopes the key ("unique per operator"); it is not what the user chose.
    named = [column.name for column in constraint.columns if column.name != "operator_id"]
    fields = " and ".join(f"{name} {values.get(name)!r}" for name in named)
    if constraint.info.get("platform_wide"):  # taken by this operator or another: the same answer
        return Conflict(f"{fields} is not available: it must be unique across the platform; choose another")
    return Conflict(f"{_article(noun(table))} {noun(table)} with {fields} already exists")


def _missing_parent(foreign_key: ForeignKeyConstraint, values: Mapping[str, object]) -> Conflict:
    column = [name for name in foreign_key.column_keys if name != "operator_id"] or ["operator_id"]
    parent = noun(foreign_key.referred_table)
    reference = f"{column[0]} {values.get(column[0])!r}"
    return Conflict(f"{reference} does not refer to {_article(parent)} {parent} of this operator")


def _parent_exists(
    connection: Connection, foreign_key: ForeignKeyConstraint, values: Mapping[str, object]
) -> bool:
    local = [values.get(name) for name in foreign_key.column_keys]
    if any(value is None for value in local):
        return True  # a null reference is not checked (MATCH SIMPLE)
    remote = [element.column for element in foreign_key.elements]
    query = select(exists().where(*(column == value for column, value in zip(remote, local, strict=True))))
    return bool(connection.scalar(query))


def _first_dependant(
    connection: Connection, table: Table, selected: ColumnElement[bool]
) -> ForeignKeyConstraint | None:
    """The first foreign key by which rows reference the selected rows, looking through cascades."""
    for child in metadata.sorted_tables:
        for foreign_key in child.foreign_key_constraints:
            if foreign_key.referred_table is not table:
                continue
            local = [child.c[name] for name in foreign_key.column_keys]
            remote = [element.column for element in foreign_key.elements]
            referencing = tuple_(*local).in_(select(*remote).where(selected))
            if (foreign_key.ondelete or "").upper() == "CASCADE":
                found = _first_dependant(connection, child, referencing)
                if found is not None:
                    return found
            elif connection.scalar(select(exists().where(referencing))):
                return foreign_key
    return None


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _first_line(error: IntegrityError) -> str:
    return str(error.orig).splitlines()[0] if error.orig is not None else str(error)
