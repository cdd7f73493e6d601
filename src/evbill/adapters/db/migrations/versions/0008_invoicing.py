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
down_revision: str | None = "0007"
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
    _invoicing()


def _operator(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id"], ["operators.id"], name=f"fk_{table}_operator_id", ondelete="RESTRICT"
    )


def _invoicing() -> None:
    op.create_table(
        "invoice_counters",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("series", sa.String(32), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", "series", name="pk_invoice_counters"),
        _operator("invoice_counters"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("series", sa.String(32), nullable=False),
        sa.Column("number", sa.String(64), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("contract_id", sa.String(36), nullable=True),
        sa.Column("customer_id", sa.String(36), nullable=True),
        sa.Column("bill_id", sa.String(36), nullable=True),
        sa.Column("original_id", sa.String(36), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_excl_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_incl_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("document", JsonDocument(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invoices"),
        _operator("invoices"),
        sa.UniqueConstraint("operator_id", "id", name="uq_invoices_operator_id_id"),
        sa.UniqueConstraint("operator_id", "series", "number", name="uq_invoices_operator_id_series_number"),
        sa.UniqueConstraint(
            "operator_id", "series", "sequence", name="uq_invoices_operator_id_series_sequence"
        ),
        sa.UniqueConstraint("operator_id", "bill_id", name="uq_invoices_operator_id_bill_id"),
    )
    op.create_index("ix_invoices_listing", "invoices", ["operator_id", "period_start", "id"])
    op.create_index("ix_invoices_original", "invoices", ["operator_id", "original_id"])
    op.create_table(
        "invoicing_profiles",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("document", JsonDocument(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", name="pk_invoicing_profiles"),
        _operator("invoicing_profiles"),
    )


def downgrade() -> None:
    op.drop_table("invoicing_profiles")
    op.drop_index("ix_invoices_original", table_name="invoices")
    op.drop_index("ix_invoices_listing", table_name="invoices")
    op.drop_table("invoices")
    op.drop_table("invoice_counters")
    op.drop_index("ix_bills_state", table_name="bills")
    op.drop_table("bills")
