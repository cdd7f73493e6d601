"""The table of idempotency keys: one row per (operator, key), the first request's answer."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from evbill.adapters.db.schema import belongs_to_operator, metadata, operator_id_column
from evbill.adapters.db.types import UtcDateTime

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    operator_id_column(),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer),
    Column("headers", Text),
    Column("body", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("operator_id", "key", name="pk_idempotency_keys"),
    belongs_to_operator(),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)
