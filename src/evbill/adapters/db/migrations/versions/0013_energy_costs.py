"""Analytics: how each location buys energy (fixed, time of use, or an imported 15-minute price series).

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import ExactDecimal, UtcDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _owned_by_location(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=f"fk_{table}_operator_id", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id", "location_id"],
            ["locations.operator_id", "locations.id"],
            name=f"fk_{table}_operator_id_location_id",
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "energy_purchases",
        sa.Column("location_id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("fixed_price", ExactDecimal(24, 10), nullable=True),
        sa.Column("windows", sa.Text(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", name="pk_energy_purchases"),
        *_owned_by_location("energy_purchases"),
    )
    op.create_table(
        "energy_prices",
        sa.Column("location_id", sa.String(36), nullable=False),
        sa.Column("starts_at", UtcDateTime(), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("price", ExactDecimal(24, 10), nullable=False),
        sa.PrimaryKeyConstraint("location_id", "starts_at", name="pk_energy_prices"),
        *_owned_by_location("energy_prices"),
    )


def downgrade() -> None:
    op.drop_table("energy_prices")
    op.drop_table("energy_purchases")
