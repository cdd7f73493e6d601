"""Tables of tariffs: tariffs, their immutable versions, and where each applies."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

from evbill.adapters.db.schema import (
    belongs_to_operator,
    child_of,
    id_column,
    metadata,
    operator_id_column,
    timestamps,
    version_column,
)
from evbill.adapters.db.types import JsonDocument, UtcDateTime

tariffs = Table(
    "tariffs",
    metadata,
    id_column(),
    operator_id_column(),
    Column("ocpi_id", String(36), nullable=False),
    Column("name", Text, nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    *timestamps(),
    version_column(),
    belongs_to_operator(),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("operator_id", "ocpi_id"),
)

tariff_versions = Table(
    "tariff_versions",
    metadata,
    id_column(),
    operator_id_column(),
    Column("tariff_id", String(36), nullable=False),
    Column("number", Integer, nullable=False),
    Column("document", JsonDocument(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", Text, nullable=False),
    belongs_to_operator(),
    child_of("tariff_id", "tariffs", ondelete="CASCADE"),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("tariff_id", "number"),
)

tariff_assignments = Table(
    "tariff_assignments",
    metadata,
    id_column(),
    operator_id_column(),
    Column("scope", String(16), nullable=False),
    Column("scope_id", String(36)),
    Column("tariff_id", String(36), nullable=False),
    belongs_to_operator(),
    child_of("tariff_id", "tariffs"),
    Index("ix_tariff_assignments_operator_id_id", "operator_id", "id"),
    Index("ix_tariff_assignments_tariff", "operator_id", "tariff_id"),
    # One assignment per location, station or EVSE, whatever runs concurrently (the operator-wide one,
    # whose scope_id is NULL, is kept single by the operator row lock taken in every assignment change).
    Index("uq_tariff_assignments_scope", "operator_id", "scope", "scope_id", unique=True),
)
