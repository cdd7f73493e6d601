"""Tables of access: operators (the tenants), API keys and the append-only audit log."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint

from evbill.adapters.db.schema import (
    belongs_to_operator,
    id_column,
    metadata,
    operator_id_column,
    timestamps,
    version_column,
)
from evbill.adapters.db.types import JsonDocument, UtcDateTime

operators = Table(
    "operators",
    metadata,
    id_column(),
    Column("name", Text, nullable=False),
    Column("legal_name", Text, nullable=False),
    Column("country", String(2), nullable=False),
    Column("default_currency", String(3), nullable=False),
    Column("rounding_mode", String(16), nullable=False),
    Column("tax_country", String(2), nullable=False),
    Column("vat_id", String(64)),
    *timestamps(),
    version_column(),
)

api_keys = Table(
    "api_keys",
    metadata,
    id_column(),
    operator_id_column(),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("secret_hash", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    belongs_to_operator(),
    UniqueConstraint("prefix"),
    Index("ix_api_keys_operator_id_id", "operator_id", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    # INTEGER on SQLite so the column is the rowid (SQLite counts only an INTEGER PRIMARY KEY).
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    operator_id_column(),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(16), nullable=False),
    Column("entity_type", String(64), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("before", JsonDocument()),
    Column("after", JsonDocument()),
    Column("entry_id", String(36)),  # migration 0005: the id shown, random (see AuditEntry)
    belongs_to_operator(),
    Index("ix_audit_log_operator_id_id", "operator_id", "id"),
    Index("ix_audit_log_entry_id", "entry_id", unique=True),
    Index("ix_audit_log_entity", "operator_id", "entity_type", "entity_id", "id"),
)
