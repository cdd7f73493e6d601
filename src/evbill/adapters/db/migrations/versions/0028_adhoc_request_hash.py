"""Pay at the charger: a start keeps the SHA-256 of its request's body (tester finding 13), so the
same Idempotency-Key with another body is refused (422) instead of answered with the first start.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # starts made before keep NULL: their key is honoured whatever the body (as before)
    with op.batch_alter_table("adhoc_starts") as batch:
        batch.add_column(sa.Column("request_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("adhoc_starts") as batch:
        batch.drop_column("request_hash")
