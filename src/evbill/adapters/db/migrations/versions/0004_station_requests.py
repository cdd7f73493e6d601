"""Unknown stations that asked to connect, for the ``pending`` policy.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

A platform-wide table (no operator: an unknown station belongs to none yet), one row per charge
point id, with what its BootNotification said of it and how often it tried.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "station_requests",
        sa.Column("charge_point_id", sa.String(48), nullable=False),
        sa.Column("first_seen", UtcDateTime(), nullable=False),
        sa.Column("last_seen", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("subprotocol", sa.String(16), nullable=False),
        sa.Column("vendor", sa.String(100), nullable=True),
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("serial_number", sa.String(100), nullable=True),
        sa.Column("firmware_version", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("charge_point_id", name="pk_station_requests"),
    )


def downgrade() -> None:
    op.drop_table("station_requests")
