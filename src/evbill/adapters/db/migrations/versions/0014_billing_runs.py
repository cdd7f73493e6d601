"""Billing runs with their per-contract items, and documents rendered once (document files).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _operator(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id"], ["operators.id"], name=f"fk_{table}_operator_id", ondelete="RESTRICT"
    )


def upgrade() -> None:
    op.create_table(
        "billing_runs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("queued", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("planned_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_billing_runs"),
        _operator("billing_runs"),
    )
    op.create_index("ix_billing_runs_listing", "billing_runs", ["operator_id", "id"])
    op.create_table(
        "billing_run_items",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(36), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("cycle_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("bill_id", sa.String(36), nullable=True),
        sa.Column("invoice_id", sa.String(36), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("total_incl_vat_minor", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "contract_id", "cycle_start", name="pk_billing_run_items"),
        _operator("billing_run_items"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["billing_runs.id"], name="fk_billing_run_items_run_id", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_billing_run_items_status", "billing_run_items", ["run_id", "status"])
    op.create_table(
        "document_files",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("rendered_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", "document_id", "format", name="pk_document_files"),
        _operator("document_files"),
    )


def downgrade() -> None:
    op.drop_table("document_files")
    op.drop_index("ix_billing_run_items_status", table_name="billing_run_items")
    op.drop_table("billing_run_items")
    op.drop_index("ix_billing_runs_listing", table_name="billing_runs")
    op.drop_table("billing_runs")
