"""Access: one tariff assignment per scope, and idempotency keys.

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-03

* ``uq_tariff_assignments_scope``: a location, station or EVSE has one assignment at a time, whatever
  runs concurrently. Duplicates left by earlier races are removed first, keeping the newest (ids are
  UUIDv7, so the largest id is the latest).
* ``idempotency_keys``: the first answer to each (operator, Idempotency-Key), kept for a day.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM tariff_assignments WHERE scope_id IS NOT NULL AND id NOT IN ("
        " SELECT MAX(id) FROM tariff_assignments WHERE scope_id IS NOT NULL"
        " GROUP BY operator_id, scope, scope_id)"
    )
    op.create_index(
        "uq_tariff_assignments_scope",
        "tariff_assignments",
        ["operator_id", "scope", "scope_id"],
        unique=True,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer()),
        sa.Column("headers", sa.Text()),
        sa.Column("body", sa.Text()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", "key", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_idempotency_keys_operator_id", ondelete="RESTRICT"
        ),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("uq_tariff_assignments_scope", table_name="tariff_assignments")
