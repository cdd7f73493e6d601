"""Analytics: the charging periods each finished session was rated on (for tariff backtests).

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_usage",
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("periods", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_session_usage"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_session_usage_operator_id", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id", "session_id"],
            ["charging_sessions.operator_id", "charging_sessions.id"],
            name="fk_session_usage_operator_id_session_id",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("session_usage")
