"""Access: one tariff assignment per scope, and idempotency keys.

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-03

* ``uq_tariff_assignments_scope``: a location, station or EVSE has one assignment at a time, whatever
  runs concurrently. Duplicates left by earlier races are removed first, keeping the newest (ids are
  UUIDv7, so the largest id is the latest).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0005"
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


def downgrade() -> None:
    op.drop_index("uq_tariff_assignments_scope", table_name="tariff_assignments")
