"""Recorded bills (one per contract and cycle) and invoicing.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import JsonDocument, UtcDateTime

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bills",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("cycle_end", sa.Date(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("document", JsonDocument(), nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bills"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_bills_operator_id", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id", "contract_id"], ["contracts.operator_id", "contracts.id"],
            name="fk_bills_operator_id_contract_id", ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id", "customer_id"], ["customers.operator_id", "customers.id"],
            name="fk_bills_operator_id_customer_id", ondelete="RESTRICT",
        ),
        sa.UniqueConstraint("operator_id", "id", name="uq_bills_operator_id_id"),
        sa.UniqueConstraint(
            "operator_id", "contract_id", "cycle_start", name="uq_bills_operator_id_contract_id_cycle_start"
        ),
    )  # fmt: skip
    op.create_index("ix_bills_state", "bills", ["operator_id", "state", "cycle_start"])


def downgrade() -> None:
    op.drop_index("ix_bills_state", table_name="bills")
    op.drop_table("bills")
