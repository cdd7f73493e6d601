"""Billing runs: the process working a run in place (``owner``, "host:pid" of `evbill billing run`), so
a run whose process died (kill -9) is told apart from one still going and is marked ``interrupted``.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_runs") as table:
        table.add_column(sa.Column("owner", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billing_runs") as table:
        table.drop_column("owner")
